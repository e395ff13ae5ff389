# SPDX-License-Identifier: GPL-3.0-or-later
"""scripts/hostlab.py: the pure helpers (recipe hash, kernel extraction offset, QEMU argv,
KVM probe verdict, inventory, validation, boot retry decisions and messages), the boot retry
loop with QEMU and SSH stubbed out, and ``down`` on an empty or a stopped lab's directory."""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
SCRIPT = REPO / "scripts" / "hostlab.py"


def _load():
    spec = importlib.util.spec_from_file_location("hostlab", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["hostlab"] = module  # dataclasses resolve annotations through sys.modules
    spec.loader.exec_module(module)
    return module


hostlab = _load()


@pytest.mark.parametrize(
    ("suite", "present", "absent"),
    [
        ("trixie", ["docker-cli", "docker.io", "python3-docker", "python3-requests", "apparmor"], []),
        ("bookworm", ["docker.io", "python3-docker", "python3-requests", "linux-image-amd64"], ["docker-cli"]),
    ],
    ids=["trixie", "bookworm"],
)
def test_package_list(suite, present, absent):
    packages = hostlab.package_list(suite)
    assert packages == sorted(set(packages))
    for name in present:
        assert name in packages
    for name in absent:
        assert name not in packages


def test_package_list_rejects_unknown_suite():
    with pytest.raises(hostlab.LabError, match=r"--suite: unknown suite 'sid'; use one of trixie, bookworm"):
        hostlab.package_list("sid")


@pytest.mark.parametrize(
    ("change", "same"),
    [
        ({}, True),
        ({"suite": "bookworm"}, False),
        ({"mirror": "http://mirror.example/debian"}, False),
        ({"disk_size_gib": 8}, False),
        ({"disk_format": "qcow2"}, False),
    ],
    ids=["identical", "suite", "mirror", "disk-size", "disk-format"],
)
def test_recipe_hash_changes_with_every_input(change, same):
    base = {"suite": "trixie", "mirror": "http://m/debian", "disk_size_gib": 16, "disk_format": "raw"}
    first = hostlab.recipe_hash(hostlab.recipe(**base))
    second = hostlab.recipe_hash(hostlab.recipe(**{**base, **change}))
    assert (first == second) is same
    assert len(first) == 64


def test_recipe_hash_changes_with_script_version(monkeypatch):
    rec = hostlab.recipe("trixie", "http://m/debian", 16, "raw")
    before = hostlab.recipe_hash(rec)
    monkeypatch.setattr(hostlab, "SCRIPT_VERSION", "999")
    assert hostlab.recipe_hash(hostlab.recipe("trixie", "http://m/debian", 16, "raw")) != before


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"MZ\x00\x00setup\x28\xb5\x2f\xfdpayload", 9),
        (b"\x28\xb5\x2f\xfd", 0),
        (b"gzip\x1f\x8b\x08 \x28\xb5\x2f\xfd later", 8),
    ],
    ids=["after-setup", "at-start", "first-of-two-magics"],
)
def test_zstd_offset(data, expected):
    assert hostlab.zstd_offset(data) == expected


def test_zstd_offset_without_stream():
    with pytest.raises(hostlab.LabError, match="no zstd stream"):
        hostlab.zstd_offset(b"MZ\x1f\x8b\x08gzip-kernel")


def test_extract_vmlinux_roundtrip(tmp_path):
    zstd = pytest.importorskip("shutil").which("zstd")
    if zstd is None:
        pytest.skip("zstd is not installed (apt-get install zstd)")
    import subprocess

    elf = b"\x7fELF" + bytes(range(256)) * 64
    frame = subprocess.run([zstd, "-q", "-c"], input=elf, capture_output=True, check=True).stdout
    vmlinuz = tmp_path / "vmlinuz"
    vmlinuz.write_bytes(b"MZ bzImage setup code" + frame + b"\x00trailer" * 10)
    out = tmp_path / "vmlinux"
    hostlab.extract_vmlinux(vmlinuz, out)
    assert out.read_bytes() == elf


def test_extract_vmlinux_not_elf(tmp_path):
    zstd = pytest.importorskip("shutil").which("zstd")
    if zstd is None:
        pytest.skip("zstd is not installed (apt-get install zstd)")
    import subprocess

    frame = subprocess.run([zstd, "-q", "-c"], input=b"not a kernel", capture_output=True, check=True).stdout
    vmlinuz = tmp_path / "vmlinuz"
    vmlinuz.write_bytes(b"MZ" + frame)
    with pytest.raises(hostlab.LabError, match="did not decompress to an ELF kernel"):
        hostlab.extract_vmlinux(vmlinuz, tmp_path / "vmlinux")


