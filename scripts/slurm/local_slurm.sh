#!/usr/bin/env bash
# A throw-away single-node SLURM cluster on localhost, for testing the slurm profile.
#
#   scripts/slurm/local_slurm.sh start  DIR   # install (apt) if missing, configure, start, wait idle
#   scripts/slurm/local_slurm.sh status DIR   # sinfo + squeue of that cluster; exit 0 when it answers
#   scripts/slurm/local_slurm.sh stop   DIR   # cancel jobs, stop the daemons, delete DIR
#   scripts/slurm/local_slurm.sh env    DIR   # print the `export SLURM_CONF=... PATH=DIR/bin:...` line
#
# Environment: LOCAL_SLURM_CPUS, LOCAL_SLURM_MEM_MB (node size to advertise; default: this
# machine's, from `slurmd -C`), LOCAL_SLURM_WAIT_S (seconds to wait for the node, default 60).
#
# Everything lives in DIR: slurm.conf, gres.conf, a private munge key and socket, state, spool,
# logs and the job-completion record (DIR/log/jobcomp.txt). Nothing is written to /etc, so a
# system SLURM or munge, if any, is left alone. Client commands (sbatch, squeue, sinfo) find
# this cluster through SLURM_CONF=DIR/slurm.conf, or through the wrappers in DIR/bin (put it
# first on PATH: see write_wrappers). `start` prints the export line to eval.
#
# The cluster has no cgroups (proctrack/linuxproc, task/none) and no accounting database
# (accounting_storage/none): `sacct` does not work on it, query job status with `squeue`
# (MinJobAge below keeps finished jobs visible to squeue for 10 minutes).
# The node advertises one placeholder GPU (gres gpu:1, device file /dev/null), so jobs that request
# `--gpus=1` or `--gres=gpu:1` are scheduled exactly as on a GPU cluster; they see no CUDA.
#
# Needs root (the daemons run as root, and apt-get installs slurm-wlm + munge when missing).
# Exit codes: 0 ok, 1 usage, 3 cannot install, 4 cannot start.
set -euo pipefail

usage() {
  sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 1
}

