// loom_core - the int8 GEMM engine of the kernel ABI without any bus
// protocol: arguments as plain inputs, start/idle/done, one read port and
// one write port (valid/ready requests; responses and acknowledgements in
// request order). loom_kernel wraps it in the Vitis RTL-kernel shell.
//
//   C[M,N] = act(requant(A[M,K] . B[K,N] + bias[N]))
//
// B is passed transposed (Bt[N][K], row stride ldb), as the host packs
// weights once, so that both operands load as rows of K bytes at the full
// port width. Pipeline: loom_rd_req -> memory -> loom_rd_rsp -> scratchpads
// (double-buffered) -> loom_feeder -> loom_array -> loom_drain ->
// loom_requant -> loom_writer -> memory. The request side runs ahead by
// whole blocks, so loading the next block overlaps computing this one.
`include "loom_config.svh"
`include "loom_defs.svh"

module loom_core #(
  parameter int ROWS       = `LOOM_ROWS,
  parameter int COLS       = `LOOM_COLS,
  parameter int KT         = `LOOM_K_TILE,       // scratchpad depth along K
  parameter int PORT_BYTES = `LOOM_PORT_BYTES,   // memory beat, bytes
  parameter int MAX_READS  = `LOOM_MAX_READS,    // read beats in flight
  parameter int CREDITS    = `LOOM_TILE_CREDITS, // tiles between feeder and write port
  localparam int LEN_W = `LOOM_CNT_W(PORT_BYTES)
) (
  input  logic                    clk_i,
  input  logic                    rst_ni,
  input  logic                    start_i,   // begin (when idle) with the arguments below
  output logic                    idle_o,
  output logic                    done_o,    // the last cycle of a run (start_i is not
                                             // looked at until the cycle after)
  input  logic [31:0]             m_i,
  input  logic [31:0]             n_i,
  input  logic [31:0]             k_i,
  input  logic [63:0]             a_i,
  input  logic [31:0]             lda_i,
  input  logic [63:0]             b_i,
  input  logic [31:0]             ldb_i,
  input  logic [63:0]             bias_i,
  input  logic [63:0]             mult_i,
  input  logic [63:0]             shift_i,
  input  logic [63:0]             c_i,
  input  logic [31:0]             ldc_i,
  input  logic [1:0]              act_i,
  input  logic [63:0]             lut_i,
  output logic [63:0]             cycles_o,  // cycles of the last (or current) run
  output logic [31:0]             state_o,   // what each stage is doing (STATE register)
  // read port
  output logic                    rd_req_valid_o,
  input  logic                    rd_req_ready_i,
  output logic [63:0]             rd_req_addr_o,
  output logic [LEN_W-1:0]        rd_req_len_o,
  input  logic                    rd_rsp_valid_i,
  output logic                    rd_rsp_ready_o,
  input  logic [PORT_BYTES*8-1:0] rd_rsp_data_i,
  // write port
  output logic                    wr_req_valid_o,
  input  logic                    wr_req_ready_i,
  output logic [63:0]             wr_req_addr_o,
  output logic [PORT_BYTES*8-1:0] wr_req_data_o,
  output logic [PORT_BYTES-1:0]   wr_req_strb_o,
  input  logic                    wr_ack_i
);
  localparam int NBUF   = 2;
  localparam int NSLOT  = CREDITS;
  localparam int BUF_W  = 1;
  localparam int SLOT_W = `LOOM_IDX_W(NSLOT);
  localparam int K_W    = `LOOM_IDX_W(KT);
  localparam int R_W    = `LOOM_CNT_W(ROWS);
  localparam int C_W    = `LOOM_CNT_W(COLS);
  localparam int ROW_W  = `LOOM_IDX_W(ROWS);
  localparam int META_W = 32 + 32 + R_W + C_W + SLOT_W;
  localparam int LANE_W = `LOOM_IDX_W(`LOOM_MAX(ROWS, COLS));

  // ---- parameters that cannot work stop elaboration with a reason ----
  // (not under Icarus Verilog 11, which has no elaboration-time $fatal)
