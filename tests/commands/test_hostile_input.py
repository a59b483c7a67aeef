"""Hostile and odd input (issue 12, items 6-9) through the real CLI entry and readers.

6: YAML read as kubectl reads it everywhere objects and configs are read (the resolver's table is in
tests/test_goyaml.py); 7: fields of the wrong type get no verdict; 8: control characters from
cluster or manifest data never reach the terminal raw; 9: unreadable directories, FIFOs, huge inputs,
huge integers and deep nesting are per-item errors.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from kubectl_pss.cli import main
from kubectl_pss.confinement.nodes import parse_kubelet_config
from kubectl_pss.manifests import load_admission_config


# --- everywhere a Kubernetes object or config is read from YAML ------------------------------------------
HOSTILE_POD = """\
apiVersion: v1
kind: Pod
metadata: {name: sneaky, namespace: default}
spec:
  hostNetwork: on
  hostPID: Y
  containers:
  - name: c
    image: busybox
    securityContext: {privileged: yes}
"""


def run_cli(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_check_privileged_yes_hostnetwork_on_hostpid_y_fail_baseline(tmp_path, capsys):
    path = tmp_path / "pod.yaml"
    path.write_text(HOSTILE_POD)
    code, out, err = run_cli(capsys, "check", "-f", path, "--level", "baseline", "-o", "json")
    assert code == 1, err
    result, = json.loads(out)["results"]
    assert result["allowed"] is False
    assert {v["check"] for v in result["violations"]} == {"hostNamespaces", "privileged"}
    assert any('hostNetwork=true, hostPID=true' in v["detail"] for v in result["violations"])


def test_snapshot_in_yaml_is_read_as_kubectl_reads_it(tmp_path, capsys):
    path = tmp_path / "snapshot.yaml"
    path.write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: default}\n---\n" + HOSTILE_POD)
    code, out, err = run_cli(capsys, "audit", "--snapshot", path, "-o", "json")
    assert code == 0, err
    namespace, = json.loads(out)["namespaces"]
    assert namespace["strictestLevel"] == "privileged"


def test_admission_config_yes_is_no_namespace_name(tmp_path):
    # kube-apiserver decodes namespaces: [yes] as [true] into a []string: an error, not a namespace "yes".
    path = tmp_path / "psc.yaml"
    path.write_text("apiVersion: pod-security.admission.config.k8s.io/v1\nkind: PodSecurityConfiguration\n"
                    "defaults: {enforce: baseline}\nexemptions: {namespaces: [yes]}\n")
    with pytest.raises(ValueError, match=r"exemptions.namespaces\[0\]"):
        load_admission_config(str(path))


def test_spo_seccomp_profile_is_read_as_kubectl_reads_it(tmp_path, capsys):
    path = tmp_path / "spo.yaml"
    path.write_text("apiVersion: security-profiles-operator.x-k8s.io/v1beta1\nkind: SeccompProfile\n"
                    "metadata: {name: p}\nspec:\n  defaultAction: SCMP_ACT_ERRNO\n  syscalls:\n"
                    "  - action: SCMP_ACT_ALLOW\n    names: [read, on]\n")
    code, out, err = run_cli(capsys, "seccomp", "lint", path, "-o", "json")
    findings = json.loads(out)["findings"]
    assert code == 1 and any(f["severity"] == "error" and "names[1]" in (f["path"] or "") for f in findings), findings


def test_kubelet_config_seccomp_default_yes_is_true():
    assert parse_kubelet_config("kind: KubeletConfiguration\nseccompDefault: yes\n")["seccompDefault"] is True
    assert parse_kubelet_config("kind: KubeletConfiguration\nfeatureGates: {SeccompDefault: on}\n")["featureGates"] == \
        {"SeccompDefault": True}


