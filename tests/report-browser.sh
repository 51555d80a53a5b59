#!/bin/sh
# tests/report-browser.sh LOOM SHOT - loom dse --report's page in headless
# Chromium (Debian's chromium): it loads from file:// with no script error,
# every chart has drawn (the page marks the body with how many canvases
# have pixels), it names no network resource, and its table holds the
# figures of dse.json. The screenshot is kept at SHOT (an artifact in the
# build folder). 77 (skipped) without chromium.
set -eu
loom=$1
shot=$2
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
"$loom" dse --no-synth --gemm 64x48x200,17x9x33,100x16x64 --arrays 8x8,16x16,4x4 --boards u50,u250 \
    --report "$tmp/r" >"$tmp/table" 2>"$tmp/err" || fail "loom dse --report: $(cat "$tmp/err")"
[ -s "$tmp/r/index.html" ] && [ -s "$tmp/r/dse.json" ] && [ -s "$tmp/r/dse.csv" ] || fail "report files missing"
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
*'data-charts="3"'*) echo "charts drawn: 3 of 3 (no resources with --no-synth)" ;;
*) fail "not every chart drew: $body" ;;
esac
# the table's latencies are dse.json's (as the page prints them: 4 digits)
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
# shellcheck disable=SC2086
timeout 120 "$browser" $flags --hide-scrollbars --window-size=1400,1500 --screenshot="$shot" \
    "file://$tmp/r/index.html" >/dev/null 2>&1 || fail "no screenshot"
[ -s "$shot" ] || fail "the screenshot is empty"
echo "screenshot: $shot"
