// loom_pe - one multiply-accumulate cell of the output-stationary array.
//
// The array brings each cell its operands (a from the left, b from above,
// skewed so that A[m][k] and B[k][n] meet in cell (m, n)) and the valid
// and last flags of its anti-diagonal. The cell adds a*b to its int32
// accumulator while valid_i is high; with the last product of an output it
// moves the finished sum to res_o and starts the next output from zero, so
// consecutive tiles stream without a pause. res_o holds until the next
// output's last term.
module loom_pe (
  input  logic               clk_i,
  input  logic               rst_ni,
  input  logic               valid_i,  // a_i and b_i carry a product term
  input  logic               last_i,   // ... the last term of this output
  input  logic signed [7:0]  a_i,
  input  logic signed [7:0]  b_i,
  output logic signed [31:0] res_o     // the finished sum of the previous output
);
  logic signed [31:0] sum;
  logic signed [31:0] acc_q;

  assign sum = acc_q + 32'(16'(a_i) * 16'(b_i));

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      acc_q <= '0;
    end else if (valid_i) begin
      acc_q <= last_i ? '0 : sum;
    end
  end

  // the result register needs no reset: the drain reads a row only after
  // a tile's last term has set it
  always_ff @(posedge clk_i) begin
    if (rst_ni && valid_i && last_i) res_o <= sum;
  end
endmodule
