// loom_pe - one multiply-accumulate cell of the output-stationary array.
//
// Operands arrive skewed from the left (a, with valid/last) and from above
// (b); each is registered and passed on to the right and downwards. The
// cell adds a*b to its int32 accumulator while valid_i is high; with the
// last product of an output it moves the finished sum to res_o and starts
// the next output from zero, so consecutive tiles stream without a pause.
module loom_pe (
  input  logic               clk_i,
  input  logic               rst_ni,
  input  logic               valid_i,  // a_i and b_i carry a product term
  input  logic               last_i,   // ... the last term of this output
  input  logic signed [7:0]  a_i,
  input  logic signed [7:0]  b_i,
  output logic               valid_o,
  output logic               last_o,
  output logic signed [7:0]  a_o,      // to the right neighbour
  output logic signed [7:0]  b_o,      // to the neighbour below
  output logic signed [31:0] res_o     // the finished sum of the previous output
);
  logic signed [15:0] prod;
  logic signed [31:0] sum;
  logic signed [31:0] acc_q;

  assign prod = 16'(a_i) * 16'(b_i);
  assign sum  = acc_q + 32'(prod);

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      acc_q   <= '0;
      res_o   <= '0;
      valid_o <= 1'b0;
      last_o  <= 1'b0;
      a_o     <= '0;
      b_o     <= '0;
    end else begin
      valid_o <= valid_i;
      last_o  <= last_i;
      a_o     <= a_i;
      b_o     <= b_i;
      if (valid_i) begin
        if (last_i) begin
          res_o <= sum;
          acc_q <= '0;
        end else begin
          acc_q <= sum;
        end
      end
    end
  end
endmodule