# Console texts: the KVM failure as this project's machine shows it, a kernel that reached its
# root-mount panic, and nothing at all (what a hung KVM guest prints here).
PANIC = (
    '[    1.9] VFS: Cannot open root device "" or unknown-block(0,0): error -6\n'
    "[    1.9] Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)\n"
)


@pytest.mark.parametrize(
    ("console", "code", "works", "reason"),
    [
        (PANIC, 0, True, "booted to its root-mount panic under KVM"),
        ("KVM internal error. Suberror: 1\nemulation failure\n", 1, False, "KVM internal error"),
        ("", None, False, "printed nothing"),
        ("[    0.0] Linux version 6.12\n", None, False, "did not reach its root-mount panic"),
        ("", 1, False, "qemu exited 1"),
    ],
    ids=["panic", "emulation-failure", "silent-hang", "partial-boot", "early-exit"],
)
def test_probe_verdict(console, code, works, reason):
    ok, text = hostlab.probe_verdict(console, code)
    assert ok is works
    assert reason in text


def _argv(accel="tcg", forwards=()):
    return hostlab.qemu_argv(
        qemu="qemu-system-x86_64",
        name="lab-1",
        accel=accel,
        memory_mib=3072,
        cpus=2,
        kernel="/img/vmlinux",
        initrd="/img/initrd.img",
        cmdline="root=/dev/vda",
        disk="/state/lab-1.qcow2",
        ssh_port=40022,
        forwards=list(forwards),
        pidfile="/state/lab-1.pid",
        console="/state/lab-1.console.log",
    )


@pytest.mark.parametrize(
    ("accel", "accel_arg", "cpu"),
    [("tcg", "tcg,thread=multi", "max"), ("kvm", "kvm", "host")],
    ids=["tcg", "kvm"],
)
def test_qemu_argv_accel(accel, accel_arg, cpu):
    argv = _argv(accel)
    assert argv[argv.index("-accel") + 1] == accel_arg
    assert argv[argv.index("-cpu") + 1] == cpu


def test_qemu_argv_network_disk_and_files():
    argv = _argv(forwards=[(40376, 2376)])
    netdev = argv[argv.index("-netdev") + 1]
    assert netdev == "user,id=net0,hostfwd=tcp:127.0.0.1:40022-:22,hostfwd=tcp:127.0.0.1:40376-:2376"
    # The NIC sits at PCI slot 3, which the guest names ens3 (the interfaces file says ens3).
    assert f"virtio-net-pci,netdev=net0,addr={hostlab.NIC_PCI_ADDR}" in argv
    assert hostlab.NIC_PCI_ADDR == "0x3" and hostlab.NIC_NAME == "ens3"
    assert "file=/state/lab-1.qcow2,if=none,id=disk0,format=qcow2,cache=unsafe,discard=unmap" in argv
    assert argv[argv.index("-pidfile") + 1] == "/state/lab-1.pid"
    assert argv[argv.index("-serial") + 1] == "file:/state/lab-1.console.log"
    assert ["-smp", "2"] == argv[argv.index("-smp") : argv.index("-smp") + 2]
    assert ["-m", "3072"] == argv[argv.index("-m") : argv.index("-m") + 2]
    assert "-daemonize" in argv


def test_kernel_cmdline_carries_the_key_the_guest_script_decodes():
    key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample hostlab-x\n"
    cmdline = hostlab.kernel_cmdline(key)
    words = cmdline.split()
    assert "root=/dev/vda" in words and "console=ttyS0" in words and "quiet" in words
    (param,) = [w for w in words if w.startswith(hostlab.KEY_CMDLINE_PARAM + "=")]
    assert base64.b64decode(param.split("=", 1)[1]).decode() == key.strip()
    script = hostlab.key_script_text()
    assert f"{hostlab.KEY_CMDLINE_PARAM}=*)" in script
    assert 'echo "${word#*=}" | base64 -d >/root/.ssh/authorized_keys' in script
    assert f"ExecStart={hostlab.KEY_SCRIPT_PATH}" in hostlab.key_unit_text()


