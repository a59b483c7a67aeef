"""Issue 12, item 2 (and the cut-short part of item 9) in the cluster layer: a 2xx that is not the JSON
object the API sends is an error naming the path and the content type, never data; a body cut short is
"cut short", not "cannot reach", and only a GET is sent again (bounded)."""
from __future__ import annotations

import pytest

from kubectl_pss.cluster import ConnectionOptions, CutShort, UnexpectedAnswer, connect
from kubectl_pss.cluster import client as client_mod
from tests.apiserver.server import FOREVER


@pytest.fixture
def cluster(apiserver, monkeypatch):
    monkeypatch.setattr(client_mod, "BACKOFF", (0.001,) * 5)
    apiserver.add_namespace("a")
    for i in range(3):
        apiserver.add_pod("a", f"p{i}")
    return connect(ConnectionOptions(kubeconfig=str(apiserver.kubeconfig_path)))


@pytest.mark.parametrize("fault, message", [
    ("html", "the server answered /api/v1/pods with text/html, not JSON: is a proxy in the way?"),
    ("empty", "the server answered /api/v1/pods with an empty body (application/json), not JSON: "
              "is a proxy in the way?"),
    ("array", "the server answered /api/v1/pods with a JSON array (application/json), not a JSON object: "
              "is a proxy in the way?"),
    ("object", "the server answered /api/v1/pods with a JSON object that is not a list of objects (kind None): "
               "is a proxy in the way?"),
])
def test_a_list_answered_with_something_else_is_an_error(apiserver, cluster, fault, message):
    apiserver.inject("/api/v1/pods", fault, exact=True)
    with pytest.raises(UnexpectedAnswer) as caught:
        list(cluster.list_items("/api/v1/pods"))
    assert str(caught.value) == message
    assert len(apiserver.requests_to("/api/v1/pods")) == 1  # not retried: a login page stays a login page


def test_a_page_answered_with_html_ends_the_list(apiserver, cluster):
    apiserver.inject("/api/v1/pods", "html", page=2, exact=True)
    with pytest.raises(UnexpectedAnswer):
        list(cluster.list_items("/api/v1/pods", limit=2))


def test_a_get_answered_with_html_is_an_error_not_an_empty_object(apiserver, cluster):
    apiserver.inject("/version", "html")
    with pytest.raises(UnexpectedAnswer, match="/version with text/html"):
        cluster.server_version()


def test_a_get_cut_short_is_sent_again_then_given_up(apiserver, cluster):
    apiserver.inject("/api/v1/pods", "truncated", times=FOREVER, exact=True)
    with pytest.raises(CutShort) as caught:
        list(cluster.list_items("/api/v1/pods"))
    assert str(caught.value).startswith("the server's answer to GET /api/v1/pods was cut short (")
    assert "more were announced; gave up after 5 attempts)" in str(caught.value)
    assert len(apiserver.requests_to("/api/v1/pods")) == client_mod.MAX_ATTEMPTS


def test_a_get_cut_short_once_is_read_again(apiserver, cluster):
    apiserver.inject("/api/v1/pods", "truncated", exact=True)
    assert len(list(cluster.list_items("/api/v1/pods"))) == 3


def test_a_patch_cut_short_is_not_sent_again(apiserver, cluster):
    apiserver.inject("/api/v1/namespaces/a", "truncated", exact=True, methods=["PATCH"])
    with pytest.raises(CutShort, match=r"^the server's answer to PATCH /api/v1/namespaces/a was cut short \(\d+ bytes"):
        cluster.patch_merge("/api/v1/namespaces/a", {"metadata": {"labels": {"x": "y"}}}, dry_run=False)
    assert len(apiserver.requests_to("/api/v1/namespaces/a", "PATCH")) == 1


def test_a_reset_before_any_answer_is_cannot_reach(apiserver, cluster):
    from kubectl_pss.cluster import ClusterUnreachable

    apiserver.inject("/api/v1/pods", "reset", times=FOREVER, exact=True)
    with pytest.raises(ClusterUnreachable, match="cannot reach .*: connection reset$"):
        list(cluster.list_items("/api/v1/pods"))
    assert len(apiserver.requests_to("/api/v1/pods")) == client_mod.CONNECT_ATTEMPTS


def test_an_injected_403_is_worded_like_rbac(apiserver, cluster):
    from kubectl_pss.cluster import Forbidden

    apiserver.inject("/api/v1/namespaces/a/pods", 403)
    with pytest.raises(Forbidden) as injected:
        list(cluster.list_items("/api/v1/namespaces/a/pods"))
    apiserver.forbid("pods", namespace="a")
    with pytest.raises(Forbidden) as denied:
        list(cluster.list_items("/api/v1/namespaces/a/pods"))
    assert str(injected.value) == str(denied.value) == (
        'pods is forbidden: User "system:serviceaccount:pss:auditor" cannot list resource "pods" in API group "" '
        'in the namespace "a"')


def test_a_410_on_page_2_every_time_gives_up_after_the_restarts(apiserver, cluster):
    from kubectl_pss.cluster import Gone

    apiserver.inject("/api/v1/pods", 410, page=2, times=FOREVER, exact=True)
    with pytest.raises(Gone, match="gave up after 2 restarts of the list"):
        list(cluster.list_items("/api/v1/pods", limit=2))
    pages = [bool(r.query.get("continue")) for r in apiserver.requests_to("/api/v1/pods")]
    assert pages == [False, True] * (client_mod.RELIST_ATTEMPTS + 1)
