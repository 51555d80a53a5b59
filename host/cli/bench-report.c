/* bench-report.c - loom bench --csv and --report DIR: bench.json (what
 * --json prints), bench.csv (one row per device or board and batch) and
 * index.html, a page that works offline: a table of every figure with its
 * provenance, and charts drawn by Chart.js (Debian's libjs-chart.js,
 * embedded with the data): latency against energy per inference with
 * the Pareto front, inferences per joule, and the time per layer on each
 * device and board. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli-bench.h"
#include "cli-page.h"

double bench_row_ms(const json_t *r)
{
    const json_t *l = json_object_get(r, "latency_ms");
    return json_is_number(l) ? json_number_value(l) : json_number_value(json_object_get(l, "p50"));
}

static const char *row_name(const json_t *r)
{
    const json_t *d = json_object_get(r, "device");
    return json_is_string(d) ? json_string_value(d) : json_string_value(json_object_get(r, "board"));
}

static void csv_text(page_buf *b, const char *s)
{
    page_puts(b, "\"");
    for (; s && *s; s++)
        page_put(b, *s == '"' ? "\"\"" : s, *s == '"' ? 2 : 1);
    page_puts(b, "\"");
}

static void csv_num(page_buf *b, const json_t *o, const char *k)
{
    if (page_has_num(o, k))
        page_printf(b, "%.9g", page_num(o, k));
    page_puts(b, ",");
}

static const char csv_head[] =
    "row,device,kind,batch,nodes_on_device,latency_p50_ms,latency_p90_ms,latency_p99_ms,latency_mean_ms,"
    "throughput_per_s,energy_per_inference_j,energy_above_idle_j,energy_source,inferences_per_joule,"
    "energy_delay_js,energy_bound_j,pareto,latency_provenance,energy_provenance\n";

static void csv_rows(page_buf *b, const json_t *rows, bool projected)
{
    const json_t *r;
    size_t i;
    json_array_foreach(rows, i, r) {
        const json_t *l = json_object_get(r, "latency_ms"), *e = json_object_get(r, "energy");
        const char *src = json_string_value(json_object_get(e, "source"));
        page_printf(b, "%s,", projected ? "projected" : "measured");
        csv_text(b, row_name(r));
        page_puts(b, ",");
        csv_text(b, json_string_value(json_object_get(r, "kind")));
        page_printf(b, ",%d,", (int)json_integer_value(json_object_get(r, "batch")));
        if (projected) {
            if (json_object_get(r, "card"))
                page_printf(b, "%d", (int)json_integer_value(json_object_get(json_object_get(r, "card"), "nodes")));
            page_printf(b, ",%.9g,,,%.9g,", bench_row_ms(r), bench_row_ms(r));
        } else {
            page_printf(b, "%d,", (int)json_integer_value(json_object_get(r, "nodes_on_device")));
            csv_num(b, l, "p50");
            csv_num(b, l, "p90");
            csv_num(b, l, "p99");
            csv_num(b, l, "mean");
        }
        csv_num(b, r, "throughput_per_s");
        csv_num(b, e, "per_inference_j");
        csv_num(b, e, "per_inference_above_idle_j");
        page_printf(b, "%s,", src ? src : "");
        csv_num(b, e, "inferences_per_joule");
        csv_num(b, e, "energy_delay_js");
        csv_num(b, json_object_get(r, "energy_bound"), "per_inference_j");
        page_printf(b, "%s,", json_is_true(json_object_get(r, "pareto")) ? "yes" : "no");
        csv_text(b, json_string_value(json_object_get(r, "latency_provenance")));
        page_puts(b, ",");
        {
            const char *p = json_string_value(json_object_get(e, "provenance"));
            csv_text(b, p ? p : json_string_value(json_object_get(e, "why_not_measured")));
        }
        page_puts(b, "\n");
    }
}

int bench_csv(const json_t *root, const char *path)
{
    page_buf b = {0};
    page_puts(&b, csv_head);
    csv_rows(&b, json_object_get(root, "devices"), false);
    csv_rows(&b, json_object_get(root, "projected"), true);
    if (!path) {
        int rc = 0;
        if (b.oom || fwrite(b.p, 1, b.n, stdout) != b.n) {
            loom_cli_errorf(b.oom ? "out of memory" : "cannot write standard output");
            rc = b.oom ? LOOM_EXIT_SOFTWARE : LOOM_EXIT_IOERR;
        }
        free(b.p);
        return rc;
    }
    return page_write(&b, path);
}

/* The page's script (written here): the charts from the embedded data;
 * the body is marked with how many canvases have pixels (data-charts) or
 * the exception (data-chart-error), for a test in a headless browser. */
