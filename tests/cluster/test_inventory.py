"""fetch_inventory against FakeApiServer through the real client."""
from __future__ import annotations

import pytest

from kubectl_pss.cluster import (
    RESOURCES,
    ConnectionOptions,
    Forbidden,
    InventoryError,
    Unauthorized,
    connect,
    fetch_inventory,
)
from kubectl_pss.cluster import inventory as inventory_mod
from tests.apiserver import FakeApiServer, populate

KINDS = ["Pod", "ReplicationController", "ReplicaSet", "Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"]
TEMPLATE = {"metadata": {"labels": {"app": "x"}}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}}


@pytest.fixture
def cluster(apiserver):
    return connect(ConnectionOptions(kubeconfig=str(apiserver.kubeconfig_path)))


@pytest.fixture
def filled(apiserver) -> FakeApiServer:
    """3 namespaces x 4 pods (Deployments -> ReplicaSets -> Pods) + one of every other workload kind."""
    populate(apiserver, 3, 4, pods_per_replicaset=2)
    ns = "team-00001"
    apiserver.add({"kind": "StatefulSet", "metadata": {"name": "db", "namespace": ns},
                   "spec": {"serviceName": "db", "template": TEMPLATE}})
    apiserver.add({"kind": "DaemonSet", "metadata": {"name": "agent", "namespace": ns}, "spec": {"template": TEMPLATE}})
    apiserver.add({"kind": "ReplicationController", "metadata": {"name": "old", "namespace": ns},
                   "spec": {"template": TEMPLATE}})
    apiserver.add({"kind": "Job", "metadata": {"name": "once", "namespace": ns}, "spec": {"template": TEMPLATE}})
    apiserver.add({"kind": "CronJob", "metadata": {"name": "nightly", "namespace": ns},
                   "spec": {"schedule": "0 3 * * *", "jobTemplate": {"spec": {"template": TEMPLATE}}}})
    apiserver.clear_requests()
    return apiserver


def names(items: list[dict]) -> list[str]:
    return sorted(f'{o["metadata"]["namespace"]}/{o["metadata"]["name"]}' for o in items)


def test_resources_cover_every_kind_psa_reads_templates_from():
    assert [r.kind for r in RESOURCES] == KINDS
    assert {r.name: r.path() for r in RESOURCES}["cronjobs"] == "/apis/batch/v1/cronjobs"
    assert RESOURCES[0].path("ns") == "/api/v1/namespaces/ns/pods"


def test_all_namespaces(filled, cluster):
    inv = fetch_inventory(cluster, None)
    assert list(inv.namespaces) == ["team-00000", "team-00001", "team-00002"]
    assert inv.namespaces["team-00001"]["metadata"]["labels"]["kubernetes.io/metadata.name"] == "team-00001"
    assert {k: len(v) for k, v in inv.objects.items()} == {
        "Pod": 12, "ReplicationController": 1, "ReplicaSet": 12, "Deployment": 6, "StatefulSet": 1,
        "DaemonSet": 1, "Job": 1, "CronJob": 1}
    for kind, items in inv.objects.items():
        assert all(o["kind"] == kind for o in items)
    assert {o["apiVersion"] for o in inv.objects["CronJob"]} == {"batch/v1"}
    assert {o["apiVersion"] for o in inv.objects["Deployment"]} == {"apps/v1"}
    pod = inv.pods[0]
    owner = pod["metadata"]["ownerReferences"][0]
    assert owner["kind"] == "ReplicaSet" and owner["controller"] is True
    assert inv.server_version["gitVersion"].startswith("v1.24")
    assert inv.errors == []
    # one request per list, all cluster-wide
    assert [r.path for r in filled.requests] == ["/version", "/api/v1/namespaces"] + [r.path() for r in RESOURCES]


