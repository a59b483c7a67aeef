"""The fake answers like the recorded v1.24 apiserver (raw HTTP here: this tests the fake, not our client)."""
from __future__ import annotations

import json

import pytest
import urllib3

from tests.apiserver import FakeApiServer, load_recording
from tests.apiserver.selectors import parse_label_selector


@pytest.fixture
def http(apiserver):
    pool = urllib3.PoolManager(ca_certs=str(apiserver.cert.cert_path), retries=False)

    def call(method: str, path: str, token: str | None = apiserver.token, **kw):
        headers = kw.pop("headers", {})
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return pool.request(method, apiserver.url + path, headers=headers, **kw)

    return call


def recorded(name: str) -> dict:
    return load_recording(name)["response"]


def header_names(resp) -> list[str]:
    return [k for k, _ in resp.headers.items()]


def test_401_is_the_recorded_body(http):
    resp = http("GET", "/api/v1/namespaces", token="wrong")
    rec = recorded("unauthenticated")
    assert resp.status == 401 and json.loads(resp.data) == rec["body"]
    assert header_names(resp) == [k for k, _ in rec["headers"]]


def test_403_list_namespaces_is_the_recorded_body(apiserver, http):
    apiserver.user = "system:serviceaccount:rec-a:no-rights"
    apiserver.forbid("namespaces")
    resp = http("GET", "/api/v1/namespaces")
    rec = recorded("list-namespaces-sa-no-rights")
    assert resp.status == 403 and json.loads(resp.data) == rec["body"]
    assert header_names(resp) == [k for k, _ in rec["headers"]]


def test_403_patch_namespace_is_the_recorded_body(apiserver, http):
    apiserver.user = "system:serviceaccount:rec-a:no-rights"
    apiserver.add_namespace("rec-a")
    apiserver.forbid("namespaces", "rec-a", verbs=["patch"])
    resp = http("PATCH", "/api/v1/namespaces/rec-a?dryRun=All", body=b'{"metadata":{"labels":{"a":"b"}}}',
                headers={"Content-Type": "application/merge-patch+json"})
    assert json.loads(resp.data) == recorded("patch-ns-sa-no-rights-dryrun")["body"]
    assert http("GET", "/api/v1/namespaces/rec-a").status == 200  # only patch was denied


def test_patch_headers_in_recorded_order(apiserver, http):
    apiserver.add_namespace("rec-a")
    apiserver.namespace_patch_warnings = lambda *_: ["w1", "w2"]
    resp = http("PATCH", "/api/v1/namespaces/rec-a?dryRun=All",
                body=b'{"metadata":{"labels":{"pod-security.kubernetes.io/enforce":"restricted"}}}',
                headers={"Content-Type": "application/merge-patch+json"})
    rec = recorded("patch-ns-enforce-restricted-dryrun")
    assert header_names(resp) == [k for k, _ in rec["headers"]]
    body = json.loads(resp.data)
    assert body.keys() == rec["body"].keys()
    assert body["metadata"]["labels"] == rec["body"]["metadata"]["labels"]


def test_list_namespaces_shape(apiserver, http):
    apiserver.add_namespace("default")
    body = json.loads(http("GET", "/api/v1/namespaces").data)
    rec = recorded("list-namespaces")["body"]
    assert body.keys() == rec.keys() and body["kind"] == "NamespaceList"
    assert body["items"][0].keys() == rec["items"][0].keys()
    assert body["items"][0]["metadata"]["labels"] == rec["items"][0]["metadata"]["labels"]


def test_continue_token_shape_and_bad_token(apiserver, http):
    apiserver.add_namespace("rec-a")
    for i in range(3):
        apiserver.add_pod("rec-a", f"priv-{i}")
    page1 = json.loads(http("GET", "/api/v1/pods?limit=2").data)
    start, _rv = FakeApiServer.decode_continue(page1["metadata"]["continue"])
    rec_start, _ = FakeApiServer.decode_continue(
        recorded("list-pods-limit2-page1")["body"]["metadata"]["continue"])
    assert start == rec_start == "rec-a/priv-1\x00"
    resp = http("GET", "/api/v1/pods?limit=2&continue=garbage")
    assert resp.status == 400 and json.loads(resp.data)["reason"] == "BadRequest"


def test_410_expired_status(apiserver, http):
    apiserver.add_namespace("a")
    for i in range(3):
        apiserver.add_pod("a", f"p{i}")
    token = json.loads(http("GET", "/api/v1/pods?limit=1").data)["metadata"]["continue"]
    apiserver.expire_continue_once()
    resp = http("GET", f"/api/v1/pods?limit=1&continue={token}")
    body = json.loads(resp.data)
    assert resp.status == 410 and (body["reason"], body["code"]) == ("Expired", 410)
    assert http("GET", f"/api/v1/pods?limit=1&continue={token}").status == 200  # only once


