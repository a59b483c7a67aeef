"""``kubectl pss fix KIND/NAME -n NS`` and ``--from-audit-json`` against the fake API server through the
real client: the recorded PATCH bodies, nothing sent without --yes, the dry run first, the undo file."""
from __future__ import annotations

import json

import jsonschema
import pytest

from tests.commands.test_fix import SCHEMA

DEPLOYMENT = {
    "kind": "Deployment", "apiVersion": "apps/v1", "metadata": {"name": "web", "namespace": "shop"},
    "spec": {"template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [
        {"name": "nginx", "image": "nginx", "securityContext": {"allowPrivilegeEscalation": True}},
        {"name": "metrics", "image": "m", "securityContext": {"capabilities": {"drop": ["NET_RAW"]}}}]}}},
}
PRIVILEGED = {
    "kind": "DaemonSet", "apiVersion": "apps/v1", "metadata": {"name": "agent", "namespace": "shop"},
    "spec": {"template": {"spec": {"hostNetwork": True, "containers": [
        {"name": "a", "image": "a", "securityContext": {"privileged": True}}]}}},
}
PATH = "/apis/apps/v1/namespaces/shop/deployments/web"


@pytest.fixture
def cluster(apiserver):
    apiserver.add_namespace("shop", {"pod-security.kubernetes.io/warn": "restricted"})
    apiserver.add(DEPLOYMENT)
    apiserver.add(PRIVILEGED)
    return apiserver


def fix(run_cli, cluster, *argv):
    return run_cli("fix", *argv, "--kubeconfig", cluster.kubeconfig_path)


