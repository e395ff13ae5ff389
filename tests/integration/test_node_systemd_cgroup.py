# SPDX-License-Identifier: GPL-3.0-or-later
"""The node role against the systemd of its image on a legacy (cgroup v1 or hybrid) host.

- systemd 257 (Debian trixie, built here with the collection's own roles) boots on cgroup v1,
  tainted: the role warns, the node runs, and systemd itself says it is tainted.
- systemd 258 and later cannot boot on cgroup v1: the role refuses before any container starts.
  No Debian release with 258 can be installed here, so that case uses a clearly named stand-in
  image (the bookworm node image whose ``systemctl --version`` reports 258): the refusal is
  decided from the version the image reports, which is what the stand-in changes, and nothing
  of it is counted as a systemd 258 boot.

On a cgroup v2 host neither applies, and the test says so instead of passing.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
import snapshot

NODE_IMAGE = "nested-hosts/node:bookworm"
STANDIN_IMAGE = "nhtest-standin/node-systemd258:standin"
TRIXIE_NODE = "nested-hosts/node:trixie"
TRIXIE_IMAGES = Path(__file__).resolve().parents[2] / "molecule" / "shared" / "ensure_trixie_images.yml"

pytestmark = pytest.mark.usefixtures("converged_images")


def _legacy_host() -> bool:
    return Path("/sys/fs/cgroup/cgroup.controllers").exists() is False


@pytest.fixture
def work() -> Any:
    if not _legacy_host():
        pytest.skip("this host runs cgroup v2: the cgroup v1 warning and refusal do not apply here")
    path = Path(tempfile.mkdtemp(prefix="nhtest-sdv1-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_systemd_258_refused_on_cgroup_v1_before_anything_starts(work: Path) -> None:
    (work / "Dockerfile").write_text(
        f"FROM {NODE_IMAGE}\n"
        "LABEL io.nested-hosts.test=systemd258-standin\n"
        "RUN printf '#!/bin/sh\\necho \"systemd 258 (258.2-standin)\"\\n' > /usr/bin/systemctl"
        " && chmod 0755 /usr/bin/systemctl\n"
    )
    snapshot.docker("build", "-q", "-t", STANDIN_IMAGE, str(work))
    try:
        variables = {"node_names": ["nhtest-sdv1-258"], "node_image": STANDIN_IMAGE}
        play = snapshot.write_play(work / "sd258.yml", [snapshot.include_role("node", variables)])
        before = snapshot.take()
        rc, out, err = snapshot.run_playbook(play)
        after = snapshot.take()
        assert rc != 0, "the node role accepted a systemd 258 image on a cgroup v1 host"
        messages = " ".join(snapshot.failures(out))
        assert "systemd 258" in messages and "cgroup v2" in messages, messages or err[-2000:]
        assert snapshot.docker("ps", "-aq", "--filter", "name=nhtest-sdv1-258").stdout.strip() == ""
        snapshot.assert_unchanged(before, after, "a refused node start")
    finally:
        snapshot.docker("rmi", "-f", STANDIN_IMAGE, check=False)


def test_systemd_257_node_boots_tainted_with_a_warning(work: Path) -> None:
    # The same playbook the modern_host scenario builds its trixie images with.
    rc, out, err = snapshot.run_playbook(str(TRIXIE_IMAGES), timeout=1500)
    assert rc == 0, f"building the trixie images failed: {snapshot.failures(out) or err[-2000:]}"
    node = {"node_names": ["nhtest-sdv1-257"]}
    up = snapshot.write_play(work / "trixie-node.yml", [snapshot.include_role("node", {**node, "node_image": TRIXIE_NODE})])
    down = snapshot.write_play(work / "trixie-down.yml", [snapshot.include_role("node", {**node, "node_state": "absent"})])
    try:
        rc, out, err = snapshot.run_playbook(up)
        assert rc == 0, f"the trixie node did not start: {snapshot.failures(out) or err[-2000:]}"
        warnings = [r.get("msg", "") for name, _h, r in snapshot.task_results(out) if "Warn that systemd" in name]
        assert any("systemd 257" in str(m) and "tainted" in str(m) for m in warnings), warnings
        tainted = snapshot.docker("exec", "nhtest-sdv1-257", "systemctl", "show", "-P", "Tainted").stdout.strip()
        version = snapshot.docker("exec", "nhtest-sdv1-257", "systemctl", "--version").stdout.splitlines()[0]
        print(f"trixie node on cgroup v1: {version}; Tainted={tainted}")
        assert "cgroupsv1" in tainted
        state = snapshot.docker("exec", "nhtest-sdv1-257", "systemctl", "is-system-running", check=False).stdout.strip()
        assert state in ("running", "degraded"), state
    finally:
        rc, out, err = snapshot.run_playbook(down)
        assert rc == 0, f"removing the trixie node failed: {snapshot.failures(out) or err[-2000:]}"
