// loom_drain - reads a finished tile out of the array, one row per cycle
// (it names the row; the array returns that row's sums the same cycle).
//
// The feeder flags the cycle a tile's last term enters the array (tile_i,
// with the tile's position). Cell (r, c) latches its sum r + c cycles
// later, so row r is complete COLS + r cycles after the flag: a COLS-deep
// delay line starts the row sequence at exactly that cycle, and row r is
// read at COLS + r, before the next tile (GAP >= COLS cycles behind)
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
  // packed, not unpacked arrays: Icarus Verilog 11 does not re-evaluate a
  // continuous assignment that reads a word of an unpacked array
  logic [COLS-1:0]              dly_v_q;
  logic [COLS-1:0][META_W-1:0]  dly_m_q;
  logic              seq_q;
  logic [ROW_W-1:0]  row_q;
  logic [META_W-1:0] meta_q;
  logic              any_dly;

  assign any_dly = |dly_v_q;
  assign busy_o = any_dly || seq_q;

  // the row sequence starts the cycle the delay line's last stage is set
  assign row_valid_o = seq_q || dly_v_q[COLS-1];
  assign row_o       = seq_q ? row_q : '0;
  assign row_meta_o  = seq_q ? meta_q : dly_m_q[COLS-1];

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      dly_v_q <= '0;
      dly_m_q <= '0;
      seq_q  <= 1'b0;
      row_q  <= '0;
      meta_q <= '0;
    end else begin
      dly_v_q[0] <= tile_i;
      dly_m_q[0] <= tile_meta_i;
      for (int s = 1; s < COLS; s++) begin
        dly_v_q[s] <= dly_v_q[s-1];
        dly_m_q[s] <= dly_m_q[s-1];
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
