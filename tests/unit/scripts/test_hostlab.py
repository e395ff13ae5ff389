# SPDX-License-Identifier: GPL-3.0-or-later
"""scripts/hostlab.py: the pure helpers (recipe hash, kernel extraction offset, QEMU argv,
KVM probe verdict, inventory, validation) and the idempotent ``down`` on an empty directory."""

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
    assert os.readlink(units / "sockets.target.wants/systemd-networkd.socket") == "/lib/systemd/system/systemd-networkd.socket"
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


def test_state_roundtrip():
    state = hostlab.LabState(
        name="lab", image="/img", accel="tcg", accel_reason="r", key_file="/s/k", known_hosts="/s/kh", inventory="/s/i"
    )
    state.guests.append(hostlab.Guest("lab-1", 40022, {"2376": 40376}, "/s/o", "/s/p", "/s/c", 123, 31.5))
    again = hostlab.LabState.from_json(state.to_json())
    assert again == state
    assert json.loads(state.to_json())["guests"][0]["forwards"] == {"2376": 40376}


def test_down_without_lab_is_a_no_op(tmp_path, capsys):
    assert hostlab.main(["down", "--state-dir", str(tmp_path / "none")]) == 0
    assert "nothing to do" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["up", "--name", "lab", "--state-dir", "{tmp}/s", "--image", "{tmp}/none"], "--image: .* holds no build"),
        (["up", "--name", "lab", "--count", "0", "--state-dir", "{tmp}/s", "--image", "{tmp}"], "--count: 0"),
        (["up", "--name", "lab", "--memory-mib", "256", "--state-dir", "{tmp}/s", "--image", "{tmp}"], "--memory-mib"),
        (["build", "--suite", "sid", "--out", "{tmp}/b"], "--suite: unknown suite"),
        (["build", "--disk-size-gib", "2", "--out", "{tmp}/b"], "--disk-size-gib: 2"),
    ],
    ids=["no-build", "count", "memory", "suite", "disk-size"],
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
