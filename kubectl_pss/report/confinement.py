"""Tables for ``verify-apparmor`` and ``verify-seccomp``: the nodes, then one row per container."""
from __future__ import annotations

import sys
from typing import Any, TextIO

from ..confinement.apparmor import AppArmorLabel
from .color import Palette, color_enabled
from .render import format_table, heading, write_notes

_STYLE = {"match": "good", "mismatch": "error", "complain": "warning", "unverifiable": "warning"}


def _detail(container: dict[str, Any]) -> str:
    parts = []
    if container.get("detail"):
        parts.append(container["detail"])
    if container.get("flags"):
        parts.append("[" + ", ".join(container["flags"]) + "]")
    return " ".join(parts)


_MODE_NUMBERS = {"disabled": 0, "strict": 1, "filter": 2}


def _actual(container: dict[str, Any]) -> str:
    """What runs, for people: AppArmor's label as the kernel writes it; seccomp's ``{mode, filters}`` as /proc words it, or the
    runtime's filter (``filter``) when the node was inspected."""
    actual = container["actual"]
    if actual is None:
        return "-"
    if "profile" in actual:
        return str(AppArmorLabel(**actual))
    running = container.get("filter")
    if running:
        arches = ", ".join(running["architectures"]) or "no architectures"
        return f"{running['defaultAction']}, {running['allowedSyscalls']} syscalls allowed ({arches})"
    mode = actual["mode"]
    text = f"Seccomp {_MODE_NUMBERS.get(mode, '?')} ({mode})"
    if mode == "filter" and actual["filters"] is not None:
        text += f", {actual['filters']} filter" + ("s" if actual["filters"] != 1 else "")
    return text


def render_verify(report: dict[str, Any], stream: TextIO, no_color: bool) -> None:
    palette = Palette(color_enabled(stream, no_color))
    check = report["check"]
    title = "AppArmor" if check == "apparmor" else "seccomp"
    stream.write(heading(f"Context {report['context'] or '-'}: {title} of {report['summary']['containers']} "
                         "container(s)\n"))
    if report["nodes"]:
        if check == "apparmor":
            rows = [[n["name"], n["kubeletVersion"] or "?", n["runtime"] or "unknown", n["apparmor"]]
                    for n in report["nodes"]]
            headers = ["node", "kubelet", "runtime", "apparmor"]
        else:
            rows = [[n["name"], n["kubeletVersion"] or "?", n["runtime"] or "unknown", n["seccompDefault"]]
                    for n in report["nodes"]]
            headers = ["node", "kubelet", "runtime", "seccomp default"]
        stream.write(heading("\n") + format_table(rows, headers) + "\n")
    if report["containers"]:
        rows = []
        sourced = bool(report.get("nodeInspect"))  # where each actual came from: the node, or exec (fallback)
        for c in report["containers"]:
            verdict = c["verdict"]
            shown = verdict + (f" ({c['reason']})" if verdict == "unverifiable" and c.get("reason") else "")
            rows.append([c["namespace"], c["pod"], c["container"], c["node"] or "-", c["expected"] or "(none)",
                         _actual(c)]
                        + ([c.get("actualSource") or "-"] if sourced else [])
                        + [palette.paint(shown, _STYLE.get(verdict, "")), _detail(c)])
        stream.write(heading("\n") + format_table(rows, ["namespace", "pod", "container", "node", "expected", "actual"]
                                                  + (["source"] if sourced else []) + ["verdict", "detail"],
                                                  wrap=("detail", "actual", "expected")) + "\n")
    notes = list(report.get("notes") or [])
    for c in report["containers"]:
        for note in c.get("notes") or ():
            notes.append(f"{c['namespace']}/{c['pod']}/{c['container']}: {note}")
    write_notes(notes)
    s = report["summary"]
    stream.write(heading(f"\n{s['match']} match, {s['mismatch']} mismatch, {s['complain']} complain, "
                         f"{s['unverifiable']} unverifiable"
                         + (f", {s['execDisagrees']} exec-disagrees" if s.get("execDisagrees") else "") + "\n"))
    write_footer(report, stream, palette)


def print_errors(report: dict[str, Any]) -> None:
    """The report's errors on stderr, one line each, saying where (node, pod or namespace)."""
    for error in report["errors"]:
        if error.get("node"):
            where = f'node "{error["node"]}": '
        elif error.get("pod"):
            where = f'pod "{error.get("namespace")}/{error["pod"]}": '
        elif error.get("namespace"):
            where = f'namespace "{error["namespace"]}": '
        else:
            where = ""
        print(f"error: {where}{error['message']}", file=sys.stderr)


def write_verify(report: dict[str, Any], output: str, no_color: bool) -> None:
    """``verify-apparmor`` and ``verify-seccomp``: the report on stdout, its errors on stderr."""
    from .render import write_report

    write_report(report, output, sys.stdout, lambda r, out: render_verify(r, out, no_color))
    print_errors(report)


def write_footer(report: dict[str, Any], stream: TextIO, palette: Palette) -> None:
    """Under a table of ``verify-*`` or ``nodes``: each debug pod and whether it was deleted, and the error count."""
    for pod in report.get("debugPods") or ():
        state = "deleted" if pod["deleted"] else palette.paint("NOT DELETED", "error")
        stream.write(heading(f"debug pod {pod['namespace']}/{pod['name']} on node {pod['node']}: {state}\n"))
    if report["errors"]:
        print(f"{len(report['errors'])} error(s)", file=sys.stderr)
