// loom_fifo - synchronous first-in first-out queue, DEPTH entries of WIDTH
// bits, with registered full/empty flags. Pushing when full or popping
// when empty is a design error and stops the simulation.
`include "loom_defs.svh"

module loom_fifo #(
  parameter int WIDTH = 8,
  parameter int DEPTH = 4
) (
  input  logic             clk_i,
  input  logic             rst_ni,
  input  logic             push_i,
  input  logic [WIDTH-1:0] data_i,
  input  logic             pop_i,
  output logic [WIDTH-1:0] data_o,  // the oldest entry, valid when !empty_o
  output logic             empty_o,
  output logic             full_o
);
  localparam int PTR_W = `LOOM_IDX_W(DEPTH);
  localparam int CNT_W = `LOOM_CNT_W(DEPTH);

`ifndef __ICARUS__  // Icarus Verilog 11 has no elaboration-time $fatal
  if (DEPTH < 1) begin : g_bad_depth
    $fatal(1, "loom_fifo: DEPTH=%0d must be at least 1", DEPTH);
  end
`endif

  logic [WIDTH-1:0] mem_q [DEPTH];
  logic [PTR_W-1:0] rd_q, wr_q;
  logic [CNT_W-1:0] cnt_q;

  assign data_o  = mem_q[rd_q];
  assign empty_o = (cnt_q == '0);
  assign full_o  = (cnt_q == CNT_W'(DEPTH));

  function automatic logic [PTR_W-1:0] inc(logic [PTR_W-1:0] p);
    inc = (p == PTR_W'(DEPTH - 1)) ? '0 : p + 1'b1;
  endfunction

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      rd_q  <= '0;
      wr_q  <= '0;
      cnt_q <= '0;
    end else begin
`ifndef SYNTHESIS  // simulation checks (yosys defines SYNTHESIS)
      if (push_i && full_o && !pop_i) $fatal(1, "loom_fifo: push while full");
      if (pop_i && empty_o) $fatal(1, "loom_fifo: pop while empty");
`endif
      if (push_i) begin
        mem_q[wr_q] <= data_i;
        wr_q <= inc(wr_q);
      end
      if (pop_i) rd_q <= inc(rd_q);
      if (push_i && !pop_i) cnt_q <= cnt_q + 1'b1;
      else if (pop_i && !push_i) cnt_q <= cnt_q - 1'b1;
    end
  end
endmodule