def test_guest_config_texts():
    network = hostlab.network_unit_text("ens3")
    assert "[Match]\nName=ens3\n" in network and "[Network]\nDHCP=ipv4\n" in network
    assert "/dev/vda / ext4" in hostlab.fstab_text()
    sshd = hostlab.sshd_config_text()
    assert "PermitRootLogin prohibit-password" in sshd and "PasswordAuthentication no" in sshd


def test_configure_rootfs_networkd_enabled_and_units_masked(tmp_path):
    (tmp_path / "etc/systemd/system").mkdir(parents=True)  # as debootstrap leaves it
    hostlab.configure_rootfs(tmp_path, hostname="nhlab-trixie")
    assert (tmp_path / "etc/systemd/network/10-nhlab.network").read_text() == hostlab.network_unit_text("ens3")
    assert not (tmp_path / "etc/network/interfaces").exists()
    units = tmp_path / "etc/systemd/system"
    assert os.readlink(units / "multi-user.target.wants/systemd-networkd.service") == (
        "/lib/systemd/system/systemd-networkd.service"
    )
    assert (
        os.readlink(units / "sockets.target.wants/systemd-networkd.socket")
        == "/lib/systemd/system/systemd-networkd.socket"
    )
    for masked in ("modprobe@drm.service", "modprobe@efi_pstore.service", "apt-daily.timer"):
        assert os.readlink(units / masked) == "/dev/null"
    # a second run over the same tree changes nothing and does not fail on the existing links
    hostlab.configure_rootfs(tmp_path, hostname="nhlab-trixie")
    assert (tmp_path / "etc/resolv.conf").read_text() == "nameserver 10.0.2.3\n"


def test_inventory_yaml():
    guests = [{"name": "lab-1", "ssh_port": 40022}, {"name": "lab-2", "ssh_port": 40023}]
    text = hostlab.inventory_yaml(guests, "/s/id_ed25519", "/s/known_hosts", group="lab")
    yaml = pytest.importorskip("yaml")
    data = yaml.safe_load(text)
    hosts = data["all"]["children"]["lab"]["hosts"]
    assert list(hosts) == ["lab-1", "lab-2"]
    assert hosts["lab-2"] == {
        "ansible_host": "127.0.0.1",
        "ansible_port": 40023,
        "ansible_user": "root",
        "ansible_ssh_private_key_file": "/s/id_ed25519",
        "ansible_ssh_common_args": "-o UserKnownHostsFile=/s/known_hosts -o StrictHostKeyChecking=accept-new "
        "-o IdentitiesOnly=yes -o ControlMaster=auto -o ControlPersist=60s",
        "ansible_python_interpreter": "/usr/bin/python3",
    }


@pytest.mark.parametrize(
    ("name", "ok"),
    [("nhtest-lab-a", True), ("a", True), ("Lab", False), ("-lab", False), ("lab_1", False), ("x" * 42, False)],
)
def test_validate_name(name, ok):
    if ok:
        assert hostlab.validate_name(name) == name
    else:
        with pytest.raises(hostlab.LabError, match=r"^--name: .* \(e\.g\. nhtest-lab-a\)$"):
            hostlab.validate_name(name)


@pytest.mark.parametrize(("spec", "port"), [("2376", 2376), ("1", 1), ("65535", 65535), ("0", None), ("x", None)])
def test_parse_forward(spec, port):
    if port is None:
        with pytest.raises(hostlab.LabError, match="--forward"):
            hostlab.parse_forward(spec)
    else:
        assert hostlab.parse_forward(spec) == port


@pytest.mark.parametrize(
    ("cmdline", "needle", "expected"),
    [
        (b"/usr/bin/qemu-system-x86_64\0-drive\0file=/s/lab-1.qcow2,if=none\0", "/s/lab-1.qcow2", True),
        (b"/usr/bin/qemu-system-x86_64\0-drive\0file=/other/lab-1.qcow2\0", "/s/lab-1.qcow2", False),
        (b"/bin/sleep\0/s/lab-1.qcow2\0", "/s/lab-1.qcow2", False),
        (b"", "/s/", False),
    ],
    ids=["ours", "other-lab", "not-qemu", "kernel-thread"],
)
def test_cmdline_mentions(cmdline, needle, expected):
    assert hostlab.cmdline_mentions(cmdline, needle) is expected


