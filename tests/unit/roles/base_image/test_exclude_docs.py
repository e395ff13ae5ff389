# SPDX-License-Identifier: GPL-3.0-or-later
"""base_image_exclude_docs: the dpkg configuration the role writes into the image and the script
that removes what was installed before it existed are rendered from one list
(``__base_image_doc_paths``); here both are rendered as the template module does and must agree
on every path: the script removes a file exactly when dpkg, reading the configuration, would not
install it."""

from __future__ import annotations

import fnmatch
import subprocess
from pathlib import Path
from typing import Any

import jinja2
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

ROLE = Path(__file__).resolve().parents[4] / "roles" / "base_image"


def _vars() -> dict[str, Any]:
    return dict(yaml.safe_load((ROLE / "vars" / "main.yml").read_text()))


def _render(name: str) -> str:
    # The template module's defaults: trim_blocks on, trailing newline kept.
    env = jinja2.Environment(trim_blocks=True, keep_trailing_newline=True, undefined=jinja2.StrictUndefined)
    return env.from_string((ROLE / "templates" / name).read_text()).render(**_vars())


def _dpkg_installs(rules: list[tuple[str, str]], path: str) -> bool:
    """dpkg's path filters: included by default, the last matching filter decides (dpkg(1))."""
    keep = True
    for kind, pattern in rules:
        if fnmatch.fnmatchcase(path, pattern):
            keep = kind == "path-include"
    return keep


def _rules() -> list[tuple[str, str]]:
    lines = [line for line in _render("dpkg-nodoc.cfg.j2").splitlines() if line and not line.startswith("#")]
    pairs = [line.split("=", 1) for line in lines]
    return [(pair[0], pair[1]) for pair in pairs]


def test_the_configuration_names_every_listed_directory() -> None:
    rules = _rules()
    assert ("path-exclude", "/usr/share/doc/*") in rules
    assert ("path-include", "/usr/share/doc/*/copyright") in rules
    assert ("path-include", "/usr/share/locale/locale.alias") in rules
    assert [p for k, p in rules if k == "path-exclude"] == [e["dir"] + "/*" for e in _vars()["__base_image_doc_paths"]]


def _strip(root: Path) -> None:
    script = root.parent / "strip-docs.sh"
    script.write_text(_render("strip-docs.sh.j2"))
    subprocess.run(["sh", str(script), str(root)], check=True, capture_output=True, text=True)


CAPTURED = [
    # Paths from this project's bookworm base image (docker run ... find /usr/share -maxdepth 3).
    "/usr/share/doc/bash/copyright",
    "/usr/share/doc/bash/README.gz",
    "/usr/share/doc/docker.io/changelog.Debian.gz",
    "/usr/share/doc/libc6/copyright",
    "/usr/share/man/man1/bash.1.gz",
    "/usr/share/man/de/man8/apt.8.gz",
    "/usr/share/info/coreutils.info.gz",
    "/usr/share/locale/locale.alias",
    "/usr/share/locale/de/LC_MESSAGES/apt.mo",
    "/usr/share/lintian/overrides/systemd",
    "/usr/share/zoneinfo/UTC",
    "/usr/share/ca-certificates/mozilla/ISRG_Root_X1.crt",
    "/usr/lib/locale/C.utf8/LC_CTYPE",
    "/etc/docker/daemon.json",
]


def _check(root: Path, paths: list[str]) -> None:
    for path in paths:
        target = root / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(path)
    _strip(root)
    rules = _rules()
    for path in paths:
        assert (root / path.lstrip("/")).exists() == _dpkg_installs(rules, path), path


def test_script_and_configuration_agree_on_captured_paths(tmp_path: Path) -> None:
    _check(tmp_path / "rootfs", CAPTURED)
    root = tmp_path / "rootfs"
    assert sorted(str(p.relative_to(root)) for p in (root / "usr/share/doc").rglob("*") if p.is_file()) == [
        "usr/share/doc/bash/copyright",
        "usr/share/doc/libc6/copyright",
    ]
    # Emptied directories go too; the listed roots themselves stay.
    assert not (root / "usr/share/man/man1").exists() and (root / "usr/share/man").is_dir()
    assert (root / "usr/lib/locale/C.utf8/LC_CTYPE").exists() and (root / "usr/share/zoneinfo/UTC").exists()


def test_script_tolerates_missing_directories(tmp_path: Path) -> None:
    root = tmp_path / "rootfs"
    (root / "etc").mkdir(parents=True)
    _strip(root)
    assert (root / "etc").is_dir()


SEGMENT = st.sampled_from(["doc", "man", "info", "locale", "lintian", "zoneinfo", "copyright", "locale.alias", "pkg", "x.gz"])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(SEGMENT, min_size=1, max_size=4).map(lambda s: "/usr/share/" + "/".join(s)), min_size=1, max_size=12))
def test_script_and_configuration_agree_on_any_tree(tmp_path_factory: Any, paths: list[str]) -> None:
    # A path that is a file in one draw and a directory in another cannot be both: keep leaves only.
    leaves = sorted({p for p in paths if not any(q.startswith(p + "/") for q in paths)})
    _check(tmp_path_factory.mktemp("tree") / "rootfs", leaves)
