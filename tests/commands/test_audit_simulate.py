"""``audit`` and ``simulate`` end to end: the real CLI, the real kubernetes client, a real HTTP server."""
from __future__ import annotations

import json

import pytest



@pytest.fixture
def cluster(mixed_cluster):
    return mixed_cluster


def audit_json(run_cli, cluster, *extra):
    code, out, err = run_cli("audit", "-A", "--kubeconfig", str(cluster.kubeconfig_path), "-o", "json", *extra)
    return code, json.loads(out), err


def by_name(report):
    return {ns["name"]: ns for ns in report["namespaces"]}


def test_audit_all_namespaces(run_cli, cluster):
    code, report, err = audit_json(run_cli, cluster)
    assert code == 0 and err == ""
    assert report["apiVersion"] == "kubectl-pss/v1" and report["kind"] == "AuditReport"
    assert report["context"] == "fake" and report["server"] == {"gitVersion": "v1.34.2", "minor": 34}
    assert report["cluster"] == {"snapshot": None, "policyLatest": "v1.34", "admissionConfig": None,
                                 "scope": {"namespaces": None, "selector": None, "excludeNamespaces": []}}
    assert any("no --admission-config" in note for note in report["notes"])
    ns = by_name(report)
    assert list(ns) == ["batch", "default", "good", "kube-system", "prod", "sandbox"]
    assert ns["good"]["strictestLevel"] == "restricted" and ns["good"]["findings"] == []
    assert ns["good"]["pods"] == 2 and ns["good"]["workloads"] == 1
    assert ns["default"]["strictestLevel"] == "baseline"
    assert ns["default"]["labels"]["enforce"] == {"level": "privileged", "version": "latest", "source": "default"}
    assert [(f["owner"], f["pods"], f["level"]) for f in ns["default"]["findings"]] == [
        ({"kind": "Pod", "name": "nginx"}, ["nginx"], "restricted")]


def test_audit_flags_enforced_namespace_with_old_violating_pods(run_cli, cluster):
    _, report, _ = audit_json(run_cli, cluster)
    prod = by_name(report)["prod"]
    assert prod["violatesEnforce"] is True and prod["strictestLevel"] == "baseline"
    assert prod["evaluatedAt"] == "v1.30"
    assert prod["labels"]["enforce"] == {"level": "restricted", "version": "v1.30", "source": "label"}
    [finding] = prod["findings"]
    assert finding["owner"] == {"kind": "Deployment", "name": "api"}
    assert finding["pods"] == ["api-7d4b9-b8m1z", "api-7d4b9-q9w3r", "api-7d4b9-x2k4p"]
    assert finding["template"] is True
    assert finding["violations"] == [{"check": "runAsUser", "reason": "runAsUser=0",
                                      "detail": 'container "api" must not set runAsUser=0'}]


def test_audit_idle_workloads_are_findings(run_cli, cluster):
    _, report, _ = audit_json(run_cli, cluster)
    batch = by_name(report)["batch"]
    assert batch["strictestLevel"] == "privileged" and batch["pods"] == 0 and batch["workloads"] == 2
    assert [(f["owner"]["name"], f["pods"], f["template"], f["level"]) for f in batch["findings"]] == [
        ("db", [], True, "baseline")]
    assert batch["findings"][0]["violations"][0]["detail"] == 'volume "data"'
    assert batch["labels"]["warn"] == {"level": "restricted", "version": "latest", "source": "label"}


def test_audit_with_admission_config_defaults_and_exemptions(run_cli, cluster):
    code, report, _ = audit_json(run_cli, cluster, "--admission-config", str(cluster.admission_config),
                                 "--fail-on", "baseline")
    ns = by_name(report)
    assert report["cluster"]["admissionConfig"] == str(cluster.admission_config)
    assert ns["kube-system"]["exempt"] is True and ns["kube-system"]["violatesEnforce"] is False
    assert ns["default"]["labels"]["enforce"] == {"level": "baseline", "version": "latest", "source": "default"}
    assert ns["sandbox"]["exemptPods"] == ["vm"] and ns["sandbox"]["strictestLevel"] == "restricted"
    assert ns["batch"]["violatesEnforce"] is True  # default enforce=baseline vs the hostPath template
    assert code == 1  # --fail-on baseline: batch and kube-system cannot pass it


