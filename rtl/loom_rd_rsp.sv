// loom_rd_rsp - takes read responses in request order (the beat sequence
// of loom_rd_walk) and writes each beat where it belongs: the LUT, a
// parameter slot (bias/mult/shift of one tile), or an A / B scratchpad
// buffer. A beat is taken only when its target is free: a scratchpad
// buffer the feeder has finished with, a parameter slot the requantiser
// has finished with. Otherwise the response waits (back-pressure).
`include "loom_defs.svh"

module loom_rd_rsp #(
  parameter int ROWS       = 16,
  parameter int COLS       = 16,
  parameter int KT         = 256,
  parameter int PORT_BYTES = 64,
  parameter int NBUF       = 2,
  parameter int NSLOT      = 4,
  localparam int BUF_W  = `LOOM_IDX_W(NBUF),
  localparam int SLOT_W = `LOOM_IDX_W(NSLOT),
  localparam int LANE_W = `LOOM_IDX_W(`LOOM_MAX(ROWS, COLS)),
  localparam int K_W    = `LOOM_IDX_W(KT),
  localparam int LEN_W  = `LOOM_CNT_W(PORT_BYTES),
  // loom_rd_walk's segment and offset widths
  localparam int SEG_W  = `LOOM_SEG_W(ROWS, COLS),
  localparam int OFF_W  = `LOOM_OFF_W(KT, COLS)
) (
  input  logic             clk_i,
  input  logic             rst_ni,
  input  logic             init_i,
  input  logic [31:0]      m_i,
  input  logic [31:0]      n_i,
  input  logic [31:0]      k_i,
  input  logic             lut_en_i,
  input  logic             rsp_valid_i,
  output logic             rsp_ready_o,
  // scratchpad writes (data is the response beat)
  output logic             spad_a_we_o,
  output logic             spad_b_we_o,
  output logic [BUF_W-1:0] spad_buf_o,
  output logic [LANE_W-1:0] spad_lane_o,
  output logic [K_W-1:0]   spad_off_o,
  output logic [LEN_W-1:0] wr_len_o,
  // parameter and LUT writes
  output logic             prm_we_o,
  output logic [SLOT_W-1:0] prm_slot_o,
  output logic [1:0]       prm_sel_o,    // 0 bias, 1 mult, 2 shift
  output logic [8:0]       prm_off_o,    // byte offset (LUT: 0..255)
  output logic             lut_we_o,
  // buffer and slot hand-over
  output logic [NBUF-1:0]  buf_full_o,   // filled, not yet released by the feeder
  input  logic             buf_release_i,
  input  logic [BUF_W-1:0] buf_release_idx_i,
  input  logic             slot_free_i,
  input  logic [SLOT_W-1:0] slot_free_idx_i,
  output logic             busy_o,       // beats left to take
  output logic             stalled_o     // a beat is wanted but its target is busy
);
  localparam logic [2:0] PH_LUT = 3'd0, PH_A = 3'd4, PH_B = 3'd5;

  logic             valid, blk_last, blk_end, prm_end, step, target_free;
  logic [2:0]       phase;
  logic [OFF_W-1:0] off;
  logic [BUF_W-1:0] buf_q;
  logic [SLOT_W-1:0] slot_q;
  logic [NSLOT-1:0] slot_busy_q;
  logic [`LOOM_CNT_W(KT)-1:0] kc;
  /* verilator lint_off UNUSEDSIGNAL */
  logic [SEG_W-1:0] seg;  // its top bit only counts to ROWS
  logic [31:0]      m0, n0, k0;
  logic [`LOOM_CNT_W(ROWS)-1:0] mrows;
  logic [`LOOM_CNT_W(COLS)-1:0] ncols;
  /* verilator lint_on UNUSEDSIGNAL */

  loom_rd_walk #(.ROWS(ROWS), .COLS(COLS), .KT(KT), .PORT_BYTES(PORT_BYTES)) u_walk (
    .clk_i, .rst_ni, .init_i, .m_i, .n_i, .k_i, .lut_en_i,
    .step_i (step),
    .valid_o (valid), .phase_o (phase), .seg_o (seg), .off_o (off), .len_o (wr_len_o),
    .m0_o (m0), .n0_o (n0), .k0_o (k0), .kc_o (kc), .mrows_o (mrows), .ncols_o (ncols),
    .blk_last_o (blk_last), .blk_end_o (blk_end), .prm_end_o (prm_end)
  );

  always_comb begin
    unique case (phase)
      PH_LUT:     target_free = 1'b1;
      PH_A, PH_B: target_free = !buf_full_o[buf_q];
      // a K = 0 block has no A or B beats: it hands over its (empty)
      // buffer with its last parameter beat, so that beat waits for it too
      default:    target_free = !slot_busy_q[slot_q] && (kc != '0 || !buf_full_o[buf_q]);
    endcase
  end

  assign rsp_ready_o = valid && target_free;
  assign step        = rsp_ready_o && rsp_valid_i;
  assign busy_o      = valid;
  assign stalled_o   = valid && !target_free;

  assign spad_a_we_o = step && (phase == PH_A);
  assign spad_b_we_o = step && (phase == PH_B);
  assign spad_buf_o  = buf_q;
  assign spad_lane_o = LANE_W'(seg);
  assign spad_off_o  = K_W'(off);
  assign lut_we_o    = step && (phase == PH_LUT);
  assign prm_we_o    = step && (phase != PH_LUT) && (phase < PH_A);
  assign prm_slot_o  = slot_q;
  assign prm_sel_o   = phase[1:0] - 2'd1;
  assign prm_off_o   = 9'(off);

  always_ff @(posedge clk_i) begin
    if (!rst_ni || init_i) begin
      buf_q       <= '0;
      slot_q      <= '0;
      buf_full_o  <= '0;
      slot_busy_q <= '0;
    end else begin
      if (buf_release_i) buf_full_o[buf_release_idx_i] <= 1'b0;
      if (slot_free_i) slot_busy_q[slot_free_idx_i] <= 1'b0;
      if (step && prm_end) slot_busy_q[slot_q] <= 1'b1;
      if (step && blk_end) begin
        buf_full_o[buf_q] <= 1'b1;
        buf_q <= (buf_q == BUF_W'(NBUF - 1)) ? '0 : buf_q + 1'b1;
        if (blk_last) slot_q <= (slot_q == SLOT_W'(NSLOT - 1)) ? '0 : slot_q + 1'b1;
      end
    end
  end
endmodule
