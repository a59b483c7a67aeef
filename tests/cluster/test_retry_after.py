"""A server's Retry-After is honoured up to a cap: a 429 asking for an hour must not stall the run.

The per-test timeout (pytest-timeout) turns a client that sleeps out the hour into a failure here
rather than a hung CI job.
"""
from __future__ import annotations

import time

import pytest

from kubectl_pss.cluster import ClusterError, ConnectionOptions, connect
from kubectl_pss.cluster import client as client_mod


@pytest.fixture
def cluster(apiserver):
    return connect(ConnectionOptions(kubeconfig=str(apiserver.kubeconfig_path)))


@pytest.mark.timeout(5)
def test_retry_after_of_an_hour_is_cut_to_the_cap(apiserver, cluster, monkeypatch):
    monkeypatch.setattr(client_mod, "MAX_RETRY_AFTER", 0.3)
    apiserver.fail_once("/version", status=429, retry_after=3600)
    started = time.monotonic()
    assert cluster.server_version()["major"] == "1"
    assert 0.3 <= time.monotonic() - started < 3
    assert len(apiserver.requests_to("/version")) == 2


@pytest.mark.timeout(5)
def test_a_server_that_keeps_asking_for_an_hour_is_given_up_on(apiserver, cluster, monkeypatch):
    monkeypatch.setattr(client_mod, "MAX_RETRY_AFTER", 0.05)
    apiserver.fail("/version", status=429, retry_after=3600, times=100)
    with pytest.raises(ClusterError) as err:
        cluster.server_version()
    assert err.value.status == 429
    assert len(apiserver.requests_to("/version")) == client_mod.MAX_ATTEMPTS


@pytest.mark.timeout(10)
def test_a_write_answered_500_is_not_sent_again(apiserver, cluster):
    """A 500 to a POST may come after the object was made: sending it again would answer AlreadyExists for
    our own object. Only the server's word that it did not act (429, a 5xx with Retry-After) repeats a write."""
    apiserver.add_namespace("shop")
    body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}
    apiserver.fail("/api/v1/namespaces/shop", status=500, methods=["PATCH"])
    with pytest.raises(ClusterError) as err:
        cluster.request("PATCH", "/api/v1/namespaces/shop", body=body, content_type="application/merge-patch+json")
    assert err.value.status == 500
    assert [r.method for r in apiserver.requests_to("/api/v1/namespaces/shop")] == ["PATCH"]


@pytest.mark.timeout(10)
@pytest.mark.parametrize("status, retry_after", [(429, None), (503, 1)])
def test_a_write_the_server_did_not_act_on_is_sent_again(apiserver, cluster, monkeypatch, status, retry_after):
    monkeypatch.setattr(client_mod, "MAX_RETRY_AFTER", 0.05)
    apiserver.add_namespace("shop")
    apiserver.fail("/api/v1/namespaces/shop", status=status, retry_after=retry_after, methods=["PATCH"])
    cluster.request("PATCH", "/api/v1/namespaces/shop", body={"metadata": {"labels": {"a": "b"}}},
                    content_type="application/merge-patch+json")
    assert [r.method for r in apiserver.requests_to("/api/v1/namespaces/shop")] == ["PATCH", "PATCH"]
