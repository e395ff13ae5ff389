# shellcheck shell=sh
# SPDX-License-Identifier: GPL-3.0-or-later
# nested-hosts-lib.sh: the shell functions that every program of nested.hosts which starts or
# prepares a dockerd shares, so that each decision is taken by one rule. POSIX sh (dash, busybox
# ash, bash): the supervisor runs under /bin/sh on minimal hosts. Sourcing it only defines
# functions. The parsers use shell builtins only: each process costs CPU on every container boot.
#
# Sourced by:
#   the dind image entrypoint (roles/dind/files/dind-entrypoint.sh) and the node image entrypoint
#   (roles/node_image/files/nested-hosts-node-entrypoint), both from
#   /usr/local/lib/nested-hosts/nested-hosts-lib.sh inside their images;
#   the dockerd supervisor (roles/docker_engine/templates/nested-hosts-dockerd.sh.j2), which
#   embeds it so that the installed script stands alone;
#   scripts/ensure-dockerd.sh, which starts the dockerd of the machine that runs Ansible.
# The sourcing script defines log MESSAGE...; the functions below report through it.
#
# Functions (PROC_ROOT and SYS_ROOT default to /proc and /sys, so tests can pass captured trees):
#   nh_is_dockerd PID [PROC_ROOT]                 true when PID is a live dockerd
#   nh_running_pid PIDFILE [PROC_ROOT]            print the pid of the dockerd PIDFILE names
#   nh_remove_stale_pidfile PIDFILE [PROC_ROOT]   remove PIDFILE unless it names a live dockerd
#   nh_choose_iptables [PROC_ROOT]                set NH_IPTABLES_MODE to nft, legacy or ''
#   nh_use_iptables MODE                          point iptables and ip6tables at MODE
#   nh_cgroup_parent [PROC_ROOT] [SYS_ROOT]       set NH_CGROUP_PARENT for a dockerd in a container
# Names starting with _nh_ are this file's scratch variables (POSIX sh has no local).

_nh_read_line() {
	# Set _nh_line to the first line of file $1 (also without a trailing newline); fail when it
	# cannot be read.
	_nh_line=
	{ IFS= read -r _nh_line <"$1" || [ -n "$_nh_line" ]; } 2>/dev/null
}

nh_is_dockerd() {
	# True when pid $1 is a live dockerd: not gone, not reused by another program, not a zombie
	# that nobody reaped.
	_nh_read_line "${2:-/proc}/$1/comm" && [ "$_nh_line" = dockerd ] || return 1
	_nh_read_line "${2:-/proc}/$1/stat" || return 1
	# The state follows the command name in parentheses, which may itself hold ") ".
	_nh_state=${_nh_line##*) }
	_nh_state=${_nh_state%% *}
	[ -n "$_nh_state" ] && [ "$_nh_state" != Z ] && [ "$_nh_state" != X ]
}

nh_running_pid() {
	# Print the pid of the dockerd that pidfile $1 names; fail when the file is absent or empty,
	# holds no number, or names a pid that is dead or another program now.
	_nh_read_line "$1" || return 1
	_nh_pid=$_nh_line
	case "$_nh_pid" in '' | *[!0-9]*) return 1 ;; esac
	nh_is_dockerd "$_nh_pid" "${2:-/proc}" || return 1
	echo "$_nh_pid"
}

nh_remove_stale_pidfile() {
	# dockerd refuses to start while its pidfile names a live process, and a reused pid can be
	# any process: remove pidfile $1 unless it names a live dockerd.
	[ -e "$1" ] || return 0
	nh_running_pid "$1" "${2:-/proc}" >/dev/null && return 0
	_nh_read_line "$1" || _nh_line=
	log "removing stale pidfile $1 ($_nh_line)"
	rm -f "$1"
}

_nh_count_rules() {
	# Print how many rules iptables backend $1 (nft or legacy) holds, IPv4 and IPv6 together; fail
	# when its IPv4 save command cannot read the tables. A save command can hang on a kernel
	# without the backend's modules, hence the time limit.
	_nh_v4=$(timeout 5 "iptables-$1-save" 2>/dev/null) || return 1
	_nh_v6=$(timeout 5 "ip6tables-$1-save" 2>/dev/null) || _nh_v6=
	printf '%s\n%s\n' "$_nh_v4" "$_nh_v6" | grep -c '^-' || true
}

