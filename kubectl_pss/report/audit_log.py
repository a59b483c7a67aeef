"""Tables for ``audit-log``: the violations, per namespace, per check, exemptions used, and suggestions."""
from __future__ import annotations

from datetime import timedelta
from typing import Any, TextIO

from ..auditlog.events import parse_time
from .color import Palette, color_enabled
from .render import format_table, heading

UNKNOWN = "?"
EVALUATED = "*"


def seconds(timestamp: str | None) -> str:
    """``2026-12-07T18:11:33.352870Z`` -> ``2026-12-07T18:11:33Z``; ``-`` when there is none."""
    parsed = parse_time(timestamp)
    if parsed is None:
        return "-"
    if parsed.utcoffset() == timedelta(0):
        return parsed.strftime("%Y-%m-%dT%H:%M:%SZ")
    return parsed.isoformat(timespec="seconds")


def _object(v: dict[str, Any]) -> str:
    name = v["name"] or UNKNOWN
    return f"{v['resource']}/{name}" + ("*" if v.get("generateName") else "")


def _owner(v: dict[str, Any]) -> str:
    if v["owner"]:
        return f"{v['owner']['kind']}/{v['owner']['name']}"
    return UNKNOWN if any(n.startswith("owner unknown") for n in v["notes"]) else "-"


def _user(v: dict[str, Any]) -> str:
    return v["user"] + (" (controller)" if v["userKind"] == "controller" else "")


def _checks(v: dict[str, Any]) -> str:
    if v["checks"] is None:
        return UNKNOWN
    names = ", ".join(dict.fromkeys(c["check"] or c["reason"] for c in v["checks"]))
    evaluated = any(n.startswith("checks evaluated") for n in v["notes"])
    return names + (f" {EVALUATED}" if evaluated else "")


def _now(live: dict[str, Any] | None, palette: Palette) -> str:
    if live is None:
        return ""
    if live["exists"] is False:
        return "gone"
    by_owner = " (owner)" if live["exists"] is None else ""  # a generated pod, judged by its logged owner
    if live["stillViolates"] is True:
        return palette.paint(f"violates {live['policy']}", "error") + by_owner
    if live["stillViolates"] is False:
        return f"passes {live['policy']}{by_owner}"
    return UNKNOWN


def _footnotes(violations: list[dict[str, Any]]) -> list[str]:
    notes = []
    if any(v.get("generateName") for v in violations):
        notes.append("NAME* is a generateName prefix: the created object's own name is not in the log")
    if any(_owner(v) == UNKNOWN for v in violations):
        notes.append(f"OWNER {UNKNOWN}: owner unknown (Metadata-level audit policy: no request body)")
    if any(v["checks"] is None for v in violations):
        notes.append(f"CHECKS {UNKNOWN}: the log has neither the denial message nor the request body")
    if any(_checks(v).endswith(EVALUATED) for v in violations):
        notes.append(f"CHECKS {EVALUATED}: the server logged no denial message; evaluated from the logged request")
    live = [v["live"] for v in violations if v.get("live")]
    if any(_now(x, Palette(False)).endswith("(owner)") for x in live):
        notes.append("NOW (owner): the pod's own name is not in the log; what its logged owner creates now")
    if any(_now(x, Palette(False)) == UNKNOWN for x in live):
        notes.append(f"NOW {UNKNOWN}: not known (see \"live\" in -o json for why)")
    return notes


def render_audit_log(report: dict[str, Any], stream: TextIO, no_color: bool) -> None:
    palette = Palette(color_enabled(stream, no_color))
    violations = report["violations"]
    live = report.get("context") is not None or any("live" in v for v in violations)
    if not violations:
        events = report["events"]
        incomplete = [f"{events['skipped']} line(s) skipped"] if events["skipped"] else []
        if report["errors"]:
            incomplete.append(f"{len(report['errors'])} error(s)")
        stream.write(heading(f"No PodSecurity violations in {events['read']} events"
                     + (f" (incomplete: {', '.join(incomplete)}; see stderr)" if incomplete else "") + ".\n"))
    else:
        headers = ["namespace", "object", "owner", "user", "mode", "policy", "checks", "count", "first seen",
                   "last seen"] + (["now"] if live else [])
        rows = [[v["namespace"] or "-", _object(v), _owner(v), _user(v),
                 palette.paint(v["mode"], "error") if v["mode"] == "enforce" else v["mode"], v["policy"] or UNKNOWN,
                 _checks(v), str(v["count"]), seconds(v["firstSeen"]), seconds(v["lastSeen"])]
                + ([_now(v.get("live"), palette)] if live else []) for v in violations]
        stream.write(format_table(rows, headers, wrap=("checks", "user", "owner", "now")) + "\n")
        for note in _footnotes(violations):
            stream.write(heading(f"({note})\n"))
        summary = report["summary"]
        stream.write(heading("\nBy namespace:\n"))
        stream.write(format_table([[n["namespace"] or "-", str(n["audit"]), str(n["enforce"]), str(n["objects"]),
                                    str(n["users"])] for n in summary["byNamespace"]],
                                  ["namespace", "audit", "enforce", "objects", "users"]) + "\n")
        stream.write(heading("\nBy check:\n"))
        stream.write(format_table([[c["check"] or UNKNOWN, c["reason"], str(c["audit"]), str(c["enforce"]),
                                    str(c["objects"])] for c in summary["byCheck"]],
                                  ["check", "reason", "audit", "enforce", "objects"], wrap=("reason",)) + "\n")
        if "live" in summary:
            s = summary["live"]
            stream.write(heading(f"\nNow: {s['stillViolating']} still violating, {s['compliantNow']} compliant, "
                         f"{s['gone']} gone, {s['unknown']} unknown\n"))
    if report["exemptions"]:
        stream.write(heading("\nExemptions used:\n"))
        stream.write(format_table([[e["namespace"] or "-", _object(e), _user(e), e["exempt"], str(e["count"]),
                                    seconds(e["lastSeen"])] for e in report["exemptions"]],
                                  ["namespace", "object", "user", "exempt", "count", "last seen"],
                                  wrap=("user", "exempt")) + "\n")
    if "suggestions" in report:
        _suggestions(report["suggestions"], stream)


def _suggestions(suggestions: dict[str, Any], stream: TextIO) -> None:
    stream.write(heading("\nUsernames exemption candidates (printed, never applied):\n"))
    candidates = suggestions["candidates"]
    if not candidates:
        stream.write(heading("none: no namespace's violations all come from one service account\n"))
        return
    stream.write(format_table([[c["username"], ", ".join(str(n) for n in c["namespaces"]), str(c["events"]),
                                "yes" if c["recommended"] else "no", c["reason"]] for c in candidates],
                              ["username", "namespaces", "events", "suggested", "why"],
                              wrap=("why", "namespaces")) + "\n")
    usernames = suggestions["exemptions"]["usernames"]
    if usernames:
        stream.write(heading("\nFor the PodSecurityConfiguration (admission-config), if you accept the risk:\n"))
        stream.write("exemptions:\n  usernames:\n" + "".join(f"  - {u}\n" for u in usernames))
