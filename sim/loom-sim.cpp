// loom-sim.cpp - the Verilator harness: clocks a Verilated loom_kernel,
// plays the device memory on its m_axi_gmem port and the host on its
// s_axi_control port. See loom-sim.h.
#include "loom-sim.h"

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <verilated.h>
#include <verilated_fst_c.h>

#include "loom-array-config.h"
#include "loom-sim-models.h"  // generated: the model headers and LOOM_SIM_MODELS(X)

// ---- Verilator runtime hooks (VL_USER_STOP, VL_USER_FINISH, VL_USER_FATAL) ----
//
// Messages from the RTL ($display, $fatal's text) are kept per thread and
// become the error text; $stop/$fatal/$finish end the run with an error.

static thread_local std::string g_vl_text;

extern "C" int loom_sim__printf(const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (g_vl_text.size() < 4096)
        g_vl_text += buf;
    return n;
}

static void vl_note(const char *what, const char *file, int line)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s at %s:%d", what, file ? file : "?", line);
    if (!g_vl_text.empty() && g_vl_text.back() != '\n')
        g_vl_text += ' ';
    g_vl_text += buf;
    Verilated::threadContextp()->gotError(true);
    Verilated::threadContextp()->gotFinish(true);
}

void vl_stop(const char *file, int line, const char *) { vl_note("$stop", file, line); }
void vl_finish(const char *file, int line, const char *) { vl_note("$finish", file, line); }
void vl_fatal(const char *file, int line, const char *, const char *msg)
{
    vl_note(msg && msg[0] ? msg : "Verilator fatal error", file, line);
}

// ---- wide-signal helpers (ports of 1..64 bits are integers, wider are VlWide) ----

template <std::size_t W> static void put_bytes(VlWide<W> &sig, const uint8_t *src, unsigned n)
{
    for (std::size_t w = 0; w < W; w++) {
        uint32_t v = 0;
        for (unsigned b = 0; b < 4; b++) {
            unsigned i = (unsigned)w * 4 + b;
            v |= (uint32_t)(i < n ? src[i] : 0) << (8 * b);
        }
        sig[w] = v;
    }
}
template <typename T> static void put_bytes(T &sig, const uint8_t *src, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n && i < sizeof(T); i++)
        v |= (uint64_t)src[i] << (8 * i);
    sig = (T)v;
}
template <std::size_t W> static uint8_t get_byte(const VlWide<W> &sig, unsigned i)
{
    return (uint8_t)(sig[i / 4] >> (8 * (i % 4)));
}
template <typename T> static uint8_t get_byte(const T &sig, unsigned i)
{
    return (uint8_t)((uint64_t)sig >> (8 * i));
}

// ---- the harness ----

struct loom_sim {
    virtual ~loom_sim() = default;
    virtual int reg_write(uint32_t off, uint32_t v) = 0;
    virtual int reg_read(uint32_t off, uint32_t *v) = 0;
    virtual int run(uint64_t watchdog) = 0;
    virtual int wave_close() = 0;
    virtual int reset() = 0;

    loom_sim_config cfg{};
    std::string err;
    struct Mem {  // calloc'd: untouched pages of a large memory cost nothing
        uint8_t *p = nullptr;
        size_t n = 0;
        ~Mem() { free(p); }
        size_t size() const { return n; }
        uint8_t *data() { return p; }
        uint8_t &operator[](size_t i) { return p[i]; }
    } mem;
    uint64_t cycles = 0;
    uint64_t bytes_read = 0, bytes_written = 0;  // memory traffic since open

    int fail(const char *fmt, ...) __attribute__((format(printf, 2, 3)))
    {
        char buf[1024];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(buf, sizeof buf, fmt, ap);
        va_end(ap);
        err = buf;
        return -1;
    }
};