@pytest.mark.parametrize(
    ("stat", "state"),
    [
        ("4242 (qemu-system-x86) S 1 4242 4242 0 -1 4194624", "S"),
        ("4242 (a) b) Z c) Z 1 4242 4242 0", "Z"),
    ],
    ids=["sleeping", "zombie-with-parens-in-name"],
)
def test_proc_state(stat, state):
    assert hostlab.proc_state(stat) == state


def test_pid_alive_takes_a_zombie_for_exited():
    import subprocess

    proc = subprocess.Popen(["true"])
    deadline = hostlab.time.monotonic() + 10
    while hostlab.proc_state(Path(f"/proc/{proc.pid}/stat").read_text()) != "Z":
        assert hostlab.time.monotonic() < deadline, "true did not exit within 10 s"
        hostlab.time.sleep(0.01)
    try:
        assert not hostlab.pid_alive(proc.pid)  # exited, not yet reaped
    finally:
        proc.wait()
    assert hostlab.pid_alive(os.getpid())


def test_state_roundtrip():
    state = hostlab.LabState(
        name="lab", image="/img", accel="tcg", accel_reason="r", key_file="/s/k", known_hosts="/s/kh", inventory="/s/i"
    )
    state.guests.append(hostlab.Guest("lab-1", 40022, {"2376": 40376}, "/s/o", "/s/p", "/s/c", 123, 31.5))
    again = hostlab.LabState.from_json(state.to_json())
    assert again == state
    assert json.loads(state.to_json())["guests"][0]["forwards"] == {"2376": 40376}


def test_state_from_before_boot_retries_loads():
    """A state.json written before guests had accel and boot_attempts still loads (down must read it)."""
    old = {
        "name": "lab",
        "image": "/img",
        "accel": "kvm",
        "accel_reason": "r",
        "key_file": "/s/k",
        "known_hosts": "/s/kh",
        "inventory": "/s/i",
        "guests": [
            {
                "name": "lab-1",
                "ssh_port": 40022,
                "forwards": {},
                "overlay": "/s/o",
                "pidfile": "/s/p",
                "console": "/s/c",
                "pid": 123,
                "boot_to_ssh_s": 31.5,
            }
        ],
    }
    (guest,) = hostlab.LabState.from_json(json.dumps(old)).guests
    assert (guest.accel, guest.boot_attempts) == ("", 1)


@pytest.mark.parametrize(("attempts", "ok"), [(1, True), (2, True), (5, True), (0, False), (6, False), (-1, False)])
def test_validate_boot_attempts(attempts, ok):
    if ok:
        assert hostlab.validate_boot_attempts(attempts) == attempts
    else:
        with pytest.raises(hostlab.LabError, match=rf"^--boot-attempts: {attempts} is outside 1-5; "):
            hostlab.validate_boot_attempts(attempts)


@pytest.mark.parametrize(
    ("attempt", "attempts", "expected"),
    [(1, 2, "tcg"), (2, 2, None), (1, 1, None), (3, 5, "tcg"), (5, 5, None)],
    ids=["first-of-two", "last-of-two", "no-retry", "middle", "last-of-five"],
)
def test_next_boot_accel(attempt, attempts, expected):
    # Every retry boots under TCG, whatever the failed boot ran under.
    assert hostlab.next_boot_accel(attempt, attempts) == expected


def test_attempt_console_path():
    assert hostlab.attempt_console_path("/s/lab-1.console.log", 1) == "/s/lab-1.console.attempt1.log"
    assert hostlab.attempt_console_path("/s/lab-1.console.log", "*") == "/s/lab-1.console.attempt*.log"


def test_boot_retry_message():
    console = "\n".join(f"line {n}" for n in range(1, 31)) + "\n"
    text = hostlab.boot_retry_message(
        "lab-1", "SSH on 127.0.0.1:40022 did not answer within --timeout 420 s", 421.4, 1, 2, ("kvm", "tcg"), console
    )
    first, *rest = text.splitlines()
    assert first == (
        "guest lab-1: SSH on 127.0.0.1:40022 did not answer within --timeout 420 s (waited 421 s, under kvm, "
        "boot attempt 1 of 2); stopped its qemu, booting it again from a fresh overlay under tcg "
        "(falling back from kvm); console tail:"
    )
    assert rest == [f"  | line {n}" for n in range(16, 31)]
    same = hostlab.boot_retry_message("lab-1", "qemu exited during boot", 3, 1, 3, ("tcg", "tcg"), "")
    assert "under tcg; console tail:" in same and "falling back" not in same
    assert same.endswith("  | (the console is empty)")


