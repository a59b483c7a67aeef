"""``check`` as a CI gate: objects judged where they land, --fail-on, -k, baselines, --cluster-labels."""
from __future__ import annotations

import datetime
import json
import os
import shutil
import stat
from pathlib import Path

import pytest
import yaml

from tests.commands.test_check import defaults_note
from tests.scenarios import ADMISSION_CONFIG

DATA = Path(__file__).resolve().parents[1] / "data"
PSA = "pod-security.kubernetes.io/"

BUNDLE = """\
# the shop namespace enforces restricted, warns nothing of its own
apiVersion: v1
kind: Namespace
metadata:
  name: shop
  labels:
    pod-security.kubernetes.io/enforce: restricted
    pod-security.kubernetes.io/enforce-version: v1.30
    pod-security.kubernetes.io/audit: baseline
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop}
spec:
  containers:
  - name: web
    image: nginx:1.27
---
apiVersion: v1
kind: Pod
metadata: {name: loose}
spec:
  containers:
  - {name: c, image: busybox, securityContext: {privileged: true}}
"""

# the scenarios' defaults (enforce baseline, audit and warn restricted) and exemptions, with a username
ADMISSION = ADMISSION_CONFIG.replace("usernames: []", 'usernames: ["system:serviceaccount:ci:deployer"]')


def check_json(run_cli, *argv):
    code, out, err = run_cli("check", *argv, "-o", "json")
    return code, json.loads(out), err


def by_name(report):
    return {r["name"]: r for r in report["results"]}


def write(tmp_path: Path, name: str, text: str) -> str:
    (tmp_path / name).write_text(text)
    return str(tmp_path / name)


def test_a_bundle_namespace_label_is_enforced_where_the_pod_lands(tmp_path, run_cli):
    path = write(tmp_path, "bundle.yaml", BUNDLE)
    code, report, err = check_json(run_cli, "-f", path)
    assert code == 0 and err == defaults_note("default")  # without --fail-on nothing fails
    web = by_name(report)["web"]["admission"]
    assert web["namespace"] == "shop" and web["labels"] == "manifest" and web["exempt"] is None
    assert (web["enforce"]["level"], web["enforce"]["version"], web["enforce"]["allowed"]) == ("restricted", "v1.30", False)
    assert [v["check"] for v in web["enforce"]["violations"]] == [
        "allowPrivilegeEscalation", "capabilities_restricted", "runAsNonRoot", "seccompProfile_restricted"]
    assert web["audit"] == {"level": "baseline", "version": "latest", "allowed": True, "violations": []}
    # no warn label: warn follows the stricter enforce level and its version, as the API server does
    assert (web["warn"]["level"], web["warn"]["version"], web["warn"]["allowed"]) == ("restricted", "v1.30", False)
    loose = by_name(report)["loose"]["admission"]
    assert loose["namespace"] == "default" and loose["labels"] == "defaults"
    assert all(loose[m]["allowed"] and loose[m]["level"] == "privileged" for m in ("enforce", "audit", "warn"))
    code, report, err = check_json(run_cli, "-f", path, "--fail-on", "enforce")
    assert code == 1 and report["gate"] == {"failOn": "enforce", "failed": 1, "baseline": None}


@pytest.mark.parametrize("fail_on, code", [("enforce", 1), ("warn", 1), ("audit", 0), ("baseline", 1), ("restricted", 1)])
def test_fail_on_modes_and_levels(tmp_path, run_cli, fail_on, code):
    path = write(tmp_path, "bundle.yaml", BUNDLE)
    got, report, _ = check_json(run_cli, "-f", path, "--fail-on", fail_on)
    assert got == code
    # baseline: only "loose" (privileged) is below it; restricted: both
    assert report["gate"]["failed"] == {"enforce": 1, "warn": 1, "audit": 0, "baseline": 1, "restricted": 2}[fail_on]


