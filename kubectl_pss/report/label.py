"""Tables for ``label``: the plan (labels before and after, what a new enforce level rejects, the
server's dry run), then what was applied and where the undo file is."""
from __future__ import annotations

import sys
from typing import Any, TextIO

from .audit import findings_rows, print_read_errors, write_findings, write_incomplete
from .envelope import server_version_text
from .color import Palette, color_enabled
from .render import format_table, heading, write_notes

PREFIX = "pod-security.kubernetes.io/"
MODES = ("enforce", "audit", "warn")


def _mode_text(labels: dict[str, Any], mode: str) -> str:
    level = labels.get(f"{PREFIX}{mode}")
    version = labels.get(f"{PREFIX}{mode}-version")
    if level is None and version is None:
        return "-"
    return f"{level if level is not None else '(default)'}" + (f":{version}" if version is not None else "")


def _mode_cell(ns: dict[str, Any], mode: str) -> str:
    before = _mode_text(ns["labels"]["current"], mode)
    after = _mode_text(ns["labels"]["new"], mode)
    return before if before == after else f"{before} -> {after}"


def _action_cell(ns: dict[str, Any], palette: Palette) -> str:
    action = ns["action"]
    if action == "refused":
        return palette.paint("REFUSED", "error")
    if action == "changed-since":
        return palette.paint("CHANGED SINCE", "error")
    if action == "change" and ns.get("forced"):
        return palette.paint("change (forced)", "error")
    return action


def _server_cell(ns: dict[str, Any], palette: Palette) -> str:
    server = ns.get("server")
    if server is None:
        return ""
    if "error" in server:
        return palette.paint(f"error: {server['error']}", "error")
    if server.get("agrees") is False:
        return palette.paint("DISAGREES", "error")
    if server.get("agrees") is None:
        return "n/a"  # an audit or warn change: the server checks no pods
    warned = len(server["warnings"])
    return "agrees" + (f" ({warned} warning(s))" if warned else "")


def render_plan(report: dict[str, Any], stream: TextIO, no_color: bool) -> None:
    palette = Palette(color_enabled(stream, no_color))
    what = "Undo plan" if report["operation"] == "undo" else "Label plan"
    stream.write(heading(f"{what} on context {report['context'] or '-'} (server {server_version_text(report)}, "
                         f"latest = {report['cluster']['policyLatest']})\n"))
    write_notes(report.get("notes", []))
    namespaces = report["namespaces"]
    if not namespaces:
        stream.write(heading("\nNo namespaces in scope.\n"))
        return
    with_server = any("server" in ns for ns in namespaces)
    rows = []
    for ns in namespaces:
        plan = _action_cell(ns, palette) + ("" if ns.get("complete", True) else " ?")
        row = [ns["name"], _mode_cell(ns, "enforce"), _mode_cell(ns, "audit"), _mode_cell(ns, "warn"), plan]
        if with_server:
            row.append(_server_cell(ns, palette))
        rows.append(row)
    headers = ["namespace", "enforce", "audit", "warn", "plan"] + (["server dry-run"] if with_server else [])
    stream.write(heading("\n") + format_table(rows, headers, wrap=("server dry-run",)) + "\n")
    write_incomplete(namespaces, stream)
    rejects = [row for ns in namespaces if ns["enforceChange"] for row in findings_rows(ns["name"], ns["findings"], palette)]
    write_findings(rejects, "The new enforce level would reject:", stream)
    staged = [row for ns in namespaces if not ns["enforceChange"] for row in findings_rows(ns["name"], ns["findings"], palette)]
    write_findings(staged, "Audit and warn will report (and the target enforce level would reject):", stream)
    noted = [(ns["name"], note) for ns in namespaces for note in ns["notes"]]
    noted += [(ns["name"], f"server dry run: {ns['server']['note']}") for ns in namespaces
              if (ns.get("server") or {}).get("note")]
    write_notes([f"{name}: {note}" for name, note in noted])
    for ns in namespaces:
        server = ns.get("server") or {}
        if server.get("agrees") is False:
            stream.write(heading(f"\nDISAGREEMENT in {ns['name']}:\n  server:   {server['warnings']}\n"
                                 f"  expected: {server['expected']}\n"))
    s = report["summary"]
    stream.write(heading(f"\n{s['change']} namespace(s) to change, {s['unchanged']} unchanged, "
                         f"{s['exempt']} exempt (skipped), {s['refused']} refused"
                         + (f", {s['changedSince']} changed since" if s["changedSince"] else "") + "\n"))


def render_result(report: dict[str, Any], stream: TextIO, no_color: bool) -> None:
    palette = Palette(color_enabled(stream, no_color))
    rows = []
    for ns in report["namespaces"]:
        result = ns.get("result")
        if result is None:
            continue
        status = result["status"]
        text = palette.paint("applied", "good") if status == "applied" else (
            palette.paint(f"FAILED: {result.get('error')}", "error") if status == "failed" else status)
        rows.append([ns["name"], text])
    if rows:
        stream.write(heading("\n") + format_table(rows, ["namespace", "result"], wrap=("result",)) + "\n")
    s = report["summary"]
    stream.write(heading(f"\n{s['applied']} applied, {s['failed']} failed, {s['notAttempted']} not attempted\n"))
    if report.get("undoFile"):
        stream.write(heading(f"Undo file: {report['undoFile']} "
                             f"(restore with: kubectl pss label --undo {report['undoFile']})\n"))


def render_label(report: dict[str, Any], stream: TextIO, no_color: bool) -> None:
    render_plan(report, stream, no_color)
    if report["outcome"] in ("applied", "partially applied", "failed"):
        render_result(report, stream, no_color)


def print_label_diagnostics(report: dict[str, Any]) -> None:
    """Read errors, the server's warnings on each patch (as kubectl shows them) and disagreements, on stderr."""
    print_read_errors(report["errors"])
    for ns in report["namespaces"]:
        for warning in (ns.get("result") or {}).get("warnings") or ():
            print(f'Warning: namespace "{ns["name"]}": {warning}', file=sys.stderr)
        server = ns.get("server") or {}
        if "error" in server:
            print(f'error: namespace "{ns["name"]}": the API server\'s dry run failed: {server["error"]}', file=sys.stderr)
        if server.get("agrees") is False:
            print(f'error: namespace "{ns["name"]}": the API server\'s dry run and kubectl-pss differ '
                  "(is --admission-config the server's configuration?)", file=sys.stderr)
