"""Issue 20 through the real CLI against the fake API server: the verdict cache (each distinct pod view
evaluated once per level and version, hit rate at -v=4) and compression of list answers."""
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


def test_lists_ask_for_gzip_unless_disable_compression(apiserver, run_cli):
    """Issue 20: gzip by default (a win on remote links); --disable-compression (kubectl's flag) for local ones."""
    apiserver.add_namespace("a")
    apiserver.add_pod("a", "p")
    for flags, gzip in (((), True), (("--disable-compression",), False)):
        apiserver.requests.clear()
        code, out, err = run_cli("audit", "-A", *flags, "--kubeconfig", apiserver.kubeconfig_path, "-o", "json")
        assert code == 0, err
        lists = [r for r in apiserver.requests if r.path == "/api/v1/pods"]
        assert lists and all(("gzip" in r.headers.get("Accept-Encoding", "")) is gzip for r in lists)
