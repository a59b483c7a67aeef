"""Seccomp audit parsing throughput: lines per second through AuditScan.feed + select.

Run: python benchmarks/bench_seccomp.py [LINES]   (default 1,000,000; one core; best of 3 rounds)

Two mixes of lines, made up here in the formats the parser reads:
- "all records": every line a seccomp record (audit.log, syslog, dmesg, journalctl short), the worst case;
- "mixed log": one line in five a seccomp record, the rest other audit records and syslog noise.
"""
from __future__ import annotations

import random
import sys
import time

from kubectl_pss.seccomp.audit import AuditScan, Selector

SYSCALLS = [0, 1, 3, 9, 10, 11, 12, 13, 14, 16, 35, 39, 41, 42, 43, 44, 45, 49, 50, 51, 54, 56, 59, 60, 72, 202, 231,
            232, 233, 257, 262, 281, 288, 290, 302, 318]


def seccomp_line(i: int, rng: random.Random) -> str:
    pid = 29000 + rng.randrange(64)
    nr = rng.choice(SYSCALLS)
    body = (f"auid=4294967295 uid=0 gid=0 ses=4294967295 subj=cri-containerd.apparmor.d pid={pid} "
            f'comm="http-echo" exe="/http-echo" sig=0 arch=c000003e syscall={nr} compat=0 ip=0x46fe1f code=0x7ffc0000')
    stamp = f"audit(1700000000.{i % 1000:03d}:{i})"
    kind = i % 4
    if kind == 0:
        return f"type=SECCOMP msg={stamp}: {body}\n"
    if kind == 1:
        return f"Nov 14 22:13:20 node-1 kernel: [12345.678] audit: type=1326 {stamp}: {body}\n"
    if kind == 2:
        return f"[12345.678901] audit: type=1326 {stamp}: {body}\n"
    return f"Nov 14 22:13:20 node-1 audit[{pid}]: SECCOMP {body}\n"


def other_line(i: int) -> str:
    if i % 2:
        return (f"type=SYSCALL msg=audit(1700000000.{i % 1000:03d}:{i}): arch=c000003e syscall=59 success=yes exit=0 "
                f'a0=55d a1=55e a2=55f a3=0 items=2 ppid=1 pid={i % 30000} auid=0 uid=0 gid=0 comm="sh" exe="/bin/sh" key=(null)\n')
    return f"Nov 14 22:13:20 node-1 containerd[812]: time=\"2023-11-14T22:13:20Z\" level=info msg=\"StartContainer {i}\"\n"


def make(n: int, record_every: int) -> list[str]:
    rng = random.Random(1)
    return [seccomp_line(i, rng) if i % record_every == 0 else other_line(i) for i in range(n)]


def measure(lines: list[str], rounds: int = 3) -> tuple[float, int]:
    best = float("inf")
    names = 0
    for _ in range(rounds):
        start = time.perf_counter()
        scan = AuditScan()
        scan.feed(lines, "bench")
        selection = scan.select(Selector(comm="http-echo"))
        best = min(best, time.perf_counter() - start)
        names = len(selection.names())
    return best, names


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    for label, every in (("all records", 1), ("mixed log", 5)):
        lines = make(n, every)
        seconds, names = measure(lines)
        print(f"{label:12} {n:,} lines in {seconds:.2f} s: {n / seconds:,.0f} lines/s ({names} syscalls found)")


if __name__ == "__main__":
    main()
