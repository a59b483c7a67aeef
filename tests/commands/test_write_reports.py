"""``audit --write-reports [--yes]`` against the fake API server serving the report CRDs
(tests/apiserver/reports.py): the requests it records are what is checked."""
from __future__ import annotations

import threading

import pytest
import yaml

from tests.report.crds import crd_errors
from tests.scenarios import load_mixed_cluster

WG = "/apis/wgpolicyk8s.io/v1alpha2"
MANAGED = {"app.kubernetes.io/managed-by": "kubectl-pss"}
NAMESPACES = ("batch", "default", "good", "kube-system", "prod", "sandbox")


@pytest.fixture
def cluster(apiserver):
    load_mixed_cluster(apiserver)
    apiserver.reports.install()
    return apiserver


def write(run_cli, cluster, *extra):
    return run_cli("audit", "--kubeconfig", cluster.kubeconfig_path, "--write-reports", *extra)


def writes(cluster):
    return [r for r in cluster.requests if r.method in ("POST", "PUT", "PATCH", "DELETE")]


def report(namespace, name="kubectl-pss", labels=MANAGED, kind="PolicyReport"):
    metadata = {"name": name, "labels": dict(labels)}
    if namespace:
        metadata["namespace"] = namespace
    return {"apiVersion": "wgpolicyk8s.io/v1alpha2", "kind": kind, "metadata": metadata,
            "summary": {"pass": 1}, "results": [{"policy": "someone-else", "result": "pass"}]}


def test_without_yes_the_plan_is_shown_and_nothing_is_written(run_cli, cluster):
    code, out, err = write(run_cli, cluster, "-A")
    assert (code, err) == (0, "")
    assert writes(cluster) == []
    assert cluster.reports.of("policyreports") == []
    assert out.splitlines()[0] == "plan (nothing is changed without --yes):"
    assert "  policyreport kubectl-pss -n prod: create (1 fail, 0 error, 0 pass, 0 skip)" in out
    assert out.rstrip().endswith("run again with --yes to write them")
    assert all(r.method == "GET" for r in cluster.requests)


def test_yes_creates_one_report_per_namespace_with_the_field_manager(run_cli, cluster):
    code, out, err = write(run_cli, cluster, "-A", "--yes")
    assert (code, err) == (0, "")
    posts = writes(cluster)
    assert [(r.method, r.path) for r in posts] == [
        ("POST", f"{WG}/namespaces/{ns}/policyreports") for ns in NAMESPACES]
    for request in posts:
        assert request.query == {"fieldManager": "kubectl-pss"}
        assert request.header("Content-Type") == "application/json"
        body = request.json
        assert crd_errors(body) == []
        assert body["metadata"] == {"name": "kubectl-pss", "namespace": request.path.split("/")[5], "labels": MANAGED}
        assert request.reply.status == 201
    stored = cluster.reports.get("policyreports", "prod", "kubectl-pss")
    assert stored["summary"]["fail"] == 1 and stored["metadata"]["managedFields"][0]["manager"] == "kubectl-pss"
    assert "policyreport kubectl-pss -n prod: created (1 fail, 0 error, 0 pass, 0 skip)" in out


def test_a_second_run_updates_with_the_resource_version_read(run_cli, cluster):
    assert write(run_cli, cluster, "-A", "--yes")[0] == 0
    before = {ns: cluster.reports.get("policyreports", ns, "kubectl-pss")["metadata"] for ns in NAMESPACES}
    cluster.clear_requests()
    code, out, _ = write(run_cli, cluster, "-A", "--yes")
    assert code == 0
    puts = writes(cluster)
    assert [(r.method, r.path) for r in puts] == [
        ("PUT", f"{WG}/namespaces/{ns}/policyreports/kubectl-pss") for ns in NAMESPACES]
    for request in puts:
        ns = request.path.split("/")[5]
        assert request.json["metadata"]["resourceVersion"] == before[ns]["resourceVersion"]
        assert request.reply.status == 200
    assert cluster.reports.get("policyreports", "prod", "kubectl-pss")["metadata"]["uid"] == before["prod"]["uid"]
    assert "policyreport kubectl-pss -n good: updated" in out


