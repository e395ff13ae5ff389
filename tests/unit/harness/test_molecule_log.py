# SPDX-License-Identifier: GPL-3.0-or-later
"""tests/integration/molecule_log.py: the first failure of a failed ``molecule test`` log, its task's
decoded result, and the log's end, in at most 250 lines."""

from __future__ import annotations

import json

import pytest

import molecule_log  # tests/integration/ is on the path (conftest.py)

# What ansible-core 2.19's default callback printed for a play with a rescued failure, an ignored
# one and then a real one (ansible-playbook on this machine, paths shortened), as the create step
# of a scenario whose hostlab up fails; molecule's destroy step follows.
FALSE = json.dumps(
    {
        "changed": True,
        "cmd": ["false"],
        "msg": "non-zero return code",
        "rc": 1,
        "stderr": "",
        "stderr_lines": [],
        "stdout": "",
        "stdout_lines": [],
    }
)
STDERR = ["hostlab.py up: guest lab-1: SSH did not answer; console tail:", "[  1.0] line one", "[  2.0] line two"]
STDOUT = ["hostlab: accelerator: tcg", "hostlab: up failed"]
BOOT = json.dumps(
    {
        "changed": True,
        "cmd": ["python3", "hostlab.py", "up"],
        "msg": "non-zero return code",
        "rc": 2,
        "stderr": "\n".join(STDERR),
        "stderr_lines": STDERR,
        "stdout": "\n".join(STDOUT),
        "stdout_lines": STDOUT,
    }
)
CREATE = f"""
PLAY [Create] ******************************************************************

TASK [Fail on purpose] *********************************************************
[ERROR]: Task failed: Module failed: non-zero return code
Origin: /s/create.yml:8:11

6     - name: Provoke a failure and rescue it
7       block:
8         - name: Fail on purpose
            ^ column 11

fatal: [localhost]: FAILED! => {FALSE}

TASK [Keep the failure] ********************************************************
ok: [localhost]

TASK [Ignored failure] *********************************************************
[ERROR]: Task failed: Module failed: non-zero return code
Origin: /s/create.yml:14:7

14     - name: Ignored failure
         ^ column 7

fatal: [localhost]: FAILED! => {FALSE}
...ignoring

TASK [Boot the guest] **********************************************************
[ERROR]: Task failed: Module failed: non-zero return code
Origin: /s/create.yml:17:7

17     - name: Boot the guest
         ^ column 7

fatal: [localhost]: FAILED! => {BOOT}

PLAY RECAP *********************************************************************
localhost                  : ok=2    changed=1    unreachable=0    failed=1    skipped=0    rescued=1    ignored=1
"""
NOISE = "WARNING  Molecule scenarios should migrate to 'extensions/molecule'\nCRITICAL 'molecule/default/molecule.yml' glob failed.  Exiting.\n"
DESTROY = "".join(f"INFO     [modern_host > destroy] line {n}\n" for n in range(1, 61))


def _summary(text: str) -> list[str]:
    lines = molecule_log.failure_summary(text).splitlines()
    assert len(lines) <= molecule_log.MAX_LINES
    return lines


def test_leads_with_the_failure_the_play_stopped_at_and_decodes_its_result():
    log = NOISE + CREATE + DESTROY
    lines = log.splitlines()
    boot = lines.index("TASK [Boot the guest] **********************************************************")
    recap = next(n for n, line in enumerate(lines) if line.startswith("PLAY RECAP"))
    summary = _summary(log)
    assert summary[0] == f"first failure at log line {boot + 2} (lines {boot - 3}-{recap + 2} of {len(lines)}):"
    # from 5 lines before the failure down to the play's recap, not into the destroy step
    assert summary[1:6] == lines[boot - 4 : boot + 1]
    assert summary[6] == "[ERROR]: Task failed: Module failed: non-zero return code"
    fatal = next(n for n in range(boot, len(lines)) if lines[n].startswith("fatal: "))
    decoded = summary.index(f"the failed task's result (log line {fatal + 1}), decoded:")
    assert summary[decoded - 1].startswith("localhost                  : ok=2")
    assert summary[decoded + 1 :][:9] == [
        "msg:",
        "  non-zero return code",
        "stderr:",
        "  hostlab.py up: guest lab-1: SSH did not answer; console tail:",
        "  [  1.0] line one",
        "  [  2.0] line two",
        "stdout:",
        "  hostlab: accelerator: tcg",
        "  hostlab: up failed",
    ]
    tail = summary.index(f"log tail (lines {len(lines) - 39}-{len(lines)}):")
    assert summary[tail + 1 :] == lines[-40:]


def test_a_log_from_before_ansible_core_2_19_has_only_the_fatal_line():
    log = CREATE.replace("[ERROR]: Task failed: Module failed: non-zero return code\n", "") + DESTROY
    summary = _summary(log)
    fatal = next(
        line
        for line in summary
        if line.startswith('fatal: [localhost]: FAILED! => {"changed": true, "cmd": ["python3"')
    )
    assert summary[0].startswith(f"first failure at log line {log.splitlines().index(fatal) + 1} ")
    assert "  hostlab.py up: guest lab-1: SSH did not answer; console tail:" in summary


