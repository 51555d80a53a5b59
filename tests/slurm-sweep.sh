#!/bin/sh
# tests/slurm-sweep.sh LOOM - loom dse's Slurm sweep on a real, single-node
# Slurm: munged, slurmctld and slurmd (Debian's munge and slurm-wlm) are
# started in a temporary folder on this machine, a 4-point sweep from
# `loom dse --emit slurm` runs as a job array, and `loom dse merge` must
# give exactly what `loom dse --jobs 2` prints (--json). Then a point is
# removed, as if its task had been killed, and submitting the sweep again
# runs that point alone. Exit 77 (CTest: skipped) with the reason when
# Slurm cannot start here (not root, a daemon missing, no node up).
set -u
loom=$1
skip() { echo "slurm-sweep: skipped: $*"; exit 77; }
fail() { echo "slurm-sweep: FAIL: $*"; [ -n "${tmp:-}" ] && tail -5 "$tmp"/*.log 2>/dev/null; exit 1; }

[ "$(id -u)" = 0 ] || skip "the daemons run as root here, and this is not root"
for p in munged slurmctld slurmd sbatch sinfo; do
    command -v "$p" >/dev/null 2>&1 || PATH=$PATH:/usr/sbin command -v "$p" >/dev/null 2>&1 ||
        skip "$p is not installed (apt-get install slurm-wlm munge)"
done
PATH=$PATH:/usr/sbin

tmp=$(mktemp -d /tmp/loom-slurm-XXXXXX)
pids=""
cleanup() {
    [ -n "$pids" ] && kill $pids 2>/dev/null
    sleep 1
    [ -n "$pids" ] && kill -9 $pids 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

# munge, private to this test
mkdir -p "$tmp/munge" "$tmp/state" "$tmp/spool"
chmod 700 "$tmp/munge"
dd if=/dev/urandom of="$tmp/munge/munge.key" bs=1024 count=1 2>/dev/null
chmod 400 "$tmp/munge/munge.key"
munged --force --key-file="$tmp/munge/munge.key" --socket="$tmp/munge/socket" \
    --pid-file="$tmp/munge/pid" --log-file="$tmp/munged.log" --seed-file="$tmp/munge/seed" ||
    skip "munged does not start: $(tail -1 "$tmp/munged.log" 2>/dev/null)"
pids="$(cat "$tmp/munge/pid")"

host=$(hostname -s)
base=$(( 20000 + $$ % 20000 ))
cat >"$tmp/slurm.conf" <<EOF
ClusterName=loomtest
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$base
SlurmdPort=$((base + 1))
AuthType=auth/munge
AuthInfo=socket=$tmp/munge/socket
StateSaveLocation=$tmp/state
SlurmdSpoolDir=$tmp/spool
SlurmctldPidFile=$tmp/slurmctld.pid
SlurmdPidFile=$tmp/slurmd.pid
SlurmctldLogFile=$tmp/slurmctld.log
SlurmdLogFile=$tmp/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
NodeName=$host CPUs=$(nproc) State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF="$tmp/slurm.conf"
slurmctld -i || skip "slurmctld does not start: $(tail -1 "$tmp/slurmctld.log" 2>/dev/null)"
sleep 1
slurmd || skip "slurmd does not start: $(tail -1 "$tmp/slurmd.log" 2>/dev/null)"
sleep 1
pids="$pids $(cat "$tmp/slurmctld.pid" 2>/dev/null) $(cat "$tmp/slurmd.pid" 2>/dev/null)"
up=""
for i in $(seq 1 30); do
    state=$(sinfo -h -N -o %t 2>/dev/null | head -1)
    case $state in idle*|mix*|alloc*) up=1; break ;; esac
    sleep 1
done
[ -n "$up" ] || skip "the node did not come up in 30 s (state '${state:-none}'): $(tail -1 "$tmp/slurmd.log" 2>/dev/null)"

args="--no-synth --gemm 64x48x200,17x9x33,100x16x64 --arrays 8x8,16x16,4x4,32x32 --boards u250,u50"
# one result to compare with, from two local processes (--jobs 2)
# shellcheck disable=SC2086
"$loom" dse $args --json --jobs 2 >"$tmp/whole.json" || fail "loom dse --jobs 2"
# shellcheck disable=SC2086
"$loom" dse $args --emit slurm "$tmp/sweep" >/dev/null || fail "loom dse --emit slurm"
sbatch --wait -Q "$tmp/sweep/sweep.sh" >/dev/null || fail "the job array failed: $(cat "$tmp"/sweep/slurm-*.log)"
for k in 000 001 002 003; do
    [ -f "$tmp/sweep/point-$k.json" ] || fail "point $k was not written"
done
"$loom" dse merge "$tmp/sweep" --json >"$tmp/merged.json" || fail "loom dse merge"
cmp -s "$tmp/whole.json" "$tmp/merged.json" || fail "the merged sweep differs from --jobs 2: $(diff "$tmp/whole.json" "$tmp/merged.json" | head -5)"

# a killed point: its file is gone; submitting again runs it alone
rm "$tmp/sweep/point-002.json" "$tmp"/sweep/slurm-*.log
sbatch --wait -Q "$tmp/sweep/sweep.sh" >/dev/null || fail "the second job array failed"
ran=$(grep -l "point-002.json: written" "$tmp"/sweep/slurm-*.log | wc -l)
kept=$(grep -l "done already" "$tmp"/sweep/slurm-*.log | wc -l)
[ "$ran" = 1 ] && [ "$kept" = 3 ] || fail "on resume $ran task(s) wrote point 2 and $kept skipped a done point (want 1 and 3)"
"$loom" dse merge "$tmp/sweep" --json >"$tmp/merged.json" || fail "loom dse merge after the resume"
cmp -s "$tmp/whole.json" "$tmp/merged.json" || fail "the resumed sweep differs from one run"
echo "slurm-sweep: a 4-point job array on single-node Slurm merged to --jobs 2's result; a removed point re-ran alone"
