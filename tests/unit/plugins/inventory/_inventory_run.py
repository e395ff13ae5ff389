# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Load an inventory source the way ansible-inventory does, answering docker from a recording.

    python _inventory_run.py SOURCE RECORDING|-  [manager|direct] [--flush] [--slow SECONDS]

Run in its own process by test_nested.py: Ansible's collection loader and Display are process-wide,
and installing them inside the pytest process would change the behaviour of tests collected after
this one. RECORDING ``-`` gives a runner that fails if discovery runs (the cache must answer).
``manager`` (default) loads SOURCE with InventoryManager + DataLoader; ``direct`` calls the plugin's
parse() so an AnsibleParserError is seen as such instead of as InventoryManager's warning.
Prints one JSON document: hosts (name -> variables), groups (name -> host names), warnings,
calls (the recorded commands discovery ran), threads (where they ran), error (type and message, or null).
``--flush`` parses with cache=False, as ``ansible-inventory --flush-cache`` does; ``--slow`` delays every
answer, and ``peak`` is the most commands that were in flight at once.
"""
from __future__ import annotations

import json
import sys
import threading
import time
import typing as t

from ansible.plugins.loader import init_plugin_loader

init_plugin_loader()

from ansible.inventory.data import InventoryData  # noqa: E402
from ansible.inventory.manager import InventoryManager  # noqa: E402
from ansible.parsing.dataloader import DataLoader  # noqa: E402
from ansible.plugins.loader import inventory_loader  # noqa: E402

from ansible_collections.nested.hosts.plugins.inventory import nested  # noqa: E402
from ansible_collections.nested.hosts.tests.unit.plugins.inventory._replay import Replay  # noqa: E402


def main(source: str, recording: str, mode: str, flush: bool, slow: float) -> dict[str, t.Any]:
    out: dict[str, t.Any] = {"hosts": {}, "groups": {}, "warnings": [], "calls": [], "threads": [], "error": None,
                             "peak": 0}
    replay = Replay(recording) if recording != "-" else None
    lock = threading.Lock()
    in_flight = [0]

    def make_runner(plugin: t.Any, timeout: int) -> t.Any:
        def run(first_hop: t.Any, chain: t.Any, command: t.Any) -> t.Any:
            out["threads"].append(threading.current_thread().name)
            if replay is None:
                raise AssertionError("discovery ran although the cache should have answered")
            with lock:
                in_flight[0] += 1
                out["peak"] = max(out["peak"], in_flight[0])
            try:
                time.sleep(slow)
                return replay(first_hop, chain, command)
            finally:
                with lock:
                    in_flight[0] -= 1
        return run

    nested.InventoryModule.make_runner = make_runner
    nested.display.warning = lambda msg, *args, **kwargs: out["warnings"].append(str(msg))
    # InventoryManager reports a source no plugin could parse this way (the cause is the exception).
    nested.display.error_as_warning = lambda msg, exception=None, **kwargs: out["warnings"].append(
        f"{msg} caused by: {exception}")
    loader = DataLoader()
    try:
        if mode == "direct":
            data = InventoryData()
            inventory_loader.get("nested.hosts.nested").parse(data, loader, source, cache=not flush)
            hosts, groups = data.hosts, data.groups
        else:
            manager = InventoryManager(loader=loader, sources=[source], cache=not flush)
            hosts, groups = manager.hosts, manager.groups
    except Exception as err:  # reported to the test, which asserts on type and message
        out["error"] = {"type": type(err).__name__, "message": str(err)}
        return out
    out["hosts"] = {name: host.get_vars() for name, host in hosts.items()}
    out["order"] = list(hosts)
    out["groups"] = {name: sorted(h.name for h in group.get_hosts()) for name, group in groups.items()}
    out["calls"] = [[e, list(c), list(cmd)] for e, c, cmd in (replay.calls if replay else [])]
    return out


if __name__ == "__main__":
    args = sys.argv[1:]
    flush = "--flush" in args
    args = [a for a in args if a != "--flush"]
    slow = 0.0
    if "--slow" in args:
        at = args.index("--slow")
        slow = float(args[at + 1])
        del args[at:at + 2]
    result = main(args[0], args[1], args[2] if len(args) > 2 else "manager", flush, slow)
    json.dump(result, sys.stdout, default=str)
