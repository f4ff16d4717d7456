#!/usr/bin/env bash
# local-slurm.sh — a single-node Slurm cluster (munged + slurmctld + slurmd) in a temporary folder,
# for aiart's Slurm tests (tests/slurm.rs). Debian's slurm-wlm 22.05, run as root, no systemd, no
# cgroups, no slurmdbd (so `sacct` says accounting is disabled, as on many small clusters).
#
#   eval "$(tools/local-slurm.sh start)"   start (idempotent; installs the packages when missing);
#                                          stdout is only `export SLURM_CONF=…` lines
#   tools/local-slurm.sh status            exit 0 when the cluster answers and its node is up
#   tools/local-slurm.sh stop              cancel every job, stop the daemons this script started
#
# Environment (all optional):
#   AIART_SLURM_DIR      state folder                      [<tmp>/aiart-local-slurm-<uid>]
#   AIART_SLURM_PORT     slurmctld port (slurmd: +1)       [16817]
#   AIART_SLURM_NO_INSTALL=1  fail instead of apt-get installing the packages
#
# The cluster's own timings are short so that the tests fit in a few minutes:
#   KillWait=5 (SIGTERM -> SIGKILL), cred_expire=10 (a requeued job may start again ~11 s later;
#   Slurm's default is 120 s), MinJobAge=300 (finished jobs stay visible to squeue for 5 minutes).
# Partitions: debug (default) and urgent, whose jobs preempt debug's (USR1, then TERM, requeue).
set -euo pipefail

ACTION="${1:-start}"
TMP="$(dirname "$(mktemp -u)")"
DIR="${AIART_SLURM_DIR:-$TMP/aiart-local-slurm-$(id -u)}"
PORT="${AIART_SLURM_PORT:-16817}"
CONF="$DIR/etc/slurm.conf"
NODE=localhost

say() { printf '[local-slurm] %s\n' "$*" >&2; }
pid_of() { [ -s "$DIR/run/$1.pid" ] && cat "$DIR/run/$1.pid" || true; }
alive() { local p; p="$(pid_of "$1")"; [ -n "$p" ] && kill -0 "$p" 2>/dev/null; }
node_state() { SLURM_CONF="$CONF" timeout 5 sinfo -h -N -n "$NODE" -o '%T' 2>/dev/null | head -n1 || true; }
up() {
  [ -f "$CONF" ] && alive munged && alive slurmctld && alive slurmd || return 1
  case "$(node_state)" in idle | mixed | allocated | completing) return 0 ;; *) return 1 ;; esac
}
exports() { printf 'export SLURM_CONF=%q\n' "$CONF"; }

install() {
  local c missing=""
  for c in slurmctld slurmd slurmstepd sbatch squeue sinfo scontrol scancel munged; do
    command -v "$c" >/dev/null 2>&1 || missing="$missing $c"
  done
  [ -z "$missing" ] && return 0
  if [ "${AIART_SLURM_NO_INSTALL:-0}" = 1 ] || [ "$(id -u)" != 0 ]; then
    say "missing:$missing (install slurmctld slurmd slurm-client munge as root)"
    exit 3
  fi
  say "installing slurmctld slurmd slurm-client munge"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >&2
  apt-get install -y -q --no-install-recommends slurmctld slurmd slurm-client munge >&2
}

