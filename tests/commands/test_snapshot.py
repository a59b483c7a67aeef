"""Snapshots: the kind-cluster demo tells the tutorial's story; dumps round-trip; bad dumps are one line."""
from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from tests.scenarios import load_mixed_cluster

KIND = str(Path(__file__).resolve().parents[2] / "examples" / "kind-cluster.json")
NODE = "psa-wo-cluster-pss-control-plane"


def reasons_by_owner(namespace: dict) -> dict[str, str]:
    return {f"{f['owner']['kind']}/{f['owner']['name']}": ", ".join(v["reason"] for v in f["violations"])
            for f in namespace["findings"]}


def namespaces(report: dict) -> dict[str, dict]:
    return {ns["name"]: ns for ns in report["namespaces"]}


def test_kind_cluster_audit_story(run_cli):
    code, out, _ = run_cli("audit", "--snapshot", KIND, "-o", "json")
    report = json.loads(out)
    assert code == 0
    assert report["cluster"]["policyLatest"] == "v1.29" and report["server"] == {"gitVersion": "v1.29.2", "minor": 29}
    assert report["context"] is None and report["cluster"]["snapshot"] == [KIND]
    assert {name: ns["strictestLevel"] for name, ns in namespaces(report).items()} == {
        "default": "baseline", "kube-node-lease": "restricted", "kube-public": "restricted",
        "kube-system": "privileged", "local-path-storage": "baseline"}
    assert any("1 ConfigMap" in note for note in report["notes"])


def test_kind_cluster_baseline_story_matches_the_tutorials_server_dry_run(run_cli):
    # The tutorial's `kubectl label --dry-run=server ... enforce=baseline` warns only about kube-system:
    #   etcd-... (and 3 other pods): host namespaces, hostPath volumes
    #   kindnet-...: non-default capabilities, host namespaces, hostPath volumes
    #   kube-proxy-...: host namespaces, hostPath volumes, privileged
    code, out, _ = run_cli("simulate", "baseline", "--snapshot", KIND, "-o", "json")
    report = json.loads(out)
    assert code == 1
    affected = [ns["name"] for ns in report["namespaces"] if ns["wouldReject"]]
    assert affected == ["kube-system"]
    static = {f"Pod/{component}-{NODE}": "host namespaces, hostPath volumes"
              for component in ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler")}
    assert reasons_by_owner(namespaces(report)["kube-system"]) == {
        **static,
        "DaemonSet/kindnet": "non-default capabilities, host namespaces, hostPath volumes",
        "DaemonSet/kube-proxy": "host namespaces, hostPath volumes, privileged",
    }


def test_kind_cluster_restricted_story(run_cli):
    code, out, _ = run_cli("simulate", "restricted", "--snapshot", KIND, "-o", "json")
    report = json.loads(out)
    assert [ns["name"] for ns in report["namespaces"] if ns["wouldReject"]] == ["default", "kube-system", "local-path-storage"]
    system = reasons_by_owner(namespaces(report)["kube-system"])
    assert system["Deployment/coredns"] == "unrestricted capabilities, runAsNonRoot != true, seccompProfile"
    assert system[f"Pod/etcd-{NODE}"] == (
        "host namespaces, allowPrivilegeEscalation != false, unrestricted capabilities, restricted volume types, runAsNonRoot != true")
    assert system["DaemonSet/kube-proxy"] == (
        "host namespaces, privileged, allowPrivilegeEscalation != false, unrestricted capabilities, "
        "restricted volume types, runAsNonRoot != true, seccompProfile")
    coredns = next(f for f in namespaces(report)["kube-system"]["findings"] if f["owner"]["name"] == "coredns")
    assert coredns["pods"] == ["coredns-76f75df574-hsptc", "coredns-76f75df574-wq8l5"] and coredns["template"]
    assert reasons_by_owner(namespaces(report)["local-path-storage"]) == {
        "Deployment/local-path-provisioner": "allowPrivilegeEscalation != false, unrestricted capabilities, "
                                             "runAsNonRoot != true, seccompProfile"}
    assert reasons_by_owner(namespaces(report)["default"]) == {
        "Pod/nginx": "allowPrivilegeEscalation != false, unrestricted capabilities, runAsNonRoot != true, seccompProfile"}
    assert report["summary"]["podsRejected"] == 10


def test_server_version_flag_changes_what_latest_means(run_cli):
    # kubeadm's probes name host 127.0.0.1: baseline from v1.34 on forbids that.
    _, out, _ = run_cli("simulate", "baseline", "--snapshot", KIND, "--server-version", "v1.34", "-o", "json")
    report = json.loads(out)
    assert report["policyVersion"] == "v1.34"
    assert reasons_by_owner(namespaces(report)["kube-system"])[f"Pod/etcd-{NODE}"] == (
        "host namespaces, hostPath volumes, probe or lifecycle host")


def test_snapshot_without_version_says_so(tmp_path, run_cli):
    doc = json.loads(Path(KIND).read_text())
    doc["items"] = [i for i in doc["items"] if "kind" in i]
    (tmp_path / "dump.json").write_text(json.dumps(doc))
    _, out, _ = run_cli("audit", "--snapshot", str(tmp_path / "dump.json"), "-o", "json")
    report = json.loads(out)
    assert report["cluster"]["policyLatest"] == "v1.37"
    assert any("names no server version" in note for note in report["notes"])


def test_snapshot_from_directory_and_stdin_and_namespace_filter(tmp_path, run_cli, monkeypatch):
    doc = json.loads(Path(KIND).read_text())
    (tmp_path / "a.json").write_text(json.dumps({"kind": "List", "items": doc["items"][:8]}))
    (tmp_path / "b.yaml").write_text("\n---\n".join(json.dumps(i) for i in doc["items"][8:]))
    code, out, _ = run_cli("audit", "--snapshot", str(tmp_path), "-n", "kube-system", "-o", "json")
    assert code == 0 and [ns["name"] for ns in json.loads(out)["namespaces"]] == ["kube-system"]
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(Path(KIND).read_bytes())))
    code, out, _ = run_cli("audit", "--snapshot", "-", "-o", "json")
    assert code == 0 and len(json.loads(out)["namespaces"]) == 5