def test_audit_single_namespace_and_context_default(run_cli, cluster, make_kubeconfig):
    code, out, _ = run_cli("audit", "-n", "prod", "--kubeconfig", str(cluster.kubeconfig_path), "-o", "json")
    assert [n["name"] for n in json.loads(out)["namespaces"]] == ["prod"]
    config = make_kubeconfig([cluster.context("team", namespace="good")], "team", name="team-config")
    code, out, _ = run_cli("audit", "--kubeconfig", str(config), "-o", "json")
    assert code == 0 and [n["name"] for n in json.loads(out)["namespaces"]] == ["good"]


def test_audit_reports_forbidden_namespace_and_carries_on(run_cli, cluster):
    cluster.forbid("pods")  # cluster-wide pod list forbidden
    cluster.forbid("pods", namespace="prod")
    code, out, err = run_cli("audit", "-A", "--kubeconfig", str(cluster.kubeconfig_path), "-o", "json")
    report = json.loads(out)
    assert code == 2
    assert [(e["namespace"], e["resource"]) for e in report["errors"]] == [("prod", "pods")]
    assert by_name(report)["good"]["pods"] == 2  # per-namespace fallback for the others
    assert 'error: namespace "prod": pods: ' in err and err.count("\n") == 1


def test_audit_table_output(run_cli, cluster):
    code, out, _ = run_cli("audit", "-A", "--kubeconfig", str(cluster.kubeconfig_path), "--no-color")
    assert code == 0
    assert "VIOLATES ENFORCE" in out and "Deployment/api" in out and "\x1b[" not in out
    assert out.splitlines()[0] == "Cluster fake: server v1.34.2, latest = v1.34"


def test_dead_server_is_one_line_exit_2(run_cli, cluster):
    cluster.stop()
    code, out, err = run_cli("audit", "-A", "--kubeconfig", str(cluster.kubeconfig_path))
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("error: ") and "Traceback" not in err


def test_unknown_context_is_one_line_exit_2(run_cli, cluster):
    code, _, err = run_cli("audit", "-A", "--kubeconfig", str(cluster.kubeconfig_path), "--context", "nope")
    assert code == 2 and err.count("\n") == 1 and "nope" in err


def simulate(run_cli, cluster, *extra):
    scope = [] if "-n" in extra else ["-A"]
    code, out, err = run_cli("simulate", "restricted", *scope, "--kubeconfig", str(cluster.kubeconfig_path),
                             "-o", "json", *extra)
    return code, json.loads(out), err


def test_simulate_restricted_on_all_namespaces(run_cli, cluster):
    code, report, _ = simulate(run_cli, cluster, "--admission-config", str(cluster.admission_config))
    assert code == 1
    assert (report["level"], report["version"], report["policyVersion"], report["mode"]) == (
        "restricted", "latest", "v1.34", "enforce")
    ns = by_name(report)
    assert ns["kube-system"]["exempt"] and ns["kube-system"]["findings"] == []
    assert ns["good"]["wouldReject"] is False
    # already enforcing restricted (at v1.30): the server's dry run would say nothing, we still answer
    assert ns["prod"]["wouldReject"] is True and ns["prod"]["current"] == "restricted:v1.30"
    assert [str(f["owner"]["kind"]) + "/" + f["owner"]["name"] for f in ns["batch"]["findings"]] == ["CronJob/nightly", "Deployment/db"]
    assert ns["sandbox"]["exemptPods"] == ["vm"] and not ns["sandbox"]["wouldReject"]
    assert report["summary"] == {"namespaces": 6, "namespacesAffected": 3, "exemptNamespaces": 1,
                                 "podsRejected": 4, "workloadsRejected": 3, "exemptPods": 1}


def test_simulate_baseline_at_pinned_version(run_cli, cluster):
    code, out, _ = run_cli("simulate", "baseline", "--version", "v1.20", "-n", "batch,default",
                           "--kubeconfig", str(cluster.kubeconfig_path), "-o", "json")
    report = json.loads(out)
    assert code == 1 and report["policyVersion"] == "v1.20"
    assert [n["name"] for n in report["namespaces"]] == ["batch", "default"]
    assert [f["owner"]["name"] for f in by_name(report)["batch"]["findings"]] == ["db"]


def expected_server_warnings(ns, old_labels, new_labels):
    """What a real kube-apiserver answers for the scenario's namespaces (written out by hand)."""
    if ns == "default":
        return ['existing pods in namespace "default" violate the new PodSecurity enforce level "restricted:latest"',
                "nginx: allowPrivilegeEscalation != false, unrestricted capabilities, runAsNonRoot != true, seccompProfile"]
    if ns == "prod":
        return ['existing pods in namespace "prod" violate the new PodSecurity enforce level "restricted:latest"',
                "api-7d4b9-b8m1z (and 2 other pods): runAsUser=0"]
    return []


