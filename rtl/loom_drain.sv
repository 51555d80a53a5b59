// loom_drain - reads a finished tile out of the array, one row per cycle
// (it names the row; the array returns that row's sums the same cycle).
//
// The feeder flags the cycle a tile's last term enters the array (tile_i,
// with the tile's position). Cell (r, c) latches its sum r + c cycles
// later, so row r is complete COLS + r cycles after the flag: a COLS-cycle
// delay starts the row sequence at exactly that cycle, and row r is read
// at COLS + r, before the next tile (GAP >= COLS cycles behind)
// overwrites it.
`include "loom_defs.svh"

module loom_drain #(
  parameter int ROWS  = 16,
  parameter int COLS  = 16,
  parameter int NSLOT = 4,
  localparam int SLOT_W = `LOOM_IDX_W(NSLOT),
  localparam int R_W    = `LOOM_CNT_W(ROWS),
  localparam int C_W    = `LOOM_CNT_W(COLS),
  localparam int ROW_W  = `LOOM_IDX_W(ROWS),
  localparam int META_W = 32 + 32 + R_W + C_W + SLOT_W
) (
  input  logic                   clk_i,
  input  logic                   rst_ni,
  input  logic                   tile_i,
  input  logic [META_W-1:0]      tile_meta_i,  // {m0, n0, mrows, ncols, slot}
  output logic                   row_valid_o,
  output logic [ROW_W-1:0]       row_o,        // row index within the tile (the array's read row)
  output logic [META_W-1:0]      row_meta_o,
  output logic                   busy_o
);
  // The delay line holds at most one tile: the feeder keeps tiles
  // GAP = max(ROWS, COLS) >= COLS cycles apart, so a tile has left the
  // COLS-deep line before the next enters. It is therefore one metadata
  // register and a countdown (a COLS-stage shift register of the metadata
  // did the same with 16 x 76 bits moved every cycle).
  localparam int D_W = `LOOM_CNT_W(COLS);
  logic [D_W-1:0]    dly_q;     // cycles until the tile's first row, + 1; 0: none
  logic [META_W-1:0] dly_m_q;
  logic              seq_q;
  logic [ROW_W-1:0]  row_q;
  logic [META_W-1:0] meta_q;
  logic              dly_last;  // the line's last stage holds the tile

  assign dly_last = (dly_q == D_W'(1));
  assign busy_o   = (dly_q != '0) || seq_q;

  // the row sequence starts the cycle the delay line's last stage is set
  assign row_valid_o = seq_q || dly_last;
  assign row_o       = seq_q ? row_q : '0;
  assign row_meta_o  = seq_q ? meta_q : dly_m_q;

`ifndef SYNTHESIS
  // the feeder's spacing, checked in simulation (with one column any
  // spacing is fine)
  if (COLS > 1) begin : g_spacing
    always_ff @(posedge clk_i) begin
      if (rst_ni && tile_i && dly_q > D_W'(1))
        $fatal(1, "loom_drain: a tile entered %0d cycles after the previous one (at least %0d apart)",
               COLS + 1 - 32'(dly_q), COLS);
    end
  end

`endif

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      dly_q  <= '0;
      seq_q  <= 1'b0;
      row_q  <= '0;
      meta_q <= '0;
    end else begin
      if (tile_i) begin
        dly_q   <= D_W'(COLS);
        dly_m_q <= tile_meta_i;
      end else if (dly_q != '0) begin
        dly_q <= dly_q - 1'b1;
      end
      if (row_valid_o) begin
        if (32'(row_o) == ROWS - 1) begin
          seq_q <= 1'b0;
        end else begin
          seq_q  <= 1'b1;
          row_q  <= row_o + 1'b1;
          meta_q <= row_meta_o;
        end
      end
    end
  end
endmodule
