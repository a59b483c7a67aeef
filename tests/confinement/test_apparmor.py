"""AppArmor: expected profile resolution, /proc attr parsing, the read sequence, verdicts (pure)."""
from __future__ import annotations

import pytest

from kubectl_pss.confinement import model
from kubectl_pss.confinement.apparmor import (
    AppArmorLabel,
    expected_apparmor,
    judge_apparmor,
    parse_attr_current,
    read_apparmor_label,
    read_failure_kind,
)
from kubectl_pss.confinement.model import LOCALHOST, RUNTIME_DEFAULT, UNCONFINED, UNSET, Expected
from kubectl_pss.confinement.runtime import Runtime

ANN = "container.apparmor.security.beta.kubernetes.io/"
CONTAINERD = Runtime("containerd", "1.7.13")
CRIO = Runtime("cri-o", "1.28.1")
DOCKER = Runtime("docker", "24.0.7")


def pod(container_sc=None, pod_sc=None, annotations=None, name="c"):
    container = {"name": name}
    if container_sc is not None:
        container["securityContext"] = container_sc
    p = {"metadata": {"name": "p", "namespace": "ns", "annotations": annotations or {}},
         "spec": {"containers": [container]}}
    if pod_sc is not None:
        p["spec"]["securityContext"] = pod_sc
    return p, container


def expected(**kwargs):
    return expected_apparmor(*pod(**kwargs))


def test_expected_nothing_declared():
    assert expected() == Expected(UNSET)


@pytest.mark.parametrize("profile, want", [
    ({"type": "RuntimeDefault"}, (RUNTIME_DEFAULT, None)),
    ({"type": "Localhost", "localhostProfile": "k8s-nginx"}, (LOCALHOST, "k8s-nginx")),
    ({"type": "Unconfined"}, (UNCONFINED, None)),
])
def test_expected_from_fields(profile, want):
    e = expected(container_sc={"appArmorProfile": profile})
    assert (e.type, e.localhost, e.source) == (*want, "container field")
    e = expected(pod_sc={"appArmorProfile": profile})
    assert (e.type, e.localhost, e.source) == (*want, "pod field")


@pytest.mark.parametrize("value, want", [
    ("runtime/default", (RUNTIME_DEFAULT, None)),
    ("localhost/k8s-apparmor-example-deny-write", (LOCALHOST, "k8s-apparmor-example-deny-write")),
    ("unconfined", (UNCONFINED, None)),
])
def test_expected_from_annotation(value, want):
    e = expected(annotations={ANN + "c": value})
    assert (e.type, e.localhost, e.source) == (*want, "annotation")


def test_annotation_for_another_container_is_ignored():
    assert expected(annotations={ANN + "other": "unconfined"}).type == UNSET


def test_container_field_wins_over_annotation_with_a_note():
    e = expected(container_sc={"appArmorProfile": {"type": "RuntimeDefault"}}, annotations={ANN + "c": "unconfined"})
    assert e.type == RUNTIME_DEFAULT and e.source == "container field"
    assert e.notes == ("the annotation asks for Unconfined; the container field wins",)


def test_kubelet_order_annotation_before_pod_field():
    e = expected(pod_sc={"appArmorProfile": {"type": "Unconfined"}}, annotations={ANN + "c": "localhost/x"})
    assert (e.type, e.localhost, e.source) == (LOCALHOST, "x", "annotation")
    assert "pod field asks for Unconfined" in e.notes[0]


def test_agreeing_field_and_annotation_have_no_note():
    e = expected(container_sc={"appArmorProfile": {"type": "RuntimeDefault"}}, annotations={ANN + "c": "runtime/default"})
    assert e.notes == ()


@pytest.mark.parametrize("text, profile, mode", [
    ("cri-containerd.apparmor.d (enforce)\n", "cri-containerd.apparmor.d", "enforce"),
    ("k8s-nginx (complain)", "k8s-nginx", "complain"),
    ("unconfined\n", "unconfined", None),
    ("unconfined\x00", "unconfined", None),
    ("my profile with spaces (enforce)\n", "my profile with spaces", "enforce"),
    ("docker-default (kill)\n", "docker-default", "kill"),
])
def test_parse_attr_current(text, profile, mode):
    label = parse_attr_current(text)
    assert (label.profile, label.mode) == (profile, mode)
    assert str(label) == text.replace("\x00", "").strip()


