"""Signals while something must be cleaned up: SIGTERM/SIGHUP raised like Ctrl-C (``signals_raise``), or all
three held back and recorded until the clean-up is done (``signals_held``). Main thread only."""
from __future__ import annotations

import contextlib
import signal
import threading
from typing import Any, Callable, Iterator

from .errors import Terminated


def signal_exception(signum: int) -> KeyboardInterrupt:
    """What a signal held back by ``signals_held`` raises once it may: Ctrl-C or Terminated."""
    return KeyboardInterrupt() if signum == signal.SIGINT else Terminated(signum)


@contextlib.contextmanager
def signals_raise() -> Iterator[None]:
    """SIGTERM/SIGHUP raise Terminated in the main thread for the duration (SIGINT already raises
    KeyboardInterrupt). Elsewhere than the main thread: nothing (Python allows handlers only there)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def raise_terminated(signum: int, _frame: Any) -> None:
        raise Terminated(signum)

    saved = {}
    for sig in (signal.SIGTERM, getattr(signal, "SIGHUP", None)):
        if sig is None:
            continue
        previous = signal.getsignal(sig)
        if previous in (signal.SIG_DFL, None):  # leave a caller's own handler (or SIG_IGN) alone
            saved[sig] = previous
            signal.signal(sig, raise_terminated)
    try:
        yield
    finally:
        for sig, previous in saved.items():
            signal.signal(sig, previous if previous is not None else signal.SIG_DFL)


@contextlib.contextmanager
def signals_held(on_signal: Callable[[int], None] | None = None) -> Iterator[list[int]]:
    """While cleaning up: SIGINT/SIGTERM/SIGHUP are recorded (and ``on_signal`` told), not acted on
    (main thread only)."""
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return

    def remember(signum: int, _frame: Any) -> None:
        received.append(signum)
        if on_signal is not None:
            on_signal(signum)

    saved = {}
    for sig in (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGHUP", None)):
        if sig is None:
            continue
        previous = signal.getsignal(sig)
        if previous is signal.SIG_IGN:
            continue
        saved[sig] = previous
        signal.signal(sig, remember)
    try:
        yield received
    finally:
        for sig, previous in saved.items():
            signal.signal(sig, previous if previous is not None else signal.SIG_DFL)