def test_unknown_path_and_method(http):
    assert json.loads(http("GET", "/apis/nope/v1/things").data)["message"] == \
        "the server could not find the requested resource"
    assert http("DELETE", "/api/v1/namespaces/x").status == 405


def test_nodes_and_single_get(apiserver, http):
    apiserver.add({"kind": "Node", "metadata": {"name": "n1"}})
    apiserver.add_namespace("a")
    apiserver.add_pod("a", "p")
    assert [n["metadata"]["name"] for n in json.loads(http("GET", "/api/v1/nodes").data)["items"]] == ["n1"]
    pod = json.loads(http("GET", "/api/v1/namespaces/a/pods/p").data)
    assert (pod["kind"], pod["apiVersion"], pod["metadata"]["namespace"]) == ("Pod", "v1", "a")


def test_label_selector_parser():
    reqs = parse_label_selector("a=b,c!=d,e in (x, y),f notin (z),g,!h,i==j")
    assert [(r.key, r.op, r.values) for r in reqs] == [
        ("a", "=", ("b",)), ("c", "!=", ("d",)), ("e", "in", ("x", "y")), ("f", "notin", ("z",)),
        ("g", "exists", ()), ("h", "!", ()), ("i", "=", ("j",))]
    with pytest.raises(ValueError):
        parse_label_selector("a=b,,c")


def test_bad_selector_is_400(http):
    resp = http("GET", "/api/v1/pods?labelSelector=a%20in%20(b")
    assert resp.status == 400


# ---------------------------------------------------------------- PodSecurity's own dry-run warnings
PRIV_POD = {"hostNetwork": True, "containers": [{"name": "c", "image": "x", "securityContext": {"privileged": True}}]}
UNCONFINED_POD = {"hostNetwork": True, "containers": [
    {"name": "c", "image": "x", "securityContext": {"seccompProfile": {"type": "Unconfined"}}}]}


def _warning_texts(name: str) -> list[str]:
    from kubectl_pss.cluster.warnings import warnings_from_headers

    return warnings_from_headers(load_recording(name)["response"]["headers"])


@pytest.mark.parametrize("level, recording", [("restricted", "patch-ns-enforce-restricted-dryrun"),
                                              ("baseline", "patch-ns-enforce-baseline-dryrun")])
def test_podsecurity_hook_words_warnings_like_the_recorded_1_24_server(apiserver, http, level, recording):
    from tests.apiserver.podsecurity import warnings_hook

    assert apiserver.minor == 24  # the recorded server
    apiserver.add_namespace("rec-a")
    for i in range(3):
        apiserver.add_pod("rec-a", f"priv-{i}", PRIV_POD)
    apiserver.namespace_patch_warnings = warnings_hook(apiserver)
    resp = http("PATCH", "/api/v1/namespaces/rec-a?dryRun=All",
                body=json.dumps({"metadata": {"labels": {"pod-security.kubernetes.io/enforce": level}}}).encode(),
                headers={"Content-Type": "application/merge-patch+json"})
    assert resp.headers.getlist("Warning") == [v for k, v in recorded(recording)["headers"] if k == "Warning"]


def test_podsecurity_before_1_25_repeats_seccomp_and_groups_unconfined_pods_apart():
    """Upstream before v1.25 had no check overrides; from v1.25 restricted seccomp replaces the baseline one."""
    from tests.apiserver.podsecurity import namespace_warnings

    pods = [{"metadata": {"name": n}, "spec": UNCONFINED_POD} for n in ("p-mixed", "p-mixed-2", "p-mixed-3")]
    pods += [{"metadata": {"name": n}, "spec": PRIV_POD | {"containers": [{"name": "c", "image": "x"}]}}
             for n in ("p-plain-1", "p-plain-2")]
    header = 'existing pods in namespace "ns" violate the new PodSecurity enforce level "restricted:latest"'
    assert namespace_warnings("ns", pods, "restricted", "latest", 24) == [header,
        "p-mixed (and 2 other pods): host namespaces, seccompProfile, allowPrivilegeEscalation != false, "
        "unrestricted capabilities, runAsNonRoot != true, seccompProfile",
        "p-plain-1 (and 1 other pod): host namespaces, allowPrivilegeEscalation != false, unrestricted capabilities, "
        "runAsNonRoot != true, seccompProfile"]
    assert namespace_warnings("ns", pods, "restricted", "latest", 25) == [header,
        "p-mixed (and 4 other pods): host namespaces, allowPrivilegeEscalation != false, unrestricted capabilities, "
        "runAsNonRoot != true, seccompProfile"]
