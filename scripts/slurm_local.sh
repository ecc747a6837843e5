#!/usr/bin/env bash
# A single-node SLURM on this machine, for running hydra/launcher=slurm for real
# (tests/e2e/test_slurm.py). Needs root and Debian's packages:
#   apt-get install -y slurm-wlm munge
#
#   scripts/slurm_local.sh          # (or `start`) set up and start munged, slurmctld, slurmd
#   scripts/slurm_local.sh status   # daemons and sinfo
#   scripts/slurm_local.sh stop     # stop the three daemons (configuration and state are kept)
#
# Idempotent: `start` rewrites /etc/slurm/slurm.conf only when it would change, starts only the
# daemons that are not running, restarts the SLURM daemons when the configuration changed, and
# waits until the node is up. One node (this host, all its CPUs and memory), one partition
# ($SLURM_LOCAL_PARTITION, default `local`), no accounting database (sacct does not work:
# submitit warns "Bypassing sacct error" and follows the jobs through their result files, so a
# task killed before it writes one, e.g. out of memory, leaves the submitter waiting) and no cgroups
# (proctrack/linuxproc, task/none). Job completions are logged to /var/log/slurm/jobcomp.log.
# A requeued job (preemption, submitit's requeue on timeout) starts again after 10 s.
set -euo pipefail

ACTION=${1:-start}
PARTITION=${SLURM_LOCAL_PARTITION:-local}
CONF=/etc/slurm/slurm.conf
RUN=/run/slurm
LIB=/var/lib/slurm
LOG=/var/log/slurm
MUNGE_PID=/run/munge/munged.pid

die() { echo "slurm_local: $*" >&2; exit 1; }
say() { echo "slurm_local: $*"; }

