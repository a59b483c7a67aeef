"""Benchmark: where listing per namespace stops beating cluster-wide lists (inventory.PER_NAMESPACE_THRESHOLD).

Not a test. Starts a FakeApiServer in its own process (``bench_inventory.serve``: NAMESPACES x PODS_PER_NS
pods with their ReplicaSets and Deployments), then for each scope size k reads k named namespaces with
``fetch_inventory`` both ways, per namespace (8 lists per namespace, WORKERS at once) and cluster-wide
(8 paged lists of everything, the other namespaces dropped), median of ``--runs``:

    python benchmarks/bench_scope.py [--namespaces 1000] [--pods-per-ns 20] [--sizes 1,2,5,10,20,50,100] [--runs 3]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def timed(cluster, names: list[str], per_namespace: bool) -> float:
    from kubectl_pss.cluster import inventory

    inventory.PER_NAMESPACE_THRESHOLD = len(names) if per_namespace else 0
    start = time.perf_counter()
    inv = inventory.fetch_inventory(cluster, names)
    took = time.perf_counter() - start
    assert not inv.errors and len(inv.namespaces) == len(names), inv.errors
    return took


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--namespaces", type=int, default=1000)
    ap.add_argument("--pods-per-ns", type=int, default=20)
    ap.add_argument("--sizes", default="1,2,5,10,20,50,100")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    from kubectl_pss.cluster import ConnectionOptions, connect

    with tempfile.TemporaryDirectory() as workdir:
        server = subprocess.Popen([sys.executable, str(ROOT / "benchmarks" / "bench_inventory.py"), "--serve", workdir,
                                   "--namespaces", str(args.namespaces), "--pods-per-ns", str(args.pods_per_ns)],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT)
        try:
            info = json.loads(server.stdout.readline())
            print(f"fake apiserver: {args.namespaces} namespaces, {info['pods']} pods, {info['replicasets']} "
                  f"replicasets, {info['deployments']} deployments; {os.cpu_count()} CPUs shared with the server\n")
            cluster = connect(ConnectionOptions(kubeconfig=info["kubeconfig"]))
            all_names = [ns["metadata"]["name"] for ns in cluster.list_items("/api/v1/namespaces")]
            step = max(1, len(all_names) // max(sizes))
            print(f"{'namespaces':>10}{'per namespace s':>17}{'cluster-wide s':>16}  faster")
            crossover = None
            for k in sizes:
                names = all_names[::step][:k]  # spread over the cluster
                per, wide = [], []
                for _ in range(args.runs):  # interleaved, so drift hits both
                    per.append(timed(cluster, names, True))
                    wide.append(timed(cluster, names, False))
                p, w = statistics.median(per), statistics.median(wide)
                print(f"{k:>10}{p:>17.2f}{w:>16.2f}  {'per namespace' if p < w else 'cluster-wide'}")
                if p >= w and crossover is None:
                    crossover = k
            print(f"\ncluster-wide lists win from {crossover} namespaces" if crossover else
                  f"\nper-namespace lists win up to {sizes[-1]} namespaces")
        finally:
            server.stdin.close()
            server.wait(timeout=60)


if __name__ == "__main__":
    main()
