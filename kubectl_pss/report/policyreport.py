"""``audit -o policyreport`` (a ``v1 List`` of reports, as ``kubectl apply -f -`` reads it) and the
``--write-reports`` plan and outcome, one line per report."""
from __future__ import annotations

import sys
from typing import Any, TextIO

from ..goyaml import GoYamlDumper
from .render import TerminalSafeStream


class _PlainDumper(GoYamlDumper):
    """No anchors and aliases: results share their timestamp and references, a reader should not see it."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def write_report_list(reports: list[dict[str, Any]], stream: TextIO) -> None:
    import yaml

    yaml.dump({"apiVersion": "v1", "kind": "List", "metadata": {}, "items": reports}, stream, Dumper=_PlainDumper,
              sort_keys=False, allow_unicode=True, default_flow_style=False)


def _counts(body: dict[str, Any] | None) -> str:
    if not body:
        return ""
    counts = body.get("summary") or {}
    return " (" + ", ".join(f"{counts.get(key, 0)} {key}" for key in ("fail", "error", "pass", "skip")) + ")"


def render_writes(outcomes: list[Any], applied: bool, stream: TextIO, dry_run: bool = False,
                  notes: tuple[str, ...] | list[str] = ()) -> None:
    """Each planned write, done or failed (``--yes``), or only planned, then what was left alone (``notes``);
    failures again on stderr."""
    out = TerminalSafeStream(stream)
    suffix = " (server dry run)" if dry_run else ""
    done = {verb: f"{verb}d{suffix}" for verb in ("create", "update", "delete")}
    if not applied:
        out.write("plan (nothing is changed without --yes):\n")
    for outcome in outcomes:
        action = outcome.action
        if not applied:
            out.write(f"  {action.describe()}: {action.verb}{_counts(action.body)}\n")
        elif outcome.error is None:
            out.write(f"{action.describe()}: {done[action.verb]}{_counts(action.body)}\n")
        else:
            out.write(f"{action.describe()}: {action.verb} failed\n")
            print(f"error: {action.verb} {action.describe()}: {outcome.error}", file=sys.stderr)
    if not outcomes:
        out.write("no report to write\n")
    for note in notes:
        out.write(f"{note}\n")
    if not applied and outcomes:
        out.write("run again with --yes to write them\n")
