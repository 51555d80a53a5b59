// loom_array - ROWS x COLS grid of loom_pe cells, output-stationary.
//
// Why output-stationary: every GEMM loom runs has K far larger than the
// array (a 3x3x64 convolution is K = 576), so each cell keeps its whole
// int32 sum for one output until the last product; no partial sums ever
// leave the array, K needs no accumulator memory, and the requantise unit
// sees each finished sum exactly once. (Weight-stationary would reload
// partial sums through memory whenever K exceeds ROWS.)
//
// Inputs are one column of A (a_i, row i in byte i) and one row of B (b_i,
// column j in byte j) per cycle, unskewed: the triangular delay lines here
// delay row i by i cycles and column j by j cycles, so that A[m][k] and
// B[k][n] meet in cell (m, n) at cycle t + m + n. A cell latches its sum
// on the `last` term; row r holds tile t's sums from COLS + r cycles after
// the last term entered until the next tile's last term reaches that row
// (the feeder keeps tiles max(ROWS, COLS) cycles apart). The drain reads
// one row at a time through rd_row_i / row_o (a chain of row multiplexers:
// a flat ROWS x COLS x 32-bit result bus made the Verilated model rebuild
// 8192 bits every cycle at 16x16).
`include "loom_defs.svh"

module loom_array #(
  parameter int ROWS = 16,
  parameter int COLS = 16
) (
  input  logic                       clk_i,
  input  logic                       rst_ni,
  input  logic                       valid_i,
  input  logic                       last_i,
  input  logic [ROWS*8-1:0]          a_i,
  input  logic [COLS*8-1:0]          b_i,
  input  logic [`LOOM_IDX_W(ROWS)-1:0] rd_row_i,
  output logic [COLS*32-1:0]         row_o    // the sums of row rd_row_i, cell c at [c*32 +: 32]
);
  // horizontal and vertical wires between cells; index c (or r) is the
  // input of cell column c (row r); the extra one is the unused exit
  // (packed: Icarus Verilog 11 does not re-evaluate continuous assignments
  // that read words of unpacked arrays)
  // the last column of a_w/v_w/l_w and last row of b_w are the unused exits
  /* verilator lint_off UNUSEDSIGNAL */
  logic [ROWS-1:0][COLS:0][7:0] a_w;
  logic [ROWS-1:0][COLS:0]      v_w;
  logic [ROWS-1:0][COLS:0]      l_w;
  logic [ROWS:0][COLS-1:0][7:0] b_w;
  /* verilator lint_on UNUSEDSIGNAL */

  for (genvar r = 0; r < ROWS; r++) begin : g_row_skew
    if (r == 0) begin : g_none
      assign a_w[0][0] = a_i[7:0];
      assign v_w[0][0] = valid_i;
      assign l_w[0][0] = last_i;
    end else begin : g_delay
      logic [r-1:0][7:0] a_q;
      logic [r-1:0]      v_q;
      logic [r-1:0]      l_q;
      always_ff @(posedge clk_i) begin
        if (!rst_ni) begin
          v_q <= '0;
          l_q <= '0;
          a_q <= '0;
        end else begin
          a_q[0] <= a_i[r*8 +: 8];
          v_q[0] <= valid_i;
          l_q[0] <= last_i;
          for (int s = 1; s < r; s++) begin
            a_q[s] <= a_q[s-1];
            v_q[s] <= v_q[s-1];
            l_q[s] <= l_q[s-1];
          end
        end
      end
      assign a_w[r][0] = a_q[r-1];
      assign v_w[r][0] = v_q[r-1];
      assign l_w[r][0] = l_q[r-1];
    end
  end

  for (genvar c = 0; c < COLS; c++) begin : g_col_skew
    if (c == 0) begin : g_none
      assign b_w[0][0] = b_i[7:0];
    end else begin : g_delay
      logic [c-1:0][7:0] b_q;
      always_ff @(posedge clk_i) begin
        if (!rst_ni) begin
          b_q <= '0;
        end else begin
          b_q[0] <= b_i[c*8 +: 8];
          for (int s = 1; s < c; s++) b_q[s] <= b_q[s-1];
        end
      end
      assign b_w[0][c] = b_q[c-1];
    end
  end

  for (genvar r = 0; r < ROWS; r++) begin : g_r
    logic [COLS*32-1:0] res;   // this row's sums
    logic [COLS*32-1:0] sel;   // rd_row_i's row if it is this one or above, else 0
    if (r == 0) begin : g_sel0
      assign sel = (rd_row_i == '0) ? res : '0;
    end else begin : g_seln
      assign sel = (32'(rd_row_i) == r) ? res : g_r[r-1].sel;
    end
    for (genvar c = 0; c < COLS; c++) begin : g_c
      loom_pe u_pe (
        .clk_i,
        .rst_ni,
        .valid_i (v_w[r][c]),
        .last_i  (l_w[r][c]),
        .a_i     (a_w[r][c]),
        .b_i     (b_w[r][c]),
        .valid_o (v_w[r][c+1]),
        .last_o  (l_w[r][c+1]),
        .a_o     (a_w[r][c+1]),
        .b_o     (b_w[r+1][c]),
        .res_o   (res[c*32 +: 32])
      );
    end
  end
  assign row_o = g_r[ROWS-1].sel;
endmodule