# alive PIDFILE: the process the file names is running
alive() { [[ -s $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

# stop_pid PIDFILE NAME: SIGTERM the process the file names, wait for it to exit
stop_pid() {
  local file=$1 name=$2 pid
  if ! alive "$file"; then say "$name not running"; rm -f "$file"; return 0; fi
  pid=$(cat "$file")
  kill "$pid"
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid"; fi
  rm -f "$file"
  say "$name stopped (pid $pid)"
}

node_state() { sinfo -h -N -o '%T' 2>/dev/null | head -1; }

write_conf() {
  local host cpus mem
  host=$(hostname -s)
  cpus=$(nproc)
  # MB, as slurmd measures it (RealMemory may not exceed what slurmd finds)
  mem=$(slurmd -C | sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p')
  [[ -n $mem ]] || die "slurmd -C did not report RealMemory"
  cat >"$CONF.new" <<EOF
# Written by scripts/slurm_local.sh: a single-node SLURM on $host.
ClusterName=local
SlurmctldHost=$host
SlurmUser=slurm
AuthType=auth/munge
# job credentials live 10 s (default 120): also how long a requeued job waits to start again
AuthInfo=cred_expire=10
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
ReturnToService=2
SlurmctldPidFile=$RUN/slurmctld.pid
SlurmdPidFile=$RUN/slurmd.pid
StateSaveLocation=$LIB/slurmctld
SlurmdSpoolDir=$LIB/slurmd
SlurmctldLogFile=$LOG/slurmctld.log
SlurmdLogFile=$LOG/slurmd.log
SchedulerType=sched/backfill
# look for jobs to start every 5 s (defaults 60 s, backfill 30 s): a requeued job starts promptly
SchedulerParameters=sched_interval=5,bf_interval=5
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/filetxt
JobCompLoc=$LOG/jobcomp.log
# finished jobs stay visible to scontrol/squeue for 5 minutes
MinJobAge=300
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=$PARTITION Nodes=$host Default=YES MaxTime=INFINITE DefMemPerCPU=1024 State=UP
EOF
  if [[ -f $CONF ]] && cmp -s "$CONF" "$CONF.new"; then
    rm -f "$CONF.new"
    return 1  # unchanged
  fi
  mv "$CONF.new" "$CONF"
  chmod 644 "$CONF"
  say "wrote $CONF ($host, $cpus CPUs, ${mem} MB, partition $PARTITION)"
  return 0
}

start_munge() {
  if [[ ! -s /etc/munge/munge.key ]]; then
    if command -v mungekey >/dev/null; then
      mungekey --create --keyfile=/etc/munge/munge.key
    else
      dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key status=none
    fi
    say "created /etc/munge/munge.key"
  fi
  chown munge:munge /etc/munge /etc/munge/munge.key
  chmod 700 /etc/munge
  chmod 400 /etc/munge/munge.key
  mkdir -p /run/munge /var/lib/munge /var/log/munge
  chown munge:munge /run/munge /var/lib/munge /var/log/munge
  if alive "$MUNGE_PID"; then
    say "munged running (pid $(cat $MUNGE_PID))"
  else
    runuser -u munge -- /usr/sbin/munged --force
    for _ in $(seq 50); do alive "$MUNGE_PID" && break; sleep 0.1; done
    say "munged started (pid $(cat $MUNGE_PID))"
  fi
  munge -n | unmunge >/dev/null || die "munge does not work (see /var/log/munge/munged.log)"
}

start() {
  [[ $(id -u) == 0 ]] || die "must run as root"
  command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v munged >/dev/null \
    || die "install the daemons first: apt-get install -y slurm-wlm munge"
  start_munge
  mkdir -p "$RUN" "$LIB/slurmctld" "$LIB/slurmd" "$LOG"
  chown slurm:slurm "$LIB/slurmctld" "$LOG"
  local changed=0
  write_conf && changed=1
  if ((changed)); then
    stop_pid "$RUN/slurmd.pid" slurmd >/dev/null
    stop_pid "$RUN/slurmctld.pid" slurmctld >/dev/null
  fi
  if alive "$RUN/slurmctld.pid"; then
    say "slurmctld running (pid $(cat $RUN/slurmctld.pid))"
  else
    /usr/sbin/slurmctld
    for _ in $(seq 100); do scontrol ping >/dev/null 2>&1 && break; sleep 0.2; done
    scontrol ping >/dev/null 2>&1 || die "slurmctld did not come up (see $LOG/slurmctld.log)"
    say "slurmctld started (pid $(cat $RUN/slurmctld.pid))"
  fi
  if alive "$RUN/slurmd.pid"; then
    say "slurmd running (pid $(cat $RUN/slurmd.pid))"
  else
    /usr/sbin/slurmd
    say "slurmd started"
  fi
  local state
  for _ in $(seq 150); do
    state=$(node_state)
    case $state in idle* | mixed* | allocated*) break ;; esac
    sleep 0.2
  done
  case $state in
    idle* | mixed* | allocated*) ;;
    down* | drain*)  # e.g. left down by an earlier crash: bring it back once
      scontrol update nodename="$(hostname -s)" state=resume || true
      sleep 1
      state=$(node_state)
      ;;
  esac
  case $state in
    idle* | mixed* | allocated*) say "node $(hostname -s) is $state"; sinfo ;;
    *) die "node state '${state:-?}' (see $LOG/slurmd.log and $LOG/slurmctld.log)" ;;
  esac
}

stop() {
  stop_pid "$RUN/slurmd.pid" slurmd
  stop_pid "$RUN/slurmctld.pid" slurmctld
  stop_pid "$MUNGE_PID" munged
}

status() {
  for p in "$MUNGE_PID:munged" "$RUN/slurmctld.pid:slurmctld" "$RUN/slurmd.pid:slurmd"; do
    if alive "${p%%:*}"; then say "${p##*:} running (pid $(cat "${p%%:*}"))"
    else say "${p##*:} not running"; fi
  done
  sinfo 2>/dev/null || true
}

case $ACTION in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) die "usage: $0 [start|stop|status]" ;;
esac
