// loom_requant - the int8 contract's requantise + activation unit
// (host/include/loom/kernel-abi.h), COLS lanes wide, three pipeline stages:
//   1. acc + bias[n]                                  (int32; no overflow
//                                                      by the contract's limits)
//   2. (int64)(acc + bias) * mult[n] + 2^(30+shift[n])
//   3. >>> (31 + shift[n]), saturate to [-128, 127], then ReLU or LUT
// and the row's address in C. Parameters come in per tile (a slot, loaded
// ahead by the read side); the slot is handed back when the tile's last
// row has passed stage 1. The 256-entry LUT is loaded once per run.
`include "loom_defs.svh"

module loom_requant #(
  parameter int ROWS       = 16,
  parameter int COLS       = 16,
  parameter int NSLOT      = 4,
  parameter int PORT_BYTES = 64,
  localparam int SLOT_W = `LOOM_IDX_W(NSLOT),
  localparam int R_W    = `LOOM_CNT_W(ROWS),
  localparam int C_W    = `LOOM_CNT_W(COLS),
  localparam int ROW_W  = `LOOM_IDX_W(ROWS),
  localparam int META_W = 32 + 32 + R_W + C_W + SLOT_W,
  localparam int LEN_W  = `LOOM_CNT_W(PORT_BYTES)
) (
  input  logic                    clk_i,
  input  logic                    rst_ni,
  input  logic [1:0]              act_i,       // LOOM_ACT_NONE / RELU / LUT
  input  logic [63:0]             c_i,
  input  logic [31:0]             ldc_i,
  // parameter and LUT writes from the read side (data: the response beat)
  input  logic                    prm_we_i,
  input  logic [SLOT_W-1:0]       prm_slot_i,
  input  logic [1:0]              prm_sel_i,   // 0 bias, 1 mult, 2 shift
  input  logic [8:0]              prm_off_i,
  input  logic                    lut_we_i,
  input  logic [LEN_W-1:0]        wr_len_i,
  input  logic [PORT_BYTES*8-1:0] wr_data_i,
  // rows from the drain
  input  logic                    row_valid_i,
  input  logic [ROW_W-1:0]        row_i,
  input  logic [COLS*32-1:0]      row_acc_i,
  input  logic [META_W-1:0]       row_meta_i,
  output logic                    slot_free_o,
  output logic [SLOT_W-1:0]       slot_free_idx_o,
  // finished rows for the write port
  output logic                    out_valid_o,
  output logic [63:0]             out_addr_o,
  output logic [C_W-1:0]          out_len_o,
  output logic [COLS*8-1:0]       out_data_o,
  output logic                    out_tile_end_o,  // the tile's last row inside M
  output logic                    busy_o
);
  // 32-bit words: a beat is PORT_BYTES / 4 word writes. Parameter
  // segments are COLS int32 (whole words) and the LUT 256 bytes, both
  // written from offset 0 in PORT_BYTES steps (loom_rd_walk), so a beat
  // always covers whole words.
  logic [31:0] prm_q [NSLOT][3][COLS];
  logic [31:0] lut_q [64];

  // word w of the beat at offset prm_off_i is word (beat << PW_SH) | w
  // of the segment: with an OR of a constant rather than a sum, each
  // stored word has one source word in the beat (a sum gives every word
  // PORT_BYTES / 4 sources in synthesis)
  localparam int PW    = PORT_BYTES / 4;
  localparam int PW_SH = $clog2(PW);
  localparam int BT_W  = 9 - 2 - PW_SH;  // beat number within a segment
  logic [BT_W-1:0] beat;
  assign beat = prm_off_i[8 -: BT_W];

  always_ff @(posedge clk_i) begin
    for (int w = 0; w < PW; w++) begin
      logic [31:0] j;
      j = (32'(beat) << PW_SH) | 32'(w);
      if (prm_we_i && 4 * w < 32'(wr_len_i) && j < COLS)
        prm_q[prm_slot_i][prm_sel_i][j] <= wr_data_i[w*32 +: 32];
      if (lut_we_i && 4 * w < 32'(wr_len_i) && j < 64)
        lut_q[j[5:0]] <= wr_data_i[w*32 +: 32];
    end
  end

`ifndef SYNTHESIS
  // the contract above, checked in simulation
  always_ff @(posedge clk_i) begin
    if ((prm_we_i || lut_we_i) && (32'(prm_off_i) % PORT_BYTES != 0 || wr_len_i[1:0] != '0))
      $fatal(1, "loom_requant: a parameter beat of %0d bytes at offset %0d is not whole words at a beat boundary",
             wr_len_i, prm_off_i);
  end
`endif

  // row meta: {m0, n0, mrows, ncols, slot}
  logic [31:0]       m0, n0;
  logic [R_W-1:0]    mrows;
  logic [C_W-1:0]    ncols;
  logic [SLOT_W-1:0] slot;
  assign {m0, n0, mrows, ncols, slot} = row_meta_i;

  // stage 1
  logic               s1_v, s1_keep, s1_end;
  logic [63:0]        s1_addr;
  logic [C_W-1:0]     s1_len;
  logic signed [31:0] s1_sum   [COLS];
  logic signed [31:0] s1_mult  [COLS];
  logic [4:0]         s1_shift [COLS];
  // stage 2
  logic               s2_v, s2_keep, s2_end;
  logic [63:0]        s2_addr;
  logic [C_W-1:0]     s2_len;
  logic signed [63:0] s2_prod  [COLS];
  logic [4:0]         s2_shift [COLS];

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      s1_v <= 1'b0; s2_v <= 1'b0; out_valid_o <= 1'b0;
      slot_free_o <= 1'b0; slot_free_idx_o <= '0;
      s1_keep <= 1'b0; s1_end <= 1'b0; s1_addr <= '0; s1_len <= '0;
      s2_keep <= 1'b0; s2_end <= 1'b0; s2_addr <= '0; s2_len <= '0;
      out_addr_o <= '0; out_len_o <= '0; out_data_o <= '0; out_tile_end_o <= 1'b0;
    end else begin
      // stage 1: bias, parameters, the row's address
      s1_v    <= row_valid_i;
      s1_keep <= row_valid_i && (R_W'(row_i) < mrows);
      s1_end  <= row_valid_i && (R_W'(row_i) + 1'b1 == mrows);
      // the data registers load only with a row (clock enables: they
      // hold otherwise, and are read only behind their valid flag)
      if (row_valid_i) begin
        s1_addr <= c_i + {32'b0, m0 + 32'(row_i)} * {32'b0, ldc_i} + {32'b0, n0};
        s1_len  <= ncols;
        for (int c = 0; c < COLS; c++) begin
          s1_sum[c]   <= $signed(row_acc_i[c*32 +: 32]) + $signed(prm_q[slot][0][c]);
          s1_mult[c]  <= $signed(prm_q[slot][1][c]);
          s1_shift[c] <= prm_q[slot][2][c][4:0];  // shift <= 31: the low bits
        end
      end
      slot_free_o     <= row_valid_i && (32'(row_i) == ROWS - 1);
      slot_free_idx_o <= slot;

      // stage 2: the 64-bit product and the rounding constant
      s2_v    <= s1_v;
      s2_keep <= s1_keep;
      s2_end  <= s1_end;
      if (s1_v) begin
        s2_addr <= s1_addr;
        s2_len  <= s1_len;
        for (int c = 0; c < COLS; c++) begin
          s2_prod[c]  <= 64'(s1_sum[c]) * 64'(s1_mult[c]) + (64'sd1 <<< (30 + 32'(s1_shift[c])));
          s2_shift[c] <= s1_shift[c];
        end
      end

      // stage 3: shift, saturate, activation
      out_valid_o    <= s2_v && s2_keep;
      out_tile_end_o <= s2_end;
      if (s2_v) begin
        out_addr_o <= s2_addr;
        out_len_o  <= s2_len;
        for (int c = 0; c < COLS; c++) begin
          logic signed [63:0] v;
          logic [7:0]         y, i;
          v = s2_prod[c] >>> (31 + 32'(s2_shift[c]));
          y = (v < -64'sd128) ? 8'h80 : (v > 64'sd127) ? 8'h7f : v[7:0];
          i = {~y[7], y[6:0]};
          if (act_i == 2'd1 && y[7]) y = 8'h00;
          else if (act_i == 2'd2) y = lut_q[i[7:2]][i[1:0]*8 +: 8];
          out_data_o[c*8 +: 8] <= y;
        end
      end
    end
  end

  assign busy_o = s1_v || s2_v || out_valid_o;
endmodule
