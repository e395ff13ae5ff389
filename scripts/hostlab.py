#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Host lab: throwaway modern hosts (systemd, cgroup v2, AppArmor) as QEMU guests.

Subcommands:

``build --suite trixie|bookworm --out DIR``
    debootstrap a guest root filesystem from Debian packages, configure it (hostname,
    systemd-networkd DHCP on the virtio NIC, fstab, sshd with root key login, a unit that installs
    the lab's SSH key from the kernel command line), extract the uncompressed kernel
    (``vmlinux``) and the initrd, and make the base disk with ``mkfs.ext4 -d``. The build is
    keyed by a SHA-256 of its recipe (suite, packages, mirror, disk size and format, script
    version): a build in DIR with the same hash is reused.
``up --name N --count K --state-dir DIR --image BUILD_DIR``
    boot K guests from the read-only base disk through qcow2 copy-on-write overlays, each
    with its own free 127.0.0.1 SSH port and the lab's generated ed25519 key; KVM only when a
    short probe boot shows it works, else pure emulation (TCG). Waits for SSH, then writes an
    Ansible inventory (``inventory.yml``) and a JSON state file (``state.json``). A guest whose
    SSH does not answer within ``--timeout`` (or whose QEMU exits) is booted again from a fresh
    overlay under TCG, up to ``--boot-attempts`` boots in all.
``down --state-dir DIR``
    stop every QEMU the lab started (pidfiles), remove overlays, keys and state, and verify
    that no process and no listening port remains. Idempotent.
``check``
    exit 0 when QEMU can start a machine here (tools present, TCG works), 3 with the reason otherwise.
``status --state-dir DIR``
    say for each guest whether its QEMU runs and its SSH port answers.

Only the Python standard library is used; the tools called are debootstrap, mkfs.ext4,
zstd, qemu-img, qemu-system-x86_64, ssh and ssh-keygen.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

SCRIPT_VERSION = "1"
SUITES = ("trixie", "bookworm")
DEFAULT_MIRROR = "http://deb.debian.org/debian"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
# The NIC is placed at PCI slot 3 of the i440fx machine, which systemd names ens3.
NIC_NAME = "ens3"
NIC_PCI_ADDR = "0x3"
DISK_PCI_ADDR = "0x4"
KEY_CMDLINE_PARAM = "nhlab.authorized_key"
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,40}$")
STATE_FILE = "state.json"
INVENTORY_FILE = "inventory.yml"
KEY_FILE = "id_ed25519"
KNOWN_HOSTS_FILE = "known_hosts"
BOOT_ATTEMPTS_MAX = 5
# Console lines in the one log line of a failed boot attempt; the final error carries more.
RETRY_CONSOLE_LINES = 15
FAIL_CONSOLE_LINES = 40
# Seconds a hung guest's QEMU gets between SIGTERM and SIGKILL before its next boot attempt.
RETRY_STOP_GRACE = 10.0

# The packages of the "Modern host guests" recipe (measured on this project's machines), plus the Python
# libraries the community.docker modules need on a managed host, and tools the scenarios use.
BASE_PACKAGES = (
    "linux-image-amd64",
    "initramfs-tools",
    "systemd",
    "systemd-sysv",
    "dbus",
    "udev",
    "kmod",
    "openssh-server",
    "python3",
    "python3-docker",
    "python3-requests",
    "apparmor",
    "iproute2",
    "docker.io",
    "ca-certificates",
    "sudo",
    "procps",
    # What the Sysbox role installs before its package (sysbox_prerequisites) and the apt module's
    # python3-apt: present, they cost one dpkg-query; missing, an emulated apt run of about 3.5 min.
    "python3-apt",
    "jq",
    "fuse",
    "rsync",
    "lsb-release",
)
# In trixie the docker client is its own package; in bookworm docker.io still ships it.
SUITE_EXTRA_PACKAGES = {"trixie": ("docker-cli",), "bookworm": ()}

# Units that only cost CPU time in a throwaway guest under emulation. The two modprobe units load
# modules for hardware the guest does not have (no display, no EFI): 9-14 s each under TCG.
MASKED_UNITS = (
    "apt-daily.timer",
    "apt-daily-upgrade.timer",
    "e2scrub_all.timer",
    "fstrim.timer",
    "modprobe@drm.service",
    "modprobe@efi_pstore.service",
)
# Units enabled in the guest (the links `systemctl enable` would make). systemd-networkd configures
# the NIC as soon as udev has seen it, where ifupdown's ifupdown-pre waited for all of udev to
# settle: 33 s on the boot's critical path under TCG.
ENABLED_UNITS = (
    ("multi-user.target.wants", "systemd-networkd.service"),
    ("sockets.target.wants", "systemd-networkd.socket"),
)


class LabError(Exception):
    """A failure with a message meant for the user: what went wrong and how to fix it."""


# --------------------------------------------------------------------------------------------
# Pure helpers (unit-tested)
# --------------------------------------------------------------------------------------------


def package_list(suite: str) -> list[str]:
    """Return the sorted package list of a suite's guest; raise LabError for an unknown suite."""
    if suite not in SUITES:
        raise LabError(f"--suite: unknown suite {suite!r}; use one of {', '.join(SUITES)}")
    return sorted(set(BASE_PACKAGES) | set(SUITE_EXTRA_PACKAGES[suite]))


def recipe(suite: str, mirror: str, disk_size_gib: int, disk_format: str) -> dict[str, object]:
    """Return the recipe of a build: everything that changes the resulting disk."""
    return {
        "script_version": SCRIPT_VERSION,
        "suite": suite,
        "packages": package_list(suite),
        "mirror": mirror,
        "disk_size_gib": disk_size_gib,
        "disk_format": disk_format,
        "nic": NIC_NAME,
        "masked_units": list(MASKED_UNITS),
        "enabled_units": [unit for _target, unit in ENABLED_UNITS],
    }


