"""``check``'s table of objects and their violations."""
from __future__ import annotations

from typing import Any, TextIO

from ..policy import Level, Version
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
        violations = entry["violations"] or [{"check": "-", "reason": "", "detail": ""}]
        for i, violation in enumerate(violations):
            first = i == 0
            message = violation["reason"] + (f": {violation['detail']}" if violation["detail"] else "")
            rows.append([entry["source"] if first else "", ref if first else "", entry["namespace"] or "" if first else "",
                         verdict if first else "", violation["check"], message])
    third = "verdict" if level is not None else "strictest"
    check_header = "check" if level is not None else "blocks next level"
    table = format_table(rows, ["source", "object", "namespace", third, check_header, "reason: detail"],
                         wrap=("reason: detail", "source", check_header))
    if table:
        stream.write(table + "\n")
    stream.write(heading(_summary(report, level, version) + "\n"))


def _summary(report: Any, level: Level | None, version: Version) -> str:
    policy = f"{level.value}:{version}" if level else f"version {version}"
    if version.minor is None or version.minor > NEWEST_MINOR:
        policy += f" (evaluated as v1.{NEWEST_MINOR})"
    parts = [f"{len(report.results)} object(s) checked at {policy}"]
    if level is not None:
        denied = sum(1 for r in report.results if not r["allowed"])
        parts.append(f"{denied} denied")
    else:
        for name in ("restricted", "baseline", "privileged"):
            count = sum(1 for r in report.results if r["strictestLevel"] == name)
            parts.append(f"{count} {name}")
    if report.skipped:
        parts.append(f"{len(report.skipped)} skipped (kinds without a pod template)")
    return ", ".join(parts)
