"""Engine throughput: evaluations per second at restricted/latest for a typical 3-container pod.

Run: python benchmarks/bench_engine.py   (one core; prints the median of several rounds)
"""
from __future__ import annotations

import copy
import statistics
import time

from kubectl_pss.policy import LATEST, Level, evaluate


def typical_pod(compliant: bool) -> dict:
    def container(name: str, port: int) -> dict:
        sc = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}, "readOnlyRootFilesystem": True}
        if not compliant:
            sc = {"allowPrivilegeEscalation": True, "capabilities": {"add": ["NET_ADMIN"]}, "runAsUser": 0}
        return {
            "name": name, "image": f"registry.example/{name}:1.2.3",
            "ports": [{"containerPort": port, "protocol": "TCP"}],
            "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}},
            "livenessProbe": {"httpGet": {"path": "/healthz", "port": port}},
            "volumeMounts": [{"name": "config", "mountPath": "/etc/app"}],
            "securityContext": sc,
        }

    pod_sc = {"runAsNonRoot": True, "runAsUser": 10001, "seccompProfile": {"type": "RuntimeDefault"}}
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "web-5d9c8-abcde", "namespace": "shop", "labels": {"app": "web"},
                     "annotations": {"prometheus.io/scrape": "true"}},
        "spec": {
            "securityContext": pod_sc if compliant else {},
            "initContainers": [container("init", 9000)],
            "containers": [container("app", 8080), container("sidecar", 9090)],
            "volumes": [{"name": "config", "configMap": {"name": "web"}}, {"name": "tmp", "emptyDir": {}}],
        },
    }


def measure(pod: dict, rounds: int = 7, n: int = 20000) -> float:
    rates = []
    for _ in range(rounds):
        pods = [copy.deepcopy(pod) for _ in range(100)]  # distinct objects, as in a real listing
        start = time.perf_counter()
        for i in range(n):
            evaluate(pods[i % 100], Level.RESTRICTED, LATEST)
        rates.append(n / (time.perf_counter() - start))
    return statistics.median(rates)


def main() -> None:
    for label, compliant in (("compliant", True), ("violating", False)):
        pod = typical_pod(compliant)
        result = evaluate(pod, "restricted", "latest")
        assert result.allowed == compliant
        print(f"restricted/latest, 3-container pod, {label:9s} ({len(result.violations)} violations): "
              f"{measure(pod):,.0f} evaluations/s")


if __name__ == "__main__":
    main()