def test_boot_failure_message():
    console = "\n".join(f"line {n}" for n in range(1, 61))
    text = hostlab.boot_failure_message(
        "lab-1", "qemu exited during boot", 33.2, 2, "tcg", ["/s/lab-1.console.attempt1.log"], console
    )
    first, *rest = text.splitlines()
    assert first == (
        "guest lab-1: qemu exited during boot (waited 33 s, under tcg, boot attempt 2 of --boot-attempts 2); "
        "the earlier attempts' consoles: /s/lab-1.console.attempt1.log; console tail:"
    )
    assert rest == [f"line {n}" for n in range(21, 61)]
    alone = hostlab.boot_failure_message("lab-1", "qemu exited during boot", 1, 1, "kvm", [], "")
    assert "earlier" not in alone and "boot attempt 1 of --boot-attempts 1" in alone


def test_boot_spec_retry_argv_differs_only_in_the_accelerator():
    boot = hostlab.BootSpec(
        qemu="qemu-system-x86_64",
        image=Path("/img"),
        base=Path("/img/disk.raw"),
        disk_format="raw",
        cmdline="root=/dev/vda",
        memory_mib=3072,
        cpus=2,
    )
    guest = hostlab.Guest("lab-1", 40022, {"2376": 40376}, "/s/lab-1.qcow2", "/s/lab-1.pid", "/s/lab-1.console.log")
    kvm, tcg = boot.argv(guest, "kvm"), boot.argv(guest, "tcg")
    assert [(a, b) for a, b in zip(kvm, tcg) if a != b] == [("kvm", "tcg,thread=multi"), ("host", "max")]
    assert "user,id=net0,hostfwd=tcp:127.0.0.1:40022-:22,hostfwd=tcp:127.0.0.1:40376-:2376" in tcg
    assert tcg[tcg.index("-name") + 1] == "lab-1,process=lab-1"


@pytest.mark.parametrize(
    ("alive", "ssh", "expected"),
    [
        (True, 0, None),
        (True, 255, "SSH on 127.0.0.1:40022 did not answer within --timeout 420 s"),
        (True, "stalled", "SSH on 127.0.0.1:40022 did not answer within --timeout 420 s"),
        (False, 0, "qemu exited during boot"),
    ],
    ids=["answers", "refused", "ssh-stalled", "qemu-gone"],
)
def test_wait_ssh_probes_once_after_its_deadline(monkeypatch, alive, ssh, expected):
    """A guest whose deadline passed while an earlier guest was waited for still gets one probe."""
    state = hostlab.LabState(
        name="lab", image="/img", accel="tcg", accel_reason="r", key_file="/s/k", known_hosts="/s/kh", inventory="/s/i"
    )
    guest = hostlab.Guest("lab-1", 40022, {}, "/s/o", "/s/p", "/s/c", pid=100)
    probes = []

    def run(argv, **kwargs):
        probes.append(argv)
        if ssh == "stalled":
            raise hostlab.subprocess.TimeoutExpired(argv, kwargs["timeout"])
        return hostlab.subprocess.CompletedProcess(argv, ssh)

    monkeypatch.setattr(hostlab, "pid_alive", lambda pid: alive)
    monkeypatch.setattr(hostlab.subprocess, "run", run)
    started = hostlab.time.monotonic() - 1000
    assert hostlab.wait_ssh(state, guest, 420.0, started) == expected
    assert len(probes) == (1 if alive else 0)
    if expected is None:
        assert guest.boot_to_ssh_s >= 1000.0
    else:
        assert guest.boot_to_ssh_s == 0.0


