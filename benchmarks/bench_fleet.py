"""Benchmark: ``audit -A --all-contexts`` over a fleet of fake clusters vs each cluster alone.

Not a test. Starts CLUSTERS FakeApiServers (HTTPS, token auth), each in its own process (a cluster is another
machine), each with PODS pods (in namespaces of 20, with their ReplicaSets and Deployments) and LATENCY seconds
added to every answer (a remote API server: network round trip plus the server's own time; 0 is loopback).
The kubeconfig is two files (KUBECONFIG merged). Then, each in a fresh process (so peak RSS is per run):
every cluster alone (``--context``), and the fleet at each ``--parallel-contexts``:

    python benchmarks/bench_fleet.py [--clusters 10] [--pods 2000] [--latency 0.2] [--parallel 4 10]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def serve(workdir: Path, index: int, pods: int, latency: float) -> None:
    from tests.apiserver import FakeApiServer, populate

    server = FakeApiServer(version={"major": "1", "minor": str(28 + index % 6), "gitVersion": f"v1.{28 + index % 6}.1"})
    if latency:
        respond = server._respond

        def slow(h, rec):  # the answer leaves `latency` later, as from a remote server
            time.sleep(latency)
            respond(h, rec)

        server._respond = slow
    server.start()
    populate(server, max(1, pods // 20), min(pods, 20), pods_per_replicaset=4, seed=index)
    print(json.dumps({"context": f"cluster-{index:02d}", "url": server.url, "token": server.token,
                      "ca": server.ca_pem.decode()}), flush=True)
    sys.stdin.read()  # until the parent closes our stdin
    server.stop()


def measure(argv: list[str]) -> None:
    """Run the CLI in this process (stdout thrown away); print wall time, exit code and peak RSS as JSON."""
    import resource

    from kubectl_pss.cli import main

    started = time.perf_counter()
    with open(os.devnull, "w") as devnull:
        stdout, sys.stdout = sys.stdout, devnull
        try:
            code = main(argv)
        finally:
            sys.stdout = stdout
    print(json.dumps({"s": time.perf_counter() - started, "code": code,
                      "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def run(argv: list[str], env: dict[str, str]) -> dict:
    out = subprocess.run([sys.executable, __file__, "--measure", json.dumps(argv)], env=env, check=True,
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT)
    return json.loads(out.stdout.splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clusters", type=int, default=10)
    parser.add_argument("--pods", type=int, default=2000)
    parser.add_argument("--latency", type=float, default=0.2, help="seconds added to each answer (default 0.2: a remote cluster)")
    parser.add_argument("--parallel", type=int, nargs="+", default=[4, 10])
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    parser.add_argument("--serve", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        return measure(json.loads(args.measure))
    if args.serve:
        return serve(Path(args.serve[0]), int(args.serve[1]), int(args.serve[2]), float(args.serve[3]))

    from tests.apiserver import KubeContext, write_kubeconfig

    workdir = Path(tempfile.mkdtemp(prefix="bench-fleet-"))
    servers = [subprocess.Popen([sys.executable, __file__, "--serve", str(workdir), str(i), str(args.pods),
                                 str(args.latency)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                cwd=ROOT) for i in range(args.clusters)]
    try:
        infos = [json.loads(p.stdout.readline()) for p in servers]
        contexts = [KubeContext(i["context"], i["url"], token=i["token"], ca_pem=i["ca"].encode()) for i in infos]
        half = len(contexts) // 2
        files = [write_kubeconfig(workdir / "a", contexts[:half], contexts[0].name),
                 write_kubeconfig(workdir / "b", contexts[half:])]
        env = {**os.environ, "KUBECONFIG": os.pathsep.join(map(str, files)), "PYTHONPATH": str(ROOT)}
        common = ["audit", "-A", "--disable-compression"]
        print(f"{args.clusters} clusters x {args.pods} pods, {args.latency * 1000:g} ms per answer")
        alone = {c.name: run(common + ["--context", c.name], env) for c in contexts}
        slowest = max(r["s"] for r in alone.values())
        print(f"  each alone: {min(r['s'] for r in alone.values()):.2f}-{slowest:.2f} s, "
              f"sum {sum(r['s'] for r in alone.values()):.2f} s, peak RSS {max(r['rss_mb'] for r in alone.values()):.0f} MB")
        for n in args.parallel:
            fleet = run(common + ["--all-contexts", "--parallel-contexts", str(n)], env)
            assert fleet["code"] == 0, fleet
            print(f"  fleet --parallel-contexts {n}: {fleet['s']:.2f} s = {fleet['s'] / slowest:.2f}x the slowest "
                  f"alone, peak RSS {fleet['rss_mb']:.0f} MB")
    finally:
        for p in servers:
            p.stdin.close()
        for p in servers:
            p.wait(timeout=30)


if __name__ == "__main__":
    main()
