// loom_feeder - streams loaded blocks into the array: one K step per
// cycle, A column k of the block on the rows and B row k on the columns,
// with the tile's `last` flag on its final term.
//
// A block is streamed once the loader has filled its buffer; the buffer is
// released with the block's last read. A tile starts only with an output
// credit (room for its rows between the requantiser and the memory write
// port) and its last term enters no sooner than GAP = max(ROWS, COLS)
// cycles after the previous tile's, so the drain has read a row before the
// next tile's sums overwrite it. Rows past M and columns past N are fed
// as zeros. The outputs are aligned with the scratchpads' registered reads.
`include "loom_defs.svh"

module loom_feeder #(
  parameter int ROWS    = 16,
  parameter int COLS    = 16,
  parameter int KT      = 256,
  parameter int NBUF    = 2,
  parameter int NSLOT   = 4,
  parameter int CREDITS = 4,
  localparam int BUF_W  = `LOOM_IDX_W(NBUF),
  localparam int SLOT_W = `LOOM_IDX_W(NSLOT),
  localparam int K_W    = `LOOM_IDX_W(KT),
  localparam int KC_W   = `LOOM_CNT_W(KT),
  localparam int R_W    = `LOOM_CNT_W(ROWS),
  localparam int C_W    = `LOOM_CNT_W(COLS),
  localparam int CR_W   = `LOOM_CNT_W(CREDITS),
  localparam int GAP    = (ROWS > COLS) ? ROWS : COLS,
  localparam int GAP_W  = `LOOM_CNT_W(GAP)
) (
  input  logic              clk_i,
  input  logic              rst_ni,
  input  logic              init_i,
  input  logic [31:0]       m_i,
  input  logic [31:0]       n_i,
  input  logic [31:0]       k_i,
  input  logic [NBUF-1:0]   buf_full_i,
  output logic              buf_release_o,
  output logic [BUF_W-1:0]  buf_release_idx_o,
  output logic [BUF_W-1:0]  spad_buf_o,      // scratchpad read address
  output logic [K_W-1:0]    spad_k_o,
  input  logic              credit_return_i, // a tile's rows have all been written
  output logic              valid_o,         // to the array
  output logic              last_o,
  output logic [ROWS-1:0]   amask_o,
  output logic [COLS-1:0]   bmask_o,
  output logic              tile_o,          // last_o ends this tile:
  output logic [31:0]       tile_m0_o,
  output logic [31:0]       tile_n0_o,
  output logic [R_W-1:0]    tile_mrows_o,
  output logic [C_W-1:0]    tile_ncols_o,
  output logic [SLOT_W-1:0] tile_slot_o,
  output logic              busy_o,          // blocks left to stream
  output logic              stalled_o        // waiting for a buffer or a credit
);
  logic             valid, first, last;
  logic [31:0]      m0, n0;
  /* verilator lint_off UNUSEDSIGNAL */
  logic [31:0]      k0;                      // the feeder needs no K position
  /* verilator lint_on UNUSEDSIGNAL */
  logic [KC_W-1:0]  kc, e_q;
  logic [R_W-1:0]   mrows;
  logic [C_W-1:0]   ncols;
  logic [BUF_W-1:0] buf_q;
  logic [SLOT_W-1:0] slot_q;
  logic [CR_W-1:0]  credits_q;
  logic [GAP_W-1:0] gap_q;
  logic             last_el, tile_last, need_credit, issue;

  loom_walk #(.ROWS(ROWS), .COLS(COLS), .KT(KT)) u_walk (
    .clk_i, .rst_ni, .init_i, .m_i, .n_i, .k_i,
    .next_i  (issue && last_el),
    .valid_o (valid),
    .m0_o (m0), .n0_o (n0), .k0_o (k0), .kc_o (kc), .mrows_o (mrows), .ncols_o (ncols),
    .first_o (first), .last_o (last)
  );

  // a K = 0 block streams one all-zero term so that the tile still ends
  assign last_el     = (kc == '0) || (e_q == kc - 1'b1);
  assign tile_last   = last && last_el;
  assign need_credit = first && (e_q == '0);
  assign issue       = valid && buf_full_i[buf_q] && (!need_credit || credits_q != '0) &&
                       (!tile_last || gap_q >= GAP_W'(GAP));
  assign busy_o      = valid || valid_o;  // until the last term has entered the array
  assign stalled_o   = valid && !issue;

  assign spad_buf_o        = buf_q;
  assign spad_k_o          = K_W'(e_q);
  assign buf_release_o     = issue && last_el;
  assign buf_release_idx_o = buf_q;

  always_ff @(posedge clk_i) begin
    if (!rst_ni || init_i) begin
      e_q       <= '0;
      buf_q     <= '0;
      slot_q    <= '0;
      credits_q <= CR_W'(CREDITS);
      gap_q     <= GAP_W'(GAP);
      valid_o   <= 1'b0;
      last_o    <= 1'b0;
      tile_o    <= 1'b0;
      amask_o   <= '0;
      bmask_o   <= '0;
      tile_m0_o <= '0;
      tile_n0_o <= '0;
      tile_mrows_o <= '0;
      tile_ncols_o <= '0;
      tile_slot_o  <= '0;
    end else begin
      valid_o <= issue;
      last_o  <= issue && tile_last;
      tile_o  <= issue && tile_last;
      for (int r = 0; r < ROWS; r++) amask_o[r] <= (kc != '0) && (R_W'(r) < mrows);
      for (int c = 0; c < COLS; c++) bmask_o[c] <= (kc != '0) && (C_W'(c) < ncols);
      tile_m0_o    <= m0;
      tile_n0_o    <= n0;
      tile_mrows_o <= mrows;
      tile_ncols_o <= ncols;
      tile_slot_o  <= slot_q;

      if (issue && tile_last) gap_q <= GAP_W'(1);
      else if (gap_q < GAP_W'(GAP)) gap_q <= gap_q + 1'b1;

      if (issue && need_credit && !credit_return_i) credits_q <= credits_q - 1'b1;
      else if (!(issue && need_credit) && credit_return_i) credits_q <= credits_q + 1'b1;

      if (issue) begin
        if (last_el) begin
          e_q   <= '0;
          buf_q <= (buf_q == BUF_W'(NBUF - 1)) ? '0 : buf_q + 1'b1;
          if (last) slot_q <= (slot_q == SLOT_W'(NSLOT - 1)) ? '0 : slot_q + 1'b1;
        end else begin
          e_q <= e_q + 1'b1;
        end
      end
    end
  end
endmodule