def test_simulate_server_dry_run_agrees(run_cli, cluster):
    cluster.namespace_patch_warnings = expected_server_warnings
    before = {name: dict(cluster.namespace(name)["metadata"]["labels"]) for name in ("default", "prod", "good")}
    code, report, err = simulate(run_cli, cluster, "--server-dry-run", "-n", "default,prod,good")
    ns = by_name(report)
    assert ns["default"]["server"]["agrees"] is True and ns["prod"]["server"]["agrees"] is True
    assert ns["good"]["server"] == {"warnings": [], "expected": [],
                                    "note": "the enforce policy does not change, so the server checks nothing",
                                    "agrees": True}
    assert report["summary"]["serverDisagreements"] == 0 and "dry run and kubectl-pss differ" not in err
    patches = cluster.requests_to("/api/v1/namespaces/prod", method="PATCH")
    assert len(patches) == 1 and patches[0].query.get("dryRun") == "All"
    assert patches[0].json == {"metadata": {"labels": {"pod-security.kubernetes.io/enforce": "restricted",
                                                        "pod-security.kubernetes.io/enforce-version": "latest"}}}
    after = {name: cluster.namespace(name)["metadata"]["labels"] for name in before}
    assert after == before  # a dry run changes nothing


def test_simulate_server_disagreement_is_loud(run_cli, cluster):
    cluster.namespace_patch_warnings = lambda ns, old, new: (
        ['existing pods in namespace "default" violate the new PodSecurity enforce level "restricted:latest"',
         "nginx: runAsNonRoot != true"] if ns == "default" else [])
    code, report, err = simulate(run_cli, cluster, "--server-dry-run", "-n", "default")
    assert by_name(report)["default"]["server"]["agrees"] is False
    assert 'error: namespace "default": the API server\'s dry run and kubectl-pss differ' in err


@pytest.mark.parametrize("argv, message", [
    (["simulate", "strict"], 'invalid level "strict"'),
    (["simulate", "restricted", "--mode", "dryrun"], 'invalid --mode "dryrun"'),
    (["simulate", "restricted", "--mode", "warn", "--server-dry-run"], "--server-dry-run needs --mode enforce"),
    (["simulate", "restricted", "--version", "v1.5.0"], 'invalid --version "v1.5.0"'),
    (["audit", "-A", "-n", "x"], "-A or -n, not both"),
    (["audit", "--fail-on", "none"], 'invalid --fail-on "none"'),
    (["audit", "--request-timeout", "soon"], 'invalid --request-timeout "soon"'),
    (["audit", "--admission-config", "/nonexistent.yaml"], "--admission-config: /nonexistent.yaml: no such file"),
])
def test_bad_flags_exit_2(run_cli, cluster, argv, message):
    code, _, err = run_cli(*argv, "--kubeconfig", str(cluster.kubeconfig_path))
    assert code == 2 and message in err and err.count("\n") == 1


def test_ownership_cycle_does_not_hide_a_privileged_template(run_cli, apiserver):
    """A Deployment and a ReplicaSet whose controller references point at each other: both templates are
    evaluated (each is its own owner) and the cycle is noted, in JSON and in the table."""
    from tests.scenarios import PRIVILEGED_SPEC, RESTRICTED_SPEC

    def ref(kind, name):
        return [{"apiVersion": "apps/v1", "kind": kind, "name": name, "uid": f"uid-{name}", "controller": True}]

    def template(spec):
        return {"selector": {"matchLabels": {"app": "loop"}},
                "template": {"metadata": {"labels": {"app": "loop"}}, "spec": spec}}

    apiserver.add_namespace("loops")
    apiserver.add({"kind": "Deployment", "metadata": {"name": "loop", "namespace": "loops", "uid": "uid-loop",
                                                      "ownerReferences": ref("ReplicaSet", "loop-rs")},
                   "spec": template(PRIVILEGED_SPEC)})
    apiserver.add({"kind": "ReplicaSet", "metadata": {"name": "loop-rs", "namespace": "loops", "uid": "uid-loop-rs",
                                                      "ownerReferences": ref("Deployment", "loop")},
                   "spec": template(RESTRICTED_SPEC)})
    apiserver.add_pod("loops", "loop-rs-a", RESTRICTED_SPEC, owner=ref("ReplicaSet", "loop-rs")[0])
    note = ('namespace "loops": ownerReferences form a cycle (Deployment/loop -> ReplicaSet/loop-rs -> '
            "Deployment/loop): each is evaluated as its own owner, with its template")
    code, report, _ = audit_json(run_cli, apiserver, "--fail-on", "baseline")
    loops = by_name(report)["loops"]
    assert loops["strictestLevel"] == "privileged" and loops["workloads"] == 2 and code == 1
    assert [(f["owner"]["name"], f["template"]) for f in loops["findings"]] == [("loop", True)]
    assert note in report["notes"]
    code, out, err = run_cli("audit", "-n", "loops", "--kubeconfig", str(apiserver.kubeconfig_path),
                             "--no-color")
    assert "Deployment/loop" in out and "ownerReferences form a cycle" in err
    code, sim, _ = simulate(run_cli, apiserver, "-n", "loops")
    assert note in sim["notes"] and by_name(sim)["loops"]["findings"][0]["owner"]["name"] == "loop"


