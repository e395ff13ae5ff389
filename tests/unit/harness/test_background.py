# SPDX-License-Identifier: GPL-3.0-or-later
"""tests/integration/background.py: when guest scenarios go to the background, the run order, and
the background work itself (hostlab check, prebuild, molecule) with the commands faked."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

import background  # tests/integration is on the path (conftest.py)


@pytest.mark.parametrize(
    ("environ", "expected"),
    [({}, True), ({"NH_GUEST_BACKGROUND": "1"}, True), ({"NH_GUEST_BACKGROUND": "0"}, False),
     ({"NH_GUEST_BACKGROUND": " 0 "}, False), ({"NH_GUEST_BACKGROUND": ""}, True)],
)  # fmt: skip
def test_enabled_unless_set_to_zero(environ: dict[str, str], expected: bool) -> None:
    assert background.enabled(environ) is expected


def test_reorder_puts_guest_tests_last_keeping_each_order() -> None:
    ids = ["u1", "g1", "i1", "g2", "i2"]
    order = background.reorder(ids, [False, True, False, True, False])
    assert [ids[i] for i in order] == ["u1", "i1", "i2", "g1", "g2"]
    assert background.reorder([], []) == []


def test_molecule_argv_uses_the_venv_molecule(tmp_path: Path) -> None:
    (tmp_path / "molecule").write_text("")
    argv = background.molecule_argv(str(tmp_path / "python"), "test", "modern_host")
    assert argv == [str(tmp_path / "molecule"), "test", "-s", "modern_host"]
    assert background.molecule_argv(str(tmp_path / "nowhere" / "python"), "destroy", "x") == ["molecule", "destroy", "-s", "x"]
    assert background.niced(["a"]) == ["nice", "-n", str(background.NICENESS), "a"]


@pytest.mark.parametrize(("raw", "expected"), [("", 4000.0), ("90", 90.0), (" 1.5 ", 1.5)])
def test_timeout_from_the_environment(raw: str, expected: float) -> None:
    assert background.timeout_s({"NH_GUEST_TIMEOUT_S": raw}) == expected
    assert background.timeout_s({}) == float(background.DEFAULT_TIMEOUT_S)


@pytest.mark.parametrize("raw", ["0", "-5", "soon"])
def test_timeout_rejects_what_is_not_a_positive_number(raw: str) -> None:
    with pytest.raises(ValueError, match="NH_GUEST_TIMEOUT_S=.*positive number of seconds"):
        background.timeout_s({"NH_GUEST_TIMEOUT_S": raw})


class FakeRun:
    """subprocess.run and Popen stand-ins: the exit code per command, and the argv given."""

    def __init__(self, codes: dict[str, int], hang: bool = False) -> None:
        self.codes = codes
        self.hang = hang
        self.calls: list[list[str]] = []

    @staticmethod
    def _key(argv: list[str]) -> str:
        if argv[0] == "nice":
            return "molecule"
        if argv[0].endswith("ansible-playbook"):
            return "ansible-playbook"
        return "destroy" if "destroy" in argv else "check"

    def __call__(self, argv: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        self.calls.append(argv)
        return subprocess.CompletedProcess(argv, self.codes.get(self._key(argv), 0), stdout="hostlab: says so\n", stderr="")

    def popen(self, argv: list[str], **kwargs: Any) -> Any:
        self.calls.append(argv)
        assert kwargs["start_new_session"] is True  # so that a stop reaches molecule's children
        fake = self

        class Proc:
            pid = -1

            def wait(self, timeout: float | None = None) -> int:
                if fake.hang:
                    raise subprocess.TimeoutExpired(argv, timeout or 0)
                return fake.codes["molecule"]

        return Proc()


def _work(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, codes: dict[str, int], hang: bool = False
) -> tuple[background.Run, FakeRun]:
    fake = FakeRun(codes, hang)
    monkeypatch.setattr(background.subprocess, "run", fake)
    monkeypatch.setattr(background.subprocess, "Popen", fake.popen)
    monkeypatch.setattr(background, "_stop", lambda proc: fake.calls.append(["stop"]))
    monkeypatch.setattr(background, "LOG_DIR", tmp_path)
    run = background.Run(scenario="modern_host", log_path=tmp_path / "modern_host.log", timeout_s=5)
    background._work(run, {})  # noqa: SLF001 - the thread body, run in this thread
    assert run.prebuilt.is_set() and run.done.is_set()
    return run, fake


def test_work_skips_where_qemu_cannot_boot(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    run, fake = _work(monkeypatch, tmp_path, {"check": background.HOSTLAB_CANNOT_BOOT})
    assert run.skip_reason.startswith("not run, QEMU cannot boot a guest here")
    assert run.returncode is None and len(fake.calls) == 1


def test_work_stops_when_the_check_fails(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    run, fake = _work(monkeypatch, tmp_path, {"check": 1})
    assert run.error.startswith("hostlab.py check failed") and len(fake.calls) == 1


def test_work_never_starts_molecule_after_a_failed_prebuild(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Molecule's prepare would build the images itself, beside tests that snapshot the daemon.
    run, fake = _work(monkeypatch, tmp_path, {"check": 0, "ansible-playbook": 2})
    assert "ensure_trixie_images.yml exited 2" in run.error
    assert run.returncode is None and [c[-3:] for c in fake.calls if c[0] == "nice"] == []


def test_work_runs_prebuild_then_molecule_and_keeps_its_exit(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    run, fake = _work(monkeypatch, tmp_path, {"check": 0, "ansible-playbook": 0, "molecule": 4})
    assert run.returncode == 4 and not run.error and not run.skip_reason
    assert fake.calls[1][-1].endswith("ensure_trixie_images.yml")
    assert fake.calls[2][:3] == ["nice", "-n", "10"] and fake.calls[2][-3:] == ["test", "-s", "modern_host"]
    assert "[background" in run.log_path.read_text()


def test_work_stops_a_hung_run_and_destroys_its_guest(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    run, fake = _work(monkeypatch, tmp_path, {"check": 0, "ansible-playbook": 0, "molecule": 0}, hang=True)
    assert run.returncode is None
    assert "did not finish within 5 s (NH_GUEST_TIMEOUT_S)" in run.error
    assert fake.calls[-2] == ["stop"] and fake.calls[-1][1:] == ["destroy", "-s", "modern_host"]


def test_work_reports_an_exception_instead_of_dying(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def broken(*_args: Any, **_kwargs: Any) -> None:
        raise OSError("no such tool")

    monkeypatch.setattr(background.subprocess, "run", broken)
    monkeypatch.setattr(background, "LOG_DIR", tmp_path)
    run = background.Run(scenario="modern_host", log_path=tmp_path / "modern_host.log")
    background._work(run, {})  # noqa: SLF001
    assert "broke: OSError('no such tool')" in run.error and run.done.is_set()