@pytest.mark.parametrize("content, message", [
    ("{not json", "invalid JSON"),
    ('{"kind": "List", "items": [{"kind": "Pod", "metadata": {"name": "p", "namespace": "a"}}]}', "no Namespace objects"),
    ('{"kind": "List", "items": [{"kind": "Namespace", "metadata": {"name": "a"}}, {"kind": "Pod", "spec": {}}]}',
     "a Pod has no metadata.name"),
    ('{"kind": "List", "items": [{"kind": "Namespace", "metadata": {"name": "a"}}, {"kind": "Pod", "metadata": {"name": "p"}}]}',
     "Pod p has no metadata.namespace"),
])
def test_bad_snapshots_are_one_line_exit_2(tmp_path, run_cli, content, message):
    (tmp_path / "bad.json").write_text(content)
    code, out, err = run_cli("audit", "--snapshot", str(tmp_path / "bad.json"))
    assert code == 2 and out == "" and err.count("\n") == 1 and message in err and err.startswith("error: --snapshot: ")


@pytest.mark.parametrize("argv, message", [
    (["audit", "--server-version", "v1.30"], "--server-version goes with --snapshot"),
    (["audit", "--snapshot", KIND, "--server-version", "1.30"], 'invalid --server-version "1.30"'),
    (["audit", "--snapshot", KIND, "--server-version", "latest"], 'invalid --server-version "latest"'),
    (["audit", "--snapshot", KIND, "--context", "x"], "--context does not apply"),
    (["simulate", "baseline", "--snapshot", KIND, "--cluster", "c", "--user", "u"], "--cluster and --user do not apply"),
    (["simulate", "restricted", "--snapshot", KIND, "--server-dry-run"], "--server-dry-run needs a live cluster"),
    (["snapshot"], "the following arguments are required: --output-file/-o"),
])
def test_snapshot_flag_errors(run_cli, argv, message):
    code, _, err = run_cli(*argv)
    assert code == 2 and message in err and err.count("\n") == 1


