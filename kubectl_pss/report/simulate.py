"""Tables for ``simulate``: per namespace what would be rejected, grouped by owner, and a summary."""
from __future__ import annotations

from typing import Any, TextIO

from .audit import UNKNOWN, count_cell, findings_rows, write_findings, write_incomplete
from .envelope import source_name
from .color import Palette, color_enabled
from .render import format_table, heading, write_notes


def render_simulation(report: dict[str, Any], stream: TextIO, no_color: bool) -> None:
    palette = Palette(color_enabled(stream, no_color))
    policy = f"{report['level']}:{report['version']}"
    verb = "reject" if report["mode"] == "enforce" else f"flag ({report['mode']})"
    stream.write(heading(f"Simulating {report['mode']}={policy} (evaluated as {report['policyVersion']}) "
                         f"on context {source_name(report)}\n"))
    write_notes(report.get("notes", []))
    rows = []
    for ns in report["namespaces"]:
        if not ns.get("complete", True):
            verdict = palette.paint(UNKNOWN, "error")
        elif ns["exempt"]:
            verdict = "exempt"
        elif ns["wouldReject"]:
            verdict = palette.paint(f"would {verb}", "error")
        else:
            verdict = palette.paint("ok", "good")
        server = ns.get("server")
        server_text = ""
        if server is not None:
            server_text = ("agrees" if server.get("agrees") else
                           palette.paint("DISAGREES", "error") if server.get("agrees") is False else
                           f"error: {server.get('error')}")
        row = [ns["name"], ns["current"], count_cell(ns["pods"]), count_cell(ns["workloads"]), verdict]
        if "server" in ns or any("server" in n for n in report["namespaces"]):
            row.append(server_text)
        rows.append(row)
    headers = ["namespace", f"current {report['mode']}", "pods", "workloads", "verdict"]
    if any("server" in n for n in report["namespaces"]):
        headers.append("server dry-run")
    stream.write(heading("\n") + format_table(rows, headers) + "\n")
    write_incomplete(report["namespaces"], stream)
    finding_rows = [row for ns in report["namespaces"] for row in findings_rows(ns["name"], ns["findings"], palette)]
    write_findings(finding_rows, f"Would {verb}:", stream)
    for ns in report["namespaces"]:
        server = ns.get("server")
        if server and server.get("note"):
            write_notes([f"{ns['name']}: server dry run: {server['note']}"])
        if server and server.get("agrees") is False:
            stream.write(heading(f"\nDISAGREEMENT in {ns['name']}:\n  server:   {server['warnings']}\n"
                                 f"  expected: {server['expected']}\n"))
    s = report["summary"]
    unread = sum(1 for ns in report["namespaces"] if not ns.get("complete", True))
    unknown = f", {unread} unknown (not fully read)" if unread else ""
    stream.write(heading(f"\n{s['namespacesAffected']} of {s['namespaces']} namespace(s) affected{unknown}; "
                 f"{s['podsRejected']} pod(s) and {s['workloadsRejected']} workload template(s) would be "
                 f"{'rejected' if report['mode'] == 'enforce' else 'flagged'}; "
                 f"{s['exemptNamespaces']} exempt namespace(s), {s['exemptPods']} exempt pod(s)\n"))
