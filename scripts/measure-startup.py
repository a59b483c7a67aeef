#!/usr/bin/env python3
"""Median wall time of a few kubectl-pss invocations, run from a scratch directory.

    python3 scripts/measure-startup.py EXECUTABLE [--runs 10]

Prints one line per command: median, min and max in milliseconds.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COMMANDS = (["--help"], ["version"], ["--version"])


def measure(exe: str, args: list[str], runs: int, cwd: str) -> list[float]:
    times = []
    subprocess.run([exe, *args], capture_output=True, cwd=cwd)  # warm the page cache
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.run([exe, *args], capture_output=True, cwd=cwd)
        times.append(time.perf_counter() - start)
        if proc.returncode != 0:
            raise SystemExit(f"{exe} {' '.join(args)}: exit {proc.returncode}\n{proc.stderr.decode()}")
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("executable")
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    exe = str(Path(args.executable).resolve())
    with tempfile.TemporaryDirectory() as cwd:
        for command in COMMANDS:
            times = measure(exe, command, args.runs, cwd)
            print(f"{' '.join(command):<10} median {statistics.median(times) * 1000:6.0f} ms"
                  f"  (min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f}, {args.runs} runs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
