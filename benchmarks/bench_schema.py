"""Cost of the type validator (policy/schema.type_errors) per object, next to one evaluation.

Run: python benchmarks/bench_schema.py   (one core; 20,000 typical 3-container pods, CPU time, best of 7 rounds)
"""
from __future__ import annotations

import copy
import time

from benchmarks.bench_engine import typical_pod
from kubectl_pss.policy import LATEST, Level, evaluate
from kubectl_pss.policy.objects import admission_view
from kubectl_pss.policy.schema import type_errors


def per_object_us(fn, pods: list[dict], rounds: int = 7) -> float:
    times = []
    for _ in range(rounds):
        start = time.process_time()
        for pod in pods:
            fn(pod)
        times.append((time.process_time() - start) / len(pods) * 1e6)
    return min(times)  # the least disturbed round: other processes share the machine


def main() -> None:
    for label, compliant in (("compliant", True), ("violating", False)):
        pods = [copy.deepcopy(typical_pod(compliant)) for _ in range(20000)]
        assert type_errors(pods[0]) == []
        views = [admission_view(p) for p in pods]
        full = per_object_us(type_errors, pods)
        view = per_object_us(type_errors, views)
        engine = per_object_us(lambda p: evaluate(p, Level.RESTRICTED, LATEST), views)
        print(f"{label:9s}: type_errors {full:.1f} us/pod (full object), {view:.1f} us/pod (admission view, as "
              f"audit reads them); evaluate restricted/latest {engine:.1f} us/pod; 20k pods: {view * 20000 / 1e6:.2f} s")


if __name__ == "__main__":
    main()
