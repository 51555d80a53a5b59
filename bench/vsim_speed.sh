#!/bin/sh
# bench/vsim_speed.sh [LOOM [BASELINE_LOOM]] [-- MODEL.onnx INPUT.npy]
#
# Simulation speed of the vsim device (a benchmark: it reports, it does not
# judge). For each loom binary given (default: build/loom), the median of
# five runs of
#   loom sim gemm -M 256 -N 256 -K 256 --json   (8x8 and 16x16 arrays)
# in simulated cycles per second (the harness's own clock: the simulation
# alone, not start-up), and with MODEL.onnx (an int8 QDQ model, e.g. from
# loom quantize) and INPUT.npy, the wall time of one inference with
# loom run --device vsim and the cycles per inference it reports. With a
# BASELINE_LOOM (an older build, say) each figure is printed for both,
# run in turn so that the machine's drift touches both alike.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
bins=""
model="" input=""
while [ $# -gt 0 ]; do
    case $1 in
    --) shift; model=${1:-}; input=${2:-}; break ;;
    *) bins="$bins $1"; shift ;;
    esac
done
[ -n "$bins" ] || bins=$root/build/loom
for b in $bins; do
    [ -x "$b" ] || { echo "vsim_speed: $b is not an executable loom" >&2; exit 2; }
done

speed() { # LOOM ARRAY -> cycles/s of one run (nothing when that size is not built)
    "$1" sim gemm -M 256 -N 256 -K 256 --array "$2" --reset-seed 5 --json 2>/dev/null |
        sed -n 's/.*"sim_cycles_per_second": *\([0-9.e+]*\).*/\1/p'
}
median5() { sort -g | sed -n 3p; }

printf '%-40s %-6s %s\n' "loom" "array" "simulated cycles/s (median of 5)"
for a in 8x8 16x16; do
    for b in $bins; do
        m=$(for i in 1 2 3 4 5; do speed "$b" "$a"; done | median5)
        if [ -n "$m" ]; then
            printf '%-40s %-6s %.0f\n' "$b" "$a" "$m"
        else
            printf '%-40s %-6s %s\n' "$b" "$a" "(not built, or the run failed)"
        fi
    done
done

if [ -n "$model" ]; then
    [ -f "$model" ] && [ -f "$input" ] || { echo "vsim_speed: need MODEL.onnx and INPUT.npy after --" >&2; exit 2; }
    out=$(mktemp -d)
    trap 'rm -rf "$out"' EXIT
    printf '\n%-40s %s\n' "loom" "one inference of $(basename "$model") on vsim"
    for b in $bins; do
        t0=$(date +%s.%N)
        "$b" run "$model" --input "$input" --device vsim --out "$out" >"$out/log"
        t1=$(date +%s.%N)
        cyc=$(sed -n 's/^simulated: \([0-9]*\) kernel cycles.*/\1/p' "$out/log")
        printf '%-40s %.1f s%s\n' "$b" "$(echo "$t1 - $t0" | bc)" "${cyc:+, $cyc cycles}"
    done
fi