`ifndef __ICARUS__
  if (ROWS < 2 || ROWS > 64) begin : g_bad_rows
    $fatal(1, "loom_core: ROWS=%0d: the array needs 2 to 64 rows", ROWS);
  end
  if (COLS < 2 || COLS > 64) begin : g_bad_cols
    $fatal(1, "loom_core: COLS=%0d: the array needs 2 to 64 columns", COLS);
  end
  if (COLS > PORT_BYTES) begin : g_bad_port
    $fatal(1, "loom_core: COLS=%0d exceeds PORT_BYTES=%0d: an output row must fit one memory beat",
           COLS, PORT_BYTES);
  end
  if (PORT_BYTES < 4 || (PORT_BYTES & (PORT_BYTES - 1)) != 0 || PORT_BYTES > 256) begin : g_bad_pb
    $fatal(1, "loom_core: PORT_BYTES=%0d must be a power of two from 4 to 256", PORT_BYTES);
  end
  if (KT < PORT_BYTES || (KT & (KT - 1)) != 0) begin : g_bad_kt
    $fatal(1, "loom_core: KT=%0d must be a power of two of at least PORT_BYTES=%0d", KT, PORT_BYTES);
  end
  if (MAX_READS < 1 || CREDITS < 2) begin : g_bad_credits
    $fatal(1, "loom_core: MAX_READS=%0d must be at least 1 and CREDITS=%0d at least 2",
           MAX_READS, CREDITS);
  end
`endif

  // ---- control ----
  typedef enum logic [1:0] {ST_IDLE = 2'd0, ST_RUN = 2'd1} state_e;
  state_e state_q;
  logic   init, finished;

  logic [63:0] a_q, b_q, bias_q, mult_q, shift_q, c_q, lut_q;
  logic [31:0] lda_q, ldb_q, ldc_q;
  logic [1:0]  act_q;

  assign init   = (state_q == ST_IDLE) && start_i;
  assign idle_o = (state_q == ST_IDLE);
  assign done_o = (state_q == ST_RUN) && finished;

  // ---- stage wires ----
  logic              req_busy, rsp_busy, rsp_stalled, feed_busy, feed_stalled;
  logic              drain_busy, rq_busy, wr_busy, wr_stalled;
  logic [`LOOM_CNT_W(MAX_READS)-1:0] reads_out;
  logic [15:0]       writes_out;
  logic              spad_a_we, spad_b_we, prm_we, lut_we;
  logic [BUF_W-1:0]  spad_wbuf, spad_rbuf, rel_idx;
  logic [LANE_W-1:0] spad_lane;
  logic [K_W-1:0]    spad_off, spad_k;
  logic [LEN_W-1:0]  wr_len;
  logic [SLOT_W-1:0] prm_slot, free_idx;
  logic [1:0]        prm_sel;
  logic [8:0]        prm_off;
  logic [NBUF-1:0]   buf_full;
  logic              rel, slot_free, credit_ret;
  logic              rsp_beat;
  logic [ROWS*8-1:0] a_col, a_feed;
  logic [COLS*8-1:0] b_row, b_feed;
  logic              f_valid, f_last, f_tile;
  logic [ROWS-1:0]   amask;
  logic [COLS-1:0]   bmask;
  logic [31:0]       t_m0, t_n0;
  logic [R_W-1:0]    t_mrows;
  logic [C_W-1:0]    t_ncols;
  logic [SLOT_W-1:0] t_slot;
  logic              row_v;
  logic [ROW_W-1:0]  row;
  logic [COLS*32-1:0] row_acc;
  logic [META_W-1:0] row_meta;
  logic              o_valid, o_end;
  logic [63:0]       o_addr;
  logic [C_W-1:0]    o_len;
  logic [COLS*8-1:0] o_data;

  assign rsp_beat = rd_rsp_valid_i && rd_rsp_ready_o;
  assign finished = !req_busy && !rsp_busy && !feed_busy && !drain_busy && !rq_busy && !wr_busy;

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      state_q  <= ST_IDLE;
      cycles_o <= '0;
      a_q <= '0; b_q <= '0; bias_q <= '0; mult_q <= '0; shift_q <= '0; c_q <= '0; lut_q <= '0;
      lda_q <= '0; ldb_q <= '0; ldc_q <= '0; act_q <= '0;
    end else begin
      unique case (state_q)
        ST_IDLE: if (start_i) begin
          state_q  <= ST_RUN;
          cycles_o <= 64'd1;
          a_q <= a_i; b_q <= b_i; bias_q <= bias_i; mult_q <= mult_i; shift_q <= shift_i;
          c_q <= c_i; lut_q <= lut_i; lda_q <= lda_i; ldb_q <= ldb_i; ldc_q <= ldc_i;
          act_q <= act_i;
        end
        default: begin
          if (finished) state_q <= ST_IDLE;
          else cycles_o <= cycles_o + 64'd1;
        end
      endcase
    end
  end

  // STATE register: [1:0] controller, then one bit per stage, then counts
  logic [7:0] writes_sat, reads_sat;
  assign writes_sat = (writes_out > 16'd255) ? 8'hff : writes_out[7:0];
  assign reads_sat  = (32'(reads_out) > 255) ? 8'hff : 8'(reads_out);
  assign state_o = {writes_sat, reads_sat, 5'b0, wr_stalled, wr_busy, rq_busy,
                    drain_busy, feed_stalled, feed_busy, rsp_stalled, rsp_busy, req_busy,
                    1'b0, state_q == ST_RUN};

  // ---- read side ----
  loom_rd_req #(.ROWS(ROWS), .COLS(COLS), .KT(KT), .PORT_BYTES(PORT_BYTES),
                .MAX_READS(MAX_READS)) u_rd_req (
    .clk_i, .rst_ni, .init_i (init), .m_i, .n_i, .k_i,
    .lut_en_i (act_i == 2'd2),
    .a_i (a_q), .lda_i (lda_q), .b_i (b_q), .ldb_i (ldb_q),
    .bias_i (bias_q), .mult_i (mult_q), .shift_i (shift_q), .lut_i (lut_q),
    .rsp_beat_i (rsp_beat),
    .req_valid_o (rd_req_valid_o), .req_ready_i (rd_req_ready_i),
    .req_addr_o (rd_req_addr_o), .req_len_o (rd_req_len_o),
    .busy_o (req_busy), .outstanding_o (reads_out)
  );

  loom_rd_rsp #(.ROWS(ROWS), .COLS(COLS), .KT(KT), .PORT_BYTES(PORT_BYTES),
                .NBUF(NBUF), .NSLOT(NSLOT)) u_rd_rsp (
    .clk_i, .rst_ni, .init_i (init), .m_i, .n_i, .k_i,
    .lut_en_i (act_i == 2'd2),
    .rsp_valid_i (rd_rsp_valid_i), .rsp_ready_o (rd_rsp_ready_o),
    .spad_a_we_o (spad_a_we), .spad_b_we_o (spad_b_we), .spad_buf_o (spad_wbuf),
    .spad_lane_o (spad_lane), .spad_off_o (spad_off), .wr_len_o (wr_len),
    .prm_we_o (prm_we), .prm_slot_o (prm_slot), .prm_sel_o (prm_sel), .prm_off_o (prm_off),
    .lut_we_o (lut_we),
    .buf_full_o (buf_full), .buf_release_i (rel), .buf_release_idx_i (rel_idx),
    .slot_free_i (slot_free), .slot_free_idx_i (free_idx),
    .busy_o (rsp_busy), .stalled_o (rsp_stalled)
  );

  loom_spad #(.LANES(ROWS), .DEPTH(KT), .NBUF(NBUF), .PORT_BYTES(PORT_BYTES)) u_spad_a (
    .clk_i, .wr_en_i (spad_a_we), .wr_buf_i (spad_wbuf),
    .wr_lane_i (`LOOM_IDX_W(ROWS)'(spad_lane)), .wr_off_i (spad_off), .wr_len_i (wr_len),
    .wr_data_i (rd_rsp_data_i), .rd_buf_i (spad_rbuf), .rd_k_i (spad_k), .rd_data_o (a_col)
  );
  loom_spad #(.LANES(COLS), .DEPTH(KT), .NBUF(NBUF), .PORT_BYTES(PORT_BYTES)) u_spad_b (
    .clk_i, .wr_en_i (spad_b_we), .wr_buf_i (spad_wbuf),
    .wr_lane_i (`LOOM_IDX_W(COLS)'(spad_lane)), .wr_off_i (spad_off), .wr_len_i (wr_len),
    .wr_data_i (rd_rsp_data_i), .rd_buf_i (spad_rbuf), .rd_k_i (spad_k), .rd_data_o (b_row)
  );

  // ---- compute ----
  loom_feeder #(.ROWS(ROWS), .COLS(COLS), .KT(KT), .NBUF(NBUF), .NSLOT(NSLOT),
                .CREDITS(CREDITS)) u_feeder (
    .clk_i, .rst_ni, .init_i (init), .m_i, .n_i, .k_i,
    .buf_full_i (buf_full), .buf_release_o (rel), .buf_release_idx_o (rel_idx),
    .spad_buf_o (spad_rbuf), .spad_k_o (spad_k),
    .credit_return_i (credit_ret),
    .valid_o (f_valid), .last_o (f_last), .amask_o (amask), .bmask_o (bmask),
    .tile_o (f_tile), .tile_m0_o (t_m0), .tile_n0_o (t_n0), .tile_mrows_o (t_mrows),
    .tile_ncols_o (t_ncols), .tile_slot_o (t_slot),
    .busy_o (feed_busy), .stalled_o (feed_stalled)
  );

  always_comb begin
    for (int r = 0; r < ROWS; r++) a_feed[r*8 +: 8] = amask[r] ? a_col[r*8 +: 8] : 8'h00;
    for (int c = 0; c < COLS; c++) b_feed[c*8 +: 8] = bmask[c] ? b_row[c*8 +: 8] : 8'h00;
  end

  loom_array #(.ROWS(ROWS), .COLS(COLS)) u_array (
    .clk_i, .rst_ni, .valid_i (f_valid), .last_i (f_last), .a_i (a_feed), .b_i (b_feed),
    .rd_row_i (`LOOM_IDX_W(ROWS)'(row)), .row_o (row_acc)
  );

  loom_drain #(.ROWS(ROWS), .COLS(COLS), .NSLOT(NSLOT)) u_drain (
    .clk_i, .rst_ni, .tile_i (f_tile), .tile_meta_i ({t_m0, t_n0, t_mrows, t_ncols, t_slot}),
    .row_valid_o (row_v), .row_o (row),
    .row_meta_o (row_meta), .busy_o (drain_busy)
  );

  // ---- output side ----
  loom_requant #(.ROWS(ROWS), .COLS(COLS), .NSLOT(NSLOT), .PORT_BYTES(PORT_BYTES)) u_requant (
    .clk_i, .rst_ni, .act_i (act_q), .c_i (c_q), .ldc_i (ldc_q),
    .prm_we_i (prm_we), .prm_slot_i (prm_slot), .prm_sel_i (prm_sel), .prm_off_i (prm_off),
    .lut_we_i (lut_we), .wr_len_i (wr_len), .wr_data_i (rd_rsp_data_i),
    .row_valid_i (row_v), .row_i (row), .row_acc_i (row_acc), .row_meta_i (row_meta),
    .slot_free_o (slot_free), .slot_free_idx_o (free_idx),
    .out_valid_o (o_valid), .out_addr_o (o_addr), .out_len_o (o_len), .out_data_o (o_data),
    .out_tile_end_o (o_end), .busy_o (rq_busy)
  );

  loom_writer #(.COLS(COLS), .PORT_BYTES(PORT_BYTES), .DEPTH(CREDITS * ROWS)) u_writer (
    .clk_i, .rst_ni, .init_i (init),
    .in_valid_i (o_valid), .in_addr_i (o_addr), .in_len_i (o_len), .in_data_i (o_data),
    .in_tile_end_i (o_end),
    .wr_valid_o (wr_req_valid_o), .wr_ready_i (wr_req_ready_i), .wr_addr_o (wr_req_addr_o),
    .wr_data_o (wr_req_data_o), .wr_strb_o (wr_req_strb_o), .wr_ack_i (wr_ack_i),
    .credit_return_o (credit_ret), .outstanding_o (writes_out),
    .busy_o (wr_busy), .stalled_o (wr_stalled)
  );
endmodule
