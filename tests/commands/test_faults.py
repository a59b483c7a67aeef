"""Issue 12: never a wrong all-clear, never a blind change, when the API server's answers fail.

Real CLI, real ``kubernetes`` client, the HTTPS fake API server with fault plans (``inject``): a list
that fails (after the retries), answers 200 with something that is not JSON, is cut short, or is
forbidden in one namespace leaves the namespaces it covers incomplete: no level, no "ok", no PATCH.
"""
from __future__ import annotations

import json

import pytest

from kubectl_pss.cluster import client as client_mod
from kubectl_pss.cluster import inventory as inventory_mod
from tests.apiserver.server import FOREVER
from tests.scenarios import load_mixed_cluster

NAMESPACES = ["batch", "default", "good", "kube-system", "prod", "sandbox"]


@pytest.fixture(autouse=True)
def fast_and_in_tmp(tmp_path, monkeypatch):
    """Retries without the real backoff; undo files out of the repository."""
    monkeypatch.setattr(client_mod, "BACKOFF", (0.001,) * 5)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def cluster(apiserver):
    load_mixed_cluster(apiserver)
    return apiserver


def run_on(run_cli, cluster, *argv):
    return run_cli(*argv, "--kubeconfig", cluster.kubeconfig_path)


def by_name(report):
    return {ns["name"]: ns for ns in report["namespaces"]}


def applied_patches(cluster):
    return [r.path for r in cluster.requests if r.method == "PATCH" and r.query.get("dryRun") != "All"]


def pods_fail(cluster, monkeypatch, fault):
    """The cluster-wide pod list fails for good with ``fault``; "410" expires page 2 on every restart."""
    if fault == "410":
        monkeypatch.setattr(inventory_mod, "PAGE_SIZE", 2)
        cluster.inject("/api/v1/pods", 410, page=2, times=FOREVER, exact=True)
    else:
        cluster.inject("/api/v1/pods", fault, times=FOREVER, exact=True)


POD_LIST_FAULTS = [503, "410", "html", "empty", "array", "truncated"]


# --- item 1: label never enforces blind -------------------------------------------------------
@pytest.mark.parametrize("fault", POD_LIST_FAULTS)
def test_label_all_yes_never_patches_when_the_pod_list_fails(run_cli, cluster, monkeypatch, fault):
    pods_fail(cluster, monkeypatch, fault)
    before = all_labels(cluster)
    code, out, err = run_on(run_cli, cluster, "label", "-A", "--enforce", "restricted", "--yes", "-o", "json")
    assert applied_patches(cluster) == []  # kube-system (privileged pods) above all
    assert all_labels(cluster) == before
    report = json.loads(out)
    assert code == 2
    ns = by_name(report)
    assert list(ns) == NAMESPACES
    assert all(n["complete"] is False and n["errors"] and n["errors"][0].startswith("pods: ") for n in ns.values())
    changing = [n for n in ns.values() if n["patch"]]
    assert changing and all(n["action"] == "refused" for n in changing)
    assert all(any("could not read everything" in note for note in n["notes"]) for n in changing)
    assert report["undoFile"] is None and 'error: cluster: pods: ' in err


def all_labels(cluster):
    return {name: cluster.namespace(name)["metadata"]["labels"] for name in NAMESPACES}


def test_label_table_shows_why_each_namespace_is_refused(run_cli, cluster, monkeypatch):
    pods_fail(cluster, monkeypatch, "html")
    code, out, _ = run_on(run_cli, cluster, "label", "-A", "--enforce", "restricted", "--yes", "--no-color")
    assert code == 2 and applied_patches(cluster) == []
    row = next(line for line in out.splitlines() if line.startswith("kube-system "))
    assert "REFUSED ?" in row and "kube-system" in row
    assert ("  kube-system: pods: the server answered /api/v1/pods with text/html, not JSON: is a proxy in the way?"
            in out.splitlines())


