// tb_spad_equiv - loom_spad's two descriptions (BANKED 0, simulated by
// Verilator; BANKED 1, the one synthesis reads) driven with the same
// random traffic within the module's contract (beats at word boundaries,
// 1 to PORT_BYTES bytes), every read compared, X for X, on two shapes:
// 4 lanes x 256 bytes (4 beat words) and 3 lanes x 64 bytes (one word).
// Run by CTest (rtl_spad_equiv) under Icarus Verilog:
//   iverilog -g2012 -I rtl -s tb_spad_equiv tests/rtl/tb_spad_equiv.sv rtl/loom_spad.sv
`timescale 1ns / 1ps
module tb_spad_equiv;
  logic clk = 1'b0;
  always #1 clk = ~clk;

  int errors = 0, reads = 0;

  spad_pair #(.LANES(4), .DEPTH(256), .NBUF(2), .PORT_BYTES(64)) p0 (.clk_i(clk), .errors_o(), .reads_o());
  spad_pair #(.LANES(3), .DEPTH(64), .NBUF(2), .PORT_BYTES(64)) p1 (.clk_i(clk), .errors_o(), .reads_o());

  initial begin
    repeat (20000) @(posedge clk);
    #0.5;
    errors = p0.errors + p1.errors;
    reads = p0.reads + p1.reads;
    if (errors != 0 || reads < 30000)
      $fatal(1, "tb_spad_equiv: FAIL: %0d of %0d reads differ", errors, reads);
    $display("tb_spad_equiv: PASS: %0d reads compared, the two descriptions agree", reads);
    $finish;
  end
endmodule

module spad_pair #(
  parameter int LANES = 4, DEPTH = 256, NBUF = 2, PORT_BYTES = 64,
  localparam int BUF_W = (NBUF > 1) ? $clog2(NBUF) : 1,
  localparam int LANE_W = (LANES > 1) ? $clog2(LANES) : 1,
  localparam int K_W = $clog2(DEPTH),
  localparam int LEN_W = $clog2(PORT_BYTES + 1)
) (
  input logic clk_i,
  output int errors_o,
  output int reads_o
);
  logic                    wr_en;
  logic [BUF_W-1:0]        wr_buf, rd_buf;
  logic [LANE_W-1:0]       wr_lane;
  logic [K_W-1:0]          wr_off, rd_k;
  logic [LEN_W-1:0]        wr_len;
  logic [PORT_BYTES*8-1:0] wr_data;
  logic [LANES*8-1:0]      q_words, q_banks;
  int errors = 0, reads = 0;
  bit  started = 1'b0;

  loom_spad #(.LANES(LANES), .DEPTH(DEPTH), .NBUF(NBUF), .PORT_BYTES(PORT_BYTES), .BANKED(1'b0)) u_words (
    .clk_i, .wr_en_i(wr_en), .wr_buf_i(wr_buf), .wr_lane_i(wr_lane), .wr_off_i(wr_off), .wr_len_i(wr_len),
    .wr_data_i(wr_data), .rd_buf_i(rd_buf), .rd_k_i(rd_k), .rd_data_o(q_words));
  loom_spad #(.LANES(LANES), .DEPTH(DEPTH), .NBUF(NBUF), .PORT_BYTES(PORT_BYTES), .BANKED(1'b1)) u_banks (
    .clk_i, .wr_en_i(wr_en), .wr_buf_i(wr_buf), .wr_lane_i(wr_lane), .wr_off_i(wr_off), .wr_len_i(wr_len),
    .wr_data_i(wr_data), .rd_buf_i(rd_buf), .rd_k_i(rd_k), .rd_data_o(q_banks));

  // new stimulus just after each rising edge; outputs compared just
  // before the next one (the read registered at this edge)
  always @(posedge clk_i) begin
    #0.5;
    if (started) begin
      reads++;
      if (q_words !== q_banks) begin
        errors++;
        if (errors <= 5)
          $display("tb_spad_equiv: %0d lanes x %0d: words %h, banks %h", LANES, DEPTH, q_words, q_banks);
      end
    end
    started = 1'b1;
    wr_en   = ($urandom % 3) != 0;
    wr_buf  = BUF_W'($urandom % NBUF);
    wr_lane = LANE_W'($urandom % LANES);
    wr_off  = K_W'(($urandom % (DEPTH / PORT_BYTES)) * PORT_BYTES);
    wr_len  = LEN_W'(1 + $urandom % PORT_BYTES);
    for (int i = 0; i < PORT_BYTES / 4; i++)
      wr_data[i*32 +: 32] = $urandom;
    rd_buf  = BUF_W'($urandom % NBUF);
    rd_k    = K_W'($urandom % DEPTH);
  end

  assign errors_o = errors;
  assign reads_o = reads;
endmodule
