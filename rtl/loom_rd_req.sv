// loom_rd_req - issues the read requests of a GEMM (the beat sequence of
// loom_rd_walk) as fast as the memory port accepts them, keeping at most
// MAX_READS beats outstanding. Requests run ahead of the response side by
// whole blocks, so memory latency is hidden behind computation.
`include "loom_defs.svh"

module loom_rd_req #(
  parameter int ROWS       = 16,
  parameter int COLS       = 16,
  parameter int KT         = 256,
  parameter int PORT_BYTES = 64,
  parameter int MAX_READS  = 128,
  localparam int LEN_W = `LOOM_CNT_W(PORT_BYTES),
  localparam int OUT_W = `LOOM_CNT_W(MAX_READS),
  // loom_rd_walk's segment and offset widths
  localparam int SEG_W = `LOOM_SEG_W(ROWS, COLS),
  localparam int OFF_W = `LOOM_OFF_W(KT, COLS)
) (
  input  logic             clk_i,
  input  logic             rst_ni,
  input  logic             init_i,
  input  logic [31:0]      m_i,
  input  logic [31:0]      n_i,
  input  logic [31:0]      k_i,
  input  logic             lut_en_i,
  input  logic [63:0]      a_i,
  input  logic [31:0]      lda_i,
  input  logic [63:0]      b_i,     // transposed B: row n holds B[.][n]
  input  logic [31:0]      ldb_i,
  input  logic [63:0]      bias_i,
  input  logic [63:0]      mult_i,
  input  logic [63:0]      shift_i,
  input  logic [63:0]      lut_i,
  input  logic             rsp_beat_i,     // the response side took a beat
  output logic             req_valid_o,
  input  logic             req_ready_i,
  output logic [63:0]      req_addr_o,
  output logic [LEN_W-1:0] req_len_o,
  output logic             busy_o,         // requests left to issue
  output logic [OUT_W-1:0] outstanding_o
);
  localparam logic [2:0] PH_LUT = 3'd0, PH_BIAS = 3'd1, PH_MULT = 3'd2, PH_SHIFT = 3'd3,
                         PH_A = 3'd4;

  logic                                    valid;
  logic [2:0]                              phase;
  logic [SEG_W-1:0]                        seg;
  logic [31:0]                             m0, n0, k0;
  logic                                    step;
  logic [63:0]                             off64, row;
  /* verilator lint_off UNUSEDSIGNAL */
  // the walker's block details the request side has no use for
  logic [`LOOM_CNT_W(KT)-1:0]               kc;
  logic [`LOOM_CNT_W(ROWS)-1:0]             mrows;
  logic [`LOOM_CNT_W(COLS)-1:0]             ncols;
  logic                                    blk_last, blk_end, prm_end;
  /* verilator lint_on UNUSEDSIGNAL */
  logic [OFF_W-1:0]                        off;

  loom_rd_walk #(.ROWS(ROWS), .COLS(COLS), .KT(KT), .PORT_BYTES(PORT_BYTES)) u_walk (
    .clk_i, .rst_ni, .init_i, .m_i, .n_i, .k_i, .lut_en_i,
    .step_i (step),
    .valid_o (valid), .phase_o (phase), .seg_o (seg), .off_o (off), .len_o (req_len_o),
    .m0_o (m0), .n0_o (n0), .k0_o (k0), .kc_o (kc), .mrows_o (mrows), .ncols_o (ncols),
    .blk_last_o (blk_last), .blk_end_o (blk_end), .prm_end_o (prm_end)
  );

  assign req_valid_o = valid && (outstanding_o < OUT_W'(MAX_READS));
  assign step        = req_valid_o && req_ready_i;
  assign busy_o      = valid;
  assign off64       = 64'(off);

  always_comb begin
    row = '0;
    unique case (phase)
      PH_LUT:   req_addr_o = lut_i + off64;
      PH_BIAS:  req_addr_o = bias_i + {30'b0, n0, 2'b00} + off64;
      PH_MULT:  req_addr_o = mult_i + {30'b0, n0, 2'b00} + off64;
      PH_SHIFT: req_addr_o = shift_i + {30'b0, n0, 2'b00} + off64;
      PH_A: begin
        row = {32'b0, m0 + 32'(seg)} * {32'b0, lda_i};
        req_addr_o = a_i + row + {32'b0, k0} + off64;
      end
      default: begin
        row = {32'b0, n0 + 32'(seg)} * {32'b0, ldb_i};
        req_addr_o = b_i + row + {32'b0, k0} + off64;
      end
    endcase
  end

  always_ff @(posedge clk_i) begin
    if (!rst_ni || init_i) begin
      outstanding_o <= '0;
    end else begin
      // memory protocol check: a response needs a request before it
`ifndef SYNTHESIS
      if (rsp_beat_i && outstanding_o == '0)
        $fatal(1, "loom_rd_req: a read response arrived with no read outstanding");
`endif
      if (step && !rsp_beat_i) outstanding_o <= outstanding_o + 1'b1;
      else if (!step && rsp_beat_i) outstanding_o <= outstanding_o - 1'b1;
    end
  end
endmodule
