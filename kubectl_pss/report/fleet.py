"""A fleet's output (``--contexts``/``--all-contexts``): ``-o json|yaml`` a ``List`` of each context's report;
a table is each context's own tables with a CONTEXT column first, then a roll-up line per context."""
from __future__ import annotations

import sys
from typing import Any, Callable, Protocol, TextIO

from ..logs import context_diagnostics, fleet_stderr
from .envelope import API_VERSION, envelope
from .render import TABLE_FORMATS, context_column, format_table, heading, write_report


class Outcome(Protocol):  # operations.fleet.FleetResult, as this renderer reads it
    context: str
    result: Any
    error: str | None


def roll_up_row(outcome: Outcome, summary: Callable[[dict[str, Any]], str]) -> list[str]:
    """A context's line of the roll-up: its server, whether it was read (ok, errors: partly, failed: not at
    all) and the command's one-line summary (or why it failed)."""
    if outcome.error is not None:
        return [outcome.context, "-", "failed", outcome.error]
    report = outcome.result
    return [outcome.context, (report.get("server") or {}).get("gitVersion") or "-",
            "errors" if report["errors"] else "ok", summary(report)]


def fleet_items(outcomes: list[Outcome], kind: str) -> list[dict[str, Any]]:
    """Each context's report; a failed context is its kind's envelope with its error and no claims."""
    return [o.result if o.error is None else envelope(kind, {}, context=o.context, errors=[o.error])
            for o in outcomes]


def fleet_list(outcomes: list[Outcome], kind: str) -> dict[str, Any]:
    return {"apiVersion": API_VERSION, "kind": "List", "items": fleet_items(outcomes, kind)}


def write_fleet(outcomes: list[Outcome], kind: str, output: str, stream: TextIO,
                table: Callable[[dict[str, Any], TextIO], None] | None, summary: Callable[[dict[str, Any]], str],
                stderr: Callable[[dict[str, Any]], None] | None = None, preamble: str = "") -> None:
    """The fleet's reports in ``output``; ``table`` (None: the roll-up only), ``summary`` (the roll-up's text)
    and ``stderr`` (a report's own diagnostics) are the command's, for one report."""
    def tables(_data: Any, out: TextIO) -> None:
        out.write(preamble)
        for o in outcomes:
            if o.error is None and table is not None:
                with context_column(o.context), context_diagnostics(o.context):  # its notes on stderr too
                    table(o.result, out)
                out.write("\n")
        out.write(heading("Contexts:\n") + format_table([roll_up_row(o, summary) for o in outcomes],
                                                         ["context", "server", "read", "summary"],
                                                         wrap=("summary",)) + "\n")

    data = fleet_list(outcomes, kind) if output not in TABLE_FORMATS else None
    with fleet_stderr():
        write_report(data, output, stream, tables)
        for o in outcomes:
            if o.error is not None:
                print(f'error: context "{o.context}": {o.error}', file=sys.stderr)
            elif stderr is not None:
                with context_diagnostics(o.context):
                    stderr(o.result)
