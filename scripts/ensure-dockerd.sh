#!/usr/bin/env bash
# Start dockerd when it does not answer. Under systemd: systemctl. Without systemd as PID 1
# (CI sandboxes, containers): daemonized dockerd with a pidfile and a log file.
# The docker_engine role does the same supervision for managed hosts; this script only
# bootstraps the machine that runs Ansible.
set -euo pipefail
log() { echo "==> dockerd: $*"; }
# shellcheck source=roles/docker_engine/files/nested-hosts-lib.sh
. "$(dirname "$0")/../roles/docker_engine/files/nested-hosts-lib.sh"
LOG=${DOCKERD_LOG:-/var/log/dockerd.log}
PIDFILE=${DOCKERD_PIDFILE:-/var/run/docker.pid}

if docker info >/dev/null 2>&1; then
  echo "==> dockerd: running"
  exit 0
fi
if [ "$(cat /proc/1/comm 2>/dev/null)" = systemd ]; then
  systemctl start docker
else
  nh_remove_stale_pidfile "$PIDFILE"
  echo "==> dockerd: starting without systemd (log: $LOG)"
  setsid dockerd --pidfile "$PIDFILE" >>"$LOG" 2>&1 </dev/null &
fi
for _ in $(seq 60); do
  docker info >/dev/null 2>&1 && { echo "==> dockerd: ready"; exit 0; }
  sleep 1
done
echo "dockerd did not answer within 60 s; last lines of $LOG:" >&2
tail -n 20 "$LOG" >&2 || true
exit 1
