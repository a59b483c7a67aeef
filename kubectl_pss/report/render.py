"""Write a command's report in the chosen output format: table, json or yaml."""
from __future__ import annotations

import json
import re
import shutil
import sys
import textwrap
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Callable, Iterator, TextIO

OUTPUT_FORMATS = ("table", "json", "yaml", "wide")
TABLE_FORMATS = ("table", "wide")

# C0 controls, DEL, C1 controls and the bidi embeddings/overrides/isolates: a name, message or /proc
# line from a hostile cluster must not move the cursor, retitle the window or reorder what is shown.
_UNSAFE = "\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069"
_UNSAFE_CHARS = re.compile(f"[{_UNSAFE}]")
_UNSAFE_BUT_NEWLINE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
# What Palette.paint writes (report/color.py): one of its colours around text that is already safe.
_PAINTED = re.compile(f"\x1b\\[(?:1|2|31|32|33)m[^{_UNSAFE}]*\x1b\\[0m")
# Only a run that paints lets those through: with --no-color, NO_COLOR or a pipe, nothing of ours is
# painted, so every ESC is someone else's and is shown escaped.
_palette_in_use = False


def palette_in_use(in_use: bool = True) -> None:
    """Say that this run paints (report/color.py): from now on the palette's own colours stay raw.
    ``cli.run`` says False at the start of every run."""
    global _palette_in_use
    _palette_in_use = in_use


