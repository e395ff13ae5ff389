# SPDX-License-Identifier: GPL-3.0-or-later
"""Run the real docker_daemon_config module against files in a temporary directory."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from ansible_collections.nested.hosts.plugins.modules import docker_daemon_config as module_under_test

EXISTING = {
    "runtimes": {"nvidia": {"path": "nvidia-container-runtime"}},
    "log-opts": {"max-size": "10m"},
}


@pytest.fixture
def daemon_json(tmp_path: Path) -> Path:
    path = tmp_path / "daemon.json"
    path.write_text(json.dumps(EXISTING, indent=4) + "\n")
    path.chmod(0o600)
    return path


def test_merge_keeps_other_runtime_and_reports_reload(run_module, daemon_json: Path) -> None:
    result = run_module(
        "docker_daemon_config",
        path=str(daemon_json),
        options={"runtimes": {"sysbox-runc": {"path": "/usr/bin/sysbox-runc"}}},
    )
    assert result["changed"] is True
    on_disk = json.loads(daemon_json.read_text())
    assert on_disk["runtimes"] == {
        "nvidia": {"path": "nvidia-container-runtime"},
        "sysbox-runc": {"path": "/usr/bin/sysbox-runc"},
    }
    assert on_disk["log-opts"] == {"max-size": "10m"}
    assert result["config"] == on_disk
    assert (result["reload_sufficient"], result["restart_required"]) == (True, False)
    assert result["reload_sufficient_keys"] == ["runtimes"]
    assert oct(daemon_json.stat().st_mode & 0o777) == oct(0o600), "mode of the replaced file is kept"


def test_second_run_is_idempotent(run_module, daemon_json: Path) -> None:
    args = {"path": str(daemon_json), "options": {"storage-driver": "overlay2"}}
    first = run_module("docker_daemon_config", **args)
    inode = daemon_json.stat().st_ino
    second = run_module("docker_daemon_config", **args)
    assert first["changed"] is True and first["restart_required_keys"] == ["storage-driver"]
    assert second["changed"] is False and second["restart_required"] is False
    assert daemon_json.stat().st_ino == inode, "an unchanged file is not rewritten"


def test_check_mode_changes_nothing_and_diff_shows_change(run_module, daemon_json: Path) -> None:
    before = daemon_json.read_bytes()
    stat = daemon_json.stat()
    result = run_module(
        "docker_daemon_config",
        check_mode=True,
        diff=True,
        path=str(daemon_json),
        options={"data-root": "/srv/docker"},
        remove=["log-opts"],
    )
    assert result["changed"] is True and result["restart_required_keys"] == [
        "data-root",
        "log-opts",
    ]
    assert daemon_json.read_bytes() == before
    assert daemon_json.stat().st_mtime_ns == stat.st_mtime_ns
    assert '"data-root": "/srv/docker"' in result["diff"]["after"]
    assert '"log-opts"' in result["diff"]["before"] and '"log-opts"' not in result["diff"]["after"]
    assert sorted(os.listdir(daemon_json.parent)) == ["daemon.json"]


def test_backup_keeps_previous_content(run_module, daemon_json: Path) -> None:
    before = daemon_json.read_text()
    result = run_module("docker_daemon_config", path=str(daemon_json), options={"debug": True}, backup=True)
    backup = Path(result["backup_file"])
    assert backup.parent == daemon_json.parent and backup.read_text() == before
    assert json.loads(daemon_json.read_text())["debug"] is True


def test_new_file_is_created_0644(run_module, tmp_path: Path) -> None:
    path = tmp_path / "daemon.json"
    result = run_module("docker_daemon_config", path=str(path), options={"debug": True}, backup=True)
    assert result["changed"] is True and result["existed"] is False and "backup_file" not in result
    assert json.loads(path.read_text()) == {"debug": True}
    assert path.stat().st_mode & 0o777 == 0o644


@pytest.mark.parametrize("text", ["{not json", '{"debug": true,}', "[]", '"a string"'])
def test_corrupt_file_fails_and_is_untouched(run_module, tmp_path: Path, text: str) -> None:
    path = tmp_path / "daemon.json"
    path.write_text(text)
    mtime = path.stat().st_mtime_ns
    result = run_module("docker_daemon_config", path=str(path), options={"debug": True}, backup=True)
    assert result["failed"] is True
    assert str(path) in result["msg"] and "left untouched" in result["msg"]
    assert path.read_text() == text and path.stat().st_mtime_ns == mtime
    assert os.listdir(tmp_path) == ["daemon.json"], "no backup or temp file left behind"


def test_bad_option_fails_naming_parameter(run_module, daemon_json: Path) -> None:
    before = daemon_json.read_bytes()
    result = run_module("docker_daemon_config", path=str(daemon_json), options={"log-opts": {"max-file": 3}})
    assert result["failed"] is True and "options['log-opts']" in result["msg"]
    assert daemon_json.read_bytes() == before


def test_missing_directory_fails_naming_path(run_module, tmp_path: Path) -> None:
    result = run_module("docker_daemon_config", path=str(tmp_path / "absent" / "daemon.json"), options={"debug": True})
    assert result["failed"] is True and result["msg"].startswith("path: the directory of")


def test_interrupted_write_leaves_previous_file_whole(run_module, daemon_json: Path, monkeypatch) -> None:
    """atomic_move fails (rename refused, no unsafe fallback): the old file is whole, no temp file is left."""
    before = daemon_json.read_bytes()

    def crash(*_args: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "rename", crash)
    result = run_module("docker_daemon_config", path=str(daemon_json), options={"debug": True})
    assert result["failed"] is True and "previous file is unchanged" in result["msg"]
    assert daemon_json.read_bytes() == before
    assert os.listdir(daemon_json.parent) == ["daemon.json"], "the temporary file is cleaned up"


def test_write_failure_is_reported_and_file_kept(run_module, daemon_json: Path, monkeypatch) -> None:
    before = daemon_json.read_bytes()

    def crash(*_args: Any, **_kwargs: Any) -> Any:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(module_under_test.tempfile, "mkstemp", crash)
    result = run_module("docker_daemon_config", path=str(daemon_json), options={"debug": True})
    assert result["failed"] is True and "previous file is unchanged" in result["msg"]
    assert daemon_json.read_bytes() == before


def test_write_goes_through_atomic_move(run_module, daemon_json: Path, monkeypatch) -> None:
    moves: list[tuple[str, str]] = []
    real = module_under_test.AnsibleModule.atomic_move

    def spy(self: Any, src: str, dest: str, *args: Any, **kwargs: Any) -> None:
        moves.append((os.path.dirname(src), dest))
        real(self, src, dest, *args, **kwargs)

    monkeypatch.setattr(module_under_test.AnsibleModule, "atomic_move", spy)
    result = run_module("docker_daemon_config", path=str(daemon_json), options={"debug": True})
    assert result["changed"] is True
    assert moves == [(str(daemon_json.parent), str(daemon_json))], "one atomic_move from the same directory"


@pytest.mark.parametrize(
    ("content", "expected", "existed"),
    [
        (EXISTING, EXISTING, True),
        (None, {}, False),
    ],
    ids=["existing", "missing"],
)
def test_state_read_returns_file_and_writes_nothing(
    run_module, tmp_path: Path, content: dict | None, expected: dict, existed: bool
) -> None:
    path = tmp_path / "daemon.json"
    if content is not None:
        path.write_text(json.dumps(content))
    before = sorted(os.listdir(tmp_path))
    mtime = path.stat().st_mtime_ns if existed else None
    result = run_module("docker_daemon_config", path=str(path), state="read")
    assert result["changed"] is False and result["config"] == expected and result["existed"] is existed
    assert sorted(os.listdir(tmp_path)) == before
    if existed:
        assert path.stat().st_mtime_ns == mtime


def test_state_read_missing_directory_is_empty(run_module, tmp_path: Path) -> None:
    result = run_module("docker_daemon_config", path=str(tmp_path / "absent" / "daemon.json"), state="read")
    assert result["changed"] is False and result["config"] == {} and result["existed"] is False


@pytest.mark.parametrize(
    "args",
    [{"options": {"debug": True}}, {"remove": ["debug"]}],
    ids=["options", "remove"],
)
def test_state_read_refuses_changes(run_module, daemon_json: Path, args: dict) -> None:
    before = daemon_json.read_bytes()
    result = run_module("docker_daemon_config", path=str(daemon_json), state="read", **args)
    assert result["failed"] is True and result["msg"].startswith("state=read")
    assert daemon_json.read_bytes() == before


def test_state_read_corrupt_file_fails(run_module, tmp_path: Path) -> None:
    path = tmp_path / "daemon.json"
    path.write_text("{not json")
    result = run_module("docker_daemon_config", path=str(path), state="read")
    assert result["failed"] is True and str(path) in result["msg"]


def test_remove_and_append(run_module, tmp_path: Path) -> None:
    path = tmp_path / "daemon.json"
    path.write_text(
        json.dumps(
            {
                "registry-mirrors": ["https://a"],
                "log-opts": {"max-size": "1m", "max-file": "2"},
            }
        )
    )
    result = run_module(
        "docker_daemon_config",
        path=str(path),
        options={"registry-mirrors": ["https://b"]},
        list_merge="append",
        remove=["log-opts.max-file"],
    )
    assert result["removed_keys"] == ["log-opts.max-file"]
    assert json.loads(path.read_text()) == {
        "registry-mirrors": ["https://a", "https://b"],
        "log-opts": {"max-size": "1m"},
    }