def recipe_hash(rec: dict[str, object]) -> str:
    """Return the SHA-256 (hex) of a recipe in canonical JSON."""
    return hashlib.sha256(json.dumps(rec, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def zstd_offset(data: bytes) -> int:
    """Return the offset of the first zstd frame in a bzImage; raise LabError when there is none."""
    offset = data.find(ZSTD_MAGIC)
    if offset < 0:
        raise LabError("kernel image: no zstd stream (magic 28 b5 2f fd) found; the kernel is not zstd-compressed")
    return offset


def network_unit_text(nic: str) -> str:
    """Return the systemd-networkd .network file: DHCP (IPv4) on one NIC."""
    return f"# Written by nested.hosts scripts/hostlab.py\n[Match]\nName={nic}\n\n[Network]\nDHCP=ipv4\n"


def fstab_text() -> str:
    """Return the guest's /etc/fstab (root on the virtio disk)."""
    return "# Written by nested.hosts scripts/hostlab.py\n/dev/vda / ext4 rw,errors=remount-ro 0 1\n"


def sshd_config_text() -> str:
    """Return the sshd drop-in: root by key only, no DNS lookups (slow under emulation)."""
    return (
        "# Written by nested.hosts scripts/hostlab.py\n"
        "PermitRootLogin prohibit-password\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nUseDNS no\n"
    )


KEY_SCRIPT_PATH = "/usr/local/sbin/nhlab-authorized-key"


def key_script_text() -> str:
    """Return the script that writes root's authorized_keys from the kernel command line.

    The base disk is shared read-only by all labs, so each lab's public key is passed as
    ``nhlab.authorized_key=<base64>`` on the kernel command line instead of being baked in.
    """
    return (
        "#!/bin/sh\n# Written by nested.hosts scripts/hostlab.py\nset -eu\n"
        "for word in $(cat /proc/cmdline); do\n"
        f"  case $word in\n  {KEY_CMDLINE_PARAM}=*)\n"
        "    install -d -m 0700 /root/.ssh\n"
        '    echo "${word#*=}" | base64 -d >/root/.ssh/authorized_keys\n'
        "    chmod 0600 /root/.ssh/authorized_keys ;;\n  esac\ndone\n"
    )


def key_unit_text() -> str:
    """Return the oneshot unit that runs the key script before sshd."""
    return (
        "# Written by nested.hosts scripts/hostlab.py\n"
        "[Unit]\nDescription=Install the host lab's SSH key from the kernel command line\n"
        "Before=ssh.service\n\n"
        f"[Service]\nType=oneshot\nExecStart={KEY_SCRIPT_PATH}\n\n"
        "[Install]\nWantedBy=multi-user.target\n"
    )


def kernel_cmdline(public_key: str, extra: str = "") -> str:
    """Return the guest's kernel command line carrying the lab's public key."""
    encoded = base64.b64encode(public_key.strip().encode()).decode()
    # quiet: every console byte is an emulated serial write, and the kernel and systemd print a
    # thousand lines on a normal boot; warnings, errors and panics are still printed.
    parts = ["root=/dev/vda", "rw", "console=ttyS0", "quiet", "net.ifnames=1", f"{KEY_CMDLINE_PARAM}={encoded}"]
    if extra:
        parts.append(extra)
    return " ".join(parts)


def qemu_argv(
    *,
    qemu: str,
    name: str,
    accel: str,
    memory_mib: int,
    cpus: int,
    kernel: str,
    initrd: str,
    cmdline: str,
    disk: str,
    ssh_port: int,
    forwards: list[tuple[int, int]],
    pidfile: str,
    console: str,
) -> list[str]:
    """Return the qemu-system-x86_64 argv of one guest (daemonized, serial console to a file)."""
    hostfwd = [f"hostfwd=tcp:127.0.0.1:{ssh_port}-:22"]
    hostfwd += [f"hostfwd=tcp:127.0.0.1:{host}-:{guest}" for host, guest in forwards]
    accel_arg = "kvm" if accel == "kvm" else "tcg,thread=multi"
    return [
        qemu,
        "-name",
        name,
        "-machine",
        "pc",
        "-accel",
        accel_arg,
        "-cpu",
        "host" if accel == "kvm" else "max",
        "-smp",
        str(cpus),
        "-m",
        str(memory_mib),
        "-nodefaults",
        "-no-user-config",
        "-display",
        "none",
        "-vga",
        "none",
        "-kernel",
        kernel,
        "-initrd",
        initrd,
        "-append",
        cmdline,
        "-drive",
        f"file={disk},if=none,id=disk0,format=qcow2,cache=unsafe,discard=unmap",
        "-device",
        f"virtio-blk-pci,drive=disk0,addr={DISK_PCI_ADDR}",
        "-netdev",
        "user,id=net0," + ",".join(hostfwd),
        "-device",
        f"virtio-net-pci,netdev=net0,addr={NIC_PCI_ADDR}",
        "-device",
        "virtio-rng-pci",
        "-serial",
        f"file:{console}",
        "-monitor",
        "none",
        "-pidfile",
        pidfile,
        "-daemonize",
    ]


def probe_argv(qemu: str, kernel: str, console: str) -> list[str]:
    """Return the argv of the KVM probe: boot the kernel without a root disk until it panics.

    A kernel that reaches "VFS: Unable to mount root fs" ran its whole boot under KVM;
    ``panic=-1`` and ``-no-reboot`` make QEMU exit right after.
    """
    return [
        qemu,
        "-machine",
        "pc",
        "-accel",
        "kvm",
        "-cpu",
        "host",
        "-m",
        "512",
        "-nodefaults",
        "-no-user-config",
        "-display",
        "none",
        "-vga",
        "none",
        "-no-reboot",
        "-kernel",
        kernel,
        "-append",
        "console=ttyS0 panic=-1",
        "-serial",
        f"file:{console}",
    ]


def probe_verdict(console: str, returncode: int | None) -> tuple[bool, str]:
    """Judge a KVM probe from its console text and QEMU's exit code (None: it timed out)."""
    if "KVM internal error" in console or "emulation failure" in console:
        return False, "KVM probe: the guest died with a KVM internal error (emulation failure)"
    if "Kernel panic" in console and ("Unable to mount root" in console or "VFS" in console):
        return True, "KVM probe: the kernel booted to its root-mount panic under KVM"
    if returncode is None and not console.strip():
        return False, "KVM probe: the kernel printed nothing on its console within the probe timeout (hung under KVM)"
    if returncode is None:
        return False, "KVM probe: the kernel did not reach its root-mount panic within the probe timeout"
    return False, f"KVM probe: qemu exited {returncode} before the kernel finished booting"


def inventory_yaml(guests: list[dict[str, object]], key_file: str, known_hosts: str, group: str) -> str:
    """Return an Ansible YAML inventory for the guests (all reached on 127.0.0.1)."""
    ssh_args = (
        f"-o UserKnownHostsFile={known_hosts} -o StrictHostKeyChecking=accept-new "
        "-o IdentitiesOnly=yes -o ControlMaster=auto -o ControlPersist=60s"
    )
    lines = ["# Written by nested.hosts scripts/hostlab.py", "all:", "  children:", f"    {group}:", "      hosts:"]
    for guest in guests:
        lines += [
            f"        {guest['name']}:",
            "          ansible_host: 127.0.0.1",
            f"          ansible_port: {guest['ssh_port']}",
            "          ansible_user: root",
            f"          ansible_ssh_private_key_file: {json.dumps(key_file)}",
            f"          ansible_ssh_common_args: {json.dumps(ssh_args)}",
            "          ansible_python_interpreter: /usr/bin/python3",
        ]
    return "\n".join(lines) + "\n"


def validate_name(name: str) -> str:
    """Return a lab name when it is usable in file and process names; raise LabError otherwise."""
    if not NAME_RE.match(name):
        raise LabError(
            f"--name: {name!r} is not a lab name; use 1-41 lowercase letters, digits and dashes, "
            "starting with a letter or digit (e.g. nhtest-lab-a)"
        )
    return name


def parse_forward(spec: str) -> int:
    """Return the guest TCP port of a ``--forward`` value; raise LabError when it is not a port."""
    if not spec.isdigit() or not 0 < int(spec) < 65536:
        raise LabError(f"--forward: {spec!r} is not a TCP port of the guest; give a number 1-65535, e.g. 2376")
    return int(spec)


def tail(text: str, lines: int) -> str:
    """Return the last ``lines`` lines of a text."""
    return "\n".join(text.splitlines()[-lines:])


def validate_boot_attempts(attempts: int) -> int:
    """Return ``--boot-attempts`` when it is 1-5; raise LabError otherwise."""
    if not 1 <= attempts <= BOOT_ATTEMPTS_MAX:
        raise LabError(
            f"--boot-attempts: {attempts} is outside 1-{BOOT_ATTEMPTS_MAX}; give the number of boots a guest may take, "
            "e.g. 2 (1: no retry)"
        )
    return attempts


def next_boot_accel(attempt: int, attempts: int) -> str | None:
    """The accelerator of the boot after failed boot ``attempt`` of ``attempts``; None when none is left.

    The next boot is always TCG: a guest that hung under KVM may have hit a KVM fault the probe
    boot did not show, and one that hung under TCG has nothing else to fall back to.
    """
    return "tcg" if attempt < attempts else None


def attempt_console_path(console: str, attempt: int | str) -> str:
    """Where the console of an earlier boot attempt is kept, ``<guest>.console.attempt<k>.log``
    beside the guest's console (``attempt="*"`` gives the glob pattern of them all)."""
    path = Path(console)
    return str(path.with_name(f"{path.name.removesuffix('.log')}.attempt{attempt}.log"))


def boot_retry_message(
    guest: str, failure: str, waited_s: float, attempt: int, attempts: int, accels: tuple[str, str], console: str
) -> str:
    """The log line of a failed boot attempt that is retried (``accels``: this boot's and the next's),
    followed by the last lines of its console."""
    this_accel, next_accel = accels
    fallback = f" (falling back from {this_accel})" if next_accel != this_accel else ""
    lines = tail(console, RETRY_CONSOLE_LINES).splitlines() or ["(the console is empty)"]
    return (
        f"guest {guest}: {failure} (waited {waited_s:.0f} s, under {this_accel}, boot attempt {attempt} of {attempts}); "
        f"stopped its qemu, booting it again from a fresh overlay under {next_accel}{fallback}; console tail:\n"
        + "\n".join(f"  | {line}" for line in lines)
    )


def boot_failure_message(
    guest: str, failure: str, waited_s: float, attempt: int, accel: str, earlier: list[str], console: str
) -> str:
    """The LabError text of a guest's last failed boot: its console tail and where the earlier ones are."""
    kept = f"; the earlier attempts' consoles: {', '.join(earlier)}" if earlier else ""
    return (
        f"guest {guest}: {failure} (waited {waited_s:.0f} s, under {accel}, boot attempt {attempt} of "
        f"--boot-attempts {attempt}){kept}; console tail:\n{tail(console, FAIL_CONSOLE_LINES)}"
    )


def proc_state(stat: str) -> str:
    """The state letter of a /proc/PID/stat line (after the command name, which may hold spaces)."""
    return stat.rpartition(")")[2].split()[0]


def cmdline_mentions(cmdline: bytes, needle: str) -> bool:
    """Whether a /proc/PID/cmdline (NUL-separated) is a QEMU process naming ``needle``."""
    args = [a.decode(errors="replace") for a in cmdline.split(b"\0") if a]
    return bool(args) and "qemu-system" in Path(args[0]).name and any(needle in a for a in args)


# --------------------------------------------------------------------------------------------
# State
# --------------------------------------------------------------------------------------------


@dataclass
class Guest:
    """One booted guest."""

    name: str
    ssh_port: int
    forwards: dict[str, int]
    overlay: str
    pidfile: str
    console: str
    pid: int = 0
    boot_to_ssh_s: float = 0.0
    # The accelerator of the guest's last boot ("" in state files from before retries: the lab's).
    accel: str = ""
    boot_attempts: int = 1


@dataclass
class LabState:
    """What ``up`` started, enough for ``down`` and ``status``."""

    name: str
    image: str
    accel: str
    accel_reason: str
    key_file: str
    known_hosts: str
    inventory: str
    guests: list[Guest] = field(default_factory=list)

    def to_json(self) -> str:
        """Serialise to JSON."""
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> LabState:
        """Parse what ``to_json`` wrote."""
        raw = json.loads(text)
        guests = [Guest(**g) for g in raw.pop("guests", [])]
        return cls(guests=guests, **raw)


@dataclass
class BootSpec:
    """What every boot of a lab's guests shares; a guest's retry boots with the same argv but its accel."""

    qemu: str
    image: Path
    base: Path
    disk_format: str
    cmdline: str
    memory_mib: int
    cpus: int

    def argv(self, guest: Guest, accel: str) -> list[str]:
        """Return the qemu argv that boots ``guest`` under ``accel``."""
        return qemu_argv(
            qemu=self.qemu,
            name=f"{guest.name},process={guest.name}",
            accel=accel,
            memory_mib=self.memory_mib,
            cpus=self.cpus,
            kernel=str(self.image / "vmlinux"),
            initrd=str(self.image / "initrd.img"),
            cmdline=self.cmdline,
            disk=guest.overlay,
            ssh_port=guest.ssh_port,
            forwards=[(h, int(g)) for g, h in guest.forwards.items()],
            pidfile=guest.pidfile,
            console=guest.console,
        )


# --------------------------------------------------------------------------------------------
# Side effects
# --------------------------------------------------------------------------------------------


def log(msg: str) -> None:
    """Print one progress line."""
    print(f"hostlab: {msg}", flush=True)


def run(argv: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    """Run a command with LANG=C; raise LabError with its stderr tail when it fails."""
    env = dict(os.environ, LANG="C", LC_ALL="C")
    proc = subprocess.run(argv, env=env, text=True, capture_output=True, check=False, **kwargs)  # type: ignore[call-overload]
    if proc.returncode != 0:
        raise LabError(f"{' '.join(argv[:3])} ... exited {proc.returncode}:\n{tail(proc.stderr or proc.stdout, 20)}")
    return proc


def need_tools(*tools: str) -> None:
    """Fail with the apt package to install when a tool is missing."""
    packages = {
        "debootstrap": "debootstrap",
        "mkfs.ext4": "e2fsprogs",
        "zstd": "zstd",
        "qemu-img": "qemu-utils",
        "qemu-system-x86_64": "qemu-system-x86",
        "ssh": "openssh-client",
        "ssh-keygen": "openssh-client",
    }
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        pkgs = sorted({packages.get(t, t) for t in missing})
        raise LabError(f"missing tools {', '.join(missing)}; install them: apt-get install {' '.join(pkgs)}")


def extract_vmlinux(vmlinuz: Path, out: Path) -> None:
    """Decompress the zstd stream inside a bzImage to an ELF vmlinux that QEMU boots via PVH."""
    data = vmlinuz.read_bytes()
    offset = zstd_offset(data)
    with out.open("wb") as sink:
        # zstd stops at the end of the frame and complains about the bzImage trailer after it;
        # the output is judged by its ELF header instead of the exit code.
        subprocess.run(["zstd", "-dc", "-q"], input=data[offset:], stdout=sink, stderr=subprocess.DEVNULL, check=False)
    with out.open("rb") as src:
        if src.read(4) != b"\x7fELF":
            raise LabError(f"{vmlinuz}: the zstd stream at offset {offset} did not decompress to an ELF kernel")


def configure_rootfs(root: Path, hostname: str) -> None:
    """Write the guest's configuration files into the debootstrapped root filesystem."""
    (root / "etc/hostname").write_text(hostname + "\n")
    (root / "etc/hosts").write_text(f"127.0.0.1 localhost\n127.0.1.1 {hostname}\n::1 localhost ip6-localhost\n")
    (root / "etc/systemd/network").mkdir(parents=True, exist_ok=True)
    (root / "etc/systemd/network/10-nhlab.network").write_text(network_unit_text(NIC_NAME))
    for target, unit_name in ENABLED_UNITS:
        link = root / "etc/systemd/system" / target / unit_name
        link.parent.mkdir(parents=True, exist_ok=True)
        if not link.is_symlink():
            link.symlink_to(f"/lib/systemd/system/{unit_name}")
    (root / "etc/fstab").write_text(fstab_text())
    (root / "etc/ssh/sshd_config.d").mkdir(parents=True, exist_ok=True)
    (root / "etc/ssh/sshd_config.d/nhlab.conf").write_text(sshd_config_text())
    script = root / KEY_SCRIPT_PATH.lstrip("/")
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text(key_script_text())
    script.chmod(0o755)
    unit = root / "etc/systemd/system/nhlab-authorized-key.service"
    unit.write_text(key_unit_text())
    wants = root / "etc/systemd/system/multi-user.target.wants"
    wants.mkdir(parents=True, exist_ok=True)
    link = wants / unit.name
    # is_symlink, not exists: the link is absolute, so outside the guest it dangles
    if not link.is_symlink():
        link.symlink_to(f"/etc/systemd/system/{unit.name}")
    for masked in MASKED_UNITS:
        target = root / "etc/systemd/system" / masked
        if not target.is_symlink():
            target.unlink(missing_ok=True)
            target.symlink_to("/dev/null")
    (root / "etc/resolv.conf").unlink(missing_ok=True)
    (root / "etc/resolv.conf").write_text("nameserver 10.0.2.3\n")
    # The base disk is shared by every guest: no machine-id baked in (systemd makes one per boot).
    (root / "etc/machine-id").write_text("")


def cmd_build(args: argparse.Namespace) -> int:
    """Build (or reuse) a guest image in --out."""
    if args.disk_size_gib < 4:
        raise LabError(f"--disk-size-gib: {args.disk_size_gib} is too small for the guest; give 4 or more")
    rec = recipe(args.suite, args.mirror, args.disk_size_gib, args.format)
    digest = recipe_hash(rec)
    out = Path(args.out).resolve()
    recipe_file = out / "recipe.json"
    if recipe_file.exists():
        try:
            old = json.loads(recipe_file.read_text())
        except ValueError:
            old = {}
        if old.get("hash") == digest and all((out / f).exists() for f in old.get("files", [])):
            log(f"build {out}: reused (recipe hash {digest[:12]} unchanged, built in {old.get('build_s', '?')} s)")
            return 0
        log(f"build {out}: recipe changed ({str(old.get('hash', 'none'))[:12]} -> {digest[:12]}), rebuilding")
    need_tools("debootstrap", "mkfs.ext4", "zstd", "qemu-img")
    if os.geteuid() != 0:
        raise LabError("build: debootstrap and mkfs.ext4 -d need root; run hostlab.py build as root")
    started = time.monotonic()
    out.mkdir(parents=True, exist_ok=True)
    for stale in ("recipe.json", "disk.raw", "disk.qcow2", "vmlinux", "initrd.img"):
        (out / stale).unlink(missing_ok=True)
    work = Path(tempfile.mkdtemp(prefix="nhtest-lab-build-", dir=out))
    try:
        root = work / "rootfs"
        log(f"build {out}: debootstrap {args.suite} ({len(rec['packages'])} packages; about a minute)")  # type: ignore[arg-type]
        run(
            [
                "debootstrap",
                "--variant=minbase",
                "--include=" + ",".join(rec["packages"]),  # type: ignore[arg-type]
                args.suite,
                str(root),
                args.mirror,
            ]
        )
        t_boot = time.monotonic()
        configure_rootfs(root, hostname=f"nhlab-{args.suite}")
        kernels = sorted((root / "boot").glob("vmlinuz-*"))
        initrds = sorted((root / "boot").glob("initrd.img-*"))
        if not kernels or not initrds:
            raise LabError(f"build: no kernel or initrd under {root / 'boot'}; linux-image-amd64 did not install")
        extract_vmlinux(kernels[-1], out / "vmlinux")
        shutil.copyfile(initrds[-1], out / "initrd.img")
        raw = out / "disk.raw"
        with raw.open("wb") as disk:
            disk.truncate(args.disk_size_gib * 1024**3)
        run(["mkfs.ext4", "-q", "-F", "-L", "nhlab-root", "-d", str(root), str(raw)])
        disk_name = "disk.raw"
        if args.format == "qcow2":
            run(["qemu-img", "convert", "-f", "raw", "-O", "qcow2", str(raw), str(out / "disk.qcow2")])
            raw.unlink()
            disk_name = "disk.qcow2"
        build_s = round(time.monotonic() - started, 1)
        meta = {
            "hash": digest,
            "recipe": rec,
            "kernel_version": kernels[-1].name.removeprefix("vmlinuz-"),
            "files": [disk_name, "vmlinux", "initrd.img"],
            "disk": disk_name,
            "disk_format": args.format,
            "build_s": build_s,
            "debootstrap_s": round(t_boot - started, 1),
        }
        recipe_file.write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    log(f"build {out}: built in {build_s} s (debootstrap {meta['debootstrap_s']} s), recipe hash {digest[:12]}")
    return 0


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_listening(port: int) -> bool:
    """Whether something accepts TCP connections on 127.0.0.1:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


PROBE_CACHE_FILE = "kvm-probe.json"


def probe_cache_key(boot_id: str, qemu: os.stat_result, kernel: os.stat_result) -> str:
    """The key a probe verdict is kept under: this host boot, this QEMU binary, this kernel."""
    return f"{boot_id.strip()}:{qemu.st_size}:{qemu.st_mtime_ns}:{kernel.st_size}:{kernel.st_mtime_ns}"


def cached_probe(cache: Path, key: str) -> tuple[bool, str] | None:
    """The (works, reason) kept in ``cache`` under ``key``, or None when there is none for it."""
    try:
        data = json.loads(cache.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("key") != key or not isinstance(data.get("works"), bool):
        return None
    return data["works"], str(data.get("reason", ""))


def probe_key_here(qemu: str, kernel: Path) -> str | None:
    """The probe cache key on this machine, or None when the boot id or a file cannot be read."""
    try:
        boot_id = Path("/proc/sys/kernel/random/boot_id").read_text()
        qemu_path = shutil.which(qemu) or qemu
        return probe_cache_key(boot_id, os.stat(qemu_path), kernel.stat())
    except OSError:
        return None


def choose_accel(requested: str, qemu: str, kernel: Path, work: Path, timeout: float) -> tuple[str, str]:
    """Return (accel, reason): KVM only when asked for or when a probe boot works.

    A probe's verdict is kept beside the kernel for the rest of this host boot (same QEMU, same
    kernel), so a second lab on the same machine does not spend the probe timeout again.
    """
    if requested == "tcg":
        return "tcg", "--accel tcg was given"
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        if requested == "kvm":
            raise LabError("--accel kvm: /dev/kvm is missing or not accessible; use --accel auto or tcg")
        return "tcg", "/dev/kvm is missing or not accessible"
    cache = kernel.parent / PROBE_CACHE_FILE
    key = probe_key_here(qemu, kernel)
    kept = cached_probe(cache, key) if key else None
    if kept is not None:
        works, reason = kept
        reason += f"; probed earlier in this host boot, verdict kept in {cache}"
        if works:
            return "kvm", reason
        if requested == "kvm":
            raise LabError(f"--accel kvm: {reason}; use --accel auto or tcg")
        return "tcg", reason
    console = work / "kvm-probe.log"
    console.unlink(missing_ok=True)
    started = time.monotonic()
    proc = subprocess.Popen(
        probe_argv(qemu, str(kernel), str(console)), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        _out, err = proc.communicate(timeout=timeout)
        code: int | None = proc.returncode
    except subprocess.TimeoutExpired:
        proc.kill()
        _out, err = proc.communicate()
        code = None
    text = (console.read_text(errors="replace") if console.exists() else "") + (err or b"").decode(errors="replace")
    console.unlink(missing_ok=True)
    works, reason = probe_verdict(text, code)
    reason += f" ({time.monotonic() - started:.1f} s)"
    if key:
        try:
            cache.write_text(json.dumps({"key": key, "works": works, "reason": reason}) + "\n")
        except OSError:
            pass  # a read-only image directory only means the next lab probes again
    if works:
        return "kvm", reason
    if requested == "kvm":
        raise LabError(f"--accel kvm: {reason}; use --accel auto or tcg")
    return "tcg", reason


def ssh_argv(state: LabState, guest: Guest, command: list[str], connect_timeout: int = 5) -> list[str]:
    """Return the ssh argv that runs a command in a guest."""
    return [
        "ssh",
        "-i",
        state.key_file,
        "-p",
        str(guest.ssh_port),
        "-o",
        "BatchMode=yes",
        "-o",
        "IdentitiesOnly=yes",
        "-o",
        f"ConnectTimeout={connect_timeout}",
        "-o",
        f"UserKnownHostsFile={state.known_hosts}",
        "-o",
        "StrictHostKeyChecking=accept-new",
        "-o",
        "LogLevel=ERROR",
        "root@127.0.0.1",
        *command,
    ]


def pid_alive(pid: int) -> bool:
    """Whether a process exists and has not exited (a zombie has)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A daemonized qemu's parent is init, which may reap it late or, in a container whose PID 1
    # is not an init, never: its stopped qemu must not count as running.
    try:
        return proc_state(Path(f"/proc/{pid}/stat").read_text()) != "Z"
    except OSError:
        return True


def read_pid(pidfile: str) -> int:
    """Return the pid in a pidfile, 0 when absent or unreadable."""
    try:
        return int(Path(pidfile).read_text().strip())
    except (OSError, ValueError):
        return 0


def pid_runs_overlay(pid: int, overlay: str) -> bool:
    """Whether a live process is the QEMU that boots from ``overlay`` (not a reused pid)."""
    if not pid_alive(pid):
        return False
    try:
        return cmdline_mentions(Path(f"/proc/{pid}/cmdline").read_bytes(), overlay)
    except OSError:
        return False


def wait_ssh(state: LabState, guest: Guest, timeout: float, started: float) -> str | None:
    """Wait until the guest's sshd runs a command: return None then, else what went wrong.

    The port is probed at least once, even when the deadline passed while an earlier guest was
    waited for: a guest that booted meanwhile answers at once.
    """
    deadline = started + timeout
    while True:
        if not pid_alive(guest.pid):
            return "qemu exited during boot"
        try:
            proc = subprocess.run(ssh_argv(state, guest, ["true"]), capture_output=True, check=False, timeout=60)
            answered = proc.returncode == 0
        except subprocess.TimeoutExpired:
            answered = False  # sshd accepted but stalled: the guest is not up yet
        if answered:
            guest.boot_to_ssh_s = round(time.monotonic() - started, 1)
            return None
        if time.monotonic() >= deadline:
            return f"SSH on 127.0.0.1:{guest.ssh_port} did not answer within --timeout {timeout:.0f} s"
        time.sleep(2)


def read_console(console: str) -> str:
    """Return a guest's console text, empty when the file is missing."""
    path = Path(console)
    return path.read_text(errors="replace") if path.exists() else ""


def save_state(state_dir: Path, state: LabState) -> None:
    """Write state.json."""
    (state_dir / STATE_FILE).write_text(state.to_json())


def start_guest(state: LabState, state_dir: Path, guest: Guest, boot: BootSpec, accel: str) -> float:
    """Boot a guest from a fresh overlay on the base disk; return when its qemu started (monotonic)."""
    for path in (guest.overlay, guest.pidfile):
        Path(path).unlink(missing_ok=True)
    run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", str(boot.base), "-F", boot.disk_format, guest.overlay])
    Path(guest.console).write_text("")
    guest.accel = accel
    # Save before starting so that down finds every qemu even if up dies half-way.
    save_state(state_dir, state)
    run(boot.argv(guest, accel))
    started = time.monotonic()
    guest.pid = read_pid(guest.pidfile)
    save_state(state_dir, state)
    return started


def stop_guest(guest: Guest, grace: float) -> None:
    """Stop a guest's qemu; raise LabError when it outlives SIGKILL."""
    pid = read_pid(guest.pidfile) or guest.pid
    if not pid_runs_overlay(pid, guest.overlay):
        return
    stop_pid(pid, grace)
    if pid_alive(pid):
        raise LabError(f"guest {guest.name}: qemu pid {pid} did not stop after SIGKILL; cannot boot it again")


def boot_until_ssh(
    state: LabState, state_dir: Path, guest: Guest, boot: BootSpec, args: argparse.Namespace, started: float
) -> None:
    """Wait for a started guest's SSH; boot it again while --boot-attempts allows; raise LabError at the end."""
    earlier: list[str] = []
    while True:
        failure = wait_ssh(state, guest, args.timeout, started)
        if failure is None:
            return
        waited = time.monotonic() - started
        accel = next_boot_accel(guest.boot_attempts, args.boot_attempts)
        if accel is None:
            console = read_console(guest.console)
            raise LabError(
                boot_failure_message(guest.name, failure, waited, guest.boot_attempts, guest.accel, earlier, console)
            )
        # Stopped first, so that the kept console holds all the hung boot printed.
        stop_guest(guest, RETRY_STOP_GRACE)
        console = read_console(guest.console)
        accels = (guest.accel, accel)
        log(boot_retry_message(guest.name, failure, waited, guest.boot_attempts, args.boot_attempts, accels, console))
        saved = attempt_console_path(guest.console, guest.boot_attempts)
        Path(saved).write_text(console)
        earlier.append(saved)
        guest.boot_attempts += 1
        started = start_guest(state, state_dir, guest, boot, accel)
        log(f"guest {guest.name}: boot attempt {guest.boot_attempts}, qemu pid {guest.pid} ({accel})")


def load_state(state_dir: Path) -> LabState | None:
    """Return the lab state in a state directory, None when there is none."""
    path = state_dir / STATE_FILE
    if not path.exists():
        return None
    try:
        return LabState.from_json(path.read_text())
    except (ValueError, TypeError) as exc:
        raise LabError(f"{path}: unreadable state ({exc}); remove the directory after stopping its qemu") from exc


def cmd_up(args: argparse.Namespace) -> int:
    """Boot --count guests from --image under --state-dir."""
    name = validate_name(args.name)
    if args.count < 1 or args.count > 8:
        raise LabError(f"--count: {args.count} guests is outside 1-8; give a number in that range")
    if args.memory_mib < 1024:
        raise LabError(
            f"--memory-mib: {args.memory_mib} is too little for a Docker host; give 1024 or more (3072 advised)"
        )
    validate_boot_attempts(args.boot_attempts)
    forwards = [parse_forward(f) for f in args.forward]
    image = Path(args.image).resolve()
    meta_path = image / "recipe.json"
    if not meta_path.exists():
        raise LabError(f"--image: {image} holds no build (no recipe.json); run hostlab.py build --out {image} first")
    meta = json.loads(meta_path.read_text())
    state_dir = Path(args.state_dir).resolve()
    existing = load_state(state_dir)
    if existing is not None:
        raise LabError(
            f"--state-dir: {state_dir} already holds lab {existing.name!r}; run hostlab.py down --state-dir {state_dir} first"
        )
    need_tools("qemu-img", "qemu-system-x86_64", "ssh", "ssh-keygen")
    qemu = shutil.which("qemu-system-x86_64") or "qemu-system-x86_64"
    state_dir.mkdir(parents=True, exist_ok=True)
    accel, reason = choose_accel(args.accel, qemu, image / "vmlinux", state_dir, args.probe_timeout)
    log(f"accelerator: {accel} - {reason}")
    key_file = state_dir / KEY_FILE
    known_hosts = state_dir / KNOWN_HOSTS_FILE
    state = LabState(
        name=name,
        image=str(image),
        accel=accel,
        accel_reason=reason,
        key_file=str(key_file),
        known_hosts=str(known_hosts),
        inventory=str(state_dir / INVENTORY_FILE),
    )
    if not key_file.exists():
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"hostlab-{name}", "-f", str(key_file)])
    known_hosts.write_text("")
    boot = BootSpec(
        qemu=qemu,
        image=image,
        base=image / meta["disk"],
        disk_format=meta["disk_format"],
        cmdline=kernel_cmdline((state_dir / (KEY_FILE + ".pub")).read_text()),
        memory_mib=args.memory_mib,
        cpus=args.cpus,
    )
    started = {}
    try:
        used: set[int] = set()
        for index in range(1, args.count + 1):
            guest_name = f"{name}-{index}"
            ports = []
            while len(ports) < 1 + len(forwards):
                port = free_port()
                if port not in used:
                    used.add(port)
                    ports.append(port)
            guest = Guest(
                name=guest_name,
                ssh_port=ports[0],
                forwards={str(g): h for g, h in zip(forwards, ports[1:])},
                overlay=str(state_dir / f"{guest_name}.qcow2"),
                pidfile=str(state_dir / f"{guest_name}.pid"),
                console=str(state_dir / f"{guest_name}.console.log"),
            )
            state.guests.append(guest)
            started[guest.name] = start_guest(state, state_dir, guest, boot, accel)
            log(
                f"guest {guest_name}: qemu pid {guest.pid}, ssh 127.0.0.1:{guest.ssh_port}, overlay on {boot.base.name}"
            )
        for guest in state.guests:
            boot_until_ssh(state, state_dir, guest, boot, args, started[guest.name])
            attempts = (
                f", boot attempt {guest.boot_attempts} of {args.boot_attempts}" if guest.boot_attempts > 1 else ""
            )
            log(
                f"guest {guest.name}: SSH answered {guest.boot_to_ssh_s} s after qemu started ({guest.accel}{attempts})"
            )
    except BaseException:
        save_state(state_dir, state)
        log(f"up failed; the guests started so far stay for inspection: hostlab.py down --state-dir {state_dir}")
        raise
    inventory = state_dir / INVENTORY_FILE
    inventory.write_text(
        inventory_yaml([asdict(g) for g in state.guests], str(key_file), str(known_hosts), group=name.replace("-", "_"))
    )
    save_state(state_dir, state)
    log(f"inventory: {inventory}")
    log(f"state: {state_dir / STATE_FILE}")
    return 0


