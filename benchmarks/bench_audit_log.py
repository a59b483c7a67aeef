"""audit-log throughput and memory on a generated mixed log (5% PodSecurity events).

Run: python benchmarks/bench_audit_log.py [SIZE_MB] [--gzip]   (default 1024)

Generates the log with gen_audit_log.py into $TMPDIR (kept for reruns), then runs the real command
(``kubectl pss audit-log FILE -o json``) in a child process pinned to one core, and prints wall and CPU
time, MB/s and the child's peak RSS. Target (issue 18): 1 GB in under 30 s on one core, under 200 MB RSS.
Also times the pieces in-process on the first 100 MB: the raw-line pre-filter alone, and json.loads of the
lines it keeps (the share an alternative JSON parser could save at most).
"""
from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

from gen_audit_log import generate  # noqa: E402

RUN = "import sys; from kubectl_pss.cli import main; sys.exit(main(sys.argv[1:]))"


def ensure_log(size_mb: int, compressed: bool) -> Path:
    path = Path(tempfile.gettempdir()) / f"kubectl-pss-bench-audit-{size_mb}mb.log{'.gz' if compressed else ''}"
    if not path.exists():
        start = time.perf_counter()
        lines = generate(path, size_mb)
        print(f"generated {path} ({lines} lines) in {time.perf_counter() - start:.1f} s")
    return path


def run_command(path: Path) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    cmd = [sys.executable, "-c", RUN, "audit-log", str(path), "-o", "json"]
    if sys.platform.startswith("linux"):
        cmd = ["taskset", "-c", "0", *cmd]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"audit-log failed ({proc.returncode}): {proc.stderr.decode()[-500:]}")
    report = json.loads(proc.stdout)
    return {"wall": wall, "cpu": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
            "rss_mb": after.ru_maxrss / 1024, "events": report["events"], "groups": len(report["violations"])}


def pieces(path: Path, limit_mb: int = 100) -> None:
    from kubectl_pss.auditlog.events import MARKERS

    limit = limit_mb * 1024 * 1024
    lines = []
    size = 0
    with open(path, "rb") as f:
        for line in f:
            lines.append(line)
            size += len(line)
            if size >= limit:
                break
    start = time.perf_counter()
    kept = [line for line in lines if MARKERS[0] in line or MARKERS[1] in line]
    prefilter = time.perf_counter() - start
    start = time.perf_counter()
    for line in kept:
        json.loads(line)
    parse = time.perf_counter() - start
    mb = size / 1024 / 1024
    print(f"in-process on {mb:.0f} MB: pre-filter {prefilter:.2f} s ({len(kept)} of {len(lines)} lines kept), "
          f"json.loads of the kept lines {parse:.2f} s")


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    size_mb = int(args[0]) if args else 1024
    compressed = "--gzip" in sys.argv
    path = ensure_log(size_mb, compressed)
    on_disk = path.stat().st_size / 1024 / 1024
    result = run_command(path)
    print(f"audit-log {path.name}: {size_mb} MB of log ({on_disk:.0f} MB on disk), {result['events']}, "
          f"{result['groups']} violation groups")
    print(f"wall {result['wall']:.1f} s, cpu {result['cpu']:.1f} s, {size_mb / result['wall']:.0f} MB/s, "
          f"peak RSS {result['rss_mb']:.0f} MB")
    if not compressed:
        pieces(path)


if __name__ == "__main__":
    main()