def test_namespace_flag_and_admission_config_defaults_and_exemptions(tmp_path, run_cli):
    config = write(tmp_path, "admission.yaml", ADMISSION)
    path = write(tmp_path, "pods.yaml", """\
apiVersion: v1
kind: Pod
metadata: {name: nons}
spec: {containers: [{name: c, image: x, securityContext: {privileged: true}}]}
---
apiVersion: v1
kind: Pod
metadata: {name: sys, namespace: kube-system}
spec: {containers: [{name: c, image: x, securityContext: {privileged: true}}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: vm, namespace: team}
spec:
  template:
    spec:
      runtimeClassName: kata
      containers: [{name: c, image: x, securityContext: {privileged: true}}]
""")
    code, report, err = check_json(run_cli, "-f", path, "--admission-config", config, "--namespace", "team",
                                   "--fail-on", "enforce")
    results = by_name(report)
    assert code == 1
    nons = results["nons"]["admission"]
    assert nons["namespace"] == "team" and nons["labels"] == "defaults"
    assert nons["enforce"]["level"] == "baseline" and not nons["enforce"]["allowed"]
    assert nons["warn"]["level"] == "restricted" and nons["audit"]["level"] == "restricted"
    assert results["sys"]["admission"]["exempt"].startswith('namespace "kube-system" is exempt')
    assert results["sys"]["admission"]["enforce"]["allowed"] is True
    assert results["vm"]["admission"]["exempt"].startswith('runtimeClassName "kata" is exempt')
    assert report["gate"]["failed"] == 1  # only nons: the exempt ones never fail
    assert any("exemptions.usernames cannot apply to manifests" in n for n in report["notes"])
    assert "note: the admission configuration's exemptions.usernames cannot apply" in err


def test_an_invalid_namespace_label_is_an_error_like_the_api_servers(tmp_path, run_cli):
    path = write(tmp_path, "ns.yaml", BUNDLE.replace("enforce: restricted", "enforce: strict"))
    code, report, err = check_json(run_cli, "-f", path)
    assert code == 2
    assert 'Namespace shop: metadata.labels[pod-security.kubernetes.io/enforce]: Invalid value: "strict"' in err
    # enforce fails closed (restricted), as the API server evaluates an invalid level
    assert by_name(report)["web"]["admission"]["enforce"]["level"] == "restricted"


@pytest.mark.parametrize("value", ["none", "privileged", "Enforce", ""])
def test_bad_fail_on_is_one_line_exit_2(tmp_path, run_cli, value):
    path = write(tmp_path, "bundle.yaml", BUNDLE)
    code, out, err = run_cli("check", "-f", path, "--fail-on", value)
    assert code == 2 and out == "" and err.count("\n") == 1 and f'invalid --fail-on "{value}"' in err


def test_level_alone_still_fails_on_a_denial(tmp_path, run_cli):
    path = write(tmp_path, "bundle.yaml", BUNDLE)
    code, report, _ = check_json(run_cli, "-f", path, "--level", "baseline")
    assert code == 1 and report["gate"]["failOn"] == "baseline"
    code, report, _ = check_json(run_cli, "-f", path, "--level", "baseline", "--fail-on", "audit")
    assert code == 0 and report["gate"]["failOn"] == "audit"


# -k: kubectl kustomize

