"""``check``'s table of objects and their violations."""
from __future__ import annotations

from typing import Any, TextIO

from ..policy import Level, Version
from ..analysis.landing import violated_modes
from ..policy.registry import NEWEST_MINOR
from .color import Palette, color_enabled
from .render import format_table, heading


def render_check(report: Any, level: Level | None, version: Version, no_color: bool, stream: TextIO) -> None:
    """``check``'s table: one row per violation of each object, then a summary line."""
    palette = Palette(color_enabled(stream, no_color))
    rows: list[list[str]] = []
    for entry in report.results:
        ref = f"{entry['kind']}/{entry['name'] or '-'}"
        if level is not None:
            verdict = palette.paint("allowed", "good") if entry["allowed"] else palette.paint("denied", "error")
        else:
            verdict = palette.level(entry["strictestLevel"])
        violations = _shown(entry) or [{"check": "-", "reason": "", "detail": ""}]
        for i, violation in enumerate(violations):
            first = i == 0
            message = violation["reason"] + (f": {violation['detail']}" if violation["detail"] else "")
            rows.append([entry["source"] if first else "", ref if first else "",
                         entry["admission"]["namespace"] if first else "",
                         _admission(entry["admission"], palette) if first else "",
                         verdict if first else "", violation["check"], message])
    third = "verdict" if level is not None else "strictest"
    check_header = "check" if level is not None else "blocks next level"
    table = format_table(rows, ["source", "object", "namespace", "admission", third, check_header, "reason: detail"],
                         wrap=("reason: detail", "source", check_header, "admission"))
    if table:
        stream.write(table + "\n")
    stream.write(heading(_summary(report, level, version) + "\n"))


def _shown(entry: dict[str, Any]) -> list[dict[str, str]]:
    """The violations of the modes the object fails in its namespace (what admission will say), then those of
    ``--level`` or the next level not already among them."""
    shown: dict[str, dict[str, str]] = {}
    for mode in violated_modes(entry["admission"]):
        for violation in entry["admission"][mode]["violations"]:
            shown.setdefault(violation["check"], violation)
    for violation in entry["violations"]:
        shown.setdefault(violation["check"], violation)
    return list(shown.values())


def _admission(admission: dict[str, Any], palette: Palette) -> str:
    """What PodSecurity does to the object in its namespace: ``exempt``, ``ok``, or the modes it violates
    with their levels (``enforce restricted:latest, warn ...``); `` (defaults)`` when the namespace's labels
    are not known."""
    if admission["exempt"] is not None:
        return "exempt"
    marker = " (defaults)" if admission["labels"] == "defaults" else ""
    violated = [f"{mode} {admission[mode]['level']}:{admission[mode]['version']}" for mode in violated_modes(admission)]
    if not violated:
        return palette.paint("ok" + marker, "good")
    return palette.paint("violates " + ", ".join(violated) + marker, "error" if "enforce" in violated[0] else "warning")


def _summary(report: Any, level: Level | None, version: Version) -> str:
    policy = f"{level.value}:{version}" if level else f"version {version}"
    newest = NEWEST_MINOR
    if report.server is not None and isinstance(report.server.get("minor"), int):  # --cluster-labels: the server's
        newest = min(newest, report.server["minor"])
    if version.minor is None or version.minor > newest:
        policy += f" (evaluated as v1.{newest})"
    parts = [f"{len(report.results)} object(s) checked at {policy}"]
    if level is not None:
        denied = sum(1 for r in report.results if not r["allowed"])
        parts.append(f"{denied} denied")
    else:
        for name in ("restricted", "baseline", "privileged"):
            count = sum(1 for r in report.results if r["strictestLevel"] == name)
            parts.append(f"{count} {name}")
    denied = sum(1 for r in report.results if not r["admission"]["enforce"]["allowed"])
    parts.append(f"{denied} violate their namespace's enforce level")
    if report.gate is not None and report.gate["failOn"] is not None:
        parts.append(f"{report.gate['failed']} fail --fail-on {report.gate['failOn']}")
    if report.skipped:
        parts.append(f"{len(report.skipped)} skipped (kinds without a pod template)")
    return ", ".join(parts)
