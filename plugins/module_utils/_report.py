# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Build the nesting report (rows, terminal table, report.json, report.html).

Pure: takes the per-level records a playbook gathered and returns plain data and text.
A record is ``{host, depth, parent, method, facts, error}`` where ``facts`` is the result of
``nested.hosts.nesting_facts`` on that level (or ``None`` with ``error`` saying why it is
missing). Nothing here reads files, the clock or the environment, so the same records always
give byte-identical documents (the module relies on that to report ``changed`` honestly).
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from typing import Any

from ansible_collections.nested.hosts.plugins.module_utils._findings import check_docker_skew

SCHEMA_VERSION = 1
GENERATOR = "nested.hosts.nesting_report"

# (row key, terminal header) in display order: the columns of the report.
COLUMNS = (
    ("host", "host"),
    ("depth", "depth"),
    ("runtime", "runtime"),
    ("cgroup_version", "cgroup"),
    ("devices_hierarchy", "devices hierarchy"),
    ("cgroupns", "cgroupns"),
    ("apparmor_profile", "AppArmor profile"),
    ("capabilities_short", "caps short of full"),
    ("can_nest", "can nest"),
    ("risks", "risks"),
)

COLUMN_KEYS = tuple(column[0] for column in COLUMNS)
COLUMN_TITLES = tuple(column[1] for column in COLUMNS)

# Keys Ansible adds to a registered result; they are not facts about the level.
_BOOKKEEPING = frozenset(
    {
        "changed",
        "failed",
        "invocation",
        "warnings",
        "deprecations",
        "msg",
        "skipped",
        "ansible_facts",
    }
)

_SEVERITY_ORDER = ("critical", "high", "medium", "low", "info")


class ReportInputError(ValueError):
    """A record cannot be turned into a row; the message names the field and the fix."""


def _clean_facts(facts: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in facts.items() if k not in _BOOKKEEPING and not str(k).startswith("_ansible")}


def _depth(value: Any, where: str) -> int:
    if isinstance(value, bool):
        raise ReportInputError(f"{where}.depth is a boolean; set it to a whole number >= 0 (0 for a real host)")
    if isinstance(value, int):
        depth = value
    elif isinstance(value, str) and value.strip().isdigit():
        depth = int(value.strip())
    else:
        raise ReportInputError(
            f"{where}.depth is {value!r}; set it to a whole number >= 0 (0 for a real host, "
            "nested_hosts_depth for a nested level)"
        )
    if depth < 0:
        raise ReportInputError(f"{where}.depth is {depth}; set it to a whole number >= 0")
    return depth


def validate_records(records: Any) -> list[dict[str, Any]]:
    """Check and normalise the records; raise ReportInputError on the first bad one."""
    if not isinstance(records, (list, tuple)):
        raise ReportInputError(f"records must be a list of mappings, got {type(records).__name__}")
    if not records:
        raise ReportInputError("records is empty; pass one record per level ({host, depth, facts})")
    seen: dict[str, int] = {}
    out: list[dict[str, Any]] = []
    for index, record in enumerate(records):
        where = f"records[{index}]"
        if not isinstance(record, Mapping):
            raise ReportInputError(f"{where} is a {type(record).__name__}; each record must be a mapping")
        host = record.get("host")
        if not isinstance(host, str) or not host.strip():
            raise ReportInputError(f"{where}.host is missing or empty; set it to the inventory name of the level")
        if host in seen:
            raise ReportInputError(
                f"{where}.host {host!r} repeats records[{seen[host]}].host; give each level one record"
            )
        seen[host] = index
        facts = record.get("facts")
        error = record.get("error")
        if facts is not None and not isinstance(facts, Mapping):
            raise ReportInputError(
                f"{where}.facts is a {type(facts).__name__}; pass the nesting_facts result (a mapping) or null"
            )
        if facts is not None and any(facts.get(k) for k in ("failed", "unreachable", "skipped")):
            # A registered result of a failed, unreachable or skipped task is not a set of facts.
            state = next(k for k in ("unreachable", "failed", "skipped") if facts.get(k))
            message = facts.get("msg")
            error = f"nesting_facts {state}: {message}" if message else (error or f"nesting_facts {state}")
            facts = None
        if facts is None and not error:
            raise ReportInputError(
                f"{where} has neither facts nor error; pass the nesting_facts result or say why it is missing"
            )
        parent = record.get("parent")
        if parent is not None and not isinstance(parent, str):
            raise ReportInputError(
                f"{where}.parent is a {type(parent).__name__}; set it to the parent's inventory name or null"
            )
        method = record.get("method")
        if method is not None and not isinstance(method, str):
            raise ReportInputError(f"{where}.method is a {type(method).__name__}; set it to a method name or null")
        out.append(
            {
                "host": host,
                "depth": _depth(record.get("depth", 0), where),
                "parent": parent or None,
                "method": method or None,
                "facts": _clean_facts(facts) if facts is not None else None,
                "error": str(error) if facts is None else None,
            }
        )
    return out


