"""Issue 20: the verdict cache (each distinct pod view evaluated once per level and version) through the
real CLI against the fake API server."""
from __future__ import annotations


def test_audit_v4_prints_the_verdict_cache_hit_rate(apiserver, run_cli):
    """Pods of one template in two namespaces: evaluated once per level, the rest are cache hits."""
    for ns in ("a", "b"):
        apiserver.add_namespace(ns)
        for i in range(5):
            apiserver.add_pod(ns, f"p{i}")
    code, out, err = run_cli("audit", "-A", "-v=4", "--kubeconfig", apiserver.kubeconfig_path, "-o", "json")
    assert code == 0, err
    line = next(line for line in err.splitlines() if "verdict cache:" in line)
    # 10 pods graded as they arrive (2 evaluations, 18 hits), then audit asks again (20 hits)
    assert "40 lookups, 2 evaluations, 38 hits (95.0%)" in line, line
    code, _, err = run_cli("audit", "-A", "-v=3", "--kubeconfig", apiserver.kubeconfig_path, "-o", "json")
    assert code == 0 and "verdict cache" not in err