def own_qemu_pids(state_dir: Path) -> list[int]:
    """Return the pids of QEMU processes whose command line names the state directory."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if cmdline_mentions(cmdline, str(state_dir) + "/"):
            pids.append(int(entry.name))
    return pids


def stop_pid(pid: int, grace: float) -> None:
    """SIGTERM a process, then SIGKILL it after ``grace`` seconds."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and pid_alive(pid):
        time.sleep(0.2)
    if pid_alive(pid):
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and pid_alive(pid):
            time.sleep(0.1)


def cmd_down(args: argparse.Namespace) -> int:
    """Stop a lab and remove what it made; verify nothing remains."""
    state_dir = Path(args.state_dir).resolve()
    state = load_state(state_dir) if state_dir.exists() else None
    ports: list[int] = []
    pids: set[int] = set(own_qemu_pids(state_dir)) if state_dir.exists() else set()
    if state is not None:
        for guest in state.guests:
            ports += [guest.ssh_port, *guest.forwards.values()]
            pid = read_pid(guest.pidfile) or guest.pid
            if pid_runs_overlay(pid, guest.overlay):
                pids.add(pid)
    if state is None and not pids:
        log(f"down {state_dir}: no lab there, nothing to do")
        return 0
    for pid in sorted(pids):
        log(f"down: stopping qemu pid {pid}")
        stop_pid(pid, args.grace)
    if state is not None:
        for guest in state.guests:
            for path in (guest.overlay, guest.pidfile, guest.console):
                Path(path).unlink(missing_ok=True)
            kept = Path(attempt_console_path(guest.console, "*"))
            for path in kept.parent.glob(kept.name):
                path.unlink(missing_ok=True)
        for path in (state.key_file, state.key_file + ".pub", state.known_hosts, state.inventory):
            Path(path).unlink(missing_ok=True)
    (state_dir / STATE_FILE).unlink(missing_ok=True)
    left_pids = [p for p in pids if pid_alive(p)] + own_qemu_pids(state_dir)
    left_ports = [p for p in ports if port_listening(p)]
    if left_pids or left_ports:
        raise LabError(f"down: still running qemu pids {sorted(set(left_pids))}, ports still listening {left_ports}")
    try:
        state_dir.rmdir()
    except OSError:
        pass
    log(
        f"down {state_dir}: stopped {len(pids)} qemu, no process or port left ({', '.join(map(str, ports)) or 'no ports'})"
    )
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    """Print each guest's process and SSH state; exit 1 when one is not up."""
    state_dir = Path(args.state_dir).resolve()
    state = load_state(state_dir)
    if state is None:
        log(f"status {state_dir}: no lab")
        return 1
    ok = True
    log(f"lab {state.name}: image {state.image}, accel {state.accel} ({state.accel_reason})")
    for guest in state.guests:
        pid = read_pid(guest.pidfile)
        alive = pid_alive(pid)
        ssh_ok = (
            alive and subprocess.run(ssh_argv(state, guest, ["true"]), capture_output=True, check=False).returncode == 0
        )
        ok = ok and ssh_ok
        attempts = f" (boot attempt {guest.boot_attempts})" if guest.boot_attempts > 1 else ""
        log(
            f"guest {guest.name}: pid {pid} {'running' if alive else 'NOT running'}, ssh 127.0.0.1:{guest.ssh_port} "
            f"{'answers' if ssh_ok else 'does NOT answer'}, {guest.accel or state.accel}, "
            f"boot-to-SSH {guest.boot_to_ssh_s} s{attempts}"
        )
    return 0 if ok else 1