@pytest.mark.parametrize(
    ("play", "host_line"),
    [
        ('fatal: [b]: FAILED! => {"msg": "b failed"}\nok: [a]\n', "fatal: [b]"),
        ('fatal: [b -> localhost]: FAILED! => {"msg": "b failed"}\nok: [a]\n', "fatal: [b -> localhost]"),
        (
            'fatal: [a]: FAILED! => {"msg": "a failed"}\nTASK [next] ***\nok: [a]\nfatal: [b]: FAILED! => {"msg": "b failed"}\n',
            "fatal: [b]",
        ),
        ('fatal: [b]: UNREACHABLE! => {"msg": "b failed", "unreachable": true}\n', "fatal: [b]"),
    ],
    ids=["other-host-goes-on", "delegated", "first-rescued", "unreachable"],
)
def test_a_failure_counts_unless_its_host_goes_on(play, host_line):
    log = f"PLAY [p] ***\n\nTASK [t] ***\n{play}\nPLAY RECAP ***\na : ok=1\nb : failed=1\n"
    lines = log.splitlines()
    index = molecule_log.first_failure(lines)
    assert index is not None and lines[index].startswith(host_line)
    assert molecule_log.failed_result(lines, index)[1]["msg"] == "b failed"


def test_a_log_whose_failures_were_all_rescued_or_ignored_shows_its_tail():
    passing = CREATE.replace("\n\nPLAY RECAP", "\n\nTASK [After a rescue] ***\nok: [localhost]\n\nPLAY RECAP")
    summary = _summary(NOISE + passing)
    assert summary[0].startswith("no failure found in the log")
    assert summary[1].startswith("log tail (lines ")


def test_a_failed_idempotence_check_is_molecule_s_own_error():
    log = (
        NOISE
        + CREATE.split("TASK [Fail", maxsplit=1)[0]
        + "ERROR    Idempotence test failed because of the following tasks:\n*  => t\n"
        + DESTROY
    )
    summary = _summary(log)
    assert summary[0].startswith(f"first failure at log line {log.splitlines().index('*  => t')} ")
    assert "the failed task's result" not in "\n".join(summary)


def test_a_yaml_result_is_shown_as_it_is():
    log = (
        "TASK [Validate] ***\n[ERROR]: Task failed: Action failed: checksum does not match\n"
        "fatal: [node]: FAILED! =>\n    changed: false\n    msg: checksum does not match\n\nPLAY RECAP ***\n"
    )
    summary = _summary(log)
    assert "    msg: checksum does not match" in summary
    assert not any(line.startswith("the failed task's result") for line in summary)


def test_a_result_over_several_lines_is_decoded():
    result = json.dumps({"msg": "first\nsecond", "rc": 1}, indent=4)
    lines = f"fatal: [h]: FAILED! => {result}\n\nPLAY RECAP ***\n".splitlines()
    assert molecule_log.failed_result(lines, 0) == (0, {"msg": "first\nsecond", "rc": 1})
    assert molecule_log.decoded_fields({"msg": "first\nsecond", "rc": 1}) == ["msg:", "  first", "  second"]


def test_fields_are_cut_and_say_so():
    result = {
        "msg": ["a", "b"],
        "stderr": "\n".join(f"err {n}" for n in range(100)),
        "stdout": "\n".join(f"out {n}" for n in range(30)),
        "module_stderr": "",
    }
    out = molecule_log.decoded_fields(result)
    assert out[:5] == ["msg:", "  [", '    "a",', '    "b"', "  ]"]
    assert out[5] == "stderr (last 60 of 100 lines):" and out[6] == "  err 40" and out[65] == "  err 99"
    assert out[66] == "stdout (last 25 of 30 lines):" and out[-1] == "  out 29"
    assert "module_stderr:" not in out


def test_a_huge_failure_is_cut_to_250_lines_and_long_lines_clipped():
    result = {name: "\n".join(f"{name} {n}" for n in range(500)) for name, _limit, _end in molecule_log.FIELDS}
    result["stdout"] = "x" * 5000
    retries = "".join(f"hostlab: retry line {n}\n" for n in range(70))
    log = f"TASK [t] ***\nfatal: [h]: FAILED! => {json.dumps(result)}\n{retries}PLAY RECAP ***\nh : ok=0 failed=1\n\n{DESTROY}"
    summary = _summary(log)
    assert len(summary) == molecule_log.MAX_LINES
    assert summary[2].endswith(" more characters)") and len(summary[2]) < 1100
    assert "stdout:" in summary and "  " + "x" * 5000 in summary  # a field's lines are not clipped
    cut = next(line for line in summary if line.startswith("... ("))
    assert cut.endswith("lines left out to keep this to 250 lines)")
    total = len(log.splitlines())
    assert summary[-41] == f"log tail (lines {total - 39}-{total}):"
    assert summary[-1] == "INFO     [modern_host > destroy] line 60"


def test_a_failure_at_the_end_is_not_shown_twice():
    log = "".join(f"line {n}\n" for n in range(100)) + 'TASK [t] ***\nfatal: [h]: FAILED! => {"msg": "m"}\n'
    summary = _summary(log)
    assert summary[0] == "first failure at log line 102 (lines 97-102 of 102):"
    assert not any(line.startswith("log tail") for line in summary)
