"""Benchmark: json.loads (collector paused, as cluster/jsonbody.py parses) vs orjson.loads on real-shaped
list pages of 500 pods (and ReplicaSets) from the fake API server. Not a test.

    PYTHONPATH=. python benchmarks/bench_parse.py [--pages 20] [--repeat 5]
"""
from __future__ import annotations

import argparse
import gc
import json
import resource
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def cpu_s() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def pages(path: str, count: int) -> list[bytes]:
    """``count`` pages of 500 items of ``path`` as the fake API server sends them (bytes on the wire)."""
    import urllib3

    from tests.apiserver import FakeApiServer, populate

    server = FakeApiServer().start()
    try:
        populate(server, count * 25, 20, pods_per_replicaset=4)
        http = urllib3.PoolManager(ca_certs=str(server.cert.cert_path), retries=False)
        headers = {"Authorization": f"Bearer {server.token}", "Accept": "application/json"}
        got, token = [], None
        while len(got) < count:
            fields = {"limit": "500", **({"continue": token} if token else {})}
            resp = http.request("GET", server.url + path, fields=fields, headers=headers)
            got.append(resp.data)
            token = json.loads(resp.data)["metadata"].get("continue")
            if not token:
                break
        return got
    finally:
        server.stop()


def timed(parse, raw: list[bytes], repeat: int) -> tuple[float, float]:
    walls, cpus = [], []
    for _ in range(repeat):
        c, t = cpu_s(), time.perf_counter()
        for page in raw:
            gc.disable()
            try:
                parse(page)
            finally:
                gc.enable()
        walls.append(time.perf_counter() - t)
        cpus.append(cpu_s() - c)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    import orjson

    for path in ("/api/v1/pods", "/apis/apps/v1/replicasets"):
        raw = pages(path, args.pages)
        assert all(orjson.loads(p) == json.loads(p) for p in raw)
        size = sum(map(len, raw)) / len(raw) / 1024
        std_wall, std_cpu = timed(json.loads, raw, args.repeat)
        orj_wall, orj_cpu = timed(orjson.loads, raw, args.repeat)
        print(f"{path}: {len(raw)} pages of 500 items, {size:.0f} KiB each: json.loads {std_wall / len(raw) * 1000:.1f} ms"
              f"/page (CPU {std_cpu / len(raw) * 1000:.1f} ms), orjson.loads {orj_wall / len(raw) * 1000:.1f} ms/page "
              f"(CPU {orj_cpu / len(raw) * 1000:.1f} ms): {std_wall / orj_wall:.2f}x wall, {std_cpu / orj_cpu:.2f}x CPU")


if __name__ == "__main__":
    main()
