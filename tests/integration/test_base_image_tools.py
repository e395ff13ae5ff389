# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The base_image role's debootstrap source with either bootstrap tool (base_image_bootstrap_tool).

One small recipe (minbase plus python3 and sudo, the smallest set the image contract allows plus
one package with documentation) is built for real from Debian's mirror with mmdebstrap and with
debootstrap, into ``nhtest-tools/base:<tool>``. Both images must hold the same packages, an empty
machine id, no documentation but the copyright files, the dpkg configuration that keeps later
installs without it, and labels naming their source; each tool's recipe hashes apart from the
other's, and a second run of either changes nothing.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest
import snapshot

REPO = "nhtest-tools/base"
TOOLS = ("mmdebstrap", "debootstrap")
PACKAGES = ["python3", "sudo"]


def _recipe(tool: str, work: Path) -> dict[str, Any]:
    return {
        "base_image_name": REPO,
        "base_image_tag": tool,
        "base_image_source": "debootstrap",
        "base_image_bootstrap_tool": tool,
        "base_image_packages": PACKAGES,
        "base_image_work_dir": str(work),
    }


def _in_image(tool: str, script: str) -> str:
    return snapshot.docker("run", "--rm", "--entrypoint", "sh", f"{REPO}:{tool}", "-c", script).stdout


@pytest.fixture(scope="module")
def built() -> Any:
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"{' and '.join(missing)} not installed on this build host: `make setup` installs both")
    work = Path(tempfile.mkdtemp(prefix="nhtest-tools-"))
    runs: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
    try:
        for tool in TOOLS:
            play = snapshot.write_play(work / f"{tool}.yml", [snapshot.include_role("base_image", _recipe(tool, work))])
            rc, first, err = snapshot.run_playbook(play, timeout=900)
            assert rc == 0, f"building with {tool} failed: {snapshot.failures(first) or err[-1500:]}"
            rc, second, err = snapshot.run_playbook(play, timeout=300)
            assert rc == 0, f"the second run with {tool} failed: {snapshot.failures(second) or err[-1500:]}"
            runs[tool] = (first, second)
        left = sorted(p.name for p in work.glob("nested-hosts-base-*"))
        assert not left, f"build directories were left behind: {left}"
        yield runs
    finally:
        for tool in TOOLS:
            subprocess.run(["docker", "image", "rm", "-f", f"{REPO}:{tool}"], capture_output=True, check=False)
        shutil.rmtree(work, ignore_errors=True)


def test_each_tool_builds_once_then_changes_nothing(built: dict[str, Any]) -> None:
    for tool, (first, second) in built.items():
        assert any("Bootstrap the root filesystem with " + tool in name for name in snapshot.changed_tasks(first)), \
            f"{tool}: the first run did not bootstrap: {snapshot.changed_tasks(first)}"
        assert snapshot.changed_tasks(second) == [], f"{tool}: the second run changed {snapshot.changed_tasks(second)}"


def test_both_tools_give_the_same_packages(built: dict[str, Any]) -> None:
    listing = {tool: set(_in_image(tool, "dpkg-query -W -f '${Package}\\n'").split()) for tool in built}
    only_mm = listing["mmdebstrap"] - listing["debootstrap"]
    only_deb = listing["debootstrap"] - listing["mmdebstrap"]
    # lsb-base is a transitional package of Priority required in bookworm that nothing depends on:
    # debootstrap installs every required package, mmdebstrap only what apt resolves for them.
    assert only_mm == set() and only_deb <= {"lsb-base"}, (only_mm, only_deb)
    assert set(PACKAGES) <= listing["mmdebstrap"]


@pytest.mark.parametrize("tool", TOOLS)
def test_the_image_is_what_the_recipe_promises(built: dict[str, Any], tool: str) -> None:
    checks = _in_image(tool, (
        "printf 'machine-id=%s\\n' \"$(wc -c </etc/machine-id)\"; "
        "printf 'docs=%s\\n' \"$(find /usr/share/doc /usr/share/man /usr/share/info -type f ! -name copyright | wc -l)\"; "
        "printf 'copyrights=%s\\n' \"$(find /usr/share/doc -name copyright | wc -l)\"; "
        "printf 'nodoc=%s\\n' \"$(grep -c '^path-exclude=/usr/share/doc/' /etc/dpkg/dpkg.cfg.d/nested-hosts-nodoc)\"; "
        "printf 'apt-lists=%s\\n' \"$(find /var/lib/apt/lists /var/cache/apt/archives -type f -name '*.deb' -o -type f -name '*_Packages' | wc -l)\"; "
        "printf 'usr-merged=%s\\n' \"$(readlink /bin)\"; "
        "command -v python3 sudo >/dev/null && echo tools=yes"
    ))
    facts = dict(line.split("=", 1) for line in checks.splitlines())
    assert facts == {"machine-id": "0", "docs": "0", "copyrights": facts["copyrights"], "nodoc": "1",
                     "apt-lists": "0", "usr-merged": "usr/bin", "tools": "yes"}, facts
    assert int(facts["copyrights"]) > 50, "the copyright files must stay"


def test_labels_name_the_source_and_the_tool_changes_the_recipe(built: dict[str, Any]) -> None:
    labels = {tool: snapshot.docker("image", "inspect", "-f", "{{json .Config.Labels}}", f"{REPO}:{tool}").stdout
              for tool in built}
    hashes = set()
    for tool, text in labels.items():
        assert '"io.nested-hosts.source":"debootstrap:debian/bookworm"' in text, (tool, text)
        hashes.add(text.split('"io.nested-hosts.recipe-hash":"', 1)[1].split('"', 1)[0])
    assert len(hashes) == len(TOOLS), f"the recipe hash does not depend on the tool: {labels}"
    comments = {tool: snapshot.docker("history", "--no-trunc", "--format", "{{.Comment}}", f"{REPO}:{tool}").stdout
                for tool in built}
    for tool, comment in comments.items():
        assert f"nested.hosts.base_image {tool} bookworm" in comment, (tool, comment)