@pytest.mark.parametrize("text", ["", "\n", "system_u:system_r:container_t:s0:c1,c2", "garbage (enforce"])
def test_parse_attr_current_rejects(text):
    with pytest.raises(ValueError):
        parse_attr_current(text)


def test_read_failure_kind():
    assert read_failure_kind("cat: read error: Invalid argument\n") == "EINVAL"
    assert read_failure_kind("cat: can't open '/x': No such file or directory") == "ENOENT"
    assert read_failure_kind("cat: /x: Permission denied") == "EACCES"
    assert read_failure_kind("weird") == "OTHER"


def runner(answers):
    calls = []

    def run(argv):
        calls.append(argv)
        return answers[argv[1]]
    run.calls = calls
    return run


def test_read_current_first():
    run = runner({"/proc/1/attr/current": (0, "cri-containerd.apparmor.d (enforce)\n", "")})
    read = read_apparmor_label(run)
    assert read.label == AppArmorLabel("cri-containerd.apparmor.d", "enforce") and read.path == "/proc/1/attr/current"
    assert run.calls == [["cat", "/proc/1/attr/current"]]


def test_read_falls_back_to_apparmor_current():
    run = runner({"/proc/1/attr/current": (0, "system_u:system_r:container_t:s0\n", ""),
                  "/proc/1/attr/apparmor/current": (0, "k8s-x (enforce)\n", "")})
    read = read_apparmor_label(run)
    assert read.label.profile == "k8s-x" and read.path == "/proc/1/attr/apparmor/current"


def test_read_node_without_apparmor_as_recorded():
    # exec-ws-cat-attr-current-nonzero.json: EINVAL; the fallback file does not exist
    run = runner({"/proc/1/attr/current": (1, "", "cat: read error: Invalid argument\n"),
                  "/proc/1/attr/apparmor/current": (1, "", "cat: can't open '/proc/1/attr/apparmor/current': "
                                                           "No such file or directory\n")})
    read = read_apparmor_label(run)
    assert read.label is None and read.failure == model.APPARMOR_DISABLED
    assert "Invalid argument" in read.detail and "does not exist" in read.detail


@pytest.mark.parametrize("stderr", ["cat: can't open '/proc/1/attr/current': No such file or directory\n",
                                    "cat: read error: Input/output error\n"])
def test_read_failure_other_than_einval_is_read_failed_not_apparmor_disabled(stderr):
    run = runner({"/proc/1/attr/current": (1, "", stderr),
                  "/proc/1/attr/apparmor/current": (1, "", "cat: can't open '/proc/1/attr/apparmor/current': "
                                                           "No such file or directory\n")})
    read = read_apparmor_label(run)
    assert read.label is None and read.failure == model.READ_FAILED
    assert stderr.strip() in read.detail and "not enabled" not in read.detail


def test_read_self_for_shared_pid_namespace():
    run = runner({"/proc/self/attr/current": (0, "unconfined\n", "")})
    assert read_apparmor_label(run, "self").label.unconfined


def test_read_permission_denied_is_read_failed():
    run = runner({"/proc/1/attr/current": (1, "", "cat: /proc/1/attr/current: Permission denied\n")})
    read = read_apparmor_label(run)
    assert read.failure == model.READ_FAILED and len(run.calls) == 1


def test_read_other_lsm_only_is_unparsable():
    run = runner({"/proc/1/attr/current": (0, "system_u:system_r:spc_t:s0\n", ""),
                  "/proc/1/attr/apparmor/current": (1, "", "No such file or directory")})
    assert read_apparmor_label(run).failure == model.UNPARSABLE


E_RD = Expected(RUNTIME_DEFAULT, source="container field")
E_LH = Expected(LOCALHOST, "k8s-nginx", "container field")
E_UN = Expected(UNCONFINED, source="annotation")
E_NONE = Expected(UNSET)