def _boot_lab(tmp_path, failures, monkeypatch, boot_attempts=2):
    """A lab of one guest booted under KVM whose wait_ssh gives ``failures`` in turn (None: it answered)."""
    state = hostlab.LabState(
        name="lab", image="/img", accel="kvm", accel_reason="r", key_file="/s/k", known_hosts="/s/kh", inventory="/s/i"
    )
    guest = hostlab.Guest(
        "lab-1",
        40022,
        {},
        str(tmp_path / "lab-1.qcow2"),
        str(tmp_path / "lab-1.pid"),
        str(tmp_path / "lab-1.console.log"),
    )
    guest.accel, guest.pid = "kvm", 100
    state.guests.append(guest)
    Path(guest.console).write_text("boot 1 hung here\n")
    events = []
    answers = iter(failures)

    def wait_ssh(state_, guest_, timeout, started):
        events.append(("wait", guest_.pid, timeout))
        return next(answers)

    def start_guest(state_, state_dir, guest_, boot, accel):
        events.append(("start", accel))
        guest_.accel, guest_.pid = accel, guest_.pid + 1
        Path(guest_.console).write_text(f"boot {guest_.boot_attempts} hung here\n")
        return hostlab.time.monotonic()

    monkeypatch.setattr(hostlab, "wait_ssh", wait_ssh)
    monkeypatch.setattr(hostlab, "start_guest", start_guest)
    monkeypatch.setattr(hostlab, "stop_guest", lambda guest_, grace: events.append(("stop", guest_.pid)))
    args = hostlab.argparse.Namespace(timeout=420.0, boot_attempts=boot_attempts)
    return (
        state,
        guest,
        events,
        lambda: hostlab.boot_until_ssh(state, tmp_path, guest, None, args, hostlab.time.monotonic()),
    )


def test_boot_until_ssh_boots_a_hung_guest_again_under_tcg(tmp_path, monkeypatch, capsys):
    _state, guest, events, boot = _boot_lab(tmp_path, ["qemu exited during boot", None], monkeypatch)
    boot()
    assert events == [("wait", 100, 420.0), ("stop", 100), ("start", "tcg"), ("wait", 101, 420.0)]
    assert (guest.boot_attempts, guest.accel) == (2, "tcg")
    assert (tmp_path / "lab-1.console.attempt1.log").read_text() == "boot 1 hung here\n"
    out = capsys.readouterr().out
    assert "guest lab-1: qemu exited during boot (waited " in out
    assert (
        "boot attempt 1 of 2); stopped its qemu, booting it again from a fresh overlay under tcg (falling back from kvm)"
        in out
    )
    assert "  | boot 1 hung here" in out


def test_boot_until_ssh_fails_with_the_last_console_and_names_the_earlier(tmp_path, monkeypatch):
    hung = "SSH on 127.0.0.1:40022 did not answer within --timeout 420 s"
    _state, guest, events, boot = _boot_lab(tmp_path, [hung, hung, hung], monkeypatch, boot_attempts=3)
    with pytest.raises(hostlab.LabError) as caught:
        boot()
    assert [e[0] for e in events] == ["wait", "stop", "start", "wait", "stop", "start", "wait"]
    assert guest.boot_attempts == 3
    text = str(caught.value)
    assert text.startswith(f"guest lab-1: {hung} (waited ")
    assert "under tcg, boot attempt 3 of --boot-attempts 3" in text
    assert f"{tmp_path}/lab-1.console.attempt1.log, {tmp_path}/lab-1.console.attempt2.log; console tail:" in text
    assert text.endswith("console tail:\nboot 3 hung here")


def test_boot_until_ssh_without_retries_fails_at_once(tmp_path, monkeypatch):
    _state, guest, events, boot = _boot_lab(tmp_path, ["qemu exited during boot"], monkeypatch, boot_attempts=1)
    with pytest.raises(hostlab.LabError, match=r"under kvm, boot attempt 1 of --boot-attempts 1\); console tail:"):
        boot()
    assert events == [("wait", 100, 420.0)]
    assert not list(tmp_path.glob("*.attempt*"))


def test_down_removes_the_kept_consoles(tmp_path, capsys):
    state_dir = tmp_path / "lab"
    state_dir.mkdir()
    state = hostlab.LabState(
        name="lab",
        image="/img",
        accel="tcg",
        accel_reason="r",
        key_file=str(state_dir / "id_ed25519"),
        known_hosts=str(state_dir / "known_hosts"),
        inventory=str(state_dir / "inventory.yml"),
    )
    # Port 1 on 127.0.0.1: nothing listens there, as after a real down.
    guest = hostlab.Guest(
        "lab-1",
        1,
        {},
        str(state_dir / "lab-1.qcow2"),
        str(state_dir / "lab-1.pid"),
        str(state_dir / "lab-1.console.log"),
    )
    guest.boot_attempts = 2
    state.guests.append(guest)
    (state_dir / "state.json").write_text(state.to_json())
    for name in ("lab-1.qcow2", "lab-1.console.log", "lab-1.console.attempt1.log", "id_ed25519", "known_hosts"):
        (state_dir / name).write_text("")
    assert hostlab.main(["down", "--state-dir", str(state_dir)]) == 0
    assert not state_dir.exists(), list(state_dir.iterdir())
    assert "stopped 0 qemu" in capsys.readouterr().out


