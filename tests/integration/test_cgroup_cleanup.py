# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Removing a dind container leaves none of its nested containers' cgroups on the host.

On cgroup v1 without a cgroup namespace (what nesting_facts recommends there) the inner dockerd
sees the host's cgroup tree. Left alone it would create its containers' cgroups at the top of that
tree, beside the dind container; when the dind container is removed its processes die but nothing
deletes those directories, and they pile up on the host. The dind entrypoint points the inner
dockerd below the container's own cgroup, which the host's runtime removes with everything in it.
This test goes through the role: converge a dind container, run a container inside it, remove the
dind container with ``dind_state: absent``, then look for the inner container's cgroups.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import snapshot
import yaml

BASE_IMAGE = "nested-hosts/base:bookworm"
DIND = "nhtest-cg-dind"
INNER = "nhtest-cg-inner"
CGROUP = Path("/sys/fs/cgroup")

pytestmark = pytest.mark.usefixtures("converged_images")


def _play(tmp: Path, state: str) -> str:
    variables: dict[str, Any] = {
        "dind_state": state,
        "dind_cert_dir": str(tmp / "certs"),
        "dind_containers": [{"name": DIND}],
        "dind_seed_images": [BASE_IMAGE],
        "dind_add_to_inventory": False,
    }
    play = {
        "hosts": "localhost",
        "gather_facts": False,
        "tasks": [{"name": f"dind {state}", "ansible.builtin.include_role": {"name": "nested.hosts.dind"}, "vars": variables}],
    }
    path = tmp / f"dind-{state}.yml"
    path.write_text(yaml.safe_dump([play], sort_keys=False))
    return str(path)


def _cgroup_dirs(container_id: str) -> list[str]:
    return sorted(str(p) for p in CGROUP.glob(f"**/{container_id}") if p.is_dir())


def test_removing_a_dind_container_leaves_no_nested_cgroups(tmp_path: Path) -> None:
    if (CGROUP / "cgroup.controllers").exists():
        pytest.skip("cgroup v2 host: nested containers live in the dind container's private cgroup namespace")
    try:
        rc, out, stderr = snapshot.run_playbook(_play(tmp_path, "present"))
        assert rc == 0, snapshot.failures(out) or stderr[-2000:]
        dind_id = snapshot.docker("inspect", "--format", "{{.Id}}", DIND).stdout.strip()
        inner_id = snapshot.docker(
            "exec", DIND, "docker", "run", "-d", "--name", INNER, BASE_IMAGE, "sleep", "infinity"
        ).stdout.strip()
        assert inner_id, "no container could be started inside the dind container"
        placed = _cgroup_dirs(inner_id)
        assert placed, f"no cgroup of the inner container {inner_id[:12]} on the host"
        assert all(dind_id in path for path in placed), f"inner cgroups beside the dind container: {placed}"
    finally:
        rc, out, stderr = snapshot.run_playbook(_play(tmp_path, "absent"))
    assert rc == 0, snapshot.failures(out) or stderr[-2000:]
    assert snapshot.docker("inspect", DIND, check=False).returncode != 0, "the dind container is still there"
    assert _cgroup_dirs(inner_id) == [], "cgroups of the inner container outlived the dind container"
    assert _cgroup_dirs(dind_id) == [], "cgroups of the dind container outlived it"