def qemu_check(qemu: str, seconds: float = 3.0) -> tuple[bool, str]:
    """Whether QEMU can start a TCG machine here: it must still run (paused) after ``seconds``."""
    argv = [qemu, "-accel", "tcg", "-machine", "pc", "-nodefaults", "-no-user-config", "-display", "none", "-S"]
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _out, err = proc.communicate(timeout=seconds)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return True, f"{qemu} starts a TCG machine"
    return False, f"{qemu} cannot start a TCG machine (exit {proc.returncode}): {tail(err.decode(errors='replace'), 3)}"


def cmd_check(args: argparse.Namespace) -> int:
    """Exit 0 when QEMU can boot guests here, 3 (with the reason) when it cannot."""
    del args
    tools = ("qemu-system-x86_64", "qemu-img", "debootstrap", "mkfs.ext4", "zstd", "ssh", "ssh-keygen")
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        print(f"hostlab.py check: cannot boot guests: {', '.join(missing)} not installed (make setup installs them)")
        return 3
    ok, reason = qemu_check(shutil.which("qemu-system-x86_64") or "qemu-system-x86_64")
    kvm = "/dev/kvm is accessible (up probes it)" if os.access("/dev/kvm", os.R_OK | os.W_OK) else "no usable /dev/kvm"
    print(f"hostlab.py check: {'can' if ok else 'cannot'} boot guests: {reason}; {kvm}")
    return 0 if ok else 3


