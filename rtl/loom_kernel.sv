// loom_kernel - the Vitis RTL-kernel shell around loom_core: ap_clk,
// ap_rst_n, an AXI4-Lite control slave (s_axi_control) with the ap_ctrl_hs
// register map, and a memory master (m_axi_gmem). The register offsets
// come from rtl/loom-array.json (loom_config.svh), the same numbers the
// host's control layer uses for the card and the simulator:
//
//   0x00 CONTROL  bit0 ap_start (write 1 to start; stays set until done),
//                 bit1 ap_done (clears when read), bit2 ap_idle,
//                 bit3 ap_ready (clears when read), bit7 auto_restart (kept, unused)
//   0x04 GIE, 0x08 IER, 0x0c ISR (bit0 done; write 1 to toggle)
//   0x10.. the kernel ABI's arguments in order: M, N, K, A, lda, B, ldb,
//          bias, mult, shift, C, ldc, act, lut (pointers: low word, then
//          high word; B is transposed, Bt[N][K])
//   CYCLES (64-bit, read-only): cycles of the last run, start to done
//   STATE  (read-only): what each stage is doing, for hang reports
//   CONFIG (read-only): [7:0] ROWS, [15:8] COLS, [19:16] log2 PORT_BYTES,
//          [23:20] log2 KT, [31:24] version (1)
//
// The memory master is AXI4 simplified to what loom_core needs, and says
// so: single-beat bursts of up to PORT_BYTES bytes from any byte address
// (arlen carries bytes - 1; a card's shell would add a realigning burst
// adapter); write data travels with its address (a write transfers when
// awvalid, awready and wready are all high); responses come in order.
`include "loom_config.svh"
`include "loom_defs.svh"