def test_named_namespaces_are_listed_one_by_one(filled, cluster):
    inv = fetch_inventory(cluster, ["team-00001"])
    assert list(inv.namespaces) == ["team-00001"]
    assert len(inv.pods) == 4 and len(inv.objects["CronJob"]) == 1
    assert all(o["metadata"]["namespace"] == "team-00001" for v in inv.objects.values() for o in v)
    assert "/api/v1/pods" not in [r.path for r in filled.requests]
    assert "/api/v1/namespaces/team-00001/pods" in [r.path for r in filled.requests]


def test_many_named_namespaces_use_cluster_wide_lists(filled, cluster, monkeypatch):
    monkeypatch.setattr(inventory_mod, "PER_NAMESPACE_THRESHOLD", 1)
    inv = fetch_inventory(cluster, ["team-00002", "team-00000"])
    assert list(inv.namespaces) == ["team-00002", "team-00000"]
    assert {o["metadata"]["namespace"] for o in inv.pods} == {"team-00000", "team-00002"}
    assert "/api/v1/pods" in [r.path for r in filled.requests]


def test_named_missing_namespace_is_a_per_namespace_error(filled, cluster):
    inv = fetch_inventory(cluster, ["team-00001", "nope"])
    assert list(inv.namespaces) == ["team-00001"]
    assert inv.errors == [InventoryError("nope", "namespaces", 'namespaces "nope" not found', 404)]


def test_cluster_wide_403_falls_back_per_namespace(filled, cluster):
    filled.forbid("pods")  # no ClusterRole for pods...
    filled.forbid("pods", "team-00002")  # ...and no RoleBinding in team-00002
    messages: list[str] = []
    inv = fetch_inventory(cluster, None, progress=messages.append)
    assert {o["metadata"]["namespace"] for o in inv.pods} == {"team-00000", "team-00001"}
    assert len(inv.pods) == 8 and len(inv.objects["Deployment"]) == 6
    assert len(inv.errors) == 1
    err = inv.errors[0]
    assert (err.namespace, err.resource, err.status) == ("team-00002", "pods", 403)
    assert err.message == ('pods is forbidden: User "system:serviceaccount:pss:auditor" cannot list resource '
                           '"pods" in API group "" in the namespace "team-00002"')
    pod_paths = [r.path for r in filled.requests if r.path.endswith("/pods")]
    assert pod_paths[0] == "/api/v1/pods"  # then one list per namespace, concurrently (any order)
    assert sorted(pod_paths[1:]) == [f"/api/v1/namespaces/team-0000{i}/pods" for i in range(3)]
    assert any("one by one" in m for m in messages)


def test_forbidden_everywhere_records_every_namespace(filled, cluster):
    filled.forbid("cronjobs", "*")
    inv = fetch_inventory(cluster, None)
    assert inv.objects["CronJob"] == []
    assert [(e.namespace, e.resource) for e in inv.errors] == [
        ("team-00000", "cronjobs"), ("team-00001", "cronjobs"), ("team-00002", "cronjobs")]
    assert len(inv.pods) == 12


def test_namespace_list_forbidden_named_namespaces_are_read_one_by_one(filled, cluster):
    filled.forbid("namespaces", verbs=["list"])
    inv = fetch_inventory(cluster, ["team-00001", "missing"])
    assert list(inv.namespaces) == ["team-00001"]
    assert [(e.namespace, e.resource, e.status) for e in inv.errors] == [("missing", "namespaces", 404)]
    assert inv.errors[0].message == 'namespaces "missing" not found'
    gets = [r.path for r in filled.requests if r.path.startswith("/api/v1/namespaces/") and r.path.count("/") == 4]
    assert gets == ["/api/v1/namespaces/team-00001", "/api/v1/namespaces/missing"]
    assert len(inv.pods) == 4


def test_namespace_list_forbidden_without_names_raises(filled, cluster):
    filled.forbid("namespaces")
    with pytest.raises(Forbidden) as err:
        fetch_inventory(cluster, None)
    assert "cannot list resource \"namespaces\"" in str(err.value)