configure() {
  if [ -d "$DIR" ]; then
    # only ever wipe a folder this script made
    [ -f "$DIR/.aiart-local-slurm" ] || { say "$DIR exists and was not made by this script"; exit 2; }
    rm -rf "$DIR"
  fi
  mkdir -p "$DIR"/{etc,log,run,ctld,spool,munge}
  touch "$DIR/.aiart-local-slurm"
  # munged: its key 0600 in a private folder; the socket's folders executable by everyone
  chmod 0755 "$DIR" "$DIR/run"
  chmod 0700 "$DIR/munge"
  head -c 1024 /dev/urandom >"$DIR/munge/munge.key"
  chmod 0600 "$DIR/munge/munge.key"
  local hw
  hw="$(slurmd -C | head -n1 | sed -e 's/^NodeName=[^ ]* //')" # as slurmd detects it, or the node drains
  cat >"$CONF" <<EOF
# written by aiart's tools/local-slurm.sh: a one-node test cluster
ClusterName=aiartlocal
SlurmctldHost=$NODE(127.0.0.1)
SlurmctldPort=$PORT
SlurmdPort=$((PORT + 1))
SlurmUser=$(id -un)
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$DIR/run/munge.socket,cred_expire=10
StateSaveLocation=$DIR/ctld
SlurmdSpoolDir=$DIR/spool/%n
SlurmctldPidFile=$DIR/run/slurmctld.pid
SlurmdPidFile=$DIR/run/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
MpiDefault=none
ReturnToService=2
PreemptType=preempt/partition_prio
PreemptMode=REQUEUE
SlurmctldParameters=preempt_send_user_signal
KillWait=5
MinJobAge=300
InactiveLimit=0
Waittime=0
NodeName=$NODE NodeAddr=127.0.0.1 $hw State=UNKNOWN
PartitionName=debug Nodes=$NODE Default=YES MaxTime=INFINITE State=UP PriorityTier=1 GraceTime=5
PartitionName=urgent Nodes=$NODE MaxTime=INFINITE State=UP PriorityTier=2 PreemptMode=OFF
EOF
}

start_daemons() {
  munged --socket="$DIR/run/munge.socket" --key-file="$DIR/munge/munge.key" \
    --log-file="$DIR/log/munged.log" --pid-file="$DIR/run/munged.pid" --seed-file="$DIR/munge/seed"
  SLURM_CONF="$CONF" slurmctld -i
  SLURM_CONF="$CONF" slurmd -N "$NODE"
  local i
  for ((i = 0; i < 300; i++)); do # 60 s
    [ "$(node_state)" = idle ] && { say "up in $DIR (node idle)"; return 0; }
    sleep 0.2
  done
  say "the node did not become idle in 60 s; logs in $DIR/log"
  tail -n 20 "$DIR/log/slurmctld.log" "$DIR/log/slurmd.log" >&2 || true
  return 1
}

stop_pid() { # pid, seconds before SIGKILL
  local pid="$1" i
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < $2 * 10; i++)); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
}

stop() {
  [ -d "$DIR/run" ] || return 0
  if alive slurmctld; then
    export SLURM_CONF="$CONF"
    local jobs pids="" i
    jobs="$(timeout 10 squeue -h -o '%A' 2>/dev/null | sort -u | tr '\n' ' ' || true)"
    # shellcheck disable=SC2086
    [ -n "${jobs// /}" ] && scancel $jobs 2>/dev/null || true
    # job processes belong to slurmstepd, which outlives slurmd: wait for them (bounded)
    for ((i = 0; i < 100; i++)); do
      pids="$(timeout 5 scontrol listpids 2>/dev/null | awk 'NR>1 && $1 ~ /^[0-9]+$/ {print $1}' || true)"
      [ -z "$pids" ] && break
      sleep 0.2
    done
    # shellcheck disable=SC2086
    [ -n "$pids" ] && kill -KILL $pids 2>/dev/null || true
    timeout 10 scontrol shutdown >/dev/null 2>&1 || true
  fi
  stop_pid "$(pid_of slurmd)" 15
  stop_pid "$(pid_of slurmctld)" 15
  stop_pid "$(pid_of munged)" 10
  rm -f "$DIR"/run/*.pid
  say "stopped"
}

case "$ACTION" in
  start)
    if up; then exports; exit 0; fi
    [ "$(id -u)" = 0 ] || { say "must run as root (slurmd starts jobs as root here)"; exit 2; }
    install
    stop
    configure
    trap 'say "start failed"; stop' ERR
    start_daemons
    trap - ERR
    exports
    ;;
  stop) stop ;;
  status) if up; then say "up: node $(node_state)"; else say "down"; exit 1; fi ;;
  env) exports ;;
  *) echo "usage: $0 start|stop|status|env" >&2; exit 2 ;;
esac
