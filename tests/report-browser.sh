#!/bin/sh
# tests/report-browser.sh LOOM SHOT [dse|bench] - loom dse --report's page
# (or loom bench --report's) in headless Chromium (Debian's chromium): it
# loads from file:// with no script error, every chart has drawn (the page
# marks the body with how many canvases have pixels), it names no network
# resource, and its table holds the figures of dse.json (bench.json). The
# screenshot is kept at SHOT (an artifact in the build folder). 77
# (skipped) without chromium.
set -eu
loom=$1
shot=$2
what=${3:-dse}
src=$(cd "$(dirname "$0")/.." && pwd)
browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then
    echo "skipped: Chromium is not installed (Debian package chromium)"
    exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() {
    echo "FAIL: $*"
    exit 1
}
if [ "$what" = bench ]; then
    # the demo classifier, int8: measured on ref, projected onto an FPGA
    # card, a GPU and a CPU board
    "$loom" quantize "$src/examples/classifier/classifier.onnx" --calib "$src/examples/classifier/calib_x.npy" \
        -o "$tmp/q.onnx" >"$tmp/table" 2>"$tmp/err" || fail "loom quantize: $(cat "$tmp/err")"
    LOOM_SYSFS_ROOT=$tmp "$loom" bench "$tmp/q.onnx" --devices ref --boards u250,h100,epyc9654 --model \
        --duration 0.1 --repeats 1 --report "$tmp/r" >"$tmp/table" 2>"$tmp/err" ||
        fail "loom bench --report: $(cat "$tmp/err")"
    charts=3
else
    "$loom" dse --no-synth --gemm 64x48x200,17x9x33,100x16x64 --arrays 8x8,16x16,4x4 --boards u50,u250 \
        --report "$tmp/r" >"$tmp/table" 2>"$tmp/err" || fail "loom dse --report: $(cat "$tmp/err")"
    charts=3
fi
[ -s "$tmp/r/index.html" ] && [ -s "$tmp/r/$what.json" ] && [ -s "$tmp/r/$what.csv" ] || fail "report files missing"
# nothing fetched: no src or href naming a host
if grep -Eo '(src|href)="[a-z]+://[^"]*"' "$tmp/r/index.html" | grep -q .; then
    fail "the page names a network resource: $(grep -Eo '(src|href)="[a-z]+://[^"]*"' "$tmp/r/index.html" | head -1)"
fi
# a private profile; no network at all (a request would fail, and the
# page must not need one)
flags="--headless --no-sandbox --disable-gpu --no-first-run --user-data-dir=$tmp/profile --proxy-server=127.0.0.1:9"
# shellcheck disable=SC2086
timeout 120 "$browser" $flags --dump-dom "file://$tmp/r/index.html" >"$tmp/dom" 2>"$tmp/browser.log" ||
    fail "chromium --dump-dom failed: $(tail -3 "$tmp/browser.log")"
body=$(grep -o '<body[^>]*>' "$tmp/dom" | head -1)
case $body in
*data-chart-error*) fail "the page's script failed: $body" ;;
*"data-charts=\"$charts\""*) echo "charts drawn: $charts of $charts" ;;
*) fail "not every chart drew: $body" ;;
esac
# the table's latencies are dse.json's (as the page prints them: 4 digits)
if [ "$what" = bench ]; then
    /usr/bin/python3 - "$tmp/r/bench.json" "$tmp/dom" <<'PY' || fail "the page's table differs from bench.json"
import json, re, sys
d = json.load(open(sys.argv[1]))
dom = open(sys.argv[2]).read()
table = dom[dom.index("<h2>Every figure</h2>"):]
table = table[:table.index("</table>")]
rows = re.findall(r'<tr[^>]*><td class="l">(measured|projected)</td><td class="l">([^<]+)</td><td class="l">[^<]*'
                  r'</td><td>(\d+)</td><td>([^<]*)</td>((?:<td[^>]*>[^<]*</td>)+)</tr>', table)
def ms(r):
    l = r["latency_ms"]
    return l if isinstance(l, (int, float)) else l["p50"]
want = {("measured", r["device"]): r for r in d["devices"]}
want.update({("projected", r["board"]): r for r in d["projected"]})
got = {(r[0], r[1]): r for r in rows}
assert set(got) == set(want), (sorted(got), sorted(want))
for k, r in want.items():
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", got[k][4])
    lat = float(got[k][3])
    assert abs(lat - ms(r)) <= 5e-4 * ms(r), (k, lat, ms(r))
    # p90, p99, inferences/s, J/inference, above idle, energy source, inferences/J, bound
    j = float(cells[3])
    assert abs(j - r["energy"]["per_inference_j"]) <= 5e-4 * r["energy"]["per_inference_j"], (k, j)
    assert cells[5] == r["energy"]["source"], (k, cells[5])
    assert (cells[0] == "-") == r["projected"], (k, cells[0])
prov = dom[dom.index("<h2>Where each figure came from</h2>"):]
for r in d["devices"] + d["projected"]:
    assert r["latency_provenance"].replace("&", "&amp;") in prov, r["latency_provenance"]
print(f"table: {len(got)} rows equal bench.json's, each with its provenance")
PY
else
/usr/bin/python3 - "$tmp/r/dse.json" "$tmp/dom" <<'PY' || fail "the page's table differs from dse.json"
import json, re, sys
d = json.load(open(sys.argv[1]))
dom = open(sys.argv[2]).read()
rows = re.findall(r'<tr[^>]*><td class="l">(\d+x\d+)</td><td class="l">(\w+)</td><td>[^<]*</td><td>([^<]*)</td>', dom)
want = {(f"{a['rows']}x{a['cols']}", b['board']): b['latency_ms'] for a in d['arrays'] for b in a['boards']}
got = {(r[0], r[1]): float(r[2]) for r in rows}
assert set(got) == set(want), (sorted(got), sorted(want))
for k, v in want.items():
    assert abs(got[k] - v) <= 5e-4 * v, (k, got[k], v)
print(f"table: {len(got)} latencies equal dse.json's")
PY
fi
# shellcheck disable=SC2086
timeout 120 "$browser" $flags --hide-scrollbars --window-size=1400,1500 --screenshot="$shot" \
    "file://$tmp/r/index.html" >/dev/null 2>&1 || fail "no screenshot"
[ -s "$shot" ] || fail "the screenshot is empty"
echo "screenshot: $shot"