def test_label_selector_filters_pods_and_workloads(filled, cluster):
    inv = fetch_inventory(cluster, None, label_selector="app=svc-0")
    assert len(inv.namespaces) == 3
    assert {o["metadata"]["labels"]["app"] for o in inv.pods} == {"svc-0"}
    assert len(inv.pods) == 6 and len(inv.objects["Deployment"]) == 3
    assert inv.objects["StatefulSet"] == []
    assert all(r.query.get("labelSelector") == "app=svc-0" for r in filled.requests
               if r.path not in ("/version", "/api/v1/namespaces"))


def test_namespace_selector(filled, cluster):
    filled.add_namespace("other", {"env": "prod"})
    inv = fetch_inventory(cluster, None, namespace_selector="env in (prod),team")
    assert list(inv.namespaces) == ["team-00000"]
    assert {o["metadata"]["namespace"] for o in inv.pods} == {"team-00000"}


def test_pages_and_a_410_in_the_middle(filled, cluster, monkeypatch):
    monkeypatch.setattr(inventory_mod, "PAGE_SIZE", 5)
    filled.expire_continue_once()
    inv = fetch_inventory(cluster, None)
    assert len(inv.pods) == 12 and len(set(names(inv.pods))) == 12
    pod_lists = filled.requests_to("/api/v1/pods")
    assert [sorted(r.query) for r in pod_lists][:2] == [["limit"], ["continue", "limit"]]
    assert all(r.query["limit"] == "5" for r in pod_lists)
    assert len(pod_lists) == 2 + 3  # 410, then 3 pages of 5, 5, 2


def test_500_during_inventory_is_retried(filled, cluster):
    filled.fail_once("/apis/apps/v1/replicasets", status=500)
    inv = fetch_inventory(cluster, None)
    assert len(inv.objects["ReplicaSet"]) == 12 and inv.errors == []


def test_resource_the_server_does_not_serve_is_recorded(filled, cluster):
    filled.fail("/apis/batch/v1/cronjobs", status=404)
    inv = fetch_inventory(cluster, None)
    assert [(e.namespace, e.resource, e.status) for e in inv.errors] == [(None, "cronjobs", 404)]
    assert "could not find the requested resource" in inv.errors[0].message
    assert len(inv.objects["Job"]) == 1


def test_unauthorized_is_fatal(filled, make_kubeconfig):
    path = make_kubeconfig([filled.context("bad", token="wrong")], "bad")
    with pytest.raises(Unauthorized):
        fetch_inventory(connect(ConnectionOptions(kubeconfig=str(path))), None)


def test_progress_reports_counts(filled, cluster):
    messages: list[str] = []
    fetch_inventory(cluster, None, progress=messages.append)
    assert messages[0] == "namespaces: 3"
    assert "pods: 12" in messages and "cronjobs: 1" in messages


def test_no_namespace_in_scope_lists_nothing(filled, cluster):
    inv = fetch_inventory(cluster, ["gone"])
    assert inv.namespaces == {} and all(v == [] for v in inv.objects.values())
    assert not [r for r in filled.requests if r.path.endswith("/pods")]


def test_per_namespace_fallback_runs_concurrently_and_keeps_order(apiserver, cluster):
    populate(apiserver, 30, 2, pods_per_replicaset=2)
    apiserver.forbid("pods")
    inv = fetch_inventory(cluster, None)
    assert [o["metadata"]["namespace"] for o in inv.pods] == sorted(o["metadata"]["namespace"] for o in inv.pods)
    assert len(inv.pods) == 60 and inv.errors == []


def test_managed_fields_are_dropped_unless_asked(filled, cluster):
    assert all("managedFields" not in o["metadata"] for o in fetch_inventory(cluster, None).pods)
    kept = fetch_inventory(cluster, None, keep_managed_fields=True)
    assert all(o["metadata"]["managedFields"] for o in kept.pods)