def test_snapshot_round_trip_gives_the_same_audit(apiserver, tmp_path, run_cli):
    load_mixed_cluster(apiserver)
    dump = tmp_path / "dump.json"
    code, _, err = run_cli("snapshot", "-A", "-o", str(dump), "--kubeconfig", str(apiserver.kubeconfig_path))
    assert code == 0 and err.startswith(f"wrote {dump}: ")
    snapshot = json.loads(dump.read_text())
    assert (snapshot["apiVersion"], snapshot["kind"]) == ("v1", "List")
    items = snapshot["items"]
    assert items[0]["apiVersion"] == "kubectl-pss/v1" and items[0]["kind"] == "ClusterInfo"
    assert items[0]["serverVersion"]["gitVersion"] == "v1.34.2"
    assert all(isinstance(i.get("kind"), str) and isinstance(i.get("apiVersion"), str) for i in items)  # a valid List
    assert not any(i.get("kind") == "Secret" for i in items)
    assert all("managedFields" not in i.get("metadata", {}) for i in items)
    _, live, _ = run_cli("audit", "-A", "--kubeconfig", str(apiserver.kubeconfig_path), "-o", "json")
    _, offline, _ = run_cli("audit", "--snapshot", str(dump), "-o", "json")
    live, offline = json.loads(live), json.loads(offline)
    assert offline["namespaces"] == live["namespaces"]
    assert offline["server"] == live["server"] == {"gitVersion": "v1.34.2", "minor": 34}
    assert offline["context"] is None and live["context"] == "fake"
    assert not any("ignored objects" in note for note in offline["notes"])  # ClusterInfo is read, not ignored
    code, out, _ = run_cli("check", "-f", str(dump), "-o", "json")
    assert not any(s["kind"] == "ClusterInfo" for s in json.loads(out)["skipped"])
    assert offline["cluster"]["policyLatest"] == live["cluster"]["policyLatest"] == "v1.34"
    code, _, err = run_cli("snapshot", "-A", "-o", str(dump), "--kubeconfig", str(apiserver.kubeconfig_path))
    assert code == 2 and "exists: pass --overwrite" in err


def test_latest_newest_evaluates_latest_as_the_tools_newest_version(run_cli):
    # kubeadm's probes name host 127.0.0.1, which baseline forbids from v1.34: a v1.29 cluster does not care yet.
    _, out, _ = run_cli("simulate", "baseline", "--snapshot", KIND, "--latest", "newest", "-o", "json")
    report = json.loads(out)
    assert report["policyVersion"] == "v1.37" and report["cluster"]["policyLatest"] == "v1.37"
    assert any("--latest newest" in note and "v1.29" in note for note in report["notes"])
    assert reasons_by_owner(namespaces(report)["kube-system"])[f"Pod/etcd-{NODE}"] == (
        "host namespaces, hostPath volumes, probe or lifecycle host")
    _, out, _ = run_cli("simulate", "baseline", "--snapshot", KIND, "--version", "v1.35", "-o", "json")
    assert json.loads(out)["policyVersion"] == "v1.29"  # the cluster clamps a newer pinned version, as its server does


@pytest.mark.parametrize("word", ["table", "json", "yaml", "wide", "name"])
def test_snapshot_o_refuses_a_format_word(run_cli, tmp_path, monkeypatch, word):
    """``-o json`` is an output format everywhere else: snapshot does not write a file named json."""
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli("snapshot", "-o", word, "--kubeconfig", str(tmp_path / "none"))
    assert (code, out) == (2, "") and list(tmp_path.iterdir()) == []
    assert err == (f'error: -o "{word}": snapshot writes a dump to a file, not an output format: '
                   "give --output-file FILE (.json or .yaml), or --output-file - for stdout\n")


def test_snapshot_output_file(apiserver, tmp_path, run_cli):
    load_mixed_cluster(apiserver)
    dump = tmp_path / "json"  # a file that happens to be named like a format: fine with --output-file
    code, _, err = run_cli("snapshot", "-A", "--output-file", str(dump), "--kubeconfig", str(apiserver.kubeconfig_path))
    assert code == 0 and err.startswith(f"wrote {dump}: ")
    assert json.loads(dump.read_text())["kind"] == "List"


# --- a snapshot read in part is never clean (review of issue 12) ----------------------------------------
def test_partly_read_snapshot_audits_the_unread_namespace_as_incomplete(apiserver, tmp_path, run_cli):
    load_mixed_cluster(apiserver)
    apiserver.forbid("pods")
    apiserver.forbid("pods", namespace="prod")  # the per-namespace fallback fails for prod only
    dump = tmp_path / "dump.json"
    code, _, err = run_cli("snapshot", "-A", "-o", str(dump), "--kubeconfig", str(apiserver.kubeconfig_path))
    assert code == 2 and 'error: namespace "prod": pods: ' in err
    code, out, _ = run_cli("audit", "--snapshot", str(dump), "-o", "json")
    report = namespaces(json.loads(out))
    assert code == 2 and report["prod"]["complete"] is False and report["prod"]["errors"][0].startswith("pods: ")
    assert report["default"]["complete"] is True
    code, out, _ = run_cli("simulate", "restricted", "--snapshot", str(dump), "-n", "prod", "-o", "json")
    assert code == 2 and json.loads(out)["namespaces"][0]["verdict"] == "unknown"


