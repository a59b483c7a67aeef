"""Write a command's report in the chosen output format: table, json or yaml."""
from __future__ import annotations

import json
from typing import Any, Callable, TextIO

OUTPUT_FORMATS = ("table", "json", "yaml")


def write_json(data: Any, stream: TextIO) -> None:
    json.dump(data, stream, indent=2, ensure_ascii=False)
    stream.write("\n")


def write_yaml(data: Any, stream: TextIO) -> None:
    import yaml

    yaml.safe_dump(data, stream, sort_keys=False, allow_unicode=True, default_flow_style=False)


def write_report(data: Any, output: str, stream: TextIO, table: Callable[[Any, TextIO], None]) -> None:
    """Machine formats dump ``data``; ``table`` renders it for people."""
    if output == "json":
        write_json(data, stream)
    elif output == "yaml":
        write_yaml(data, stream)
    else:
        table(data, stream)


def format_table(rows: list[list[str]], headers: list[str]) -> str:
    """A plain kubectl-like table (tabulate's "plain" format, upper-case headers)."""
    from tabulate import tabulate

    if not rows:
        return ""
    return tabulate(rows, headers=[h.upper() for h in headers], tablefmt="plain", disable_numparse=True)


def write_notes(notes: list[str], stream: TextIO, before: str = "") -> None:
    """``Note: ...`` lines under or over a table (``before`` them when there are any)."""
    if notes:
        stream.write(before + "".join(f"Note: {note}\n" for note in notes))