def test_an_update_keeps_labels_and_annotations_others_added(run_cli, cluster):
    mine = report("good")
    mine["metadata"]["labels"]["team"] = "web"
    mine["metadata"]["annotations"] = {"note": "keep me"}
    cluster.reports.put("policyreports", mine)
    assert write(run_cli, cluster, "-n", "good", "--yes")[0] == 0
    stored = cluster.reports.get("policyreports", "good", "kubectl-pss")
    assert stored["metadata"]["labels"] == {**MANAGED, "team": "web"}
    assert stored["metadata"]["annotations"] == {"note": "keep me"}
    assert {r["policy"] for r in stored["results"]} == {"pod-security-restricted"}


def test_reports_it_does_not_manage_are_never_touched(run_cli, cluster):
    cluster.reports.put("policyreports", report("good", labels={}))  # same name, not ours
    cluster.reports.put("policyreports", report("prod", name="kyverno-polr", labels={"app.kubernetes.io/managed-by": "kyverno"}))
    cluster.reports.put("policyreports", report("prod", name="old-kubectl-pss"))  # ours, stale
    cluster.reports.put("policyreports", report("elsewhere", name="old-kubectl-pss"))  # ours, not audited
    cluster.reports.put("clusterpolicyreports", report(None, name="cluster-audit", labels={}, kind="ClusterPolicyReport"))
    code, out, err = write(run_cli, cluster, "-n", "good,prod", "--yes")
    assert code == 2
    assert [(r.method, r.path, r.reply.status) for r in writes(cluster)] == [
        ("POST", f"{WG}/namespaces/good/policyreports", 409),
        ("POST", f"{WG}/namespaces/prod/policyreports", 201),
        ("DELETE", f"{WG}/namespaces/prod/policyreports/old-kubectl-pss", 200),
    ]
    delete = writes(cluster)[-1].json
    assert delete["preconditions"]["uid"] and delete["preconditions"]["resourceVersion"]
    assert cluster.reports.get("policyreports", "good", "kubectl-pss")["results"][0]["policy"] == "someone-else"
    assert cluster.reports.get("policyreports", "prod", "kyverno-polr") is not None
    assert cluster.reports.get("policyreports", "elsewhere", "old-kubectl-pss") is not None
    assert cluster.reports.get("clusterpolicyreports", None, "cluster-audit") is not None
    assert 'error: create policyreport kubectl-pss -n good: policyreports.wgpolicyk8s.io "kubectl-pss" already exists: ' \
           "it is not labelled app.kubernetes.io/managed-by=kubectl-pss" in err
    assert "policyreport kubectl-pss -n good: create failed" in out
    assert "policyreport old-kubectl-pss -n prod: deleted" in out


def test_lists_ask_only_for_managed_reports(run_cli, cluster):
    write(run_cli, cluster, "-A")
    lists = [r for r in cluster.requests if "wgpolicyk8s.io" in r.path]
    assert [r.path for r in lists] == [f"{WG}/policyreports", f"{WG}/clusterpolicyreports"]
    assert {r.query["labelSelector"] for r in lists} == {"app.kubernetes.io/managed-by=kubectl-pss"}


def test_a_stale_cluster_report_is_deleted_once_the_cluster_reads_cleanly(run_cli, cluster):
    cluster.inject("/api/v1/pods", 503, times=10**9, exact=True)
    code, _, _ = write(run_cli, cluster, "-A", "--yes")
    assert code == 2  # written, but the audit was incomplete
    report_ = cluster.reports.get("clusterpolicyreports", None, "kubectl-pss")
    assert report_["results"][0]["result"] == "error"
    assert cluster.reports.get("policyreports", "good", "kubectl-pss")["summary"]["error"] == 1
    cluster._faults.clear()
    cluster.clear_requests()
    assert write(run_cli, cluster, "-A", "--yes")[0] == 0
    assert ("DELETE", f"{WG}/clusterpolicyreports/kubectl-pss") in [(r.method, r.path) for r in writes(cluster)]
    assert cluster.reports.get("clusterpolicyreports", None, "kubectl-pss") is None
    assert cluster.reports.get("policyreports", "good", "kubectl-pss")["summary"]["error"] == 0


