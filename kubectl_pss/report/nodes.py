"""Tables for ``nodes``: the nodes, the referenced Localhost profiles and where they are missing,
the pods blocked for a confinement reason."""
from __future__ import annotations

from typing import Any, TextIO

from .color import Palette, color_enabled
from .confinement import write_footer
from .render import format_table, heading, table_layout, write_notes


def _few(items: list[str], limit: int = 3) -> str:
    """The first ``limit`` items and ``+N more``; every item with -o wide."""
    if not items:
        return "-"
    if table_layout().wide:
        return ", ".join(items)
    shown = ", ".join(items[:limit])
    return shown if len(items) <= limit else f"{shown} +{len(items) - limit} more"


def _apparmor(inspection: dict[str, Any]) -> str:
    apparmor = inspection["apparmor"]
    if apparmor["enabled"] is False:
        return "disabled"
    if apparmor["profiles"] is None:
        return "enabled, profiles ?" if apparmor["enabled"] else "?"
    modes: dict[str, int] = {}
    for p in apparmor["profiles"]:
        modes[p["mode"]] = modes.get(p["mode"], 0) + 1
    other = ", ".join(f"{n} {m}" for m, n in sorted(modes.items()) if m != "enforce")
    return f"{len(apparmor['profiles'])} loaded" + (f" ({other})" if other else "")


def _seccomp_files(inspection: dict[str, Any]) -> str:
    seccomp = inspection["seccomp"]
    if seccomp["rootExists"] is False:
        return "no root"
    if seccomp["files"] is None:
        return "?"
    bad = sum(1 for f in seccomp["files"] if f.get("problem"))
    return str(len(seccomp["files"])) + (f" ({bad} invalid)" if bad else "")


def _seccomp_default(inspection: dict[str, Any]) -> str:
    kubelet = inspection["kubelet"]
    value = kubelet.get("seccompDefault")
    if value is None:
        return "?"
    source = kubelet.get("seccompDefaultSource") or ""
    shown = "on" if value else "off"
    if source.startswith("flag"):
        return f"{shown} (flag)"
    if source.startswith("config"):
        return f"{shown} (config)"
    return shown


def _status(profile: dict[str, Any], palette: Palette) -> str:
    parts = []
    for key, word in (("missingOn", "missing on"), ("apparmorDisabledOn", "no AppArmor on"),
                      ("invalidOn", "invalid on"), ("differsOn", "differs on"), ("unknownOn", "unknown on")):
        if profile[key]:
            text = f"{word} {_few(profile[key])}"
            parts.append(palette.paint(text, "error") if key != "unknownOn" else text)
    if not parts:
        count = len(profile["nodes"])
        return palette.paint(f"ok on {count} node(s)", "good") if count else "no node"
    return "; ".join(parts)


def render_nodes(report: dict[str, Any], stream: TextIO, no_color: bool) -> None:
    palette = Palette(color_enabled(stream, no_color))
    inspect = report["nodeInspect"]
    stream.write(heading(f"Context {report['context'] or '-'}: {len(report['nodes'])} node(s)"
                 + (f", inspected through debug pods (seccomp root {report['seccompRoot']})" if inspect else "")
                 + "\n"))
    if report["nodes"]:
        headers = ["node", "ready", "kubelet", "runtime", "os image", "kernel", "apparmor (api)"]
        if inspect:
            headers += ["apparmor profiles", "seccomp files", "seccomp default", "inspection"]
        rows = []
        for n in report["nodes"]:
            ready = {True: "yes", False: "no", None: "?"}[n["ready"]]
            row = [n["name"], ready, n["kubeletVersion"] or "?", n["runtime"] or "unknown", n["osImage"] or "?",
                   n["kernelVersion"] or "?", n["apparmor"]]
            if inspect:
                i = n["inspection"]
                if i is None:
                    row += ["-", "-", "-", "skipped"]
                elif i["status"] == "failed":
                    row += ["?", "?", "?", palette.paint("failed", "error")]
                else:
                    row += [_apparmor(i), _seccomp_files(i), _seccomp_default(i),
                            i["status"] if i["status"] == "ok" else palette.paint(i["status"], "warning")]
            rows.append(row)
        stream.write(heading("\n") + format_table(rows, headers, wrap=("os image", "kernel", "apparmor (api)")) + "\n")
    if report["profiles"]:
        rows = []
        for p in report["profiles"]:
            owners = list(dict.fromkeys(f"{r['kind']} {r['namespace']}/{r['name']}" for r in p["references"]))
            rows.append([p["type"], p["profile"], _few(owners, 1), str(len(p["nodes"])), _status(p, palette)])
        stream.write(heading("\nLocalhost profiles named by pods and workload templates "
                     "(on the nodes where they could land):\n"))
        stream.write(format_table(rows, ["type", "profile", "named by", "nodes", "status"], wrap=("status", "named by")) + "\n")
    if report["blockedPods"]:
        rows = [[b["namespace"], b["pod"], b["container"] or "(pod)", b["node"] or "-",
                 ", ".join(x for x in (b["apparmor"] and f"apparmor {b['apparmor']}",
                                       b["seccomp"] and f"seccomp {b['seccomp']}") if x) or "-",
                 palette.paint(f"{b['reason']}: {b['message']}", "error")] for b in report["blockedPods"]]
        stream.write(heading("\nPods blocked or failing for an AppArmor or seccomp reason:\n"))
        stream.write(format_table(rows, ["namespace", "pod", "container", "node", "asks for", "status"],
                                  wrap=("status", "asks for")) + "\n")
    notes = list(report["notes"])
    for p in report["profiles"]:
        notes += [f"{p['type']} {p['profile']}: {note}" for note in p["notes"]]
        for n in p["nodes"]:  # what the status column does not say already
            if n.get("from") or (n["status"] == "invalid" and n.get("detail")):
                notes.append(f"{p['type']} {p['profile']} on {n['node']}: {n['status']} ({n['detail']})")
    for n in report["nodes"]:
        for note in (n["inspection"] or {}).get("notes") or ():
            notes.append(f"node {n['name']}: {note}")
    write_notes(notes)
    s = report["summary"]
    stream.write(heading(f"\n{s['profilesWithProblems']} of {s['profiles']} profile(s) with problems (node by node: "
                 f"{s['missing']} missing, {s['invalid']} invalid, {s['unknown']} unknown; {s['differs']} differing "
                 f"between nodes); {s['blockedPods']} blocked pod(s)\n"))
    write_footer(report, stream, palette)
