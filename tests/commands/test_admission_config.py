"""``admission-config``: generate, propose from a (fake) cluster, check; and the file round-trips
through ``audit --admission-config``."""
from __future__ import annotations

import json

import pytest
import yaml

from kubectl_pss.manifests import load_admission_config
from kubectl_pss.policy import LATEST, Level
from tests.scenarios import PRIVILEGED_SPEC, RESTRICTED_SPEC, deployment, load_mixed_cluster

TUTORIAL = {
    "apiVersion": "apiserver.config.k8s.io/v1",
    "kind": "AdmissionConfiguration",
    "plugins": [{
        "name": "PodSecurity",
        "configuration": {
            "apiVersion": "pod-security.admission.config.k8s.io/v1",
            "kind": "PodSecurityConfiguration",
            "defaults": {"enforce": "baseline", "enforce-version": "latest", "audit": "restricted",
                         "audit-version": "latest", "warn": "restricted", "warn-version": "latest"},
            "exemptions": {"usernames": [], "runtimeClasses": [], "namespaces": ["kube-system"]},
        },
    }],
}


@pytest.fixture
def cluster(apiserver):
    load_mixed_cluster(apiserver)
    return apiserver


def kube(cluster):
    return ["--kubeconfig", str(cluster.kubeconfig_path)]


# --- generate -------------------------------------------------------------------------------------
def test_default_is_the_tutorial_configuration(run_cli, tmp_path):
    code, out, err = run_cli("admission-config")
    assert code == 0 and err == ""
    assert out.startswith("# PodSecurity admission for the whole cluster")
    assert yaml.safe_load(out) == TUTORIAL
    path = tmp_path / "admission.yaml"
    path.write_text(out)
    config, warnings = load_admission_config(str(path))
    assert warnings == []
    assert (config.defaults.enforce.level, config.defaults.enforce.version) == (Level.BASELINE, LATEST)
    assert config.defaults.warn.level is Level.RESTRICTED
    assert config.exemptions.namespaces == frozenset({"kube-system"})


def test_flags_and_json(run_cli):
    code, out, _ = run_cli("admission-config", "--enforce", "restricted:v1.30", "--audit", "baseline",
                           "--warn", "restricted:latest", "--exempt-namespace", "kube-system,monitoring",
                           "--exempt-namespace", "ci", "--exempt-runtime-class", "kata", "--exempt-username",
                           "system:serviceaccount:ci:deployer", "-o", "json")
    assert code == 0
    psc = json.loads(out)["plugins"][0]["configuration"]
    assert psc["defaults"] == {"enforce": "restricted", "enforce-version": "v1.30", "audit": "baseline",
                               "audit-version": "latest", "warn": "restricted", "warn-version": "latest"}
    assert psc["exemptions"] == {"usernames": ["system:serviceaccount:ci:deployer"], "runtimeClasses": ["kata"],
                                 "namespaces": ["kube-system", "monitoring", "ci"]}


def test_v1beta1_for_older_clusters_and_no_exemptions(run_cli):
    code, out, _ = run_cli("admission-config", "--api-version", "v1beta1", "--exempt-namespace=")
    doc = yaml.safe_load(out)
    psc = doc["plugins"][0]["configuration"]
    assert doc["apiVersion"] == "apiserver.config.k8s.io/v1"
    assert psc["apiVersion"] == "pod-security.admission.config.k8s.io/v1beta1"
    assert psc["exemptions"]["namespaces"] == []
    assert "for clusters before 1.25" in out


def test_generated_file_is_what_audit_reads(run_cli, cluster, tmp_path):
    path = tmp_path / "admission.yaml"
    path.write_text(run_cli("admission-config", "--exempt-runtime-class", "kata")[1])
    code, out, err = run_cli("audit", "-A", *kube(cluster), "--admission-config", str(path), "-o", "json")
    namespaces = {ns["name"]: ns for ns in json.loads(out)["namespaces"]}
    assert namespaces["kube-system"]["exempt"] is True
    assert namespaces["default"]["labels"]["enforce"] == {"level": "baseline", "version": "latest", "source": "default"}
    assert namespaces["sandbox"]["exemptPods"] == ["vm"]


