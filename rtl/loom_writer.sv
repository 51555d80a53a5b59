// loom_writer - queues finished output rows and writes each one to C as
// one memory beat (COLS <= PORT_BYTES bytes, a strobe for the tile's
// columns inside N). Counts writes until the memory acknowledges them, and
// returns a tile's output credit to the feeder when its last row has gone.
`include "loom_defs.svh"

module loom_writer #(
  parameter int COLS       = 16,
  parameter int PORT_BYTES = 64,
  parameter int DEPTH      = 64,   // rows: CREDITS x ROWS never overflows
  localparam int C_W = `LOOM_CNT_W(COLS)
) (
  input  logic                    clk_i,
  input  logic                    rst_ni,
  input  logic                    init_i,
  input  logic                    in_valid_i,
  input  logic [63:0]             in_addr_i,
  input  logic [C_W-1:0]          in_len_i,
  input  logic [COLS*8-1:0]       in_data_i,
  input  logic                    in_tile_end_i,
  output logic                    wr_valid_o,
  input  logic                    wr_ready_i,
  output logic [63:0]             wr_addr_o,
  output logic [PORT_BYTES*8-1:0] wr_data_o,
  output logic [PORT_BYTES-1:0]   wr_strb_o,
  input  logic                    wr_ack_i,
  output logic                    credit_return_o,
  output logic [15:0]             outstanding_o,
  output logic                    busy_o,
  output logic                    stalled_o   // a row waits for the write port
);
  localparam int W  = 64 + C_W + COLS * 8 + 1;
  localparam int PW = PORT_BYTES * 8;

  logic         empty, full, pop, tile_end;
  logic [C_W-1:0] len;
  logic [COLS*8-1:0] data;

  loom_fifo #(.WIDTH(W), .DEPTH(DEPTH)) u_fifo (
    .clk_i, .rst_ni,
    .push_i  (in_valid_i),
    .data_i  ({in_addr_i, in_len_i, in_data_i, in_tile_end_i}),
    .pop_i   (pop),
    .data_o  ({wr_addr_o, len, data, tile_end}),
    .empty_o (empty),
    .full_o  (full)
  );

  assign wr_valid_o      = !empty;
  assign pop             = wr_valid_o && wr_ready_i;
  assign wr_data_o       = PW'(data);
  assign credit_return_o = pop && tile_end;
  assign busy_o          = !empty || (outstanding_o != '0);
  assign stalled_o       = !empty && !wr_ready_i;
  always_comb
    for (int b = 0; b < PORT_BYTES; b++) wr_strb_o[b] = (b < 32'(len));

  always_ff @(posedge clk_i) begin
    if (!rst_ni || init_i) begin
      outstanding_o <= '0;
    end else begin
`ifndef SYNTHESIS
      if (in_valid_i && full && !pop) $fatal(1, "loom_writer: output queue overflow");
`endif
      if (pop && !wr_ack_i) outstanding_o <= outstanding_o + 1'b1;
      else if (!pop && wr_ack_i) outstanding_o <= outstanding_o - 1'b1;
    end
  end
endmodule
