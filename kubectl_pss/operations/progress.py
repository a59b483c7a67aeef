"""Progress lines on stderr while a cluster is read (only on a terminal that takes escape codes)."""
from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Callable, Iterator

# A fleet's worker sends its progress to its own line (operations.fleet.ProgressBoard), not to the one line.
_SINK: ContextVar[Callable[[str], None] | None] = ContextVar("kubectl-pss progress sink", default=None)


def terminal_stream() -> Any:
    """stderr past cli's escaping (the escape codes are ours), when it is a terminal that takes them; else None."""
    if not sys.stderr.isatty() or os.environ.get("TERM") == "dumb":
        return None
    return getattr(sys.stderr, "raw_stream", sys.stderr)


def progress_printer() -> Callable[[str], None] | None:
    """Progress lines on stderr, only when stderr is a terminal that takes escape codes (TERM not dumb)."""
    sink = _SINK.get()
    if sink is not None:
        return sink
    stream = terminal_stream()
    if stream is None:
        return None

    from ..report.render import terminal_safe

    def show(message: str) -> None:
        stream.write(f"\r\x1b[K{terminal_safe(message)}")
        stream.flush()

    return show


@contextmanager
def progress_to(show: Callable[[str], None] | None) -> Iterator[None]:
    """Inside (this thread), ``progress_printer()`` is ``show`` (None: as outside)."""
    token = _SINK.set(show)
    try:
        yield
    finally:
        _SINK.reset(token)
