"""``label`` end to end: the real CLI and kubernetes client against the fake API server over HTTPS.

Every PATCH the server receives is recorded, so the tests assert exactly what was sent (merge
patch of the pod-security keys only, resourceVersion precondition, dryRun=All for dry runs).
"""
from __future__ import annotations

import io
import json
import os
import signal

import pytest

from tests.scenarios import RESTRICTED_SPEC
from tests.signals import start, wait_held

PSA = "pod-security.kubernetes.io/"


@pytest.fixture(autouse=True)
def in_tmp(tmp_path, monkeypatch):
    """Default undo files land in the working directory: keep them out of the repository."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def cluster(mixed_cluster):
    apiserver = mixed_cluster
    apiserver.add_namespace("team", {"app": "shop", "team": "blue", PSA + "audit": "baseline"},
                            annotations={"owner": "shop-team", "scheduler.alpha.kubernetes.io/node-selector": "pool=a"})
    apiserver.add_pod("team", "web", RESTRICTED_SPEC)
    apiserver.add_namespace("blue-2", {"team": "blue"})
    return apiserver


def label(run_cli, cluster, *argv):
    return run_cli("label", *argv, "--kubeconfig", str(cluster.kubeconfig_path))


def label_json(run_cli, cluster, *argv):
    code, out, err = label(run_cli, cluster, *argv, "-o", "json")
    return code, json.loads(out), err


def by_name(report):
    return {ns["name"]: ns for ns in report["namespaces"]}


def patches(cluster, dry_run=None):
    """PATCH requests received; dry_run True/False filters on dryRun=All."""
    out = [r for r in cluster.requests if r.method == "PATCH"]
    if dry_run is not None:
        out = [r for r in out if (r.query.get("dryRun") == "All") == dry_run]
    return out


def labels_of(cluster, name):
    return cluster.namespace(name)["metadata"].get("labels") or {}


def rv_of(cluster, name):
    return cluster.namespace(name)["metadata"]["resourceVersion"]


def server_warnings(ns, old, new):
    """What a real kube-apiserver answers for the scenario (written out by hand)."""
    enforce = (new.get(PSA + "enforce"), new.get(PSA + "enforce-version", "latest"))
    if ns == "default" and enforce == ("restricted", "latest"):
        return ['existing pods in namespace "default" violate the new PodSecurity enforce level "restricted:latest"',
                "nginx: allowPrivilegeEscalation != false, unrestricted capabilities, runAsNonRoot != true, seccompProfile"]
    if ns == "prod" and enforce == ("restricted", "latest"):
        return ['existing pods in namespace "prod" violate the new PodSecurity enforce level "restricted:latest"',
                "api-7d4b9-b8m1z (and 2 other pods): runAsUser=0"]
    return []


# --- the plan and dry runs --------------------------------------------------------------------
def test_client_dry_run_plans_and_sends_nothing(run_cli, cluster):
    code, report, err = label_json(run_cli, cluster, "default", "prod", "good", "--enforce", "baseline",
                                   "--dry-run=client")
    assert code == 0, err
    assert patches(cluster) == []
    assert report["operation"] == "label" and report["outcome"] == "planned"
    assert report["request"] == {"enforce": "baseline", "audit": None, "warn": None, "stage": False, "force": False,
                                 "dryRun": "client"}
    ns = by_name(report)
    assert list(ns) == ["default", "good", "prod"]
    assert ns["default"]["action"] == "change" and ns["default"]["patch"] == {PSA + "enforce": "baseline"}
    assert ns["default"]["labels"] == {"current": {}, "new": {PSA + "enforce": "baseline"}}
    assert ns["default"]["policy"]["new"]["enforce"] == "baseline:latest"
    # the version label is left as it is: prod stays pinned to v1.30
    assert ns["prod"]["patch"] == {PSA + "enforce": "baseline"}
    assert ns["prod"]["policy"] == {
        "current": {"enforce": "restricted:v1.30", "audit": "privileged:latest", "warn": "restricted:v1.30"},
        "new": {"enforce": "baseline:v1.30", "audit": "privileged:latest", "warn": "baseline:v1.30"}}
    assert ns["prod"]["checkedAt"] == "baseline:v1.30" and ns["prod"]["findings"] == []
    assert all("server" not in entry for entry in report["namespaces"])
    assert report["summary"] == {"namespaces": 3, "change": 3, "unchanged": 0, "exempt": 0, "refused": 0,
                                 "changedSince": 0, "applied": 0, "failed": 0, "notAttempted": 0}


def test_unchanged_namespaces_are_listed(run_cli, cluster):
    code, report, _ = label_json(run_cli, cluster, "good", "--enforce", "restricted", "--dry-run=server")
    assert code == 0 and patches(cluster) == []
    assert by_name(report)["good"]["action"] == "unchanged" and by_name(report)["good"]["patch"] == {}
    assert report["summary"]["unchanged"] == 1


def test_server_dry_run_sends_dry_run_all_and_changes_nothing(run_cli, cluster):
    cluster.namespace_patch_warnings = server_warnings
    before = {name: cluster.namespace(name) for name in ("default", "prod", "team")}
    code, report, err = label_json(run_cli, cluster, "default", "prod", "team", "--enforce", "restricted:latest",
                                   "--dry-run=server")
    ns = by_name(report)
    sent = patches(cluster)
    assert [r.path for r in sent] == ["/api/v1/namespaces/default", "/api/v1/namespaces/prod",
                                      "/api/v1/namespaces/team"]
    assert all(r.query.get("dryRun") == "All" for r in sent)
    assert all(r.header("Content-Type") == "application/merge-patch+json" for r in sent)
    # prod has enforce=restricted already: only its version label changes (v1.30 -> latest)
    assert sent[1].json == {"metadata": {"labels": {PSA + "enforce-version": "latest"},
                                         "resourceVersion": before["prod"]["metadata"]["resourceVersion"]}}
    assert sent[0].json["metadata"]["labels"] == {PSA + "enforce": "restricted", PSA + "enforce-version": "latest"}
    assert {name: cluster.namespace(name) for name in before} == before  # nothing changed, not even resourceVersion
    # the engine and the server agree on what the new level would reject
    assert ns["default"]["server"]["agrees"] is True and ns["prod"]["server"]["agrees"] is True
    assert ns["prod"]["server"]["warnings"][1] == "api-7d4b9-b8m1z (and 2 other pods): runAsUser=0"
    assert ns["team"]["server"] == {"warnings": [], "expected": [], "agrees": True}
    # and refuses what breaks running workloads
    assert ns["default"]["action"] == "refused" and ns["prod"]["action"] == "refused"
    assert ns["team"]["action"] == "change"
    [finding] = ns["prod"]["findings"]
    assert finding["owner"] == {"kind": "Deployment", "name": "api"} and finding["template"] is True
    assert finding["pods"] == ["api-7d4b9-b8m1z", "api-7d4b9-q9w3r", "api-7d4b9-x2k4p"]
    assert ns["prod"]["wouldReject"] is True and ns["prod"]["evaluatedAt"] == "v1.34"
    assert code == 1 and report["outcome"] == "planned" and "dry run and kubectl-pss differ" not in err


def test_server_disagreement_is_loud(run_cli, cluster):
    cluster.namespace_patch_warnings = lambda ns, old, new: ["something else"]
    code, report, err = label_json(run_cli, cluster, "team", "--enforce", "restricted", "--dry-run=server")
    assert by_name(report)["team"]["server"]["agrees"] is False
    assert 'error: namespace "team": the API server\'s dry run and kubectl-pss differ' in err


def test_table_plan(run_cli, cluster):
    code, out, err = label(run_cli, cluster, "batch", "prod", "team", "--enforce", "baseline", "--dry-run=client",
                           "--no-color")
    assert code == 1
    assert out.splitlines()[0] == "Label plan on context fake (server v1.34.2, latest = v1.34)"
    assert "restricted:v1.30 -> baseline:v1.30" in out  # no version given: the version label stays
    assert "- -> baseline" in out and "REFUSED" in out and "Deployment/db" in out
    assert "The new enforce level would reject:" in out
    assert "use --stage to set audit and warn first, or --force" in err


# --- apply --------------------------------------------------------------------------------------
def test_apply_patches_only_pod_security_keys(run_cli, cluster, tmp_path):
    before = cluster.namespace("team")
    undo_path = tmp_path / "undo.json"
    code, out, err = label(run_cli, cluster, "team", "--enforce", "restricted", "--warn", "restricted:v1.30",
                           "--yes", "--undo-file", str(undo_path), "--no-color")
    assert code == 0, err
    [dry, real] = patches(cluster)
    assert dry.query == {"dryRun": "All", "fieldManager": "kubectl-pss"}
    assert real.query == {"fieldManager": "kubectl-pss"}
    expected_body = {"metadata": {"labels": {PSA + "enforce": "restricted", PSA + "warn": "restricted",
                                             PSA + "warn-version": "v1.30"},
                                  "resourceVersion": before["metadata"]["resourceVersion"]}}
    assert dry.json == expected_body and real.json == expected_body
    after = cluster.namespace("team")
    assert after["metadata"]["labels"] == {**before["metadata"]["labels"], PSA + "enforce": "restricted",
                                           PSA + "warn": "restricted", PSA + "warn-version": "v1.30"}
    assert after["metadata"]["labels"]["app"] == "shop" and after["metadata"]["labels"][PSA + "audit"] == "baseline"
    assert after["metadata"]["annotations"] == before["metadata"]["annotations"]
    undo = json.loads(undo_path.read_text())
    assert undo["kind"] == "KubectlPssLabelUndo" and undo["context"] == "fake" and undo["server"] == cluster.url
    assert undo["namespaces"] == [{
        "name": "team",
        "previous": {PSA + "enforce": None, PSA + "warn": None, PSA + "warn-version": None},
        "applied": {PSA + "enforce": "restricted", PSA + "warn": "restricted", PSA + "warn-version": "v1.30"},
        "resourceVersion": after["metadata"]["resourceVersion"], "state": "applied"}]
    assert "Label plan on context fake" in out and "1 applied, 0 failed" in out
    assert f"Undo file: {undo_path}" in out


def test_apply_json_result(run_cli, cluster):
    code, report, err = label_json(run_cli, cluster, "team", "blue-2", "good", "--enforce", "baseline:v1.33", "--yes")
    assert code == 0
    assert report["outcome"] == "applied"
    ns = by_name(report)
    assert ns["team"]["result"] == {"status": "applied", "resourceVersion": rv_of(cluster, "team"), "warnings": []}
    assert ns["good"]["result"]["status"] == "applied"  # loosening restricted:latest -> baseline:v1.33 is allowed
    assert report["summary"]["applied"] == 3
    undo_path = report["undoFile"]
    assert undo_path.startswith("./kubectl-pss-undo-fake-") and undo_path.endswith(".json")
    assert f"undo file: {undo_path}" in err
    assert [n["name"] for n in json.loads(open(undo_path).read())["namespaces"]] == ["blue-2", "good", "team"]


def test_refuses_enforce_level_existing_pods_violate(run_cli, cluster):
    code, out, err = label(run_cli, cluster, "default", "--enforce", "restricted", "--yes", "--no-color")
    assert code == 1
    assert patches(cluster, dry_run=False) == []
    assert PSA + "enforce" not in labels_of(cluster, "default")
    assert "REFUSED" in out and "Pod/nginx" in out
    assert "1 existing pod(s) and 0 workload template(s) violate restricted:latest" in err


def test_refuses_templates_of_idle_workloads(run_cli, cluster):
    # batch: a Deployment scaled to 0 with a hostPath volume, no pods at all
    code, report, _ = label_json(run_cli, cluster, "batch", "--enforce", "baseline", "--yes")
    assert code == 1 and patches(cluster, dry_run=False) == []
    batch = by_name(report)["batch"]
    assert batch["action"] == "refused" and batch["pods"] == 0
    assert [(f["owner"]["name"], f["template"]) for f in batch["findings"]] == [("db", True)]


def test_refusal_does_not_block_the_safe_namespaces(run_cli, cluster):
    code, report, _ = label_json(run_cli, cluster, "default", "team", "--enforce", "restricted", "--yes")
    assert code == 1 and report["outcome"] == "applied"
    assert [r.path for r in patches(cluster, dry_run=False)] == ["/api/v1/namespaces/team"]
    assert by_name(report)["default"]["action"] == "refused" and "result" not in by_name(report)["default"]


def test_force_enforces_anyway(run_cli, cluster):
    cluster.namespace_patch_warnings = server_warnings
    code, report, err = label_json(run_cli, cluster, "default", "--enforce", "restricted", "--yes", "--force")
    assert code == 0 and report["outcome"] == "applied"
    assert 'Warning: namespace "default": existing pods in namespace "default" violate' in err
    assert labels_of(cluster, "default")[PSA + "enforce"] == "restricted"
    default = by_name(report)["default"]
    assert default["forced"] is True and default["findings"] and "enforcing anyway (--force)" in default["notes"][0]


def test_stage_sets_audit_and_warn_first(run_cli, cluster):
    before_prod = labels_of(cluster, "prod")
    code, report, err = label_json(run_cli, cluster, "default", "prod", "--enforce", "restricted", "--stage", "--yes")
    assert code == 0, err
    sent = {r.path.rsplit("/", 1)[1]: r.json["metadata"]["labels"] for r in patches(cluster, dry_run=False)}
    assert sent == {
        "default": {PSA + "audit": "restricted", PSA + "audit-version": "latest",
                    PSA + "warn": "restricted", PSA + "warn-version": "latest"},
        # prod's enforce is pinned to v1.30: staging aims at what enforce would be, restricted:v1.30
        "prod": {PSA + "audit": "restricted", PSA + "audit-version": "v1.30",
                 PSA + "warn-version": "v1.30", PSA + "warn": "restricted"},
    }
    assert PSA + "enforce" not in labels_of(cluster, "default")
    assert labels_of(cluster, "prod")[PSA + "enforce"] == before_prod[PSA + "enforce"]
    ns = by_name(report)
    assert ns["default"]["enforceChange"] is False and ns["default"]["action"] == "change"
    # the findings say what audit and warn will now report
    assert ns["default"]["checkedAt"] == "restricted:latest" and ns["default"]["findings"][0]["owner"]["name"] == "nginx"
    assert report["request"]["stage"] is True


def test_exempt_namespaces_are_skipped_with_a_note(run_cli, cluster):
    code, report, _ = label_json(run_cli, cluster, "kube-system", "team", "--enforce", "baseline", "--yes",
                                 "--admission-config", str(cluster.admission_config))
    assert code == 0
    ks = by_name(report)["kube-system"]
    assert ks["action"] == "exempt" and ks["exempt"] is True and "skipped" in ks["notes"][0]
    assert [r.path for r in patches(cluster)] == ["/api/v1/namespaces/team"] * 2
    assert PSA + "enforce" not in labels_of(cluster, "kube-system")
    assert report["summary"]["exempt"] == 1


def test_selector_picks_namespaces(run_cli, cluster):
    code, report, _ = label_json(run_cli, cluster, "-l", "team=blue", "--warn", "restricted", "--dry-run=client")
    assert code == 0 and [n["name"] for n in report["namespaces"]] == ["blue-2", "team"]
    code, report, _ = label_json(run_cli, cluster, "-l", "team=green", "--warn", "restricted", "--yes")
    assert code == 0 and report["namespaces"] == [] and report["outcome"] == "nothing to apply"


def test_all_namespaces(run_cli, cluster):
    code, report, _ = label_json(run_cli, cluster, "-A", "--audit", "restricted", "--dry-run=client")
    assert code == 0
    assert len(report["namespaces"]) == 8 and report["summary"]["change"] == 8


# --- confirmation ---------------------------------------------------------------------------------
class FakeTTY(io.StringIO):
    def isatty(self):
        return True


def test_interactive_confirmation_yes(run_cli, cluster, monkeypatch):
    monkeypatch.setattr("sys.stdin", FakeTTY("y\n"))
    code, out, err = label(run_cli, cluster, "team", "--enforce", "baseline")
    assert code == 0 and 'Apply these label changes to 1 namespace(s) on context "fake"? [y/N]' in err
    assert labels_of(cluster, "team")[PSA + "enforce"] == "baseline"
    assert out.index("Label plan") < out.index("1 applied")


def test_interactive_confirmation_no(run_cli, cluster, monkeypatch):
    monkeypatch.setattr("sys.stdin", FakeTTY("n\n"))
    code, out, err = label(run_cli, cluster, "team", "--enforce", "baseline")
    assert code == 1 and patches(cluster, dry_run=False) == [] and "not applied" in err
    assert PSA + "enforce" not in labels_of(cluster, "team")


def test_no_terminal_and_no_yes_applies_nothing(run_cli, cluster, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))
    code, out, err = label(run_cli, cluster, "team", "--enforce", "baseline")
    assert code == 1 and patches(cluster, dry_run=False) == []
    assert "stdin is not a terminal; pass --yes" in err and "Label plan" in out


# --- partial failure ------------------------------------------------------------------------------
def touch(cluster, name, labels):
    """Another writer changes a namespace (new resourceVersion, same uid)."""
    obj = cluster.namespace(name)
    obj["metadata"]["labels"].update(labels)
    cluster.add({"kind": "Namespace", **obj})


def test_partial_failure_403_and_conflict(run_cli, cluster, tmp_path):
    cluster.add_namespace("a")
    cluster.add_namespace("b")
    cluster.add_namespace("c", {"keep": "me"})
    cluster.forbid("namespaces", namespace="b", verbs=["patch"])

    def concurrent_writer(ns, old, new):  # someone relabels c between our plan and our patch
        if ns == "c":
            touch(cluster, "c", {"other": "writer"})
        return []

    cluster.namespace_patch_warnings = concurrent_writer
    undo_path = tmp_path / "partial-undo.json"
    # --force: a failed dry run (b's 403) refuses the namespace otherwise; a failed dry run exits 2 (was 1)
    code, report, err = label_json(run_cli, cluster, "a", "b", "c", "--enforce", "baseline", "--yes", "--force",
                                   "--undo-file", str(undo_path))
    assert code == 2
    assert report["outcome"] == "partially applied"
    ns = by_name(report)
    assert ns["a"]["result"]["status"] == "applied"
    assert ns["b"]["result"]["status"] == "failed" and ns["b"]["result"]["code"] == 403
    assert 'cannot patch resource "namespaces"' in ns["b"]["result"]["error"]
    assert ns["b"]["server"]["status"] == 403  # the dry run saw it coming
    assert ns["c"]["result"] == {"status": "failed", "code": 409, "reason": "Conflict",
                                 "error": 'Operation cannot be fulfilled on namespaces "c": the object has been '
                                          "modified; please apply your changes to the latest version and try again"}
    assert labels_of(cluster, "c") == {"kubernetes.io/metadata.name": "c", "keep": "me", "other": "writer"}
    assert report["summary"]["applied"] == 1 and report["summary"]["failed"] == 2
    undo = json.loads(undo_path.read_text())
    assert [entry["name"] for entry in undo["namespaces"]] == ["a"]  # exactly what was applied


def test_nothing_applied_leaves_no_undo_file(run_cli, cluster, tmp_path):
    cluster.forbid("namespaces", namespace="team", verbs=["patch"])
    undo_path = tmp_path / "u.json"
    # --force past the failed dry run (refused otherwise), which makes the exit 2 (was 1)
    code, report, _ = label_json(run_cli, cluster, "team", "--enforce", "baseline", "--yes", "--force", "--undo-file",
                                 str(undo_path))
    assert code == 2 and report["outcome"] == "failed" and report["undoFile"] is None
    assert not undo_path.exists()


# --- undo -------------------------------------------------------------------------------------------
def apply_and_get_undo(run_cli, cluster, tmp_path, *argv):
    undo_path = tmp_path / "first-undo.json"
    code, report, err = label_json(run_cli, cluster, *argv, "--yes", "--undo-file", str(undo_path))
    assert code == 0, err
    return undo_path


def test_undo_restores_exactly_the_previous_values(run_cli, cluster, tmp_path):
    before = {name: labels_of(cluster, name) for name in ("team", "prod")}
    undo_path = apply_and_get_undo(run_cli, cluster, tmp_path, "team", "prod", "--enforce", "baseline:latest",
                                   "--audit", "restricted")
    assert labels_of(cluster, "prod")[PSA + "enforce-version"] == "latest"
    cluster.clear_requests()
    cluster.namespace_patch_warnings = lambda ns, old, new: (
        ['existing pods in namespace "prod" violate the new PodSecurity enforce level "restricted:v1.30"',
         "api-7d4b9-b8m1z (and 2 other pods): runAsUser=0"] if ns == "prod" else [])
    code, report, err = label_json(run_cli, cluster, "--undo", str(undo_path), "--yes")
    assert code == 0, err
    assert report["operation"] == "undo" and report["outcome"] == "applied"
    # restoring prod's own restricted:v1.30 is not refused, but what it rejects is said
    prod = by_name(report)["prod"]
    assert prod["action"] == "change" and prod["findings"] and prod["server"]["agrees"] is True
    assert "the enforce level being restored" in prod["notes"][0]
    assert {name: labels_of(cluster, name) for name in before} == before
    sent = {r.path.rsplit("/", 1)[1]: r.json["metadata"]["labels"] for r in patches(cluster, dry_run=False)}
    assert sent == {
        "prod": {PSA + "enforce": "restricted", PSA + "enforce-version": "v1.30", PSA + "audit": None},
        "team": {PSA + "enforce": None, PSA + "enforce-version": None, PSA + "audit": "baseline"},
    }
    # the undo is an apply too: it has its own undo file, which redoes the change
    redo = json.loads(open(report["undoFile"]).read())
    assert {e["name"]: e["previous"] for e in redo["namespaces"]}["team"] == {
        PSA + "enforce": "baseline", PSA + "enforce-version": "latest", PSA + "audit": "restricted"}


def test_undo_dry_run_changes_nothing(run_cli, cluster, tmp_path):
    undo_path = apply_and_get_undo(run_cli, cluster, tmp_path, "team", "--enforce", "baseline")
    after = cluster.namespace("team")
    cluster.clear_requests()
    code, report, _ = label_json(run_cli, cluster, "--undo", str(undo_path), "--dry-run=server")
    assert code == 0 and report["outcome"] == "planned"
    assert [r.query.get("dryRun") for r in patches(cluster)] == ["All"]
    assert cluster.namespace("team") == after


def test_undo_refuses_a_namespace_changed_since(run_cli, cluster, tmp_path):
    undo_path = apply_and_get_undo(run_cli, cluster, tmp_path, "team", "blue-2", "--enforce", "baseline")
    touch(cluster, "team", {PSA + "enforce": "restricted"})  # someone else moved it on
    cluster.clear_requests()
    code, report, err = label_json(run_cli, cluster, "--undo", str(undo_path), "--yes")
    assert code == 1
    team = by_name(report)["team"]
    assert team["action"] == "changed-since"
    assert team["changedSince"] == {PSA + "enforce": {"expected": "baseline", "current": "restricted"}}
    assert [r.path for r in patches(cluster, dry_run=False)] == ["/api/v1/namespaces/blue-2"]  # the others go on
    assert labels_of(cluster, "team")[PSA + "enforce"] == "restricted"
    assert PSA + "enforce" not in labels_of(cluster, "blue-2")
    # --force restores it anyway
    code, report, _ = label_json(run_cli, cluster, "--undo", str(undo_path), "--yes", "--force")
    assert code == 0 and PSA + "enforce" not in labels_of(cluster, "team")
    assert by_name(report)["team"]["forced"] is True


def test_undo_other_labels_changed_since_is_fine(run_cli, cluster, tmp_path):
    undo_path = apply_and_get_undo(run_cli, cluster, tmp_path, "team", "--enforce", "baseline")
    touch(cluster, "team", {"app": "shop-v2"})
    code, report, _ = label_json(run_cli, cluster, "--undo", str(undo_path), "--yes")
    assert code == 0 and labels_of(cluster, "team")["app"] == "shop-v2"
    assert PSA + "enforce" not in labels_of(cluster, "team")


def test_undo_uses_the_files_context(run_cli, cluster, tmp_path, make_kubeconfig):
    undo_path = apply_and_get_undo(run_cli, cluster, tmp_path, "team", "--enforce", "baseline")
    config = make_kubeconfig([cluster.context("fake"), cluster.context("other")], "other", name="two-contexts")
    code, out, err = run_cli("label", "--undo", str(undo_path), "--yes", "--kubeconfig", str(config),
                             "-o", "json")
    assert code == 0 and json.loads(out)["context"] == "fake"
    code, _, err = run_cli("label", "--undo", str(undo_path), "--yes", "--kubeconfig", str(config),
                           "--context", "other")
    assert code == 2 and 'written for context "fake", not "other"' in err and err.count("\n") == 1


def test_default_undo_file_is_never_overwritten(run_cli, cluster, tmp_path):
    first = json.loads(label(run_cli, cluster, "team", "--enforce", "baseline", "--yes", "-o", "json")[1])["undoFile"]
    second = json.loads(label(run_cli, cluster, "team", "--enforce", "restricted", "--yes", "-o", "json")[1])["undoFile"]
    assert first != second
    assert json.loads(open(first).read())["namespaces"][0]["applied"][PSA + "enforce"] == "baseline"
    assert json.loads(open(second).read())["namespaces"][0]["previous"][PSA + "enforce"] == "baseline"


# --- bad input ------------------------------------------------------------------------------------
@pytest.mark.parametrize("argv, message", [
    (["team", "--enforce", "strict"], 'invalid --enforce "strict": must be one of privileged, baseline, restricted'),
    (["team", "--warn", "Baseline"], 'invalid --warn "Baseline": must be one of privileged, baseline, restricted'),
    (["team", "--audit", "baseline:v1.05"], 'invalid --audit "baseline:v1.05": must be "latest" or "v1.x"'),
    (["team", "--enforce", "baseline:"], 'invalid --enforce "baseline:": must be "latest" or "v1.x"'),
    (["team"], "nothing to set: give --enforce, --audit or --warn"),
    (["--enforce", "baseline"], "no namespaces: name them, or use -A (all) or -l SELECTOR"),
    (["team", "-A", "--enforce", "baseline"], "choose one of NS ..., -A and -l SELECTOR"),
    (["team", "--audit", "baseline", "--stage"], "--stage needs --enforce"),
    (["team", "--enforce", "baseline", "--warn", "baseline", "--stage"], "--stage sets audit and warn itself"),
    (["team", "--enforce", "baseline", "--dry-run=maybe"], 'invalid --dry-run "maybe"'),
    (["team", "--enforce", "baseline", "-o", "name"], 'output format "name"'),
    (["--undo", "/nonexistent/undo.json"], "--undo: /nonexistent/undo.json: no such file"),
    (["--undo", "/nonexistent/undo.json", "--enforce", "baseline"], "--undo restores an undo file"),
    (["team", "--enforce", "baseline", "--admission-config", "/nonexistent.yaml"], "--admission-config: /nonexistent.yaml"),
])
def test_bad_input_is_one_line_exit_2(run_cli, cluster, argv, message):
    code, out, err = label(run_cli, cluster, *argv)
    assert code == 2 and message in err and err.count("\n") == 1, err
    assert patches(cluster) == []


def test_existing_undo_file_is_refused(run_cli, cluster, tmp_path):
    path = tmp_path / "exists.json"
    path.write_text("{}")
    code, _, err = label(run_cli, cluster, "team", "--enforce", "baseline", "--yes", "--undo-file", str(path))
    assert code == 2 and "already exists" in err and path.read_text() == "{}"


def test_bad_undo_file_is_one_line(run_cli, cluster, tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"kind": "KubectlPssLabelUndo", "version": 1, "namespaces": [
        {"name": "team", "previous": {"app": None}, "applied": {"app": "x"}}]}))
    code, _, err = label(run_cli, cluster, "--undo", str(path))
    assert code == 2 and '"app" is not a pod-security.kubernetes.io label' in err and err.count("\n") == 1


def test_missing_namespace_is_reported(run_cli, cluster):
    code, report, err = label_json(run_cli, cluster, "nope", "team", "--enforce", "baseline", "--yes")
    assert code == 2  # a named namespace that does not exist is an error, as in audit (review of issue 12; was 1)
    assert [(e["namespace"], e["resource"]) for e in report["errors"]] == [("nope", "namespaces")]
    assert by_name(report)["team"]["result"]["status"] == "applied"
    assert 'error: namespace "nope": namespaces: ' in err


def test_unreadable_pods_block_an_enforce_change(run_cli, cluster):
    cluster.forbid("pods")
    cluster.forbid("pods", namespace="team")
    code, report, _ = label_json(run_cli, cluster, "team", "--enforce", "restricted", "--yes")
    # issue 12: a namespace not read to the end makes the run exit 2 (it was 1)
    assert code == 2 and by_name(report)["team"]["action"] == "refused"
    assert by_name(report)["team"]["complete"] is False and by_name(report)["team"]["errors"][0].startswith("pods: ")
    assert "unverified" in by_name(report)["team"]["notes"][0]
    assert patches(cluster, dry_run=False) == []



# --- interrupted: the undo file is written ahead ------------------------------------------------------
TRIO = ("ns-a", "ns-b", "ns-c")


def add_trio(cluster):
    for name in TRIO:
        cluster.add_namespace(name, {"team": "x", PSA + "warn": "baseline"})
    return {name: labels_of(cluster, name) for name in TRIO}


def real_patch(rec):
    return "dryRun" not in rec.query


@pytest.mark.parametrize("mode, reached, sig, code", [
    ("after", True, signal.SIGINT, 130),  # the server applied it; the answer never came back
    ("before", True, signal.SIGINT, 130),  # a slow server: applied after the client was gone
    ("lost", False, signal.SIGINT, 130),  # it never took effect
    ("after", True, signal.SIGTERM, 128 + signal.SIGTERM),
])
def test_signal_during_a_patch_keeps_the_way_back(run_cli, cluster, tmp_path, mode, reached, sig, code):
    """A real process, a real signal while the PATCH of ns-b is in flight: ns-b is in the undo file (as
    intended) before the PATCH is sent, the undo path is on stderr, and --undo restores exactly."""
    before = add_trio(cluster)
    held = cluster.hold("PATCH", "/api/v1/namespaces/ns-b", 1, mode=mode, match=real_patch)
    undo_path = tmp_path / "undo.json"
    proc = start("label", *TRIO, "--enforce", "baseline", "--audit", "restricted", "--yes", "--undo-file",
                 str(undo_path), "--kubeconfig", str(cluster.kubeconfig_path), cwd=tmp_path)
    wait_held(proc, held)
    on_disk = {e["name"]: e for e in json.loads(undo_path.read_text())["namespaces"]}  # while ns-b's PATCH waits
    assert on_disk["ns-b"] == {"name": "ns-b", "state": "intended", "resourceVersion": None,
                               "previous": {PSA + "enforce": None, PSA + "audit": None},
                               "applied": {PSA + "enforce": "baseline", PSA + "audit": "restricted"}}
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=30)
    assert held.done.wait(30)
    assert proc.returncode == code, err
    assert f"interrupted: undo file: {undo_path} (restore with: kubectl pss label --undo {undo_path})" in err
    undo = json.loads(undo_path.read_text())
    assert [(e["name"], e["state"]) for e in undo["namespaces"]] == [("ns-a", "applied"), ("ns-b", "intended")]
    assert (labels_of(cluster, "ns-b").get(PSA + "enforce") == "baseline") is reached
    assert labels_of(cluster, "ns-a")[PSA + "enforce"] == "baseline" and labels_of(cluster, "ns-c") == before["ns-c"]
    # the way back: exactly the labels before, whether or not ns-b's PATCH took effect
    code, report, err = label_json(run_cli, cluster, "--undo", str(undo_path), "--yes")
    assert code == 0, err
    assert {name: labels_of(cluster, name) for name in TRIO} == before
    ns_b = by_name(report)["ns-b"]
    if reached:
        assert ns_b["action"] == "change" and ns_b["result"]["status"] == "applied"
        assert "the labels show it was applied" in ns_b["notes"][0]
    else:
        assert ns_b["action"] == "unchanged" and "never applied" in ns_b["notes"][0]


def test_undo_file_is_fsynced_before_each_patch(run_cli, cluster, tmp_path, monkeypatch):
    """The order of what reaches the disk and the server: each namespace is fsynced as intended before its
    PATCH arrives, and as applied after it."""
    add_trio(cluster)
    undo_path = tmp_path / "undo.json"
    events = []
    real_fsync = os.fsync

    def fsync(fd):
        real_fsync(fd)
        target = os.readlink(f"/proc/self/fd/{fd}")
        if target.startswith(str(undo_path)) and os.path.isfile(target):
            with open(target) as f:
                entries = json.load(f)["namespaces"]
            events.append(("fsync", tuple((e["name"], e["state"]) for e in entries)))

    def arrived(rec):  # called by the server as each request comes in
        if rec.method == "PATCH" and real_patch(rec):
            events.append(("PATCH", rec.path.rsplit("/", 1)[1]))
        return False

    monkeypatch.setattr(os, "fsync", fsync)
    cluster.hold("PATCH", "/", 0, match=arrived)
    code, report, err = label_json(run_cli, cluster, *TRIO, "--enforce", "baseline", "--yes", "--undo-file",
                                   str(undo_path))
    assert code == 0, err
    patched = [e for e in events if e[0] == "PATCH"]
    assert [name for _, name in patched] == list(TRIO)
    for name in TRIO:
        at = events.index(("PATCH", name))
        assert any(kind == "fsync" and (name, "intended") in state for kind, state in events[:at]), events
        assert any(kind == "fsync" and (name, "applied") in state for kind, state in events[at:]), events
    assert all(e["state"] == "applied" for e in json.loads(undo_path.read_text())["namespaces"])
    assert oct(undo_path.stat().st_mode & 0o777) == oct(0o600)


def test_temporary_file_never_follows_a_planted_symlink(run_cli, cluster, tmp_path, monkeypatch):
    from kubectl_pss.operations import undofile

    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    undo_path = tmp_path / "undo.json"
    planted = [f"{undo_path}.tmp-{os.getpid()}", f"{undo_path}.tmp-planted"]  # the old name, and the next one
    for path in planted:
        os.symlink(victim, path)
    suffixes = iter(["planted"] + [f"fresh-{i}" for i in range(20)])
    monkeypatch.setattr(undofile, "_temp_suffix", lambda: next(suffixes))
    code, report, err = label_json(run_cli, cluster, "team", "blue-2", "--enforce", "baseline", "--yes",
                                   "--undo-file", str(undo_path))
    assert code == 0, err
    assert victim.read_text() == "precious\n"
    assert all(os.readlink(path) == str(victim) for path in planted)
    assert [e["name"] for e in json.loads(undo_path.read_text())["namespaces"]] == ["blue-2", "team"]
    leftovers = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("undo.json.tmp-"))
    assert leftovers == sorted(os.path.basename(p) for p in planted)  # no temporary file of ours left


@pytest.mark.parametrize("plant", ["file", "symlink"])
def test_undo_file_appearing_before_the_first_patch_is_not_overwritten(run_cli, cluster, tmp_path, plant):
    undo_path = tmp_path / "undo.json"
    victim = tmp_path / "victim"

    def appears(ns, old, new):  # answered during the dry run: after the plan, before any real PATCH
        if plant == "file":
            undo_path.write_text("someone else's\n")
        else:
            os.symlink(victim, undo_path)
        return []

    cluster.namespace_patch_warnings = appears
    code, out, err = label(run_cli, cluster, "team", "--enforce", "baseline", "--yes", "--undo-file", str(undo_path))
    assert code != 0 and f"cannot write the undo file {undo_path}" in err and "nothing was changed" in err
    assert patches(cluster, dry_run=False) == []
    if plant == "file":
        assert undo_path.read_text() == "someone else's\n"
    else:
        assert os.readlink(undo_path) == str(victim) and not victim.exists()


def intended_file(tmp_path, cluster, entries):
    path = tmp_path / "intended.json"
    path.write_text(json.dumps({"kind": "KubectlPssLabelUndo", "version": 1, "context": "fake", "server": cluster.url,
                                "createdAt": "2026-12-07T19:00:00Z", "command": "kubectl pss label ...",
                                "namespaces": entries}))
    return path


def test_undo_of_intended_changes_compares_the_live_labels(run_cli, cluster, tmp_path):
    change = {"previous": {PSA + "enforce": None}, "applied": {PSA + "enforce": "baseline"},
              "resourceVersion": None, "state": "intended"}
    cluster.add_namespace("took", {PSA + "enforce": "baseline"})
    cluster.add_namespace("never", {})
    cluster.add_namespace("moved", {PSA + "enforce": "restricted"})
    path = intended_file(tmp_path, cluster, [{"name": n, **change} for n in ("took", "never", "moved")])
    code, report, err = label_json(run_cli, cluster, "--undo", str(path), "--yes")
    ns = by_name(report)
    assert code == 1, err  # the conflict
    assert ns["took"]["action"] == "change" and ns["took"]["result"]["status"] == "applied"
    assert ns["never"]["action"] == "unchanged" and "never applied" in ns["never"]["notes"][0]
    assert ns["moved"]["action"] == "changed-since" and "neither" in ns["moved"]["notes"][0]
    assert PSA + "enforce" not in labels_of(cluster, "took") and PSA + "enforce" not in labels_of(cluster, "never")
    assert labels_of(cluster, "moved")[PSA + "enforce"] == "restricted"  # not overwritten
    assert [r.path for r in patches(cluster, dry_run=False)] == ["/api/v1/namespaces/took"]
    code, report, err = label_json(run_cli, cluster, "--undo", str(path), "--yes", "--force")
    assert PSA + "enforce" not in labels_of(cluster, "moved") and by_name(report)["moved"]["forced"] is True


def test_undo_files_without_state_are_applied_entries(run_cli, cluster, tmp_path):
    cluster.add_namespace("old", {PSA + "enforce": "baseline"})
    path = intended_file(tmp_path, cluster, [{"name": "old", "previous": {PSA + "enforce": "privileged"},
                                              "applied": {PSA + "enforce": "baseline"}, "resourceVersion": "1"}])
    code, report, err = label_json(run_cli, cluster, "--undo", str(path), "--yes")
    assert code == 0, err
    assert labels_of(cluster, "old")[PSA + "enforce"] == "privileged" and by_name(report)["old"]["notes"] == []
    bad = intended_file(tmp_path, cluster, [{"name": "old", "previous": {}, "applied": {}, "state": "maybe"}])
    code, _, err = label(run_cli, cluster, "--undo", str(bad))
    assert code == 2 and 'state must be "intended" or "applied"' in err


def test_patch_with_unknown_outcome_keeps_the_undo_file(run_cli, cluster, tmp_path):
    """The server fails the PATCH (503 after every retry): perhaps applied, so the entry stays intended and the
    file is kept; its --undo finds the labels as before and has nothing to do."""
    undo_path = tmp_path / "u.json"
    before = labels_of(cluster, "team")
    cluster.fail("/api/v1/namespaces/team", 503, times=100, methods=["PATCH"])
    # --force past the failed dry run (refused otherwise), which makes the exit 2 (was 1)
    code, report, err = label_json(run_cli, cluster, "team", "--enforce", "baseline", "--yes", "--force",
                                   "--undo-file", str(undo_path))
    assert code == 2 and report["outcome"] == "failed" and report["undoFile"] == str(undo_path)
    assert by_name(report)["team"]["result"]["outcome"] == "unknown"
    assert [(e["name"], e["state"]) for e in json.loads(undo_path.read_text())["namespaces"]] == [("team", "intended")]
    cluster.allow_all()
    cluster._faults.clear()
    code, report, err = label_json(run_cli, cluster, "--undo", str(undo_path), "--yes")
    assert code == 0 and report["outcome"] == "nothing to apply" and labels_of(cluster, "team") == before


def test_refused_retry_of_an_applied_patch_stays_in_the_undo_file(run_cli, cluster, tmp_path):
    """The first PATCH is applied but its answer is lost (connection closed); the client's retry then gets
    409 (the resourceVersion moved): the change is in effect, so the undo file keeps it."""
    before = labels_of(cluster, "team")
    cluster.hold("PATCH", "/api/v1/namespaces/team", 0, mode="unanswered", match=real_patch)
    undo_path = tmp_path / "u.json"
    code, report, err = label_json(run_cli, cluster, "team", "--enforce", "baseline", "--yes", "--undo-file",
                                   str(undo_path))
    assert code == 1 and by_name(report)["team"]["result"]["code"] == 409, err
    assert len(patches(cluster, dry_run=False)) == 2 and labels_of(cluster, "team")[PSA + "enforce"] == "baseline"
    assert by_name(report)["team"]["result"]["outcome"] == "unknown" and report["undoFile"] == str(undo_path)
    assert [(e["name"], e["state"]) for e in json.loads(undo_path.read_text())["namespaces"]] == [("team", "intended")]
    code, report, err = label_json(run_cli, cluster, "--undo", str(undo_path), "--yes")
    assert code == 0, err
    assert labels_of(cluster, "team") == before


def test_undo_file_replaced_during_the_run_is_not_overwritten(run_cli, cluster, tmp_path):
    undo_path = tmp_path / "u.json"

    def replace_it(ns, old, new):  # during the real PATCH of blue-2 (the dry runs come before the file)
        if undo_path.exists() and ns == "blue-2":
            (tmp_path / "other.json").write_text("another file\n")
            os.replace(tmp_path / "other.json", undo_path)
        return []

    cluster.namespace_patch_warnings = replace_it
    code, out, err = label(run_cli, cluster, "blue-2", "team", "--enforce", "baseline", "--yes", "--undo-file",
                           str(undo_path))
    assert code != 0 and 'namespace "blue-2" was changed but the undo file' in err and "replaced" in err
    assert undo_path.read_text() == "another file\n"
    assert [r.path for r in patches(cluster, dry_run=False)] == ["/api/v1/namespaces/blue-2"]  # team: not touched

# ---------------------------------------------------------------- a v1.24 server's wording is not a disagreement
def test_server_dry_run_on_1_24_agrees_despite_its_wording(run_cli, apiserver):
    from tests.scenarios import load_unconfined_1_24

    load_unconfined_1_24(apiserver)
    code, report, err = label_json(run_cli, apiserver, "mixed", "--enforce", "restricted", "--dry-run=server")
    mixed = by_name(report)["mixed"]
    assert [r.query.get("dryRun") for r in patches(apiserver)] == ["All"]
    assert len(mixed["server"]["warnings"]) == 3 and len(mixed["server"]["expected"]) == 2  # grouped apart
    assert mixed["server"]["warnings"][1].count("seccompProfile") == 2
    assert mixed["server"]["agrees"] is True
    assert mixed["server"]["note"].startswith("the API server v1.24.0-alpha.1+lab words its warnings differently "
                                              "but rejects the same pods for the same reasons (PodSecurity before v1.25")
    assert "dry run and kubectl-pss differ" not in err and mixed["action"] == "refused" and code == 1
    code, out, err = label(run_cli, apiserver, "mixed", "--enforce", "restricted", "--dry-run=server", "--no-color")
    assert "DISAGREE" not in out + err and "mixed: server dry run: the API server v1.24.0-alpha.1+lab words" in err
    assert code == 1


@pytest.mark.parametrize("old, new", [
    ("p-mixed (and 2 other pods)", "a-good (and 2 other pods)"),  # names a pod the engine finds compliant
    ("p-plain-1 (and 1 other pod)", "p-plain-1"),  # one pod less
])
def test_server_disagreement_on_1_24_is_still_loud(run_cli, apiserver, old, new):
    from tests.scenarios import load_unconfined_1_24

    load_unconfined_1_24(apiserver)
    hook = apiserver.namespace_patch_warnings
    apiserver.namespace_patch_warnings = lambda ns, a, b: [w.replace(old, new, 1) for w in hook(ns, a, b)]
    code, report, err = label_json(run_cli, apiserver, "mixed", "--enforce", "restricted", "--dry-run=server")
    server = by_name(report)["mixed"]["server"]
    assert server["agrees"] is False and "note" not in server
    assert 'error: namespace "mixed": the API server\'s dry run and kubectl-pss differ' in err and code == 1  # the exit code a refused plan has anyway
    code, out, _ = label(run_cli, apiserver, "mixed", "--enforce", "restricted", "--dry-run=server", "--no-color")
    assert "DISAGREES" in out and "DISAGREEMENT in mixed:" in out


# --- --dry-run as kubectl 1.32 reads it -------------------------------------------------------
@pytest.mark.parametrize("given, strategy, warning", [
    (["--dry-run"], "client", "warning: --dry-run is deprecated and can be replaced with --dry-run=client.\n"),
    (["--dry-run=true"], "client",
     "warning: --dry-run=true is deprecated (boolean value) and can be replaced with --dry-run=client.\n"),
    (["--dry-run=client"], "client", ""),
    (["--dry-run=server"], "server", ""),
])
def test_dry_run_alone_is_client_with_kubectls_warning(run_cli, cluster, given, strategy, warning):
    # --dry-run before the namespace: alone, it must not take the namespace as its value
    code, report, err = label_json(run_cli, cluster, *given, "default", "--enforce", "baseline")
    assert code == 0, err
    assert report["request"]["dryRun"] == strategy and report["outcome"] == "planned"
    assert [ns["name"] for ns in report["namespaces"]] == ["default"]
    assert patches(cluster, dry_run=False) == []
    assert bool(patches(cluster, dry_run=True)) == (strategy == "server")
    assert err.startswith(warning) and err.count("deprecated") == (1 if warning else 0)


def test_dry_run_false_is_none(run_cli, cluster):
    code, report, err = label_json(run_cli, cluster, "good", "--enforce", "baseline", "--dry-run=false", "--yes")
    assert code == 0, err
    assert report["request"]["dryRun"] == "none" and report["outcome"] != "planned"
    assert "warning: --dry-run=false is deprecated (boolean value) and can be replaced with --dry-run=none." in err


def test_an_unknown_dry_run_value_is_bad_input(run_cli, cluster):
    code, out, err = label(run_cli, cluster, "good", "--enforce", "baseline", "--dry-run=maybe")
    assert (code, out) == (2, "")
    assert err == 'error: invalid --dry-run "maybe": must be "none", "server", or "client"\n'


# --- the server's dry run must confirm an enforce change (review of issue 12) -----------------------------
def test_server_reporting_violations_the_engine_does_not_see_refuses(run_cli, cluster):
    cluster.namespace_patch_warnings = lambda ns, old, new: [
        f'existing pods in namespace "{ns}" violate the new PodSecurity enforce level "restricted:latest"',
        "web: runAsNonRoot != true"] if ns == "team" else []
    code, report, err = label_json(run_cli, cluster, "team", "--enforce", "restricted", "--yes")
    team = by_name(report)["team"]
    assert team["action"] == "refused" and team["server"]["agrees"] is False
    assert "the API server's dry run disagrees with kubectl-pss; refused (--force to apply anyway)" in team["notes"]
    assert patches(cluster, dry_run=False) == [] and code == 1 and 'error: namespace "team": the API server\'s dry run and kubectl-pss differ' in err
    code, report, _ = label_json(run_cli, cluster, "team", "--enforce", "restricted", "--yes", "--force")
    assert by_name(report)["team"]["forced"] is True and by_name(report)["team"]["result"]["status"] == "applied"
    assert code == 1  # applied, but the disagreement still counts


def test_failed_server_dry_run_refuses_and_exits_2(run_cli, cluster):
    cluster.fail("/api/v1/namespaces/team", 500, times=20, methods=["PATCH"])
    code, report, err = label_json(run_cli, cluster, "team", "--enforce", "restricted", "--yes")
    team = by_name(report)["team"]
    assert team["action"] == "refused" and "error" in team["server"]
    assert any(n.startswith("the API server's dry run failed (") and n.endswith("; refused (--force to apply anyway)")
               for n in team["notes"])
    assert patches(cluster, dry_run=False) == [] and code == 2
    assert 'error: namespace "team": the API server\'s dry run failed: ' in err


def test_server_dry_run_of_a_warn_change_is_not_applicable(run_cli, cluster):
    code, report, _ = label_json(run_cli, cluster, "team", "--warn", "restricted", "--dry-run=server")
    assert by_name(report)["team"]["server"]["agrees"] is None and code == 0
    code, out, _ = label(run_cli, cluster, "team", "--warn", "restricted", "--dry-run=server", "--no-color")
    row = next(line for line in out.splitlines() if line.startswith("team"))
    assert row.rstrip().endswith("n/a") and "agrees" not in row