def test_label_refuses_an_audit_only_change_to_an_unread_namespace(run_cli, cluster, monkeypatch):
    cluster.forbid("pods")
    cluster.forbid("pods", namespace="default")
    code, out, _ = run_on(run_cli, cluster, "label", "default", "good", "--warn", "restricted", "--yes", "-o", "json")
    ns = by_name(json.loads(out))
    assert code == 2
    assert ns["default"]["action"] == "refused" and ns["default"]["complete"] is False
    assert ns["good"]["complete"] is True and ns["good"]["result"]["status"] == "applied"
    assert applied_patches(cluster) == ["/api/v1/namespaces/good"]


def test_label_force_changes_an_unread_namespace_and_says_so(run_cli, cluster, monkeypatch):
    cluster.inject("/api/v1/namespaces/default/pods", 503, times=FOREVER)  # a named namespace: listed on its own
    code, out, _ = run_on(run_cli, cluster, "label", "default", "--enforce", "baseline", "--yes", "--force",
                           "-o", "json")
    ns = by_name(json.loads(out))["default"]
    assert code == 2 and ns["complete"] is False and ns["result"]["status"] == "applied" and ns["forced"] is True
    assert any("enforcing anyway (--force)" in note for note in ns["notes"])
    assert applied_patches(cluster) == ["/api/v1/namespaces/default"]


# --- item 2: a 200 that is not JSON is an error, never data ------------------------------------------
@pytest.mark.parametrize("fault, shown", [("html", "with text/html, not JSON"),
                                          ("empty", "with an empty body (application/json)"),
                                          ("array", "with a JSON array (application/json), not a JSON object")])
def test_audit_fail_on_with_a_non_json_pod_list_exits_2_with_the_message(run_cli, cluster, fault, shown):
    cluster.inject("/api/v1/pods", fault, times=FOREVER, exact=True)
    code, out, err = run_on(run_cli, cluster, "audit", "-A", "--fail-on", "restricted", "-o", "json")
    report = json.loads(out)
    assert code == 2
    assert f"error: cluster: pods: the server answered /api/v1/pods {shown}" in err
    assert all(ns["complete"] is False and ns["strictestLevel"] is None for ns in report["namespaces"])
    assert [e["resource"] for e in report["errors"]] == ["pods"]


def test_a_non_json_namespace_list_is_a_one_line_error(run_cli, cluster):
    cluster.inject("/api/v1/namespaces", "html", exact=True)
    code, out, err = run_on(run_cli, cluster, "audit", "-A")
    assert code == 2 and out == ""
    assert err == "error: the server answered /api/v1/namespaces with text/html, not JSON: is a proxy in the way?\n"


def test_simulate_with_a_non_json_pod_list_does_not_say_ok(run_cli, cluster):
    cluster.inject("/api/v1/pods", "html", times=FOREVER, exact=True)
    code, out, _ = run_on(run_cli, cluster, "simulate", "restricted", "-A", "--no-color")
    assert code == 2
    table = out.split("\n\n")[1].splitlines()[1:]  # the verdict table, without its header
    assert [row.split()[0] for row in table] == NAMESPACES
    assert all(row.rstrip().endswith("? (not fully read)") for row in table)
    assert "of 6 namespace(s) affected, 6 unknown (not fully read)" in out
    code, out, _ = run_on(run_cli, cluster, "simulate", "restricted", "-A", "-o", "json")
    report = json.loads(out)
    assert code == 2 and {ns["verdict"] for ns in report["namespaces"]} == {"unknown"}
    assert all(ns["wouldReject"] in (True, None) for ns in report["namespaces"])


def test_version_answered_with_html_is_a_note(run_cli, cluster):
    cluster.inject("/version", "html", times=FOREVER)
    code, out, err = run_on(run_cli, cluster, "audit", "-A", "-o", "json")
    report = json.loads(out)
    note = ("the server answered /version with text/html, not JSON: is a proxy in the way?; "
            "the server's version is unknown")
    assert code == 0 and f"note: {note}\n" == err
    assert note in report["notes"] and report["server"] is None
    assert all(ns["complete"] for ns in report["namespaces"])