def _tree_order(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each level right after its parent; roots (no known parent) by depth then name."""
    by_host = {r["host"]: r for r in records}
    children: dict[str, list[dict[str, Any]]] = {}
    roots: list[dict[str, Any]] = []
    for r in records:
        parent = r["parent"]
        if parent is not None and parent in by_host and parent != r["host"]:
            children.setdefault(parent, []).append(r)
        else:
            roots.append(r)
    ordered: list[dict[str, Any]] = []
    visited: set[str] = set()

    def walk(node: dict[str, Any]) -> None:
        if node["host"] in visited:
            return
        visited.add(node["host"])
        ordered.append(node)
        for child in sorted(children.get(node["host"], []), key=lambda c: (c["depth"], c["host"])):
            walk(child)

    for root in sorted(roots, key=lambda r: (r["depth"], r["host"])):
        walk(root)
    # Parent cycles leave levels unvisited: append them so nothing is dropped.
    for r in sorted(records, key=lambda r: (r["depth"], r["host"])):
        walk(r)
    return ordered


def _devices_hierarchy(cgroup: Mapping[str, Any]) -> str:
    own = cgroup.get("devices_own_hierarchy")
    if own is True:
        return "own"
    if own is False:
        return "shared"
    if cgroup.get("cgroup_version") == "v2":
        return "n/a (v2)"
    return "unknown"


def _apparmor_profile(apparmor: Mapping[str, Any]) -> str:
    if not apparmor:
        return "unknown"
    if apparmor.get("available") is False:
        return "not available"
    current = apparmor.get("current") or {}
    profile = current.get("profile")
    if not profile:
        return "unknown"
    mode = current.get("mode")
    return f"{profile} ({mode})" if mode else str(profile)


def _short_cap(name: str) -> str:
    return name[4:] if name.upper().startswith("CAP_") else name


def build_row(record: Mapping[str, Any]) -> dict[str, Any]:
    """One normalised record -> one report row (plain data, JSON-ready)."""
    facts = record["facts"]
    row: dict[str, Any] = {
        "host": record["host"],
        "depth": record["depth"],
        "parent": record["parent"],
        "method": record["method"],
        "error": record["error"],
    }
    if facts is None:
        row.update(
            runtime=None,
            in_container=None,
            cgroup_version=None,
            devices_hierarchy=None,
            cgroupns=None,
            apparmor_profile=None,
            capabilities_missing=[],
            effective_missing=[],
            profile=None,
            can_nest=None,
            reasons=[f"no facts: {record['error']}"],
            risks=[],
            findings=[],
            recommended_run_flags=[],
            facts=None,
        )
        return row
    cgroup = facts.get("cgroup") or {}
    apparmor = facts.get("apparmor") or {}
    caps = facts.get("capabilities") or {}
    bounding = list(caps.get("bounding") or [])
    effective = list(caps.get("effective") or [])
    risks = [
        {
            "id": str(r.get("id", "")),
            "severity": str(r.get("severity", "")),
            "message": str(r.get("message", "")),
        }
        for r in (facts.get("risks") or [])
        if isinstance(r, Mapping)
    ]
    findings = [
        {
            "id": str(f.get("id", "")),
            "severity": str(f.get("severity", "")),
            "message": str(f.get("message", "")),
            "fix": str(f.get("fix", "")),
        }
        for f in (facts.get("findings") or [])
        if isinstance(f, Mapping)
    ]
    can_nest = facts.get("can_nest_docker")
    row.update(
        runtime=facts.get("container_runtime"),
        in_container=facts.get("in_container"),
        cgroup_version=cgroup.get("cgroup_version"),
        devices_hierarchy=_devices_hierarchy(cgroup),
        cgroupns=cgroup.get("cgroupns"),
        apparmor_profile=_apparmor_profile(apparmor),
        capabilities_missing=sorted(str(c) for c in (caps.get("missing_from_bounding") or [])),
        effective_missing=sorted(set(bounding) - set(effective)),
        profile=facts.get("profile"),
        can_nest=can_nest if isinstance(can_nest, bool) else None,
        reasons=[str(r) for r in (facts.get("reasons") or [])],
        risks=risks,
        findings=findings,
        recommended_run_flags=[str(f) for f in (facts.get("recommended_run_flags") or [])],
        facts=facts,
    )
    return row


def build_rows(records: Any) -> list[dict[str, Any]]:
    rows = [build_row(r) for r in _tree_order(validate_records(records))]
    # Across levels: a daemon newer than the client of the level it runs on (each needs nesting_facts' docker).
    by_host = {row["host"]: row for row in rows}
    for row in rows:
        parent = by_host.get(row["parent"] or "")
        if parent is not None and parent["facts"] is not None and row["facts"] is not None:
            row["findings"] = row["findings"] + check_docker_skew(parent["facts"].get("docker"), row["facts"].get("docker"))
    return rows


def summarize(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    reached = [r for r in rows if r["facts"] is not None]
    risk_counts: dict[str, int] = {}
    finding_counts: dict[str, int] = {}
    for row in rows:
        for risk in row["risks"]:
            risk_counts[risk["severity"]] = risk_counts.get(risk["severity"], 0) + 1
        for item in row.get("findings") or []:
            finding_counts[item["severity"]] = finding_counts.get(item["severity"], 0) + 1
    return {
        "levels": len(rows),
        "max_depth": max((r["depth"] for r in reached), default=None),
        "all_can_nest": bool(rows) and all(r["can_nest"] is True for r in rows),
        "cannot_nest": [r["host"] for r in rows if r["can_nest"] is not True],
        "unreached": [r["host"] for r in rows if r["facts"] is None],
        "risk_counts": {k: risk_counts[k] for k in sorted(risk_counts, key=_severity_rank)},
        "finding_counts": {k: finding_counts[k] for k in sorted(finding_counts, key=_severity_rank)},
    }


def _severity_rank(severity: str) -> tuple[int, str]:
    return (
        _SEVERITY_ORDER.index(severity) if severity in _SEVERITY_ORDER else len(_SEVERITY_ORDER),
        severity,
    )


# ---------------------------------------------------------------- display cells


def _caps_cell(row: Mapping[str, Any]) -> str:
    if row["facts"] is None:
        return "?"
    missing = [_short_cap(c) for c in row["capabilities_missing"]]
    if not missing:
        text = "none"
    elif len(missing) <= 4:
        text = ",".join(missing)
    else:
        text = f"{len(missing)}: " + ",".join(missing[:2]) + ",..."
    if row["effective_missing"]:
        text += f" (+{len(row['effective_missing'])} not effective)"
    return text


def cell_text(row: Mapping[str, Any], key: str) -> str:
    """The text one table cell shows (terminal and HTML use the same words)."""
    if key == "host":
        return str(row["host"])
    if key == "depth":
        return str(row["depth"])
    if key == "capabilities_short":
        return _caps_cell(row)
    if key == "can_nest":
        return {True: "yes", False: "NO"}.get(row["can_nest"], "?")
    if key == "risks":
        return ",".join(r["id"] for r in row["risks"]) or ("-" if row["facts"] is not None else "?")
    if key == "runtime":
        runtime = row["runtime"] or "?"
        return f"{runtime}/{row['method']}" if row["method"] else runtime
    value = row.get(key)
    return "?" if value is None else str(value)


def render_table(rows: Sequence[Mapping[str, Any]], summary: Mapping[str, Any]) -> str:
    """Plain-text table (fixed-width, ASCII) plus one summary line and any unreached levels."""
    headers = list(COLUMN_TITLES)
    body = []
    for row in rows:
        cells = [cell_text(row, key) for key in COLUMN_KEYS]
        cells[0] = "  " * row["depth"] + cells[0] if row["parent"] else cells[0]
        body.append(cells)
    widths = [max(len(h), *(len(r[i]) for r in body)) if body else len(h) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()

    out = [line(headers), line(["-" * w for w in widths])]
    out.extend(line(cells) for cells in body)
    max_depth = summary["max_depth"]
    out.append("")
    out.append(
        f"levels: {summary['levels']}, max depth reached: {'-' if max_depth is None else max_depth}, "
        f"all levels can nest Docker: {'yes' if summary['all_can_nest'] else 'NO'}"
    )
    for row in rows:
        if row["can_nest"] is not True:
            out.append(
                f"{row['host']} cannot nest Docker:" if row["facts"] is not None else f"{row['host']} not reached:"
            )
            out.extend(f"  - {reason}" for reason in (row["reasons"] or ["no reason given"]))
    for row in rows:
        if row.get("findings"):
            out.append(f"{row['host']} findings:")
            out.extend(
                f"  - {item['severity']} {item['id']}: {item['message']} Fix: {item['fix']}" for item in row["findings"]
            )
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------- documents


def build_document(rows: Sequence[Mapping[str, Any]], summary: Mapping[str, Any]) -> dict[str, Any]:
    """The report.json document (schema: docs/report.schema.json)."""
    return {
        "schema_version": SCHEMA_VERSION,
        "generator": GENERATOR,
        "columns": list(COLUMN_KEYS),
        "summary": dict(summary),
        "rows": [dict(r) for r in rows],
    }


def render_json(document: Mapping[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False, default=str) + "\n"


_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem;color:#1d1d1f;background:#fff}
h1{font-size:1.4rem;margin:0 0 .5rem}
h2{font-size:1.1rem;margin:1.5rem 0 .5rem}
.summary{display:flex;gap:1rem;flex-wrap:wrap;margin:1rem 0}
.summary div{border:1px solid #d0d0d5;border-radius:6px;padding:.5rem .8rem}
.summary b{display:block;font-size:1.2rem}
table{border-collapse:collapse;font-size:.9rem}
th,td{border:1px solid #d0d0d5;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f2f2f5}
tr.no td.can_nest,tr.unreached td.can_nest{background:#fde2e1;font-weight:bold}
tr.yes td.can_nest{background:#e1f5e4}
td.host{white-space:nowrap}
td.host span.indent{color:#888}
.sev-critical,.sev-high{color:#a40000;font-weight:bold}
.sev-medium{color:#8a5a00}
.sev-low,.sev-info{color:#555}
code{font-family:ui-monospace,monospace;font-size:.85rem}
ul{margin:.2rem 0 .2rem 1.2rem;padding:0}
details{margin:.4rem 0}
"""


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def render_html(
    rows: Sequence[Mapping[str, Any]],
    summary: Mapping[str, Any],
    title: str = "Nesting report",
) -> str:
    """A self-contained page: inline CSS, no scripts, no external assets, every value escaped."""
    max_depth = summary["max_depth"]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        f"<h1>{_e(title)}</h1>",
        '<div class="summary" id="summary">',
        f'<div>levels<b id="levels">{summary["levels"]}</b></div>',
        f'<div>max depth reached<b id="max-depth">{_e("-" if max_depth is None else max_depth)}</b></div>',
        f'<div>all levels can nest Docker<b id="all-can-nest">{"yes" if summary["all_can_nest"] else "no"}</b></div>',
    ]
    for severity, count in summary["risk_counts"].items():
        parts.append(f'<div>{_e(severity)} risks<b class="sev-{_e(severity)}">{count}</b></div>')
    for severity, count in (summary.get("finding_counts") or {}).items():
        parts.append(f'<div>{_e(severity)} findings<b class="sev-{_e(severity)}">{count}</b></div>')
    parts.append("</div>")
    parts.append('<table id="nesting-report">')
    parts.append("<thead><tr>" + "".join(f'<th scope="col">{_e(t)}</th>' for t in COLUMN_TITLES) + "</tr></thead>")
    parts.append("<tbody>")
    for row in rows:
        state = "unreached" if row["facts"] is None else ("yes" if row["can_nest"] is True else "no")
        parts.append(
            f'<tr class="level {state}" data-host="{_e(row["host"])}" data-depth="{row["depth"]}"'
            f' data-can-nest="{_e(cell_text(row, "can_nest"))}">'
        )
        for key in COLUMN_KEYS:
            text = cell_text(row, key)
            if key == "host" and row["depth"]:
                inner = f'<span class="indent">{"&#8627; "}</span>{_e(text)}'
            elif key == "risks" and row["risks"]:
                inner = ",<wbr>".join(
                    f'<span class="sev-{_e(r["severity"])}" title="{_e(r["message"])}">{_e(r["id"])}</span>'
                    for r in row["risks"]
                )
            elif key == "capabilities_short" and row["capabilities_missing"]:
                inner = f'<span title="{_e(", ".join(row["capabilities_missing"]))}">{_e(text)}</span>'
            else:
                inner = _e(text)
            indent = f' style="padding-left:{0.5 + row["depth"]:.1f}rem"' if key == "host" else ""
            parts.append(f'<td class="{key}"{indent}>{inner}</td>')
        parts.append("</tr>")
    parts.append("</tbody></table>")
    parts.append("<h2>Details per level</h2>")
    for row in rows:
        parts.append(
            f'<details id="level-{_e(row["host"])}"><summary><b>{_e(row["host"])}</b> &mdash; depth {row["depth"]}'
            f"{' (parent ' + _e(row['parent']) + ')' if row['parent'] else ''}</summary>"
        )
        if row["error"]:
            parts.append(f"<p>No facts: {_e(row['error'])}</p>")
        if row["reasons"]:
            parts.append(
                "<p>Why it cannot nest:</p><ul>" + "".join(f"<li>{_e(r)}</li>" for r in row["reasons"]) + "</ul>"
            )
        if row["risks"]:
            parts.append(
                "<p>Risks:</p><ul>"
                + "".join(
                    f'<li><span class="sev-{_e(r["severity"])}">{_e(r["severity"])}</span> <code>{_e(r["id"])}</code>: {_e(r["message"])}</li>'
                    for r in row["risks"]
                )
                + "</ul>"
            )
        if row.get("findings"):
            parts.append(
                "<p>Findings:</p><ul>"
                + "".join(
                    f'<li><span class="sev-{_e(f["severity"])}">{_e(f["severity"])}</span> <code>{_e(f["id"])}</code>: '
                    f"{_e(f['message'])} <b>Fix:</b> {_e(f['fix'])}</li>"
                    for f in row["findings"]
                )
                + "</ul>"
            )
        if row["capabilities_missing"]:
            parts.append(
                "<p>Missing from the bounding set: "
                + ", ".join(f"<code>{_e(c)}</code>" for c in row["capabilities_missing"])
                + "</p>"
            )
        if row["recommended_run_flags"]:
            flags = " ".join(row["recommended_run_flags"])
            parts.append(
                f"<p>Flags for a nested container started here ({_e(row['profile'] or 'profile unknown')}):</p><pre><code>{_e(flags)}</code></pre>"
            )
        evidence = (row["facts"] or {}).get("evidence") or []
        if evidence:
            parts.append(
                "<p>Runtime evidence:</p><ul>" + "".join(f"<li>{_e(item)}</li>" for item in evidence) + "</ul>"
            )
        if row["facts"] is not None:
            facts_json = json.dumps(row["facts"], indent=2, sort_keys=True, ensure_ascii=False, default=str)
            parts.append(
                f'<details class="facts"><summary>All nesting facts</summary><pre><code>{_e(facts_json)}</code></pre></details>'
            )
        parts.append("</details>")
    parts.append("<p><small>Generated by nested.hosts.nesting_report; the same data is in report.json.</small></p>")
    parts.append("</body>")
    parts.append("</html>")
    return "\n".join(parts) + "\n"


def build_report(records: Any, title: str | None = None) -> dict[str, Any]:
    """Everything the module needs: rows, summary, table text, JSON text, HTML text."""
    rows = build_rows(records)
    summary = summarize(rows)
    document = build_document(rows, summary)
    return {
        "rows": rows,
        "summary": summary,
        "table": render_table(rows, summary),
        "document": document,
        "json": render_json(document),
        "html": render_html(rows, summary, title or "Nesting report"),
    }
