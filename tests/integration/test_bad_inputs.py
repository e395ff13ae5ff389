# SPDX-License-Identifier: GPL-3.0-or-later
"""Bad input is refused with one message naming the parameter and the fix, changing nothing.

One table of cases across the roles, the modules and the site playbook. Each case runs a tiny
playbook on localhost with ansible-playbook and checks that

* ansible-playbook exits non-zero,
* exactly one task failed, and its message holds every string of ``expect`` (the parameter
  and a fix hint),
* the host snapshot (daemon.json, the work directory, dockerd, containers, volumes, networks,
  images; see snapshot.py) taken after the run equals the one taken just before it.

Every path a case could write to is under a temporary directory that is part of the snapshot;
no case touches the host's /etc/docker/daemon.json. Names of Docker objects start with
``nhtest-rel-``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
import snapshot
import yaml

# @TMP@ in a case is replaced by the case directory's path.
CORRUPT_JSON = '{"debug": true,'
GOOD_JSON = '{\n  "log-level": "info"\n}\n'
FAKE_DEB = b"nhtest-rel: not a Debian package\n"
ZERO_SHA = "0" * 64


def role(name: str, **variables: Any) -> dict[str, Any]:
    return {"name": f"run {name}", "ansible.builtin.include_role": {"name": f"nested.hosts.{name}"}, "vars": variables}


def module(name: str, **params: Any) -> dict[str, Any]:
    return {"name": f"run {name}", f"nested.hosts.{name}": params}


NODE = {"node_name_prefix": "nhtest-rel-node"}
DIND = {"dind_cert_dir": "@TMP@/certs", "dind_work_dir": "@TMP@", "dind_image_name": "nhtest-rel/dind"}
BASE = {"base_image_name": "nhtest-rel/base", "base_image_work_dir": "@TMP@"}
NODE_IMAGE = {"node_image_name": "nhtest-rel/node", "node_image_build_dir": "@TMP@/node-image"}
SYSBOX = {
    "sysbox_daemon_json_path": "@TMP@/daemon.json",
    "sysbox_package_cache_dir": "@TMP@/cache",
    "sysbox_sysctl_file": "@TMP@/sysctl.conf",
}
ONE_DIND = [{"name": "nhtest-rel-d1"}]

# (id, task or "site", extra vars for "site", strings the failure message must hold)
CASES: list[tuple[str, Any, list[str]]] = [
    # --- site playbook
    (
        "site-unknown-method",
        ("site", {"nested_hosts_method": "kubernetes"}),
        ["nested_hosts_method", "kubernetes", "one of sysbox, dind, node or socket"],
    ),
    ("site-missing-method", ("site", {}), ["nested_hosts_method", "not set", "one of"]),
    # --- node role
    ("node-count-negative", role("node", node_count=-1, **NODE), ["node_count", "positive"]),
    ("node-count-zero-no-names", role("node", node_count=0, **NODE), ["node_count", "node_names"]),
    ("node-count-not-int", role("node", node_count="three", **NODE), ["node_count", "int"]),
    (
        "node-names-and-count",
        role("node", node_names=["nhtest-rel-a"], node_count=2, **NODE),
        ["node_names", "not both"],
    ),
    ("node-name-invalid", role("node", node_names=["nhtest-rel bad!"], **NODE), ["node_names", "letters, digits"]),
    (
        "node-name-duplicate",
        role("node", node_names=["nhtest-rel-a", "nhtest-rel-a"], **NODE),
        ["node_names", "unique"],
    ),
    ("node-state-unknown", role("node", node_state="gone", node_count=1, **NODE), ["node_state", "present, absent"]),
    (
        "node-options-unknown-key",
        role("node", node_count=1, node_container_options={"pid_mode": "host"}, **NODE),
        ["node_container_options", "pid_mode", "allowed"],
    ),
    ("node-ssh-port-overflow", role("node", node_count=2, node_ssh_port=65535, **NODE), ["node_ssh_port", "65535"]),
    (
        "node-wait-timeout-zero",
        role("node", node_count=1, node_wait_timeout=0, **NODE),
        ["node_wait_timeout", "positive"],
    ),
    (
        "node-image-missing",
        role("node", node_count=1, node_image="nhtest-rel/missing:none", **NODE),
        ["node_image", "nested.hosts.node_image role"],
    ),
    ("node-labels-not-dict", role("node", node_count=1, node_labels="a=b", **NODE), ["node_labels", "dict"]),
    # --- dind role
    (
        "dind-plain-tcp-without-flag",
        role("dind", dind_containers=[{"name": "nhtest-rel-d1", "tls": False, "plain_tcp": True}], **DIND),
        ["dind_insecure_plain_tcp", "nhtest-rel-d1", "keep TLS"],
    ),
    (
        "dind-plain-tcp-with-tls",
        role(
            "dind", dind_insecure_plain_tcp=True, dind_containers=[{"name": "nhtest-rel-d1", "plain_tcp": True}], **DIND
        ),
        ["plain_tcp", "tls: false"],
    ),
    (
        "dind-publish-plain",
        role(
            "dind",
            dind_containers=[
                {"name": "nhtest-rel-d1", "tls": False, "published_port": 12375, "published_address": "0.0.0.0"}
            ],
            **DIND,
        ),
        ["published_port", "tls: true"],
    ),
    (
        "dind-name-invalid",
        role("dind", dind_containers=[{"name": "-nhtest-rel"}], **DIND),
        ["dind_containers", "[a-zA-Z0-9]"],
    ),
    ("dind-name-duplicate", role("dind", dind_containers=ONE_DIND + ONE_DIND, **DIND), ["dind_containers", "unique"]),
    (
        "dind-port-out-of-range",
        role("dind", dind_containers=[{"name": "nhtest-rel-d1", "tls_port": 70000}], **DIND),
        ["tls_port", "65535"],
    ),
    (
        "dind-mode-unknown",
        role("dind", dind_mode="sidecar", dind_containers=ONE_DIND, **DIND),
        ["dind_mode", "dind, socket"],
    ),
    ("dind-containers-not-list", role("dind", dind_containers="nhtest-rel-d1", **DIND), ["dind_containers", "dict"]),
    ("dind-container-no-name", role("dind", dind_containers=[{"image": "x"}], **DIND), ["name", "dind_containers"]),
    (
        "dind-image-name-invalid",
        role("dind", dind_containers=ONE_DIND, **(DIND | {"dind_image_name": "nhtest rel/dind"})),
        ["dind_image_name", "nested-hosts/base:bookworm"],
    ),
    (
        "dind-wait-timeout-zero",
        role("dind", dind_containers=ONE_DIND, dind_wait_timeout=0, **DIND),
        ["dind_wait_timeout", "positive"],
    ),
    (
        "dind-seed-timeout-negative",
        role("dind", dind_containers=ONE_DIND, dind_seed_timeout=-1, **DIND),
        ["dind_seed_timeout (-1)", "positive"],
    ),
    (
        "dind-seed-in-socket-mode",
        role("dind", dind_mode="socket", dind_containers=ONE_DIND, dind_seed_images=["nh-scratch/base:dev"], **DIND),
        ["dind_seed_images", "dind_mode: dind"],
    ),
    (
        "dind-work-dir-relative",
        role("dind", dind_containers=ONE_DIND, **(DIND | {"dind_work_dir": "relative/dir"})),
        ["dind_work_dir", "absolute"],
    ),
    # --- base_image role
    (
        "base-name-uppercase",
        role("base_image", **(BASE | {"base_image_name": "nhtest-rel/Base"})),
        ["base_image_name", "lower-case"],
    ),
    ("base-tag-invalid", role("base_image", base_image_tag="-dev", **BASE), ["base_image_tag", "bookworm"]),
    (
        "base-no-python3",
        role("base_image", base_image_packages=["systemd", "docker.io"], **BASE),
        ["base_image_packages", "python3"],
    ),
    (
        "base-source-unknown",
        role("base_image", base_image_source="floppy", **BASE),
        ["base_image_source", "registry, debootstrap"],
    ),
    (
        "base-mirror-not-url",
        role("base_image", base_image_source="debootstrap", base_image_mirror="deb.debian.org/debian", **BASE),
        ["base_image_mirror", "http://"],
    ),
    (
        "base-package-name-invalid",
        role("base_image", base_image_extra_packages=["vim=2:9.0"], **BASE),
        ["base_image_extra_packages", "plain package names"],
    ),
    # --- node_image role
    (
        "node-image-name-uppercase",
        role("node_image", **(NODE_IMAGE | {"node_image_name": "nhtest-rel/Node"})),
        ["node_image_name", "lowercase"],
    ),
    (
        "node-image-base-missing",
        role("node_image", node_image_base="nhtest-rel/missing:none", **NODE_IMAGE),
        ["node_image_base", "nested.hosts.base_image"],
    ),
    (
        "node-image-journal-unknown",
        role("node_image", node_image_journal_storage="disk", **NODE_IMAGE),
        ["node_image_journal_storage", "volatile"],
    ),
    # --- sysbox role
    (
        "sysbox-url-without-checksum",
        role("sysbox", sysbox_package_url="https://example.invalid/sysbox-ce.deb", **SYSBOX),
        ["sysbox_package_checksum", "sha256"],
    ),
    (
        "sysbox-checksum-not-sha256",
        role(
            "sysbox",
            sysbox_package_url="https://example.invalid/sysbox-ce.deb",
            sysbox_package_checksum="abc123",
            **SYSBOX,
        ),
        ["sysbox_package_checksum", "64 hexadecimal"],
    ),
    (
        "sysbox-checksum-mismatch",
        role("sysbox", sysbox_package_path="@TMP@/sysbox-ce.deb", sysbox_package_checksum=ZERO_SHA, **SYSBOX),
        ["sysbox_package_checksum does not match", "Fix the checksum"],
    ),
    (
        "sysbox-path-missing",
        role("sysbox", sysbox_package_path="@TMP@/no-such.deb", **SYSBOX),
        ["sysbox_package_path", "does not exist"],
    ),
    (
        "sysbox-url-and-path",
        role(
            "sysbox",
            sysbox_package_path="@TMP@/sysbox-ce.deb",
            sysbox_package_url="https://example.invalid/s.deb",
            sysbox_package_checksum=ZERO_SHA,
            **SYSBOX,
        ),
        ["sysbox_package_url and sysbox_package_path", "only one"],
    ),
    ("sysbox-state-unknown", role("sysbox", sysbox_state="maybe", **SYSBOX), ["sysbox_state", "present, absent"]),
    # --- docker_engine role (argument specs; semantic checks need the packages in place)
    (
        "engine-source-unknown",
        role("docker_engine", docker_engine_source="snap", docker_engine_daemon_config_path="@TMP@/daemon.json"),
        ["docker_engine_source", "distro, docker"],
    ),
    (
        "engine-options-not-dict",
        role(
            "docker_engine", docker_engine_daemon_options="debug", docker_engine_daemon_config_path="@TMP@/daemon.json"
        ),
        ["docker_engine_daemon_options", "dict"],
    ),
    (
        "engine-timeout-not-int",
        role("docker_engine", docker_engine_start_timeout="soon", docker_engine_daemon_config_path="@TMP@/daemon.json"),
        ["docker_engine_start_timeout", "int"],
    ),
    # --- modules
    (
        "daemon-config-corrupt-json",
        module("docker_daemon_config", path="@TMP@/corrupt.json", options={"debug": True}),
        ["corrupt.json is not valid JSON", "left untouched"],
    ),
    (
        "daemon-config-bad-value",
        module("docker_daemon_config", path="@TMP@/daemon.json", options={"debug": "yes"}),
        ["options['debug']", "boolean"],
    ),
    (
        "daemon-config-list-merge",
        module("docker_daemon_config", path="@TMP@/daemon.json", options={}, list_merge="prepend"),
        ["list_merge", "replace, append"],
    ),
    (
        "daemon-config-no-directory",
        module("docker_daemon_config", path="@TMP@/absent/daemon.json", options={"debug": True}),
        ["path", "does not exist"],
    ),
    (
        "daemon-config-remove-empty-part",
        module("docker_daemon_config", path="@TMP@/daemon.json", remove=["log-opts..max-size"]),
        ["remove", "empty part"],
    ),
    (
        "apparmor-mode-unknown",
        module("apparmor_info", expect_profile="docker-default", expect_mode="paranoid"),
        ["expect_mode", "enforce, complain"],
    ),
    (
        "apparmor-mode-without-profile",
        module("apparmor_info", expect_mode="enforce"),
        ["expect_mode", "expect_profile"],
    ),
    ("cgroup-proc-root-missing", module("cgroup_info", proc_root="@TMP@/no-proc"), ["proc_root", "existing directory"]),
    (
        "nesting-proc-root-missing",
        module("nesting_facts", proc_root="@TMP@/no-proc"),
        ["proc_root", "existing directory"],
    ),
    (
        "nesting-capability-unknown",
        module("nesting_facts", engine_capabilities=["CAP_FLY"]),
        ["engine_capabilities", "CAP_FLY"],
    ),
    ("nesting-pid-invalid", module("nesting_facts", pid="init"), ["pid", "numeric process id"]),
    ("preflight-pool-size", module("sysbox_preflight", pool_size=8), ["pool_size", "16..30"]),
    (
        "report-host-missing",
        module("nesting_report", records=[{"depth": 0, "facts": {}}]),
        ["records[0].host", "inventory name"],
    ),
    (
        "report-dir-missing",
        module(
            "nesting_report",
            records=[{"host": "h", "depth": 0, "error": "unreachable"}],
            json_path="@TMP@/absent/report.json",
        ),
        ["json_path", "create it first"],
    ),
]


def _substitute(value: Any, tmp: str) -> Any:
    if isinstance(value, str):
        return value.replace("@TMP@", tmp)
    if isinstance(value, list):
        return [_substitute(v, tmp) for v in value]
    if isinstance(value, dict):
        return {k: _substitute(v, tmp) for k, v in value.items()}
    return value


@pytest.fixture(scope="module")
def workdir() -> Any:
    """The directory every case may point at (with its seeded files) and one for the playbooks."""
    if shutil.which("docker") is None:
        pytest.skip("docker CLI not found: the snapshot needs the host's dockerd")
    tmp = tempfile.mkdtemp(prefix="nhtest-rel-bad-")
    Path(tmp, "corrupt.json").write_text(CORRUPT_JSON)
    Path(tmp, "daemon.json").write_text(GOOD_JSON)
    Path(tmp, "sysbox-ce.deb").write_bytes(FAKE_DEB)
    plays = Path(tmp + "-plays")
    plays.mkdir()
    yield tmp, plays
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.rmtree(plays, ignore_errors=True)


def test_table_is_large_and_unique() -> None:
    ids = [case[0] for case in CASES]
    assert len(ids) >= 30, f"only {len(ids)} bad-input cases"
    assert len(ids) == len(set(ids)), "case ids repeat"
    assert hashlib.sha256(FAKE_DEB).hexdigest() != ZERO_SHA


@pytest.mark.parametrize(("case_id", "task", "expect"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_refused_and_host_unchanged(workdir: Any, case_id: str, task: Any, expect: list[str]) -> None:
    tmp, plays = workdir
    extra: dict[str, Any] = {}
    if isinstance(task, tuple) and task[0] == "site":
        playbook = os.path.join(snapshot.REPO_ROOT, "playbooks", "site.yml")
        extra = task[1]
    else:
        play = [
            {"name": f"bad input {case_id}", "hosts": "all", "gather_facts": False, "tasks": [_substitute(task, tmp)]}
        ]
        playbook = str(plays / f"{case_id}.yml")
        Path(playbook).write_text(yaml.safe_dump(play, sort_keys=False))
    before = snapshot.take([tmp])
    rc, out, stderr = snapshot.run_playbook(playbook, extra_vars=extra)
    after = snapshot.take([tmp])
    failed = snapshot.failures(out)
    print(f"{case_id}: exit {rc}; failure: {failed}")
    assert rc != 0, f"{case_id}: ansible-playbook exited 0 on bad input; tasks: {snapshot.changed_tasks(out)}"
    assert len(failed) == 1, (
        f"{case_id}: expected exactly one failed task, got {failed or out.get('unparsed') or stderr[-2000:]}"
    )
    message = failed[0]
    missing = [s for s in expect if s.lower() not in message.lower()]
    assert not missing, f"{case_id}: the message lacks {missing}:\n{message}"
    assert not snapshot.changed_tasks(out), f"{case_id}: tasks reported changes {snapshot.changed_tasks(out)}"
    snapshot.assert_unchanged(before, after, case_id)