namespace {

// what the STATE register's bits say, for watchdog reports
std::string describe_state(uint32_t s)
{
    static const char *const bits[] = {
        "controller running", nullptr, "read requests left to issue",
        "read responses left to take", "a read response waits for a scratchpad buffer or parameter slot",
        "blocks left to feed", "feeder waiting (for loaded data or an output credit)",
        "array draining", "requantiser busy", "output rows or write acknowledgements pending",
        "a result row waits for the write port"};
    std::string out;
    for (unsigned i = 0; i < sizeof bits / sizeof bits[0]; i++)
        if (bits[i] && (s >> i & 1u)) {
            if (!out.empty())
                out += ", ";
            out += bits[i];
        }
    char buf[128];
    snprintf(buf, sizeof buf, "%s%u read beats outstanding, %u writes unacknowledged",
             out.empty() ? "" : "; ", s >> 16 & 0xffu, s >> 24 & 0xffu);
    return (out.empty() ? std::string("controller idle") : out) + buf;
}

template <class V> struct Harness final : loom_sim {
    std::unique_ptr<VerilatedContext> ctx;
    std::unique_ptr<V> top;
    std::unique_ptr<VerilatedFstC> fst;
    uint64_t now = 0;  // cycle number
    // memory model state
    struct Read {
        uint64_t addr;
        unsigned len;
        uint64_t due;
    };
    std::deque<Read> reads;
    std::deque<uint64_t> acks;  // due cycles of write acknowledgements
    double rd_tokens = 0, wr_tokens = 0;
    bool mem_fault = false;
    bool running = false;  // between ap_start and done (test knobs act only then)
    std::string mem_fault_text;
    bool wave_bad = false;  // the waveform could not be written whole

    int open(const loom_sim_config &c)
    {
        cfg = c;
        ctx = std::make_unique<VerilatedContext>();
        ctx->fatalOnError(false);
        ctx->randReset(2);  // --x-initial unique: random, from the seed
        ctx->randSeed((int)(cfg.seed & 0x7fffffff));
        if (cfg.wave_path)
            ctx->traceEverOn(true);
        g_vl_text.clear();
        top = std::make_unique<V>(ctx.get(), "loom");
        if (cfg.wave_path) {
            fst = std::make_unique<VerilatedFstC>();
            top->trace(fst.get(), 99);
            fst->open(cfg.wave_path);
            if (!fst->isOpen())
                return fail("vsim: cannot write waveform %s", cfg.wave_path);
        }
        mem.p = (uint8_t *)calloc(1, cfg.mem_bytes);
        mem.n = mem.p ? cfg.mem_bytes : 0;
        if (!mem.p) {
            return fail("vsim: cannot allocate %llu bytes of device memory",
                        (unsigned long long)cfg.mem_bytes);
        }
        return reset();
    }

    // Idle host and memory, reset held for a few cycles. Between runs
    // this is what a host does to a card it reuses: every register with
    // a reset returns to it; memories (and the registers the RTL leaves
    // without a reset) keep what they held.
    int reset() override
    {
        reads.clear();
        acks.clear();
        rd_tokens = wr_tokens = 0;
        mem_fault = false;
        running = false;
        top->s_axi_control_awvalid = 0;
        top->s_axi_control_wvalid = 0;
        top->s_axi_control_bready = 1;
        top->s_axi_control_arvalid = 0;
        top->s_axi_control_rready = 1;
        top->ap_rst_n = 0;
        for (int i = 0; i < 8; i++)
            if (tick() != 0)
                return -1;
        top->ap_rst_n = 1;
        return tick();
    }

    ~Harness() override
    {
        if (fst)
            fst->close();
        if (top)
            top->final();
    }

    // Verilator's FST writer reports no write error: a full file system
    // leaves a truncated file (and where its buffers in /tmp are mapped
    // from files, SIGBUS). So while it writes, the room it has is looked
    // at every 1024 cycles: free space in the waveform's folder and in
    // /tmp, and the file-size limit; short of WAVE_RESERVE the run stops
    // with an error and the waveform is not kept.
    static constexpr uint64_t WAVE_RESERVE = 8u << 20;

    int wave_short(const char *what, uint64_t left)
    {
        wave_bad = true;
        return fail("vsim: waveform %s: %s has %llu KiB left, under the %llu KiB the FST writer needs to go on: "
                    "stopped at cycle %llu",
                    cfg.wave_path, what, (unsigned long long)(left >> 10),
                    (unsigned long long)(WAVE_RESERVE >> 10), (unsigned long long)now);
    }

    std::string wave_folder() const
    {
        std::string folder = cfg.wave_path;
        size_t slash = folder.rfind('/');
        return slash == std::string::npos ? "." : slash == 0 ? "/" : folder.substr(0, slash);
    }

    int wave_guard()
    {
        std::string folder = wave_folder();
        struct statvfs vf;
        struct rlimit rl;
        struct stat sb;
        if (statvfs(folder.c_str(), &vf) == 0 && (uint64_t)vf.f_bavail * vf.f_frsize < WAVE_RESERVE)
            return wave_short("its file system", (uint64_t)vf.f_bavail * vf.f_frsize);
        if (statvfs("/tmp", &vf) == 0 && (uint64_t)vf.f_bavail * vf.f_frsize < WAVE_RESERVE)
            return wave_short("/tmp (where the writer keeps its buffers)", (uint64_t)vf.f_bavail * vf.f_frsize);
        if (getrlimit(RLIMIT_FSIZE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && stat(cfg.wave_path, &sb) == 0 &&
            (uint64_t)sb.st_size + WAVE_RESERVE > (uint64_t)rl.rlim_cur)
            return wave_short("the file-size limit (ulimit -f)",
                              (uint64_t)rl.rlim_cur > (uint64_t)sb.st_size ? rl.rlim_cur - (uint64_t)sb.st_size : 0);
        return 0;
    }

    // Flush and close the waveform; -1 when it cannot be whole (the
    // guard stopped the run, or the folder filled up as it closed).
    int wave_close() override
    {
        if (!fst)
            return 0;
        if (!wave_bad && wave_guard() != 0)
            return -1;
        fst->close();
        fst.reset();
        if (wave_bad)
            return -1;
        struct statvfs vf;
        if (statvfs(wave_folder().c_str(), &vf) == 0 && vf.f_bavail == 0) {
            wave_bad = true;
            return fail("vsim: waveform %s: its file system filled up while it was written", cfg.wave_path);
        }
        return 0;
    }

    // One clock cycle: drive the memory's outputs, settle, sample the
    // kernel's outputs, clock, then update the memory model.
    int tick()
    {
        auto &t = *top;
        // $stop/$fatal flag the thread's context: make it this simulator's
        Verilated::threadContextp(ctx.get());
        // read data port
        bool rvalid = false;
        if (!reads.empty() && reads.front().due <= now && rd_tokens > 0 && !cfg.withhold_reads) {
            const Read &r = reads.front();
            uint8_t beat[256] = {0};
            if (r.addr + r.len <= mem.size())
                memcpy(beat, mem.data() + r.addr, r.len);
            put_bytes(t.m_axi_gmem_rdata, beat, r.len);
            rvalid = true;
        }
        bool spurious = false;
        if (!rvalid && cfg.spurious_read && running && reads.empty()) {
            put_bytes(t.m_axi_gmem_rdata, (const uint8_t *)"unasked", 8);
            rvalid = spurious = true;
        }
        t.m_axi_gmem_rvalid = rvalid;
        t.m_axi_gmem_arready = 1;
        bool wready = wr_tokens > 0;
        t.m_axi_gmem_awready = wready;
        t.m_axi_gmem_wready = wready;
        t.m_axi_gmem_bvalid = !acks.empty() && acks.front() <= now;

        t.ap_clk = 0;
        t.eval();
        if (fst)
            fst->dump(2 * now);

        // nothing the kernel drives counts while it is held in reset (its
        // outputs are random then: --x-initial unique)
        bool live = t.ap_rst_n;
        bool ar = live && t.m_axi_gmem_arvalid && t.m_axi_gmem_arready;
        uint64_t araddr = t.m_axi_gmem_araddr;
        unsigned arlen = (unsigned)t.m_axi_gmem_arlen + 1;
        bool r = live && rvalid && t.m_axi_gmem_rready;
        bool aw = live && t.m_axi_gmem_awvalid && wready;
        bool b = live && t.m_axi_gmem_bvalid && t.m_axi_gmem_bready;
        uint64_t awaddr = t.m_axi_gmem_awaddr;
        uint8_t wbytes[256];
        bool wstrb[256];
        unsigned wlen = 0, wend = 0; /* strobed bytes, and one past the highest */
        if (aw)
            for (unsigned i = 0; i < LOOM_ARRAY_PORT_BYTES; i++) {
                wbytes[i] = get_byte(t.m_axi_gmem_wdata, i);
                wstrb[i] = (get_byte(t.m_axi_gmem_wstrb, i / 8) >> (i % 8)) & 1;
                wlen += wstrb[i];
                if (wstrb[i])
                    wend = i + 1;
            }

        t.ap_clk = 1;
        t.eval();
        if (fst) {
            fst->dump(2 * now + 1);
            if ((now & 1023) == 0 && wave_guard() != 0)
                return -1;
        }

        // memory model
        if (ar) {
            if (araddr + arlen > mem.size() || araddr + arlen < araddr)
                memory_fault("read", araddr, arlen);
            reads.push_back({araddr, arlen, now + cfg.rd_latency});
        }
        if (r && spurious) {
            cfg.spurious_read = 0;  /* once */
        } else if (r) {
            rd_tokens -= reads.front().len;
            bytes_read += reads.front().len;
            reads.pop_front();
        }
        if (aw) {
            if (awaddr + wend > mem.size() || awaddr + wend < awaddr)
                memory_fault("write", awaddr, wend);
            else
                for (unsigned i = 0; i < LOOM_ARRAY_PORT_BYTES; i++)
                    if (wstrb[i])
                        mem[awaddr + i] = wbytes[i];
            wr_tokens -= wlen;
            bytes_written += wlen;
            acks.push_back(now + cfg.wr_latency);
        }
        if (b)
            acks.pop_front();
        rd_tokens += cfg.rd_bytes_per_cycle;
        if (rd_tokens > cfg.rd_bytes_per_cycle)
            rd_tokens = cfg.rd_bytes_per_cycle;
        wr_tokens += cfg.wr_bytes_per_cycle;
        if (wr_tokens > cfg.wr_bytes_per_cycle)
            wr_tokens = cfg.wr_bytes_per_cycle;
        now++;
        cycles++;
        if (ctx->gotFinish()) {
            std::string text = g_vl_text;
            while (!text.empty() && (text.back() == '\n' || text.back() == ' '))
                text.pop_back();
            for (char &ch : text)
                if (ch == '\n')
                    ch = ' ';
            return fail("vsim: the RTL stopped the simulation at cycle %llu: %s",
                        (unsigned long long)now, text.c_str());
        }
        return 0;
    }

    void memory_fault(const char *what, uint64_t addr, unsigned len)
    {
        if (!mem_fault) {
            char buf[200];
            snprintf(buf, sizeof buf, "%s of %u bytes at 0x%llx is outside the %llu-byte device memory",
                     what, len, (unsigned long long)addr, (unsigned long long)mem.size());
            mem_fault_text = buf;
        }
        mem_fault = true;
    }

    int bounded(const char *what, uint64_t limit)
    {
        return fail("vsim: %s: no answer in %llu cycles", what, (unsigned long long)limit);
    }

    int reg_write(uint32_t off, uint32_t v) override
    {
        auto &t = *top;
        t.s_axi_control_awaddr = (uint8_t)off;
        t.s_axi_control_wdata = v;
        t.s_axi_control_wstrb = 0xf;
        t.s_axi_control_awvalid = 1;
        t.s_axi_control_wvalid = 1;
        for (int i = 0;; i++) {
            t.ap_clk = 0;
            t.eval();
            bool fire = t.s_axi_control_awready && t.s_axi_control_wready;
            if (tick() != 0)
                return -1;
            if (fire)
                break;
            if (i > 64)
                return bounded("register write", 64);
        }
        t.s_axi_control_awvalid = 0;
        t.s_axi_control_wvalid = 0;
        for (int i = 0; !t.s_axi_control_bvalid; i++) {
            if (tick() != 0)
                return -1;
            if (i > 64)
                return bounded("register write response", 64);
        }
        return tick();  // bready is held high: the response goes this cycle
    }

    int reg_read(uint32_t off, uint32_t *v) override
    {
        auto &t = *top;
        t.s_axi_control_araddr = (uint8_t)off;
        t.s_axi_control_arvalid = 1;
        for (int i = 0;; i++) {
            t.ap_clk = 0;
            t.eval();
            bool fire = t.s_axi_control_arready;
            if (tick() != 0)
                return -1;
            if (fire)
                break;
            if (i > 64)
                return bounded("register read", 64);
        }
        t.s_axi_control_arvalid = 0;
        for (int i = 0; !t.s_axi_control_rvalid; i++) {
            if (tick() != 0)
                return -1;
            if (i > 64)
                return bounded("register read data", 64);
        }
        *v = t.s_axi_control_rdata;
        return tick();
    }

    int run(uint64_t watchdog) override
    {
        uint32_t ctrl;
        if (watchdog == 0)
            watchdog = cfg.watchdog_cycles;
        mem_fault = false;
        int rc = reg_write(LOOM_REG_GIE, 1);
        if (rc == 0)
            rc = reg_write(LOOM_REG_IER, 1);
        running = true;  // from here a spurious beat is offered (taken once the kernel runs)
        if (rc == 0)
            rc = reg_write(LOOM_REG_CONTROL, 1);
        uint64_t start = now;
        // Verilator renames the `interrupt` port (a C++ word)
        while (rc == 0 && !top->__SYM__interrupt) {
            if (now - start >= watchdog) {
                uint32_t state = 0;
                running = false;
                reg_read(LOOM_REG_STATE, &state);
                return fail("vsim: watchdog: the kernel did not finish in %llu cycles (state 0x%08x: %s)",
                            (unsigned long long)watchdog, state, describe_state(state).c_str());
            }
            rc = tick();
        }
        running = false;
        if (rc == 0)
            rc = reg_read(LOOM_REG_CONTROL, &ctrl);  // clears ap_done
        if (rc == 0 && !(ctrl & 2u))
            rc = fail("vsim: interrupt without ap_done (CONTROL 0x%08x)", ctrl);
        if (rc == 0)
            rc = reg_write(LOOM_REG_ISR, 1);  // acknowledge
        if (rc == 0 && mem_fault)
            rc = fail("vsim: the kernel made a bad memory access: %s", mem_fault_text.c_str());
        return rc;
    }
};

template <class V> loom_sim *make(const loom_sim_config &cfg, std::string &err)
{
    auto *h = new Harness<V>();
    if (h->open(cfg) != 0) {
        err = h->err;
        delete h;
        return nullptr;
    }
    return h;
}

struct ModelEntry {
    int rows, cols;
    loom_sim *(*make)(const loom_sim_config &, std::string &);
};

#define LOOM_SIM_ENTRY(r, c, V) {r, c, make<V>},
const ModelEntry g_models[] = {LOOM_SIM_MODELS(LOOM_SIM_ENTRY)};
#undef LOOM_SIM_ENTRY

}  // namespace

extern "C" {

int loom_sim_sizes(int (*sizes)[2], int max)
{
    int n = 0;
    for (const ModelEntry &m : g_models) {
        if (n < max) {
            sizes[n][0] = m.rows;
            sizes[n][1] = m.cols;
        }
        n++;
    }
    return n;
}

int loom_sim_open(const loom_sim_config *cfg_in, loom_sim **out, char *err, size_t errlen)
{
    loom_sim_config cfg = cfg_in ? *cfg_in : loom_sim_config{};
    std::string why;
    *out = nullptr;
    if (cfg.rows == 0)
        cfg.rows = LOOM_ARRAY_ROWS;
    if (cfg.cols == 0)
        cfg.cols = LOOM_ARRAY_COLS;
    if (!cfg.rd_bytes_per_cycle)
        cfg.rd_bytes_per_cycle = LOOM_ARRAY_MEM_READ_BYTES_PER_CYCLE;
    if (!cfg.rd_latency)
        cfg.rd_latency = LOOM_ARRAY_MEM_READ_LATENCY;
    if (!cfg.wr_bytes_per_cycle)
        cfg.wr_bytes_per_cycle = LOOM_ARRAY_MEM_WRITE_BYTES_PER_CYCLE;
    if (!cfg.wr_latency)
        cfg.wr_latency = LOOM_ARRAY_MEM_WRITE_LATENCY;
    if (!cfg.mem_bytes)
        cfg.mem_bytes = LOOM_ARRAY_MEM_BYTES;
    if (!cfg.watchdog_cycles)
        cfg.watchdog_cycles = LOOM_SIM_WATCHDOG_DEFAULT;
    if (!cfg.seed) {
        std::random_device rd;
        cfg.seed = ((uint64_t)rd() << 1 | 1u) & 0x7fffffff;
    }
    if (cfg.rd_bytes_per_cycle > LOOM_ARRAY_PORT_BYTES || cfg.wr_bytes_per_cycle > LOOM_ARRAY_PORT_BYTES)
        why = "memory bytes per cycle exceed the " + std::to_string(LOOM_ARRAY_PORT_BYTES) +
              "-byte port";
    else if (cfg.rd_latency > 1000000 || cfg.wr_latency > 1000000)
        why = "memory latency above 1000000 cycles";
    else if (cfg.mem_bytes > ((uint64_t)1 << 34))
        why = "device memory above 16 GiB";
    if (why.empty()) {
        const ModelEntry *found = nullptr;
        std::string built;
        for (const ModelEntry &m : g_models) {
            if (m.rows == cfg.rows && m.cols == cfg.cols)
                found = &m;
            built += (built.empty() ? "" : ", ") + std::to_string(m.rows) + "x" + std::to_string(m.cols);
        }
        if (!found)
            why = "no Verilated model for a " + std::to_string(cfg.rows) + "x" +
                  std::to_string(cfg.cols) + " array (built: " + built +
                  "; sizes come from sim_arrays in rtl/loom-array.json, or LOOM_SIM_ARRAYS when loom is built)";
        else
            *out = found->make(cfg, why);
    } else {
        why = "vsim: " + why;
    }
    if (!*out) {
        if (err && errlen)
            snprintf(err, errlen, "%s", why.c_str());
        return -1;
    }
    return 0;
}

void loom_sim_close(loom_sim *sim) { delete sim; }
const char *loom_sim_error(const loom_sim *sim) { return sim->err.c_str(); }
uint64_t loom_sim_seed(const loom_sim *sim) { return sim->cfg.seed; }
const loom_sim_config *loom_sim_get_config(const loom_sim *sim) { return &sim->cfg; }
int loom_sim_reg_write(loom_sim *sim, uint32_t off, uint32_t v) { return sim->reg_write(off, v); }
int loom_sim_reg_read(loom_sim *sim, uint32_t off, uint32_t *v) { return sim->reg_read(off, v); }
uint64_t loom_sim_mem_size(const loom_sim *sim) { return sim->mem.size(); }
int loom_sim_run(loom_sim *sim, uint64_t watchdog) { return sim->run(watchdog); }
int loom_sim_reset(loom_sim *sim) { return sim->reset(); }
int loom_sim_wave_close(loom_sim *sim) { return sim->wave_close(); }
uint64_t loom_sim_cycles(const loom_sim *sim) { return sim->cycles; }

void loom_sim_traffic(const loom_sim *sim, uint64_t *bytes_read, uint64_t *bytes_written)
{
    *bytes_read = sim->bytes_read;
    *bytes_written = sim->bytes_written;
}

int loom_sim_mem_write(loom_sim *sim, uint64_t addr, const void *src, size_t n)
{
    if (addr > sim->mem.size() || n > sim->mem.size() - addr)
        return sim->fail("vsim: write of %zu bytes at 0x%llx is outside the %zu-byte device memory", n,
                         (unsigned long long)addr, sim->mem.size());
    if (n)
        memcpy(sim->mem.data() + addr, src, n);
    return 0;
}

int loom_sim_mem_read(loom_sim *sim, uint64_t addr, void *dst, size_t n)
{
    if (addr > sim->mem.size() || n > sim->mem.size() - addr)
        return sim->fail("vsim: read of %zu bytes at 0x%llx is outside the %zu-byte device memory", n,
                         (unsigned long long)addr, sim->mem.size());
    if (n)
        memcpy(dst, sim->mem.data() + addr, n);
    return 0;
}

}  // extern "C"