# --- from the cluster -----------------------------------------------------------------------------
def test_from_cluster_proposal(run_cli, cluster):
    code, out, err = run_cli("admission-config", "--from-cluster", *kube(cluster), "-o", "json")
    assert code == 0, err
    report = json.loads(out)
    defaults = report["proposal"]["defaults"]
    # default (unlabelled) runs a baseline pod: restricted would need one more exemption
    assert (defaults["enforce"]["level"], defaults["enforce"]["version"]) == ("baseline", "v1.34")
    assert "restricted at v1.34 would also reject Pod/nginx" in defaults["enforce"]["reason"]
    assert (defaults["audit"]["level"], defaults["warn"]["level"]) == ("restricted", "restricted")
    exemptions = {e["namespace"]: e for e in report["proposal"]["exemptions"]}
    assert list(exemptions) == ["batch", "kube-system", "prod", "sandbox"]
    assert exemptions["kube-system"]["reason"] == (
        "the enforce default baseline:v1.34 would reject Pod/etcd-node1 (host namespaces, privileged)")
    assert exemptions["batch"]["reason"].endswith("Deployment/db (hostPath volumes)")  # a template, no pods
    assert exemptions["prod"]["source"] == "label"
    assert exemptions["prod"]["reason"].startswith("its own enforce label (restricted:v1.30) rejects Deployment/api")
    psc = report["config"]["plugins"][0]["configuration"]
    assert psc["exemptions"]["namespaces"] == ["batch", "kube-system", "prod", "sandbox"]
    assert report["proposal"]["governedNamespaces"] == ["batch", "default", "kube-system", "sandbox"]


def test_from_cluster_with_runtime_class_exemption_and_forced_namespace(run_cli, cluster):
    code, out, _ = run_cli("admission-config", "--from-cluster", *kube(cluster), "-o", "json",
                           "--exempt-runtime-class", "kata", "--exempt-namespace", "default")
    report = json.loads(out)
    exemptions = {e["namespace"]: e for e in report["proposal"]["exemptions"]}
    assert list(exemptions) == ["default", "batch", "kube-system", "prod"]  # sandbox's vm runs under kata
    assert exemptions["default"]["reason"] == "requested with --exempt-namespace"
    # with default exempted, every namespace governed by the default passes restricted
    assert report["proposal"]["defaults"]["enforce"]["level"] == "restricted"
    assert report["config"]["plugins"][0]["configuration"]["exemptions"]["runtimeClasses"] == ["kata"]


def test_from_cluster_proposal_admits_everything(run_cli, cluster, tmp_path):
    """Audit under the proposed configuration: no namespace's pods or templates violate its enforce level."""
    code, out, _ = run_cli("admission-config", "--from-cluster", *kube(cluster))
    assert code == 0
    assert "# the enforce default baseline:v1.34 would reject Pod/etcd-node1" in out
    path = tmp_path / "proposed.yaml"
    path.write_text(out)
    assert yaml.safe_load(out)["plugins"][0]["configuration"]["defaults"]["enforce-version"] == "v1.34"
    code, out, _ = run_cli("audit", "-A", *kube(cluster), "--admission-config", str(path), "-o", "json")
    report = json.loads(out)
    assert [ns["name"] for ns in report["namespaces"] if ns["violatesEnforce"]] == []
    assert run_cli("admission-config", "--check", str(path), *kube(cluster))[0] == 0


