"""Write a command's report in the chosen output format: table, json or yaml."""
from __future__ import annotations

import json
import re
from typing import Any, Callable, TextIO

OUTPUT_FORMATS = ("table", "json", "yaml")

# C0 controls, DEL, C1 controls and the bidi embeddings/overrides/isolates: a name, message or /proc
# line from a hostile cluster must not move the cursor, retitle the window or reorder what is shown.
_UNSAFE = "\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069"
_UNSAFE_CHARS = re.compile(f"[{_UNSAFE}]")
_UNSAFE_BUT_NEWLINE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
# What Palette.paint writes (report/color.py): one of its colours around text that is already safe.
_PAINTED = re.compile(f"\x1b\\[(?:1|2|31|32|33)m[^{_UNSAFE}]*\x1b\\[0m")


def _visible(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def terminal_safe(text: str, keep_newlines: bool = False) -> str:
    """``text`` with every control character shown as an escape (``\\x1b``, ``\\u202e``); the palette's
    own colours are kept, and newlines when asked (for whole lines written to a stream)."""
    unsafe = _UNSAFE_BUT_NEWLINE if keep_newlines else _UNSAFE_CHARS
    if unsafe.search(text) is None:
        return text
    parts: list[str] = []
    pos = 0
    for painted in _PAINTED.finditer(text):
        parts.append(unsafe.sub(_visible, text[pos:painted.start()]))
        parts.append(painted.group())
        pos = painted.end()
    parts.append(unsafe.sub(_visible, text[pos:]))
    return "".join(parts)


class TerminalSafeStream:
    """A text stream for people: what is written passes through terminal_safe (newlines kept)."""

    def __init__(self, stream: TextIO) -> None:
        self.raw_stream = stream

    def write(self, text: str) -> int:
        self.raw_stream.write(terminal_safe(text, keep_newlines=True))
        return len(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.raw_stream, name)


def write_json(data: Any, stream: TextIO) -> None:
    json.dump(data, stream, indent=2, ensure_ascii=False)
    stream.write("\n")


def write_yaml(data: Any, stream: TextIO) -> None:
    from ..goyaml import dump  # strings kubectl would read as booleans or numbers are quoted

    dump(data, stream, sort_keys=False, allow_unicode=True, default_flow_style=False)


def write_report(data: Any, output: str, stream: TextIO, table: Callable[[Any, TextIO], None]) -> None:
    """Machine formats dump ``data``; ``table`` renders it for people."""
    if output == "json":
        write_json(data, stream)
    elif output == "yaml":
        write_yaml(data, stream)
    else:
        table(data, TerminalSafeStream(stream))


def format_table(rows: list[list[str]], headers: list[str]) -> str:
    """A plain kubectl-like table (tabulate's "plain" format, upper-case headers)."""
    from tabulate import tabulate

    if not rows:
        return ""
    safe = [[terminal_safe(cell) if isinstance(cell, str) else cell for cell in row] for row in rows]
    return tabulate(safe, headers=[h.upper() for h in headers], tablefmt="plain", disable_numparse=True)


def write_notes(notes: list[str], stream: TextIO, before: str = "") -> None:
    """``note: ...`` lines under or over a table (``before`` them when there are any)."""
    if notes:
        stream.write(before + "".join(f"note: {note}\n" for note in notes))
