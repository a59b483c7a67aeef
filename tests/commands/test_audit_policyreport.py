"""``audit -o policyreport``: one report per audited namespace, valid against the report CRDs (run_cli checks
every report it prints against tests/data/crds), results per (owner, violated check)."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import yaml

from tests.report.crds import crd_errors

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture
def cluster(mixed_cluster):
    return mixed_cluster


def reports(run_cli, cluster, *extra, code=0):
    got, out, err = run_cli("audit", "-A", "--kubeconfig", cluster.kubeconfig_path, "-o", "policyreport", *extra)
    assert got == code, err
    document = yaml.safe_load(out)
    assert (document["apiVersion"], document["kind"]) == ("v1", "List")
    return document["items"], err


def by_namespace(items):
    return {item["metadata"].get("namespace"): item for item in items}


def results(report, **match):
    return [r for r in report["results"] if all(r.get(k) == v for k, v in match.items())]


def test_one_report_per_audited_namespace_named_and_labelled_as_managed(run_cli, cluster):
    items, err = reports(run_cli, cluster)
    assert err == ""
    assert [(i["kind"], i["metadata"]["namespace"]) for i in items] == [
        ("PolicyReport", ns) for ns in ("batch", "default", "good", "kube-system", "prod", "sandbox")]
    for item in items:
        assert item["apiVersion"] == "wgpolicyk8s.io/v1alpha2"
        assert item["metadata"]["name"] == "kubectl-pss"
        assert item["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "kubectl-pss"}
        assert crd_errors(item) == []


def test_summary_counts_are_the_results(run_cli, cluster):
    items, _ = reports(run_cli, cluster, "--admission-config", cluster.admission_config)
    assert sum(len(i["results"]) for i in items) > 10
    for item in items:
        counted = Counter(r["result"] for r in item["results"])
        assert item["summary"] == {key: counted.get(key, 0) for key in ("pass", "fail", "warn", "error", "skip")}


def test_enforce_violations_are_high_and_audit_warn_ones_medium_one_result_per_owner_and_check(run_cli, cluster):
    items, _ = reports(run_cli, cluster)
    prod = by_namespace(items)["prod"]  # enforce restricted:v1.30 (warn follows it); audit privileged
    deployment = cluster.get_object("deployments", "prod", "api")
    fails = results(prod, result="fail")
    assert [(r["policy"], r["rule"], r["severity"]) for r in fails] == [
        ("pod-security-restricted", "runAsUser", "high")]
    [fail] = fails
    assert fail["source"] == "kubectl-pss" and fail["category"] == "Pod Security Standards"
    assert fail["message"] == 'runAsUser=0: container "api" must not set runAsUser=0'
    assert fail["resources"] == [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "api", "namespace": "prod",
                                  "uid": deployment["metadata"]["uid"]}]
    assert fail["properties"] == {"level": "restricted", "version": "v1.30", "mode": "enforce,warn",
                                  "owner": "Deployment/api", "pods": "3", "template": "true"}
    assert set(fail["timestamp"]) == {"seconds", "nanos"}


def test_audit_and_warn_levels_are_policies_of_their_own(run_cli, cluster):
    items, _ = reports(run_cli, cluster, "--admission-config", cluster.admission_config)
    ns = by_namespace(items)
    # default: enforce baseline (default), audit and warn restricted (defaults); a bare baseline pod
    default = [(r["policy"], r["result"], r["severity"], r["properties"]["mode"]) for r in ns["default"]["results"]]
    assert ("pod-security-baseline", "pass", "high", "enforce") in default
    assert {(p, res, sev, mode) for p, res, sev, mode in default if res == "fail"} == {
        ("pod-security-restricted", "fail", "medium", "audit,warn")}
    assert len([d for d in default if d[1] == "fail"]) == 4  # the four restricted checks nginx fails
    # prod: enforce restricted:v1.30 by label, audit/warn restricted:latest by default: two versions, two policies
    versions = {(r["properties"]["version"], r["properties"]["mode"], r["severity"])
                for r in ns["prod"]["results"]}
    assert versions == {("v1.30", "enforce", "high"), ("v1.34", "audit,warn", "medium")}


def test_compliant_owners_pass_and_exemptions_skip(run_cli, cluster):
    items, _ = reports(run_cli, cluster, "--admission-config", cluster.admission_config)
    ns = by_namespace(items)
    good = ns["good"]
    assert good["summary"]["fail"] == 0
    # enforce restricted:latest by label, warn follows it, audit restricted:latest by default: one policy
    assert [(r["result"], r["resources"][0]["kind"], r["resources"][0]["name"], r["properties"]["mode"], r["severity"])
            for r in good["results"]] == [("pass", "Deployment", "web", "enforce,audit,warn", "high")]
    system = ns["kube-system"]  # exempt by the AdmissionConfiguration: skipped, never judged
    assert {r["result"] for r in system["results"]} == {"skip"}
    assert "exempt" in system["results"][0]["message"]
    sandbox = ns["sandbox"]
    skipped = results(sandbox, result="skip")
    assert {r["resources"][0]["name"] for r in skipped} == {"vm"}  # runtimeClass kata is exempt
    assert {r["resources"][0]["name"] for r in results(sandbox, result="pass")} == {"plain"}


def test_an_unread_namespace_is_an_error_never_a_pass(run_cli, cluster):
    cluster.forbid("pods", namespace=None, verbs=["list"])  # the cluster-wide list: fallback per namespace
    cluster.forbid("pods", namespace="good", verbs=["list"])
    items, err = reports(run_cli, cluster, code=2)
    good = by_namespace(items)["good"]
    assert {r["result"] for r in good["results"]} == {"error"}
    assert "not read to the end" in good["results"][0]["message"] and "forbidden" in good["results"][0]["message"]
    assert good["summary"]["pass"] == 0 and good["summary"]["error"] == 1
    assert by_namespace(items)["prod"]["summary"]["error"] == 0
    assert 'namespace "good"' in err


def test_a_cluster_wide_read_failure_is_an_error_everywhere_and_in_the_cluster_report(run_cli, cluster):
    cluster.inject("/api/v1/pods", 503, times=10**9, exact=True)
    items, _ = reports(run_cli, cluster, code=2)
    assert [i["kind"] for i in items] == ["PolicyReport"] * 6 + ["ClusterPolicyReport"]
    for item in items[:-1]:
        assert item["summary"]["pass"] == 0 and item["summary"]["error"] >= 1, item["metadata"]
    report = items[-1]
    assert "namespace" not in report["metadata"] and report["metadata"]["name"] == "kubectl-pss"
    assert [r["result"] for r in report["results"]] == ["error"]
    assert report["results"][0]["message"].startswith("pods: ")


def test_no_cluster_report_without_cluster_wide_failures(run_cli, cluster):
    items, _ = reports(run_cli, cluster)
    assert "ClusterPolicyReport" not in {i["kind"] for i in items}


def test_a_missing_namespace_goes_to_the_cluster_report(run_cli, cluster):
    code, out, _ = run_cli("audit", "-n", "good,nowhere", "--kubeconfig", cluster.kubeconfig_path,
                           "-o", "policyreport")
    assert code == 2
    items = yaml.safe_load(out)["items"]
    assert [i["metadata"].get("namespace") for i in items] == ["good", None]
    assert 'namespace "nowhere"' in items[1]["results"][0]["message"]


def test_level_judges_every_namespace_at_that_level(run_cli, cluster):
    items, _ = reports(run_cli, cluster, "--level", "baseline", "--admission-config", cluster.admission_config)
    ns = by_namespace(items)
    for item in items:
        assert {r["policy"] for r in item["results"]} <= {"pod-security-baseline"}
        assert {r["properties"]["mode"] for r in item["results"] if "properties" in r} <= {"requested"}
    # default's enforce is baseline (the config's default): a baseline violation is one admission rejects
    assert ns["batch"]["summary"]["fail"] == 1  # db's hostPath
    assert results(ns["batch"], result="fail")[0]["severity"] == "high"
    code, out, _ = run_cli("audit", "-A", "--kubeconfig", cluster.kubeconfig_path, "-o", "policyreport",
                           "--level", "restricted")
    batch = by_namespace(yaml.safe_load(out)["items"])["batch"]  # enforce privileged: restricted is only asked
    assert {r["severity"] for r in results(batch, result="fail")} == {"medium"}


def test_openreports_api(run_cli, cluster):
    items, _ = reports(run_cli, cluster, "--report-api", "openreports.io/v1alpha1")
    assert {(i["apiVersion"], i["kind"], i["source"]) for i in items} == {
        ("openreports.io/v1alpha1", "Report", "kubectl-pss")}
    assert all(crd_errors(i) == [] for i in items)


@pytest.mark.parametrize("level", ["baseline", "restricted"])
def test_the_kind_snapshot_reports_validate(run_cli, level):
    code, out, _ = run_cli("audit", "--snapshot", EXAMPLES / "kind-cluster.json", "-o", "policyreport",
                           "--level", level)
    assert code == 0
    items = yaml.safe_load(out)["items"]
    assert sum(i["summary"]["fail"] for i in items) > 0
    assert "&id" not in out  # no YAML anchors


@pytest.mark.parametrize("argv, message", [
    (["--yes"], "--yes goes with -o policyreport or --write-reports"),
    (["--level", "baseline"], "--level goes with -o policyreport or --write-reports"),
    (["-o", "policyreport", "--report-api", "example.com/v1"], 'invalid --report-api "example.com/v1"'),
    (["-o", "policyreport", "--level", "strict"], 'invalid --level "strict"'),
    (["-o", "policyreport", "--yes"], "--yes goes with --write-reports"),
    (["--write-reports", "--snapshot", "x.json"], "--write-reports writes to the cluster"),
    (["--write-reports", "-o", "json"], '--write-reports prints its plan: -o "json"'),
])
def test_report_flag_errors(run_cli, argv, message):
    code, out, err = run_cli("audit", *argv)
    assert (code, out) == (2, "")
    assert err.startswith("error: ") and message in err and err.count("\n") == 1


def test_the_crd_validator_rejects_what_the_api_server_would():
    good = {"apiVersion": "wgpolicyk8s.io/v1alpha2", "kind": "PolicyReport",
            "metadata": {"name": "kubectl-pss", "namespace": "a"},
            "summary": {"pass": 1}, "results": [{"policy": "p", "result": "pass", "properties": {"a": "b"},
                                                 "timestamp": {"seconds": 1, "nanos": 0}}]}
    assert crd_errors(good) == []
    bad = [
        ({"results": [{"result": "pass"}]}, "'policy' is a required property"),
        ({"results": [{"policy": "p", "result": "ok"}]}, "'ok' is not one of"),
        ({"results": [{"policy": "p", "severity": "urgent"}]}, "'urgent' is not one of"),
        ({"results": [{"policy": "p", "properties": {"pods": 3}}]}, "3 is not of type 'string'"),
        ({"results": [{"policy": "p", "owner": "x"}]}, "Additional properties are not allowed"),
        ({"summary": {"pass": "1"}}, "'1' is not of type 'integer'"),
        ({"results": [{"policy": "p", "timestamp": {"seconds": 1}}]}, "'nanos' is a required property"),
        ({"source": "kubectl-pss"}, "Additional properties are not allowed"),  # only openreports has it
        ({"apiVersion": "wgpolicyk8s.io/v2"}, "is not served"),
    ]
    for change, message in bad:
        errors = crd_errors({**good, **change})
        assert any(message in e for e in errors), (change, errors)
    assert crd_errors({**good, "apiVersion": "openreports.io/v1alpha1", "kind": "Report", "source": "x"}) == []
    cluster = {**good, "kind": "ClusterPolicyReport", "metadata": {"name": "kubectl-pss"}}
    assert crd_errors(cluster) == []
    assert crd_errors({**cluster, "metadata": {"name": "kubectl-pss", "namespace": "a"}}) != []
    assert crd_errors({**good, "metadata": {"name": "kubectl-pss"}}) != []  # a namespaced report names its namespace
