"""Tables for ``audit``: one row per namespace, then the findings grouped by owner."""
from __future__ import annotations

import sys
from typing import Any, TextIO

from .envelope import server_version_text, source_name
from .color import Palette, color_enabled
from .render import format_table, heading, table_layout, write_notes

FINDINGS_HEADERS = ["namespace", "owner", "pods", "level", "check", "reason: detail"]
FINDINGS_WRAP = ("reason: detail", "pods", "owner")


def _mode(labels: dict[str, Any], mode: str) -> str:
    entry = labels[mode]
    text = f"{entry['level']}:{entry['version']}"
    return text if entry["source"] == "label" else f"({text})"


def pods_phrase(pods: list[str]) -> str:
    """The first pod and ``+N more``; every pod with -o wide."""
    if not pods:
        return "-"
    if table_layout().wide:
        return ", ".join(pods)
    return pods[0] + (f" +{len(pods) - 1} more" if len(pods) > 1 else "")


def findings_rows(namespace: str, findings: list[dict[str, Any]], palette: Palette) -> list[list[str]]:
    rows = []
    for finding in findings:
        owner = f"{finding['owner']['kind']}/{finding['owner']['name']}"
        where = pods_phrase(finding["pods"]) + (" +template" if finding["template"] else "")
        for i, violation in enumerate(finding["violations"]):
            first = i == 0
            message = violation["reason"] + (f": {violation['detail']}" if violation["detail"] else "")
            rows.append([namespace if first else "", owner if first else "", where if first else "",
                         palette.failed_level(finding["level"]) if first else "", violation["check"], message])
    return rows


def write_findings(rows: list[list[str]], caption: str, stream: TextIO) -> None:
    """A findings table (audit, simulate, label) under its caption."""
    if rows:
        stream.write(heading(f"\n{caption}\n"))
        stream.write(format_table(rows, FINDINGS_HEADERS, wrap=FINDINGS_WRAP) + "\n")


UNKNOWN = "? (not fully read)"


def count_cell(count: int | None) -> str:
    """A pod or workload count; None (a namespace not read to the end) is ``?``, never 0."""
    return "?" if count is None else str(count)


def write_incomplete(namespaces: list[dict[str, Any]], stream: TextIO) -> None:
    """Why each namespace marked ``?`` has no verdict: what could not be read in it."""
    lines = [f"  {ns['name']}: {reason}" for ns in namespaces if not ns.get("complete", True)
             for reason in ns["errors"]]
    if lines:
        stream.write(heading("\n? = not read to the end, no verdict:\n" + "\n".join(lines) + "\n"))


def render_audit(report: dict[str, Any], stream: TextIO, no_color: bool) -> None:
    palette = Palette(color_enabled(stream, no_color))
    stream.write(heading(f"Cluster {source_name(report)}: server {server_version_text(report)}, "
                         f"latest = {report['cluster']['policyLatest']}\n"))
    write_notes(report.get("notes", []))
    rows = []
    for ns in report["namespaces"]:
        strictest = ns["strictestLevel"]
        flag = palette.paint("yes", "error") if ns["violatesEnforce"] else ""
        level = (palette.level(strictest) + f" @{ns['evaluatedAt']}" if strictest is not None
                 else palette.paint(UNKNOWN, "error"))
        rows.append([ns["name"], _mode(ns["labels"], "enforce"), _mode(ns["labels"], "audit"), _mode(ns["labels"], "warn"),
                     "yes" if ns["exempt"] else "", count_cell(ns["pods"]), count_cell(ns["workloads"]), level, flag])
    stream.write(heading("\n") + format_table(rows, ["namespace", "enforce", "audit", "warn", "exempt", "pods",
                                                    "workloads", "strictest", "violates enforce"]) + "\n")
    if any(cell.startswith("(") for row in rows for cell in row[1:4]):
        stream.write(heading("(values in parentheses are cluster defaults, not labels)\n"))
    write_incomplete(report["namespaces"], stream)
    finding_rows = [row for ns in report["namespaces"] for row in findings_rows(ns["name"], ns["findings"], palette)]
    write_findings(finding_rows, "Findings (what keeps each namespace from the next stricter level):", stream)
    stream.write(heading(f"\n{roll_up(report['namespaces'])}\n"))
    if report["errors"]:
        print(f"{len(report['errors'])} error(s)", file=sys.stderr)


def roll_up(namespaces: list[dict[str, Any]]) -> str:
    """``12 namespaces: 5 restricted-ready, 4 baseline, 3 privileged-only; 2 violate their own enforce label``."""
    count = {level: sum(1 for ns in namespaces if ns["strictestLevel"] == level)
             for level in ("restricted", "baseline", "privileged")}
    line = (f"{len(namespaces)} namespace(s): {count['restricted']} restricted-ready, {count['baseline']} baseline, "
            f"{count['privileged']} privileged-only")
    violating = sum(1 for ns in namespaces if ns["violatesEnforce"])
    if violating:
        line += f"; {violating} violate their own enforce label"
    unread = sum(1 for ns in namespaces if not ns.get("complete", True) or ns["strictestLevel"] is None)
    if unread:
        line += f"; {unread} not fully read"
    return line


def print_read_errors(errors: list[dict[str, Any]]) -> None:
    """What could not be read (audit, simulate, label), on stderr: one line each, saying where."""
    for error in errors:
        where = f'namespace "{error["namespace"]}"' if error["namespace"] else "cluster"
        print(f"error: {where}: {error['resource']}: {error['message']}", file=sys.stderr)