def _visible(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def terminal_safe(text: str, keep_newlines: bool = False) -> str:
    """``text`` with every control character shown as an escape (``\\x1b``, ``\\u202e``); the palette's
    own colours are kept, and newlines when asked (for whole lines written to a stream)."""
    unsafe = _UNSAFE_BUT_NEWLINE if keep_newlines else _UNSAFE_CHARS
    if unsafe.search(text) is None:
        return text
    if not _palette_in_use:
        return unsafe.sub(_visible, text)
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


@dataclass
class TableLayout:
    """How this run's tables are laid out: ``wide`` (-o wide: every row unwrapped, every pod listed),
    ``no_headers`` (--no-headers: no column headers, no captions)."""

    wide: bool = False
    no_headers: bool = False


_layout = TableLayout()


def set_table_layout(output: str | None, no_headers: bool) -> None:
    """Set once per run by cli.run from the command's -o and --no-headers."""
    global _layout
    _layout = TableLayout(wide=output == "wide", no_headers=bool(no_headers))


def table_layout() -> TableLayout:
    return _layout


def table_width() -> int | None:
    """The width tables must fit: the terminal's when stdout is one and not -o wide; None (no wrapping,
    as kubectl) in a pipe."""
    if _layout.wide:
        return None
    try:
        if not sys.stdout.isatty():
            return None
    except (AttributeError, ValueError):
        return None
    return shutil.get_terminal_size().columns


def heading(text: str) -> str:
    """A caption, footnote or summary around a table (or a blank line between tables): nothing under
    --no-headers; on a terminal, wrapped to its width like the tables (escaped first, so widths are right)."""
    if _layout.no_headers:
        return ""
    width = table_width()
    if width is None:
        return text
    return "\n".join(wrap_cell(line, width) for line in terminal_safe(text, keep_newlines=True).split("\n"))


_COLOR = re.compile("\x1b\\[(\\d+)m")
_MIN_WRAP = 8
_COMFORTABLE = 16  # the ``wrap`` columns narrow to this before any other column wraps
_PROSE = 30  # and the first of them (a message) to this


def _styled(cell: str) -> tuple[str, list[str]]:
    """``cell`` without the palette's codes, and the code in force at each character ("" for none)."""
    plain: list[str] = []
    styles: list[str] = []
    current = ""
    pos = 0
    for match in _COLOR.finditer(cell):
        for char in cell[pos:match.start()]:
            plain.append(char)
            styles.append(current)
        current = "" if match.group(1) == "0" else match.group(1)
        pos = match.end()
    for char in cell[pos:]:
        plain.append(char)
        styles.append(current)
    return "".join(plain), styles


def _repaint(text: str, styles: list[str]) -> str:
    out: list[str] = []
    current = ""
    for char, style in zip(text, styles):
        if style != current:
            out.append("\x1b[0m" if current else "")
            out.append(f"\x1b[{style}m" if style else "")
            current = style
        out.append(char)
    if current:
        out.append("\x1b[0m")
    return "".join(out)


class _Wrapper(textwrap.TextWrapper):
    """Breaks at spaces, and after - : / , . = inside a word (``privileged:`` ``latest``, ``securityContext.``)."""

    wordsep_re = re.compile(r"(\s+)|(?<=[-:/,.=])(?=[^\s\-:/,.=])")


def wrap_cell(cell: str, width: int) -> str:
    """``cell`` (already terminal-safe, maybe painted) wrapped to ``width`` visible columns: at spaces,
    then at hyphens, a long word broken as a last resort; each line keeps its colours."""
    plain, styles = _styled(cell)
    if len(plain) <= width:
        return cell
    lines = _Wrapper(width, expand_tabs=False, replace_whitespace=False, drop_whitespace=True,
                     break_long_words=True).wrap(plain) or [""]
    out = []
    pos = 0
    for line in lines:  # textwrap only drops whitespace: find each line's characters in order
        while plain[pos] != line[0]:
            pos += 1
        out.append(_repaint(line, styles[pos:pos + len(line)]))
        pos += len(line)
    return "\n".join(out)


def _render(rows: list[list[str]], headers: list[str] | None, pad_headers: bool = True) -> str:
    import tabulate as module

    padding = module.MIN_PADDING
    module.MIN_PADDING = padding if pad_headers else 0  # a table made to fit: no extra room after a header
    try:
        if headers is None:
            return module.tabulate(rows, tablefmt="plain", disable_numparse=True)
        return module.tabulate(rows, headers=headers, tablefmt="plain", disable_numparse=True)
    finally:
        module.MIN_PADDING = padding


def _visible_width(text: str) -> int:
    return max((len(_styled(line)[0]) for line in text.split("\n")), default=0)


def _fit(natural: list[int], floors: list[int], columns: list[int], excess: int) -> int:
    """Narrow ``columns`` widest first, none below its floor, until ``excess`` is gone; what is left over."""
    while excess > 0:
        candidates = [i for i in columns if natural[i] > floors[i]]
        if not candidates:
            break
        widest = max(candidates, key=lambda i: natural[i])
        natural[widest] -= 1
        excess -= 1
    return excess


_CONTEXT_COLUMN: ContextVar[str | None] = ContextVar("kubectl-pss context column", default=None)


@contextmanager
def context_column(context: str) -> Iterator[None]:
    """Inside, every ``format_table`` has a CONTEXT column first holding ``context`` (a fleet's report)."""
    token = _CONTEXT_COLUMN.set(context)
    try:
        yield
    finally:
        _CONTEXT_COLUMN.reset(token)


def format_table(rows: list[list[str]], headers: list[str], wrap: tuple[str, ...] = ()) -> str:
    """A plain kubectl-like table (tabulate's "plain" format, upper-case headers), every cell terminal-safe.

    On a terminal the table fits its width: the ``wrap`` columns (by header; the first is the message
    column) wrap inside their column first; then a long header over short cells; then every column,
    widest first (a name is wrapped at - . / :, never cut)."""
    if not rows:
        return ""
    context = _CONTEXT_COLUMN.get()
    if context is not None:  # a fleet: every table of a context's report says whose it is, first
        rows, headers = [[context, *row] for row in rows], ["context", *headers]
    safe = [[terminal_safe(cell) if isinstance(cell, str) else str(cell) for cell in row] for row in rows]
    shown = None if _layout.no_headers else [h.upper() for h in headers]
    width = table_width()
    if width is None:
        return _render(safe, shown)
    if _visible_width(_render(safe, shown)) <= width:
        return _render(safe, shown)
    least = [max(map(len, h.split() or [""])) if shown else 0 for h in headers]
    natural = [max([least[i]] + [_visible_width(row[i]) for row in safe]) for i in range(len(headers))]
    natural = [max(n, len(h) if shown else 0) for n, h in zip(natural, headers)]
    excess = sum(natural) + 2 * (len(headers) - 1) - width
    limits = list(natural)
    wrapped = [i for i, h in enumerate(headers) if h in wrap]
    prose = [_PROSE if wrap and h == wrap[0] else _COMFORTABLE for h in headers]  # the first keeps most room
    excess = _fit(limits, [max(len(headers[i]), prose[i]) for i in range(len(headers))], wrapped, excess)
    everything = list(range(len(headers)))
    data = [max(_visible_width(row[i]) for row in safe) for i in everything]
    excess = _fit(limits, [max(data[i], least[i]) for i in everything], everything, excess)  # a long header wraps
    # narrower than 8, then than a header's longest word, only when nothing else fits
    for floors in ([max(n, _MIN_WRAP) for n in least], least, [min(n, 4) for n in least]):
        excess = _fit(limits, floors, everything, excess)
    if shown:  # a header wraps only once its column cannot be narrowed otherwise ("VIOLATES\nENFORCE")
        shown = [wrap_cell(h, limits[i]) for i, h in enumerate(shown)]
    return _render([[wrap_cell(cell, limits[i]) for i, cell in enumerate(row)] for row in safe], shown,
                   pad_headers=False)


def write_notes(notes: list[str]) -> None:
    """``note: ...`` lines about a report: on stderr, stdout holds only tables."""
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