def test_a_report_changed_since_it_was_read_is_a_conflict_and_the_rest_carries_on(run_cli, cluster):
    assert write(run_cli, cluster, "-A", "--yes")[0] == 0
    path = f"{WG}/namespaces/good/policyreports/kubectl-pss"
    held = cluster.hold("PUT", path, 0.3)

    def someone_else_writes():
        held.arrived.wait(10)
        cluster.reports.put("policyreports", cluster.reports.get("policyreports", "good", "kubectl-pss"))

    thread = threading.Thread(target=someone_else_writes)
    thread.start()
    code, out, err = write(run_cli, cluster, "-A", "--yes")
    thread.join()
    assert code == 2
    second = [(r.path, r.reply.status) for r in writes(cluster) if r.method == "PUT"]
    assert sorted(second) == sorted((f"{WG}/namespaces/{ns}/policyreports/kubectl-pss", 409 if ns == "good" else 200)
                                    for ns in NAMESPACES)
    assert "changed since it was read, left as it is for the next run" in err
    assert "policyreport kubectl-pss -n prod: updated" in out


def test_one_forbidden_write_fails_alone(run_cli, cluster):
    cluster.forbid("policyreports", namespace="prod", verbs=["create"])
    code, out, err = write(run_cli, cluster, "-A", "--yes")
    assert code == 2
    assert cluster.reports.get("policyreports", "prod", "kubectl-pss") is None
    assert len(cluster.reports.of("policyreports")) == 5
    assert err.count("\n") == 1 and 'cannot create resource "policyreports" in API group "wgpolicyk8s.io"' in err


def test_without_the_crds_it_says_how_to_install_them(run_cli, apiserver):
    load_mixed_cluster(apiserver)
    code, out, err = write(run_cli, apiserver, "-A", "--yes")
    assert (code, out) == (2, "")
    assert err.startswith("error: the report API wgpolicyk8s.io/v1alpha2 (policyreports.v1alpha2.wgpolicyk8s.io) is "
                          "not served by this cluster: install the CRDs first: kubectl apply -f ")
    assert writes(apiserver) == []
    apiserver.reports.install("wgpolicyk8s.io")
    code, _, err = write(run_cli, apiserver, "-A", "--report-api", "openreports.io/v1alpha1")
    assert code == 2 and "openreports.io_reports.yaml" in err


def test_openreports_are_written_as_reports(run_cli, cluster):
    code, _, _ = write(run_cli, cluster, "-n", "prod", "--yes", "--report-api", "openreports.io/v1alpha1")
    assert code == 0
    [post] = writes(cluster)
    assert post.path == "/apis/openreports.io/v1alpha1/namespaces/prod/reports"
    assert post.json["kind"] == "Report" and post.json["source"] == "kubectl-pss" and crd_errors(post.json) == []
    assert cluster.reports.of("policyreports") == []


def test_server_dry_run_sends_every_write_with_dry_run_all_and_nothing_is_saved(run_cli, cluster):
    cluster.reports.put("policyreports", report("prod", name="old-kubectl-pss"))
    code, out, err = write(run_cli, cluster, "-A", "--dry-run=server")
    assert (code, err) == (0, "")
    sent = writes(cluster)
    assert [r.method for r in sent] == ["POST"] * 6 + ["DELETE"]
    assert all(r.query.get("dryRun") == "All" and r.reply.status in (200, 201) for r in sent)
    assert [r["metadata"]["name"] for r in cluster.reports.of("policyreports")] == ["old-kubectl-pss"]
    assert "policyreport kubectl-pss -n good: created (server dry run)" in out
    assert "policyreport old-kubectl-pss -n prod: deleted (server dry run)" in out


@pytest.mark.parametrize("flags", [["--dry-run=client", "--yes"], ["--dry-run", "--yes"]])
def test_client_dry_run_is_the_plan_even_with_yes(run_cli, cluster, flags):
    code, out, _ = write(run_cli, cluster, "-A", *flags)
    assert code == 0 and writes(cluster) == []
    assert out.startswith("plan (nothing is changed without --yes):")