def test_namespaces_only_dump_is_not_no_pods(tmp_path, run_cli):
    doc = json.loads(Path(KIND).read_text())
    doc["items"] = [i for i in doc["items"] if i.get("kind") in (None, "Namespace")]  # kubectl get ns -o json
    (tmp_path / "ns.json").write_text(json.dumps(doc))
    code, out, _ = run_cli("audit", "--snapshot", str(tmp_path / "ns.json"), "-o", "json")
    report = namespaces(json.loads(out))
    assert code == 2 and report["kube-system"]["complete"] is False
    assert "no Pod objects and no kubectl-pss ClusterInfo item" in report["kube-system"]["errors"][0]
    code, out, _ = run_cli("simulate", "restricted", "--snapshot", str(tmp_path / "ns.json"), "-o", "json")
    assert code == 2 and {ns["verdict"] for ns in json.loads(out)["namespaces"]} == {"unknown"}
    # a dump that declares its (empty) lists reads as no pods; a ClusterInfo names every list it holds
    lists = ["namespaces", "pods", "replicationcontrollers", "replicasets", "deployments", "statefulsets",
             "daemonsets", "jobs", "cronjobs"]
    doc["items"].append({"apiVersion": "kubectl-pss/v1", "kind": "ClusterInfo", "lists": lists[:2]})
    (tmp_path / "ns.json").write_text(json.dumps(doc))
    code, out, _ = run_cli("audit", "--snapshot", str(tmp_path / "ns.json"), "-o", "json")
    assert code == 2 and namespaces(json.loads(out))["default"]["errors"][0].startswith("replicationcontrollers: ")
    doc["items"][-1]["lists"] = lists
    (tmp_path / "ns.json").write_text(json.dumps(doc))
    code, out, _ = run_cli("audit", "--snapshot", str(tmp_path / "ns.json"), "-o", "json")
    assert code == 0 and all(ns["complete"] for ns in json.loads(out)["namespaces"])


def test_kubectl_pss_snapshot_missing_a_list_is_incomplete(apiserver, tmp_path, run_cli):
    load_mixed_cluster(apiserver)
    dump = tmp_path / "dump.json"
    run_cli("snapshot", "-A", "-o", str(dump), "--kubeconfig", str(apiserver.kubeconfig_path))
    doc = json.loads(dump.read_text())
    [info] = [i for i in doc["items"] if i.get("kind") == "ClusterInfo"]
    assert info["apiVersion"] == "kubectl-pss/v1" and info["readErrors"] == [] and "deployments" in info["lists"]
    info["lists"].remove("deployments")
    dump.write_text(json.dumps(doc))
    code, out, _ = run_cli("audit", "--snapshot", str(dump), "-o", "json")
    assert code == 2 and not any(ns["complete"] for ns in json.loads(out)["namespaces"])


def test_simulate_takes_l_colon_v(run_cli):
    """(review of issue 12) simulate restricted:v1.29 is simulate restricted --version v1.29."""
    code, out, err = run_cli("simulate", "restricted:v1.25", "--snapshot", KIND, "-o", "json")
    report = json.loads(out)
    assert report["version"] == "v1.25" and report["level"] == "restricted", err
    code, _, err = run_cli("simulate", "restricted:v1.25", "--version", "v1.26", "--snapshot", KIND)
    assert code == 2 and 'level "restricted:v1.25" and --version "v1.26" name different versions' in err


@pytest.mark.parametrize("info, message", [
    ({"lists": "pods"}, "ClusterInfo.lists is not a list of resource names"),
    ({"lists": ["pods"], "readErrors": [{"namespace": 1, "resource": "pods"}]}, "ClusterInfo.readErrors is not a list"),
])
def test_a_malformed_cluster_info_is_one_line(tmp_path, run_cli, info, message):
    (tmp_path / "s.json").write_text(json.dumps({"kind": "List", "items": [
        {"kind": "Namespace", "metadata": {"name": "a"}}, {"apiVersion": "kubectl-pss/v1", "kind": "ClusterInfo", **info}]}))
    code, out, err = run_cli("audit", "--snapshot", str(tmp_path / "s.json"))
    assert code == 2 and out == "" and err.count("\n") == 1 and message in err


def test_cluster_info_without_lists_declares_nothing(tmp_path, run_cli):
    """A ClusterInfo item with only the server version (or read errors): the Pod-items rule applies."""
    (tmp_path / "s.json").write_text(json.dumps({"kind": "List", "items": [
        {"kind": "Namespace", "metadata": {"name": "a"}},
        {"apiVersion": "kubectl-pss/v1", "kind": "ClusterInfo", "serverVersion": {"gitVersion": "v1.30.1"}}]}))
    code, out, _ = run_cli("audit", "--snapshot", str(tmp_path / "s.json"), "-o", "json")
    assert code == 2 and json.loads(out)["namespaces"][0]["complete"] is False
