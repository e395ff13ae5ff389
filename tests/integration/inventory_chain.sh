#!/usr/bin/env bash
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Build (up) or remove (down) the nhtest-inv-* containers the inventory plugin's tests discover:
#
#   host daemon (endpoint A, the local socket)
#   ├─ nhtest-inv-node-1   role=node, runs dockerd
#   │  ├─ nhtest-inv-dind-1     role=dind mode=dind, runs dockerd
#   │  │  ├─ nhtest-inv-leaf-1      role=container (depth 3)
#   │  │  └─ nhtest-inv-plain-1     no labels (filtered)
#   │  └─ nhtest-inv-stopped-1  role=container, exited (filtered)
#   ├─ nhtest-inv-deaf-1   role=dind mode=dind, no dockerd running (a daemon that does not answer)
#   ├─ nhtest-inv-sock-1   role=dind mode=socket, the host's socket mounted (not descended)
#   ├─ nhtest-inv-liar-1   role=dind mode=dind, but DOCKER_HOST points at the host's socket mounted at
#   │                      /outer/docker.sock (its docker lists the host's containers: not descended)
#   ├─ nhtest-inv-sockplain-1  no labels, the host's socket mounted at /var/run/docker.sock
#   ├─ nhtest-inv-web      role=container
#   └─ nhtest-inv-ep-b     no labels; its dockerd listens on /tmp/nhtest-inv-b/docker.sock (endpoint B)
#      └─ nhtest-inv-web        role=container (the same name as on endpoint A)
#
#
#   ssh-up / ssh-down: a Docker host reached over SSH (the fleet case), on 127.0.0.1:$SSH_PORT
#   └─ nhtest-inv-ssh-host   no labels, runs sshd (key in /tmp/nhtest-inv-ssh/) and dockerd
#      └─ nhtest-inv-ssh-inner   role=container
#
# The node is not a systemd node: it runs dockerd directly and carries the labels the node role sets.
# Inner containers are removed before their parents (no cgroups left behind on a cgroup v1 host).
set -o errexit -o nounset -o pipefail

IMAGE=${NHTEST_INV_IMAGE:-nested-hosts/base:bookworm}
SOCK_DIR=/tmp/nhtest-inv-b
SSH_DIR=/tmp/nhtest-inv-ssh
SSH_PORT=${NHTEST_INV_SSH_PORT:-22522}
P=nhtest-inv

log() { echo "inventory_chain: $*" >&2; }

