"""``audit-log`` end to end: the real CLI on logs derived from real audit events; ``--live`` against the test
API server through the real kubernetes client; every JSON output validated against its schema."""
from __future__ import annotations

import copy
import gzip
import io
import json
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from tests.auditlog import eventgen as g

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "docs" / "schema" / "AuditLogReport.json").read_text())



def valid(report: dict) -> dict:
    jsonschema.validate(report, SCHEMA, cls=jsonschema.Draft202012Validator)
    return report


def report_of(run_cli, *argv) -> tuple[int, dict, str]:
    code, out, err = run_cli("audit-log", *argv, "-o", "json")
    return code, valid(json.loads(out)), err


def rows(report: dict) -> list[tuple]:
    return [(v["namespace"], v["resource"], v["name"], v["mode"], v["count"]) for v in report["violations"]]


def test_the_real_log_as_json(run_cli):
    code, report, err = report_of(run_cli, g.SAMPLE)
    assert code == 0 and err == ""
    assert (report["apiVersion"], report["kind"], report["context"], report["server"], report["errors"]) == (
        "kubectl-pss/v1", "AuditLogReport", None, None, [])
    assert rows(report) == [("ae-demo", "deployments", "agent", "audit", 1), ("ae-demo", "pods", "job-runner", "audit", 1),
                            ("ae-demo", "pods", "shell", "audit", 1), ("ae-demo", "pods", "shell", "enforce", 1),
                            ("ae-demo", "pods", "web-root", "audit", 1),
                            ("ae-demo", "replicasets", "agent-6f7c6d5c98", "audit", 1)]
    assert report["events"] == {"read": 8, "matched": 5, "skipped": 0}
    assert report["files"] == [{"path": str(g.SAMPLE), "compressed": False, "read": 8, "matched": 5, "skipped": 0,
                                "skippedLines": [], "error": None}]
    assert (report["summary"]["auditEvents"], report["summary"]["enforceEvents"]) == (5, 1)
    assert "suggestions" not in report


@pytest.mark.parametrize("fail_on, code", [("enforce", 1), ("audit", 1), ("audit,enforce", 1)])
def test_fail_on_names_the_modes_that_fail(run_cli, fail_on, code):
    assert report_of(run_cli, g.SAMPLE, "--fail-on", fail_on)[0] == code


def test_fail_on_enforce_passes_without_denials(run_cli, tmp_path):
    log = g.write(tmp_path / "audit.log", [g.ROOT_POD, g.SA_POD])
    assert report_of(run_cli, log, "--fail-on", "enforce")[0] == 0
    assert report_of(run_cli, log, "--fail-on", "audit")[0] == 1


def test_a_rotated_directory_with_bad_lines_and_a_corrupt_member(run_cli, tmp_path):
    logs = tmp_path / "audit"
    logs.mkdir()
    g.write(logs / "audit-2026-12-01T10-00-00.000.log.gz",
            [g.at(g.ROOT_POD, "2026-12-01T09:00:00Z"), g.NAMESPACE_CREATE], compress=True)
    g.write(logs / "audit.log", [g.at(g.ROOT_POD, "2026-12-07T10:00:00Z"), "not an event", g.SA_POD],
            tail=g.line(g.DENIED_POD)[:500])
    bad = bytearray(gzip.compress(g.lines([g.DENIED_POD] * 50)))
    bad[40:90] = b"\xff" * 50
    (logs / "audit-2026-11-30T10-00-00.000.log.gz").write_bytes(gzip.compress(g.lines([g.SA_POD])) + bytes(bad))
    code, report, err = report_of(run_cli, logs)
    assert code == 2  # something could not be read: never a clean result
    [error] = report["errors"]
    assert error["file"].endswith("audit-2026-11-30T10-00-00.000.log.gz") and "unreadable after line 1" in error["message"]
    [web_root] = [v for v in report["violations"] if v["name"] == "web-root"]
    assert (web_root["count"], web_root["firstSeen"], web_root["lastSeen"]) == (
        2, "2026-12-01T09:00:00Z", "2026-12-07T10:00:00Z")
    files = {Path(f["path"]).name: f for f in report["files"]}
    assert files["audit.log"]["skipped"] == 2 and files["audit.log"]["skippedLines"] == [2, 4]
    assert files["audit-2026-12-01T10-00-00.000.log.gz"]["compressed"] is True
    assert report["events"]["skipped"] == 2
    assert "audit.log: 2 line(s) skipped" in err and "error: " in err


