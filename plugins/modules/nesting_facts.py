#!/usr/bin/python
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# ruff: noqa: EXE001  (ansible-test wants modules with a shebang but not executable)
from __future__ import annotations

DOCUMENTATION = r"""
---
module: nesting_facts
short_description: Tell whether this machine or container can run Docker and systemd nested inside it
version_added: 0.1.0
description:
  - Detects whether the process runs in a container and which runtime made it, decodes its capability
    sets, seccomp mode and user namespace, and combines the results of M(nested.hosts.cgroup_info)
    and M(nested.hosts.apparmor_info) (computed by the same code) into a verdict, a list of risks and
    the C(docker run) flags that let a container started from here run Docker and systemd inside.
  - Where C(--privileged) cannot work because the capability bounding set is short, the flags are the
    privileged-equivalent set computed from the bounding set.
  - Read-only. Every file is read below O(proc_root), O(sys_root) and O(fs_root).
author:
  - nested.hosts contributors !UNKNOWN
extends_documentation_fragment:
  - nested.hosts.attributes
  - nested.hosts.attributes.info_module
  - nested.hosts.kernel_roots
options:
  fs_root:
    description:
      - Directory read as the root filesystem when looking for C(/.dockerenv), C(/run/.containerenv), and for the
        inputs of RV(findings) (the name of C(libsystemd-shared-<version>.so), C(/etc/alternatives/iptables),
        C(/etc/docker/daemon.json), C(/var/lib/containerd)).
    type: path
    default: /
  engine_capabilities:
    description:
      - Capability names (with or without the C(CAP_) prefix) that the Docker Engine which will start the
        recommended container knows.
      - Capabilities missing from the bounding set are dropped with C(--cap-drop) only when listed here;
        Docker Engine 20.10 rejects C(--cap-drop) for a name it does not know and never grants it with C(--cap-add=ALL).
      - Defaults to C(CAP_CHOWN) through C(CAP_AUDIT_READ), which every Docker Engine since 20.10 knows; add
        C(PERFMON), C(BPF) and C(CHECKPOINT_RESTORE) for Docker Engine 23 and later.
    type: list
    elements: str
  docker_version:
    description:
      - The output of C(docker version) at this level, as text, as the JSON of C(docker version --format '{{json .}}')
        (text or parsed), or only the daemon's C(client version X is too old) error; used for RV(docker) and the
        C(docker-client-too-old) finding.
      - M(nested.hosts.nesting_report) compares RV(docker) across levels (C(docker-inner-daemon-newer-than-outer-client)).
      - Omitted or empty, RV(docker) is null and no version check runs; anything else that holds no Docker versions
        fails the module with a message naming this option.
    type: raw
notes:
  - Where C(mountinfo) is missing below O(proc_root), C(mounts) is read instead (it shows no mount roots; a warning
    says so).
  - C(/.dockerenv) alone is not counted as proof of a container, because a root filesystem made with
    C(docker export) keeps it; it is listed in RV(evidence) either way.
seealso:
  - module: nested.hosts.cgroup_info
  - module: nested.hosts.apparmor_info
"""

EXAMPLES = r"""
---
- name: Gather nesting facts
  nested.hosts.nesting_facts:
  register: nesting

- name: Start a Docker-in-Docker container with the recommended options
  community.docker.docker_container:
    name: dind
    image: nested-hosts/dind:bookworm
    privileged: "{{ nesting.recommended_container_options.privileged }}"
    capabilities: "{{ nesting.recommended_container_options.capabilities }}"
    cap_drop: "{{ nesting.recommended_container_options.cap_drop }}"
    security_opts: "{{ nesting.recommended_container_options.security_opts }}"
    device_cgroup_rules: "{{ nesting.recommended_container_options.device_cgroup_rules }}"
    cgroupns_mode: "{{ nesting.recommended_container_options.cgroupns_mode }}"
    volumes: "{{ nesting.recommended_container_options.volumes + ['dind-lib:/var/lib/docker'] }}"

- name: Read this level's Docker versions
  ansible.builtin.command:
    argv: [docker, version]
  register: docker_version_out
  changed_when: false
  failed_when: false
  check_mode: false

- name: Gather nesting facts with the Docker version checks
  nested.hosts.nesting_facts:
    docker_version: "{{ docker_version_out.stdout ~ '\n' ~ docker_version_out.stderr }}"
  register: nesting_with_versions

- name: Analyse a captured tree
  nested.hosts.nesting_facts:
    proc_root: /tmp/capture/proc
    sys_root: /tmp/capture/sys
    fs_root: /tmp/capture
"""

