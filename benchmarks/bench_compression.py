"""Benchmark: list answers with and without ``Accept-Encoding: gzip``, on loopback and through a throttling
TCP proxy (default 50 ms round trip, 100 Mbit/s each way) in front of the fake API server. Not a test.

Each measurement is ``fetch_inventory`` of every list (as ``audit -A`` reads them) in a fresh process:

    PYTHONPATH=. python benchmarks/bench_compression.py [--namespaces 250] [--rtt-ms 50] [--mbit 100] [--runs 3]
"""
from __future__ import annotations

import argparse
import json
import os
import queue
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.bench_inventory import cpu_s  # noqa: E402


class ThrottlingProxy:
    """A TCP proxy on loopback adding ``delay`` seconds each way and at most ``rate`` bytes/s per direction."""

    def __init__(self, target: tuple[str, int], delay: float, rate: float):
        self.target, self.delay, self.rate = target, delay, rate
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            client, _ = self.sock.accept()
            upstream = socket.create_connection(self.target)
            for src, dst in ((client, upstream), (upstream, client)):
                self._pipe(src, dst)

    def _pipe(self, src: socket.socket, dst: socket.socket) -> None:
        chunks: queue.Queue = queue.Queue()

        def read() -> None:
            free_at = 0.0  # when the link has sent what it was given
            while True:
                data = src.recv(65536)
                now = time.monotonic()
                free_at = max(free_at, now) + len(data) / self.rate
                chunks.put((free_at + self.delay, data))
                if not data:
                    return

        def write() -> None:
            while True:
                due, data = chunks.get()
                wait = due - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                if not data:
                    try:
                        dst.shutdown(socket.SHUT_WR)
                    except OSError:
                        pass
                    return
                dst.sendall(data)

        threading.Thread(target=read, daemon=True).start()
        threading.Thread(target=write, daemon=True).start()


def measure(info: dict) -> dict:
    from kubectl_pss.cluster import ConnectionOptions, connect, fetch_inventory
    from kubectl_pss.policy.objects import admission_view

    cluster = connect(ConnectionOptions(kubeconfig=info["kubeconfig"], compression=info["gzip"]))
    c, t = cpu_s(), time.perf_counter()
    inv = fetch_inventory(cluster, None, transform=admission_view)
    assert not inv.errors, inv.errors
    return {"wall": time.perf_counter() - t, "cpu": cpu_s() - c, "pods": len(inv.pods)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--namespaces", type=int, default=250)
    ap.add_argument("--pods-per-ns", type=int, default=20)
    ap.add_argument("--rtt-ms", type=float, default=50)
    ap.add_argument("--mbit", type=float, default=100)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.measure:
        print(json.dumps(measure(json.loads(sys.stdin.read()))))
        return
    with tempfile.TemporaryDirectory() as workdir:
        server = subprocess.Popen([sys.executable, str(ROOT / "benchmarks/bench_inventory.py"), "--serve", workdir,
                                   "--namespaces", str(args.namespaces), "--pods-per-ns", str(args.pods_per_ns)],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT)
        try:
            info = json.loads(server.stdout.readline())
            host, port = info["url"].split("//")[1].rsplit(":", 1)
            proxy = ThrottlingProxy((host, int(port)), args.rtt_ms / 2000, args.mbit * 1e6 / 8)
            config = yaml.safe_load(Path(info["kubeconfig"]).read_text())
            config["clusters"][0]["cluster"]["server"] = f"https://{host}:{proxy.port}"
            throttled = Path(workdir) / "throttled"
            throttled.write_text(yaml.safe_dump(config))
            print(f"{info['pods']} pods, {info['replicasets']} replicasets, {info['deployments']} deployments; "
                  f"link: loopback, and {args.rtt_ms:.0f} ms / {args.mbit:.0f} Mbit through a proxy; "
                  f"{os.cpu_count()} CPUs")
            cases = {(link, gz): {**info, "kubeconfig": info["kubeconfig"] if link == "loopback" else str(throttled),
                                  "gzip": gz} for link in ("loopback", "throttled") for gz in (True, False)}
            results: dict = {case: [] for case in cases}
            for _ in range(args.runs):
                for case, case_info in cases.items():
                    out = subprocess.run([sys.executable, __file__, "--measure"], input=json.dumps(case_info),
                                         capture_output=True, text=True, check=True, cwd=ROOT)
                    results[case].append(json.loads(out.stdout.strip().splitlines()[-1]))
            for (link, gz), rs in results.items():
                print(f"{link:10} {'gzip' if gz else 'identity':9} wall {statistics.median(r['wall'] for r in rs):6.2f} s"
                      f"  client CPU {statistics.median(r['cpu'] for r in rs):6.2f} s  (median of {args.runs})")
        finally:
            server.stdin.close()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
