# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The collection as users get it: ``ansible-galaxy collection build``, the tarball's contents
(galaxy.yml ``build_ignore``), ``ansible-galaxy collection install --offline`` into an empty
collections path (dependencies from the ansible package's bundled collections), then a module, a
role, a role's argument spec and plugin docs run from that install only: the checkout is on no
collections path, so anything missing from the tarball fails here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
GALAXY = yaml.safe_load((REPO / "galaxy.yml").read_text(encoding="utf-8"))

# Top-level entries that only develop or test the collection and must stay out of the tarball.
NOT_SHIPPED = {
    ".ci", ".venv", ".git", ".ansible", ".hypothesis", ".mypy_cache", ".pytest_cache", ".ruff_cache",
    "benchmarks", "build", "molecule", "reports", "scripts", "tests",
    "Makefile", "constraints.txt", "requirements.txt", "requirements-demo.txt", "requirements-py39.txt", "mypy.ini", "ruff.toml",
}
# What users need, one file per kind of content.
SHIPPED = [
    "MANIFEST.json", "FILES.json", "README.md", "LICENSE", "CHANGELOG.rst", "meta/runtime.yml",
    "plugins/modules/cgroup_info.py", "plugins/module_utils/_cgroup.py", "plugins/doc_fragments/kernel_roots.py",
    "plugins/connection/nested.py", "plugins/inventory/nested.py", "plugins/filter/container_options.py",
    "roles/sysbox/meta/argument_specs.yml", "roles/docker_engine/tasks/main.yml", "playbooks/verify.yml",
    "docs/reference/index.rst",
]


def _env(collections: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_") and k != "PYTHONPATH"}
    env.update(
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        ANSIBLE_COLLECTIONS_PATH=str(collections),  # only the install; bundled ones come from sys.path
        ANSIBLE_FORCE_COLOR="0",
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_LOCALHOST_WARNING="false",
        ANSIBLE_INVENTORY_UNPARSED_WARNING="false",
        ANSIBLE_HOME=str(collections.parent / "ansible-home"),
        ANSIBLE_PYTHON_INTERPRETER=sys.executable,
    )
    return env


def _run(argv: list[str], env: dict[str, str], cwd: Path, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    work = tmp_path_factory.mktemp("nhtest-packaging")
    collections = work / "collections"
    collections.mkdir()
    env = _env(collections)
    build = _run([str(BIN / "ansible-galaxy"), "collection", "build", "--output-path", str(work), str(REPO)], env, work)
    assert build.returncode == 0, build.stdout + build.stderr
    tarball = work / f"{GALAXY['namespace']}-{GALAXY['name']}-{GALAXY['version']}.tar.gz"
    assert tarball.is_file(), build.stdout
    install = _run(
        [str(BIN / "ansible-galaxy"), "collection", "install", "--offline", "-p", str(collections), str(tarball)],
        env, work,
    )
    assert install.returncode == 0, install.stdout + install.stderr
    with tarfile.open(tarball) as tar:
        names = tar.getnames()
    return {
        "work": work,
        "env": env,
        "tarball": tarball,
        "names": names,
        "root": collections / "ansible_collections" / GALAXY["namespace"] / GALAXY["name"],
    }


def test_tarball_leaves_out_development_files(installed: dict[str, Any]) -> None:
    top = {name.split("/", 1)[0] for name in installed["names"]}
    assert not top & NOT_SHIPPED, f"build_ignore lets these into the tarball: {sorted(top & NOT_SHIPPED)}"
    assert not [n for n in installed["names"] if "__pycache__" in n or n.endswith(".pyc")]
    size = installed["tarball"].stat().st_size
    assert size < 5 * 1024 * 1024, f"tarball is {size} bytes: something large is not in build_ignore"


def test_tarball_has_what_users_need(installed: dict[str, Any]) -> None:
    missing = [name for name in SHIPPED if name not in installed["names"]]
    assert not missing, f"missing from the tarball: {missing}"
    manifest = json.loads((installed["root"] / "MANIFEST.json").read_text(encoding="utf-8"))
    assert manifest["collection_info"]["dependencies"] == GALAXY["dependencies"]
    assert manifest["collection_info"]["version"] == GALAXY["version"]


def test_install_resolves_dependencies_from_the_bundled_collections(installed: dict[str, Any]) -> None:
    listing = _run([str(BIN / "ansible-galaxy"), "collection", "list", "--format", "json"], installed["env"],
                   installed["work"])
    assert listing.returncode == 0, listing.stderr
    found = json.loads(listing.stdout)
    ours = [path for path, colls in found.items() if f"{GALAXY['namespace']}.{GALAXY['name']}" in colls]
    assert ours == [str(installed["root"].parent.parent)], f"nested.hosts found at {ours}, not only in the install"
    everything = {name for colls in found.values() for name in colls}
    assert set(GALAXY["dependencies"]) <= everything


def test_module_runs_from_the_install(installed: dict[str, Any]) -> None:
    argv = [str(BIN / "ansible"), "localhost", "-c", "local", "-m", "nested.hosts.cgroup_info"]
    verbose = _run(argv + ["-vvv"], installed["env"], installed["work"])
    assert verbose.returncode == 0, verbose.stdout[-3000:] + verbose.stderr[-2000:]
    assert f"Using module file {installed['root']}/plugins/modules/cgroup_info.py" in verbose.stdout
    env = dict(installed["env"], ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json")
    proc = _run(argv, env, installed["work"])
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    result = json.loads(proc.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]
    assert result["changed"] is False
    assert result["cgroup_version"] in ("v1", "v2", "hybrid"), result


def _playbook(installed: dict[str, Any], name: str, tasks: list[dict[str, Any]]) -> subprocess.CompletedProcess[str]:
    play = installed["work"] / f"{name}.yml"
    play.write_text(yaml.safe_dump([{"hosts": "localhost", "connection": "local", "gather_facts": False,
                                     "tasks": tasks}], sort_keys=False), encoding="utf-8")
    return _run([str(BIN / "ansible-playbook"), "-i", "localhost,", str(play)], installed["env"], installed["work"],
                timeout=600)


def test_role_runs_from_the_install(installed: dict[str, Any]) -> None:
    # The sysbox role's read-only entry: its argument spec, validation and the sysbox_preflight
    # module, all resolved inside the installed collection. Nothing on the host changes.
    proc = _playbook(installed, "role", [
        {"name": "Sysbox preflight only", "ansible.builtin.include_role": {"name": "nested.hosts.sysbox"},
         "vars": {"sysbox_preflight_only": True}},
        {"name": "The preflight ran", "ansible.builtin.assert": {"that": ["sysbox_preflight.checks | length > 0"]}},
    ])
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "sysbox preflight on localhost" in proc.stdout
    assert "changed=0" in proc.stdout


def test_role_argument_spec_ships(installed: dict[str, Any]) -> None:
    # A wrong value is refused by meta/argument_specs.yml before any task of the role runs.
    proc = _playbook(installed, "bad-role-input", [
        {"name": "docker_engine with a bad source", "ansible.builtin.include_role": {"name": "nested.hosts.docker_engine"},
         "vars": {"docker_engine_source": "nhtest-no-such-source"}},
    ])
    assert proc.returncode != 0
    assert "docker_engine_source" in proc.stdout and "nhtest-no-such-source" in proc.stdout
    assert "changed=0" in proc.stdout


@pytest.mark.parametrize("kind,name", [("connection", "nested"), ("inventory", "nested"), ("filter", "container_options")])
def test_plugin_docs_from_the_install(installed: dict[str, Any], kind: str, name: str) -> None:
    proc = _run([str(BIN / "ansible-doc"), "-t", kind, "--json", f"nested.hosts.{name}"], installed["env"],
                installed["work"])
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)[f"nested.hosts.{name}"]["doc"]
    assert str(installed["root"]) in doc["filename"]