static const char page_js[] =
    "(function(){\n"
    "const body=document.body;\n"
    "try{\n"
    "const d=JSON.parse(document.getElementById('bench').textContent);\n"
    "if(typeof Chart==='undefined')return;\n"
    "Chart.defaults.animation=false;\n"
    "const hue=i=>`hsl(${(i*67)%360},65%,45%)`;\n"
    "const ms=r=>typeof r.latency_ms==='number'?r.latency_ms:r.latency_ms.p50;\n"
    "const name=r=>(r.device||r.board)+(d.batches.length>1?' b'+r.batch:'');\n"
    "const rows=d.devices.concat(d.projected);\n"
    "const made=[];\n"
    "const chart=(id,cfg)=>{const c=document.getElementById(id);if(c)made.push([c,new Chart(c,cfg)]);};\n"
    "const floor10=v=>Math.pow(10,Math.floor(Math.log10(Math.max(1e-15,0.5*Math.min(...v.filter(x=>x>0))))));\n"
    "const pt=r=>({x:ms(r),y:r.energy.per_inference_j*1e3,label:name(r)});\n"
    "const has=r=>r.energy&&typeof r.energy.per_inference_j==='number';\n"
    "const sets=[\n"
    " {label:'measured here (latency; energy measured or modelled)',data:d.devices.filter(has).map(pt),\n"
    "  backgroundColor:hue(0),pointRadius:6},\n"
    " {label:'projected boards (modelled energy)',data:d.projected.filter(has).map(pt),backgroundColor:hue(2),\n"
    "  pointRadius:5,pointStyle:'triangle'},\n"
    " {label:'Pareto front',data:rows.filter(r=>has(r)&&r.pareto).map(pt).sort((p,q)=>p.x-q.x),type:'line',\n"
    "  borderColor:'#000',backgroundColor:'#000',pointRadius:8,pointStyle:'rectRot',showLine:true,fill:false}];\n"
    "const tip={callbacks:{label:c=>c.raw.label+': '+c.raw.x.toPrecision(4)+' ms, '+c.raw.y.toPrecision(4)+' mJ'}};\n"
    "chart('c_lat_energy',{type:'scatter',data:{datasets:sets},options:{plugins:{title:{display:true,\n"
    " text:'Latency against energy per inference'},tooltip:tip},scales:{x:{type:'logarithmic',\n"
    " title:{display:true,text:'latency per run, ms'}},y:{type:'logarithmic',\n"
    " title:{display:true,text:'energy per inference, mJ'}}}}});\n"
    "const er=rows.filter(has);\n"
    "if(er.length)chart('c_ipj',{type:'bar',data:{labels:er.map(name),datasets:[{label:'inferences per joule',\n"
    " data:er.map(r=>r.energy.inferences_per_joule),backgroundColor:er.map(r=>r.projected?hue(2):hue(0))}]},\n"
    " options:{plugins:{title:{display:true,text:'Inferences per joule (measured or modelled; projected in the "
    "second colour)'},legend:{display:false}},scales:{y:{type:'logarithmic',\n"
    " min:floor10(er.map(r=>r.energy.inferences_per_joule))}}}});\n"
    "const b0=d.batches[0],lr=rows.filter(r=>r.batch===b0&&r.per_node&&r.per_node.length);\n"
    "if(lr.length){const n=lr[0].per_node.length;\n"
    " const lab=lr[0].per_node.map((p,i)=>(p.name||p.op)+' ('+p.op+')');\n"
    " const ls=lr.filter(r=>r.per_node.length===n).map((r,i)=>({label:name(r)+(r.projected?' (projected)':''),\n"
    "  data:r.per_node.map(p=>p.us),backgroundColor:hue(i)}));\n"
    " chart('c_layers',{type:'bar',data:{labels:lab,datasets:ls},options:{plugins:{title:{display:true,\n"
    "  text:'Time per layer, us (measured: a profiled run; projected: per node)'}},scales:{y:{type:'logarithmic',\n"
    "  min:floor10(ls.flatMap(s=>s.data))}}}});}\n"
    "let drawn=0;\n"
    "made.forEach(([c,ch])=>{ch.draw();const b=document.createElement('canvas');b.width=c.width;\n"
    " b.height=c.height;if(c.width>0&&c.toDataURL()!==b.toDataURL())drawn++;});\n"
    "body.setAttribute('data-charts',String(drawn));\n"
    "body.setAttribute('data-charts-made',String(made.length));\n"
    "}catch(e){body.setAttribute('data-chart-error',String(e));}\n"
    "})();\n";

