"""read_ahead: a list's pages fetched by a reader thread, at most ``depth`` ahead of their use."""
from __future__ import annotations

import threading
import time

import pytest

from kubectl_pss.cluster.readahead import read_ahead


def test_items_in_order_then_the_sources_error_where_it_happened():
    def source():
        yield 1
        yield 2
        raise ValueError("page 3 failed")

    got = []
    with pytest.raises(ValueError, match="page 3 failed"):
        for item in read_ahead(source()):
            got.append(item)
    assert got == [1, 2]


def test_the_reader_is_at_most_depth_ahead_and_stops_when_the_consumer_does():
    produced = []
    closed = threading.Event()

    def source():
        try:
            for i in range(100):
                produced.append(i)
                yield i
        finally:
            closed.set()

    stream = read_ahead(source(), depth=2)
    assert next(stream) == 0
    time.sleep(0.2)
    assert len(produced) <= 1 + 2 + 1  # the one used, two queued, one waiting to be queued
    stream.close()
    assert closed.wait(2) and len(produced) < 10


def test_the_reader_runs_while_the_consumer_works():
    started = []

    def source():
        for i in range(3):
            started.append(time.monotonic())
            time.sleep(0.1)  # the network
            yield i

    t0 = time.monotonic()
    for _ in read_ahead(source()):
        time.sleep(0.1)  # the work
    assert time.monotonic() - t0 < 0.55  # 0.6 s one after the other