def test_stdin(run_cli, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BufferedReader(io.BytesIO(g.SAMPLE.read_bytes()))))
    code, report, _ = report_of(run_cli, "-")
    assert code == 0 and report["files"][0]["path"] == "-" and report["events"]["matched"] == 5


def test_filters(run_cli):
    _, report, _ = report_of(run_cli, g.SAMPLE, "-l", "user=system:serviceaccount:ae-demo:deployer")
    assert rows(report) == [("ae-demo", "pods", "job-runner", "audit", 1)]
    assert report["events"]["matched"] == 1
    _, report, _ = report_of(run_cli, g.SAMPLE, "-n", "other")
    assert report["violations"] == [] and report["events"] == {"read": 8, "matched": 0, "skipped": 0}
    _, report, _ = report_of(run_cli, g.SAMPLE, "--since", "2026-12-07T18:11:33.5Z", "--until", "2026-12-07T18:11:34Z")
    assert [(v["name"], v["mode"]) for v in report["violations"]] == [("shell", "audit"), ("shell", "enforce")]


def test_yaml_is_the_same_document(run_cli):
    _, out, _ = run_cli("audit-log", g.SAMPLE, "-o", "yaml")
    _, report, _ = report_of(run_cli, g.SAMPLE)
    assert yaml.safe_load(out) == report


def test_the_table(run_cli, tmp_path):
    log = g.write(tmp_path / "audit.log", [*g.REAL, g.metadata_level(g.in_namespace(g.DENIED_POD, "meta")),
                                           g.generated_pod(), g.exempted(g.ROOT_POD, "namespace")])
    code, out, err = run_cli("audit-log", log, "--no-color")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["NAMESPACE", "OBJECT", "OWNER", "USER", "MODE", "POLICY", "CHECKS", "COUNT", "FIRST",
                                "SEEN", "LAST", "SEEN"]
    shell = [line for line in lines if "pods/shell" in line and " enforce " in line]
    assert len(shell) == 2 and any(" privileged *" in line for line in shell)  # evaluated from the request
    meta = next(line for line in shell if line.startswith("meta"))
    assert meta.split()[2] == "?" and meta.split()[6] == "?"  # owner and checks unknown, never blank
    assert "pods/agent-6f7c6d5c98-*" in out and "ReplicaSet/agent-6f7c6d5c98" in out
    assert "(controller)" in out and "Exemptions used:" in out
    assert "(OWNER ?: owner unknown (Metadata-level audit policy: no request body))" in out
    assert "By namespace:" in out and "By check:" in out
    assert err == "read 11 events from 1 file(s): 8 PodSecurity, 0 lines skipped\n"


def test_nothing_found_but_incomplete_is_not_clean(run_cli, tmp_path):
    log = g.write(tmp_path / "audit.log", [g.COMPLIANT_POD], tail=b'{"kind":"Event","apiVersion":"audit.k8s.io/v1","annot')
    code, out, _ = run_cli("audit-log", log)
    # 1 event and 1 line cut short (it counted as an event before the review of issue 12: events, not lines)
    assert code == 0 and out == "No PodSecurity violations in 1 events (incomplete: 1 line(s) skipped; see stderr).\n"


@pytest.mark.parametrize("content", [
    b"apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: c\n    image: i\n",
    b"\x00\x01\xff\xfe binary\n",
    b"",
])
def test_a_file_with_no_audit_events_is_an_error(run_cli, tmp_path, content):
    """(review of issue 12) not an audit log: exit 2 naming it, never 'No PodSecurity violations'."""
    log = tmp_path / "pod.yaml"
    log.write_bytes(content)
    code, out, err = run_cli("audit-log", str(log))
    assert code == 2 and f"error: {log}: no audit events in it" in err and "0 events" in out
    code, out, err = run_cli("audit-log", str(log), "-o", "json")
    report = json.loads(out)
    assert code == 2 and report["events"]["read"] == 0 and report["files"][0]["error"].startswith(f"{log}: no audit")


def test_help_says_warn_is_not_in_the_log(run_cli):
    code, out, _ = run_cli("audit-log", "--help")
    assert code == 0 and "Warn mode is not in the audit log" in " ".join(out.split())
    assert "Exit codes:" in out and "Examples:" in out


