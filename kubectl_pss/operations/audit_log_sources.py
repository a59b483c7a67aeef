"""Where audit log lines come from: files, directories (every ``*.log*``), gzip-compressed rotated files and
stdin, read streaming as raw lines. The only I/O of ``auditlog``."""
from __future__ import annotations

import gzip
import io
import os
import sys
import zlib
from typing import BinaryIO, Iterator

from ..auditlog.events import FileStats

GZIP_MAGIC = b"\x1f\x8b"


class SourceError(Exception):
    """A source that cannot be read (on open: the whole run stops; mid-way: that file stops)."""


def expand(paths: list[str]) -> list[str]:
    """Files as given, directories as their ``*.log*`` files (sorted), ``-`` for stdin.

    Raises SourceError for a path that does not exist, a directory without logs, or ``-`` given twice.
    """
    out: list[str] = []
    for path in paths:
        if path == "-":
            if "-" in out:
                raise SourceError("stdin (-) can only be read once")
            out.append(path)
        elif os.path.isdir(path):
            logs = sorted(os.path.join(path, name) for name in os.listdir(path)
                          if ".log" in name and os.path.isfile(os.path.join(path, name)))
            if not logs:
                raise SourceError(f'"{path}": a directory without *.log* files')
            out.extend(logs)
        elif os.path.exists(path):
            out.append(path)
        else:
            raise SourceError(f'"{path}": no such file or directory')
    return out


def _open(path: str) -> tuple[BinaryIO, bool]:
    raw: BinaryIO = sys.stdin.buffer if path == "-" else open(path, "rb")
    buffered = raw if hasattr(raw, "peek") else io.BufferedReader(raw)  # type: ignore[arg-type]
    if buffered.peek(2)[:2] == GZIP_MAGIC:  # type: ignore[union-attr]
        return gzip.GzipFile(fileobj=buffered), True  # type: ignore[return-value]
    return buffered, False  # type: ignore[return-value]


def read_lines(path: str, stats: FileStats | None = None) -> Iterator[tuple[int, bytes]]:
    """(line number, raw line) of a file or stdin, gzip or plain (multi-member gzip as rotation writes it).

    Raises SourceError when the file cannot be opened, or when gzip data turns out corrupt or cut short
    (the lines before it have been yielded). ``stats.compressed`` is set once the file is open.
    """
    where = "stdin" if path == "-" else path
    try:
        stream, compressed = _open(path)
    except OSError as exc:
        raise SourceError(f'"{where}": {exc.strerror or exc}') from None
    if stats is not None:
        stats.compressed = compressed
    number = 0
    try:
        for number, line in enumerate(stream, 1):
            yield number, line
    except (OSError, EOFError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc) or type(exc).__name__
        raise SourceError(f'"{where}": unreadable after line {number}: {reason}') from None
    finally:
        if path != "-":
            stream.close()