def test_a_truncated_answer_is_cut_short_not_unreachable(run_cli, cluster):
    cluster.inject("/apis/apps/v1/deployments", "truncated", times=FOREVER, exact=True)
    code, out, err = run_on(run_cli, cluster, "audit", "-A", "-o", "json")
    assert code == 2
    assert "error: cluster: deployments: the server's answer to GET /apis/apps/v1/deployments was cut short (" in err
    assert "cannot reach" not in err
    assert all(ns["complete"] is False for ns in json.loads(out)["namespaces"])
    assert len(cluster.requests_to("/apis/apps/v1/deployments")) == client_mod.MAX_ATTEMPTS  # bounded


def test_a_list_cut_short_once_is_read_again(run_cli, cluster):
    cluster.inject("/api/v1/pods", "truncated", exact=True)
    code, out, err = run_on(run_cli, cluster, "audit", "-A", "-o", "json")
    assert code == 0 and err == ""
    assert by_name(json.loads(out))["kube-system"]["strictestLevel"] == "privileged"


# --- item 3: unread namespaces do not look clean ------------------------------------------------
def test_per_namespace_403_is_incomplete_in_audit(run_cli, cluster):
    cluster.forbid("pods")  # cluster-wide pod list forbidden: per-namespace fallback
    cluster.forbid("pods", namespace="good")
    code, out, _ = run_on(run_cli, cluster, "audit", "-A", "-o", "json")
    ns = by_name(json.loads(out))
    assert code == 2
    good = ns["good"]
    assert good["complete"] is False and good["strictestLevel"] is None and good["violatesEnforce"] is None
    assert good["errors"] == ['pods: pods is forbidden: User "system:serviceaccount:pss:auditor" cannot list '
                              'resource "pods" in API group "" in the namespace "good"']
    assert ns["default"]["complete"] is True and ns["default"]["strictestLevel"] == "baseline"  # the rest in full
    code, out, _ = run_on(run_cli, cluster, "audit", "-A", "--no-color")
    row = next(line for line in out.splitlines() if line.startswith("good "))
    assert "? (not fully read)" in row and "restricted @" not in row
    assert "  good: pods: pods is forbidden" in out
    assert code == 2


def test_per_namespace_403_is_unknown_in_simulate(run_cli, cluster):
    cluster.forbid("pods")
    cluster.forbid("pods", namespace="good")
    code, out, _ = run_on(run_cli, cluster, "simulate", "restricted", "-A", "-o", "json")
    ns = by_name(json.loads(out))
    assert code == 2
    assert ns["good"]["verdict"] == "unknown" and ns["good"]["complete"] is False and ns["good"]["wouldReject"] is None
    assert ns["default"]["verdict"] == "affected" and ns["kube-system"]["complete"] is True
    code, out, _ = run_on(run_cli, cluster, "simulate", "restricted", "-A", "--no-color")
    row = next(line for line in out.splitlines() if line.startswith("good "))
    assert "? (not fully read)" in row and not row.rstrip().endswith("ok")


def test_workload_kind_the_server_does_not_serve_leaves_namespaces_complete(run_cli, cluster):
    cluster.inject("/apis/batch/v1/cronjobs", 404, times=FOREVER)
    code, out, _ = run_on(run_cli, cluster, "audit", "-A", "-o", "json")
    report = json.loads(out)
    assert code == 2 and [(e["resource"], e["status"]) for e in report["errors"]] == [("cronjobs", 404)]
    assert all(ns["complete"] for ns in report["namespaces"])


def test_a_404_on_pods_is_not_read_as_no_pods(run_cli, cluster):
    cluster.inject("/api/v1/pods", 404, times=FOREVER, exact=True)
    code, out, _ = run_on(run_cli, cluster, "audit", "-A", "-o", "json")
    assert code == 2 and not any(ns["complete"] for ns in json.loads(out)["namespaces"])


