// loom_rd_walk - the sequence of memory beats that loads a GEMM, shared by
// the read-request side (which turns beats into addresses) and the
// read-response side (which turns them into scratchpad writes). Both step
// through the same sequence; responses come back in request order.
//
// Sequence: the activation LUT (256 bytes, once, when lut_en_i); then per
// block: for the first K chunk of a tile the tile's bias, mult and shift
// (COLS int32 each), then mrows segments of A (kc bytes of one A row
// each), then ncols segments of transposed B (kc bytes of one B column
// each). A segment is cut into beats of at most PORT_BYTES bytes.
`include "loom_defs.svh"

module loom_rd_walk #(
  parameter int ROWS       = 16,
  parameter int COLS       = 16,
  parameter int KT         = 256,
  parameter int PORT_BYTES = 64,
  localparam int KC_W  = `LOOM_CNT_W(KT),
  localparam int R_W   = `LOOM_CNT_W(ROWS),
  localparam int C_W   = `LOOM_CNT_W(COLS),
  localparam int SEG_W = `LOOM_SEG_W(ROWS, COLS),
  localparam int OFF_W = `LOOM_OFF_W(KT, COLS),
  localparam int LEN_W = `LOOM_CNT_W(PORT_BYTES)
) (
  input  logic             clk_i,
  input  logic             rst_ni,
  input  logic             init_i,
  input  logic [31:0]      m_i,
  input  logic [31:0]      n_i,
  input  logic [31:0]      k_i,
  input  logic             lut_en_i,
  input  logic             step_i,     // the current beat is done
  output logic             valid_o,    // a beat is current
  output logic [2:0]       phase_o,    // LOOM_PH_*
  output logic [SEG_W-1:0] seg_o,      // A row / B column within the block
  output logic [OFF_W-1:0] off_o,      // byte offset within the segment
  output logic [LEN_W-1:0] len_o,      // bytes in this beat
  output logic [31:0]      m0_o,
  output logic [31:0]      n0_o,
  output logic [31:0]      k0_o,
  output logic [KC_W-1:0]  kc_o,
  output logic [R_W-1:0]   mrows_o,
  output logic [C_W-1:0]   ncols_o,
  output logic             blk_last_o, // the block is its tile's last K chunk
  output logic             blk_end_o,  // this beat is the block's last
  output logic             prm_end_o   // this beat is the tile's last parameter beat
);
  localparam logic [2:0] PH_LUT = 3'd0, PH_BIAS = 3'd1, PH_MULT = 3'd2, PH_SHIFT = 3'd3,
                         PH_A = 3'd4, PH_B = 3'd5, PH_START = 3'd6;

  logic [2:0]       phase_q;
  logic [SEG_W-1:0] seg_q, nseg;
  logic [OFF_W-1:0] off_q, seg_len, rest;
  logic             blk_valid, blk_first, seg_done, phase_done;

  loom_walk #(.ROWS(ROWS), .COLS(COLS), .KT(KT)) u_walk (
    .clk_i, .rst_ni, .init_i, .m_i, .n_i, .k_i,
    .next_i  (step_i && blk_end_o),
    .valid_o (blk_valid),
    .m0_o, .n0_o, .k0_o, .kc_o, .mrows_o, .ncols_o,
    .first_o (blk_first),
    .last_o  (blk_last_o)
  );

  always_comb begin
    phase_o = (phase_q == PH_START) ? (blk_first ? PH_BIAS : PH_A) : phase_q;
    unique case (phase_o)
      PH_LUT:  begin seg_len = OFF_W'(256);              nseg = SEG_W'(1); end
      PH_A:    begin seg_len = OFF_W'(kc_o);             nseg = SEG_W'(mrows_o); end
      PH_B:    begin seg_len = OFF_W'(kc_o);             nseg = SEG_W'(ncols_o); end
      default: begin seg_len = OFF_W'({ncols_o, 2'b00}); nseg = SEG_W'(1); end
    endcase
    rest       = seg_len - off_q;
    len_o      = (rest > OFF_W'(PORT_BYTES)) ? LEN_W'(PORT_BYTES) : LEN_W'(rest);
    seg_done   = (rest <= OFF_W'(PORT_BYTES));
    phase_done = seg_done && (seg_q + 1'b1 >= nseg);
    blk_end_o  = phase_done && (phase_o == PH_B || (phase_o == PH_SHIFT && kc_o == '0));
    prm_end_o  = phase_done && (phase_o == PH_SHIFT);
  end

  assign valid_o = blk_valid;
  assign seg_o   = seg_q;
  assign off_o   = off_q;

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      phase_q <= PH_START;
      seg_q   <= '0;
      off_q   <= '0;
    end else if (init_i) begin
      phase_q <= lut_en_i ? PH_LUT : PH_START;
      seg_q   <= '0;
      off_q   <= '0;
    end else if (step_i && valid_o) begin
      if (!seg_done) begin
        off_q <= off_q + OFF_W'(len_o);
      end else begin
        off_q <= '0;
        if (!phase_done) begin
          seg_q <= seg_q + 1'b1;
        end else begin
          seg_q <= '0;
          unique case (phase_o)
            PH_BIAS:  phase_q <= PH_MULT;
            PH_MULT:  phase_q <= PH_SHIFT;
            PH_SHIFT: phase_q <= (kc_o != '0) ? PH_A : PH_START;
            PH_A:     phase_q <= PH_B;
            default:  phase_q <= PH_START;  // after the LUT, or a block's B
          endcase
        end
      end
    end
  end
endmodule