def stub_kubectl(tmp_path: Path, script: str) -> str:
    """A directory holding a ``kubectl`` shell script, for PATH."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    kubectl = bin_dir / "kubectl"
    kubectl.write_text("#!/bin/sh\n" + script)
    kubectl.chmod(kubectl.stat().st_mode | stat.S_IXUSR)
    return str(bin_dir)


def test_kustomize_runs_the_kubectl_on_path(tmp_path, run_cli, monkeypatch):
    rendered = tmp_path / "rendered.yaml"
    rendered.write_text(BUNDLE)
    args = tmp_path / "args"
    monkeypatch.setenv("PATH", stub_kubectl(tmp_path, f'echo "$@" > {args}\nexec {shutil.which("cat")} {rendered}\n'))
    overlay = DATA / "kustomize" / "overlays" / "prod"
    code, report, err = check_json(run_cli, "-k", str(overlay), "--fail-on", "enforce")
    assert args.read_text().split() == ["kustomize", str(overlay)]
    assert code == 1 and err == ('warning: namespace(s) "default": its live labels are not known: judged at the '
                                 "defaults; --cluster-labels reads them\n")
    web = by_name(report)["web"]
    assert web["source"] == str(overlay / "kustomization.yaml") and not web["admission"]["enforce"]["allowed"]


def test_kustomize_failure_is_one_line_with_its_stderr(tmp_path, run_cli, monkeypatch):
    monkeypatch.setenv("PATH", stub_kubectl(tmp_path, 'echo "error: accumulating resources: missing.yaml" >&2\n'
                                                      'echo "  second line" >&2\nexit 1\n'))
    code, out, err = run_cli("check", "-k", str(tmp_path), "-o", "json")
    assert code == 2 and out == "" and err.count("\n") == 1
    assert err.startswith(f"error: -k {tmp_path}: kubectl kustomize failed (exit 1): error: accumulating resources: "
                          "missing.yaml second line")


def test_kustomize_without_kubectl_says_so(tmp_path, run_cli, monkeypatch):
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    code, out, err = run_cli("check", "-k", str(tmp_path))
    assert code == 2 and out == "" and err == f"error: -k {tmp_path}: kubectl not found on PATH (kubectl kustomize renders the kustomization)\n"


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed: the stub tests above cover -k")
def test_kustomize_with_the_real_kubectl(run_cli):
    overlay = DATA / "kustomize" / "overlays" / "prod"
    code, report, err = check_json(run_cli, "-k", str(overlay), "--fail-on", "enforce")
    assert code == 1, err
    web = by_name(report)["web"]
    assert web["kind"] == "Deployment" and web["namespace"] == "shop"
    assert web["admission"]["labels"] == "manifest"
    assert (web["admission"]["enforce"]["level"], web["admission"]["enforce"]["version"]) == ("restricted", "v1.30")


# baselines

def test_write_baseline_then_only_new_violations_fail(tmp_path, run_cli):
    path = write(tmp_path, "bundle.yaml", BUNDLE)
    baseline = tmp_path / "baseline.yaml"
    code, report, err = check_json(run_cli, "-f", path, "--fail-on", "enforce", "--write-baseline", baseline)
    assert code == 0 and f"baseline written: {baseline}" in err
    written = yaml.safe_load(baseline.read_text())
    assert written["kind"] == "Baseline" and written["target"] == "check"
    assert {"kind": "Pod", "namespace": "shop", "name": "web", "check": "runAsNonRoot", "mode": "enforce"} in written["entries"]
    assert all("line" not in e and "source" not in e for e in written["entries"])
    # a document inserted above changes no identity; the known pod is baselined, a new one fails
    (tmp_path / "bundle.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n---\n" + BUNDLE
                                          + "---\n" + BUNDLE.split("---\n")[1].replace("name: web", "name: new"))
    code, report, err = check_json(run_cli, "-f", path, "--fail-on", "enforce", "--baseline", baseline)
    results = by_name(report)
    assert code == 1 and report["gate"]["failed"] == 1
    assert results["web"]["baselined"] is True and results["new"]["baselined"] is False
    assert all(v["baselined"] for v in results["web"]["admission"]["enforce"]["violations"])
    assert not any(v["baselined"] for v in results["new"]["admission"]["enforce"]["violations"])
    assert report["gate"]["baseline"] == {"file": str(baseline), "fixed": [], "expired": []}


def test_a_baseline_entry_nothing_matches_is_fixed_and_an_expired_one_fails_again(tmp_path, run_cli):
    path = write(tmp_path, "bundle.yaml", BUNDLE)
    baseline = tmp_path / "baseline.yaml"
    check_json(run_cli, "-f", path, "--fail-on", "enforce", "--write-baseline", baseline)
    document = yaml.safe_load(baseline.read_text())
    yesterday = (datetime.date.today() - datetime.timedelta(days=1)).isoformat()
    for entry in document["entries"]:
        if entry["check"] == "runAsNonRoot" and entry["mode"] == "enforce":
            entry.update(expires=yesterday, reason="JIRA-12: image runs as root until the rebuild")
    gone = {"kind": "Deployment", "namespace": "shop", "name": "old", "check": "privileged", "mode": "enforce"}
    document["entries"].append(gone)
    baseline.write_text(yaml.safe_dump(document))
    code, report, err = check_json(run_cli, "-f", path, "--fail-on", "enforce", "--baseline", baseline)
    assert code == 1 and report["gate"]["failed"] == 1
    assert report["gate"]["baseline"]["fixed"] == [gone]
    assert report["gate"]["baseline"]["expired"] == [{"kind": "Pod", "namespace": "shop", "name": "web",
                                                      "check": "runAsNonRoot", "mode": "enforce",
                                                      "reason": "JIRA-12: image runs as root until the rebuild",
                                                      "expires": yesterday}]
    web = by_name(report)["web"]
    assert web["baselined"] is False
    assert [v["check"] for v in web["admission"]["enforce"]["violations"] if not v["baselined"]] == ["runAsNonRoot"]
    assert "note: baseline entry fixed (no longer matches): Deployment shop/old privileged (enforce)" in err
    assert f"warning: baseline entry expired on {yesterday}: Pod shop/web runAsNonRoot (enforce)" in err
    # a date in the future keeps it known
    tomorrow = (datetime.date.today() + datetime.timedelta(days=1)).isoformat()
    baseline.write_text(baseline.read_text().replace(yesterday, tomorrow))
    code, report, _ = check_json(run_cli, "-f", path, "--fail-on", "enforce", "--baseline", baseline)
    assert code == 0 and report["gate"]["baseline"]["expired"] == []


@pytest.mark.parametrize("text, message", [
    ("kind: ConfigMap\n", "not a kubectl-pss baseline (kind: Baseline)"),
    ("kind: Baseline\ntarget: audit\nentries: []\n", 'a baseline of "audit", not of check'),
    ("kind: Baseline\ntarget: check\nentries: {}\n", "entries must be a list"),
    ("kind: Baseline\ntarget: check\nentries:\n- {kind: Pod, namespace: a, name: b, check: c}\n",
     "entries[0]: mode must be non-empty strings"),
    ("kind: Baseline\ntarget: check\nentries:\n- {kind: Pod, namespace: a, name: b, check: c, mode: enforce, expires: soon}\n",
     "entries[0]: expires 'soon' is not a date (YYYY-MM-DD)"),
    ("kind: Baseline\ntarget: check\nentries:\n- {kind: Pod, namespace: a, name: b, check: c, mode: often}\n",
     "entries[0]: mode 'often' must be one of"),
    ("kind: Baseline\ntarget: check\nentries:\n- {kind: Pod, namespace: a, name: b, check: c, mode: warn, line: 3}\n",
     "entries[0]: unknown field 'line'"),
    ("kind: [", "invalid YAML"),
])
def test_a_bad_baseline_file_is_one_line_exit_2(tmp_path, run_cli, text, message):
    path = write(tmp_path, "bundle.yaml", BUNDLE)
    baseline = write(tmp_path, "baseline.yaml", text)
    code, out, err = run_cli("check", "-f", path, "--baseline", baseline)
    assert code == 2 and out == "" and err.count("\n") == 1 and err.startswith("error: --baseline: ")
    assert message in err


def test_a_missing_baseline_file_is_one_line_exit_2(tmp_path, run_cli):
    path = write(tmp_path, "bundle.yaml", BUNDLE)
    code, _, err = run_cli("check", "-f", path, "--baseline", tmp_path / "nope.yaml")
    assert code == 2 and err == f"error: --baseline: {tmp_path / 'nope.yaml'}: no such file or directory\n"


# --cluster-labels

def test_cluster_labels_read_the_live_namespaces(tmp_path, run_cli, apiserver):
    """kubectl apply of the bundle writes its Namespace's labels over the live ones: shop is judged at the
    input's enforce restricted:v1.30 with the cluster's warn label kept."""
    apiserver.add_namespace("shop", {PSA + "enforce": "baseline", PSA + "warn": "baseline", "team": "web"})
    apiserver.add_namespace("default", {PSA + "enforce": "baseline", PSA + "warn": "restricted"})
    path = write(tmp_path, "bundle.yaml", BUNDLE)
    code, report, err = check_json(run_cli, "-f", path, "--cluster-labels", "--fail-on", "enforce",
                                   "--kubeconfig", apiserver.kubeconfig_path)
    results = by_name(report)
    assert report["context"] == "fake" and report["server"]["minor"] == apiserver.minor
    web, loose = results["web"]["admission"], results["loose"]["admission"]
    assert web["labels"] == "manifest" and not web["enforce"]["allowed"]
    assert (web["enforce"]["level"], web["enforce"]["version"]) == ("restricted", "v1.30")
    assert (web["audit"]["level"], web["warn"]["level"]) == ("baseline", "baseline")  # warn: the cluster's
    assert loose["labels"] == "cluster" and loose["enforce"]["level"] == "baseline" and not loose["enforce"]["allowed"]
    assert loose["warn"]["level"] == "restricted"
    assert code == 1 and report["gate"]["failed"] == 2
    assert 'note: namespace "shop": the input sets other pod-security labels than the cluster has: judged at the ' \
           "input's over the cluster's (what kubectl apply writes)\n" in err
    # the input's labels equal to the live ones: judged at the cluster's, no note
    apiserver.add_namespace("shop", {PSA + "enforce": "restricted", PSA + "enforce-version": "v1.30",
                                     PSA + "audit": "baseline"})
    code, report, err = check_json(run_cli, "-f", path, "--cluster-labels", "--kubeconfig", apiserver.kubeconfig_path)
    assert by_name(report)["web"]["admission"]["labels"] == "manifest" and "shop" not in err
    lists = apiserver.requests_to("/api/v1/namespaces")
    assert lists and all(r.query.get("limit") == "500" for r in lists)  # paged, as every list


@pytest.mark.parametrize("argv, message", [
    (["--namespace", "Bad_NS"], 'invalid namespace "Bad_NS"'),
    (["--context", "prod"], "--context needs --cluster-labels"),
])
def test_bad_check_flags_are_one_line(tmp_path, run_cli, argv, message):
    path = write(tmp_path, "bundle.yaml", BUNDLE)
    code, out, err = run_cli("check", "-f", path, *argv)
    assert code == 2 and out == "" and err.count("\n") == 1 and message in err


def test_a_level_gate_baselines_by_the_level(tmp_path, run_cli):
    """--fail-on restricted records its violations with mode "restricted" (not a namespace mode: the default
    namespace judges nothing here), so a later run at that level knows them."""
    path = write(tmp_path, "bundle.yaml", BUNDLE)
    baseline = tmp_path / "baseline.yaml"
    check_json(run_cli, "-f", path, "--fail-on", "restricted", "--write-baseline", baseline)
    entries = yaml.safe_load(baseline.read_text())["entries"]
    assert {"kind": "Pod", "namespace": "default", "name": "loose", "check": "privileged", "mode": "restricted"} in entries
    code, report, _ = check_json(run_cli, "-f", path, "--fail-on", "restricted", "--baseline", baseline)
    assert code == 0 and report["gate"]["failed"] == 0
    # identities carry the level: what was recorded at restricted is not known to a gate at baseline
    code, report, _ = check_json(run_cli, "-f", path, "--fail-on", "baseline", "--baseline", baseline)
    assert code == 1 and report["gate"]["failed"] == 1


def test_cluster_labels_for_a_namespace_the_cluster_lacks_and_a_forbidden_list(tmp_path, run_cli, apiserver):
    apiserver.add_namespace("default")
    path = write(tmp_path, "bundle.yaml", BUNDLE)
    code, report, _ = check_json(run_cli, "-f", path, "--cluster-labels", "--fail-on", "enforce",
                                 "--kubeconfig", apiserver.kubeconfig_path)
    web = by_name(report)["web"]["admission"]
    assert web["labels"] == "manifest" and not web["enforce"]["allowed"] and code == 1
    assert 'namespace "shop" does not exist in the cluster: judged at the input\'s labels' in report["notes"]
    apiserver.forbid("namespaces")
    code, out, err = run_cli("check", "-f", path, "--cluster-labels", "--kubeconfig", apiserver.kubeconfig_path)
    assert code == 2 and out == "" and err.count("\n") == 1 and "forbidden" in err
