#!/bin/sh
# rtl-equiv.sh SOURCE_DIR - loom_spad's simulated and synthesised
# descriptions, compared under Icarus Verilog on random traffic
# (tests/rtl/tb_spad_equiv.sv); 77 (skipped) without iverilog.
set -eu
src=$1
if ! command -v iverilog >/dev/null 2>&1 || ! command -v vvp >/dev/null 2>&1; then
    echo "skipped: Icarus Verilog (iverilog, vvp) is not installed (Debian package iverilog)"
    exit 77
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
iverilog -g2012 -I"$src/rtl" -s tb_spad_equiv -o "$out/tb.vvp" "$src/tests/rtl/tb_spad_equiv.sv" \
    "$src/rtl/loom_spad.sv" 2>"$out/log" || { cat "$out/log" >&2; exit 1; }
vvp -n "$out/tb.vvp" >"$out/run" 2>&1 || { cat "$out/run"; exit 1; }
grep '^tb_spad_equiv:' "$out/run"
grep -q '^tb_spad_equiv: PASS' "$out/run"
