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
// column j in byte j) per cycle, unskewed: row i's A byte is delayed i
// cycles and column j's B byte j cycles, then each A byte moves one cell
// right and each B byte one cell down per cycle, so that A[m][k] and
// B[k][n] meet in cell (m, n) at cycle t + m + n. The valid and last flags
// follow the same wavefront, one delay stage per anti-diagonal. A cell
// latches its sum on the `last` term; row r holds tile t's sums from
// COLS + r cycles after the last term entered until the next tile's last
// term reaches that row (the feeder keeps tiles max(ROWS, COLS) cycles
// apart). The drain reads one row at a time through rd_row_i / row_o.
//
// The registers are those of a classic systolic grid (an A and a B byte
// per cell, the skew triangles), grouped as one shift register per row:
// the Verilated model then moves a row's bytes as a few words instead of
// one signal per cell (2.5 times the simulated cycles/s of the per-cell
// version at 16x16: bench/vsim_speed.sh). No continuous assignment reads
// a word of an unpacked array (Icarus Verilog 11 does not re-evaluate
// those).
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
  localparam int DIAG = ROWS + COLS - 1;  // anti-diagonals: cell (r, c) is on r + c

  logic [31:0] res_m [ROWS][COLS];  // each cell's finished sum

  // valid and last of anti-diagonal d: valid_i and last_i d cycles ago
  logic [DIAG-1:0] v_d, l_d;
  if (DIAG == 1) begin : g_diag1
    assign v_d = valid_i;
    assign l_d = last_i;
  end else begin : g_diag
    logic [DIAG-2:0] v_q, l_q;
    always_ff @(posedge clk_i) begin
      if (!rst_ni) begin
        v_q <= '0;
        l_q <= '0;
      end else begin
        v_q <= v_d[DIAG-2:0];
        l_q <= l_d[DIAG-2:0];
      end
    end
    assign v_d = {v_q, valid_i};
    assign l_d = {l_q, last_i};
  end

  // row r's A byte enters the row r cycles late; within the row it moves
  // one cell to the right a cycle: a_row holds, in byte c, what cell
  // (r, c) multiplies this cycle
  for (genvar r = 0; r < ROWS; r++) begin : g_ra
    logic [7:0] a_skew;
    logic [COLS*8-1:0] a_row;
    if (r == 0) begin : g_none
      assign a_skew = a_i[7:0];
    end else begin : g_delay
      logic [r*8-1:0] sh_q;  // byte s: a_i's byte r, s + 1 cycles ago
      if (r == 1) begin : g_one
        always_ff @(posedge clk_i) sh_q <= a_i[15:8];
      end else begin : g_more
        always_ff @(posedge clk_i) sh_q <= {sh_q[(r-1)*8-1:0], a_i[r*8 +: 8]};
      end
      assign a_skew = sh_q[(r-1)*8 +: 8];
    end
    if (COLS == 1) begin : g_one
      assign a_row = a_skew;
    end else begin : g_pipe
      logic [(COLS-1)*8-1:0] pipe_q;  // the bytes cells 0..COLS-2 multiplied last cycle
      always_ff @(posedge clk_i) pipe_q <= a_row[(COLS-1)*8-1:0];
      assign a_row = {pipe_q, a_skew};
    end
  end

  // column c's B byte enters the column c cycles late and moves one row
  // down a cycle: b_row of row r holds, in byte c, what cell (r, c)
  // multiplies this cycle
  logic [COLS*8-1:0] b_top;
  for (genvar c = 0; c < COLS; c++) begin : g_cb
    if (c == 0) begin : g_none
      assign b_top[7:0] = b_i[7:0];
    end else begin : g_delay
      logic [c*8-1:0] sh_q;  // byte s: b_i's byte c, s + 1 cycles ago
      if (c == 1) begin : g_one
        always_ff @(posedge clk_i) sh_q <= b_i[15:8];
      end else begin : g_more
        always_ff @(posedge clk_i) sh_q <= {sh_q[(c-1)*8-1:0], b_i[c*8 +: 8]};
      end
      assign b_top[c*8 +: 8] = sh_q[(c-1)*8 +: 8];
    end
  end

  for (genvar r = 0; r < ROWS; r++) begin : g_r
    logic [COLS*8-1:0] b_row;
    if (r == 0) begin : g_top
      assign b_row = b_top;
    end else begin : g_below
      logic [COLS*8-1:0] b_q;
      always_ff @(posedge clk_i) b_q <= g_r[r-1].b_row;
      assign b_row = b_q;
    end
    for (genvar c = 0; c < COLS; c++) begin : g_c
      loom_pe u_pe (
        .clk_i,
        .rst_ni,
        .valid_i (v_d[r+c]),
        .last_i  (l_d[r+c]),
        .a_i     (g_ra[r].a_row[c*8 +: 8]),
        .b_i     (b_row[c*8 +: 8]),
        .res_o   (res_m[r][c])
      );
    end
  end
  // a row index past ROWS - 1 reads row 0's slot of a wider index: the
  // drain never asks for one
  always_comb
    for (int c = 0; c < COLS; c++) row_o[c*32 +: 32] = res_m[rd_row_i][c];
endmodule
