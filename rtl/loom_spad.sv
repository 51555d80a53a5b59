// loom_spad - one operand scratchpad: NBUF buffers (double-buffered with
// NBUF = 2: the loader fills one while the feeder streams the other), each
// LANES banks of DEPTH bytes. Bank l holds row l of an A block (or row l
// of a transposed-B block) along K.
//
// Write port: one memory beat, up to PORT_BYTES consecutive bytes of one
// bank. Read port: byte k of every bank of one buffer (one column of the
// block), registered: rd_data_o is valid the cycle after rd_k_i.
`include "loom_defs.svh"

module loom_spad #(
  parameter int LANES      = 16,
  parameter int DEPTH      = 256,
  parameter int NBUF       = 2,
  parameter int PORT_BYTES = 64,
  localparam int BUF_W  = `LOOM_IDX_W(NBUF),
  localparam int LANE_W = `LOOM_IDX_W(LANES),
  localparam int K_W    = `LOOM_IDX_W(DEPTH),
  localparam int LEN_W  = `LOOM_CNT_W(PORT_BYTES)
) (
  input  logic                    clk_i,
  input  logic                    wr_en_i,
  input  logic [BUF_W-1:0]        wr_buf_i,
  input  logic [LANE_W-1:0]       wr_lane_i,
  input  logic [K_W-1:0]          wr_off_i,
  input  logic [LEN_W-1:0]        wr_len_i,
  input  logic [PORT_BYTES*8-1:0] wr_data_i,
  input  logic [BUF_W-1:0]        rd_buf_i,
  input  logic [K_W-1:0]          rd_k_i,
  output logic [LANES*8-1:0]      rd_data_o
);
  logic [7:0] mem_q [NBUF][LANES][DEPTH];

  always_ff @(posedge clk_i) begin
    if (wr_en_i) begin
      for (int b = 0; b < PORT_BYTES; b++) begin
        if (b < 32'(wr_len_i) && 32'(wr_off_i) + b < DEPTH)
          mem_q[wr_buf_i][wr_lane_i][K_W'(32'(wr_off_i) + b)] <= wr_data_i[b*8 +: 8];
      end
    end
    for (int l = 0; l < LANES; l++) rd_data_o[l*8 +: 8] <= mem_q[rd_buf_i][l][rd_k_i];
  end
endmodule
