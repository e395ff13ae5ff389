# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The checks `make lint`, `make docs-check` and `make changelog-check` run (scripts/docs.sh,
changelog.sh, shellcheck.sh, pyfloor.sh), each on a copy of this checkout with one fault put in:
they must fail and name the fault, and pass on the copy as it is."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent
EXCLUDE = (".venv", ".git", "build", ".ansible", ".hypothesis", ".pytest_cache", ".ruff_cache", "__pycache__", "reports")

pytestmark = pytest.mark.skipif(shutil.which("rsync") is None, reason="rsync is installed by scripts/setup.sh")


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


def _run(copy: Path, *argv: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", *argv], cwd=copy, env={**_env(), **env}, capture_output=True, text=True,
                          timeout=600, check=False)


def _git(copy: Path, *argv: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *argv], cwd=copy,
                   check=True, capture_output=True, text=True)


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The checkout as committed plus the working tree (without caches, images or .git), as a git repo."""
    dest = tmp_path_factory.mktemp("nhtest-tools") / "hosts"
    args = ["rsync", "-a"] + [f"--exclude={e}" for e in EXCLUDE] + [f"{REPO}/", f"{dest}/"]
    subprocess.run(args, check=True)
    _git(dest, "init", "-q")
    _git(dest, "add", "-A")
    _git(dest, "commit", "-q", "-m", "base")
    return dest


@pytest.fixture()
def copy(pristine: Path, tmp_path: Path) -> Path:
    dest = tmp_path / "hosts"
    shutil.copytree(pristine, dest, symlinks=True)
    return dest


def test_docs_check_names_stale_missing_and_orphaned_pages(copy: Path) -> None:
    assert _run(copy, "scripts/docs.sh").returncode == 0  # the copy may hold uncommitted sources
    assert _run(copy, "scripts/docs.sh", "--check").returncode == 0
    ref = copy / "docs" / "reference"
    (ref / "cgroup_info_module.rst").write_text("hand edit\n", encoding="utf-8")
    (ref / "index.rst").unlink()
    (ref / "gone_module.rst").write_text("old page\n", encoding="utf-8")
    proc = _run(copy, "scripts/docs.sh", "--check")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "stale:   docs/reference/cgroup_info_module.rst" in proc.stdout
    assert "missing: docs/reference/index.rst" in proc.stdout
    assert "orphan:  docs/reference/gone_module.rst" in proc.stdout
    assert _run(copy, "scripts/docs.sh").returncode == 0
    assert not (ref / "gone_module.rst").exists()
    assert _run(copy, "scripts/docs.sh", "--check").returncode == 0


def test_docs_follow_a_documentation_change(copy: Path) -> None:
    module = copy / "plugins" / "modules" / "cgroup_info.py"
    text = module.read_text(encoding="utf-8")
    module.write_text(text.replace("short_description: ", "short_description: NHTEST ", 1), encoding="utf-8")
    proc = _run(copy, "scripts/docs.sh", "--check")
    assert proc.returncode == 1 and "stale:   docs/reference/cgroup_info_module.rst" in proc.stdout
    assert "stale:   docs/reference/index.rst" in proc.stdout


def test_changelog_check_finds_a_stale_changelog_and_a_bad_fragment(copy: Path) -> None:
    assert _run(copy, "scripts/changelog.sh").returncode == 0
    assert _run(copy, "scripts/changelog.sh", "--check").returncode == 0
    fragment = copy / "changelogs" / "fragments" / "nhtest-new.yml"
    fragment.write_text("---\nbugfixes:\n  - cgroup_info - NHTEST a fix users see.\n", encoding="utf-8")
    proc = _run(copy, "scripts/changelog.sh", "--check")
    assert proc.returncode == 1 and "CHANGELOG.rst does not match" in proc.stdout
    assert "+- cgroup_info - NHTEST a fix users see." in proc.stdout
    assert _run(copy, "scripts/changelog.sh").returncode == 0
    assert "NHTEST a fix users see." in (copy / "CHANGELOG.rst").read_text(encoding="utf-8")
    fragment.write_text("---\nnot_a_section:\n  - text\n", encoding="utf-8")
    proc = _run(copy, "scripts/changelog.sh", "--check")
    assert proc.returncode != 0
    assert "nhtest-new.yml" in proc.stdout + proc.stderr


def test_changelog_check_requires_a_fragment_for_a_visible_change(copy: Path) -> None:
    _git(copy, "add", "-A")
    _git(copy, "commit", "-q", "--allow-empty", "-m", "rendered")
    defaults = copy / "roles" / "node" / "defaults" / "main.yml"
    defaults.write_text(defaults.read_text(encoding="utf-8") + "# NHTEST\n", encoding="utf-8")
    _git(copy, "commit", "-q", "-am", "visible change")
    proc = _run(copy, "scripts/changelog.sh", "--check", CHANGELOG_BASE="HEAD~1")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "roles/node/defaults/main.yml" in proc.stdout
    (copy / "changelogs" / "fragments" / "nhtest-node.yml").write_text(
        "---\ntrivial:\n  - node - a comment.\n", encoding="utf-8"
    )
    _git(copy, "add", "-A")
    _git(copy, "commit", "-q", "-m", "fragment")
    proc = _run(copy, "scripts/changelog.sh", "--check", CHANGELOG_BASE="HEAD~2")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "fragment requirement met" in proc.stdout


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck is installed by scripts/setup.sh")
def test_shellcheck_covers_scripts_without_extension_and_rendered_templates(copy: Path) -> None:
    assert _run(copy, "scripts/shellcheck.sh").returncode == 0
    (copy / "roles" / "dind" / "files" / "nhtest-tool").write_text("#!/bin/sh\necho $1\n", encoding="utf-8")
    (copy / "roles" / "docker_engine" / "templates" / "nhtest.sh.j2").write_text(
        "#!/bin/bash\n# {{ ansible_managed }}\nPIDFILE={{ docker_engine_pidfile }}\nrm \"$PIDFILE\" $1\n", encoding="utf-8"
    )
    (copy / "roles" / "docker_engine" / "templates" / "nhtest.conf.j2").write_text("a=$b\n", encoding="utf-8")
    proc = _run(copy, "scripts/shellcheck.sh")
    assert proc.returncode == 1
    assert "roles/dind/files/nhtest-tool line 2" in proc.stdout
    assert "roles/docker_engine/templates/nhtest.sh.j2 (rendered) line 4" in proc.stdout
    assert "nhtest.conf" not in proc.stdout  # not a shell file


def test_pyfloor_flags_what_python_38_lacks(copy: Path) -> None:
    assert _run(copy, "scripts/pyfloor.sh").returncode == 0
    utils = copy / "plugins" / "module_utils"
    (utils / "_nhtest_match.py").write_text(
        "from __future__ import annotations\n\n\ndef f(x: int) -> int:\n    match x:\n        case 1:\n"
        "            return 2\n    return 0\n",
        encoding="utf-8",
    )
    (utils / "_nhtest_noimport.py").write_text("def f(x: list[str]) -> str | None:\n    return None\n", encoding="utf-8")
    (utils / "_nhtest_bits.py").write_text(
        "from __future__ import annotations\n\n\ndef f(mask: int) -> int:\n    return mask.bit_count()\n",
        encoding="utf-8",
    )
    proc = _run(copy, "scripts/pyfloor.sh")
    assert proc.returncode == 1
    assert "_nhtest_match.py" in proc.stdout and "pattern matching" in proc.stdout
    assert "  plugins/module_utils/_nhtest_noimport.py" in proc.stdout
    assert "plugins/module_utils/_nhtest_bits.py:5:" in proc.stdout
    # Controller-side plugins may use Python 3.11.
    (utils / "_nhtest_match.py").rename(copy / "plugins" / "filter" / "nhtest_match.py")
    (utils / "_nhtest_noimport.py").unlink()
    (utils / "_nhtest_bits.py").unlink()
    assert _run(copy, "scripts/pyfloor.sh").returncode == 0
