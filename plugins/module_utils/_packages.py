# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Which wanted Debian packages dpkg does not report as installed.

A role asks dpkg once (the command :func:`dpkg_query_argv` gives) about every package it needs, and
runs apt, with its cache update, only for what :func:`dpkg_missing` finds missing in that command's
standard output. On a converged host that one query is the whole install step; under emulation an
apt cache update alone takes minutes.

A wanted entry is a package name, optionally with ``:ARCH`` or ``=VERSION`` as apt takes them. A
pinned entry counts as installed only when dpkg reports exactly that version; an entry with a
wildcard (``*``, ``?``, ``[``) is always left to apt, which alone can resolve it.
"""

from __future__ import annotations

import typing as t

# One line per package dpkg knows: name, version, and the status word ("installed" when it is).
# The \t and \n are escapes dpkg-query itself expands, so the argv holds no control characters.
DPKG_QUERY_FORMAT = "${Package}\\t${Version}\\t${db:Status-Status}\\n"

_WILDCARDS = frozenset("*?[")


class PackageQueryError(ValueError):
    """The arguments are not dpkg-query output and a list of package names."""


def _installed(dpkg_output: str) -> dict[str, str]:
    """Map each package dpkg reports as installed to its version."""
    found: dict[str, str] = {}
    for line in dpkg_output.splitlines():
        fields = line.split("\t")
        if len(fields) == 3 and fields[2].strip() == "installed":
            found[fields[0].strip()] = fields[1].strip()
    return found


def _wanted_entries(wanted: t.Any) -> list[str]:
    """``wanted`` as a list of its entries, once it is checked to be a list of non-empty names."""
    if isinstance(wanted, (str, bytes)) or not isinstance(wanted, t.Sequence):
        raise PackageQueryError(f"the wanted packages must be a list of names, not {type(wanted).__name__}")
    for entry in wanted:
        if not isinstance(entry, str) or not entry.strip():
            raise PackageQueryError(f"every wanted package must be a non-empty name, not {entry!r}")
    return list(wanted)


def dpkg_query_argv(wanted: t.Any) -> list[str]:
    """The dpkg-query command (an argv) whose standard output :func:`dpkg_missing` reads for ``wanted``.

    dpkg-query is asked about each package once, by name (with its ``:ARCH`` if it has one): it
    takes ``NAME=VERSION`` for the name of a package it does not know, so a pin is dropped here
    and compared by :func:`dpkg_missing` instead. Wildcards go as they are (dpkg-query reads them
    as patterns; :func:`dpkg_missing` leaves them to apt anyway). dpkg-query prints a line for each
    package it knows and exits 1 (naming the others on standard error) when one is unknown, so the
    task that runs it must accept return code 1; an unknown package is missing from the output.
    """
    names = dict.fromkeys(entry.strip().partition("=")[0] for entry in _wanted_entries(wanted))
    return ["dpkg-query", "--show", "--showformat=" + DPKG_QUERY_FORMAT, *names]


def dpkg_missing(dpkg_output: t.Any, wanted: t.Any) -> list[str]:
    """The entries of ``wanted`` (in their order) that ``dpkg_output`` does not show installed."""
    if not isinstance(dpkg_output, str):
        raise PackageQueryError(
            f"the input must be dpkg-query's standard output as a string, not {type(dpkg_output).__name__}"
        )
    entries = _wanted_entries(wanted)
    installed = _installed(dpkg_output)
    missing: list[str] = []
    for entry in entries:
        name, _sep, version = entry.strip().partition("=")
        name = name.split(":", 1)[0]
        if _WILDCARDS & set(entry) or name not in installed or (version and installed[name] != version):
            missing.append(entry)
    return missing
