"""A stream read ahead by its own thread: the next page of a list is fetched and parsed while the caller
works on this one (the network and the server's time overlap with the caller's work)."""
from __future__ import annotations

import queue
import threading
from typing import Iterator, TypeVar

T = TypeVar("T")
_END = object()


def read_ahead(source: Iterator[T], depth: int = 2, name: str = "read-ahead") -> Iterator[T]:
    """``source``'s items, produced by a reader thread at most ``depth`` ahead (a bounded queue, so a
    slow consumer holds at most ``depth`` pages). An exception of ``source`` is raised here, after the
    items before it, as if ``source`` were iterated in place. Closing this generator (or an exception in
    the caller) stops the reader once its current item is done; its answer is dropped."""
    items: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(entry: tuple[object, object]) -> bool:
        while not stop.is_set():
            try:
                items.put(entry, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def read() -> None:
        try:
            for item in source:
                if not put((item, None)):
                    return
            put((_END, None))
        except BaseException as exc:  # handed to the consumer, raised there
            put((_END, exc))
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()

    reader = threading.Thread(target=read, name=name, daemon=True)
    reader.start()
    try:
        while True:
            item, error = items.get()
            if item is _END:
                if error is not None:
                    raise error
                return
            yield item
    finally:
        stop.set()


__all__ = ["read_ahead"]
