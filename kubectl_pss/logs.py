"""kubectl's ``-v`` logs: klog-style lines on stderr, never on stdout, never a credential.

``I1130 10:11:12.123456   4242 client.py:512] GET https://... 200 OK in 12 milliseconds``

Levels as kubectl uses them: 6 each request's method, URL, status and time (and the kubeconfig
file read); 7 also the request headers; 8 also the response body, truncated; 9 the whole body.
"""
from __future__ import annotations

import os
import re
import sys
import threading
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Iterable, Iterator

REQUESTS = 6
REQUEST_HEADERS = 7
RESPONSE_BODY = 8
FULL_BODY = 9
BODY_LIMIT = 1024  # characters of a response body at level 8
MASKED = "<masked>"
_SECRET_HEADERS = ("authorization", "proxy-authorization", "cookie", "x-remote-user")
_lock = threading.Lock()


def info(message: str, depth: int = 1) -> None:
    """Write one klog ``I`` line per line of ``message`` to stderr, naming the caller's file:line."""
    frame = sys._getframe(depth)
    where = f"{os.path.basename(frame.f_code.co_filename)}:{frame.f_lineno}"
    now = datetime.now()
    head = f"I{now:%m%d %H:%M:%S}.{now.microsecond:06d} {os.getpid():7d} {where}] "
    text = "".join(head + line + "\n" for line in (message.splitlines() or [""]))
    with _lock:
        try:
            sys.stderr.write(text)
            sys.stderr.flush()
        except (OSError, ValueError):
            pass


def masked_headers(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """Headers with credentials hidden the way kubectl prints them (``Authorization: Bearer <masked>``)."""
    out: list[tuple[str, str]] = []
    for name, value in headers:
        if name.lower() in _SECRET_HEADERS:
            scheme = str(value).split(" ", 1)
            value = f"{scheme[0]} {MASKED}" if len(scheme) == 2 else MASKED
        out.append((name, value))
    return out


def body_text(payload: bytes, verbosity: int) -> str:
    """A response body for level 8 (truncated) or 9 (whole)."""
    text = payload.decode("utf-8", "replace")
    if verbosity < FULL_BODY and len(text) > BODY_LIMIT:
        return f"{text[:BODY_LIMIT]} [truncated {len(text) - BODY_LIMIT} chars]"
    return text


_context = threading.local()
_KLOG_LINE = re.compile(r"[IWEF][0-9]{4} ")


class _ContextStderr:
    """stderr while a fleet runs: each whole line a thread writes inside ``context_diagnostics`` starts with
    ``context "NAME": `` (klog lines of -v keep their own format, which names no context)."""

    def __init__(self, real: Any):
        self.real = real

    def write(self, text: str) -> int:
        prefix = getattr(_context, "prefix", None)
        if prefix is None:
            return self.real.write(text)
        *lines, _context.pending = (_context.pending + text).split("\n")
        for line in lines:
            self.real.write(("" if _KLOG_LINE.match(line) else prefix) + line + "\n")
        return len(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


@contextmanager
def fleet_stderr() -> Iterator[None]:
    """Around a fleet's workers (entered by the main thread): stderr that ``context_diagnostics`` prefixes."""
    real = sys.stderr
    sys.stderr = real if isinstance(real, _ContextStderr) else _ContextStderr(real)
    try:
        yield
    finally:
        sys.stderr = real


@contextmanager
def context_diagnostics(context: str) -> Iterator[None]:
    """Inside (one thread, within ``fleet_stderr``): every diagnostic line says which context it belongs to."""
    _context.prefix, _context.pending = f'context "{context}": ', ""
    try:
        yield
    finally:
        pending, _context.prefix = _context.pending, None
        if pending:
            sys.stderr.write(f'context "{context}": {pending}\n')