[ $# -eq 2 ] || usage
ACTION=$1
DIR=$2
WAIT_S=${LOCAL_SLURM_WAIT_S:-60}

log() { echo "local_slurm: $*" >&2; }
die() {
  local code=$1
  shift
  log "error: $*"
  exit "$code"
}

# A TCP port on 127.0.0.1 that nothing listens on (bash /dev/tcp probe; no extra tools).
free_port() {
  local port tries=0
  while [ $tries -lt 200 ]; do
    port=$((20000 + RANDOM % 30000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return 0
    fi
    tries=$((tries + 1))
  done
  return 1
}

install_if_missing() {
  local missing=()
  command -v slurmctld >/dev/null || missing+=(slurmctld)
  command -v slurmd >/dev/null || missing+=(slurmd)
  command -v sbatch >/dev/null || missing+=(slurm-client)
  command -v munged >/dev/null || missing+=(munge)
  [ ${#missing[@]} -eq 0 ] && return 0
  [ "$(id -u)" -eq 0 ] || die 3 "SLURM is not installed (${missing[*]} missing) and we are not root to apt-get it"
  command -v apt-get >/dev/null || die 3 "SLURM is not installed and apt-get is not available (not Debian/Ubuntu)"
  log "installing slurm-wlm and munge with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >"$DIR/apt.log" 2>&1 || die 3 "apt-get update failed: $(tail -n 3 "$DIR/apt.log")"
  apt-get install -y -qq --no-install-recommends slurm-wlm munge >>"$DIR/apt.log" 2>&1 ||
    die 3 "apt-get install slurm-wlm munge failed: $(tail -n 3 "$DIR/apt.log")"
}

write_config() {
  local host node_line ctld_port d_port
  host=$(hostname -s)
  # `slurmd -C` prints this machine's CPUs, sockets, cores and RealMemory (MB) as a node line.
  node_line=$(slurmd -C | head -1)
  [[ $node_line == NodeName=* ]] || die 4 "slurmd -C gave no node line: $node_line"
  # LOCAL_SLURM_CPUS / LOCAL_SLURM_MEM_MB advertise a bigger node than the machine (oversubscribed,
  # SlurmdParameters=config_overrides), so a profile written for real cluster nodes fits.
  if [ -n "${LOCAL_SLURM_CPUS:-}" ] || [ -n "${LOCAL_SLURM_MEM_MB:-}" ]; then
    local cpus mem
    cpus=${LOCAL_SLURM_CPUS:-$(sed -n 's/.* CPUs=\([0-9]*\).*/\1/p' <<<"$node_line")}
    mem=${LOCAL_SLURM_MEM_MB:-$(sed -n 's/.* RealMemory=\([0-9]*\).*/\1/p' <<<"$node_line")}
    node_line="NodeName=$host CPUs=$cpus RealMemory=$mem"
  fi
  ctld_port=$(free_port) || die 4 "no free TCP port for slurmctld"
  d_port=$(free_port) || die 4 "no free TCP port for slurmd"
  while [ "$d_port" = "$ctld_port" ]; do d_port=$(free_port) || die 4 "no free TCP port for slurmd"; done
  cat >"$DIR/slurm.conf" <<EOF
# Single-node test cluster written by scripts/slurm/local_slurm.sh; see that script.
ClusterName=molprobe
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$d_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$DIR/munge/munge.socket
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/run/slurmctld.pid
SlurmdPidFile=$DIR/run/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
PlugStackConfig=$DIR/plugstack.conf
# no cgroups: plain process tracking, no task binding, no accounting daemon
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$DIR/log/jobcomp.txt
MpiDefault=none
SwitchType=switch/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
# finished jobs stay visible to squeue for 10 min (the plugin's squeue status needs >= 3x its poll delay)
MinJobAge=600
SlurmdTimeout=60
SlurmdParameters=config_overrides
InactiveLimit=0
KillWait=5
GresTypes=gpu
$node_line NodeAddr=127.0.0.1 Gres=gpu:1 State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
  # One placeholder GPU: gres/gpu wants a device file, /dev/null stands in (scheduling only).
  echo "NodeName=$host Name=gpu File=/dev/null" >"$DIR/gres.conf"
  : >"$DIR/plugstack.conf"
}

start_munge() {
  mkdir -p "$DIR/munge"
  chmod 700 "$DIR/munge"
  dd if=/dev/urandom of="$DIR/munge/munge.key" bs=1024 count=1 status=none
  chmod 400 "$DIR/munge/munge.key"
  munged --force \
    --socket="$DIR/munge/munge.socket" \
    --key-file="$DIR/munge/munge.key" \
    --pid-file="$DIR/run/munged.pid" \
    --log-file="$DIR/log/munged.log" \
    --seed-file="$DIR/munge/munged.seed" ||
    die 4 "munged did not start: $(tail -n 3 "$DIR/log/munged.log" 2>/dev/null)"
  if command -v munge >/dev/null && command -v unmunge >/dev/null; then
    munge -n -S "$DIR/munge/munge.socket" | unmunge -S "$DIR/munge/munge.socket" >/dev/null ||
      die 4 "munge round trip failed: $(tail -n 3 "$DIR/log/munged.log")"
  fi
}

# DIR/bin/<command> wrappers that pin SLURM_CONF: the executor plugin's job step strips every
# SLURM_* variable (SLURM_CONF included) before its inner `srun`, which would then look for
# /etc/slurm/slurm.conf. With DIR/bin first on PATH every client finds this cluster.
write_wrappers() {
  local cmd real
  mkdir -p "$DIR/bin"
  for cmd in sbatch srun squeue sinfo scancel scontrol sacct sacctmgr sshare; do
    real=$(command -v "$cmd") || continue
    printf '#!/bin/sh\nSLURM_CONF=%s exec %s "$@"\n' "$DIR/slurm.conf" "$real" >"$DIR/bin/$cmd"
    chmod 755 "$DIR/bin/$cmd"
  done
}

node_state() {
  sinfo --noheader --format=%T 2>/dev/null | head -1 | tr -d '*~#!%$@^-' || true
}

start() {
  if [ -f "$DIR/run/slurmctld.pid" ] && kill -0 "$(cat "$DIR/run/slurmctld.pid")" 2>/dev/null; then
    die 4 "a cluster already runs from $DIR (stop it first)"
  fi
  [ "$(id -u)" -eq 0 ] || die 4 "starting the test cluster needs root (daemons run as root)"
  mkdir -p "$DIR"
  DIR=$(cd "$DIR" && pwd)
  install_if_missing
  mkdir -p "$DIR/state" "$DIR/spool" "$DIR/run" "$DIR/log"
  write_config
  write_wrappers
  export SLURM_CONF="$DIR/slurm.conf"
  start_munge
  slurmctld -f "$SLURM_CONF" -i ||
    die 4 "slurmctld did not start: $(tail -n 5 "$DIR/log/slurmctld.log" 2>/dev/null)"
  slurmd -f "$SLURM_CONF" -N "$(hostname -s)" ||
    die 4 "slurmd did not start: $(tail -n 5 "$DIR/log/slurmd.log" 2>/dev/null)"
  local waited=0 state=""
  while [ $waited -lt "$WAIT_S" ]; do
    state=$(node_state)
    [ "$state" = idle ] && break
    for daemon in slurmctld slurmd munged; do
      if ! kill -0 "$(cat "$DIR/run/$daemon.pid" 2>/dev/null || echo 0)" 2>/dev/null; then
        local why
        why=$(grep -h -E "fatal|error" "$DIR/log/$daemon.log" 2>/dev/null | tail -n 1)
        stop_daemons
        die 4 "$daemon exited: ${why:-see $DIR/log/$daemon.log}"
      fi
    done
    sleep 1
    waited=$((waited + 1))
  done
  if [ "$state" != idle ]; then
    log "node state after ${WAIT_S}s: '${state}'"
    tail -n 5 "$DIR/log/slurmctld.log" "$DIR/log/slurmd.log" >&2 || true
    stop_daemons
    die 4 "the node did not become idle within ${WAIT_S}s"
  fi
  log "cluster up in $DIR after ${waited}s: $(sinfo --noheader --format='%P %D %c cpus %m MB %G %T')"
  print_env
}

print_env() {
  echo "export SLURM_CONF=$DIR/slurm.conf PATH=$DIR/bin:\$PATH"
}

stop_pidfile() {
  local file=$1 pid n=0
  [ -f "$file" ] || return 0
  pid=$(cat "$file")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null && [ $n -lt 20 ]; do
      sleep 0.5
      n=$((n + 1))
    done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$file"
}

stop_daemons() {
  export SLURM_CONF="$DIR/slurm.conf"
  if [ -f "$DIR/run/slurmctld.pid" ] && kill -0 "$(cat "$DIR/run/slurmctld.pid")" 2>/dev/null; then
    # let slurmd take down job steps (slurmstepd) cleanly before the daemons go
    timeout 20 scancel --quiet --user "$(id -un)" 2>/dev/null || true
    local n=0
    while [ -n "$(timeout 5 squeue --noheader --states=RUNNING,COMPLETING --format=%i 2>/dev/null)" ] && [ $n -lt 20 ]; do
      sleep 0.5
      n=$((n + 1))
    done
  fi
  stop_pidfile "$DIR/run/slurmd.pid"
  stop_pidfile "$DIR/run/slurmctld.pid"
  stop_pidfile "$DIR/run/munged.pid"
}

stop() {
  [ -d "$DIR" ] || return 0
  DIR=$(cd "$DIR" && pwd)
  stop_daemons
  rm -rf "$DIR"
  log "stopped and removed $DIR"
}

status() {
  DIR=$(cd "$DIR" && pwd)
  export SLURM_CONF="$DIR/slurm.conf"
  sinfo && squeue --states=all
}

case "$ACTION" in
start) start ;;
stop) stop ;;
status) status ;;
env)
  DIR=$(cd "$DIR" && pwd)
  print_env
  ;;
*) usage ;;
esac