def parser() -> argparse.ArgumentParser:
    """Return the command-line parser."""
    top = argparse.ArgumentParser(prog="hostlab.py", description=__doc__.split("\n\n", maxsplit=1)[0])
    sub = top.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="build (or reuse) a guest image")
    build.add_argument("--suite", default="trixie", help=f"Debian suite: {', '.join(SUITES)} (default trixie)")
    build.add_argument("--out", required=True, help="build directory (reused when its recipe hash matches)")
    build.add_argument("--mirror", default=DEFAULT_MIRROR, help="Debian mirror URL for debootstrap")
    build.add_argument("--disk-size-gib", type=int, default=16, help="size of the (sparse) base disk")
    build.add_argument("--format", choices=("raw", "qcow2"), default="raw", help="format of the base disk")
    up = sub.add_parser("up", help="boot guests from a built image")
    up.add_argument("--name", required=True, help="lab name; guests are NAME-1 .. NAME-K")
    up.add_argument("--count", type=int, default=1, help="number of guests (1-8)")
    up.add_argument("--state-dir", required=True, help="directory for overlays, key, inventory and state")
    up.add_argument("--image", required=True, help="a build directory made by hostlab.py build")
    up.add_argument("--accel", choices=("auto", "kvm", "tcg"), default="auto", help="auto: KVM when a probe boot works")
    up.add_argument("--probe-timeout", type=float, default=20.0, help="seconds the KVM probe boot may take")
    up.add_argument(
        "--timeout",
        type=float,
        default=600.0,
        help="seconds each boot attempt of a guest has to answer on SSH, from its qemu's start (default 600); "
        "a guest may take --boot-attempts times this",
    )
    up.add_argument(
        "--boot-attempts",
        type=int,
        default=2,
        help=f"boots a guest may take (1-{BOOT_ATTEMPTS_MAX}, default 2): one that does not answer on SSH within "
        "--timeout, or whose qemu exits, is stopped and booted again from a fresh overlay under TCG",
    )
    up.add_argument("--memory-mib", type=int, default=3072, help="memory per guest")
    up.add_argument("--cpus", type=int, default=2, help="virtual CPUs per guest")
    up.add_argument(
        "--forward", action="append", default=[], help="also forward a free 127.0.0.1 port to this guest port"
    )
    down = sub.add_parser("down", help="stop a lab and remove its files")
    down.add_argument("--state-dir", required=True, help="the directory given to up")
    down.add_argument("--grace", type=float, default=10.0, help="seconds between SIGTERM and SIGKILL")
    sub.add_parser("check", help="exit 0 when QEMU can boot guests here, 3 with the reason when not")
    status = sub.add_parser("status", help="show a lab's guests")
    status.add_argument("--state-dir", required=True, help="the directory given to up")
    return top


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    args = parser().parse_args(argv)
    handlers = {"build": cmd_build, "up": cmd_up, "down": cmd_down, "status": cmd_status, "check": cmd_check}
    try:
        return handlers[args.command](args)
    except LabError as exc:
        print(f"hostlab.py {args.command}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
