/* cli-report.c - loom dse --report DIR: the sweep as dse.json (what
 * --json prints), dse.csv (one row per array size and board) and
 * index.html, a page that works offline: its tables written here, its
 * charts drawn by Chart.js from Debian's libjs-chart.js, embedded in the
 * page with the data (without the package the page has the tables and
 * says why there are no charts). */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

#ifndef LOOM_CHARTJS_PATH
#define LOOM_CHARTJS_PATH "/usr/share/javascript/chart.js/chart.min.js"
#endif

/* A growing text buffer; on out of memory it stops growing and says so. */
typedef struct {
    char *p;
    size_t n, cap;
    bool oom;
} buf;

static void put(buf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 65536;
        char *p;
        while (cap < b->n + n + 1)
            cap *= 2;
        if (!(p = realloc(b->p, cap))) {
            b->oom = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

static void puts_b(buf *b, const char *s)
{
    put(b, s, strlen(s));
}

static void printf_b(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void printf_b(buf *b, const char *fmt, ...)
{
    char tmp[1024];
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0)
        put(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* The buffer into path, whole or not at all; the buffer is freed. */
static int write_buf(buf *b, const char *path)
{
    int rc;
    if (b->oom) {
        free(b->p);
        loom_cli_errorf("%s: out of memory", path);
        return LOOM_EXIT_SOFTWARE;
    }
    rc = loom_cli_write_whole(path, b->p, b->n);
    free(b->p);
    return rc;
}

/* text for HTML */
static void esc(buf *b, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '<': puts_b(b, "&lt;"); break;
        case '>': puts_b(b, "&gt;"); break;
        case '&': puts_b(b, "&amp;"); break;
        case '"': puts_b(b, "&quot;"); break;
        default: put(b, s, 1);
        }
    }
}

static double num(const json_t *o, const char *k)
{
    return json_number_value(json_object_get(o, k));
}

static bool has_num(const json_t *o, const char *k)
{
    return json_is_number(json_object_get(o, k));
}

static void cell_num(buf *b, const json_t *o, const char *k, const char *fmt)
{
    puts_b(b, "<td>");
    if (has_num(o, k))
        printf_b(b, fmt, num(o, k));
    else
        puts_b(b, "-");
    puts_b(b, "</td>");
}

const char *loom_cli_dse_first(const json_t *root, const char *where, const char *key)
{
    const json_t *ja, *jb;
    size_t i, k;
    bool boards = strcmp(where, "boards") == 0;
    json_array_foreach(json_object_get(root, "arrays"), i, ja) {
        if (!boards && json_is_string(json_object_get(json_object_get(ja, where), key)))
            return json_string_value(json_object_get(json_object_get(ja, where), key));
        if (boards)
            json_array_foreach(json_object_get(ja, "boards"), k, jb)
                if (json_is_string(json_object_get(jb, key)))
                    return json_string_value(json_object_get(jb, key));
    }
    return NULL;
}

static void array_label(const json_t *ja, char *s, size_t size)
{
    snprintf(s, size, "%dx%d", (int)json_integer_value(json_object_get(ja, "rows")),
             (int)json_integer_value(json_object_get(ja, "cols")));
}

/* dse.csv */
static int write_csv(const json_t *root, const char *path)
{
    buf b = {0};
    const json_t *ja, *jb;
    size_t i, k;
    puts_b(&b, "array,rows,cols,board,cycles_per_inference,latency_ms,inferences_per_second,energy_mj,"
               "energy_bound_mj,inferences_per_joule,lut,ff,dsp,bram36,uram,fits,tightest,tightest_share,pareto,"
               "worst_model_error\n");
    json_array_foreach(json_object_get(root, "arrays"), i, ja) {
        const json_t *res = json_object_get(ja, "resources"), *boards = json_object_get(ja, "boards");
        const json_t *worst = json_object_get(json_object_get(ja, "rtl_check"), "worst_model_error");
        char label[16];
        size_t nb = json_array_size(boards);
        array_label(ja, label, sizeof label);
        for (k = 0; k < (nb ? nb : 1); k++) {
            const json_t *fit;
            jb = json_array_get(boards, k);
            fit = json_object_get(jb, "fit");
            printf_b(&b, "%s,%d,%d,%s,%.0f,", label, (int)json_integer_value(json_object_get(ja, "rows")),
                     (int)json_integer_value(json_object_get(ja, "cols")),
                     jb ? json_string_value(json_object_get(jb, "board")) : "",
                     jb ? num(jb, "cycles_per_inference") : num(ja, "cycles_per_inference"));
            static const char *const bk[] = {"latency_ms", "inferences_per_second", "energy_mj", "energy_bound_mj",
                                             "inferences_per_joule"};
            for (size_t q = 0; q < 5; q++)
                if (has_num(jb, bk[q]))
                    printf_b(&b, "%.6g,", num(jb, bk[q]));
                else
                    puts_b(&b, ",");
            static const char *const rk[] = {"lut", "ff", "dsp", "bram36", "uram"};
            for (size_t q = 0; q < 5; q++)
                if (has_num(res, rk[q]))
                    printf_b(&b, "%.6g,", num(res, rk[q]));
                else
                    puts_b(&b, ",");
            if (json_is_object(fit))
                printf_b(&b, "%s,%s,", json_is_true(json_object_get(fit, "fits")) ? "yes" : "no",
                         json_string_value(json_object_get(fit, "tightest")));
            else
                puts_b(&b, ",,");
            if (has_num(fit, "tightest_share"))
                printf_b(&b, "%.6g,", num(fit, "tightest_share"));
            else
                puts_b(&b, ",");
            printf_b(&b, "%s,", jb ? (json_is_true(json_object_get(jb, "pareto")) ? "yes" : "no") : "");
            if (json_is_number(worst))
                printf_b(&b, "%.6g", json_number_value(worst));
            puts_b(&b, "\n");
        }
    }
    return write_buf(&b, path);
}

/* Chart.js's file, whole, or NULL (why in *why). */
static char *read_chartjs(size_t *n, const char **why)
{
    const char *path = getenv("LOOM_CHARTJS");
    FILE *f;
    struct stat sb;
    char *p;
    if (!path || !*path)
        path = LOOM_CHARTJS_PATH;
    *why = NULL;
    if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size <= 0 || sb.st_size > (64 << 20)) {
        *why = "Chart.js is not installed (Debian package libjs-chart.js): the tables below have every figure";
        return NULL;
    }
    if (!(f = fopen(path, "rb")) || !(p = malloc((size_t)sb.st_size + 1))) {
        if (f)
            fclose(f);
        *why = "Chart.js could not be read: the tables below have every figure";
        return NULL;
    }
    *n = fread(p, 1, (size_t)sb.st_size, f);
    fclose(f);
    p[*n] = '\0';
    return p;
}

/* The page's script: charts from the embedded data (written here). It
 * marks the body with what it drew: data-charts (how many canvases have
 * pixels on them) or data-chart-error (the exception), for a test in a
 * headless browser. */
static const char page_js[] =
    "(function(){\n"
    "const body=document.body;\n"
    "try{\n"
    "const d=JSON.parse(document.getElementById('dse').textContent);\n"
    "if(typeof Chart==='undefined')return;\n"
    "Chart.defaults.animation=false;\n"
    "const hue=i=>`hsl(${(i*67)%360},65%,45%)`;\n"
    "const pts={},front=[],ipj={},labels=[],made=[];\n"
    "d.arrays.forEach(a=>{const al=a.rows+'x'+a.cols;labels.push(al);\n"
    " a.boards.forEach(b=>{const e=('energy_mj' in b)?b.energy_mj:b.energy_bound_mj;\n"
    "  if(b.fit&&b.fit.fits===false)return;\n"
    "  (pts[b.board]=pts[b.board]||[]).push({x:b.latency_ms,y:e,label:al+' on '+b.board});\n"
    "  if(b.pareto)front.push({x:b.latency_ms,y:e,label:al+' on '+b.board});\n"
    "  if('inferences_per_joule' in b)(ipj[b.board]=ipj[b.board]||{})[al]=b.inferences_per_joule;});});\n"
    "front.sort((p,q)=>p.x-q.x);\n"
    "const floor10=v=>Math.pow(10,Math.floor(Math.log10(Math.max(1e-12,0.5*Math.min(...v.filter(x=>x>0))))));\n"
    "const chart=(id,cfg)=>{const c=document.getElementById(id);if(c)made.push([c,new Chart(c,cfg)]);};\n"
    "const sets=Object.keys(pts).map((k,i)=>({label:k,data:pts[k],backgroundColor:hue(i),pointRadius:4}));\n"
    "sets.push({label:'Pareto front',data:front,type:'line',borderColor:'#000',backgroundColor:'#000',\n"
    " pointRadius:7,pointStyle:'rectRot',showLine:true,fill:false});\n"
    "const tip={callbacks:{label:c=>c.raw.label+': '+c.raw.x.toPrecision(4)+' ms, '+c.raw.y.toPrecision(4)+' mJ'}};\n"
    "chart('c_lat_energy',{type:'scatter',data:{datasets:sets},options:{\n"
    " plugins:{title:{display:true,text:'Latency against energy per inference (points that fit; projected, modelled)'},\n"
    "  tooltip:tip},scales:{x:{type:'logarithmic',title:{display:true,text:'latency per inference, ms'}},\n"
    "  y:{type:'logarithmic',title:{display:true,text:d.energy_label}}}}});\n"
    "const bsets=Object.keys(ipj).map((k,i)=>({label:k,data:labels.map(l=>ipj[k][l]||0),backgroundColor:hue(i)}));\n"
    "if(bsets.length)chart('c_ipj',{type:'bar',data:{labels:labels,datasets:bsets},\n"
    " options:{plugins:{title:{display:true,text:'Inferences per joule (modelled dynamic energy)'}},\n"
    "  scales:{y:{type:'logarithmic',min:floor10(bsets.flatMap(s=>s.data)),\n"
    "   title:{display:true,text:'inferences per joule'}}}}});\n"
    "const rk=['lut','ff','dsp','bram36'];\n"
    "const rsets=rk.map((k,i)=>({label:k.toUpperCase(),data:d.arrays.map(a=>a.resources?a.resources[k]:0),\n"
    " backgroundColor:hue(i+3)}));\n"
    "if(d.arrays.some(a=>a.resources))chart('c_res',{type:'bar',\n"
    " data:{labels:labels,datasets:rsets},options:{plugins:{title:{display:true,\n"
    "  text:'FPGA resources per array size (yosys estimate)'}},scales:{y:{type:'logarithmic',\n"
    "   min:floor10(rsets.flatMap(s=>s.data))}}}});\n"
    "const cyc=[{label:'cycles per inference',data:d.arrays.map(a=>a.cycles_per_inference),\n"
    " backgroundColor:hue(5)}];\n"
    "chart('c_cycles',{type:'bar',data:{labels:labels,datasets:cyc},\n"
    " options:{plugins:{title:{display:true,text:'Kernel cycles per inference (analytic model, RTL-checked)'}},\n"
    "  scales:{y:{type:'logarithmic',min:floor10(cyc[0].data)}}}});\n"
    "let drawn=0;\n"
    "made.forEach(([c,ch])=>{ch.draw();const b=document.createElement('canvas');b.width=c.width;\n"
    " b.height=c.height;if(c.width>0&&c.toDataURL()!==b.toDataURL())drawn++;});\n"
    "body.setAttribute('data-charts',String(drawn));\n"
    "}catch(e){body.setAttribute('data-chart-error',String(e));}\n"
    "})();\n";

static int write_html(const json_t *root, const char *path)
{
    buf b = {0};
    const json_t *ja, *jb;
    size_t i, k, njs = 0;
    const char *why, *title = json_string_value(json_object_get(root, "model"));
    char *js = read_chartjs(&njs, &why), *data;
    json_t *copy = json_deep_copy(root);
    if (!title)
        title = json_string_value(json_object_get(root, "gemms_given"));
    /* the energy axis's label, for the chart */
    {
        const char *label = "energy per inference, mJ (bound: power limit x latency)";
        json_array_foreach(json_object_get(root, "arrays"), i, ja)
            json_array_foreach(json_object_get(ja, "boards"), k, jb)
                if (has_num(jb, "energy_mj"))
                    label = "energy per inference, mJ (modelled, dynamic)";
        json_object_set_new(copy, "energy_label", json_string(label));
    }
    puts_b(&b, "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>loom dse: ");
    esc(&b, title);
    puts_b(&b, "</title>\n<style>\nbody{font-family:sans-serif;margin:2em;max-width:80em}\n"
               "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #bbb;padding:.2em .5em;"
               "text-align:right}th{background:#eee}td.l,th.l{text-align:left}tr.pareto td{font-weight:bold}\n"
               "td{white-space:nowrap}td.l{white-space:normal}\n"
               ".charts{display:grid;grid-template-columns:1fr 1fr;gap:1em}.note{color:#555}\n</style></head><body>\n"
               "<h1>loom dse</h1>\n<p>");
    esc(&b, json_object_get(root, "model") ? "Model " : "GEMMs ");
    esc(&b, title);
    printf_b(&b, ": %zu int8 GEMM%s per inference.</p>\n", json_array_size(json_object_get(root, "gemms")),
             json_array_size(json_object_get(root, "gemms")) == 1 ? "" : "s");
    if (why) {
        puts_b(&b, "<p class=\"note\">No charts: ");
        esc(&b, why);
        puts_b(&b, ".</p>\n");
    } else {
        puts_b(&b, "<div class=\"charts\"><div><canvas id=\"c_lat_energy\"></canvas></div><div><canvas "
                   "id=\"c_ipj\"></canvas></div><div><canvas id=\"c_res\"></canvas></div><div><canvas "
                   "id=\"c_cycles\"></canvas></div></div>\n");
    }
    /* arrays */
    puts_b(&b, "<h2>Array sizes</h2>\n<p class=\"note\">Cycles: the analytic cycle model, checked against the "
               "Verilated RTL on sampled GEMMs where the size is built. Resources: ");
    {
        const char *prov = loom_cli_dse_first(root, "resources", "provenance");
        esc(&b, prov ? prov : "not estimated");
    }
    puts_b(&b, ".</p>\n<table><tr><th class=\"l\">array</th><th>cycles per inference</th>"
               "<th>PE utilisation</th><th>model vs RTL (worst)</th><th>RTL samples</th><th>LUT</th><th>of which "
               "LUT RAM</th><th>FF</th><th>DSP</th><th>BRAM36</th><th>URAM</th><th class=\"l\">resources by"
               "</th></tr>\n");
    json_array_foreach(json_object_get(root, "arrays"), i, ja) {
        const json_t *res = json_object_get(ja, "resources"), *rtl = json_object_get(ja, "rtl_check");
        const json_t *w = json_object_get(rtl, "worst_model_error");
        char label[16];
        array_label(ja, label, sizeof label);
        printf_b(&b, "<tr><td class=\"l\">%s</td><td>%.0f</td><td>%.1f%%</td>", label,
                 num(ja, "cycles_per_inference"), 100 * num(ja, "utilisation"));
        if (json_is_number(w))
            printf_b(&b, "<td>%+.2f%%</td>", 100 * json_number_value(w));
        else
            printf_b(&b, "<td>%s</td>", json_is_true(json_object_get(rtl, "built")) ? "not sampled" : "not built");
        printf_b(&b, "<td>%zu</td>", json_array_size(json_object_get(rtl, "samples")));
        cell_num(&b, res, "lut", "%.0f");
        cell_num(&b, res, "lutram", "%.0f");
        cell_num(&b, res, "ff", "%.0f");
        cell_num(&b, res, "dsp", "%.0f");
        cell_num(&b, res, "bram36", "%.1f");
        cell_num(&b, res, "uram", "%.0f");
        puts_b(&b, "<td class=\"l\">");
        if (json_is_object(res)) {
            esc(&b, json_string_value(json_object_get(res, "tool")));
        } else {
            esc(&b, json_string_value(json_object_get(ja, "resources_note")));
        }
        puts_b(&b, "</td></tr>\n");
    }
    puts_b(&b, "</table>\n");
    /* boards */
    puts_b(&b, "<h2>Projected onto each board</h2>\n<p class=\"note\">Latency and throughput: the analytic cycle "
               "model at the board's kernel clock and memory rate (projected, not measured). Energy: modelled, "
               "the kernel's dynamic energy from per-action energies (a lower bound); bound: the board's power "
               "limit for that latency (an upper bound). Bold rows are on the Pareto front of latency, energy and "
               "LUTs among the points that fit.</p>\n");
    {
        const char *prov = loom_cli_dse_first(root, "boards", "energy_provenance");
        if (prov) {
            puts_b(&b, "<p class=\"note\">Energy ");
            esc(&b, prov);
            puts_b(&b, "; the last column gives the scaling of on-chip energies per board.</p>\n");
        }
    }
    puts_b(&b, "<table><tr><th class=\"l\">array</th><th class=\"l\">board"
               "</th><th>clock MHz</th><th>latency ms</th><th>inferences/s</th><th>energy mJ</th><th>MAC mJ</th>"
               "<th>scratchpad mJ</th><th>memory mJ</th><th>inferences/J</th><th>bound mJ</th><th>fits</th>"
               "<th class=\"l\">tightest resource</th><th>on-chip energy scale</th></tr>\n");
    json_array_foreach(json_object_get(root, "arrays"), i, ja) {
        char label[16];
        array_label(ja, label, sizeof label);
        json_array_foreach(json_object_get(ja, "boards"), k, jb) {
            const json_t *fit = json_object_get(jb, "fit");
            printf_b(&b, "<tr%s><td class=\"l\">%s</td><td class=\"l\">",
                     json_is_true(json_object_get(jb, "pareto")) ? " class=\"pareto\"" : "", label);
            esc(&b, json_string_value(json_object_get(jb, "board")));
            puts_b(&b, "</td>");
            cell_num(&b, jb, "kernel_clock_mhz", "%.0f");
            cell_num(&b, jb, "latency_ms", "%.4g");
            cell_num(&b, jb, "inferences_per_second", "%.4g");
            cell_num(&b, jb, "energy_mj", "%.4g");
            cell_num(&b, jb, "energy_mac_mj", "%.3g");
            cell_num(&b, jb, "energy_spad_mj", "%.3g");
            cell_num(&b, jb, "energy_dram_mj", "%.3g");
            cell_num(&b, jb, "inferences_per_joule", "%.4g");
            cell_num(&b, jb, "energy_bound_mj", "%.4g");
            if (json_is_object(fit)) {
                printf_b(&b, "<td>%s</td><td class=\"l\">%s", json_is_true(json_object_get(fit, "fits")) ? "yes" :
                         "<b>no</b>", json_string_value(json_object_get(fit, "tightest")));
                if (has_num(fit, "tightest_share"))
                    printf_b(&b, " %.1f%%", 100 * num(fit, "tightest_share"));
                puts_b(&b, "</td>");
            } else {
                puts_b(&b, "<td>not known</td><td class=\"l\">-</td>");
            }
            cell_num(&b, jb, "energy_scale", "x%.3f");
            puts_b(&b, "</tr>\n");
        }
    }
    puts_b(&b, "</table>\n<p class=\"note\">Written by loom dse --report; dse.json beside this page has every "
               "figure, dse.csv one row per array and board.</p>\n");
    /* the data ("</" escaped: the JSON cannot end its script element) */
    data = json_dumps(copy, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(copy);
    puts_b(&b, "<script type=\"application/json\" id=\"dse\">");
    for (const char *p = data; p && *p; p++)
        if (p[0] == '<' && p[1] == '/')
            puts_b(&b, "<\\");
        else
            put(&b, p, 1);
    free(data);
    puts_b(&b, "</script>\n");
    if (js) {
        /* Chart.js, as Debian ships it (MIT licence, its header kept) */
        puts_b(&b, "<script>\n");
        put(&b, js, njs);
        puts_b(&b, "\n</script>\n<script>\n");
        puts_b(&b, page_js);
        puts_b(&b, "</script>\n");
        free(js);
    }
    puts_b(&b, "</body></html>\n");
    return write_buf(&b, path);
}

int loom_cli_dse_report(const json_t *root, const char *dir)
{
    char path[4096];
    char *text;
    int rc;
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        loom_cli_errorf("%s: cannot make the report folder: %s", dir, strerror(errno));
        return LOOM_EXIT_CANTCREAT;
    }
    if (strlen(dir) > sizeof path - 32) {
        loom_cli_errorf("%s: the report folder's path is too long", dir);
        return LOOM_EXIT_CANTCREAT;
    }
    snprintf(path, sizeof path, "%s/dse.json", dir);
    if (!(text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER))) {
        loom_cli_errorf("%s: out of memory", path);
        return LOOM_EXIT_SOFTWARE;
    }
    rc = loom_cli_write_whole(path, text, strlen(text));
    free(text);
    if (rc)
        return rc;
    snprintf(path, sizeof path, "%s/dse.csv", dir);
    if ((rc = write_csv(root, path)) != 0)
        return rc;
    snprintf(path, sizeof path, "%s/index.html", dir);
    if ((rc = write_html(root, path)) != 0)
        return rc;
    fprintf(stderr, "loom: dse: report written to %s/index.html (with dse.json and dse.csv)\n", dir);
    return 0;
}