def test_down_without_lab_is_a_no_op(tmp_path, capsys):
    assert hostlab.main(["down", "--state-dir", str(tmp_path / "none")]) == 0
    assert "nothing to do" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["up", "--name", "lab", "--state-dir", "{tmp}/s", "--image", "{tmp}/none"], "--image: .* holds no build"),
        (["up", "--name", "lab", "--count", "0", "--state-dir", "{tmp}/s", "--image", "{tmp}"], "--count: 0"),
        (["up", "--name", "lab", "--memory-mib", "256", "--state-dir", "{tmp}/s", "--image", "{tmp}"], "--memory-mib"),
        (
            ["up", "--name", "lab", "--boot-attempts", "0", "--state-dir", "{tmp}/s", "--image", "{tmp}"],
            "--boot-attempts: 0 is outside 1-5",
        ),
        (["build", "--suite", "sid", "--out", "{tmp}/b"], "--suite: unknown suite"),
        (["build", "--disk-size-gib", "2", "--out", "{tmp}/b"], "--disk-size-gib: 2"),
    ],
    ids=["no-build", "count", "memory", "boot-attempts", "suite", "disk-size"],
)
def test_bad_input_names_the_parameter(tmp_path, capsys, argv, message):
    assert hostlab.main([a.format(tmp=tmp_path) for a in argv]) == 2
    err = capsys.readouterr().err
    assert __import__("re").search(message, err), err


@pytest.mark.parametrize(
    ("script", "ok", "reason"),
    [
        ("#!/bin/sh\nexec sleep 30\n", True, "starts a TCG machine"),
        ("#!/bin/sh\necho 'qemu: no accelerator found' >&2\nexit 1\n", False, "no accelerator found"),
    ],
    ids=["runs", "exits"],
)
def test_qemu_check(tmp_path, script, ok, reason):
    fake = tmp_path / "qemu-system-x86_64"
    fake.write_text(script)
    fake.chmod(0o755)
    result, text = hostlab.qemu_check(str(fake), seconds=1.0)
    assert result is ok
    assert reason in text


def test_probe_cache_keeps_a_verdict_for_one_key(tmp_path):
    st = os.stat(tmp_path)
    key = hostlab.probe_cache_key("boot-1\n", st, st)
    assert key.startswith("boot-1:")
    cache = tmp_path / hostlab.PROBE_CACHE_FILE
    assert hostlab.cached_probe(cache, key) is None  # no file yet
    cache.write_text(json.dumps({"key": key, "works": False, "reason": "hung under KVM (20.0 s)"}))
    assert hostlab.cached_probe(cache, key) == (False, "hung under KVM (20.0 s)")
    assert hostlab.cached_probe(cache, hostlab.probe_cache_key("boot-2", st, st)) is None  # another host boot
    cache.write_text("{not json")
    assert hostlab.cached_probe(cache, key) is None
    cache.write_text(json.dumps({"key": key, "works": "yes"}))
    assert hostlab.cached_probe(cache, key) is None


def test_choose_accel_probes_once_per_host_boot(tmp_path, monkeypatch):
    kernel = tmp_path / "vmlinux"
    kernel.write_bytes(b"\x7fELF")
    probes = []

    class Proc:
        returncode = None

        def __init__(self, *args, **kwargs):
            probes.append(args)

        def communicate(self, timeout=None):
            if timeout is not None:
                raise hostlab.subprocess.TimeoutExpired("qemu", timeout)
            return b"", b""

        def kill(self):
            pass

    monkeypatch.setattr(hostlab.os, "access", lambda path, mode: True)
    monkeypatch.setattr(hostlab, "probe_key_here", lambda qemu, k: "boot-1:qemu:kernel")
    monkeypatch.setattr(hostlab.subprocess, "Popen", Proc)
    first = hostlab.choose_accel("auto", "qemu-system-x86_64", kernel, tmp_path, 0.1)
    second = hostlab.choose_accel("auto", "qemu-system-x86_64", kernel, tmp_path, 0.1)
    assert len(probes) == 1
    assert first[0] == second[0] == "tcg"
    assert second[1].startswith(first[1]) and "probed earlier in this host boot" in second[1]
    with pytest.raises(hostlab.LabError, match="--accel kvm: .*probed earlier"):
        hostlab.choose_accel("kvm", "qemu-system-x86_64", kernel, tmp_path, 0.1)