# ---------------------------------------------------------------- a v1.24 server's wording is not a disagreement
V124_NOTE = ("the API server v1.24.0-alpha.1+lab words its warnings differently but rejects the same pods for the "
             "same reasons (PodSecurity before v1.25 has no check overrides")


def test_simulate_server_dry_run_on_1_24_agrees_despite_its_wording(run_cli, apiserver):
    """The recorded 1.24 server lists seccompProfile twice for an explicit Unconfined profile and groups those
    pods apart: the same verdict (namespace, pods, count, reasons), so a note naming the version, no disagreement error."""
    from tests.scenarios import load_unconfined_1_24

    load_unconfined_1_24(apiserver)
    code, report, err = simulate(run_cli, apiserver, "--server-dry-run", "-n", "mixed")
    server = by_name(report)["mixed"]["server"]
    assert server["warnings"][1:] == [
        "p-mixed (and 2 other pods): host namespaces, seccompProfile, allowPrivilegeEscalation != false, "
        "unrestricted capabilities, runAsNonRoot != true, seccompProfile",
        "p-plain-1 (and 1 other pod): host namespaces, allowPrivilegeEscalation != false, unrestricted capabilities, "
        "runAsNonRoot != true, seccompProfile"]
    assert server["expected"][1:] == [
        "p-mixed (and 4 other pods): host namespaces, allowPrivilegeEscalation != false, unrestricted capabilities, "
        "runAsNonRoot != true, seccompProfile"]
    assert server["agrees"] is True and server["note"].startswith(V124_NOTE)
    assert report["summary"]["serverDisagreements"] == 0 and "dry run and kubectl-pss differ" not in err
    assert code == 1 and report["summary"]["podsRejected"] == 5
    code, out, err = run_cli("simulate", "restricted", "--server-dry-run", "-n", "mixed", "--kubeconfig",
                             str(apiserver.kubeconfig_path), "--no-color")
    assert "DISAGREE" not in out + err and "v1.24.0-alpha.1+lab words its warnings differently" in err


def _renamed(hook, old: str, new: str):
    return lambda ns, before, after: [w.replace(old, new, 1) for w in hook(ns, before, after)]


@pytest.mark.parametrize("old, new", [
    ("p-plain-1 (and 1 other pod)", "a-good (and 1 other pod)"),  # names a pod the engine finds compliant
    ("p-mixed (and 2 other pods)", "p-mixed (and 3 other pods)"),  # one pod more
    ("p-plain-1 (and 1 other pod): host namespaces, ", "p-plain-1 (and 1 other pod): "),  # a reason less
])
def test_simulate_real_disagreement_on_1_24_is_still_loud(run_cli, apiserver, old, new):
    from tests.scenarios import load_unconfined_1_24

    load_unconfined_1_24(apiserver)
    apiserver.namespace_patch_warnings = _renamed(apiserver.namespace_patch_warnings, old, new)
    code, report, err = simulate(run_cli, apiserver, "--server-dry-run", "-n", "mixed")
    server = by_name(report)["mixed"]["server"]
    assert any(new in w for w in server["warnings"])
    assert server["agrees"] is False and "note" not in server
    assert report["summary"]["serverDisagreements"] == 1 and 'error: namespace "mixed": the API server\'s dry run and kubectl-pss differ' in err
    assert code == 1


