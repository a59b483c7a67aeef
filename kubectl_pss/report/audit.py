"""Tables for ``audit``: one row per namespace, then the findings grouped by owner."""
from __future__ import annotations

import sys
from typing import Any, TextIO

from .color import Palette, color_enabled
from .render import format_table, write_notes


def _mode(labels: dict[str, Any], mode: str) -> str:
    entry = labels[mode]
    text = f"{entry['level']}:{entry['version']}"
    return text if entry["source"] == "label" else f"({text})"


def pods_phrase(pods: list[str], limit: int = 3) -> str:
    if not pods:
        return "-"
    shown = ", ".join(pods[:limit])
    return shown if len(pods) <= limit else f"{shown} (+{len(pods) - limit} more)"


def findings_rows(namespace: str, findings: list[dict[str, Any]], palette: Palette) -> list[list[str]]:
    rows = []
    for finding in findings:
        owner = f"{finding['owner']['kind']}/{finding['owner']['name']}"
        where = pods_phrase(finding["pods"]) + (" +template" if finding["template"] else "")
        for i, violation in enumerate(finding["violations"]):
            first = i == 0
            message = violation["reason"] + (f": {violation['detail']}" if violation["detail"] else "")
            rows.append([namespace if first else "", owner if first else "", where if first else "",
                         palette.paint(finding["level"], finding["level"]) if first else "", violation["check"], message])
    return rows


UNKNOWN = "? (not fully read)"


def count_cell(count: int | None) -> str:
    """A pod or workload count; None (a namespace not read to the end) is ``?``, never 0."""
    return "?" if count is None else str(count)


def write_incomplete(namespaces: list[dict[str, Any]], stream: TextIO) -> None:
    """Why each namespace marked ``?`` has no verdict: what could not be read in it."""
    lines = [f"  {ns['name']}: {reason}" for ns in namespaces if not ns.get("complete", True)
             for reason in ns["errors"]]
    if lines:
        stream.write("\n? = not read to the end, no verdict:\n" + "\n".join(lines) + "\n")


def render_audit(report: dict[str, Any], stream: TextIO, no_color: bool) -> None:
    palette = Palette(color_enabled(stream, no_color))
    cluster = report["cluster"]
    stream.write(f"Cluster {cluster['context'] or '-'}: server {cluster['serverVersion'] or 'unknown'}, "
                 f"latest = {cluster['policyLatest']}\n")
    write_notes(report.get("notes", []), stream)
    rows = []
    for ns in report["namespaces"]:
        strictest = ns["strictestLevel"]
        flag = palette.paint("VIOLATES ENFORCE", "error") if ns["violatesEnforce"] else ""
        level = (palette.paint(strictest, strictest) + f" @{ns['evaluatedAt']}" if strictest is not None
                 else palette.paint(UNKNOWN, "error"))
        rows.append([ns["name"], _mode(ns["labels"], "enforce"), _mode(ns["labels"], "audit"), _mode(ns["labels"], "warn"),
                     "yes" if ns["exempt"] else "", count_cell(ns["pods"]), count_cell(ns["workloads"]), level, flag])
    stream.write("\n" + format_table(rows, ["namespace", "enforce", "audit", "warn", "exempt", "pods", "workloads",
                                            "strictest", ""]) + "\n")
    write_incomplete(report["namespaces"], stream)
    finding_rows = [row for ns in report["namespaces"] for row in findings_rows(ns["name"], ns["findings"], palette)]
    if finding_rows:
        stream.write("\nFindings (what keeps each namespace from the next stricter level):\n")
        stream.write(format_table(finding_rows, ["namespace", "owner", "pods", "level", "check", "reason: detail"]) + "\n")
    stream.write("\n(values in parentheses are cluster defaults, not labels)\n")
    if report["errors"]:
        stream.write(f"{len(report['errors'])} error(s): see stderr\n")


def print_read_errors(errors: list[dict[str, Any]]) -> None:
    """What could not be read (audit, simulate, label), on stderr: one line each, saying where."""
    for error in errors:
        where = f'namespace "{error["namespace"]}"' if error["namespace"] else "cluster"
        print(f"error: {where}: {error['resource']}: {error['error']}", file=sys.stderr)