static void table_rows(page_buf *b, const json_t *rows, bool projected)
{
    const json_t *r;
    size_t i;
    json_array_foreach(rows, i, r) {
        const json_t *l = json_object_get(r, "latency_ms"), *e = json_object_get(r, "energy");
        const char *src = json_string_value(json_object_get(e, "source"));
        page_printf(b, "<tr%s><td class=\"l\">%s</td><td class=\"l\">", json_is_true(json_object_get(r, "pareto")) ?
                    " class=\"pareto\"" : "", projected ? "projected" : "measured");
        page_esc(b, row_name(r));
        page_puts(b, "</td><td class=\"l\">");
        page_esc(b, json_string_value(json_object_get(r, "kind")));
        page_printf(b, "</td><td>%d</td>", (int)json_integer_value(json_object_get(r, "batch")));
        page_printf(b, "<td>%.4g</td>", bench_row_ms(r));
        if (projected) {
            page_puts(b, "<td>-</td><td>-</td>");
        } else {
            page_cell_num(b, l, "p90", "%.4g");
            page_cell_num(b, l, "p99", "%.4g");
        }
        page_cell_num(b, r, "throughput_per_s", "%.4g");
        page_cell_num(b, e, "per_inference_j", "%.4g");
        page_cell_num(b, e, "per_inference_above_idle_j", "%.4g");
        page_printf(b, "<td class=\"l\">%s</td>", src ? src : "-");
        page_cell_num(b, e, "inferences_per_joule", "%.4g");
        page_cell_num(b, json_object_get(r, "energy_bound"), "per_inference_j", "%.4g");
        page_puts(b, "</tr>\n");
    }
}

/* The provenance of every row's figures. */
static void provenance_rows(page_buf *b, const json_t *rows, bool projected)
{
    const json_t *r;
    size_t i;
    json_array_foreach(rows, i, r) {
        const json_t *e = json_object_get(r, "energy");
        const char *ep = json_string_value(json_object_get(e, "provenance"));
        page_printf(b, "<tr><td class=\"l\">%s</td><td class=\"l\">", projected ? "projected" : "measured");
        page_esc(b, row_name(r));
        page_printf(b, "</td><td>%d</td><td class=\"l p\">", (int)json_integer_value(json_object_get(r, "batch")));
        page_esc(b, json_string_value(json_object_get(r, "latency_provenance")));
        page_puts(b, "</td><td class=\"l p\">");
        page_esc(b, ep ? ep : json_string_value(json_object_get(e, "why_not_measured")));
        if (ep && json_is_string(json_object_get(e, "why_not_measured"))) {
            page_puts(b, " (not measured: ");
            page_esc(b, json_string_value(json_object_get(e, "why_not_measured")));
            page_puts(b, ")");
        }
        page_puts(b, "</td><td class=\"l p\">");
        page_esc(b, json_string_value(json_object_get(json_object_get(r, "energy_bound"), "provenance")));
        page_puts(b, "</td></tr>\n");
    }
}