def test_simulate_pre_1_25_wording_from_a_newer_server_is_a_disagreement(run_cli, apiserver):
    """Repeated checks are only the wording of servers before v1.25: a 1.34 server saying so disagrees."""
    from tests.apiserver.podsecurity import namespace_warnings
    from tests.scenarios import load_unconfined_1_24

    load_unconfined_1_24(apiserver)
    apiserver.version = {"major": "1", "minor": "34", "gitVersion": "v1.34.2"}
    apiserver.namespace_patch_warnings = lambda ns, before, after: namespace_warnings(
        ns, apiserver.pods_in(ns), "restricted", "latest", 24)
    code, report, err = simulate(run_cli, apiserver, "--server-dry-run", "-n", "mixed")
    assert by_name(report)["mixed"]["server"]["agrees"] is False and 'error: namespace "mixed": the API server\'s dry run and kubectl-pss differ' in err
    apiserver.namespace_patch_warnings = lambda ns, before, after: namespace_warnings(
        ns, apiserver.pods_in(ns), "restricted", "latest", 34)  # what a 1.34 server says: the same as the engine
    code, report, err = simulate(run_cli, apiserver, "--server-dry-run", "-n", "mixed")
    assert by_name(report)["mixed"]["server"] == {**by_name(report)["mixed"]["server"], "agrees": True}
    assert "note" not in by_name(report)["mixed"]["server"] and "dry run and kubectl-pss differ" not in err


def test_simulate_server_disagreement_and_failed_dry_run_do_not_exit_0(run_cli, cluster):
    """(review of issue 12) 'good' would reject nothing: only the server's dry run decides the exit code."""
    cluster.namespace_patch_warnings = lambda ns, old, new: ["something else"]
    code, report, err = simulate(run_cli, cluster, "--server-dry-run", "-n", "good")
    assert report["summary"]["namespacesAffected"] == 0 and by_name(report)["good"]["server"]["agrees"] is False
    assert code == 1
    cluster.namespace_patch_warnings = lambda ns, old, new: []
    cluster.forbid("namespaces", namespace="good", verbs=["patch"])
    code, report, err = simulate(run_cli, cluster, "--server-dry-run", "-n", "good")
    assert by_name(report)["good"]["server"]["status"] == 403 and code == 2
    assert 'error: namespace "good": the API server\'s dry run failed: ' in err


def test_simulate_server_dry_run_fatal_error_ends_the_run(run_cli, cluster):
    """A dry run the server refuses to authenticate is not a per-namespace 'error' cell: the run ends (exit 2)."""
    cluster.inject("/api/v1/namespaces/good", 401, times=50, methods=["PATCH"])
    code, out, err = run_cli("simulate", "restricted", "--server-dry-run", "-n", "good", "-o", "json",
                             "--kubeconfig", str(cluster.kubeconfig_path))
    assert code == 2 and out == "" and err.count("\n") == 1


def test_unread_namespace_counts_are_unknown_not_0(run_cli, cluster):
    """(review of issue 12) an incomplete namespace: pods/workloads null in JSON, ? in tables, never 0."""
    cluster.forbid("pods")
    cluster.forbid("pods", namespace="prod")
    for command in (["audit", "-n", "prod,good"], ["simulate", "restricted", "-n", "prod,good"]):
        code, out, _ = run_cli(*command, "-o", "json", "--kubeconfig", str(cluster.kubeconfig_path))
        ns = by_name(json.loads(out))
        assert code == 2 and ns["prod"]["pods"] is None and ns["prod"]["workloads"] is None
        assert ns["good"]["complete"] is True and isinstance(ns["good"]["pods"], int)
        code, out, _ = run_cli(*command, "--no-color", "--kubeconfig", str(cluster.kubeconfig_path))
        row = next(line.split() for line in out.splitlines() if line.startswith("prod "))
        assert "0" not in row and row.count("?") >= 3, row


@pytest.mark.parametrize("argv", [
    ["audit", "-n", "../../../apis/x"],
    ["simulate", "restricted", "-n", "good,Bad"],
    ["snapshot", "-o", "-", "-n", "a/b"],
    ["label", "../x", "--warn", "baseline", "--yes"],
    ["label", "-n", "x" * 64, "--warn", "baseline", "--yes"],
])
def test_namespace_names_are_dns_1123_labels(run_cli, cluster, argv):
    """(review of issue 12) never sent to the server as a path: kubectl's message, one line, exit 2."""
    cluster.clear_requests()
    code, out, err = run_cli(*argv, "--kubeconfig", str(cluster.kubeconfig_path))
    assert code == 2 and out == "" and err.count("\n") == 1 and cluster.requests == []
    assert err.startswith('error: invalid namespace "') and ("a lowercase RFC 1123 label must consist of" in err
                                                               or "must be no more than 63 characters" in err)


def test_a_named_namespace_that_does_not_exist_is_2_in_audit_and_label(run_cli, cluster):
    for argv in (["audit", "-n", "nosuch"], ["label", "nosuch", "--warn", "baseline", "--yes"]):
        code, _, err = run_cli(*argv, "--kubeconfig", str(cluster.kubeconfig_path))
        assert code == 2 and 'namespace "nosuch"' in err, argv