def test_plan_prints_the_patch_and_the_kubectl_line_and_sends_nothing(run_cli, cluster):
    code, out, err = fix(run_cli, cluster, "deployment/web", "-n", "shop", "--level", "restricted")
    assert code == 0, err
    patch = json.loads(out.split("\n", 1)[1].rsplit("\nkubectl patch", 1)[0])
    assert patch == {"spec": {"template": {"spec": {
        "containers": [
            {"name": "nginx", "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}},
            {"name": "metrics", "securityContext": {"allowPrivilegeEscalation": False,
                                                    "capabilities": {"drop": ["NET_RAW", "ALL"]}}}],
        "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}}}}}
    assert "\nkubectl patch deployment web -n shop --type strategic -p '" in out
    assert "pass --yes" in err
    assert cluster.requests_to(PATH, "PATCH") == []


def test_yes_dry_runs_then_patches_with_an_undo_file(run_cli, cluster, tmp_path):
    undo = tmp_path / "undo.json"
    code, out, err = fix(run_cli, cluster, "deployment/web", "-n", "shop", "--level", "restricted", "--yes",
                         "--undo-file", undo, "-o", "json")
    assert code == 0, err
    report = json.loads(out)
    jsonschema.validate(report, SCHEMA, cls=jsonschema.Draft202012Validator)
    [obj] = report["objects"]
    assert obj["result"] == {"status": "applied"} and report["undoFile"] == str(undo)
    dry, real = cluster.requests_to(PATH, "PATCH")
    assert dry.query.get("dryRun") == "All" and "dryRun" not in real.query
    assert json.loads(real.body) == obj["patch"] == json.loads(dry.body)
    assert real.headers.get("Content-Type", real.headers.get("content-type", "")).startswith(
        "application/strategic-merge-patch+json")
    stored = cluster.get_object("deployments", "shop", "web")
    nginx = stored["spec"]["template"]["spec"]["containers"][0]
    assert nginx["securityContext"] == {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}
    assert "rollout" in err
    saved = json.loads(undo.read_text())
    [entry] = saved["objects"]
    assert entry["state"] == "applied" and entry["name"] == "web"
    assert entry["undoPatch"]["spec"]["template"]["spec"]["containers"][0] == {
        "name": "metrics", "securityContext": {"allowPrivilegeEscalation": None, "capabilities": {"drop": ["NET_RAW"]}}}
    # fixing again: nothing left to patch
    code, out, err = fix(run_cli, cluster, "deployment/web", "-n", "shop", "--level", "restricted")
    assert (code, out) == (0, "")


def test_a_dry_run_with_podsecurity_warnings_is_not_applied(run_cli, cluster, tmp_path):
    code, out, err = fix(run_cli, cluster, "daemonset/agent", "-n", "shop", "--level", "restricted", "--yes",
                         "--undo-file", tmp_path / "u.json", "-o", "json")
    report = json.loads(out)
    [obj] = report["objects"]
    assert code == 1 and obj["result"]["status"] == "refused"
    assert obj["result"]["reason"] == ("the server's dry run warns: would violate PodSecurity \"restricted:latest\": "
                                       "host namespaces, privileged, allowPrivilegeEscalation != false")
    assert [d["check"] for d in obj["needsDecision"]] == ["hostNamespaces", "privileged", "allowPrivilegeEscalation"]
    patches = cluster.requests_to("/apis/apps/v1/namespaces/shop/daemonsets/agent", "PATCH")
    assert [p.query.get("dryRun") for p in patches] == ["All"]  # the dry run only
    assert not (tmp_path / "u.json").exists()


def test_from_audit_json_patches_every_owner(run_cli, cluster, tmp_path):
    audit = tmp_path / "audit.json"
    code, out, _ = run_cli("simulate", "restricted", "-n", "shop", "-o", "json", "--kubeconfig",
                           cluster.kubeconfig_path)
    audit.write_text(out)
    code, out, err = fix(run_cli, cluster, "--from-audit-json", audit, "--level", "restricted", "-o", "json")
    report = json.loads(out)
    names = sorted((o["kind"], o["name"]) for o in report["objects"])
    assert names == [("DaemonSet", "agent"), ("Deployment", "web")], err
    assert all(r.method == "GET" for r in cluster.requests if "/apis/" in r.path)


def test_pods_and_jobs_are_not_patched(run_cli, cluster):
    code, out, err = fix(run_cli, cluster, "pod/x", "job/y", "-n", "shop", "--level", "restricted")
    assert code == 2 and "fix its owner" in err and "CronJob" in err


@pytest.mark.parametrize("dry_run, dry_runs_sent", [("client", 0), ("server", 1)])
def test_dry_run_changes_nothing_even_with_yes(run_cli, cluster, tmp_path, dry_run, dry_runs_sent):
    undo = tmp_path / "undo.json"
    code, out, err = fix(run_cli, cluster, "deployment/web", "-n", "shop", "--level", "restricted", "--yes",
                         f"--dry-run={dry_run}", "--undo-file", undo, "-o", "json")
    assert code == 0, err
    patches = cluster.requests_to(PATH, "PATCH")
    assert [r.query.get("dryRun") for r in patches] == ["All"] * dry_runs_sent
    assert not undo.exists()
    [obj] = json.loads(out)["objects"]
    if dry_run == "server":
        assert obj["result"]["status"] == "dry-run" and "dry run passed" in obj["result"]["reason"]


@pytest.mark.parametrize("content, message", [(None, "no such file"), ("{not json", "--from-audit-json ")])
def test_an_unreadable_audit_json_is_one_line(run_cli, cluster, tmp_path, content, message):
    path = tmp_path / "audit.json"
    if content is not None:
        path.write_text(content)
    code, out, err = fix(run_cli, cluster, "--from-audit-json", path, "--level", "restricted")
    assert (code, out) == (2, "") and err.count("\n") == 1 and message in err.lower() and "--from-audit-json" in err


def _fixed_with_undo(run_cli, cluster, tmp_path):
    """fix --yes on deployment/web: (the stored object before, the undo file's path)."""
    before = cluster.get_object("deployments", "shop", "web")
    undo = tmp_path / "undo.json"
    code, _, err = fix(run_cli, cluster, "deployment/web", "-n", "shop", "--level", "restricted", "--yes",
                       "--undo-file", undo)
    assert code == 0, err
    return before, undo


def _template(obj):
    """The pod template, empty securityContext objects left by a removal dropped (as absent)."""
    def prune(node):
        if isinstance(node, dict):
            return {k: prune(v) for k, v in node.items() if v != {}}
        return [prune(v) for v in node] if isinstance(node, list) else node
    return prune(obj["spec"]["template"])


def test_undo_round_trip_restores_the_pod_template(run_cli, cluster, tmp_path):
    before, undo = _fixed_with_undo(run_cli, cluster, tmp_path)
    assert _template(cluster.get_object("deployments", "shop", "web")) != _template(before)
    redo = tmp_path / "redo.json"
    code, out, err = fix(run_cli, cluster, "--undo", undo, "--yes", "--undo-file", redo, "-o", "json")
    assert code == 0, err
    report = json.loads(out)
    jsonschema.validate(report, SCHEMA, cls=jsonschema.Draft202012Validator)
    [obj] = report["objects"]
    assert obj["result"] == {"status": "applied"} and report["undoFile"] == str(redo)
    assert obj["levelAfter"] == "baseline" and obj["levelBefore"] == "restricted"
    assert {"path": "spec.template.spec.containers[name=nginx].securityContext.allowPrivilegeEscalation",
            "from": False, "to": True} in obj["changes"]
    assert _template(cluster.get_object("deployments", "shop", "web")) == _template(before)
    containers = cluster.get_object("deployments", "shop", "web")["spec"]["template"]["spec"]["containers"]
    assert containers == before["spec"]["template"]["spec"]["containers"]  # exact, not pruned
    dry, real = cluster.requests_to(PATH, "PATCH")[-2:]
    assert dry.query.get("dryRun") == "All" and "dryRun" not in real.query
    assert json.loads(real.body) == obj["patch"] == json.loads(undo.read_text())["objects"][0]["undoPatch"]
    # the redo file applies the fix again
    [entry] = json.loads(redo.read_text())["objects"]
    assert entry["state"] == "applied" and entry["undoPatch"] == json.loads(undo.read_text())["objects"][0]["patch"]
    code, _, err = fix(run_cli, cluster, "--undo", redo, "--yes", "--undo-file", tmp_path / "again.json")
    assert code == 0, err
    code, out, _ = fix(run_cli, cluster, "deployment/web", "-n", "shop", "--level", "restricted")
    assert (code, out) == (0, "")


def test_undo_without_yes_sends_nothing(run_cli, cluster, tmp_path):
    _, undo = _fixed_with_undo(run_cli, cluster, tmp_path)
    sent = len(cluster.requests_to(PATH, "PATCH"))
    code, out, err = fix(run_cli, cluster, "--undo", undo)
    assert code == 0, err
    assert "# Deployment/web -n shop" in out and "\nkubectl patch deployment web -n shop --type strategic" in out
    assert "pass --yes" in err
    assert len(cluster.requests_to(PATH, "PATCH")) == sent


def test_undo_refuses_an_object_changed_since_unless_forced(run_cli, cluster, tmp_path):
    _, undo = _fixed_with_undo(run_cli, cluster, tmp_path)
    changed = cluster.get_object("deployments", "shop", "web")
    changed["spec"]["template"]["spec"]["containers"][0]["securityContext"]["capabilities"] = {"drop": ["NET_RAW"]}
    cluster.add(changed, "deployments")
    sent = len(cluster.requests_to(PATH, "PATCH"))
    code, out, err = fix(run_cli, cluster, "--undo", undo, "--yes", "--undo-file", tmp_path / "r.json", "-o", "json")
    assert code == 1
    [obj] = json.loads(out)["objects"]
    assert obj["result"]["status"] == "refused" and "changed since" in obj["result"]["reason"]
    assert "not restored" in err and len(cluster.requests_to(PATH, "PATCH")) == sent
    assert not (tmp_path / "r.json").exists()
    code, out, err = fix(run_cli, cluster, "--undo", undo, "--yes", "--force", "--undo-file", tmp_path / "r.json")
    assert code == 0, err
    assert cluster.get_object("deployments", "shop", "web")["spec"]["template"]["spec"]["containers"][0][
        "securityContext"] == {"allowPrivilegeEscalation": True}


def test_an_intended_entry_never_applied_is_nothing_to_do(run_cli, cluster, tmp_path):
    before, undo = _fixed_with_undo(run_cli, cluster, tmp_path)
    saved = json.loads(undo.read_text())
    saved["objects"][0]["state"] = "intended"
    undo.write_text(json.dumps(saved))
    cluster.add(before, "deployments")  # the PATCH never happened
    sent = len(cluster.requests_to(PATH, "PATCH"))
    code, out, err = fix(run_cli, cluster, "--undo", undo, "--yes", "--undo-file", tmp_path / "r.json", "-o", "json")
    assert code == 0, err
    [obj] = json.loads(out)["objects"]
    assert obj["patch"] is None and obj["result"] is None and "nothing to do" in obj["notes"][0]
    assert len(cluster.requests_to(PATH, "PATCH")) == sent and not (tmp_path / "r.json").exists()
    # the same entry when the PATCH did happen: restored
    (tmp_path / "again").mkdir()
    _fixed_with_undo(run_cli, cluster, tmp_path / "again")
    code, out, err = fix(run_cli, cluster, "--undo", undo, "--yes", "--undo-file", tmp_path / "r2.json", "-o", "json")
    [obj] = json.loads(out)["objects"]
    assert code == 0 and obj["result"] == {"status": "applied"} and "show it was applied" in obj["notes"][0]


@pytest.mark.parametrize("extra, message", [(["--level", "restricted"], "--undo restores"),
                                            (["-n", "shop"], "--undo restores")])
def test_undo_bad_input_is_one_line(run_cli, cluster, tmp_path, extra, message):
    _, undo = _fixed_with_undo(run_cli, cluster, tmp_path)
    code, out, err = fix(run_cli, cluster, "--undo", undo, *extra)
    assert (code, out) == (2, "") and err.count("\n") == 1 and message in err
    (tmp_path / "label.json").write_text('{"kind": "KubectlPssLabelUndo", "version": 1, "namespaces": []}')
    code, out, err = fix(run_cli, cluster, "--undo", tmp_path / "label.json")
    assert (code, out) == (2, "") and "not a kubectl-pss fix undo file" in err


def test_undo_dry_run_server_sends_only_the_dry_run(run_cli, cluster, tmp_path):
    before, undo = _fixed_with_undo(run_cli, cluster, tmp_path)
    fixed = cluster.get_object("deployments", "shop", "web")
    sent = len(cluster.requests_to(PATH, "PATCH"))
    code, out, err = fix(run_cli, cluster, "--undo", undo, "--dry-run=server", "-o", "json")
    assert code == 0, err
    [obj] = json.loads(out)["objects"]
    assert obj["result"]["status"] == "dry-run"
    assert [r.query.get("dryRun") for r in cluster.requests_to(PATH, "PATCH")[sent:]] == ["All"]
    assert cluster.get_object("deployments", "shop", "web")["spec"] == fixed["spec"]
