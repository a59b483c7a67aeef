"""Issue 20 through the real CLI against the fake API server: the verdict cache (each distinct pod view
evaluated once per level and version, hit rate at -v=4) and compression of list answers."""
from __future__ import annotations

import json


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


# --- streaming: a live read is held as StandIns, which give the listed objects' verdicts ---------------------
def _spec(**extra):
    return {"containers": [{"name": "c", "image": "i", "securityContext": {"runAsUser": 1000}}],
            "volumes": [{"name": "v", "emptyDir": {}}], **extra}


def test_live_state_holds_pods_of_one_template_as_one_shared_spec(apiserver):
    """Pods of one template (their per-pod volume names differ) are held as stand-ins sharing one spec
    object; each namespace's objects are made when asked for and carry what the report names."""
    from kubectl_pss.analysis.findings import StandIn
    from kubectl_pss.operations.cluster_state import Held, load_live_state
    from kubectl_pss.operations.connection import Connection
    from kubectl_pss.cluster import ConnectionOptions
    from kubectl_pss.scope import ALL_NAMESPACES

    apiserver.add_namespace("a")
    for i in range(3):
        spec = _spec()
        spec["volumes"] = [{"name": f"kube-api-access-{i}", "projected": {"sources": []}}]
        apiserver.add_pod("a", f"p{i}", spec)
    apiserver.add_pod("a", "other", _spec(hostNetwork=True))
    with Connection(ConnectionOptions(kubeconfig=apiserver.kubeconfig_path)) as connection:
        state = load_live_state(connection, ALL_NAMESPACES, None)
    assert isinstance(state.pods, Held)
    held = state.pods._by_namespace["a"]
    assert all(isinstance(h, StandIn) for h in held) and [h.name for h in held] == ["other", "p0", "p1", "p2"]
    pods = state.pods["a"]
    assert pods[1]["spec"] is pods[2]["spec"] is pods[3]["spec"] and pods[0]["spec"] is not pods[1]["spec"]
    assert [p["metadata"]["name"] for p in pods] == ["other", "p0", "p1", "p2"]
    assert pods[0]["spec"]["hostNetwork"] is True and "status" not in pods[0]


def test_audit_of_streamed_stand_ins_groups_pods_under_their_top_owner(apiserver, run_cli):
    """Pods arrive before the ReplicaSets and Deployments that own them: grouped by the Deployment all
    the same; a controller reference without a uid names its own owner, not another pod's."""
    apiserver.add_namespace("a")
    dep = apiserver.add({"kind": "Deployment", "apiVersion": "apps/v1", "metadata": {"name": "web", "namespace": "a"},
                         "spec": {"template": {"metadata": {}, "spec": _spec(hostPID=True)}}})
    dep_ref = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": dep["metadata"]["uid"],
               "controller": True}
    rs = apiserver.add({"kind": "ReplicaSet", "apiVersion": "apps/v1",
                        "metadata": {"name": "web-1", "namespace": "a", "ownerReferences": [dep_ref]},
                        "spec": {"template": {"metadata": {}, "spec": _spec(hostPID=True)}}})
    rs_ref = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-1", "uid": rs["metadata"]["uid"],
              "controller": True}
    for i in range(2):
        apiserver.add_pod("a", f"web-1-{i}", _spec(hostPID=True), owner=rs_ref)
    for name in ("x", "y"):  # no uid: each names its own (unheld) owner
        apiserver.add_pod("a", f"{name}-pod", _spec(hostPID=True),
                          owner={"apiVersion": "batch/v1", "kind": "Job", "name": f"job-{name}", "controller": True})
    code, out, err = run_cli("audit", "-A", "--kubeconfig", apiserver.kubeconfig_path, "-o", "json")
    assert code == 0, err
    ns = next(n for n in json.loads(out)["namespaces"] if n["name"] == "a")
    owners = {(f["owner"]["kind"], f["owner"]["name"]): (f["pods"], f["template"]) for f in ns["findings"]}
    assert owners == {("Deployment", "web"): (["web-1-0", "web-1-1"], True), ("Job", "job-x"): (["x-pod"], False),
                      ("Job", "job-y"): (["y-pod"], False)}
    assert ns["pods"] == 4 and ns["workloads"] == 1 and ns["strictestLevel"] == "privileged"


def test_wrong_types_are_found_in_every_pod_of_a_template_already_seen_clean(apiserver, run_cli):
    """The type check runs once per key for annotations and spec: a later pod of the same key whose own
    metadata (generateName) or an unread volume's name has the wrong type is still an error, each one."""
    apiserver.add_namespace("a")
    apiserver.add_pod("a", "clean", _spec())
    odd = apiserver.add_pod("a", "odd-name", _spec())
    odd["metadata"]["generateName"] = 7
    apiserver.add_pod("a", "odd-volume", {**_spec(), "volumes": [{"name": 5, "emptyDir": {}}]})
    apiserver.add_pod("a", "odd-volume-2", {**_spec(), "volumes": [{"name": 5, "emptyDir": {}}]})
    code, out, err = run_cli("audit", "-A", "--kubeconfig", apiserver.kubeconfig_path, "-o", "json")
    report = json.loads(out)
    assert code == 2, err
    assert [e["message"] for e in report["errors"]] == [
        "Pod odd-name: metadata.generateName: expected string, got number",
        "Pod odd-volume: spec.volumes[0].name: expected string, got number",
        "Pod odd-volume-2: spec.volumes[0].name: expected string, got number"]
    assert report["namespaces"][0]["complete"] is False


def test_label_plans_a_namespace_of_many_pods_with_one_evaluation_per_template(apiserver, run_cli, monkeypatch):
    """label's expected server warnings (worked out when the server's dry run is asked for) go through the
    verdict cache: 30 pods of one template are evaluated once at the level (and once the way PodSecurity
    before v1.25 did); the warnings still count every pod, and the server agrees."""
    import importlib

    from kubectl_pss.analysis import rollout
    from kubectl_pss.policy import admission

    evaluate = importlib.import_module("kubectl_pss.policy.evaluate")
    calls = []
    real = evaluate.evaluate_pod

    def spy(*args, **kwargs):
        calls.append(args[2])
        return real(*args, **kwargs)

    for module in (evaluate, admission, rollout):
        monkeypatch.setattr(module, "evaluate_pod", spy)
    from tests.apiserver.podsecurity import warnings_hook

    apiserver.namespace_patch_warnings = warnings_hook(apiserver)  # upstream's rules, written apart from the engine
    apiserver.add_namespace("a")
    for i in range(30):
        apiserver.add_pod("a", f"p{i:02d}", _spec(hostNetwork=True))
    code, out, err = run_cli("label", "a", "--enforce", "baseline", "--dry-run=server", "-o", "json",
                             "--kubeconfig", apiserver.kubeconfig_path)
    assert code == 1, err
    plan = json.loads(out)["namespaces"][0]
    assert plan["action"] == "refused"  # bare pods: each its own owner
    assert sorted(pod for f in plan["findings"] for pod in f["pods"]) == [f"p{i:02d}" for i in range(30)]
    assert plan["server"]["agrees"] is True, plan["server"]
    assert "p00 (and 29 other pods): host namespaces" in "\n".join(
        plan["server"]["expected"])
    assert len(calls) <= 2, calls  # baseline at latest: once with overrides, once without
