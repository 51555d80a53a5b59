// loom_walk - walks the blocks of one GEMM in the order every stage uses:
// output tiles of ROWS x COLS, column tiles outermost (n0), then row tiles
// (m0); each tile's K split into chunks of at most KT (k0). A block is one
// (tile, K chunk). The loader's request and response sides and the feeder
// each own one walker and step it independently: the order is fixed, so
// they agree without passing descriptors.
//
// K = 0 gives one block per tile with kc = 0 (the result is bias only).
`include "loom_defs.svh"

module loom_walk #(
  parameter int ROWS = 16,
  parameter int COLS = 16,
  parameter int KT   = 256,
  localparam int KC_W = `LOOM_CNT_W(KT),
  localparam int R_W  = `LOOM_CNT_W(ROWS),
  localparam int C_W  = `LOOM_CNT_W(COLS)
) (
  input  logic            clk_i,
  input  logic            rst_ni,
  input  logic            init_i,   // start at the first block of M x N x K
  input  logic [31:0]     m_i,
  input  logic [31:0]     n_i,
  input  logic [31:0]     k_i,
  input  logic            next_i,   // step to the next block
  output logic            valid_o,  // a block is current (not past the end)
  output logic [31:0]     m0_o,
  output logic [31:0]     n0_o,
  output logic [31:0]     k0_o,
  output logic [KC_W-1:0] kc_o,     // K chunk length, 0..KT
  output logic [R_W-1:0]  mrows_o,  // rows of the tile inside M, 1..ROWS
  output logic [C_W-1:0]  ncols_o,  // columns of the tile inside N, 1..COLS
  output logic            first_o,  // first K chunk of its tile
  output logic            last_o    // last K chunk of its tile
);
  logic [31:0] m_q, n_q, k_q;
  logic [31:0] m_left, n_left, k_left;

  assign m_left  = m_q - m0_o;
  assign n_left  = n_q - n0_o;
  assign k_left  = k_q - k0_o;
  assign kc_o    = (k_left > 32'(KT)) ? KC_W'(KT) : KC_W'(k_left);
  assign mrows_o = (m_left > 32'(ROWS)) ? R_W'(ROWS) : R_W'(m_left);
  assign ncols_o = (n_left > 32'(COLS)) ? C_W'(COLS) : C_W'(n_left);
  assign first_o = (k0_o == '0);
  assign last_o  = (k_left <= 32'(KT));

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      valid_o <= 1'b0;
      m_q <= '0; n_q <= '0; k_q <= '0;
      m0_o <= '0; n0_o <= '0; k0_o <= '0;
    end else if (init_i) begin
      m_q <= m_i; n_q <= n_i; k_q <= k_i;
      m0_o <= '0; n0_o <= '0; k0_o <= '0;
      valid_o <= (m_i != '0) && (n_i != '0);
    end else if (next_i && valid_o) begin
      if (!last_o) begin
        k0_o <= k0_o + 32'(KT);
      end else begin
        k0_o <= '0;
        if (m_left > 32'(ROWS)) begin
          m0_o <= m0_o + 32'(ROWS);
        end else begin
          m0_o <= '0;
          n0_o <= n0_o + 32'(COLS);
          if (n_left <= 32'(COLS)) valid_o <= 1'b0;
        end
      end
    end
  end
endmodule
