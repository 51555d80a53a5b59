#!/bin/sh
# man-include.sh LOOM OUT - help2man's include file for loom.1: one
# section per command, each command's own --help text (the man page is
# made from the --help texts, so it cannot drift from them).
set -eu
loom=$1 out=$2
{
    echo "[COMMANDS]"
    for cmd in info run devices partition validate quantize boards "sim gemm" dse bench; do
        echo ".SS loom $cmd"
        echo ".nf"
        # roff: a leading dot or quote would be a request; backslashes escaped
        $loom $cmd --help | sed -e 's/\\/\\\\/g' -e "s/^\([.']\)/\\\\\&\1/"
        echo ".fi"
    done
    echo "[SEE ALSO]"
    echo "The README of the loom repository; loom help COMMAND."
} >"$out"
