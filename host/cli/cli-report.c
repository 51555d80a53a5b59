/* cli-report.c - loom dse --report DIR: the sweep as dse.json (what
 * --json prints), dse.csv (one row per array size and board) and
 * index.html, a page that works offline: its tables written here, its
 * charts drawn by Chart.js from Debian's libjs-chart.js, embedded in the
 * page with the data (without the package the page has the tables and
 * says why there are no charts). */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli-page.h"

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
    page_buf b = {0};
    const json_t *ja, *jb;
    size_t i, k;
    page_puts(&b, "array,rows,cols,board,cycles_per_inference,latency_ms,inferences_per_second,energy_mj,"
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
            page_printf(&b, "%s,%d,%d,%s,%.0f,", label, (int)json_integer_value(json_object_get(ja, "rows")),
                     (int)json_integer_value(json_object_get(ja, "cols")),
                     jb ? json_string_value(json_object_get(jb, "board")) : "",
                     jb ? page_num(jb, "cycles_per_inference") : page_num(ja, "cycles_per_inference"));
            static const char *const bk[] = {"latency_ms", "inferences_per_second", "energy_mj", "energy_bound_mj",
                                             "inferences_per_joule"};
            for (size_t q = 0; q < 5; q++)
                if (page_has_num(jb, bk[q]))
                    page_printf(&b, "%.6g,", page_num(jb, bk[q]));
                else
                    page_puts(&b, ",");
            static const char *const rk[] = {"lut", "ff", "dsp", "bram36", "uram"};
            for (size_t q = 0; q < 5; q++)
                if (page_has_num(res, rk[q]))
                    page_printf(&b, "%.6g,", page_num(res, rk[q]));
                else
                    page_puts(&b, ",");
            if (json_is_object(fit))
                page_printf(&b, "%s,%s,", json_is_true(json_object_get(fit, "fits")) ? "yes" : "no",
                         json_string_value(json_object_get(fit, "tightest")));
            else
                page_puts(&b, ",,");
            if (page_has_num(fit, "tightest_share"))
                page_printf(&b, "%.6g,", page_num(fit, "tightest_share"));
            else
                page_puts(&b, ",");
            page_printf(&b, "%s,", jb ? (json_is_true(json_object_get(jb, "pareto")) ? "yes" : "no") : "");
            if (json_is_number(worst))
                page_printf(&b, "%.6g", json_number_value(worst));
            page_puts(&b, "\n");
        }
    }
    return page_write(&b, path);
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
    page_buf b = {0};
    const json_t *ja, *jb;
    size_t i, k;
    const char *title = json_string_value(json_object_get(root, "model"));
    json_t *copy = json_deep_copy(root);
    if (!title)
        title = json_string_value(json_object_get(root, "gemms_given"));
    /* the energy axis's label, for the chart */
    {
        const char *label = "energy per inference, mJ (bound: power limit x latency)";
        json_array_foreach(json_object_get(root, "arrays"), i, ja)
            json_array_foreach(json_object_get(ja, "boards"), k, jb)
                if (page_has_num(jb, "energy_mj"))
                    label = "energy per inference, mJ (modelled, dynamic)";
        json_object_set_new(copy, "energy_label", json_string(label));
    }
    page_puts(&b, "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>loom dse: ");
    page_esc(&b, title);
    page_puts(&b, "</title>\n<style>\nbody{font-family:sans-serif;margin:2em;max-width:80em}\n"
               "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #bbb;padding:.2em .5em;"
               "text-align:right}th{background:#eee}td.l,th.l{text-align:left}tr.pareto td{font-weight:bold}\n"
               "td{white-space:nowrap}td.l{white-space:normal}\n"
               ".charts{display:grid;grid-template-columns:1fr 1fr;gap:1em}.note{color:#555}\n</style></head><body>\n"
               "<h1>loom dse</h1>\n<p>");
    page_esc(&b, json_object_get(root, "model") ? "Model " : "GEMMs ");
    page_esc(&b, title);
    page_printf(&b, ": %zu int8 GEMM%s per inference.</p>\n", json_array_size(json_object_get(root, "gemms")),
             json_array_size(json_object_get(root, "gemms")) == 1 ? "" : "s");
    page_charts(&b, "<div class=\"charts\"><div><canvas id=\"c_lat_energy\"></canvas></div><div><canvas "
                   "id=\"c_ipj\"></canvas></div><div><canvas id=\"c_res\"></canvas></div><div><canvas "
                   "id=\"c_cycles\"></canvas></div></div>\n");
    /* arrays */
    page_puts(&b, "<h2>Array sizes</h2>\n<p class=\"note\">Cycles: the analytic cycle model, checked against the "
               "Verilated RTL on sampled GEMMs where the size is built. Resources: ");
    {
        const char *prov = loom_cli_dse_first(root, "resources", "provenance");
        page_esc(&b, prov ? prov : "not estimated");
    }
    page_puts(&b, ".</p>\n<table><tr><th class=\"l\">array</th><th>cycles per inference</th>"
               "<th>PE utilisation</th><th>model vs RTL (worst)</th><th>RTL samples</th><th>LUT</th><th>of which "
               "LUT RAM</th><th>FF</th><th>DSP</th><th>BRAM36</th><th>URAM</th><th class=\"l\">resources by"
               "</th></tr>\n");
    json_array_foreach(json_object_get(root, "arrays"), i, ja) {
        const json_t *res = json_object_get(ja, "resources"), *rtl = json_object_get(ja, "rtl_check");
        const json_t *w = json_object_get(rtl, "worst_model_error");
        char label[16];
        array_label(ja, label, sizeof label);
        page_printf(&b, "<tr><td class=\"l\">%s</td><td>%.0f</td><td>%.1f%%</td>", label,
                 page_num(ja, "cycles_per_inference"), 100 * page_num(ja, "utilisation"));
        if (json_is_number(w))
            page_printf(&b, "<td>%+.2f%%</td>", 100 * json_number_value(w));
        else
            page_printf(&b, "<td>%s</td>", json_is_true(json_object_get(rtl, "built")) ? "not sampled" : "not built");
        page_printf(&b, "<td>%zu</td>", json_array_size(json_object_get(rtl, "samples")));
        page_cell_num(&b, res, "lut", "%.0f");
        page_cell_num(&b, res, "lutram", "%.0f");
        page_cell_num(&b, res, "ff", "%.0f");
        page_cell_num(&b, res, "dsp", "%.0f");
        page_cell_num(&b, res, "bram36", "%.1f");
        page_cell_num(&b, res, "uram", "%.0f");
        page_puts(&b, "<td class=\"l\">");
        if (json_is_object(res)) {
            page_esc(&b, json_string_value(json_object_get(res, "tool")));
        } else {
            page_esc(&b, json_string_value(json_object_get(ja, "resources_note")));
        }
        page_puts(&b, "</td></tr>\n");
    }
    page_puts(&b, "</table>\n");
    /* boards */
    page_puts(&b, "<h2>Projected onto each board</h2>\n<p class=\"note\">Latency and throughput: the analytic cycle "
               "model at the board's kernel clock and memory rate (projected, not measured). Energy: modelled, "
               "the kernel's dynamic energy from per-action energies (a lower bound); bound: the board's power "
               "limit for that latency (an upper bound). Bold rows are on the Pareto front of latency, energy and "
               "LUTs among the points that fit.</p>\n");
    {
        const char *prov = loom_cli_dse_first(root, "boards", "energy_provenance");
        if (prov) {
            page_puts(&b, "<p class=\"note\">Energy ");
            page_esc(&b, prov);
            page_puts(&b, "; the last column gives the scaling of on-chip energies per board.</p>\n");
        }
    }
    page_puts(&b, "<table><tr><th class=\"l\">array</th><th class=\"l\">board"
               "</th><th>clock MHz</th><th>latency ms</th><th>inferences/s</th><th>energy mJ</th><th>MAC mJ</th>"
               "<th>scratchpad mJ</th><th>memory mJ</th><th>inferences/J</th><th>bound mJ</th><th>fits</th>"
               "<th class=\"l\">tightest resource</th><th>on-chip energy scale</th></tr>\n");
    json_array_foreach(json_object_get(root, "arrays"), i, ja) {
        char label[16];
        array_label(ja, label, sizeof label);
        json_array_foreach(json_object_get(ja, "boards"), k, jb) {
            const json_t *fit = json_object_get(jb, "fit");
            page_printf(&b, "<tr%s><td class=\"l\">%s</td><td class=\"l\">",
                     json_is_true(json_object_get(jb, "pareto")) ? " class=\"pareto\"" : "", label);
            page_esc(&b, json_string_value(json_object_get(jb, "board")));
            page_puts(&b, "</td>");
            page_cell_num(&b, jb, "kernel_clock_mhz", "%.0f");
            page_cell_num(&b, jb, "latency_ms", "%.4g");
            page_cell_num(&b, jb, "inferences_per_second", "%.4g");
            page_cell_num(&b, jb, "energy_mj", "%.4g");
            page_cell_num(&b, jb, "energy_mac_mj", "%.3g");
            page_cell_num(&b, jb, "energy_spad_mj", "%.3g");
            page_cell_num(&b, jb, "energy_dram_mj", "%.3g");
            page_cell_num(&b, jb, "inferences_per_joule", "%.4g");
            page_cell_num(&b, jb, "energy_bound_mj", "%.4g");
            if (json_is_object(fit)) {
                page_printf(&b, "<td>%s</td><td class=\"l\">%s", json_is_true(json_object_get(fit, "fits")) ? "yes" :
                         "<b>no</b>", json_string_value(json_object_get(fit, "tightest")));
                if (page_has_num(fit, "tightest_share"))
                    page_printf(&b, " %.1f%%", 100 * page_num(fit, "tightest_share"));
                page_puts(&b, "</td>");
            } else {
                page_puts(&b, "<td>not known</td><td class=\"l\">-</td>");
            }
            page_cell_num(&b, jb, "energy_scale", "x%.3f");
            page_puts(&b, "</tr>\n");
        }
    }
    page_puts(&b, "</table>\n<p class=\"note\">Written by loom dse --report; dse.json beside this page has every "
               "figure, dse.csv one row per array and board.</p>\n");
    page_finish(&b, copy, "dse", page_js);
    json_decref(copy);
    return page_write(&b, path);
}

int loom_cli_dse_report(const json_t *root, const char *dir)
{
    return page_report(root, dir, "dse", write_csv, write_html);
}