def test_from_cluster_restricted_when_everything_passes(run_cli, apiserver):
    apiserver.version = {"major": "1", "minor": "30", "gitVersion": "v1.30.4"}
    apiserver.add_namespace("kube-system")
    apiserver.add_pod("kube-system", "kube-proxy-x", PRIVILEGED_SPEC)
    apiserver.add_namespace("shop")
    deployment(apiserver, "shop", "web", RESTRICTED_SPEC, 2)
    code, out, _ = run_cli("admission-config", "--from-cluster", *kube(apiserver), "-o", "json")
    report = json.loads(out)
    assert report["proposal"]["defaults"]["enforce"]["level"] == "restricted"
    assert report["proposal"]["defaults"]["enforce"]["version"] == "v1.30"
    assert [e["namespace"] for e in report["proposal"]["exemptions"]] == ["kube-system"]


# --- check ----------------------------------------------------------------------------------------
BAD = """\
apiVersion: apiserver.config.k8s.io/v1
kind: AdmissionConfiguration
extra: true
plugins:
- name: PodSecurity
  configuration:
    apiVersion: pod-security.admission.config.k8s.io/v1
    kind: PodSecurityConfiguration
    defaults:
      enforce: strict
      enforce-version: v1.05
      audit: restricted
      audti-version: latest
    exemptions:
      namespaces: [kube-system, legacy, kube-system]
      runtimeClass: [kata]
"""


def check_json(run_cli, path, *extra):
    code, out, err = run_cli("admission-config", "--check", str(path), "-o", "json", *extra)
    return code, json.loads(out), err


