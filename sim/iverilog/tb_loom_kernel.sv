// tb_loom_kernel - a plain-Verilog test bench for rtl/loom_kernel.sv under
// Icarus Verilog, to compare simulation speed with the Verilator harness on
// the same RTL and the same work. It plays the host (AXI4-Lite register
// writes, start, wait for the interrupt) and the memory (64-byte beats,
// one per cycle, fixed read and write latency), fills A, Bt, bias, mult and
// shift from $urandom, and with +check compares C with the int8 contract
// computed here. Plusargs: +M= +N= +K= +seed= +lat= +check.
// Run: sim/iverilog/run.sh (see there).
`timescale 1ns / 1ps
`include "loom_config.svh"

module tb_loom_kernel;
  parameter int ROWS = 16;
  parameter int COLS = 16;
  localparam int PB = `LOOM_PORT_BYTES;
  localparam int MEM = 1 << 22;

  logic clk = 1'b0, rst_n = 1'b0;
  always #1 clk = ~clk;

  logic        s_awvalid = 0, s_wvalid = 0, s_arvalid = 0;
  logic [7:0]  s_awaddr = 0, s_araddr = 0;
  logic [31:0] s_wdata = 0;
  logic        s_awready, s_wready, s_bvalid, s_arready, s_rvalid, irq;
  logic [31:0] s_rdata;
  logic [1:0]  s_bresp, s_rresp;
  logic        m_arvalid, m_rvalid, m_rready, m_awvalid, m_wvalid, m_bvalid, m_bready;
  logic [63:0] m_araddr, m_awaddr;
  logic [7:0]  m_arlen;
  logic [PB*8-1:0] m_rdata, m_wdata;
  logic [PB-1:0]   m_wstrb;

  loom_kernel #(.ROWS(ROWS), .COLS(COLS)) dut (
    .ap_clk (clk), .ap_rst_n (rst_n), .interrupt (irq),
    .s_axi_control_awvalid (s_awvalid), .s_axi_control_awready (s_awready),
    .s_axi_control_awaddr (s_awaddr), .s_axi_control_wvalid (s_wvalid),
    .s_axi_control_wready (s_wready), .s_axi_control_wdata (s_wdata),
    .s_axi_control_wstrb (4'hf), .s_axi_control_bvalid (s_bvalid),
    .s_axi_control_bready (1'b1), .s_axi_control_bresp (s_bresp),
    .s_axi_control_arvalid (s_arvalid), .s_axi_control_arready (s_arready),
    .s_axi_control_araddr (s_araddr), .s_axi_control_rvalid (s_rvalid),
    .s_axi_control_rready (1'b1), .s_axi_control_rdata (s_rdata), .s_axi_control_rresp (s_rresp),
    .m_axi_gmem_arvalid (m_arvalid), .m_axi_gmem_arready (1'b1), .m_axi_gmem_araddr (m_araddr),
    .m_axi_gmem_arlen (m_arlen), .m_axi_gmem_rvalid (m_rvalid), .m_axi_gmem_rready (m_rready),
    .m_axi_gmem_rdata (m_rdata), .m_axi_gmem_awvalid (m_awvalid), .m_axi_gmem_awready (1'b1),
    .m_axi_gmem_awaddr (m_awaddr), .m_axi_gmem_wvalid (m_wvalid), .m_axi_gmem_wready (1'b1),
    .m_axi_gmem_wdata (m_wdata), .m_axi_gmem_wstrb (m_wstrb), .m_axi_gmem_bvalid (m_bvalid),
    .m_axi_gmem_bready (m_bready)
  );

  // ---- memory: in-order queues with a fixed latency ----
  logic [7:0]  mem [MEM];
  logic [63:0] cycle = 0;
  int          lat = 100;
  logic [63:0] rq_addr [1024];
  int          rq_len [1024];
  logic [63:0] rq_due [1024];
  logic [63:0] wq_due [1024];
  int          rq_head = 0, rq_tail = 0, wq_head = 0, wq_tail = 0;

  assign m_rvalid = rst_n && rq_head != rq_tail && rq_due[rq_head] <= cycle;
  assign m_bvalid = rst_n && wq_head != wq_tail && wq_due[wq_head] <= cycle;
  // the head beat's data, loaded mid-cycle (a process sensitive to all of
  // mem would wake on every byte the bench writes)
  always @(negedge clk)
    for (int i = 0; i < PB; i++)
      m_rdata[i*8 +: 8] = (i < rq_len[rq_head]) ? mem[rq_addr[rq_head] + i] : 8'h00;

  always @(posedge clk) begin
    cycle <= cycle + 1;
    if (rst_n && m_arvalid) begin
      rq_addr[rq_tail] <= m_araddr;
      rq_len[rq_tail]  <= int'(m_arlen) + 1;
      rq_due[rq_tail]  <= cycle + lat;
      rq_tail <= (rq_tail + 1) % 1024;
    end
    if (m_rvalid && m_rready) rq_head <= (rq_head + 1) % 1024;
    if (rst_n && m_awvalid) begin
      for (int i = 0; i < PB; i++) if (m_wstrb[i]) mem[m_awaddr + i] <= m_wdata[i*8 +: 8];
      wq_due[wq_tail] <= cycle + lat;
      wq_tail <= (wq_tail + 1) % 1024;
    end
    if (m_bvalid && m_bready) wq_head <= (wq_head + 1) % 1024;
  end

  // ---- host ----
  task automatic reg_write(input logic [7:0] a, input logic [31:0] d);
    @(negedge clk);
    s_awaddr = a; s_wdata = d; s_awvalid = 1; s_wvalid = 1;
    do @(posedge clk); while (!s_awready);
    @(negedge clk);
    s_awvalid = 0; s_wvalid = 0;
    while (!s_bvalid) @(negedge clk);
  endtask

  task automatic reg_read(input logic [7:0] a, output logic [31:0] d);
    @(negedge clk);
    s_araddr = a; s_arvalid = 1;
    do @(posedge clk); while (!s_arready);
    @(negedge clk);
    s_arvalid = 0;
    while (!s_rvalid) @(negedge clk);
    d = s_rdata;
  endtask

  task automatic put32(input longint addr, input logic [31:0] v);
    for (int i = 0; i < 4; i++) mem[addr + i] = v[i*8 +: 8];
  endtask

  function automatic logic [31:0] get32(input longint addr);
    return {mem[addr + 3], mem[addr + 2], mem[addr + 1], mem[addr]};
  endfunction

  int M = 64, N = 64, K = 64, seed = 1, bad = 0;
  longint a_at, b_at, bias_at, mult_at, shift_at, c_at;
  logic [31:0] lo, hi, ctrl;

  initial begin
    if ($value$plusargs("M=%d", M)) ;
    if ($value$plusargs("N=%d", N)) ;
    if ($value$plusargs("K=%d", K)) ;
    if ($value$plusargs("seed=%d", seed)) ;
    if ($value$plusargs("lat=%d", lat)) ;
    bad = $urandom(seed);  // seeds the generator
    bad = 0;
    a_at = 64'h1000;
    b_at = a_at + M * K + 64;
    bias_at = b_at + N * K + 64;
    mult_at = bias_at + 4 * N + 64;
    shift_at = mult_at + 4 * N + 64;
    c_at = shift_at + 4 * N + 64;
    if (c_at + M * N > MEM) $fatal(1, "tb: the GEMM does not fit %0d bytes of memory", MEM);
    for (longint i = 0; i < M * K; i++) mem[a_at + i] = 8'($urandom);
    for (longint i = 0; i < N * K; i++) mem[b_at + i] = 8'($urandom);
    for (int n = 0; n < N; n++) begin
      put32(bias_at + 4 * n, 32'($signed($urandom % 20001) - 10000));
      put32(mult_at + 4 * n, 32'h40000000 | ($urandom & 32'h3fffffff));
      put32(shift_at + 4 * n, 32'(8 + $urandom % 8));
    end
    repeat (8) @(posedge clk);
    rst_n = 1;
    reg_write(`LOOM_REG_M, M);
    reg_write(`LOOM_REG_N, N);
    reg_write(`LOOM_REG_K, K);
    reg_write(`LOOM_REG_A, a_at[31:0]);
    reg_write(`LOOM_REG_LDA, K);
    reg_write(`LOOM_REG_B, b_at[31:0]);
    reg_write(`LOOM_REG_LDB, K);
    reg_write(`LOOM_REG_BIAS, bias_at[31:0]);
    reg_write(`LOOM_REG_MULT, mult_at[31:0]);
    reg_write(`LOOM_REG_SHIFT, shift_at[31:0]);
    reg_write(`LOOM_REG_C, c_at[31:0]);
    reg_write(`LOOM_REG_LDC, N);
    reg_write(`LOOM_REG_ACT, 0);
    reg_write(`LOOM_REG_GIE, 1);
    reg_write(`LOOM_REG_IER, 1);
    reg_write(`LOOM_REG_CONTROL, 1);
    $display("tb: started at cycle %0d", cycle);
    while (!irq) begin
      @(posedge clk);
      if (cycle % 1000 == 0 && $test$plusargs("progress")) $display("tb: cycle %0d", cycle);
      if (cycle > 100000000 || (cycle > 3000 && $test$plusargs("progress"))) begin
        reg_read(`LOOM_REG_STATE, lo);
        $fatal(1, "tb: watchdog at cycle %0d: STATE 0x%08x, reads queued %0d", cycle, lo, rq_tail - rq_head);
      end
    end
    reg_read(`LOOM_REG_CONTROL, ctrl);
    reg_read(`LOOM_REG_CYCLES, lo);
    reg_read(`LOOM_REG_CYCLES + 4, hi);
    if ($test$plusargs("check")) begin
      for (int m = 0; m < M; m++)
        for (int n = 0; n < N; n++) begin
          longint acc, v;
          int sh;
          logic [7:0] y;
          acc = $signed(get32(bias_at + 4 * n));
          for (int k = 0; k < K; k++)
            acc += $signed(mem[a_at + m * K + k]) * $signed(mem[b_at + n * K + k]);
          sh = get32(shift_at + 4 * n);
          v = (acc * $signed({32'b0, get32(mult_at + 4 * n)}) + (64'sd1 <<< (30 + sh))) >>> (31 + sh);
          y = v < -128 ? 8'h80 : v > 127 ? 8'h7f : v[7:0];
          if (mem[c_at + m * N + n] !== y) begin
            if (bad < 5) $display("tb: C[%0d][%0d] = %0d, expected %0d", m, n,
                                  $signed(mem[c_at + m * N + n]), $signed(y));
            bad++;
          end
        end
      $display("tb: check %s (%0d mismatches)", bad ? "FAILED" : "passed", bad);
    end
    $display("tb: %0dx%0d array M=%0d N=%0d K=%0d: %0d cycles (kernel), %0d cycles simulated",
             ROWS, COLS, M, N, K, {hi, lo}, cycle);
    $finish;
  end
endmodule
