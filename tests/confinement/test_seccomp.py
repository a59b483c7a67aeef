"""Seccomp: expected profile, /proc status, crictl JSON, profile files, verdicts (pure)."""
from __future__ import annotations

import json

import pytest

from kubectl_pss.confinement import model
from kubectl_pss.confinement.model import LOCALHOST, RUNTIME_DEFAULT, UNCONFINED, UNSET, Expected
from kubectl_pss.confinement.seccomp import (
    FLAG_NO_FILTER,
    FLAG_SECCOMP_DEFAULT,
    ProcSeccomp,
    compare_quick_and_full,
    expected_seccomp,
    judge_seccomp_full,
    judge_seccomp_quick,
    localhost_path,
    localhost_problem,
    parse_crictl_inspect,
    parse_proc_status,
)
from kubectl_pss.seccomp.filter import filter_from_profile, filter_from_spec
from tests.apiserver import load_recording
from tests.apiserver.runtime import crictl_inspect_json
from tests.seccomp.test_filter import LOCAL_PROFILE, RUNTIME_DEFAULT_SPEC




def pod(container_sc=None, pod_sc=None, annotations=None):
    container = {"name": "c"}
    if container_sc is not None:
        container["securityContext"] = container_sc
    p = {"metadata": {"annotations": annotations or {}}, "spec": {"containers": [container]}}
    if pod_sc is not None:
        p["spec"]["securityContext"] = pod_sc
    return p, container


def test_expected_order_container_pod_annotations():
    assert expected_seccomp(*pod()) == Expected(UNSET)
    e = expected_seccomp(*pod(container_sc={"seccompProfile": {"type": "Localhost", "localhostProfile": "p/a.json"}},
                              pod_sc={"seccompProfile": {"type": "RuntimeDefault"}}))
    assert (e.type, e.localhost, e.source) == (LOCALHOST, "p/a.json", "container field")
    e = expected_seccomp(*pod(pod_sc={"seccompProfile": {"type": "Unconfined"}}))
    assert (e.type, e.source) == (UNCONFINED, "pod field")


@pytest.mark.parametrize("annotations, want", [
    ({"container.seccomp.security.alpha.kubernetes.io/c": "runtime/default"}, (RUNTIME_DEFAULT, None, "container annotation")),
    ({"seccomp.security.alpha.kubernetes.io/pod": "docker/default"}, (RUNTIME_DEFAULT, None, "pod annotation")),
    ({"seccomp.security.alpha.kubernetes.io/pod": "localhost/prof.json"}, (LOCALHOST, "prof.json", "pod annotation")),
    ({"seccomp.security.alpha.kubernetes.io/pod": "unconfined",
      "container.seccomp.security.alpha.kubernetes.io/c": "runtime/default"}, (RUNTIME_DEFAULT, None, "container annotation")),
])
def test_expected_legacy_annotations(annotations, want):
    e = expected_seccomp(*pod(annotations=annotations))
    assert (e.type, e.localhost, e.source) == want
    assert "legacy annotation" in e.notes[0]


def test_field_and_disagreeing_annotation():
    e = expected_seccomp(*pod(pod_sc={"seccompProfile": {"type": "RuntimeDefault"}},
                              annotations={"seccomp.security.alpha.kubernetes.io/pod": "unconfined"}))
    assert e.type == RUNTIME_DEFAULT and e.notes == ("the pod annotation asks for Unconfined; the pod field wins",)


def test_localhost_path():
    assert localhost_path("/var/lib/kubelet/seccomp", "profiles/audit.json") == "/var/lib/kubelet/seccomp/profiles/audit.json"
    for bad in ("../../etc/shadow", "/etc/shadow", "a/../../b", ""):
        assert localhost_path("/var/lib/kubelet/seccomp", bad) is None


@pytest.mark.parametrize("name, path", [
    ("profiles/./audit.json", "/var/lib/kubelet/seccomp/profiles/audit.json"),
    ("./audit.json", "/var/lib/kubelet/seccomp/audit.json"),
    ("profiles//audit.json", "/var/lib/kubelet/seccomp/profiles/audit.json"),
])
def test_localhost_path_dot_and_empty_components_are_cleaned_like_the_kubelet(name, path):
    """The one Localhost path rule: the API server refuses only empty, absolute and '..' names; the kubelet
    reads filepath.Join(root, name), which cleans '.' and empty components away."""
    assert localhost_problem(name) is None
    assert localhost_path("/var/lib/kubelet/seccomp/", name) == path


@pytest.mark.parametrize("name, problem", [
    ("", "it must not be empty"), ("/etc/shadow", "not an absolute path"),
    ("../x.json", "'..' would leave the seccomp root"), ("a/../../x.json", "'..' would leave the seccomp root"),
])
def test_localhost_problem(name, problem):
    assert localhost_problem(name) == problem


def test_parse_proc_status_recorded():
    text = load_recording("exec-ws-cat-status")["frames"][1]["payload_text"]
    status = parse_proc_status(text)
    assert status == ProcSeccomp(2, 1) and str(status) == "Seccomp 2 (filter), 1 filter"
    assert parse_proc_status("Name:\tsleep\nSeccomp:\t0\n") == ProcSeccomp(0, None)
    with pytest.raises(ValueError):
        parse_proc_status("Name:\tsleep\n")


