"""Benchmark: fetch_inventory vs a bare urllib3 + json.loads paged fetch of the same lists.

Not a test. Starts a FakeApiServer (HTTPS, token auth, gzip) in its own process filled with
NAMESPACES x PODS_PER_NS pods + their ReplicaSets and Deployments, then runs each measurement in a
fresh process (so peak RSS is per measurement and the server's memory is not counted):

    /tmp/venv/bin/python benchmarks/bench_inventory.py [--namespaces 1000] [--pods-per-ns 20] [--runs 3]

Templated cluster (100,000 pods of ~500 distinct templates): --namespaces 200 --pods-per-ns 500.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

LIST_PATHS = ["/api/v1/namespaces", "/api/v1/pods", "/api/v1/replicationcontrollers", "/apis/apps/v1/replicasets",
              "/apis/apps/v1/deployments", "/apis/apps/v1/statefulsets", "/apis/apps/v1/daemonsets",
              "/apis/batch/v1/jobs", "/apis/batch/v1/cronjobs"]


def cpu_s() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def serve(workdir: Path, namespaces: int, pods_per_ns: int) -> None:
    from tests.apiserver import FakeApiServer, populate, write_kubeconfig

    server = FakeApiServer().start()
    t = time.perf_counter()
    stats = populate(server, namespaces, pods_per_ns, pods_per_replicaset=4)
    kubeconfig = write_kubeconfig(workdir / "kubeconfig", [server.context("bench")], "bench")
    info = {"url": server.url, "token": server.token, "ca": str(server.cert.cert_path),
            "kubeconfig": str(kubeconfig), "pods": stats.pods, "replicasets": stats.replicasets,
            "deployments": stats.deployments, "populate_s": round(time.perf_counter() - t, 2)}
    print(json.dumps(info), flush=True)
    sys.stdin.read()  # until the parent closes our stdin
    server.stop()


def measure_inventory(info: dict) -> dict:
    t0 = time.perf_counter()
    from kubectl_pss.cluster import ConnectionOptions, connect, fetch_inventory

    cluster = connect(ConnectionOptions(kubeconfig=info["kubeconfig"]))
    base = rss_mb()  # after import kubernetes (~+45 MB), so the columns compare the fetch itself
    c1, t1 = cpu_s(), time.perf_counter()
    transform = None
    if info.get("admission_view"):
        from kubectl_pss.policy.objects import admission_view as transform
    inv = fetch_inventory(cluster, None, keep_managed_fields=info.get("keep_managed_fields", False), transform=transform)
    c2, t2 = cpu_s(), time.perf_counter()
    assert not inv.errors, inv.errors
    return {"connect_s": t1 - t0, "fetch_s": t2 - t1, "cpu_s": c2 - c1, "pods": len(inv.pods),
            "objects": sum(len(v) for v in inv.objects.values()) + len(inv.namespaces),
            "rss_base_mb": base, "rss_peak_mb": rss_mb()}


def measure_raw(info: dict) -> dict:
    import urllib3

    base = rss_mb()
    http = urllib3.PoolManager(ca_certs=info["ca"], retries=False)
    headers = {"Authorization": f"Bearer {info['token']}", "Accept": "application/json",
               "Accept-Encoding": "gzip"}
    c1, t1 = cpu_s(), time.perf_counter()
    kept: dict[str, list] = {}
    for path in LIST_PATHS:
        items: list = []
        token = None
        while True:
            fields = {"limit": "500", **({"continue": token} if token else {})}
            resp = http.request("GET", info["url"] + path, fields=fields, headers=headers)
            assert resp.status == 200, resp.status
            gc.disable()
            try:
                data = json.loads(resp.data)
            finally:
                gc.enable()
            items += data["items"]
            token = data["metadata"].get("continue")
            if not token:
                break
        kept[path] = items
    c2, t2 = cpu_s(), time.perf_counter()
    return {"connect_s": 0.0, "fetch_s": t2 - t1, "cpu_s": c2 - c1, "pods": len(kept["/api/v1/pods"]),
            "objects": sum(len(v) for v in kept.values()), "rss_base_mb": base, "rss_peak_mb": rss_mb()}


COMMANDS = {"audit": ["audit", "-A", "-o", "json"], "simulate": ["simulate", "restricted", "-A", "-o", "json"],
            "label": ["label", "-A", "--enforce", "restricted", "--dry-run=client", "-o", "json"]}


def measure_audit(info: dict, command: str = "audit") -> dict:
    """A whole command (``audit -A -o json``, ...) in this process, output to /dev/null."""
    import contextlib

    from kubectl_pss.cli import main

    import io
    import re

    base = rss_mb()
    log = io.StringIO()
    c1, t1 = cpu_s(), time.perf_counter()
    profile = None
    if info.get("profile"):
        import cProfile

        profile = cProfile.Profile()
        profile.enable()
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink), contextlib.redirect_stderr(log):
        code = main([*COMMANDS[command], "--kubeconfig", info["kubeconfig"], "-v=4"])
    c2, t2 = cpu_s(), time.perf_counter()
    if profile is not None:  # the main thread's profile (the list readers' parsing is not in it)
        profile.disable()
        profile.dump_stats(os.path.join(info["profile"], f"{command}.prof"))
    assert code in ((0,) if command == "audit" else (0, 1)), code  # simulate/label: 1 when something is affected
    cache = re.search(r"verdict cache: .*", log.getvalue())
    evaluating = re.search(r"([0-9.]+) s evaluating", log.getvalue())
    return {"connect_s": 0.0, "fetch_s": t2 - t1, "cpu_s": c2 - c1, "pods": info["pods"], "objects": 0,
            "rss_base_mb": base, "rss_peak_mb": rss_mb(), "cache": cache.group(0) if cache else "",
            "evaluating_s": float(evaluating.group(1)) if evaluating else 0.0}


def run_child(kind: str, info: dict) -> dict:
    out = subprocess.run([sys.executable, __file__, "--measure", kind], input=json.dumps(info),
                         capture_output=True, text=True, check=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--namespaces", type=int, default=1000)
    ap.add_argument("--pods-per-ns", type=int, default=20)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--only", help="comma-separated measurements (raw,inventory-mf,inventory,inventory-view,audit)")
    ap.add_argument("--profile", metavar="DIR", help="cProfile each command (DIR/audit.prof, ...: python -m pstats)")
    ap.add_argument("--serve", metavar="DIR", help=argparse.SUPPRESS)
    ap.add_argument("--measure", choices=["inventory", "inventory-mf", "inventory-view", "raw", "audit", "simulate", "label"],
                    help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        return serve(Path(args.serve), args.namespaces, args.pods_per_ns)
    if args.measure:
        info = json.loads(sys.stdin.read())
        info["keep_managed_fields"] = args.measure == "inventory-mf"
        info["admission_view"] = args.measure == "inventory-view"
        if args.measure in COMMANDS:
            print(json.dumps(measure_audit(info, args.measure)))
            return
        fn = {"raw": measure_raw}.get(args.measure, measure_inventory)
        print(json.dumps(fn(info)))
        return

    with tempfile.TemporaryDirectory() as workdir:
        server = subprocess.Popen([sys.executable, __file__, "--serve", workdir, "--namespaces", str(args.namespaces),
                                   "--pods-per-ns", str(args.pods_per_ns)], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True, cwd=ROOT)
        try:
            info = json.loads(server.stdout.readline())
            if args.profile:
                os.makedirs(args.profile, exist_ok=True)
                info["profile"] = os.path.abspath(args.profile)
            print(f"fake apiserver {info['url']}: {args.namespaces} namespaces, {info['pods']} pods, "
                  f"{info['replicasets']} replicasets, {info['deployments']} deployments "
                  f"(populated in {info['populate_s']} s)")
            print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs; server and client share them\n")
            kinds = {"raw": "urllib3 + json.loads (paged)", "inventory-mf": "fetch_inventory, managedFields",
                     "inventory": "fetch_inventory (default)",
                     "inventory-view": "fetch_inventory, admission_view", "audit": "audit -A -o json (whole command)",
                     "simulate": "simulate restricted -A -o json", "label": "label -A --dry-run=client"}
            if args.only:
                kinds = {k: v for k, v in kinds.items() if k in args.only.split(",")}
            results: dict[str, list[dict]] = {k: [] for k in kinds}
            for _ in range(args.runs):  # interleaved, so drift hits all
                for kind in kinds:
                    results[kind].append(run_child(kind, info))
            print(f"{'':32}{'wall s':>7}{'pods/s':>8}{'client CPU s':>13}{'objects':>8}{'RSS before':>11}"
                  f"{'RSS peak':>9}{'connect s':>10}")
            for kind, label in kinds.items():
                rs = results[kind]
                fetch = statistics.median(r["fetch_s"] for r in rs)
                print(f"{label:32}{fetch:7.2f}{rs[0]['pods'] / fetch:8.0f}"
                      f"{statistics.median(r['cpu_s'] for r in rs):13.2f}{rs[0]['objects']:8d}"
                      f"{statistics.median(r['rss_base_mb'] for r in rs):9.0f}MB"
                      f"{statistics.median(r['rss_peak_mb'] for r in rs):7.0f}MB"
                      f"{statistics.median(r['connect_s'] for r in rs):10.2f}")
            wall = {k: statistics.median(r["fetch_s"] for r in rs) for k, rs in results.items()}
            cpu = {k: statistics.median(r["cpu_s"] for r in rs) for k, rs in results.items()}
            if "raw" in wall and "inventory" in wall:
                print(f"\nfetch_inventory / raw = {wall['inventory'] / wall['raw']:.2f}x")
            if "raw" in wall and "audit" in wall:
                print(f"audit -A / raw = {wall['audit'] / wall['raw']:.2f}x wall, {cpu['audit'] / cpu['raw']:.2f}x "
                      f"client CPU (median of {args.runs} runs each; audit includes imports, connect, fetch, "
                      "evaluation and JSON output)")
            for other in ("simulate", "label"):
                if other in wall and "audit" in wall:
                    print(f"{other} / audit = {wall[other] / wall['audit']:.2f}x wall, "
                          f"{cpu[other] / cpu['audit']:.2f}x client CPU")
            if "audit" in results:
                last = results["audit"][-1]
                print(f"audit: {last['cache']}; evaluation share {last['evaluating_s'] / last['fetch_s']:.1%} "
                      f"of the run (last run)")
        finally:
            server.stdin.close()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