_nh_no_legacy_tables() {
	# True when the legacy (x_tables) IPv4 and IPv6 table lists of this network namespace under
	# proc root $1 can be read and are both empty. Absent lists (no ip_tables module) say nothing.
	for _nh_names in "$1/net/ip_tables_names" "$1/net/ip6_tables_names"; do
		[ -r "$_nh_names" ] || return 1
		_nh_line=
		{ IFS= read -r _nh_line <"$_nh_names" || [ -n "$_nh_line" ]; } 2>/dev/null && return 1
		[ -z "$_nh_line" ] || return 1
	done
}

nh_choose_iptables() {
	# The inner dockerd must write its rules into the backend the host already uses, where the
	# kernel filters this container's traffic. kind's rule: the backend holding more rules wins;
	# nft on a tie (also when both are empty) if iptables-nft can read the tables, else legacy.
	# Sets NH_IPTABLES_MODE to nft or legacy, or to '' when neither backend can be read.
	NH_IPTABLES_MODE=
	# The kernel lists the legacy tables that exist in this network namespace: none (the usual
	# fresh container) means legacy holds no rules and can be read, so only nft's readability
	# decides, and four save commands and two greps become one save command.
	if _nh_no_legacy_tables "${1:-/proc}"; then
		if timeout 5 iptables-nft-save >/dev/null 2>&1; then
			NH_IPTABLES_MODE=nft
		else
			NH_IPTABLES_MODE=legacy
		fi
		log "iptables backend: $NH_IPTABLES_MODE (no legacy tables in this network namespace)"
		return 0
	fi
	_nh_nft=$(_nh_count_rules nft) || _nh_nft=unreadable
	_nh_legacy=$(_nh_count_rules legacy) || _nh_legacy=unreadable
	if [ "$_nh_nft" != unreadable ] && { [ "$_nh_legacy" = unreadable ] || [ "$_nh_legacy" -le "$_nh_nft" ]; }; then
		NH_IPTABLES_MODE=nft
	elif [ "$_nh_legacy" != unreadable ]; then
		NH_IPTABLES_MODE=legacy
	fi
	log "iptables backend: ${NH_IPTABLES_MODE:-none, leaving the default} (legacy rules: $_nh_legacy, nft rules: $_nh_nft)"
}

nh_use_iptables() {
	# Point the iptables and ip6tables alternatives at backend $1 where they point elsewhere
	# (a restarted container keeps its choice without running update-alternatives). test -ef
	# (same file once the links are followed) asks the kernel instead of a readlink process per
	# tool; dash, bash and busybox ash all have it. iptables-nft and iptables-legacy are links to
	# two different programs (xtables-nft-multi, xtables-legacy-multi), so -ef tells them apart.
	for _nh_tool in iptables ip6tables; do
		[ -x "/usr/sbin/$_nh_tool-$1" ] || continue
		# shellcheck disable=SC3013
		[ ! "/etc/alternatives/$_nh_tool" -ef "/usr/sbin/$_nh_tool-$1" ] || continue
		update-alternatives --set "$_nh_tool" "/usr/sbin/$_nh_tool-$1" >/dev/null 2>&1 ||
			log "could not select $_nh_tool-$1"
	done
}

nh_cgroup_parent() {
	# cgroup v1 without a cgroup namespace, with the host's tree visible: a dockerd in this
	# container would put its containers' cgroups at the top of the host's tree (/docker/<id>),
	# beside this container. They would outlive the container (nobody deletes them when it is
	# removed) and be missing from its memory figure. Below its own cgroup they go with it.
	# Sets NH_CGROUP_PARENT to <own memory cgroup>/docker, or to '' on cgroup v2 (the container's
	# namespace is its own tree) and where the own cgroup is the root or not visible.
	NH_CGROUP_PARENT=
	[ ! -f "${2:-/sys}/fs/cgroup/cgroup.controllers" ] || return 0
	[ -r "${1:-/proc}/self/cgroup" ] || return 0
	_nh_own=
	while IFS= read -r _nh_line; do
		# hierarchy-ID:controller-list:path
		_nh_ctl=${_nh_line#*:}
		_nh_ctl=${_nh_ctl%%:*}
		case ",$_nh_ctl," in *,memory,*)
			_nh_own=${_nh_line#*:*:}
			break
			;;
		esac
	done <"${1:-/proc}/self/cgroup"
	[ -n "$_nh_own" ] && [ "$_nh_own" != / ] && [ -d "${2:-/sys}/fs/cgroup/memory$_nh_own" ] || return 0
	NH_CGROUP_PARENT=${_nh_own%/}/docker
	log "inner dockerd cgroup parent: $NH_CGROUP_PARENT"
}
