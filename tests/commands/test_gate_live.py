"""``audit`` and ``simulate`` as CI gates on a live cluster: --fail-on MODE|LEVEL (one meaning with check's)
and baselines by namespace + owner + check, through the real client and the fake API server."""
from __future__ import annotations

import datetime
import json

import pytest
import yaml

from tests.commands.test_audit_simulate import cluster  # noqa: F401 (the mixed cluster, a fixture)
from tests.scenarios import BASELINE_SPEC, PRIVILEGED_SPEC


def gate_of(run_cli, cluster, *argv):
    code, out, err = run_cli(*argv, "--kubeconfig", str(cluster.kubeconfig_path), "-o", "json")
    return code, json.loads(out), err


@pytest.mark.parametrize("fail_on, failed", [
    ("enforce", ["prod"]),  # the old root pods violate prod's own restricted:v1.30
    ("warn", ["batch", "prod"]),  # batch warns restricted; prod's warn follows its enforce label
    ("audit", []),  # every audit level is the default privileged
    ("baseline", ["batch", "kube-system", "sandbox"]),  # sandbox's runtimeClass kata is exempt only by the config
    ("restricted", ["batch", "default", "kube-system", "prod", "sandbox"]),
])
def test_audit_fail_on_mode_or_level(run_cli, cluster, fail_on, failed):
    code, report, err = gate_of(run_cli, cluster, "audit", "-A", "--fail-on", fail_on)
    assert report["gate"]["failOn"] == fail_on and report["gate"]["failedNamespaces"] == failed
    assert code == (1 if failed else 0)
    if failed:
        assert f"--fail-on {fail_on}: {len(failed)} namespace(s) fail: {', '.join(failed)}" in err


def test_audit_fail_on_enforce_names_owner_and_check(run_cli, cluster):
    _, report, _ = gate_of(run_cli, cluster, "audit", "-A", "--fail-on", "enforce")
    assert report["gate"]["findings"] == [{"namespace": "prod", "owner": {"kind": "Deployment", "name": "api"},
                                           "check": "runAsUser", "baselined": False}]


def test_audit_fail_on_honours_the_admission_config(run_cli, cluster):
    code, report, _ = gate_of(run_cli, cluster, "audit", "-A", "--fail-on", "audit",
                              "--admission-config", cluster.admission_config)
    # audit defaults to restricted; kube-system is exempt, sandbox's privileged pod has an exempt runtimeClass
    assert report["gate"]["failedNamespaces"] == ["batch", "default", "prod"] and code == 1


def test_audit_without_fail_on_has_no_gate_and_exits_0(run_cli, cluster):
    code, report, _ = gate_of(run_cli, cluster, "audit", "-A")
    assert code == 0 and "gate" not in report


def test_audit_baseline_only_new_violations_fail(run_cli, cluster, tmp_path):
    baseline = tmp_path / "audit-baseline.yaml"
    code, report, err = gate_of(run_cli, cluster, "audit", "-A", "--fail-on", "baseline", "--write-baseline", baseline)
    assert code == 0 and report["gate"]["failedNamespaces"] == [] and f"baseline written: {baseline}" in err
    entries = yaml.safe_load(baseline.read_text())["entries"]
    assert {"namespace": "kube-system", "ownerKind": "Pod", "ownerName": "etcd-node1", "check": "privileged"} in entries
    code, report, err = gate_of(run_cli, cluster, "audit", "-A", "--fail-on", "baseline", "--baseline", baseline)
    assert code == 0 and all(f["baselined"] for f in report["gate"]["findings"])
    assert report["gate"]["baseline"] == {"file": str(baseline), "fixed": [], "expired": []}
    cluster.add_pod("default", "shell", PRIVILEGED_SPEC)  # new: fails; etcd is gone: its entries are fixed
    cluster.delete("pods", "kube-system", "etcd-node1")
    code, report, err = gate_of(run_cli, cluster, "audit", "-A", "--fail-on", "baseline", "--baseline", baseline)
    assert code == 1 and report["gate"]["failedNamespaces"] == ["default"]
    assert {"namespace": "kube-system", "ownerKind": "Pod", "ownerName": "etcd-node1", "check": "privileged"} in \
        report["gate"]["baseline"]["fixed"]
    assert "note: baseline entry fixed (no longer matches): namespace kube-system Pod/etcd-node1 privileged" in err


def test_audit_refuses_a_check_baseline(run_cli, cluster, tmp_path):
    baseline = tmp_path / "b.yaml"
    baseline.write_text("kind: Baseline\ntarget: check\nentries: []\n")
    code, out, err = run_cli("audit", "-A", "--fail-on", "enforce", "--baseline", baseline,
                             "--kubeconfig", cluster.kubeconfig_path)
    assert code == 2 and out == "" and err == f'error: --baseline: {baseline}: a baseline of "check", not of audit\n'


