# SPDX-License-Identifier: GPL-3.0-or-later
"""demo_clean removes an image the demo recorded only while its name still names the image the
demo built: a record that outlived its images must not remove an image built later under the
same name. Run against this machine's daemon with images of its own (nhtest-clean/*), a state
file in a temporary directory and node names that do not exist, so nothing of the demo is touched."""

from __future__ import annotations

import io
import json
import subprocess
import tarfile
from pathlib import Path
from typing import Any

import pytest
import snapshot

REPO_ROOT = Path(__file__).resolve().parents[2]
DEMO_CLEAN = REPO_ROOT / "playbooks" / "demo_clean.yml"
MINE, THEIRS, UNRECORDED, GONE = (f"nhtest-clean/{n}:1" for n in ("mine", "theirs", "no-id", "gone"))


def _import(name: str, content: bytes) -> str:
    """A one-file image made with docker import; returns its ID."""
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as tar:
        info = tarfile.TarInfo("marker")
        info.size = len(content)
        tar.addfile(info, io.BytesIO(content))
    subprocess.run(["docker", "import", "-", name], input=data.getvalue(), check=True, capture_output=True)
    return _image_id(name)


def _image_id(name: str) -> str:
    out = subprocess.run(["docker", "image", "inspect", "--format", "{{.Id}}", name], capture_output=True, text=True, check=False)
    return out.stdout.strip() if out.returncode == 0 else ""


def _clean(state_dir: Path, record: Any) -> tuple[int, dict[str, Any], str]:
    (state_dir / "demo-state.json").write_text(json.dumps({"created_images": record}))
    extra = {"nhdemo_state_dir": str(state_dir), "nhdemo_nodes": ["nhtest-clean-no-such-node-1"]}
    return snapshot.run_playbook(str(DEMO_CLEAN), extra_vars=extra, timeout=300)


def _messages(out: dict[str, Any]) -> list[str]:
    return [
        result.get("msg", "")
        for play in out["plays"]
        for task in play["tasks"]
        if task["task"]["name"] == "Say which recorded names were kept, and why"
        for result in task["hosts"]["localhost"].get("results", [])
    ]


@pytest.fixture
def images() -> Any:
    made = {MINE: _import(MINE, b"mine"), THEIRS: _import(THEIRS, b"theirs"), UNRECORDED: _import(UNRECORDED, b"no-id")}
    try:
        yield made
    finally:
        subprocess.run(["docker", "image", "rm", "--force", MINE, THEIRS, UNRECORDED], capture_output=True, check=False)


def test_only_names_still_naming_the_recorded_image_are_removed(images: dict[str, str], tmp_path: Path) -> None:
    record = {MINE: images[MINE], THEIRS: "sha256:" + "0" * 64, UNRECORDED: "", GONE: "sha256:" + "1" * 64}
    rc, out, err = _clean(tmp_path, record)
    assert rc == 0, err[-3000:]
    assert _image_id(MINE) == "", "the image the demo recorded was not removed"
    assert _image_id(THEIRS) == images[THEIRS], "an image built later under a recorded name was removed"
    assert _image_id(UNRECORDED) == images[UNRECORDED], "an image recorded without an ID was removed"
    kept = _messages(out)
    assert len(kept) == 2, kept
    assert any(m.startswith(f"kept {THEIRS}: it names {images[THEIRS]}, not the image the demo built") for m in kept), kept
    assert any(m.startswith(f"kept {UNRECORDED}: the demo recorded no ID for it") for m in kept), kept
    assert not (tmp_path / "demo-state.json").exists(), "the state file was left"


def test_a_record_of_names_only_removes_nothing(images: dict[str, str], tmp_path: Path) -> None:
    rc, out, err = _clean(tmp_path, [MINE, GONE])
    assert rc == 0, err[-3000:]
    assert _image_id(MINE) == images[MINE], "a name recorded without an ID was removed"
    assert [m.split(":")[0] + ":" + m.split(":")[1] for m in _messages(out)] == [f"kept {MINE}"], _messages(out)