RETURN = r"""
in_container:
  description: Whether the process runs inside a container (see RV(evidence)).
  returned: always
  type: bool
  sample: false
container_runtime:
  description:
    - C(docker) (any storage driver, or the containerd image store), C(docker-desktop), C(podman) (rootful or
      rootless), C(lxc), C(lxd), C(incus), C(systemd-nspawn), C(kubernetes) (on containerd, CRI-O or Docker; the
      evidence names which), C(containerd), C(kata), C(gvisor), C(sysbox), C(wsl), C(none) or C(unknown).
    - C(unknown) when only signs such as a user namespace point to a container; RV(evidence) lists what was found.
  returned: always
  type: str
  sample: none
evidence:
  description: One sentence per sign found or weighed.
  returned: always
  type: list
  elements: str
capabilities:
  description: Decoded capability sets of the process.
  returned: always
  type: dict
  contains:
    effective:
      description: Effective set as C(CAP_*) names, null when the status file is unreadable.
      type: list
      elements: str
    bounding:
      description: Bounding set as C(CAP_*) names.
      type: list
      elements: str
    missing_from_bounding:
      description: Capabilities the kernel knows (up to C(cap_last_cap)) that the bounding set lacks.
      type: list
      elements: str
      sample: [CAP_SYS_RESOURCE]
privileged:
  description:
    - Effective and bounding sets hold every capability the kernel knows and seccomp is disabled.
    - Without C(cap_last_cap) the bounding set is compared with the capabilities this module knows (as for
      RV(recommended_run_flags)); RV(evidence) says so.
  returned: always
  type: bool
privileged_equivalent:
  description:
    - No user namespace, seccomp disabled, the effective set holds the whole bounding set, and the bounding set holds
      CAP_SYS_ADMIN, CAP_SYS_MODULE, CAP_SYS_RAWIO, CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH and CAP_NET_ADMIN, which
      together make a container as powerful as its host. True whenever RV(privileged) is.
  returned: always
  type: bool
seccomp:
  description: C(disabled), C(strict) or C(filter).
  returned: always
  type: str
no_new_privs:
  description: The no_new_privs flag of the process.
  returned: always
  type: bool
userns:
  description: User namespace of the process.
  returned: always
  type: dict
  contains:
    active:
      description: Whether uid_map differs from the identity map.
      type: bool
    uid_map:
      description: C([inside, outside, count]) triples.
      type: list
      elements: list
docker_socket_mounted:
  description: Whether a C(docker.sock) is bind-mounted into the mount namespace.
  returned: always
  type: bool
cgroup:
  description: The result of M(nested.hosts.cgroup_info) for the same roots.
  returned: always
  type: dict
apparmor:
  description: The result of M(nested.hosts.apparmor_info) for the same roots.
  returned: always
  type: dict
can_nest_docker:
  description: Whether a Docker daemon can run here (no entry in RV(reasons)).
  returned: always
  type: bool
reasons:
  description: One plain sentence per problem preventing nesting.
  returned: always
  type: list
  elements: str
reason_ids:
  description:
    - The stable id of each entry of RV(reasons), in the same order; match these, never the sentences.
    - The ids of M(nested.hosts.cgroup_info) (for example C(cgroup-read-only)) and C(capabilities-unreadable),
      C(no-cap-sys-admin), C(seccomp-filter), C(apparmor-confined), C(userns-active).
  returned: always
  type: list
  elements: str
  sample: [no-cap-sys-admin, seccomp-filter]
  version_added: 0.1.0
risks:
  description: Security risks, each with C(id) (C(privileged), C(docker-socket-mounted), C(no-lsm), C(cgroup-v1-release-agent)), C(severity) and C(message).
  returned: always
  type: list
  elements: dict
findings:
  description:
    - Checks that decide whether nesting works on a modern stack, each a dict with C(id), C(severity) (C(high),
      C(medium), C(low)), C(message) and C(fix). A check whose inputs are missing gives no finding and is listed in
      RV(checks_not_run).
    - C(systemd-cgroup-v1-deprecated) / C(systemd-cgroup-v1-unsupported) (systemd 256-257 / 258+ below O(fs_root) on
      cgroup v1 or hybrid), C(inotify-limits-low), C(mtu-below-default) (uplink MTU below the daemon's 1500),
      C(iptables-backends-mixed), C(iptables-modules-missing) (ip_tables, iptable_nat, iptable_raw, nf_tables),
      C(storage-overlay-on-overlay) and C(storage-containerd-overlay-on-overlay) (C(/var/lib/docker) or
      C(/var/lib/containerd) on the container's overlay root), C(lxc-apparmor-runc-sysctl) (Docker in LXC, LXD or Incus
      under AppArmor after runc 1.3.3, CVE-2025-52881), C(docker-client-too-old) (a client below the daemon's minimum
      API, 1.44 since Docker Engine 29; needs O(docker_version)).
  returned: always
  type: list
  elements: dict
  sample:
    - id: mtu-below-default
      severity: medium
      message: "The default route leaves through eth0, with MTU eth0 1400, but a Docker daemon here gives its networks
        MTU 1500 (the default): ..."
      fix: 'Set "mtu": 1400 in the daemon.json of every Docker daemon started from here ...'
docker:
  description:
    - Versions read from O(docker_version) (C(client_version), C(client_api), C(server_version), C(server_api),
      C(server_min_api), and C(refused_client_api) when the daemon refused a client); null without O(docker_version).
  returned: always
  type: dict
  sample: {client_version: 20.10.24+dfsg1, client_api: "1.41", server_version: 20.10.24+dfsg1, server_api: "1.41",
           server_min_api: "1.12", refused_client_api: null}
checks_not_run:
  description: The checks of RV(findings) that could not run, each C({id, reason}) naming the missing input.
  returned: always
  type: list
  elements: dict
  sample:
    - id: iptables-modules
      reason: proc/modules could not be read.
profile:
  description: Which flag set is recommended, C(privileged), C(privileged-equivalent) or C(none).
  returned: always
  type: str
  sample: privileged-equivalent
recommended_run_flags:
  description: C(docker run) flags, one flag per item, for a container that runs Docker and systemd inside.
  returned: always
  type: list
  elements: str
  sample:
    - --cap-add=ALL
    - --cap-drop=SYS_RESOURCE
    - --security-opt=seccomp=unconfined
    - --security-opt=apparmor=unconfined
    - --security-opt=systempaths=unconfined
    - --device-cgroup-rule=a *:* rwm
    - --cgroupns=host
    - --volume=/sys/fs/cgroup:/sys/fs/cgroup:rw
recommended_container_options:
  description:
    - The same as parameters of M(community.docker.docker_container); empty when RV(profile) is C(none).
    - C(unmask_system_paths) is informational (docker_container cannot express C(systempaths=unconfined)).
  returned: always
  type: dict
  sample:
    privileged: false
    capabilities: [ALL]
    cap_drop: [SYS_RESOURCE]
    security_opts: [seccomp=unconfined, apparmor=unconfined]
    device_cgroup_rules: ["a *:* rwm"]
    cgroupns_mode: host
    volumes: ["/sys/fs/cgroup:/sys/fs/cgroup:rw"]
    unmask_system_paths: true
recommendation_notes:
  description: Sentences explaining the recommendation.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.nested.hosts.plugins.module_utils._findings import docker_version_error
from ansible_collections.nested.hosts.plugins.module_utils._kernel import (
    kernel_argument_spec,
    option_errors,
)
from ansible_collections.nested.hosts.plugins.module_utils._nesting import (
    gather,
    normalize_capabilities,
)


def main() -> None:
    module = AnsibleModule(
        argument_spec=kernel_argument_spec(
            with_fs_root=True,
            engine_capabilities={"type": "list", "elements": "str"},
            docker_version={"type": "raw"},
        ),
        supports_check_mode=True,
    )
    params = module.params
    for error in option_errors(params):
        module.fail_json(msg=error)
    engine_caps, caps_error = normalize_capabilities(params["engine_capabilities"])
    if caps_error:
        module.fail_json(msg=caps_error)
    version_error = docker_version_error(params["docker_version"])
    if version_error:
        module.fail_json(msg=version_error)
    result, warnings = gather(
        params["proc_root"],
        params["sys_root"],
        params["pid"],
        params["fs_root"],
        engine_caps,
        params["docker_version"],
    )
    for warning in warnings:
        module.warn(warning)
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