def test_simulate_fail_on_judges_with_the_simulated_label_set(run_cli, cluster):
    # enforcing restricted on default: its warn (no label) follows it, so warn fails too, as PSA would
    code, report, _ = gate_of(run_cli, cluster, "simulate", "restricted", "-n", "default", "--fail-on", "warn")
    assert code == 1 and report["gate"]["failedNamespaces"] == ["default"]
    # audit is still privileged there: the gate passes although restricted would reject nginx
    code, report, _ = gate_of(run_cli, cluster, "simulate", "restricted", "-n", "default", "--fail-on", "audit")
    assert code == 0 and report["summary"]["namespacesAffected"] == 1 and report["gate"]["failedNamespaces"] == []
    code, report, _ = gate_of(run_cli, cluster, "simulate", "restricted", "-A", "--fail-on", "baseline",
                              "--admission-config", cluster.admission_config)
    assert code == 1 and report["gate"]["failedNamespaces"] == ["batch"]  # kube-system, kata: exempt


def test_simulate_baseline(run_cli, cluster, tmp_path):
    baseline = tmp_path / "b.json"
    code, _, _ = gate_of(run_cli, cluster, "simulate", "restricted", "-A", "--fail-on", "enforce",
                         "--write-baseline", baseline)
    assert code == 0 and json.loads(baseline.read_text())["target"] == "audit"
    cluster.add_pod("good", "late", BASELINE_SPEC)
    code, report, _ = gate_of(run_cli, cluster, "simulate", "restricted", "-A", "--fail-on", "enforce",
                              "--baseline", baseline)
    assert code == 1 and report["gate"]["failedNamespaces"] == ["good"]


@pytest.mark.parametrize("command", [["audit", "-A"], ["simulate", "restricted"]])
def test_bad_fail_on_is_one_line(run_cli, cluster, command):
    code, out, err = run_cli(*command, "--fail-on", "privileged", "--kubeconfig", cluster.kubeconfig_path)
    assert code == 2 and out == "" and err.startswith('error: invalid --fail-on "privileged": must be one of enforce')


def test_audit_expired_entry_fails_again(run_cli, cluster, tmp_path):
    baseline = tmp_path / "b.yaml"
    gate_of(run_cli, cluster, "audit", "-A", "--fail-on", "enforce", "--write-baseline", baseline)
    document = yaml.safe_load(baseline.read_text())
    yesterday = (datetime.date.today() - datetime.timedelta(days=1)).isoformat()
    for entry in document["entries"]:
        if entry["namespace"] == "prod":
            entry.update(expires=yesterday, reason="API-7: root until the base image moves")
    baseline.write_text(yaml.safe_dump(document))
    code, report, err = gate_of(run_cli, cluster, "audit", "-A", "--fail-on", "enforce", "--baseline", baseline)
    assert code == 1 and report["gate"]["failedNamespaces"] == ["prod"]
    assert report["gate"]["baseline"]["expired"] == [{"namespace": "prod", "ownerKind": "Deployment", "ownerName": "api",
                                                      "check": "runAsUser", "reason": "API-7: root until the base image moves",
                                                      "expires": yesterday}]
    assert f"warning: baseline entry expired on {yesterday}: namespace prod Deployment/api runAsUser" in err


@pytest.mark.parametrize("command", [["audit"], ["simulate", "restricted"]])
def test_baseline_entries_of_namespaces_not_judged_are_neither_fixed_nor_dropped(run_cli, cluster, tmp_path, command):
    baseline = tmp_path / "b.yaml"
    gate_of(run_cli, cluster, *command, "-A", "--fail-on", "baseline", "--write-baseline", baseline)
    document = yaml.safe_load(baseline.read_text())
    etcd = {"namespace": "kube-system", "ownerKind": "Pod", "ownerName": "etcd-node1", "check": "privileged"}
    kept = {**etcd, "reason": "the control plane", "expires": "2999-01-01"}
    assert etcd in document["entries"]
    document["entries"] = [kept if e == etcd else e for e in document["entries"]]
    baseline.write_text(yaml.safe_dump(document))
    cluster.forbid("pods")  # -A falls back to lists per namespace, and kube-system's is forbidden:
    cluster.forbid("pods", namespace="kube-system")  # not read to the end, nothing of it is known fixed
    code, report, err = gate_of(run_cli, cluster, *command, "-A", "--fail-on", "baseline", "--baseline", baseline)
    assert code == 2 and report["gate"]["baseline"]["fixed"] == [] and "baseline entry fixed" not in err
    assert 'namespace "kube-system"' in err
    cluster.allow_all()
    # out of scope: kept as written (reason, expires), not fixed
    code, report, err = gate_of(run_cli, cluster, *command, "-n", "prod", "--fail-on", "baseline", "--baseline",
                                baseline, "--write-baseline", baseline)
    assert report["gate"]["baseline"]["fixed"] == [] and "baseline entry fixed" not in err
    assert kept in yaml.safe_load(baseline.read_text())["entries"]
    assert [e for e in yaml.safe_load(baseline.read_text())["entries"] if e["namespace"] == "batch"]
