# SPDX-License-Identifier: GPL-3.0-or-later
"""What a failed ``molecule test`` log shows first: its first failure, not its last lines.

A failed create or converge is followed by the destroy step, whose output fills the end of the
log; the error that matters is further up. ``failure_summary(text)`` returns, in at most
``MAX_LINES`` lines:

* the lines around the first failure: the first ``fatal: [`` line (the default callback's
  ``FAILED!`` and ``UNREACHABLE!``) or ``[ERROR]:`` line (ansible-core 2.19 prints a task's error
  so, above its ``fatal:`` line), from a few lines before it. Failures the play went on from are
  passed over: the scenarios' verify playbooks provoke failures on purpose and rescue them, and
  ``ignore_errors`` prints ``...ignoring``; a failure counts when its host runs no other task
  before the playbook's ``PLAY RECAP``. Without one, molecule's own first ``CRITICAL`` or
  ``ERROR`` line (a failed idempotence check) stands in;
* the ``msg``, ``stderr`` and the end of ``stdout`` (and of ``module_stderr`` and
  ``module_stdout``) of that task's JSON result, decoded into their lines (in the log they are
  one line with ``\\n`` escapes);
* the end of the log.

Pure text in, text out: tests/unit/harness/test_molecule_log.py covers it.
"""

from __future__ import annotations

import json
import re
from typing import Any

FAILURE_RE = re.compile(r"fatal: \[|\[ERROR\]:")
FATAL_RE = re.compile(r"fatal: \[(?P<host>[^\]]+)\]: (?:FAILED|UNREACHABLE)! =>")
# A task's result line for a host (``ok: [h]``, ``changed: [h -> delegate] => (item=x)``, ...).
RESULT_RE = re.compile(r"\b(?:ok|changed|skipping|failed|fatal): \[(?P<host>[^\]]+)\]")
TASK_RE = re.compile(r"\b(?:TASK|RUNNING HANDLER) \[")
RECAP = "PLAY RECAP"
RECAP_HOST_RE = re.compile(r":\s+ok=\d+")
IGNORING = "...ignoring"
MOLECULE_ERROR_RE = re.compile(r"^(?:CRITICAL|ERROR)\s")
# Molecule logs this CRITICAL line at the start of every run here, passing ones too.
MOLECULE_NOISE = "'molecule/default/molecule.yml' glob failed"
BEFORE = 5
EXCERPT_LINES = 60
TAIL_LINES = 40
MAX_LINES = 250
# A result's JSON can fill one log line with tens of kilobytes; its fields are decoded below it.
MAX_WIDTH = 1000
# (field, lines kept, which end): a module that crashed leaves its traceback in module_stderr.
FIELDS = (
    ("msg", 40, "head"),
    ("stderr", 60, "tail"),
    ("stdout", 25, "tail"),
    ("module_stderr", 40, "tail"),
    ("module_stdout", 15, "tail"),
)
# How far below a fatal line its JSON result may end (results printed over several lines).
RESULT_SEARCH_LINES = 5000


def host_of(label: str) -> str:
    """The host of a result label: ``h -> delegate`` is host ``h``'s task."""
    return label.split(" -> ", 1)[0].strip()


def fatal_of(lines: list[str], index: int) -> int | None:
    """The ``fatal:`` line of the failure at ``lines[index]``: itself, or for an ``[ERROR]:`` line
    the first ``fatal:`` below it in the same task; None when there is none."""
    for offset, line in enumerate(lines[index:]):
        if FATAL_RE.search(line):
            return index + offset
        if offset and (TASK_RE.search(line) or RECAP in line):
            return None
    return None


def play_went_on(lines: list[str], fatal: int) -> bool:
    """Whether the play went on for the host of the ``fatal:`` line at ``lines[fatal]``: the
    failure was ignored (``...ignoring`` right below it) or rescued (the host ran another task)."""
    match = FATAL_RE.search(lines[fatal])
    if match is None:
        return False
    host = host_of(match["host"])
    own_task = True
    for line in lines[fatal + 1 :]:
        if RECAP in line:
            return False
        if TASK_RE.search(line):
            own_task = False
        elif own_task and line.strip() == IGNORING:
            return True
        result = RESULT_RE.search(line)
        if result and host_of(result["host"]) == host:
            return True
    return False


def first_failure(lines: list[str]) -> int | None:
    """The index of the first failure the play did not go on from (see the module's doc), else of
    molecule's first error line, else None."""
    for index, line in enumerate(lines):
        if not FAILURE_RE.search(line):
            continue
        fatal = fatal_of(lines, index)
        if fatal is None or not play_went_on(lines, fatal):
            return index
    return molecule_error(lines)


