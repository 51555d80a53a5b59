#!/bin/sh
# rtl-rejects.sh MESSAGE VERILATOR-ARGS... - pass when verilator refuses to
# elaborate rtl/ with these parameters and says MESSAGE.
msg=$1
shift
out=$(verilator --lint-only "$@" 2>&1)
rc=$?
if [ $rc -eq 0 ]; then
    echo "verilator accepted the parameters: $*"
    exit 1
fi
case $out in
*"$msg"*) echo "refused as expected: $msg" ;;
*) printf 'verilator failed without the expected sentence "%s":\n%s\n' "$msg" "$out"; exit 1 ;;
esac