@pytest.mark.parametrize("argv, message", [
    (["missing.log"], '"missing.log": no such file or directory'),
    ([str(g.SAMPLE), "--since", "yesterday"], 'invalid --since "yesterday"'),
    ([str(g.SAMPLE), "--since", "1h", "--until", "2h"], "--since is after --until"),
    ([str(g.SAMPLE), "-l", "owner=x"], "invalid -l"),
    ([str(g.SAMPLE), "--fail-on", "warn"], "warn is not in the audit log"),
    ([str(g.SAMPLE), "-o", "name"], "unable to match a printer"),
    ([str(g.SAMPLE), "--context", "x"], "--context goes with --live"),
    ([str(g.SAMPLE), "-A", "-n", "x"], "-A or -n"),
    ([str(g.SAMPLE), "--admission-config", "missing.yaml"], "--admission-config"),
])
def test_bad_input_is_one_line_exit_2(run_cli, tmp_path, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli("audit-log", *argv)
    assert code == 2 and out == "" and err.startswith("error: ") and err.count("\n") == 1, err
    assert message in err


def test_suggest_exemptions(run_cli, tmp_path):
    ci = "system:serviceaccount:ci:runner"
    log = g.write(tmp_path / "audit.log", [*g.REAL, g.in_namespace(g.as_user(g.ROOT_POD, ci), "builds"),
                                           g.in_namespace(g.generated_pod(), "web")])
    _, report, _ = report_of(run_cli, log, "--suggest-exemptions")
    assert report["suggestions"]["exemptions"] == {"usernames": [ci]}
    assert [c["username"] for c in report["suggestions"]["candidates"]] == [
        ci, "system:serviceaccount:kube-system:replicaset-controller"]
    code, out, _ = run_cli("audit-log", log, "--suggest-exemptions", "--no-color")
    assert code == 0
    snippet = out.split("if you accept the risk:\n", 1)[1]
    assert yaml.safe_load(snippet) == {"exemptions": {"usernames": [ci]}}


# --- --live -------------------------------------------------------------------------------------------------


@pytest.fixture
def cluster(apiserver):
    """ae-demo as it is now: web-root and the agent Deployment still there, job-runner recreated compliant,
    the ReplicaSet and the denied shell pod gone (objects taken from the logged requests)."""
    apiserver.version = {"major": "1", "minor": "24", "gitVersion": "v1.24.0"}
    labels = g.LABEL_PATCH["requestObject"]["metadata"]["labels"]
    apiserver.add_namespace("ae-demo", labels)
    apiserver.add(copy.deepcopy(g.ROOT_POD["requestObject"]))
    apiserver.add(copy.deepcopy(g.DEPLOYMENT["requestObject"]))
    fixed = copy.deepcopy(g.COMPLIANT_POD["requestObject"])
    fixed["metadata"].update(name="job-runner", namespace="ae-demo")
    apiserver.add(fixed)
    return apiserver


def live_report(run_cli, cluster, *events, extra=()):
    path = Path(cluster.kubeconfig_path).parent / "audit.log"
    g.write(path, events or g.REAL)
    return report_of(run_cli, path, "--live", "--kubeconfig", cluster.kubeconfig_path, *extra)


def lives(report) -> dict[tuple, tuple]:
    return {(v["resource"], v["name"], v["mode"]): (v["live"]["exists"], v["live"]["stillViolates"], v["live"]["policy"])
            for v in report["violations"]}


def test_live_cross_reference(run_cli, cluster):
    code, report, err = live_report(run_cli, cluster)
    assert code == 0, err
    assert report["context"] == "fake" and report["server"] == {"gitVersion": "v1.24.0", "minor": 24}
    assert lives(report) == {
        ("pods", "web-root", "audit"): (True, True, "restricted:v1.23"),
        ("deployments", "agent", "audit"): (True, True, "restricted:v1.23"),
        ("pods", "job-runner", "audit"): (True, False, "restricted:v1.23"),
        ("pods", "shell", "audit"): (False, None, None),
        ("pods", "shell", "enforce"): (False, None, None),
        ("replicasets", "agent-6f7c6d5c98", "audit"): (False, None, None),
    }
    web_root = next(v for v in report["violations"] if v["name"] == "web-root")
    assert [c["check"] for c in web_root["live"]["checks"]] == [c["check"] for c in web_root["checks"]]
    enforce = next(v for v in report["violations"] if v["mode"] == "enforce")
    assert "latest = v1.24" in enforce["notes"][0]  # the server's latest, not the newest this tool knows
    assert report["summary"]["live"] == {"stillViolating": 2, "compliantNow": 1, "gone": 3, "unknown": 0}


def test_live_follows_the_namespaces_current_labels(run_cli, cluster):
    ns = cluster.namespace("ae-demo")
    cluster.add_namespace("ae-demo", {**ns["metadata"]["labels"], "pod-security.kubernetes.io/audit": "baseline"})
    _, report, _ = live_report(run_cli, cluster, g.ROOT_POD, g.DEPLOYMENT)
    assert lives(report) == {("pods", "web-root", "audit"): (True, False, "baseline:v1.23"),
                             ("deployments", "agent", "audit"): (True, True, "baseline:v1.23")}


def test_live_gone_namespace_generated_names_and_exempt_namespaces(run_cli, cluster, tmp_path):
    config = tmp_path / "admission.yaml"
    config.write_text(yaml.safe_dump({
        "apiVersion": "apiserver.config.k8s.io/v1", "kind": "AdmissionConfiguration",
        "plugins": [{"name": "PodSecurity", "configuration": {
            "apiVersion": "pod-security.admission.config.k8s.io/v1", "kind": "PodSecurityConfiguration",
            "defaults": {"enforce": "privileged"}, "exemptions": {"namespaces": ["ae-demo"]}}}]}))
    _, report, _ = live_report(run_cli, cluster, g.ROOT_POD, g.in_namespace(g.SA_POD, "old-team"), g.generated_pod(),
                               extra=("--admission-config", config))
    by_name = {v["name"]: v["live"] for v in report["violations"]}
    assert by_name["web-root"]["stillViolates"] is False and "exempt" in by_name["web-root"]["note"]
    assert (by_name["job-runner"]["exists"], by_name["job-runner"]["note"]) == (False, "its namespace is gone")
    assert by_name["agent-6f7c6d5c98-"]["exists"] is None  # never guessed from the prefix
    assert "its owner ReplicaSet/agent-6f7c6d5c98 is gone" in by_name["agent-6f7c6d5c98-"]["note"]
    assert report["errors"] == []


def test_live_judges_generated_pods_by_their_logged_owner(run_cli, cluster):
    rs = copy.deepcopy(g.REPLICASET["requestObject"])
    rs["spec"]["replicas"] = 2
    cluster.add(rs)
    _, report, _ = live_report(run_cli, cluster, g.generated_pod(), g.metadata_level(g.generated_pod("other-rs")))
    [no_owner, by_owner] = report["violations"]  # sorted by name: the unknown name first
    assert by_owner["live"]["exists"] is None and by_owner["live"]["stillViolates"] is True
    assert by_owner["live"]["policy"] == "restricted:v1.23"
    assert "judged by its owner ReplicaSet/agent-6f7c6d5c98" in by_owner["live"]["note"]
    assert no_owner["name"] is None and no_owner["live"]["stillViolates"] is None  # Metadata level: no owner
    assert report["summary"]["live"] == {"stillViolating": 1, "compliantNow": 0, "gone": 0, "unknown": 1}
    _, out, _ = run_cli("audit-log", Path(cluster.kubeconfig_path).parent / "audit.log", "--live",
                        "--kubeconfig", cluster.kubeconfig_path, "--no-color")
    assert "violates restricted:v1.23 (owner)" in out and "(NOW (owner): the pod's own name is not in the log" in out


def test_live_read_errors_are_unknown_and_exit_2(run_cli, cluster):
    cluster.forbid("pods", namespace="ae-demo")
    code, report, err = live_report(run_cli, cluster)
    assert code == 2
    assert [(e["namespace"], e["resource"]) for e in report["errors"]] == [("ae-demo", "pods")]
    assert lives(report)[("pods", "web-root", "audit")] == (None, None, None)  # not read: not "gone"
    assert lives(report)[("deployments", "agent", "audit")] == (True, True, "restricted:v1.23")
    assert 'error: namespace "ae-demo": pods: ' in err


def test_live_table_has_the_now_column(run_cli, cluster):
    path = Path(cluster.kubeconfig_path).parent / "audit.log"
    g.write(path, g.REAL)
    code, out, _ = run_cli("audit-log", path, "--live", "--kubeconfig", cluster.kubeconfig_path, "--no-color")
    assert code == 0
    assert out.splitlines()[0].split()[-1] == "NOW"
    assert "violates restricted:v1.23" in out and "passes restricted:v1.23" in out and " gone" in out
    assert "Now: 2 still violating, 1 compliant, 3 gone, 0 unknown" in out


def test_live_with_a_dead_server_is_one_line(run_cli, cluster):
    cluster.stop()
    code, out, err = run_cli("audit-log", g.SAMPLE, "--live", "--kubeconfig", cluster.kubeconfig_path)
    assert code == 2 and out == "" and err.startswith("error: ") and err.count("\n") == 1
