"""fetch_inventory with named namespaces and selectors, through the real client and the fake API server.

Named namespaces are read per namespace (up to PER_NAMESPACE_THRESHOLD), or cluster-wide with a
per-namespace fallback after a 403: the label selector must reach every one of those lists. When
namespaces cannot be listed, named ones are read one by one (GET takes no selector) and the namespace
selector is applied by the client: ``k!=v`` then selects a namespace without ``k``, as the
kube-apiserver's does (labels.Selector: "!=" matches when the key is absent).
"""
from __future__ import annotations

import pytest

from kubectl_pss.cluster import ConnectionOptions, connect, fetch_inventory
from kubectl_pss.cluster import inventory as inventory_mod

NAMESPACES = {"a": {"team": "blue"}, "b": {"team": "red"}, "c": {}}


@pytest.fixture
def filled(apiserver):
    """Three namespaces, each with a pod and a Deployment labelled app=web and app=db."""
    for ns, labels in NAMESPACES.items():
        apiserver.add_namespace(ns, labels)
        for app in ("web", "db"):
            apiserver.add_pod(ns, f"{app}-0", labels={"app": app})
            template = {"metadata": {"labels": {"app": app}}, "spec": {"containers": [{"name": app, "image": app}]}}
            apiserver.add({"kind": "Deployment", "metadata": {"name": app, "namespace": ns, "labels": {"app": app}},
                           "spec": {"selector": {"matchLabels": {"app": app}}, "template": template}})
    apiserver.clear_requests()
    return apiserver


@pytest.fixture
def cluster(filled):
    return connect(ConnectionOptions(kubeconfig=str(filled.kubeconfig_path)))


def names(items: list[dict]) -> list[str]:
    return sorted(f'{o["metadata"]["namespace"]}/{o["metadata"]["name"]}' for o in items)


def selector_of_lists(server, suffix: str) -> dict[str, str | None]:
    return {r.path: r.query.get("labelSelector") for r in server.requests if r.path.endswith(suffix)}


def test_few_named_namespaces_listed_per_namespace_with_the_label_selector(filled, cluster):
    inv = fetch_inventory(cluster, ["a", "c"], label_selector="app=web")
    assert names(inv.pods) == ["a/web-0", "c/web-0"]
    assert names(inv.objects["Deployment"]) == ["a/web", "c/web"]
    assert selector_of_lists(filled, "/pods") == {"/api/v1/namespaces/a/pods": "app=web",
                                                   "/api/v1/namespaces/c/pods": "app=web"}


def test_many_named_namespaces_listed_cluster_wide_with_the_label_selector(filled, cluster, monkeypatch):
    monkeypatch.setattr(inventory_mod, "PER_NAMESPACE_THRESHOLD", 1)
    inv = fetch_inventory(cluster, ["a", "c"], label_selector="app=web")
    assert names(inv.pods) == ["a/web-0", "c/web-0"]
    assert selector_of_lists(filled, "/pods") == {"/api/v1/pods": "app=web"}


def test_per_namespace_fallback_after_a_403_keeps_the_label_selector(filled, cluster, monkeypatch):
    monkeypatch.setattr(inventory_mod, "PER_NAMESPACE_THRESHOLD", 1)
    filled.forbid("pods")  # no cluster-wide list of pods: one list per namespace
    inv = fetch_inventory(cluster, ["a", "c"], label_selector="app=web")
    assert names(inv.pods) == ["a/web-0", "c/web-0"] and inv.errors == []
    assert selector_of_lists(filled, "/pods") == {"/api/v1/pods": "app=web", "/api/v1/namespaces/a/pods": "app=web",
                                                   "/api/v1/namespaces/c/pods": "app=web"}


@pytest.mark.parametrize("list_forbidden", [False, True], ids=["listed", "read one by one"])
@pytest.mark.parametrize("selector, selected", [
    ("team!=blue", ["b", "c"]),  # c has no team label: selected
    ("team=blue", ["a"]),
    ("!team", ["c"]),
    ("team", ["a", "b"]),
    ("team!=blue,team", ["b"]),
    ("team in (red,green)", ["b"]),  # set-based requirements hold one by one too
    ("team notin (blue)", ["b", "c"]),
])
def test_named_namespaces_with_a_namespace_selector(filled, cluster, list_forbidden, selector, selected):
    if list_forbidden:
        filled.forbid("namespaces", verbs=["list"])
    inv = fetch_inventory(cluster, ["a", "b", "c"], namespace_selector=selector)
    assert list(inv.namespaces) == selected
    assert inv.errors == []  # named but not selected: out of scope, not an error
    assert sorted({o["metadata"]["namespace"] for o in inv.pods}) == selected


@pytest.mark.parametrize("list_forbidden", [False, True], ids=["listed", "read one by one"])
def test_excluded_namespaces_are_never_read(filled, cluster, list_forbidden):
    if list_forbidden:
        filled.forbid("namespaces", verbs=["list"])
    inv = fetch_inventory(cluster, ["a", "b", "c"], exclude=("b*", "c"))
    assert list(inv.namespaces) == ["a"] and inv.errors == []
    assert {r.path for r in filled.requests if "/namespaces/b" in r.path or "/namespaces/c" in r.path} == set()
