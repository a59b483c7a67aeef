"""Every command's ``-o json`` report, for real (live fake API server and snapshot), against its kind's schema
under docs/schema/; and the schemas are strict enough to catch a renamed or a missing key."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from tests.apiserver import FakeApiServer, write_kubeconfig
from tests.report.schemas import SCHEMA_DIR, schema_errors
from tests.scenarios import ADMISSION_CONFIG

ROOT = Path(__file__).resolve().parents[2]
KIND_SNAPSHOT = ROOT / "examples" / "kind-cluster.json"
MANIFESTS = ROOT / "examples" / "manifests"
SECCOMP_PROFILE = ROOT / "examples" / "seccomp" / "nginx.yaml"  # an SPO SeccompProfile: lint reads it
RUNTIME_PROFILE = {"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"],
                   "syscalls": [{"names": ["read", "write", "execve", "exit_group"], "action": "SCMP_ACT_ALLOW"}]}
AUDIT_EVENTS = ROOT / "tests" / "data" / "audit-events.jsonl"

KINDS = ["AuditReport", "SimulateReport", "LabelReport", "CheckReport", "AdmissionConfigCheck",
         "AdmissionConfigProposal", "VerifyAppArmorReport", "VerifySeccompReport", "NodesReport",
         "SeccompLintReport", "SeccompInstallReport", "VersionReport", "AuditLogReport", "FixReport"]


# -o yaml of these is generated YAML (admission-config's configuration, seccomp install's securityContext stanza)
JSON_ONLY = {"AdmissionConfigCheck", "AdmissionConfigProposal", "SeccompInstallReport"}


@pytest.fixture
def cluster(mixed_cluster, tmp_path):
    apiserver = mixed_cluster
    apiserver.runtime.add_node("node-a")
    apiserver.profile = tmp_path / "profile.json"
    apiserver.profile.write_text(json.dumps(RUNTIME_PROFILE))
    return apiserver


def live_commands(cluster) -> list[tuple[str, list[str]]]:
    """(kind, argv) of every command that reports on a live cluster."""
    return [
        ("AuditReport", ["audit", "-A"]),
        ("SimulateReport", ["simulate", "restricted", "-A"]),
        ("LabelReport", ["label", "--all-namespaces", "--enforce", "baseline"]),
        ("AdmissionConfigCheck", ["admission-config", "--check", str(cluster.admission_config)]),
        ("AdmissionConfigProposal", ["admission-config", "--from-cluster"]),
        ("VerifyAppArmorReport", ["verify-apparmor", "-A"]),
        ("VerifySeccompReport", ["verify-seccomp", "-A"]),
        ("NodesReport", ["nodes"]),
        ("SeccompInstallReport", ["seccomp", "install", str(cluster.profile), "--path", "profiles/nginx.json",
                                  "--all-nodes"]),
        ("VersionReport", ["version"]),
        ("AuditLogReport", ["audit-log", str(AUDIT_EVENTS), "--live"]),
    ]


OFFLINE = [
    ("AuditReport", ["audit", "--snapshot", str(KIND_SNAPSHOT)]),
    ("SimulateReport", ["simulate", "restricted", "--snapshot", str(KIND_SNAPSHOT)]),
    ("CheckReport", ["check", "-f", str(MANIFESTS)]),
    ("CheckReport", ["check", "-f", str(MANIFESTS), "--level", "baseline"]),
    ("CheckReport", ["check", "-f", str(KIND_SNAPSHOT)]),
    ("AdmissionConfigCheck", ["admission-config", "--check", "CONFIG", "--offline"]),
    ("SeccompLintReport", ["seccomp", "lint", str(SECCOMP_PROFILE)]),
    ("VersionReport", ["version", "--client"]),
    ("AuditLogReport", ["audit-log", str(AUDIT_EVENTS), "--suggest-exemptions"]),
]


def run_report(run_cli, argv, fmt="json"):
    code, out, err = run_cli(*argv, "-o", fmt)
    assert out.strip(), (argv, err)
    import yaml

    return code, (json.loads(out) if fmt == "json" else yaml.safe_load(out)), err


def assert_valid(kind, report, argv):
    assert (report["apiVersion"], report["kind"]) == ("kubectl-pss/v1", kind), argv
    assert list(report)[:5] == ["apiVersion", "kind", "context", "server", "errors"], argv
    assert schema_errors(report) == [], argv


def test_every_kind_has_one_valid_draft_2020_12_schema():
    assert sorted(p.stem for p in SCHEMA_DIR.glob("*.json")) == sorted(KINDS + ["List"])  # List: a fleet's
    for kind in KINDS:
        schema = json.loads((SCHEMA_DIR / f"{kind}.json").read_text())
        Draft202012Validator.check_schema(schema)
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert schema["properties"]["kind"] == {"const": kind} and schema["additionalProperties"] is False
        assert schema["required"][:5] == ["apiVersion", "kind", "context", "server", "errors"]


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_live_reports_match_their_schemas(run_cli, cluster, fmt):
    seen = set()
    for kind, argv in live_commands(cluster):
        if fmt == "yaml" and kind in JSON_ONLY:
            continue
        argv = argv + ["--kubeconfig", str(cluster.kubeconfig_path)]
        _, report, _ = run_report(run_cli, argv, fmt)
        assert_valid(kind, report, argv)
        assert report["context"] == "fake", argv
        seen.add(kind)
    never_live = {"CheckReport", "SeccompLintReport", "FixReport"}  # FixReport live: tests/commands/test_fix_live.py
    assert seen == set(KINDS) - never_live - (JSON_ONLY if fmt == "yaml" else set())


def test_live_reports_name_the_server_when_they_read_it(run_cli, cluster):
    for argv in (["audit", "-A"], ["simulate", "baseline", "-A"], ["admission-config", "--from-cluster"],
                 ["version"], ["audit-log", str(AUDIT_EVENTS), "--live"], ["verify-apparmor", "-A"],
                 ["verify-seccomp", "-A"], ["nodes"]):
        _, report, _ = run_report(run_cli, argv + ["--kubeconfig", str(cluster.kubeconfig_path)])
        assert report["server"] == {"gitVersion": "v1.34.2", "minor": 34}, argv


def test_offline_reports_match_their_schemas(run_cli, tmp_path):
    config = tmp_path / "admission.yaml"
    config.write_text(ADMISSION_CONFIG)
    for kind, argv in OFFLINE:
        argv = [str(config) if a == "CONFIG" else a for a in argv]
        _, report, _ = run_report(run_cli, argv)
        assert_valid(kind, report, argv)
        assert report["context"] is None, argv
        if "--snapshot" in argv:
            assert report["server"] == {"gitVersion": "v1.29.2", "minor": 29}
        else:
            assert report["server"] is None, argv


def test_reports_from_a_fresh_snapshot_match_their_schemas(run_cli, cluster, tmp_path):
    dump = tmp_path / "snap.json"
    code, _, _ = run_cli("snapshot", "-A", "-o", dump, "--kubeconfig", cluster.kubeconfig_path)
    assert code == 0
    for kind, argv in (("AuditReport", ["audit"]), ("SimulateReport", ["simulate", "restricted"])):
        _, report, _ = run_report(run_cli, argv + ["--snapshot", str(dump)])
        assert_valid(kind, report, argv)
        assert report["context"] is None and report["server"] == {"gitVersion": "v1.34.2", "minor": 34}


def test_errors_are_objects_with_a_message(run_cli, cluster):
    cluster.forbid("pods")  # the all-namespaces list, then the per-namespace fallback in prod
    cluster.forbid("pods", namespace="prod")
    _, report, _ = run_report(run_cli, ["audit", "-A", "--kubeconfig", str(cluster.kubeconfig_path)])
    assert report["errors"] and all(isinstance(e["message"], str) and "error" not in e for e in report["errors"])
    assert_valid("AuditReport", report, "audit with a forbidden list")
    _, report, _ = run_report(run_cli, ["check", "-f", str(ROOT / "examples" / "rbac.yaml"), "-f", "/nonexistent"])
    assert report["errors"][0]["message"] and report["errors"][0]["source"] == "/nonexistent"


def _rename_first(document, path, new):
    """A copy of ``document`` with the key at ``path`` (a list of keys/indexes, last one the key) renamed."""
    doc = copy.deepcopy(document)
    parent = doc
    for step in path[:-1]:
        parent = parent[step]
    parent[new] = parent.pop(path[-1])
    return doc


def test_the_schemas_catch_a_renamed_or_missing_key(run_cli):
    _, audit, _ = run_report(run_cli, ["audit", "--snapshot", str(KIND_SNAPSHOT)])
    assert schema_errors(audit) == []
    for path, new in ((["errors"], "error"), (["namespaces", 0, "strictestLevel"], "strictest"),
                      (["namespaces", 0, "violatesEnforce"], "violates-enforce"), (["server", "gitVersion"], "git"),
                      (["cluster", "policyLatest"], "latest")):
        assert schema_errors(_rename_first(audit, path, new)), path
    _, check, _ = run_report(run_cli, ["check", "-f", str(MANIFESTS)])
    assert schema_errors(_rename_first(check, ["results", 0, "nextLevel"], "next")), "check nextLevel"
    assert schema_errors({**check, "server": "v1.34"}), "server is an object or null"
    assert schema_errors({**check, "errors": ["a string"]}), "errors are objects"
    _, lint, _ = run_report(run_cli, ["seccomp", "lint", str(SECCOMP_PROFILE)])
    assert schema_errors(_rename_first(lint, ["summary", "warnings"], "warning")), "lint summary"
    assert schema_errors({**lint, "errors": lint["summary"]["errors"]}), "lint counts are not errors"
    _, version, _ = run_report(run_cli, ["version", "--client"])
    assert schema_errors({**version, "kind": "Version"}), "unknown kind"


def test_check_results_are_either_judged_at_a_level_or_graded(run_cli):
    _, judged, _ = run_report(run_cli, ["check", "-f", str(MANIFESTS), "--level", "baseline"])
    _, graded, _ = run_report(run_cli, ["check", "-f", str(MANIFESTS)])
    assert all(r["level"] == "baseline" and "allowed" in r for r in judged["results"])
    assert all(r["level"] is None and "strictestLevel" in r for r in graded["results"])
    mixed = copy.deepcopy(judged)
    mixed["results"][0]["strictestLevel"] = "baseline"  # a grade beside a judged level
    assert schema_errors(mixed)
    ungraded = copy.deepcopy(graded)
    del ungraded["results"][0]["nextLevel"]
    assert schema_errors(ungraded)


def test_a_fleet_list_checks_each_item_against_its_kind(run_cli, cluster):
    argv = ["audit", "-A", "--contexts", "fake,down", "--kubeconfig", str(cluster.kubeconfig_path), "-o", "json"]
    down = FakeApiServer().start()
    down.stop()
    write_kubeconfig(cluster.kubeconfig_path, [cluster.context("fake"), down.context("down")], "fake")
    code, out, _ = run_cli(*argv)
    data = json.loads(out)
    assert code == 2 and schema_errors(data) == []
    Draft202012Validator.check_schema(json.loads((SCHEMA_DIR / "List.json").read_text()))
    whole, failed = data["items"]
    assert (whole["context"], failed["context"]) == ("fake", "down")
    broken = copy.deepcopy(data)
    broken["items"][0]["namespaces"][0]["strictest"] = broken["items"][0]["namespaces"][0].pop("strictestLevel")
    assert any(p.startswith("items/0/namespaces/0") for p in schema_errors(broken))
    claims = copy.deepcopy(data)
    claims["items"][1]["namespaces"] = []  # a failed context makes no claims
    assert schema_errors(claims) != []
    unnamed = copy.deepcopy(data)
    unnamed["items"][0]["context"] = None  # each report names its context
    assert schema_errors(unnamed) != []
