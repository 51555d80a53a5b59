#!/bin/sh
# sim/iverilog/run.sh ROWS COLS M N K [+check] - build rtl/ with Icarus
# Verilog (Debian iverilog) around tb_loom_kernel.sv and run one GEMM;
# prints the kernel's cycles and the wall time, for comparing simulation
# speed with the Verilator harness (loom sim gemm). Needs a configured
# build (for build/array-config/loom_config.svh): BUILD=build by default.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${BUILD:-$root/build}
rows=$1 cols=$2 M=$3 N=$4 K=$5
shift 5
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
iverilog -g2012 -I"$build/array-config" -I"$root/rtl" -Ptb_loom_kernel.ROWS="$rows" -Ptb_loom_kernel.COLS="$cols" \
    -s tb_loom_kernel -o "$out/tb.vvp" "$here/tb_loom_kernel.sv" "$root"/rtl/loom_*.sv 2>"$out/log" ||
    { cat "$out/log" >&2; exit 1; }
start=$(date +%s.%N)
vvp -n "$out/tb.vvp" +M="$M" +N="$N" +K="$K" "$@" | grep '^tb:'
end=$(date +%s.%N)
echo "tb: wall $(echo "$end - $start" | bc) s"