static int write_html(const json_t *root, const char *path)
{
    page_buf b = {0};
    const char *model = json_string_value(json_object_get(root, "model"));
    const json_t *x;
    size_t i;
    page_puts(&b, "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>loom bench: ");
    page_esc(&b, model);
    page_puts(&b, "</title>\n<style>\nbody{font-family:sans-serif;margin:2em;max-width:90em}\n"
                  "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #bbb;padding:.2em .5em;"
                  "text-align:right}th{background:#eee}td.l,th.l{text-align:left}tr.pareto td{font-weight:bold}\n"
                  "td{white-space:nowrap}td.l{white-space:normal}td.p{font-size:85%;color:#333;max-width:40em}\n"
                  ".charts{display:grid;grid-template-columns:1fr 1fr;gap:1em}.wide{grid-column:1/3}"
                  ".note{color:#555}\n</style></head><body>\n<h1>loom bench</h1>\n<p>Model ");
    page_esc(&b, model);
    page_printf(&b, ": %d window%s of at least %.3g s per device", (int)page_num(root, "repeats"),
                page_num(root, "repeats") == 1 ? "" : "s", page_num(root, "duration_s"));
    page_puts(&b, "; energy table ");
    page_esc(&b, json_is_string(json_object_get(root, "energy_table"))
                     ? json_string_value(json_object_get(root, "energy_table")) : "none");
    page_puts(&b, ".</p>\n<p class=\"note\">Every figure says where it came from. <b>Measured</b>: on this "
                  "host (latency by the wall clock; energy by the meter named). <b>Modelled</b>: energy from "
                  "per-action energies times the work counted (a lower bound). <b>Projected</b>: a device that "
                  "is not here, in rows of its own. Bold rows are on the Pareto front of latency and energy per "
                  "inference.</p>\n");
    page_charts(&b, "<div class=\"charts\"><div><canvas id=\"c_lat_energy\"></canvas></div><div><canvas "
                      "id=\"c_ipj\"></canvas></div><div class=\"wide\"><canvas id=\"c_layers\"></canvas></div>"
                      "</div>\n");
    page_puts(&b, "<h2>Every figure</h2>\n<table><tr><th class=\"l\">row</th><th class=\"l\">device or board</th>"
                  "<th class=\"l\">kind</th><th>batch</th><th>latency ms</th><th>p90 ms</th><th>p99 ms</th>"
                  "<th>inferences/s</th><th>J/inference</th><th>J/inference above idle</th><th class=\"l\">energy"
                  "</th><th>inferences/J</th><th>bound J/inference</th></tr>\n");
    table_rows(&b, json_object_get(root, "devices"), false);
    table_rows(&b, json_object_get(root, "projected"), true);
    page_puts(&b, "</table>\n<h2>Where each figure came from</h2>\n<table><tr><th class=\"l\">row</th>"
                  "<th class=\"l\">device or board</th><th>batch</th><th class=\"l\">latency</th>"
                  "<th class=\"l\">energy</th><th class=\"l\">bound</th></tr>\n");
    provenance_rows(&b, json_object_get(root, "devices"), false);
    provenance_rows(&b, json_object_get(root, "projected"), true);
    page_puts(&b, "</table>\n");
    if (json_array_size(json_object_get(root, "notes")) || json_array_size(json_object_get(root, "meters_absent"))) {
        page_puts(&b, "<h2>Notes</h2>\n<ul>\n");
        json_array_foreach(json_object_get(root, "notes"), i, x) {
            page_puts(&b, "<li>");
            page_esc(&b, json_string_value(x));
            page_puts(&b, "</li>\n");
        }
        json_array_foreach(json_object_get(root, "meters_absent"), i, x) {
            page_puts(&b, "<li>meter not here: ");
            page_esc(&b, json_string_value(x));
            page_puts(&b, "</li>\n");
        }
        page_puts(&b, "</ul>\n");
    }
    page_puts(&b, "<p class=\"note\">Written by loom bench --report; bench.json beside this page has every figure "
                  "and the raw latencies, bench.csv one row per device or board and batch.</p>\n");
    {
        /* the page's data: everything but the raw latencies (bench.json
         * has them) */
        json_t *copy = json_deep_copy(root), *r;
        json_array_foreach(json_object_get(copy, "devices"), i, r)
            json_object_del(r, "latencies_ms");
        page_finish(&b, copy, "bench", page_js);
        json_decref(copy);
    }
    return page_write(&b, path);
}

int bench_report(const json_t *root, const char *dir)
{
    return page_report(root, dir, "bench", bench_csv, write_html);
}
