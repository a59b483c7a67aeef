"""The pure PolicyReport mapping (kubectl_pss/analysis/policyreport.py): policies judged, references, the plan."""
from __future__ import annotations

from kubectl_pss.analysis.findings import Owner
from kubectl_pss.analysis.policyreport import (OPENREPORTS, WGPOLICY, References, judged_policies, namespace_results,
                                               plan, report)
from kubectl_pss.policy import Level
from kubectl_pss.policy.admission import KUBERNETES_DEFAULT_CONFIG
from kubectl_pss.policy.registry import registry_for
from tests.report.crds import crd_errors

PSA = "pod-security.kubernetes.io/"
STAMP = {"seconds": 1765141200, "nanos": 5}
MANAGED = {"app.kubernetes.io/managed-by": "kubectl-pss"}


def modes(labels, level=None):
    return [(j.policy, str(j.version), j.modes, j.severity)
            for j in judged_policies(labels, KUBERNETES_DEFAULT_CONFIG, level)]


def test_each_distinct_level_and_version_is_one_policy_privileged_none():
    assert modes({}) == []
    assert modes({PSA + "enforce": "baseline", PSA + "audit": "restricted", PSA + "warn": "restricted"}) == [
        ("pod-security-baseline", "latest", ("enforce",), "high"),
        ("pod-security-restricted", "latest", ("audit", "warn"), "medium")]
    assert modes({PSA + "enforce": "restricted", PSA + "audit": "restricted", PSA + "audit-version": "v1.25"}) == [
        ("pod-security-restricted", "latest", ("enforce", "warn"), "high"),
        ("pod-security-restricted", "v1.25", ("audit",), "medium")]
    assert modes({PSA + "enforce": "baseline"}, Level.RESTRICTED) == [
        ("pod-security-restricted", "latest", ("requested",), "medium")]
    assert modes({PSA + "enforce": "restricted"}, Level.BASELINE) == [
        ("pod-security-baseline", "latest", ("requested",), "high")]
    assert modes({PSA + "enforce": "restricted"}, Level.PRIVILEGED) == []


def test_an_owner_not_held_is_named_from_the_controller_reference():
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "w-0", "uid": "p1", "ownerReferences": [
        {"apiVersion": "example.com/v1", "kind": "Widget", "name": "w", "uid": "w1", "controller": True}]}}
    refs = References("ns", [pod], [])
    assert refs.of(Owner("Widget", "w")) == {"apiVersion": "example.com/v1", "kind": "Widget", "name": "w",
                                             "namespace": "ns", "uid": "w1"}
    assert refs.of(Owner("Pod", "w-0")) == {"apiVersion": "v1", "kind": "Pod", "name": "w-0", "namespace": "ns",
                                            "uid": "p1"}
    assert refs.of(Owner("Gone", "x")) == {"kind": "Gone", "name": "x", "namespace": "ns"}
    assert refs.of(Owner("Pod", "w-0")) is not refs.of(Owner("Pod", "w-0"))


def test_pods_of_one_owner_with_one_check_failing_are_one_result():
    owner = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": "r1", "controller": True}
    pods = [{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"rs-{i}", "namespace": "a", "uid": f"u{i}",
                                                             "ownerReferences": [owner]},
             "spec": {"hostNetwork": True, "containers": [{"name": "c", "image": "i"}]}} for i in range(3)]
    namespace = {"metadata": {"name": "a", "uid": "nsuid", "labels": {PSA + "enforce": "baseline"}}}
    results = namespace_results(namespace, pods, [], KUBERNETES_DEFAULT_CONFIG, registry_for(30), None, [], None, STAMP)
    assert [(r["rule"], r["properties"]["pods"], r["resources"][0]["name"]) for r in results] == [
        ("hostNamespaces", "3", "rs")]
    assert results[0]["timestamp"] == STAMP and results[0]["properties"]["version"] == "v1.30"
    incomplete = namespace_results(namespace, pods[:1], [], KUBERNETES_DEFAULT_CONFIG, registry_for(30), None,
                                   ["pods: cut short"], None, STAMP)
    assert [r["result"] for r in incomplete] == ["fail", "error"]
    assert incomplete[1]["resources"] == [{"apiVersion": "v1", "kind": "Namespace", "name": "a", "uid": "nsuid"}]
    for api in (WGPOLICY, OPENREPORTS):
        assert crd_errors(report(api, incomplete, "a")) == []


def existing(namespace, name, labels=MANAGED, rv="7", **meta):
    md = {"name": name, "labels": dict(labels), "uid": f"uid-{namespace}-{name}", "resourceVersion": rv, **meta}
    if namespace:
        md["namespace"] = namespace
    return {"kind": "PolicyReport" if namespace else "ClusterPolicyReport", "metadata": md}


def test_the_plan_creates_updates_and_deletes_only_managed_reports_in_scope():
    desired = [report(WGPOLICY, [], "a"), report(WGPOLICY, [], "b")]
    current = [existing("a", "kubectl-pss", annotations={"x": "y"}, labels={**MANAGED, "team": "t"}),
               existing("b", "kubectl-pss", labels={}),  # same name, not managed: not in the plan (the create fails)
               existing("a", "old"), existing("c", "old"),  # c is not audited
               existing(None, "kubectl-pss")]
    actions = plan(desired, current, {"a", "b"}, whole_cluster=True)
    assert [(a.verb, a.kind, a.namespace, a.name) for a in actions] == [
        ("update", "PolicyReport", "a", "kubectl-pss"), ("create", "PolicyReport", "b", "kubectl-pss"),
        ("delete", "ClusterPolicyReport", None, "kubectl-pss"), ("delete", "PolicyReport", "a", "old")]
    update = actions[0]
    assert update.body["metadata"] == {"name": "kubectl-pss", "namespace": "a", "resourceVersion": "7",
                                       "labels": {**MANAGED, "team": "t"}, "annotations": {"x": "y"}}
    assert (actions[2].uid, actions[2].resource_version) == ("uid-None-kubectl-pss", "7")
    assert desired[0]["metadata"] == {"name": "kubectl-pss", "namespace": "a", "labels": MANAGED}  # not changed
