#!/usr/bin/env bash
# wgflow's Slurm job arrays on a real single-node Slurm cluster (`make slurm-test`).
#
#   scripts/slurm-test.sh PATH/TO/wgflow
#
# Installs Debian's slurm-wlm and munge when missing, starts munged, slurmctld
# and slurmd on this machine (.ci/slurm/cluster.sh, .ci/slurm/slurm.conf.in),
# and then:
#
#  1. emits a sweep with `wgflow sweep --emit slurm` (ring, methods w1fe-lp and
#     wgan-gp, seeds 0 and 1, one CPU per task) and submits it with sbatch;
#  2. cancels one task mid-run (scancel: SIGTERM, wgflow writes a checkpoint
#     of its last epoch and exits 75);
#  3. resubmits the same script and waits: every run finished, the cancelled
#     one resumed from its checkpoint, and its history equals an uninterrupted
#     run's (all columns but the wall-clock seconds); `wgflow compare`
#     summarises the grid;
#  4. meanwhile, a task with a one-minute time limit: Slurm's pre-timeout
#     SIGUSR1 (--signal-before 20) makes wgflow checkpoint and exit 75, the
#     script requeues the task, which resumes; it ends identical to an
#     uninterrupted run.
#
# Stops every daemon it started (and cancels its jobs) on exit. Where the
# daemons cannot run (not root, no apt-get, not Debian), it says so and exits
# 0, or 1 when CI is set. WGFLOW_SLURM_EPOCHS (default 300) sets the sweep's
# epochs, WGFLOW_SLURM_TIMEOUT_EPOCHS the time-limited run's (default: about
# 70 s of training, measured by a short local run first; it must train longer
# than 40 s, as Slurm sends the signal 10 to 40 s after the start);
# WGFLOW_SLURM_KEEP=1 keeps the state directory.
set -euo pipefail

T0=$(date +%s)
log() { printf '[%4ds] %s\n' "$(($(date +%s) - T0))" "$*"; }
fail() { log "FAIL: $*"; exit 1; }
skip() {
  if [ -n "${CI:-}" ]; then echo "slurm-test: FAIL (CI is set): $*" >&2; exit 1; fi
  echo "slurm-test: skipped: $*"
  exit 0
}

ROOT=$(cd "$(dirname "$0")/.." && pwd)
WGFLOW=${1:?usage: scripts/slurm-test.sh PATH/TO/wgflow}
[ -x "$WGFLOW" ] || { echo "slurm-test: $WGFLOW is not an executable" >&2; exit 1; }
WGFLOW=$(realpath "$WGFLOW")

[ "$(uname -s)" = Linux ] || skip "Slurm's daemons run on Linux only"
[ "$(id -u)" = 0 ] || skip "starting munged, slurmctld and slurmd needs root"
{ [ -f /etc/debian_version ] && command -v apt-get >/dev/null; } || skip "installing slurm-wlm and munge needs Debian's apt-get"
command -v python3 >/dev/null || skip "the checks need python3"

source "$ROOT/.ci/slurm/cluster.sh"
cluster_install || fail "apt-get install slurm-wlm munge failed"

