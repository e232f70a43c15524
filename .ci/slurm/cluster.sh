# A single-node Slurm cluster on this machine, for scripts/slurm-test.sh.
# Sourced, not run. Needs root and Debian's slurm-wlm and munge.
#
#   cluster_install            apt-get install slurm-wlm munge when missing
#   cluster_start STATE_DIR    munged, slurmctld, slurmd with .ci/slurm/slurm.conf.in
#                              filled in under STATE_DIR; exports SLURM_CONF
#   cluster_stop               stops the daemons cluster_start started (by pid)
#
# Everything lives under STATE_DIR: the munge key and socket, the config, the
# daemons' state, logs and pid files. The ports (16817, 16818 unless
# WGFLOW_SLURM_PORTS="CTLD SLURMD") are not Slurm's defaults, so a cluster
# already running on the machine is left alone.

CLUSTER_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CLUSTER_PIDS=()

cluster_install() {
  local missing=()
  for cmd in slurmctld slurmd sbatch munged mungekey; do
    command -v "$cmd" >/dev/null || missing+=("$cmd")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "installing Debian's slurm-wlm and munge (missing: ${missing[*]})"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null
}

# Waits up to $1 seconds for the command "${@:2}" to succeed.
cluster_wait_for() {
  local t=$1; shift
  for _ in $(seq "$((t * 5))"); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  return 1
}

cluster_start() {
  local state=$1
  local ports=(${WGFLOW_SLURM_PORTS:-16817 16818})
  mkdir -p "$state/munge" "$state/ctld" "$state/slurmd"
  chmod 700 "$state/munge"
  # munged: our own key and socket (the socket's directory readable by all).
  mkdir -p "$state/munge-socket" && chmod 755 "$state" "$state/munge-socket"
  mungekey --create --keyfile="$state/munge/munge.key"
  local sock="$state/munge-socket/munge.socket"
  munged --force --socket="$sock" --key-file="$state/munge/munge.key" \
    --log-file="$state/munge/munged.log" --pid-file="$state/munge/munged.pid" \
    --seed-file="$state/munge/munged.seed"
  CLUSTER_PIDS+=("$(cat "$state/munge/munged.pid")")
  munge -n --socket="$sock" | unmunge --socket="$sock" >/dev/null ||
    { echo "munged does not answer on $sock" >&2; return 1; }

  # slurm.conf: this machine's node line (CPUs, sockets, cores, memory) from slurmd -C.
  local host node_line
  host=$(hostname -s)
  node_line=$(slurmd -C | head -1)
  case "$node_line" in NodeName=*) ;; *) echo "slurmd -C gave no node line: $node_line" >&2; return 1 ;; esac
  sed -e "s|@HOST@|$host|g" -e "s|@NODE@|$host|g" -e "s|@NODE_LINE@|$node_line|" \
    -e "s|@STATE@|$state|g" -e "s|@MUNGE_SOCKET@|$sock|g" \
    -e "s|@CTLD_PORT@|${ports[0]}|g" -e "s|@SLURMD_PORT@|${ports[1]}|g" \
    "$CLUSTER_DIR/slurm.conf.in" >"$state/slurm.conf"
  export SLURM_CONF="$state/slurm.conf"

  slurmctld -f "$SLURM_CONF" -i
  cluster_wait_for 20 test -s "$state/slurmctld.pid" || { echo "slurmctld did not start; see $state/slurmctld.log" >&2; return 1; }
  CLUSTER_PIDS+=("$(cat "$state/slurmctld.pid")")
  slurmd -f "$SLURM_CONF"
  cluster_wait_for 20 test -s "$state/slurmd.pid" || { echo "slurmd did not start; see $state/slurmd.log" >&2; return 1; }
  CLUSTER_PIDS+=("$(cat "$state/slurmd.pid")")
  # The node registers and becomes idle.
  cluster_wait_for 60 bash -c '[ "$(sinfo -h -N -o %t)" = idle ]' ||
    { echo "the node did not become idle: $(sinfo -N 2>&1)" >&2; return 1; }
}

cluster_stop() {
  local pid
  # Newest first: slurmd, slurmctld, munged.
  for ((i = ${#CLUSTER_PIDS[@]} - 1; i >= 0; i--)); do
    pid=${CLUSTER_PIDS[i]}
    kill "$pid" 2>/dev/null || continue
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null
  done
  CLUSTER_PIDS=()
}