module loom_kernel #(
  parameter int ROWS       = `LOOM_ROWS,
  parameter int COLS       = `LOOM_COLS,
  parameter int KT         = `LOOM_K_TILE,
  parameter int PORT_BYTES = `LOOM_PORT_BYTES,
  parameter int MAX_READS  = `LOOM_MAX_READS,
  parameter int CREDITS    = `LOOM_TILE_CREDITS,
  localparam int LEN_W = `LOOM_CNT_W(PORT_BYTES)
) (
  input  logic                    ap_clk,
  input  logic                    ap_rst_n,
  output logic                    interrupt,
  // AXI4-Lite control slave
  input  logic                    s_axi_control_awvalid,
  output logic                    s_axi_control_awready,
  input  logic [7:0]              s_axi_control_awaddr,
  input  logic                    s_axi_control_wvalid,
  output logic                    s_axi_control_wready,
  input  logic [31:0]             s_axi_control_wdata,
  input  logic [3:0]              s_axi_control_wstrb,
  output logic                    s_axi_control_bvalid,
  input  logic                    s_axi_control_bready,
  output logic [1:0]              s_axi_control_bresp,
  input  logic                    s_axi_control_arvalid,
  output logic                    s_axi_control_arready,
  input  logic [7:0]              s_axi_control_araddr,
  output logic                    s_axi_control_rvalid,
  input  logic                    s_axi_control_rready,
  output logic [31:0]             s_axi_control_rdata,
  output logic [1:0]              s_axi_control_rresp,
  // memory master
  output logic                    m_axi_gmem_arvalid,
  input  logic                    m_axi_gmem_arready,
  output logic [63:0]             m_axi_gmem_araddr,
  output logic [7:0]              m_axi_gmem_arlen,   // bytes - 1
  input  logic                    m_axi_gmem_rvalid,
  output logic                    m_axi_gmem_rready,
  input  logic [PORT_BYTES*8-1:0] m_axi_gmem_rdata,
  output logic                    m_axi_gmem_awvalid,
  input  logic                    m_axi_gmem_awready,
  output logic [63:0]             m_axi_gmem_awaddr,
  output logic                    m_axi_gmem_wvalid,
  input  logic                    m_axi_gmem_wready,
  output logic [PORT_BYTES*8-1:0] m_axi_gmem_wdata,
  output logic [PORT_BYTES-1:0]   m_axi_gmem_wstrb,
  input  logic                    m_axi_gmem_bvalid,
  output logic                    m_axi_gmem_bready
);
  // ---- registers ----
  logic        ap_start_q, ap_done_q, ap_ready_q, auto_restart_q, gie_q;
  logic [1:0]  ier_q, isr_q;
  logic [31:0] m_q, n_q, k_q, lda_q, ldb_q, ldc_q;
  logic [1:0]  act_q;
  logic [63:0] a_q, b_q, bias_q, mult_q, shift_q, c_q, lut_q;
  logic        idle, done;
  logic [63:0] cycles;
  logic [31:0] state;
  logic [LEN_W-1:0] rd_len;

  // ---- AXI4-Lite: a write takes address and data together ----
  logic wr_fire, rd_fire;
  assign wr_fire = s_axi_control_awvalid && s_axi_control_wvalid && !s_axi_control_bvalid;
  assign s_axi_control_awready = wr_fire;
  assign s_axi_control_wready  = wr_fire;
  assign s_axi_control_bresp   = 2'b00;
  assign rd_fire = s_axi_control_arvalid && !s_axi_control_rvalid;
  assign s_axi_control_arready = rd_fire;
  assign s_axi_control_rresp   = 2'b00;

  // byte-enable merge of a register write
  function automatic logic [31:0] merge(logic [31:0] old, logic [31:0] data, logic [3:0] strb);
    merge = old;
    for (int i = 0; i < 4; i++) if (strb[i]) merge[i*8 +: 8] = data[i*8 +: 8];
  endfunction

  localparam logic [31:0] CONFIG = {8'd1, 4'($clog2(KT)), 4'($clog2(PORT_BYTES)), 8'(COLS), 8'(ROWS)};

  function automatic logic [31:0] reg_read(logic [7:0] addr);
    unique case (addr)
      `LOOM_REG_CONTROL: reg_read = {24'b0, auto_restart_q, 3'b0, ap_ready_q, idle, ap_done_q, ap_start_q};
      `LOOM_REG_GIE:     reg_read = {31'b0, gie_q};
      `LOOM_REG_IER:     reg_read = {30'b0, ier_q};
      `LOOM_REG_ISR:     reg_read = {30'b0, isr_q};
      `LOOM_REG_M:       reg_read = m_q;
      `LOOM_REG_N:       reg_read = n_q;
      `LOOM_REG_K:       reg_read = k_q;
      `LOOM_REG_A:       reg_read = a_q[31:0];
      `LOOM_REG_A + 4:   reg_read = a_q[63:32];
      `LOOM_REG_LDA:     reg_read = lda_q;
      `LOOM_REG_B:       reg_read = b_q[31:0];
      `LOOM_REG_B + 4:   reg_read = b_q[63:32];
      `LOOM_REG_LDB:     reg_read = ldb_q;
      `LOOM_REG_BIAS:    reg_read = bias_q[31:0];
      `LOOM_REG_BIAS + 4: reg_read = bias_q[63:32];
      `LOOM_REG_MULT:    reg_read = mult_q[31:0];
      `LOOM_REG_MULT + 4: reg_read = mult_q[63:32];
      `LOOM_REG_SHIFT:   reg_read = shift_q[31:0];
      `LOOM_REG_SHIFT + 4: reg_read = shift_q[63:32];
      `LOOM_REG_C:       reg_read = c_q[31:0];
      `LOOM_REG_C + 4:   reg_read = c_q[63:32];
      `LOOM_REG_LDC:     reg_read = ldc_q;
      `LOOM_REG_ACT:     reg_read = {30'b0, act_q};
      `LOOM_REG_LUT:     reg_read = lut_q[31:0];
      `LOOM_REG_LUT + 4: reg_read = lut_q[63:32];
      `LOOM_REG_CYCLES:  reg_read = cycles[31:0];
      `LOOM_REG_CYCLES + 4: reg_read = cycles[63:32];
      `LOOM_REG_STATE:   reg_read = state;
      `LOOM_REG_CONFIG:  reg_read = CONFIG;
      default:           reg_read = 32'b0;
    endcase
  endfunction

  always_ff @(posedge ap_clk) begin
    if (!ap_rst_n) begin
      s_axi_control_bvalid <= 1'b0;
      s_axi_control_rvalid <= 1'b0;
      s_axi_control_rdata  <= '0;
      ap_start_q <= 1'b0; ap_done_q <= 1'b0; ap_ready_q <= 1'b0; auto_restart_q <= 1'b0;
      gie_q <= 1'b0; ier_q <= '0; isr_q <= '0;
      m_q <= '0; n_q <= '0; k_q <= '0; lda_q <= '0; ldb_q <= '0; ldc_q <= '0; act_q <= '0;
      a_q <= '0; b_q <= '0; bias_q <= '0; mult_q <= '0; shift_q <= '0; c_q <= '0; lut_q <= '0;
    end else begin
      if (s_axi_control_bvalid && s_axi_control_bready) s_axi_control_bvalid <= 1'b0;
      if (s_axi_control_rvalid && s_axi_control_rready) s_axi_control_rvalid <= 1'b0;

      if (done) begin
        ap_done_q  <= 1'b1;
        ap_ready_q <= 1'b1;
        ap_start_q <= auto_restart_q;
        if (ier_q[0]) isr_q[0] <= 1'b1;
      end

      if (rd_fire) begin
        s_axi_control_rvalid <= 1'b1;
        s_axi_control_rdata  <= reg_read(s_axi_control_araddr);
        if (s_axi_control_araddr == `LOOM_REG_CONTROL && !done) begin
          ap_done_q  <= 1'b0;
          ap_ready_q <= 1'b0;
        end
      end

      if (wr_fire) begin
        s_axi_control_bvalid <= 1'b1;
        unique case (s_axi_control_awaddr)
          `LOOM_REG_CONTROL: begin
            if (s_axi_control_wstrb[0] && s_axi_control_wdata[0]) ap_start_q <= 1'b1;
            if (s_axi_control_wstrb[0]) auto_restart_q <= s_axi_control_wdata[7];
          end
          `LOOM_REG_GIE:     gie_q <= s_axi_control_wdata[0];
          `LOOM_REG_IER:     ier_q <= s_axi_control_wdata[1:0];
          `LOOM_REG_ISR:     isr_q <= isr_q ^ s_axi_control_wdata[1:0];
          `LOOM_REG_M:       m_q <= merge(m_q, s_axi_control_wdata, s_axi_control_wstrb);
          `LOOM_REG_N:       n_q <= merge(n_q, s_axi_control_wdata, s_axi_control_wstrb);
          `LOOM_REG_K:       k_q <= merge(k_q, s_axi_control_wdata, s_axi_control_wstrb);
          `LOOM_REG_A:       a_q[31:0] <= merge(a_q[31:0], s_axi_control_wdata, s_axi_control_wstrb);
          `LOOM_REG_A + 4:   a_q[63:32] <= merge(a_q[63:32], s_axi_control_wdata, s_axi_control_wstrb);
          `LOOM_REG_LDA:     lda_q <= merge(lda_q, s_axi_control_wdata, s_axi_control_wstrb);
          `LOOM_REG_B:       b_q[31:0] <= merge(b_q[31:0], s_axi_control_wdata, s_axi_control_wstrb);
          `LOOM_REG_B + 4:   b_q[63:32] <= merge(b_q[63:32], s_axi_control_wdata, s_axi_control_wstrb);
          `LOOM_REG_LDB:     ldb_q <= merge(ldb_q, s_axi_control_wdata, s_axi_control_wstrb);
          `LOOM_REG_BIAS:    bias_q[31:0] <= merge(bias_q[31:0], s_axi_control_wdata, s_axi_control_wstrb);
          `LOOM_REG_BIAS + 4: bias_q[63:32] <= merge(bias_q[63:32], s_axi_control_wdata, s_axi_control_wstrb);
          `LOOM_REG_MULT:    mult_q[31:0] <= merge(mult_q[31:0], s_axi_control_wdata, s_axi_control_wstrb);
          `LOOM_REG_MULT + 4: mult_q[63:32] <= merge(mult_q[63:32], s_axi_control_wdata, s_axi_control_wstrb);
          `LOOM_REG_SHIFT:   shift_q[31:0] <= merge(shift_q[31:0], s_axi_control_wdata, s_axi_control_wstrb);
          `LOOM_REG_SHIFT + 4: shift_q[63:32] <= merge(shift_q[63:32], s_axi_control_wdata, s_axi_control_wstrb);
          `LOOM_REG_C:       c_q[31:0] <= merge(c_q[31:0], s_axi_control_wdata, s_axi_control_wstrb);
          `LOOM_REG_C + 4:   c_q[63:32] <= merge(c_q[63:32], s_axi_control_wdata, s_axi_control_wstrb);
          `LOOM_REG_LDC:     ldc_q <= merge(ldc_q, s_axi_control_wdata, s_axi_control_wstrb);
          `LOOM_REG_ACT:     act_q <= s_axi_control_wdata[1:0];
          `LOOM_REG_LUT:     lut_q[31:0] <= merge(lut_q[31:0], s_axi_control_wdata, s_axi_control_wstrb);
          `LOOM_REG_LUT + 4: lut_q[63:32] <= merge(lut_q[63:32], s_axi_control_wdata, s_axi_control_wstrb);
          default: ;  // read-only or unmapped: ignored
        endcase
      end
    end
  end

  assign interrupt = gie_q && (isr_q[0] || isr_q[1]);

  loom_core #(.ROWS(ROWS), .COLS(COLS), .KT(KT), .PORT_BYTES(PORT_BYTES),
              .MAX_READS(MAX_READS), .CREDITS(CREDITS)) u_core (
    .clk_i (ap_clk), .rst_ni (ap_rst_n),
    .start_i (ap_start_q), .idle_o (idle), .done_o (done),
    .m_i (m_q), .n_i (n_q), .k_i (k_q), .a_i (a_q), .lda_i (lda_q), .b_i (b_q), .ldb_i (ldb_q),
    .bias_i (bias_q), .mult_i (mult_q), .shift_i (shift_q), .c_i (c_q), .ldc_i (ldc_q),
    .act_i (act_q), .lut_i (lut_q), .cycles_o (cycles), .state_o (state),
    .rd_req_valid_o (m_axi_gmem_arvalid), .rd_req_ready_i (m_axi_gmem_arready),
    .rd_req_addr_o (m_axi_gmem_araddr), .rd_req_len_o (rd_len),
    .rd_rsp_valid_i (m_axi_gmem_rvalid), .rd_rsp_ready_o (m_axi_gmem_rready),
    .rd_rsp_data_i (m_axi_gmem_rdata),
    .wr_req_valid_o (m_axi_gmem_awvalid), .wr_req_ready_i (m_axi_gmem_awready && m_axi_gmem_wready),
    .wr_req_addr_o (m_axi_gmem_awaddr), .wr_req_data_o (m_axi_gmem_wdata),
    .wr_req_strb_o (m_axi_gmem_wstrb), .wr_ack_i (m_axi_gmem_bvalid)
  );
  assign m_axi_gmem_arlen   = 8'(rd_len - 1'b1);
  assign m_axi_gmem_wvalid  = m_axi_gmem_awvalid;
  assign m_axi_gmem_bready  = 1'b1;
endmodule
