// loom_spad - one operand scratchpad: NBUF buffers (double-buffered with
// NBUF = 2: the loader fills one while the feeder streams the other), each
// LANES banks of DEPTH bytes. Bank l holds row l of an A block (or row l
// of a transposed-B block) along K.
//
// Write port: one memory beat, the first wr_len_i bytes of a PORT_BYTES
// word written at a word boundary of one bank (the read walk starts each
// bank's segment at offset 0 and steps by PORT_BYTES; byte enables keep
// the rest of the word). Read port: byte k of every bank of one buffer
// (one column of the block), registered: rd_data_o is valid the cycle
// after rd_k_i.
//
// Two descriptions of the same memory, cycle for cycle (BANKED; a test
// drives both with the same random traffic and compares every read:
// tests/rtl/tb_spad_equiv.sv):
//   BANKED = 0 (simulation): 32-bit words with byte enables, a beat
//     PORT_BYTES / 4 word writes and a read one word (a byte array took
//     64 conditional writes a beat in the Verilated model);
//   BANKED = 1 (synthesis, the default under `LOOM_SYNTH_MEM): per lane,
//     PORT_BYTES byte-wide banks of NBUF * DEPTH / PORT_BYTES entries, a
//     beat one write to each bank, a read one bank's byte: small memories
//     a synthesis tool maps to LUT RAM, where the word array is left as
//     flip-flops and multiplexers.
`include "loom_defs.svh"

module loom_spad #(
  parameter int LANES      = 16,
  parameter int DEPTH      = 256,
  parameter int NBUF       = 2,
  parameter int PORT_BYTES = 64,
`ifdef LOOM_SYNTH_MEM
  parameter bit  BANKED    = 1'b1,
`else
  parameter bit  BANKED    = 1'b0,
`endif
  localparam int WORDS  = DEPTH / PORT_BYTES,
  localparam int BUF_W  = `LOOM_IDX_W(NBUF),
  localparam int LANE_W = `LOOM_IDX_W(LANES),
  localparam int K_W    = `LOOM_IDX_W(DEPTH),
  localparam int W_W    = `LOOM_IDX_W(WORDS),
  localparam int B_W    = `LOOM_IDX_W(PORT_BYTES),
  localparam int LEN_W  = `LOOM_CNT_W(PORT_BYTES)
) (
  input  logic                    clk_i,
  input  logic                    wr_en_i,
  input  logic [BUF_W-1:0]        wr_buf_i,
  input  logic [LANE_W-1:0]       wr_lane_i,
  input  logic [K_W-1:0]          wr_off_i,   // a multiple of PORT_BYTES
  input  logic [LEN_W-1:0]        wr_len_i,
  input  logic [PORT_BYTES*8-1:0] wr_data_i,
  input  logic [BUF_W-1:0]        rd_buf_i,
  input  logic [K_W-1:0]          rd_k_i,
  output logic [LANES*8-1:0]      rd_data_o
);
`ifndef SYNTHESIS
  // (an initial check rather than an elaboration-time $error: Icarus
  // Verilog 11 takes only this form)
  initial
    if (DEPTH % PORT_BYTES != 0 || DEPTH < PORT_BYTES || PORT_BYTES % 4 != 0)
      $fatal(1, "loom_spad: DEPTH (%0d) must be a multiple of PORT_BYTES (%0d), itself of 4", DEPTH, PORT_BYTES);
`endif

  logic [W_W-1:0] wword, rword;
  logic [B_W-1:0] rbyte;

  if (WORDS == 1) begin : g_one_word
    assign wword = '0;
    assign rword = '0;
  end else begin : g_words
    assign wword = wr_off_i[K_W-1 -: W_W];
    assign rword = rd_k_i[K_W-1 -: W_W];
  end
  assign rbyte = rd_k_i[B_W-1:0];

`ifndef SYNTHESIS
  // the contract above, checked in simulation
  always_ff @(posedge clk_i) begin
    if (wr_en_i && (wr_off_i[B_W-1:0] != '0 || 32'(wr_off_i) >= DEPTH))
      $fatal(1, "loom_spad: write at offset %0d, not a word boundary below %0d", wr_off_i, DEPTH);
  end
`endif

  if (!BANKED) begin : g_words32
    // [buffer][bank][beat word][32-bit word]: a read is one 32-bit load
    logic [31:0] mem_q [NBUF][LANES][WORDS][PORT_BYTES/4];

    always_ff @(posedge clk_i) begin
      if (wr_en_i) begin
        for (int w = 0; w < PORT_BYTES / 4; w++) begin
          if (4 * w < 32'(wr_len_i)) begin
            logic [31:0] keep;  // byte enables: bytes at or past wr_len_i keep their value
            for (int b = 0; b < 4; b++) keep[b*8 +: 8] = (4 * w + b < 32'(wr_len_i)) ? 8'h00 : 8'hff;
            mem_q[wr_buf_i][wr_lane_i][wword][w] <=
                (mem_q[wr_buf_i][wr_lane_i][wword][w] & keep) | (wr_data_i[w*32 +: 32] & ~keep);
          end
        end
      end
      for (int l = 0; l < LANES; l++)
        rd_data_o[l*8 +: 8] <= mem_q[rd_buf_i][l][rword][rbyte[B_W-1:2]][rbyte[1:0]*8 +: 8];
    end
  end else begin : g_banked
    // lane l, byte b of a beat: one memory of NBUF * WORDS bytes, written
    // at (buffer, beat word), read at the same with b = k mod PORT_BYTES
    localparam int A_W = BUF_W + W_W;
    logic [A_W-1:0] waddr, raddr;
    assign waddr = {wr_buf_i, wword};
    assign raddr = {rd_buf_i, rword};
    for (genvar l = 0; l < LANES; l++) begin : g_lane
      logic [7:0] rd_b [PORT_BYTES];
      for (genvar b = 0; b < PORT_BYTES; b++) begin : g_bank
        logic [7:0] mem [2**A_W];
        always_ff @(posedge clk_i)
          if (wr_en_i && 32'(wr_lane_i) == l && b < 32'(wr_len_i))
            mem[waddr] <= wr_data_i[b*8 +: 8];
        assign rd_b[b] = mem[raddr];
      end
      always_ff @(posedge clk_i)
        rd_data_o[l*8 +: 8] <= rd_b[rbyte];
    end
  end
endmodule