FAKE_QEMU = """#!/bin/bash
# Stands in for a daemonized qemu-system-x86_64: a process whose command line names the
# overlay (what down and the retry look for), a console line per boot, and the pidfile.
args=("$@")
echo "$*" >>{boots}.argv
while [ $# -gt 0 ]; do
  case $1 in -pidfile) pidfile=$2; shift ;; -serial) console=${2#file:}; shift ;; esac
  shift
done
n=$(( $(cat {boots} 2>/dev/null || echo 0) + 1 ))
echo "$n" >{boots}
echo "fake boot $n" >"$console"
(exec -a qemu-system-x86_64 bash -c 'while :; do sleep 0.2; done' fake "${args[@]}") </dev/null >/dev/null 2>&1 &
echo $! >"$pidfile"
"""
# SSH answers from the second boot on; qemu-img and ssh-keygen only leave their files.
FAKE_SSH = '#!/bin/sh\n[ "$(cat {boots})" -ge 2 ]\n'
FAKE_QEMU_IMG = '#!/bin/sh\nfor last; do :; done\necho "$last" >>{overlays}\n: >"$last"\n'
FAKE_SSH_KEYGEN = (
    '#!/bin/sh\nwhile [ $# -gt 1 ]; do shift; done\necho key >"$1"\necho "ssh-ed25519 AAAA lab" >"$1.pub"\n'
)


def test_up_boots_a_guest_again_with_the_same_argv_and_down_removes_everything(tmp_path, monkeypatch, capsys):
    """The whole retry path with stand-in tools: stop, fresh overlay, second boot, state, down."""
    bin_dir, image, state_dir = tmp_path / "bin", tmp_path / "image", tmp_path / "lab"
    bin_dir.mkdir()
    image.mkdir()
    (image / "recipe.json").write_text(json.dumps({"disk": "disk.raw", "disk_format": "raw"}))
    boots, overlays = tmp_path / "boots", tmp_path / "overlays"
    for tool, text in (
        ("qemu-system-x86_64", FAKE_QEMU),
        ("ssh", FAKE_SSH),
        ("qemu-img", FAKE_QEMU_IMG),
        ("ssh-keygen", FAKE_SSH_KEYGEN),
    ):
        (bin_dir / tool).write_text(text.replace("{boots}", str(boots)).replace("{overlays}", str(overlays)))
        (bin_dir / tool).chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    up = ["up", "--name", "lab", "--state-dir", str(state_dir), "--image", str(image), "--accel", "tcg"]
    try:
        assert hostlab.main([*up, "--timeout", "1", "--boot-attempts", "2"]) == 0, capsys.readouterr().err
        out = capsys.readouterr().out
        state = json.loads((state_dir / "state.json").read_text())
        (guest,) = state["guests"]
        assert (guest["boot_attempts"], guest["accel"]) == (2, "tcg")
        assert overlays.read_text().splitlines() == [guest["overlay"]] * 2
        first, second = (tmp_path / "boots.argv").read_text().splitlines()
        assert first == second and f"hostfwd=tcp:127.0.0.1:{guest['ssh_port']}-:22" in first
        assert (state_dir / "lab-1.console.attempt1.log").read_text() == "fake boot 1\n"
        assert (state_dir / "lab-1.console.log").read_text() == "fake boot 2\n"
        assert hostlab.pid_runs_overlay(guest["pid"], guest["overlay"])
        assert "did not answer within --timeout 1 s (waited " in out and "  | fake boot 1" in out
        assert f"SSH answered {guest['boot_to_ssh_s']} s after qemu started (tcg, boot attempt 2 of 2)" in out
        assert len(hostlab.own_qemu_pids(state_dir)) == 1  # the first boot's qemu was stopped
    finally:
        assert hostlab.main(["down", "--state-dir", str(state_dir), "--grace", "2"]) == 0
    assert not state_dir.exists()
    assert "stopped 1 qemu" in capsys.readouterr().out
