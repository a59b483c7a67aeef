"""Progress lines on stderr while a cluster is read (only on a terminal that takes escape codes)."""
from __future__ import annotations

import os
import sys
from typing import Callable


def progress_printer() -> Callable[[str], None] | None:
    """Progress lines on stderr, only when stderr is a terminal that takes escape codes (TERM not dumb)."""
    if not sys.stderr.isatty() or os.environ.get("TERM") == "dumb":
        return None

    from ..report.render import terminal_safe

    stream = getattr(sys.stderr, "raw_stream", sys.stderr)  # past cli's escaping: this \r\x1b[K is ours

    def show(message: str) -> None:
        stream.write(f"\r\x1b[K{terminal_safe(message)}")
        stream.flush()

    return show