def L(text):
    return parse_attr_current(text)


@pytest.mark.parametrize("expected, label, runtime, verdict", [
    (E_RD, "cri-containerd.apparmor.d (enforce)", CONTAINERD, model.MATCH),
    (E_RD, "crio-default (enforce)", CRIO, model.MATCH),
    (E_RD, "crio-default-1.17.0 (enforce)", CRIO, model.MATCH),
    (E_RD, "docker-default (enforce)", DOCKER, model.MATCH),
    (E_RD, "docker-default (enforce)", CONTAINERD, model.MISMATCH),  # the wrong runtime's default
    (E_RD, "cri-containerd.apparmor.d (complain)", CONTAINERD, model.COMPLAIN),
    (E_RD, "unconfined", CONTAINERD, model.MISMATCH),
    (E_RD, "k8s-nginx (enforce)", CONTAINERD, model.MISMATCH),
    (E_LH, "k8s-nginx (enforce)", CONTAINERD, model.MATCH),
    (E_LH, "k8s-nginx (complain)", CONTAINERD, model.COMPLAIN),
    (E_LH, "k8s-other (enforce)", CONTAINERD, model.MISMATCH),
    (E_LH, "unconfined", CONTAINERD, model.MISMATCH),
    (E_UN, "unconfined", CONTAINERD, model.MATCH),
    (E_UN, "cri-containerd.apparmor.d (enforce)", CONTAINERD, model.MISMATCH),
    (E_NONE, "cri-containerd.apparmor.d (enforce)", CONTAINERD, model.MATCH),
    (E_NONE, "unconfined", CONTAINERD, model.MISMATCH),
    (E_RD, "k8s-nginx (unconfined)", CONTAINERD, model.MISMATCH),
])
def test_judge(expected, label, runtime, verdict):
    v = judge_apparmor(expected, L(label), runtime)
    assert v.verdict == verdict, v
    assert v.actual == label and v.expected == expected.display()


def test_mismatch_says_both_values():
    v = judge_apparmor(E_LH, L("k8s-other (enforce)"), CONTAINERD)
    assert v.detail == "runs k8s-other, expected profile k8s-nginx"
    v = judge_apparmor(E_RD, L("unconfined"), CONTAINERD)
    assert v.detail == "runs unconfined, expected the runtime default (cri-containerd.apparmor.d)"


def test_complain_detail():
    v = judge_apparmor(E_LH, L("k8s-nginx (complain)"), CONTAINERD)
    assert v.reason == "complain-mode" and "logged, not blocked" in v.detail


def test_privileged_runtime_default_runs_unconfined():
    v = judge_apparmor(E_RD, L("unconfined"), CONTAINERD, privileged=True)
    assert v.verdict == model.MATCH and any("privileged" in n for n in v.notes)
    assert judge_apparmor(E_NONE, L("unconfined"), CRIO, privileged=True).verdict == model.MATCH
    # containerd still applies a Localhost profile to a privileged container; CRI-O applies none
    assert judge_apparmor(E_LH, L("k8s-nginx (enforce)"), CONTAINERD, privileged=True).verdict == model.MATCH
    assert judge_apparmor(E_LH, L("unconfined"), CRIO, privileged=True).verdict == model.MATCH


def test_unknown_runtime():
    unknown = Runtime("")
    v = judge_apparmor(E_RD, L("cri-containerd.apparmor.d (enforce)"), unknown)
    assert v.verdict == model.MATCH and any("containerd default" in n for n in v.notes)
    v = judge_apparmor(E_RD, L("some-profile (enforce)"), Runtime("kata", "3.0"))
    assert v.verdict == model.UNVERIFIABLE and v.reason == model.UNKNOWN_RUNTIME


def test_expected_notes_carry_into_verdict():
    e = expected(container_sc={"appArmorProfile": {"type": "RuntimeDefault"}}, annotations={ANN + "c": "unconfined"})
    v = judge_apparmor(e, L("cri-containerd.apparmor.d (enforce)"), CONTAINERD)
    assert v.notes[0].startswith("the annotation asks for Unconfined")