def test_a_stale_report_someone_else_deleted_meanwhile_is_not_an_error(run_cli, cluster):
    cluster.reports.put("policyreports", report("prod", name="old-kubectl-pss"))
    path = f"{WG}/namespaces/prod/policyreports/old-kubectl-pss"
    held = cluster.hold("DELETE", path, 0.3)

    def someone_else_deletes():
        held.arrived.wait(10)
        del cluster.reports.objects[("policyreports", "prod", "old-kubectl-pss")]

    thread = threading.Thread(target=someone_else_deletes)
    thread.start()
    code, out, err = write(run_cli, cluster, "-n", "prod", "--yes")
    thread.join()
    assert (code, err) == (0, "")
    assert [(r.method, r.reply.status) for r in writes(cluster)] == [("POST", 201), ("DELETE", 404)]
    assert "policyreport old-kubectl-pss -n prod: deleted" in out


@pytest.mark.parametrize("scope", [("-n", "prod"), ("-A", "-l", "kubernetes.io/metadata.name"),
                                   ("-A", "--exclude-namespace", "sandbox")])
def test_a_scoped_run_leaves_the_cluster_report_of_a_cluster_wide_run_alone(run_cli, cluster, scope):
    cluster.inject("/apis/apps/v1/deployments", 500, times=10**9, exact=True)
    assert write(run_cli, cluster, "-A", "--yes")[0] == 2
    held = cluster.reports.get("clusterpolicyreports", None, "kubectl-pss")
    assert held["summary"]["error"] == 1 and held["results"][0]["message"].startswith("deployments")
    cluster._faults.clear()
    cluster.clear_requests()
    code, out, err = write(run_cli, cluster, *scope, "--yes")
    assert code == 0, err
    assert not [r for r in writes(cluster) if "clusterpolicyreports" in r.path]
    assert cluster.reports.get("clusterpolicyreports", None, "kubectl-pss") == held
    assert "the cluster-scoped report kubectl-pss is left alone: only a run over every namespace" in out
    cluster.clear_requests()
    code, out, _ = write(run_cli, cluster, "-n", "prod")  # the plan says so too, and plans no write of it
    assert "clusterpolicyreport" not in out and "is left alone" in out


def test_a_scoped_run_with_a_cluster_wide_failure_does_not_write_the_cluster_report(run_cli, cluster):
    code, out, err = write(run_cli, cluster, "-n", "prod,nowhere", "--yes")
    assert code == 2 and 'namespace "nowhere"' in err
    assert cluster.reports.get("clusterpolicyreports", None, "kubectl-pss") is None
    assert "is left alone" in out and cluster.reports.get("policyreports", "prod", "kubectl-pss") is not None


def test_a_bare_pods_resource_names_its_uid_live_and_from_a_snapshot(run_cli, apiserver, tmp_path):
    """A pod that is its own owner is named by uid as a workload is (consumers match resources by uid); the
    live read (streamed) and its snapshot say the same."""
    apiserver.add_namespace("shop", {"pod-security.kubernetes.io/enforce": "baseline"})
    pod = apiserver.add_pod("shop", "bare", {"containers": [{"name": "c", "image": "i",
                                                             "securityContext": {"privileged": True}}]})
    apiserver.reports.install()
    assert write(run_cli, apiserver, "-n", "shop", "--yes")[0] == 0
    stored = apiserver.reports.get("policyreports", "shop", "kubectl-pss")
    dump = tmp_path / "dump.json"
    assert run_cli("snapshot", "-n", "shop", "--kubeconfig", apiserver.kubeconfig_path, "--output-file", dump)[0] == 0
    code, out, _ = run_cli("audit", "--snapshot", dump, "-o", "policyreport")
    from_snapshot = yaml.safe_load(out)["items"][0]
    for report in (stored, from_snapshot):
        resources = [r for result in report["results"] for r in result.get("resources", [])]
        assert {"apiVersion": "v1", "kind": "Pod", "name": "bare", "namespace": "shop",
                "uid": pod["metadata"]["uid"]} in resources, resources
