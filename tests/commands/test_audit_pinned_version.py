"""``audit`` evaluates each namespace at its own enforce-version, not at latest (the cluster is v1.34).

restricted:v1.22 has no runAsUser check yet (it came in v1.23), and baseline:v1.26 does not yet allow
the sysctl net.ipv4.ip_local_reserved_ports (allowed from v1.27): the verdicts at the pinned
versions are the opposite of those at latest.
"""
from __future__ import annotations

import json

import pytest

from tests.scenarios import PSA, ROOT_SPEC

RESERVED_PORTS_SPEC = {
    "securityContext": {"sysctls": [{"name": "net.ipv4.ip_local_reserved_ports", "value": "8080"}]},
    "containers": [{"name": "app", "image": "registry.example/app:1"}],
}


@pytest.fixture
def cluster(apiserver):
    apiserver.version = {"major": "1", "minor": "34", "gitVersion": "v1.34.2"}
    for name, version in (("legacy", "v1.22"), ("current", "latest")):
        apiserver.add_namespace(name, {PSA + "enforce": "restricted", PSA + "enforce-version": version})
        apiserver.add_pod(name, "api", ROOT_SPEC)
    for name, version in (("old-sysctl", "v1.26"), ("new-sysctl", "v1.27")):
        apiserver.add_namespace(name, {PSA + "enforce": "baseline", PSA + "enforce-version": version})
        apiserver.add_pod(name, "tuned", RESERVED_PORTS_SPEC)
    return apiserver


def audit(run_cli, cluster) -> dict[str, dict]:
    code, out, err = run_cli("audit", "-A", "--kubeconfig", str(cluster.kubeconfig_path), "-o", "json")
    assert code == 0 and err == "", err
    return {ns["name"]: ns for ns in json.loads(out)["namespaces"]}


def test_run_as_user_zero_passes_restricted_v1_22_but_not_latest(run_cli, cluster):
    ns = audit(run_cli, cluster)
    legacy, current = ns["legacy"], ns["current"]
    assert (legacy["evaluatedAt"], legacy["strictestLevel"], legacy["violatesEnforce"]) == ("v1.22", "restricted", False)
    assert legacy["findings"] == []
    assert (current["evaluatedAt"], current["strictestLevel"], current["violatesEnforce"]) == ("v1.34", "baseline", True)
    [finding] = current["findings"]
    assert [v["check"] for v in finding["violations"]] == ["runAsUser"]


def test_reserved_ports_sysctl_fails_baseline_v1_26_and_passes_v1_27(run_cli, cluster):
    ns = audit(run_cli, cluster)
    old, new = ns["old-sysctl"], ns["new-sysctl"]
    assert (old["evaluatedAt"], old["strictestLevel"], old["violatesEnforce"]) == ("v1.26", "privileged", True)
    assert [v["detail"] for f in old["findings"] for v in f["violations"] if v["check"] == "sysctls"] == [
        "net.ipv4.ip_local_reserved_ports"]
    assert (new["evaluatedAt"], new["strictestLevel"], new["violatesEnforce"]) == ("v1.27", "baseline", False)