def test_check_reports_every_problem(run_cli, cluster, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(BAD)
    code, report, _ = check_json(run_cli, path, *kube(cluster))
    assert code == 1 and report["valid"] is False
    pre = "plugins[0].configuration."
    assert [(p["severity"], p["field"]) for p in report["problems"]] == [
        ("warning", "extra"),
        ("warning", pre + "defaults.audti-version"),
        ("warning", pre + "exemptions.runtimeClass"),
        ("error", pre + "defaults.enforce"),
        ("error", pre + "defaults.enforce-version"),
        ("error", pre + "exemptions.namespaces[2]"),
        ("warning", pre + "exemptions.namespaces[1]"),
    ]
    messages = {p["field"]: p["message"] for p in report["problems"]}
    assert messages[pre + "defaults.enforce"] == 'Invalid value: "strict": must be one of privileged, baseline, restricted'
    assert messages[pre + "defaults.enforce-version"] == 'Invalid value: "v1.05": must be "latest" or "v1.x"'
    assert messages[pre + "exemptions.namespaces[2]"] == 'Duplicate value: "kube-system"'
    assert messages[pre + "exemptions.namespaces[1]"] == 'namespace "legacy" does not exist on context "fake"'
    assert report["context"] == "fake" and report["server"] == {"gitVersion": "v1.34.2", "minor": 34}


def test_check_offline_and_table(run_cli, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(BAD)
    code, out, err = run_cli("admission-config", "--check", str(path), "--offline", "--no-color")
    assert code == 1
    assert out.splitlines()[0] == f"{path}: 3 error(s), 3 warning(s)"
    assert "legacy" not in out and "note: --offline" in err and "note:" not in out


def test_check_good_file(run_cli, cluster, tmp_path):
    path = tmp_path / "good.yaml"
    path.write_text(run_cli("admission-config")[1])
    code, out, _ = run_cli("admission-config", "--check", str(path), *kube(cluster))
    assert code == 0 and out == f"{path}: OK\n"


def test_check_version_against_the_cluster(run_cli, apiserver, tmp_path):
    apiserver.version = {"major": "1", "minor": "24", "gitVersion": "v1.24.17"}
    apiserver.add_namespace("kube-system")
    path = tmp_path / "a.yaml"
    path.write_text(run_cli("admission-config", "--enforce", "baseline:v1.26")[1])
    code, report, _ = check_json(run_cli, path, *kube(apiserver))
    assert code == 1
    problems = {p["field"].rsplit(".", 1)[-1]: p for p in report["problems"]}
    assert problems["apiVersion"]["severity"] == "error"
    assert problems["apiVersion"]["message"] == ("pod-security.admission.config.k8s.io/v1 needs Kubernetes 1.25 or newer, "
                                                 "the cluster is v1.24; use pod-security.admission.config.k8s.io/v1beta1")
    assert problems["enforce-version"]["severity"] == "warning"


def test_check_follows_a_plugin_path(run_cli, tmp_path):
    (tmp_path / "podsecurity.yaml").write_text(yaml.safe_dump({
        "apiVersion": "pod-security.admission.config.k8s.io/v1", "kind": "PodSecurityConfiguration",
        "defaults": {"enforce": "restricted", "warn": "loud"}}))
    (tmp_path / "admission.yaml").write_text(yaml.safe_dump({
        "apiVersion": "apiserver.config.k8s.io/v1", "kind": "AdmissionConfiguration",
        "plugins": [{"name": "PodSecurity", "path": "podsecurity.yaml"}]}))
    code, report, _ = check_json(run_cli, tmp_path / "admission.yaml", "--offline")
    assert code == 1
    assert report["problems"] == [{"severity": "error", "field": "podsecurity.yaml: defaults.warn",
                                   "message": 'Invalid value: "loud": must be one of privileged, baseline, restricted'}]


def test_check_plain_pod_security_configuration_and_missing_plugin(run_cli, tmp_path):
    plain = tmp_path / "psc.yaml"
    plain.write_text("apiVersion: pod-security.admission.config.k8s.io/v1beta1\nkind: PodSecurityConfiguration\n")
    assert check_json(run_cli, plain, "--offline")[1]["problems"] == []
    other = tmp_path / "other.yaml"
    other.write_text("apiVersion: apiserver.config.k8s.io/v1\nkind: AdmissionConfiguration\nplugins:\n- name: EventRateLimit\n")
    code, report, _ = check_json(run_cli, other, "--offline")
    assert code == 1 and report["problems"] == [{"severity": "error", "field": "plugins",
                                                 "message": "no PodSecurity plugin"}]


# --- bad input ------------------------------------------------------------------------------------
@pytest.mark.parametrize("argv, message", [
    (["--enforce", "strict"], 'invalid --enforce "strict": must be one of privileged, baseline, restricted'),
    (["--warn", "restricted:1.30"], 'invalid --warn "restricted:1.30": must be "latest" or "v1.x"'),
    (["--api-version", "v2"], 'invalid --api-version "v2": must be one of v1, v1beta1, v1alpha1'),
    (["-o", "table"], 'output format "table", allowed formats are: yaml, json'),
    (["--exempt-namespace", "Kube_System"], 'invalid --exempt-namespace "Kube_System"'),
    (["--exempt-runtime-class", "Kata.io"], 'invalid --exempt-runtime-class "Kata.io"'),
    (["--from-cluster", "--enforce", "baseline"], "--from-cluster proposes the defaults itself"),
    (["--offline"], "--offline goes with --check"),
    (["--check", "x.yaml", "--enforce", "baseline"], "--check validates a file"),
    (["--check", "/nonexistent.yaml"], "--check /nonexistent.yaml: no such file"),
])
def test_bad_input_is_one_line_exit_2(run_cli, argv, message):
    code, out, err = run_cli("admission-config", *argv)
    assert code == 2 and message in err and err.count("\n") == 1 and out == "", err


def test_check_not_yaml_is_exit_2(run_cli, tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("a: [\n")
    code, _, err = run_cli("admission-config", "--check", str(path), "--offline")
    assert code == 2 and "invalid YAML" in err and err.count("\n") == 1


def test_check_unreachable_cluster_is_exit_2(run_cli, apiserver, tmp_path):
    path = tmp_path / "a.yaml"
    path.write_text(run_cli("admission-config")[1])
    apiserver.stop()
    code, _, err = run_cli("admission-config", "--check", str(path), *kube(apiserver))
    assert code == 2 and "--offline checks the file alone" in err and err.count("\n") == 1