def test_undo_restores_an_unread_namespace_but_says_it_was_not_read(run_cli, cluster, tmp_path):
    """--undo is the way back: not refused when a list fails (that would need --force, which also overrides
    "changed since"), but the namespace is still marked incomplete and the run exits 2."""
    undo = tmp_path / "undo.json"
    code, _, _ = run_on(run_cli, cluster, "label", "default", "--enforce", "baseline", "--yes", "--undo-file", str(undo))
    assert code == 0
    assert cluster.namespace("default")["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "baseline"
    cluster.inject("/api/v1/namespaces/default/pods", "html", times=FOREVER)
    code, out, _ = run_on(run_cli, cluster, "label", "--undo", str(undo), "--yes", "-o", "json")
    ns = by_name(json.loads(out))["default"]
    assert code == 2 and ns["complete"] is False and ns["result"]["status"] == "applied"
    assert ns["errors"] == ["pods: the server answered /api/v1/namespaces/default/pods with text/html, not JSON: "
                            "is a proxy in the way?"]
    assert "pod-security.kubernetes.io/enforce" not in cluster.namespace("default")["metadata"]["labels"]


def test_a_list_failing_on_page_n_leaves_namespaces_already_evaluated_incomplete(run_cli, apiserver, monkeypatch):
    """Issue 20: pods are evaluated as their pages arrive (read ahead by a thread); a cluster-wide pod
    list that fails for good on page 3 still leaves every namespace incomplete, those whose pods were all
    on pages 1-2 and already evaluated included: no level, exit 2."""
    from kubectl_pss.analysis.findings import VerdictCache

    for ns in ("a", "b", "c"):
        apiserver.add_namespace(ns)
        for i in range(2):
            apiserver.add_pod(ns, f"p{i}", {"containers": [{"name": "c", "image": "i"}], "hostNetwork": ns == "a"})
    monkeypatch.setattr(inventory_mod, "PAGE_SIZE", 2)
    apiserver.inject("/api/v1/pods", 503, page=3, times=FOREVER, exact=True)
    graded: list[str] = []
    grade = VerdictCache.grade

    def spy(self, obj, version):
        graded.append(obj["metadata"]["namespace"])
        return grade(self, obj, version)

    monkeypatch.setattr(VerdictCache, "grade", spy)
    code, out, err = run_on(run_cli, apiserver, "audit", "-A", "-o", "json")
    report = by_name(json.loads(out))
    assert code == 2, err
    assert graded == ["a", "a", "b", "b"]  # pages 1 and 2 evaluated before page 3 failed
    for ns in ("a", "b", "c"):
        assert report[ns]["complete"] is False and report[ns]["strictestLevel"] is None, report[ns]
        assert any(e.startswith("pods: ") for e in report[ns]["errors"])
    assert report["a"]["violatesEnforce"] is None  # privileged by default: nothing violated, not known clean


@pytest.mark.parametrize("fault", [503, "truncated"])
def test_named_namespaces_are_read_one_by_one_when_the_namespace_list_fails(run_cli, apiserver, monkeypatch, fault):
    """`-n a` needs namespace a only: a namespace list that fails part-way (page 2 of 2) is no reason to read
    nothing. The named ones are read one by one (as when listing is forbidden); one that cannot be read is
    still an error of its own."""
    from kubectl_pss.cluster import client as client_mod

    monkeypatch.setattr(client_mod, "BACKOFF", (0.0,))
    monkeypatch.setattr("kubectl_pss.cluster.inventory.PAGE_SIZE", 5)
    for i in range(8):
        apiserver.add_namespace(f"n{i}", {"pod-security.kubernetes.io/enforce": "baseline"})
    apiserver.add_pod("n1", "web")
    apiserver.inject("/api/v1/namespaces", fault, page=2, times=FOREVER, exact=True)
    code, out, err = run_cli("audit", "-n", "n1", "--kubeconfig", apiserver.kubeconfig_path, "--fail-on", "baseline",
                             "-o", "json")
    assert code == 0, err
    [entry] = json.loads(out)["namespaces"]
    assert (entry["name"], entry["complete"], entry["strictestLevel"]) == ("n1", True, "baseline")
    assert apiserver.requests_to("/api/v1/namespaces/n1")
    code, out, err = run_cli("audit", "-n", "n1,gone", "--kubeconfig", apiserver.kubeconfig_path, "-o", "json")
    assert code == 2 and 'namespaces "gone" not found' in err
