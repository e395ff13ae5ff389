#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# nested.hosts dind entrypoint: prepare a container so that a Docker daemon can run inside
# it, then exec dockerd. Written for this collection after studying what moby's hack/dind
# and docker-library's dockerd-entrypoint.sh take care of.
#
# Environment (set by the nested.hosts.dind role):
#   DIND_TLS=1|0          listen on tcp://0.0.0.0:$DIND_TLS_PORT with --tlsverify (default 1)
#   DIND_TLS_PORT=2376
#   DIND_CERT_DIR=/certs  must hold ca.pem, server-cert.pem, server-key.pem; the entrypoint
#                         waits up to DIND_CERT_WAIT seconds for them (the role copies them
#                         in once the container has its IP addresses)
#   DIND_PLAIN_TCP=0|1    listen on tcp://127.0.0.1:2375 without TLS (only with DIND_TLS=0)
#   DIND_IPTABLES=auto|nft|legacy
# Arguments are passed to dockerd.
set -eu

log() { echo "dind-entrypoint: $*" >&2; }
# shellcheck source=roles/docker_engine/files/nested-hosts-lib.sh
. /usr/local/lib/nested-hosts/nested-hosts-lib.sh

export container="${container:-docker}"

# securityfs: tools inside (AppArmor, IMA) expect it where the kernel has one.
if [ -d /sys/kernel/security ] && ! mountpoint -q /sys/kernel/security; then
	mount -t securityfs securityfs /sys/kernel/security 2>/dev/null ||
		log "securityfs not mounted (read-only /sys or no permission); continuing"
fi

# /tmp on tmpfs, as on a host.
if ! mountpoint -q /tmp; then
	mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /tmp || log "could not mount a tmpfs on /tmp; continuing"
fi

# /proc/sys read-write: the Docker API cannot unmask system paths, but with CAP_SYS_ADMIN
# the read-only bind mount can be remounted read-write (dockerd sets net sysctls).
if awk '$2 == "/proc/sys" && $4 ~ /(^|,)ro(,|$)/ { found = 1 } END { exit !found }' /proc/self/mounts; then
	mount -o remount,rw,bind /proc/sys /proc/sys 2>/dev/null ||
		log "/proc/sys stays read-only; dockerd may warn about sysctls"
fi

# cgroup v2: processes may not live in a cgroup whose controllers are delegated to children,
# so move everything out of the root into /init, then enable every controller for the
# children. New processes can appear meanwhile, hence the retry loop.
if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
	mkdir -p /sys/fs/cgroup/init
	tries=0
	moved=0
	while :; do
		while read -r pid; do
			if echo "$pid" >/sys/fs/cgroup/init/cgroup.procs 2>/dev/null; then
				moved=$((moved + 1))
			fi
		done </sys/fs/cgroup/cgroup.procs
		wanted=$(sed -e 's/^\(.\)/+\1/' -e 's/ / +/g' /sys/fs/cgroup/cgroup.controllers)
		if [ -z "$wanted" ] || echo "$wanted" >/sys/fs/cgroup/cgroup.subtree_control 2>/dev/null; then
			log "cgroup v2: moved $moved processes from / to /init; subtree_control: $(cat /sys/fs/cgroup/cgroup.subtree_control)"
			break
		fi
		tries=$((tries + 1))
		if [ "$tries" -ge 50 ]; then
			log "could not enable cgroup v2 controllers ($wanted) after $tries tries"
			exit 1
		fi
		sleep 0.1
	done
fi

# cgroup v1: the inner containers' cgroups go below this container's own (nh_cgroup_parent), unless
# the caller chose a cgroup parent (an argument or daemon.json).
cgroup_parent_given() {
	for arg in "$@"; do
		case "$arg" in --cgroup-parent | --cgroup-parent=*) return 0 ;; esac
	done
	grep -qs '"cgroup-parent"' /etc/docker/daemon.json
}
if ! cgroup_parent_given "$@"; then
	nh_cgroup_parent /proc /sys
	if [ -n "$NH_CGROUP_PARENT" ]; then
		set -- "--cgroup-parent=$NH_CGROUP_PARENT" "$@"
	fi
fi

# Mount propagation: dockerd and containerd need shared mounts.
mount --make-rshared / || log "mount --make-rshared / failed; continuing"

# A pidfile left by a previous run of this container stops dockerd from starting.
rm -f /var/run/docker.pid /var/run/docker/containerd/containerd.pid /run/containerd/containerd.pid

# iptables: DIND_IPTABLES names the backend, or auto takes the one the host uses (nh_choose_iptables).
mode="${DIND_IPTABLES:-auto}"
if [ "$mode" = auto ]; then
	nh_choose_iptables /proc
	mode=$NH_IPTABLES_MODE
fi
if [ -n "$mode" ]; then
	nh_use_iptables "$mode"
fi

if [ "${DIND_TLS:-1}" = 1 ]; then
	certs="${DIND_CERT_DIR:-/certs}"
	waited=0
	until [ -s "$certs/ca.pem" ] && [ -s "$certs/server-cert.pem" ] && [ -s "$certs/server-key.pem" ]; do
		if [ "$waited" -ge "${DIND_CERT_WAIT:-300}" ]; then
			log "no TLS certificates in $certs after ${waited}s (ca.pem, server-cert.pem, server-key.pem); set DIND_TLS=0 to run without TCP"
			exit 1
		fi
		[ "$waited" -eq 0 ] && log "waiting for TLS certificates in $certs"
		sleep 1
		waited=$((waited + 1))
	done
	set -- "--host=tcp://0.0.0.0:${DIND_TLS_PORT:-2376}" --tlsverify \
		"--tlscacert=$certs/ca.pem" "--tlscert=$certs/server-cert.pem" "--tlskey=$certs/server-key.pem" "$@"
elif [ "${DIND_PLAIN_TCP:-0}" = 1 ]; then
	set -- --host=tcp://127.0.0.1:2375 "$@"
fi

log "starting dockerd $*"
exec dockerd --host=unix:///var/run/docker.sock "$@"
