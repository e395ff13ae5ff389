# SPDX-License-Identifier: GPL-3.0-or-later
"""nested.hosts.registry end to end: the registry on this host, a systemd node and a dind container
inside it, both using it as their registry mirror; the base image pulled at depth 1 and at depth 2
through the mirror (one hop each), TLS with the collection's CA required, idempotence, check mode,
and registry_state=absent leaving nothing behind. Objects are named nhreg-*."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import snapshot

FILES = Path(__file__).parent / "files"
IMAGE = "nested-hosts/base:bookworm"
REPOSITORY, TAG = IMAGE.split(":")
L1, L2 = "nhreg-node", "nhreg-l2"
LEFTOVERS = ["/var/lib/nested-hosts-registry", "/etc/docker/registry/nested-hosts", "/run/nested-hosts-registry.pid",
             "/var/log/nested-hosts-registry.log", "/etc/docker/registry/config.yml"]


def _play(name: str, check: bool = False, *extra: str) -> tuple[int, dict[str, Any], str]:
    bindir = os.path.dirname(sys.executable)
    argv = [os.path.join(bindir, "ansible-playbook"), "-i", str(FILES / "registry_inventory.yml"),
            "-e", f"nhreg_image={IMAGE}", *extra, str(FILES / name)] + (["--check"] if check else [])
    proc = subprocess.run(argv, capture_output=True, text=True, env=snapshot.ansible_env(), timeout=1200, check=False)
    try:
        out = json.loads(proc.stdout[proc.stdout.index("{"):])
    except ValueError:
        out = {"stats": {}, "unparsed": proc.stdout[-3000:]}
    return proc.returncode, out, proc.stderr[-3000:]


def _changed(out: dict[str, Any]) -> int:
    return sum(stats.get("changed", 0) for stats in out.get("stats", {}).values())


def _at_depth2(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", "exec", L1, "docker", "exec", L2, *argv], capture_output=True, text=True,
                          timeout=300, check=False)


def _at_depth1(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", "exec", L1, *argv], capture_output=True, text=True, timeout=300, check=False)


def _endpoint() -> str:
    config = Path("/etc/docker/registry/config.yml").read_text(encoding="utf-8")
    return next(line.split("addr:", 1)[1].strip() for line in config.splitlines() if "addr:" in line)


@pytest.fixture(scope="module")
def chain(converged_images: Any) -> Any:
    if shutil.which("docker") is None:
        pytest.skip("needs dockerd")
    certs_d_before = os.path.exists("/etc/docker/certs.d")
    rc, out, err = _play("registry_chain.yml")
    try:
        assert rc == 0, f"{out.get('unparsed', '')}{err}"
        yield out
    finally:
        rc, out, err = _play("registry_chain_absent.yml")
        assert rc == 0, f"registry_state=absent failed: {out.get('unparsed', '')}{err}"
        assert [p for p in LEFTOVERS if os.path.exists(p)] == []
        assert certs_d_before or not os.path.exists("/etc/docker/certs.d")
        names = subprocess.run(["docker", "ps", "-a", "--format", "{{.Names}}"], capture_output=True, text=True,
                               check=True).stdout.split()
        assert [n for n in names if n.startswith("nhreg-")] == []
        assert subprocess.run(["dpkg", "-s", "docker-registry"], capture_output=True, check=False).returncode != 0
        assert subprocess.run(["pgrep", "-x", "docker-registry"], capture_output=True, check=False).returncode != 0


# An image that came by `docker pull` has a repository digest; one that came by `docker load` has none.
def _pulled(run: Any) -> bool:
    inspect = run("docker", "image", "inspect", "--format", "{{json .RepoDigests}}", IMAGE)
    assert inspect.returncode == 0, inspect.stderr
    return json.loads(inspect.stdout) != []


def test_node_uses_the_mirror_and_pulled_the_image(chain: Any) -> None:
    info = _at_depth1("docker", "info", "--format", "{{json .RegistryConfig.Mirrors}}")
    assert f"https://{_endpoint()}/" in json.loads(info.stdout)
    assert _pulled(_at_depth1)


def test_depth2_has_the_image_pulled_through_the_mirror(chain: Any) -> None:
    info = _at_depth2("docker", "info", "--format", "{{json .RegistryConfig.Mirrors}}")
    assert f"https://{_endpoint()}/" in json.loads(info.stdout)
    assert _pulled(_at_depth2)


def test_second_run_changes_nothing(chain: Any) -> None:
    rc, out, err = _play("registry_chain.yml")
    assert rc == 0, err
    assert _changed(out) == 0


def test_check_mode_changes_nothing(chain: Any) -> None:
    rc, out, err = _play("registry_chain.yml", check=True)
    assert rc == 0, err
    assert _changed(out) == 0


def test_tls_needs_the_ca(chain: Any) -> None:
    endpoint = _endpoint()
    ca = f"/etc/docker/certs.d/{endpoint}/ca.crt"
    assert _at_depth2("mv", ca, ca + ".off").returncode == 0
    try:
        refused = _at_depth2("docker", "pull", f"{endpoint}/{IMAGE}")
        assert refused.returncode != 0
        assert "certificate" in refused.stderr
    finally:
        _at_depth2("mv", ca + ".off", ca)
    assert _at_depth2("docker", "pull", f"{endpoint}/{IMAGE}").returncode == 0
    _at_depth2("docker", "image", "rm", f"{endpoint}/{IMAGE}")


def test_registry_under_systemd_in_the_node(chain: Any) -> None:
    """The role's systemd path: in the node, PID 1 is systemd, so the package's unit runs the registry."""
    rc, out, err = _play("registry_in_node.yml", False, "-e", "nhreg_state=present")
    try:
        assert rc == 0, f"{out.get('unparsed', '')}{err}"
        active = _at_depth1("systemctl", "is-active", "docker-registry.service")
        assert active.stdout.strip() == "active", active.stdout + active.stderr
        assert _at_depth1("pgrep", "-x", "docker-registry").returncode == 0
        # The image the role pushed is served over TLS with the collection's CA.
        config = _at_depth1("cat", "/etc/docker/registry/config.yml").stdout
        endpoint = next(line.split("addr:", 1)[1].strip() for line in config.splitlines() if "addr:" in line)
        tags = _at_depth1("python3", "-c", "import ssl, sys, urllib.request; ctx = ssl.create_default_context("
                          "cafile='/etc/docker/certs.d/' + sys.argv[1] + '/ca.crt'); print(urllib.request.urlopen("
                          "'https://' + sys.argv[1] + '/v2/' + sys.argv[2] + '/tags/list', context=ctx).read().decode())",
                          endpoint, REPOSITORY)
        assert tags.returncode == 0, tags.stderr
        assert TAG in json.loads(tags.stdout)["tags"]
        rc, out, err = _play("registry_in_node.yml", False, "-e", "nhreg_state=present")
        assert rc == 0 and _changed(out) == 0, err
    finally:
        rc, out, err = _play("registry_in_node.yml", False, "-e", "nhreg_state=absent")
    assert rc == 0, f"{out.get('unparsed', '')}{err}"
    assert _at_depth1("dpkg", "-s", "docker-registry").returncode != 0
    assert _at_depth1("pgrep", "-x", "docker-registry").returncode != 0
