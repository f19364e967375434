#!/usr/bin/env bash
# Runs the grid's scale-out paths for real on this machine and checks that they give the
# one-shot grid's tables: scripts/grid-slurm.sh on a single-node Slurm (slurmctld + slurmd on
# localhost, started here and stopped after) and scripts/grid-parallel.sh with GNU parallel,
# each on a tiny grid (text bag, demo data, 1 run, 1 epoch: 8 jobs).
#
#   scripts/cluster-check.sh        (GAPLAB_SLURM=1 scripts/test.sh runs it after the tests)
#
# Installs, as root (or with sudo), Debian's slurm-wlm, munge and parallel when they are
# missing. Everything else lives in a temporary folder, removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
# The same as a command prefix, for daemons started in the background: `$!` is then the daemon
# (or sudo, which passes signals on), not a subshell.
root=()
[ "$(id -u)" = 0 ] || root=(sudo)

need=()
command -v slurmctld >/dev/null 2>&1 || need+=(slurm-wlm)
command -v munged >/dev/null 2>&1 || need+=(munge)
command -v parallel >/dev/null 2>&1 || need+=(parallel)
if ((${#need[@]})); then
  echo "== apt-get install ${need[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
fi

cargo build --bin gaplab
bin="$CARGO_TARGET_DIR/debug/gaplab"
grid=(--task text --arch bag --runs 1 --epochs 1 --seed 3)

tmp=$(mktemp -d /tmp/gaplab-cluster.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do as_root kill "$p" 2>/dev/null || true; done
  # Until they have gone (slurmctld stops its slurmscriptd on the way), at most 10 s.
  for p in "${pids[@]}"; do
    for _ in $(seq 50); do as_root kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
  done
  wait 2>/dev/null || true
  as_root rm -rf "$tmp"
}
trap cleanup EXIT

echo "== the one-shot grid (reference)"
start=$(date +%s)
"$bin" grid "${grid[@]}" --out "$tmp/oneshot" --quiet
echo "one-shot: $(($(date +%s) - start)) s"

echo "== scripts/grid-parallel.sh (GNU parallel, 2 jobs at a time)"
start=$(date +%s)
JOBS=2 scripts/grid-parallel.sh "${grid[@]}" --out "$tmp/parallel"
echo "parallel: $(($(date +%s) - start)) s"
cmp "$tmp/oneshot/tables.md" "$tmp/parallel/tables.md"
echo "grid-parallel.sh: tables.md equals the one-shot grid's"

echo "== a single-node Slurm on localhost"
# munge authenticates Slurm's daemons to each other: a fresh key, its own socket and files.
mkdir -p "$tmp/munge" "$tmp/slurm/state" "$tmp/slurm/spool"
as_root chown -R "$(id -u)" "$tmp"
chmod 700 "$tmp/munge"
dd if=/dev/urandom of="$tmp/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$tmp/munge/munge.key"
munged --key-file="$tmp/munge/munge.key" --socket="$tmp/munge/socket" --pid-file="$tmp/munge/pid" \
  --log-file="$tmp/munge/log" --seed-file="$tmp/munge/seed" --force
pids+=("$(cat "$tmp/munge/pid")")
cpus=$(nproc)
mem=$(($(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 / 2))
user=$(id -un)
cat > "$tmp/slurm/slurm.conf" <<EOF
ClusterName=gaplab-check
SlurmctldHost=localhost
SlurmUser=$user
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$tmp/munge/socket
CredType=cred/munge
StateSaveLocation=$tmp/slurm/state
SlurmdSpoolDir=$tmp/slurm/spool
SlurmctldPidFile=$tmp/slurm/slurmctld.pid
SlurmdPidFile=$tmp/slurm/slurmd.pid
SlurmctldLogFile=$tmp/slurm/slurmctld.log
SlurmdLogFile=$tmp/slurm/slurmd.log
SlurmctldPort=16817
SlurmdPort=16818
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
NodeName=localhost CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=check Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF="$tmp/slurm/slurm.conf"
# Ports of their own, so that a cluster this machine may belong to is not disturbed; -D keeps
# each in the foreground, so that killing the pid stops it.
"${root[@]}" env SLURM_CONF="$SLURM_CONF" slurmctld -D -i >"$tmp/slurm/ctld.out" 2>&1 &
pids+=($!)
"${root[@]}" env SLURM_CONF="$SLURM_CONF" slurmd -D >"$tmp/slurm/d.out" 2>&1 &
pids+=($!)
for _ in $(seq 60); do
  sinfo -h -o '%T' 2>/dev/null | grep -qE '^(idle|mixed)' && break
  sleep 1
done
sinfo -h -o '%T' | grep -qE '^(idle|mixed)' || {
  echo "error: the Slurm node did not come up" >&2
  cat "$tmp/slurm/slurmctld.log" "$tmp/slurm/slurmd.log" "$tmp/slurm/ctld.out" "$tmp/slurm/d.out" >&2 || true
  exit 1
}
sinfo

echo "== scripts/grid-slurm.sh (job array + merge)"
start=$(date +%s)
SBATCH_ARGS="--cpus-per-task=1" scripts/grid-slurm.sh "${grid[@]}" --out "$tmp/slurm-grid"
while squeue -h | grep -q .; do sleep 2; done
echo "slurm: $(($(date +%s) - start)) s"
[ -f "$tmp/slurm-grid/tables.md" ] || { echo "error: the merge job wrote no tables.md" >&2; cat "$tmp"/slurm-grid/slurm-*.log >&2 || true; exit 1; }
cmp "$tmp/oneshot/tables.md" "$tmp/slurm-grid/tables.md"
echo "grid-slurm.sh: tables.md equals the one-shot grid's ($(ls "$tmp"/slurm-grid/rows | wc -l) array tasks)"
echo "cluster check passed"