@pytest.mark.parametrize("seccomp, summary", [
    (RUNTIME_DEFAULT_SPEC, "SCMP_ACT_ERRNO, 7 syscalls allowed (SCMP_ARCH_X86_64, SCMP_ARCH_X86, SCMP_ARCH_X32)"),
    (LOCAL_PROFILE, "SCMP_ACT_ERRNO, 3 syscalls allowed (SCMP_ARCH_X86_64)"),
    (None, None),
])
def test_parse_crictl_inspect(seccomp, summary):
    data = crictl_inspect_json("abc123", "nginx", seccomp=seccomp, apparmor_profile="cri-containerd.apparmor.d")
    info = parse_crictl_inspect(json.dumps(data, indent=2))
    assert (info.container_id, info.name, info.apparmor_profile) == ("abc123", "nginx", "cri-containerd.apparmor.d")
    assert (info.seccomp.summary() if info.seccomp else None) == summary


@pytest.mark.parametrize("text", ["", "not json", "[]", '{"status": {}}', '{"info": {"pid": 1}}'])
def test_parse_crictl_inspect_rejects(text):
    with pytest.raises(ValueError):
        parse_crictl_inspect(text)


RD = Expected(RUNTIME_DEFAULT, source="container field")
LH = Expected(LOCALHOST, "profiles/a.json", "pod field")
UN = Expected(UNCONFINED, source="container field")
NONE = Expected(UNSET)
ON, OFF = ProcSeccomp(2, 1), ProcSeccomp(0, None)


@pytest.mark.parametrize("expected, status, verdict, flags", [
    (RD, ON, model.MATCH, []),
    (RD, OFF, model.MISMATCH, [FLAG_NO_FILTER]),
    (LH, ON, model.MATCH, []),
    (LH, OFF, model.MISMATCH, [FLAG_NO_FILTER]),
    (UN, OFF, model.MATCH, []),
    (UN, ON, model.MISMATCH, []),
    (NONE, OFF, model.MATCH, []),
    (NONE, ON, model.MATCH, [FLAG_SECCOMP_DEFAULT]),
    (RD, ProcSeccomp(1, None), model.MISMATCH, []),
])
def test_judge_quick(expected, status, verdict, flags):
    v = judge_seccomp_quick(expected, status)
    assert (v.verdict, v.flags) == (verdict, flags)
    assert v.actual == str(status)


def test_judge_quick_privileged_has_no_filter():
    v = judge_seccomp_quick(RD, OFF, privileged=True)
    assert v.verdict == model.MATCH and "privileged" in v.notes[0]


RUNNING_RD = filter_from_spec(RUNTIME_DEFAULT_SPEC)
RUNNING_LH = filter_from_spec(LOCAL_PROFILE)
FILE_LH = filter_from_profile(json.dumps(LOCAL_PROFILE))


@pytest.mark.parametrize("expected, running, declared, verdict, reason, flags", [
    (RD, RUNNING_RD, None, model.MATCH, None, []),
    (RD, None, None, model.MISMATCH, "no-filter", [FLAG_NO_FILTER]),
    (RD, filter_from_spec({"defaultAction": "SCMP_ACT_LOG"}), None, model.COMPLAIN, "log-only", []),
    (RD, filter_from_spec({"defaultAction": "SCMP_ACT_ALLOW"}), None, model.MISMATCH, "allows-everything", []),
    (LH, RUNNING_LH, FILE_LH, model.MATCH, None, []),
    (LH, RUNNING_RD, FILE_LH, model.MISMATCH, "differs", []),
    (LH, RUNNING_LH, "the profile file /x is not on the node", model.UNVERIFIABLE, model.PROFILE_FILE_MISSING, []),
    (LH, None, FILE_LH, model.MISMATCH, "no-filter", [FLAG_NO_FILTER]),
    (UN, None, None, model.MATCH, None, []),
    (UN, RUNNING_RD, None, model.MISMATCH, "filtered", []),
    (NONE, None, None, model.MATCH, None, []),
    (NONE, RUNNING_RD, None, model.MATCH, None, [FLAG_SECCOMP_DEFAULT]),
])
def test_judge_full(expected, running, declared, verdict, reason, flags):
    v = judge_seccomp_full(expected, running, False, declared)
    assert (v.verdict, v.reason, v.flags) == (verdict, reason, flags), v


def test_judge_full_details():
    v = judge_seccomp_full(LH, RUNNING_RD, False, FILE_LH)
    assert v.detail.startswith("the running filter differs from the profile file: 4 syscalls allowed")
    v = judge_seccomp_full(NONE, RUNNING_RD)
    assert "SeccompDefault" in v.detail and v.actual.startswith("SCMP_ACT_ERRNO, 7 syscalls allowed")


def test_quick_and_full_disagreement_note():
    assert compare_quick_and_full(ON, RUNNING_RD) is None
    assert compare_quick_and_full(OFF, RUNNING_RD) == "/proc says Seccomp 0 (disabled) but the runtime spec has a filter"
    assert compare_quick_and_full(None, None) is None
