"""Fleets: one command over several kubeconfig contexts (``--contexts a,b`` or ``--all-contexts``).

Each context runs in its own worker, at most ``parallel`` at once, with its own ``Connection`` (so its own
credentials, exec plugin run and server version: ``latest`` is each cluster's own minor). A context that
cannot be read at all (no connection, unreachable, 401, a list refused outright) is a ``FleetResult`` with
``error`` set and no report; the others complete. A command plugs in with ``run_fleet(connection, names,
parallel, build)``, ``build`` being what it does for one context.
"""
from __future__ import annotations

import dataclasses
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Generic, TypeVar

from ..errors import FatalError, UsageError
from ..logs import context_diagnostics, fleet_stderr
from .connection import Connection
from .progress import progress_to, terminal_stream

if TYPE_CHECKING:
    from ..cluster.client import ConnectionOptions

DEFAULT_PARALLEL = 4  # contexts read at once
T = TypeVar("T")


@dataclass
class FleetResult(Generic[T]):
    context: str
    result: T | None  # what the command built for this context; None when it failed
    error: str | None = None  # why the context could not be read at all

    @property
    def failed(self) -> bool:
        return self.error is not None


def fleet_contexts(options: "ConnectionOptions", named: list[str] | None) -> list[str]:
    """The contexts of a fleet: ``named`` (each must be in the kubeconfig), or every context of the
    kubeconfig (``KUBECONFIG`` merged: first file wins, in file order) when ``named`` is None."""
    from ..cluster.kubeconfig import context_names

    available = context_names(options)
    if named is None:
        if not available:
            raise UsageError("--all-contexts: the kubeconfig has no contexts")
        return available
    unknown = [name for name in named if name not in available]
    if unknown:
        raise UsageError(f'--contexts: context "{unknown[0]}" not found in the kubeconfig '
                         f"(contexts: {', '.join(available) or 'none'})")
    return named


def run_fleet(connection: Connection, contexts: list[str], parallel: int,
              build: Callable[[Connection], T]) -> list[FleetResult[T]]:
    """``build`` for each context (in its own worker and Connection), results in the order of ``contexts``.

    A ClusterError or FatalError out of ``build`` fails that context only; a UsageError (bad input, the same
    for every context) or a bug stops the run.
    On a terminal, stderr shows a line per context while it runs."""
    from ..cluster.errors import ClusterError

    board = ProgressBoard.for_terminal(contexts)

    def one(name: str) -> FleetResult[T]:
        own = Connection(dataclasses.replace(connection.options, context=name))
        show = board.line(name) if board is not None else None
        try:
            with progress_to(show), own, context_diagnostics(name):
                result = build(own)
        except (ClusterError, FatalError) as exc:
            if isinstance(exc, UsageError):  # bad input: the same for every context
                raise
            if board is not None:
                board.finish(name, f"failed: {exc}")
            return FleetResult(name, None, str(exc))
        if board is not None:
            board.finish(name, "done")
        return FleetResult(name, result)

    pool = ThreadPoolExecutor(max_workers=max(1, parallel), thread_name_prefix="fleet")
    try:
        with fleet_stderr():
            results = list(pool.map(one, contexts))
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)  # Ctrl-C: do not start the contexts still waiting
        raise
    pool.shutdown()
    return results


def fleet_exit_code(results: list[FleetResult[Any]], code_of: Callable[[Any], int]) -> int:
    """2 when a context failed or its own code is 2; else the highest of the contexts' codes (0 or 1)."""
    from ..errors import EXIT_ERROR

    codes = [EXIT_ERROR if r.failed else code_of(r.result) for r in results]
    return EXIT_ERROR if EXIT_ERROR in codes else max(codes, default=0)


class ProgressBoard:
    """A line per context on a terminal's stderr, redrawn in place: what each worker last said, then
    done or failed (the lines stay when the run ends)."""

    def __init__(self, contexts: list[str], stream: Any):
        self._lines = {name: "waiting" for name in contexts}
        self._width = max(map(len, contexts), default=0)
        self._stream = stream
        self._drawn = 0
        self._lock = threading.Lock()

    @classmethod
    def for_terminal(cls, contexts: list[str]) -> "ProgressBoard | None":
        stream = terminal_stream()
        return cls(contexts, stream) if stream is not None else None

    def line(self, name: str) -> Callable[[str], None]:
        """What a worker's progress messages go to ("" is the end of a phase: the line keeps its text)."""
        def show(message: str) -> None:
            if message:
                self._set(name, message)

        return show

    def finish(self, name: str, text: str) -> None:
        self._set(name, text)

    def _set(self, name: str, text: str) -> None:
        from ..report.render import terminal_safe

        with self._lock:
            self._lines[name] = text
            up = f"\x1b[{self._drawn}F" if self._drawn else ""
            body = "".join(f"\x1b[K{terminal_safe(n):<{self._width}}  {terminal_safe(t)}\n"
                           for n, t in self._lines.items())
            self._drawn = len(self._lines)
            try:
                self._stream.write(up + body)
                self._stream.flush()
            except OSError:
                pass


def output_file_for(pattern: str, context: str, several: bool) -> str:
    """A per-context file name from ``--output-file``'s pattern: ``{context}`` is the context's name with
    path separators and other unsafe characters made ``_``. With several contexts the pattern must have it."""
    if "{context}" not in pattern:
        if several:
            raise UsageError(f'--output-file "{pattern}": with several contexts, give a pattern with {{context}} '
                             f'(e.g. "cluster-{{context}}.json"): one file per context')
        return pattern
    safe = "".join(c if c.isalnum() or c in "-_.@" else "_" for c in context).lstrip(".") or "_"
    return pattern.replace("{context}", safe)