def molecule_error(lines: list[str]) -> int | None:
    """The index of molecule's first ``CRITICAL``/``ERROR`` line that is not noise, None when there is none."""
    return next(
        (i for i, line in enumerate(lines) if MOLECULE_ERROR_RE.match(line) and MOLECULE_NOISE not in line), None
    )


def failed_result(lines: list[str], index: int) -> tuple[int, dict[str, Any]] | None:
    """The JSON result of the failure at ``lines[index]`` (its ``fatal:`` line's): (that line's index,
    the result); None when it has no ``fatal:`` line or the result is not JSON (YAML callback)."""
    fatal = fatal_of(lines, index)
    if fatal is None:
        return None
    match = FATAL_RE.search(lines[fatal])
    if match is None:
        return None
    text = "\n".join([lines[fatal][match.end() :], *lines[fatal + 1 : fatal + RESULT_SEARCH_LINES]]).lstrip()
    try:
        result = json.JSONDecoder().raw_decode(text)[0]
    except ValueError:
        return None
    return (fatal, result) if isinstance(result, dict) else None


def field_lines(value: Any, limit: int, keep: str) -> tuple[list[str], int]:
    """A result field as lines (strings split, anything else as indented JSON), cut to ``limit``
    from its ``keep`` end ("head" or "tail"); with the number of lines it had."""
    text = value if isinstance(value, str) else json.dumps(value, indent=2, sort_keys=True)
    lines = text.splitlines()
    kept = lines[:limit] if keep == "head" else lines[-limit:]
    return kept, len(lines)


def decoded_fields(result: dict[str, Any]) -> list[str]:
    """The FIELDS a task result has, each under a header, its lines indented."""
    out = []
    for name, limit, keep in FIELDS:
        value = result.get(name)
        if value in (None, "", [], {}):
            continue
        kept, total = field_lines(value, limit, keep)
        shown = "" if len(kept) == total else f" ({'first' if keep == 'head' else 'last'} {len(kept)} of {total} lines)"
        out.append(f"{name}{shown}:")
        out += [f"  {line}" for line in kept]
    return out


def recap_end(lines: list[str], index: int) -> int:
    """The index after the ``PLAY RECAP`` block below ``lines[index]`` (the log's end without one):
    what molecule runs next (destroy) is not part of the failure."""
    recap = next((i for i in range(index, len(lines)) if RECAP in lines[i]), None)
    if recap is None:
        return len(lines)
    end = recap + 1
    while end < len(lines) and RECAP_HOST_RE.search(lines[end]):
        end += 1
    return end


def clip(line: str) -> str:
    """A log line cut to ``MAX_WIDTH`` characters."""
    if len(line) <= MAX_WIDTH:
        return line
    return f"{line[:MAX_WIDTH]} ... ({len(line) - MAX_WIDTH} more characters)"


def failure_summary(text: str) -> str:
    """The first failure of a Molecule log with the decoded result of its task, then the log's end."""
    lines = text.splitlines()
    out: list[str] = []
    excerpt_end = 0
    index = first_failure(lines)
    if index is None:
        out.append(
            "no failure found in the log (no 'fatal: [' or '[ERROR]:' line the play stopped at, no molecule error)"
        )
    else:
        begin = max(0, index - BEFORE)
        excerpt_end = min(recap_end(lines, index), begin + EXCERPT_LINES)
        out.append(f"first failure at log line {index + 1} (lines {begin + 1}-{excerpt_end} of {len(lines)}):")
        out += [clip(line) for line in lines[begin:excerpt_end]]
        found = failed_result(lines, index)
        if found is not None:
            fatal, result = found
            fields = decoded_fields(result)
            if fields:
                out.append(f"the failed task's result (log line {fatal + 1}), decoded:")
                out += fields
    # The tail starts below the excerpt: a failure near the end is not shown twice.
    tail_begin = max(len(lines) - TAIL_LINES, excerpt_end)
    tail = []
    if tail_begin < len(lines):
        tail = [f"log tail (lines {tail_begin + 1}-{len(lines)}):", *map(clip, lines[tail_begin:])]
    room = MAX_LINES - len(tail)
    if len(out) > room:
        out = out[: room - 1] + [f"... ({len(out) - room + 1} lines left out to keep this to {MAX_LINES} lines)"]
    return "\n".join(out + tail)