STATE=$(mktemp -d /tmp/wgflow-slurm.XXXXXX)
JOBS=()
finish() {
  local rc=$?
  set +e
  if [ ${#JOBS[@]} -gt 0 ]; then
    scancel "${JOBS[@]}" 2>/dev/null
    cluster_wait_for 60 bash -c '[ -z "$(squeue -h -j '"$(IFS=,; echo "${JOBS[*]}")"' 2>/dev/null)" ]'
  fi
  cluster_stop
  if [ "$rc" != 0 ] || [ -n "${WGFLOW_SLURM_KEEP:-}" ]; then
    [ "$rc" != 0 ] && tail -n 20 "$STATE/slurmctld.log" "$STATE/slurmd.log" 2>/dev/null
    log "state, logs and runs kept in $STATE"
  else
    rm -rf "$STATE"
  fi
  log "daemons stopped; slurm-test $([ "$rc" = 0 ] && echo passed || echo FAILED) in $(($(date +%s) - T0)) s"
}
trap finish EXIT
trap 'exit 130' INT TERM

log "starting munged, slurmctld and slurmd ($(slurmctld -V)) in $STATE"
cluster_start "$STATE" || fail "the cluster did not start"
log "cluster up: $(sinfo -h -N -o '%N %c CPUs %m MB %P %t')"

WORK=$STATE/work
mkdir -p "$WORK"
EPOCHS=${WGFLOW_SLURM_EPOCHS:-300}
TEPOCHS=${WGFLOW_SLURM_TIMEOUT_EPOCHS:-}
CKPT=20
export OMP_NUM_THREADS=1 # the local reference runs: one thread, as the tasks

# Waits (at most $1 s) until none of the jobs "${@:2}" is pending or running.
wait_jobs() {
  local limit=$1; shift
  local ids
  ids=$(IFS=,; echo "$*")
  for _ in $(seq "$limit"); do
    [ -z "$(squeue -h -j "$ids" 2>/dev/null)" ] && return 0
    sleep 1
  done
  squeue -j "$ids"
  fail "jobs $ids still queued after $limit s"
}
json() { python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$@"; }
# history.csv without its seconds column (the wall clock differs between runs).
history_but_seconds() { cut -d, -f1,3- "$1/history.csv"; }

# 4. The pre-timeout signal: submitted first, so that its requeue waits overlap the sweep.
if [ -z "$TEPOCHS" ]; then
  # About 70 s of training at this machine's speed (one thread).
  "$WGFLOW" run --config "$ROOT/.ci/slurm/sweep.toml" --epochs 60 --out "$WORK/calibrate" --device cpu --quiet >/dev/null
  read -r SECS TEPOCHS < <(python3 -c 'import csv, sys
s = float(list(csv.DictReader(open(sys.argv[1])))[-1]["seconds"])
print(f"{s:.2f}", max(600, round(60 / s * 70 / 10) * 10))' "$WORK/calibrate/history.csv")
  log "calibration: 60 epochs in $SECS s of training here; the time-limited run gets $TEPOCHS epochs (about 70 s)"
fi
"$WGFLOW" sweep "$ROOT/.ci/slurm/sweep.toml" --methods w1fe-lp --seeds 7 --epochs "$TEPOCHS" \
  --checkpoint-every 50 --out "$WORK/timeout" --emit slurm --time 1:00 --signal-before 20 \
  --job-name wgflow-timeout >/dev/null
TJOB=$(sbatch --parsable "$WORK/timeout/sweep.slurm")
JOBS+=("$TJOB")
TDIR=$WORK/timeout/w1fe-lp/k1/seed7
log "submitted job $TJOB: 1 task, --time 1:00, SIGUSR1 20 s before the limit ($TEPOCHS epochs, $TDIR)"

# 1. The sweep.
log "wgflow sweep .ci/slurm/sweep.toml --methods w1fe-lp,wgan-gp --seeds 0..2 --epochs $EPOCHS --checkpoint-every $CKPT --emit slurm --partition cpu --cpus-per-task 1 --time 10:00"
"$WGFLOW" sweep "$ROOT/.ci/slurm/sweep.toml" --methods w1fe-lp,wgan-gp --seeds 0..2 --epochs "$EPOCHS" \
  --checkpoint-every "$CKPT" --out "$WORK/grid" --emit slurm --partition cpu --cpus-per-task 1 --time 10:00 |
  sed 's/^/    /'
grep '^#SBATCH' "$WORK/grid/sweep.slurm" | sed 's/^/    /'
JOB1=$(sbatch --parsable "$WORK/grid/sweep.slurm")
JOBS+=("$JOB1")
log "submitted job $JOB1: 4 array tasks (2 methods × 2 seeds), 2 run at a time on 2 CPUs"

# 2. Cancel task 0 (w1fe-lp, seed 0) mid-run: after its second checkpoint, well before its end.
CDIR=$WORK/grid/w1fe-lp/k1/seed0
for i in $(seq 600); do
  LAST=$( [ -f "$CDIR/status.json" ] && json "$CDIR/status.json" epoch || echo 0)
  [ "$LAST" -ge $((2 * CKPT)) ] && break
  [ "$i" = 600 ] && fail "task ${JOB1}_0 did not reach epoch $((2 * CKPT)) in 5 minutes"
  sleep 0.5
done
scancel "${JOB1}_0"
log "scancel ${JOB1}_0 (w1fe-lp seed 0, running; its last periodic checkpoint: epoch $LAST of $EPOCHS)"
wait_jobs 900 "$JOB1"
[ "$(json "$CDIR/status.json" state)" = running ] || fail "the cancelled run is $(json "$CDIR/status.json" state)"
CUT=$(json "$CDIR/status.json" epoch)
log "job $JOB1 done; the cancelled run: $(json "$CDIR/status.json" message) (status.json: running, epoch $CUT)"
grep -h '^wgflow:\|^slurmstepd' "$WORK/grid/slurm-${JOB1}_0.out" | sed 's/^/    slurm-'"${JOB1}"'_0.out: /'
[ "$CUT" -lt "$EPOCHS" ] || fail "the cancel came too late (epoch $CUT)"
grep -q "stopped by SIGTERM after epoch $CUT" "$CDIR/status.json" || fail "no SIGTERM checkpoint in $CDIR/status.json"
for s in 0 1; do
  for m in w1fe-lp wgan-gp; do
    [ "$m/$s" = w1fe-lp/0 ] && continue
    [ "$(json "$WORK/grid/$m/k1/seed$s/status.json" state)" = finished ] || fail "$m seed $s did not finish in job $JOB1"
  done
done

# The uninterrupted reference of the cancelled run, here, while the resubmission runs.
"$WGFLOW" run --config "$CDIR/config.toml" --out "$WORK/ref-cancel" --checkpoint-every "$CKPT" --device cpu --quiet \
  >"$WORK/ref-cancel.log" 2>&1 &
REF1=$!

# 3. Resubmit the same script.
JOB2=$(sbatch --parsable "$WORK/grid/sweep.slurm")
JOBS+=("$JOB2")
log "resubmitted $WORK/grid/sweep.slurm: job $JOB2"
wait_jobs 900 "$JOB2"
log "job $JOB2 done"
for f in "$WORK"/grid/slurm-"${JOB2}"_*.out; do
  sed 's/^/    '"$(basename "$f")"': /' "$f"
done
grep -q "already finished" "$WORK/grid/slurm-${JOB2}_1.out" || fail "task 1 of the resubmission was not skipped"
for s in 0 1; do
  for m in w1fe-lp wgan-gp; do
    st=$(json "$WORK/grid/$m/k1/seed$s/status.json" state)
    [ "$st" = finished ] || fail "$m seed $s is $st after the resubmission"
  done
done
log "every run of the grid finished"
python3 - "$CDIR/history.csv" "$CUT" <<'EOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
cut = int(sys.argv[2])
before = [r for r in rows if int(r["epoch"]) <= cut][-1]
after = next(r for r in rows if int(r["epoch"]) > cut)
print(f"    resumed from the checkpoint of epoch {cut}: first epoch trained after the resume {cut + 1};")
print(f"    last evaluation before: epoch {before['epoch']}, {float(before['seconds']):.2f} s, W1 {float(before['w1']):.4f}")
print(f"    first evaluation after: epoch {after['epoch']}, {float(after['seconds']):.2f} s, W1 {float(after['w1']):.4f}")
EOF
wait "$REF1" || fail "the reference run failed: $(cat "$WORK/ref-cancel.log")"
if diff <(history_but_seconds "$WORK/ref-cancel") <(history_but_seconds "$CDIR") >/dev/null; then
  log "the cancelled and resumed run's history equals the uninterrupted run's: $(($(wc -l <"$CDIR/history.csv") - 1)) rows, all columns but seconds"
else
  diff <(history_but_seconds "$WORK/ref-cancel") <(history_but_seconds "$CDIR") | head -n 10
  fail "the resumed history differs from the uninterrupted run's"
fi

log "wgflow compare $WORK/grid"
"$WGFLOW" compare "$WORK/grid" --out "$WORK/compare" | sed 's/^/    /'
for m in w1fe-lp wgan-gp; do
  grep -q "^| $m | 1 | 2 |" "$WORK/compare/compare.md" || fail "compare.md has no row for $m, K=1, 2 runs"
done

# 4, continued: the time-limited task.
"$WGFLOW" run --config "$TDIR/config.toml" --out "$WORK/ref-timeout" --checkpoint-every 50 --device cpu --quiet \
  >"$WORK/ref-timeout.log" 2>&1 || fail "the reference run failed: $(cat "$WORK/ref-timeout.log")"
wait_jobs 1200 "$TJOB"
TOUT=$WORK/timeout/slurm-${TJOB}_0.out
sed 's/^/    slurm-'"${TJOB}"'_0.out: /' "$TOUT"
REQUEUES=$(grep -c "requeueing job" "$TOUT" || true)
[ "$REQUEUES" -ge 1 ] || fail "the time-limited task was never signalled before its limit (train longer: WGFLOW_SLURM_TIMEOUT_EPOCHS)"
! grep -q "DUE TO TIME LIMIT" "$TOUT" || fail "the time-limited task reached its limit"
[ "$(json "$TDIR/status.json" state)" = finished ] || fail "the time-limited run is $(json "$TDIR/status.json" state)"
if diff <(history_but_seconds "$WORK/ref-timeout") <(history_but_seconds "$TDIR") >/dev/null; then
  log "the time-limited run: SIGUSR1 before the limit, checkpoint, requeued $REQUEUES time(s), finished; its history equals the uninterrupted run's ($(($(wc -l <"$TDIR/history.csv") - 1)) rows, all columns but seconds)"
else
  diff <(history_but_seconds "$WORK/ref-timeout") <(history_but_seconds "$TDIR") | head -n 10
  fail "the requeued run's history differs from the uninterrupted run's"
fi
log "all checks passed"