select_cap_drop() { # every capability missing from the bounding set (CAP_SYS_RESOURCE here)
  local bnd names=(CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID KILL SETGID SETUID SETPCAP
    LINUX_IMMUTABLE NET_BIND_SERVICE NET_BROADCAST NET_ADMIN NET_RAW IPC_LOCK IPC_OWNER SYS_MODULE
    SYS_RAWIO SYS_CHROOT SYS_PTRACE SYS_PACCT SYS_ADMIN SYS_BOOT SYS_NICE SYS_RESOURCE SYS_TIME
    SYS_TTY_CONFIG MKNOD LEASE AUDIT_WRITE AUDIT_CONTROL SETFCAP MAC_OVERRIDE MAC_ADMIN SYSLOG
    WAKE_ALARM BLOCK_SUSPEND AUDIT_READ PERFMON BPF CHECKPOINT_RESTORE)
  bnd=$((16#$(awk '/^CapBnd/ {print $2}' /proc/self/status)))
  local i
  for i in "${!names[@]}"; do
    if (( (bnd >> i & 1) == 0 )); then printf -- '--cap-drop\n%s\n' "${names[$i]}"; fi
  done
}

nest_flags() { # the privileged-equivalent flag set, plus a volume for /var/lib/docker
  local volume=$1
  printf -- '%s\n' --cap-add ALL
  select_cap_drop
  printf -- '%s\n' --security-opt seccomp=unconfined --security-opt apparmor=unconfined \
    --device-cgroup-rule 'a *:* rwm' --cgroupns host -v /sys/fs/cgroup:/sys/fs/cgroup:rw -v "$volume:/var/lib/docker"
}

wait_daemon() { # wait_daemon DOCKER-ARGV...   until `docker info` answers there
  local i
  for i in $(seq 60); do
    if "$@" info >/dev/null 2>&1; then return 0; fi
    sleep 1
  done
  log "no daemon answered through: $*"; return 1
}

load_image() { # load_image DOCKER-ARGV...   put IMAGE into that daemon unless present
  if ! "$@" image inspect "$IMAGE" >/dev/null 2>&1; then
    log "loading $IMAGE through: $*"
    docker save "$IMAGE" | "$@" load >/dev/null
  fi
}

up() {
  local flags
  mapfile -t flags < <(nest_flags "$P-node-1-lib")
  log "node $P-node-1"
  docker run -d --name "$P-node-1" --hostname "$P-node-1" "${flags[@]}" \
    --label io.nested-hosts.role=node --label "io.nested-hosts.node=$P-node-1" "$IMAGE" dockerd >/dev/null
  wait_daemon docker exec -i "$P-node-1" docker
  load_image docker exec -i "$P-node-1" docker

  log "dind $P-dind-1 inside $P-node-1"
  mapfile -t flags < <(nest_flags "$P-dind-1-lib")
  docker exec "$P-node-1" docker run -d --name "$P-dind-1" --hostname "$P-dind-1" "${flags[@]}" \
    --label io.nested-hosts.role=dind --label io.nested-hosts.mode=dind "$IMAGE" dockerd >/dev/null
  wait_daemon docker exec -i "$P-node-1" docker exec -i "$P-dind-1" docker
  load_image docker exec -i "$P-node-1" docker exec -i "$P-dind-1" docker

  log "depth 3: $P-leaf-1 (labelled) and $P-plain-1 (unlabelled) inside $P-dind-1"
  docker exec "$P-node-1" docker exec "$P-dind-1" docker run -d --name "$P-leaf-1" \
    --label io.nested-hosts.role=container "$IMAGE" sleep infinity >/dev/null
  docker exec "$P-node-1" docker exec "$P-dind-1" docker run -d --name "$P-plain-1" "$IMAGE" sleep infinity >/dev/null
  log "stopped $P-stopped-1 inside $P-node-1"
  docker exec "$P-node-1" docker run --name "$P-stopped-1" --label io.nested-hosts.role=container "$IMAGE" true

  log "host level: deaf, socket, web"
  docker run -d --name "$P-deaf-1" --label io.nested-hosts.role=dind --label io.nested-hosts.mode=dind \
    "$IMAGE" sleep infinity >/dev/null
  docker run -d --name "$P-sock-1" --label io.nested-hosts.role=dind --label io.nested-hosts.mode=socket \
    -v /var/run/docker.sock:/var/run/docker.sock "$IMAGE" sleep infinity >/dev/null
  docker run -d --name "$P-liar-1" --label io.nested-hosts.role=dind --label io.nested-hosts.mode=dind \
    -v /var/run/docker.sock:/outer/docker.sock -e DOCKER_HOST=unix:///outer/docker.sock "$IMAGE" sleep infinity >/dev/null
  docker run -d --name "$P-sockplain-1" -v /var/run/docker.sock:/var/run/docker.sock "$IMAGE" sleep infinity >/dev/null
  docker run -d --name "$P-web" --label io.nested-hosts.role=container "$IMAGE" sleep infinity >/dev/null

  log "endpoint B: $P-ep-b with its socket at $SOCK_DIR/docker.sock"
  mkdir -p "$SOCK_DIR"
  mapfile -t flags < <(nest_flags "$P-ep-b-lib")
  docker run -d --name "$P-ep-b" "${flags[@]}" -v "$SOCK_DIR:/nhsock" "$IMAGE" \
    dockerd -H unix:///nhsock/docker.sock >/dev/null
  wait_daemon docker -H "unix://$SOCK_DIR/docker.sock"
  load_image docker -H "unix://$SOCK_DIR/docker.sock"
  docker -H "unix://$SOCK_DIR/docker.sock" run -d --name "$P-web" --label io.nested-hosts.role=container \
    "$IMAGE" sleep infinity >/dev/null
  log "up"
}

down() {
  if docker -H "unix://$SOCK_DIR/docker.sock" info >/dev/null 2>&1; then
    docker -H "unix://$SOCK_DIR/docker.sock" rm -f "$P-web" >/dev/null 2>&1 || true
  fi
  if docker exec "$P-node-1" docker exec "$P-dind-1" docker info >/dev/null 2>&1; then
    docker exec "$P-node-1" docker exec "$P-dind-1" docker rm -f "$P-leaf-1" "$P-plain-1" >/dev/null 2>&1 || true
  fi
  if docker exec "$P-node-1" docker info >/dev/null 2>&1; then
    docker exec "$P-node-1" docker rm -f "$P-dind-1" "$P-stopped-1" >/dev/null 2>&1 || true
    docker exec "$P-node-1" docker volume rm "$P-dind-1-lib" >/dev/null 2>&1 || true
  fi
  local c
  for c in node-1 deaf-1 sock-1 liar-1 sockplain-1 web ep-b; do
    docker rm -f "$P-$c" >/dev/null 2>&1 || true
  done
  docker volume rm "$P-node-1-lib" "$P-ep-b-lib" >/dev/null 2>&1 || true
  rm -rf "$SOCK_DIR"
  log "down"
}

ssh_up() {
  local flags
  mkdir -p "$SSH_DIR"
  [[ -f "$SSH_DIR/id_ed25519" ]] || ssh-keygen -q -t ed25519 -N '' -C nhtest-inv -f "$SSH_DIR/id_ed25519"
  cp "$SSH_DIR/id_ed25519.pub" "$SSH_DIR/authorized_keys"
  mapfile -t flags < <(nest_flags "$P-ssh-host-lib")
  log "ssh host $P-ssh-host on 127.0.0.1:$SSH_PORT"
  docker run -d --name "$P-ssh-host" --hostname "$P-ssh-host" "${flags[@]}" -p "127.0.0.1:$SSH_PORT:22" \
    -v "$SSH_DIR/authorized_keys:/root/.ssh/authorized_keys:ro" "$IMAGE" \
    sh -c 'ssh-keygen -A >/dev/null && mkdir -p /run/sshd && /usr/sbin/sshd && exec dockerd' >/dev/null
  wait_daemon docker exec -i "$P-ssh-host" docker
  load_image docker exec -i "$P-ssh-host" docker
  docker exec "$P-ssh-host" docker run -d --name "$P-ssh-inner" --label io.nested-hosts.role=container \
    "$IMAGE" sleep infinity >/dev/null
  log "ssh up"
}

ssh_down() {
  if docker exec "$P-ssh-host" docker info >/dev/null 2>&1; then
    docker exec "$P-ssh-host" docker rm -f "$P-ssh-inner" >/dev/null 2>&1 || true
  fi
  docker rm -f "$P-ssh-host" >/dev/null 2>&1 || true
  docker volume rm "$P-ssh-host-lib" >/dev/null 2>&1 || true
  rm -rf "$SSH_DIR"
  log "ssh down"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  ssh-up) ssh_up ;;
  ssh-down) ssh_down ;;
  *) echo "usage: $0 up|down|ssh-up|ssh-down" >&2; exit 2 ;;
esac
