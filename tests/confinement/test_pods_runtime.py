"""Pods, nodes and runtimes as the confinement checks see them (pure)."""
from __future__ import annotations

import pytest

from kubectl_pss.confinement import model
from kubectl_pss.confinement.pods import bare_container_id, node_facts, not_running_detail, pod_containers
from kubectl_pss.confinement.runtime import (
    Runtime,
    any_runtime_default,
    apparmor_default_profile,
    is_apparmor_runtime_default,
    parse_runtime,
)
from tests.apiserver.runtime import node_object


@pytest.mark.parametrize("text, name, version", [
    ("containerd://1.7.13", "containerd", "1.7.13"),
    ("cri-o://1.28.1", "cri-o", "1.28.1"),
    ("docker://24.0.7", "docker", "24.0.7"),
    ("remote://1.0", "remote", "1.0"),
    ("", "", ""),
    (None, "", ""),
])
def test_parse_runtime(text, name, version):
    assert parse_runtime(text) == Runtime(name, version)


def test_default_profile_names():
    assert apparmor_default_profile(parse_runtime("containerd://1.6.0")) == "cri-containerd.apparmor.d"
    assert apparmor_default_profile(parse_runtime("cri-o://1.28.1")) == "crio-default"
    assert apparmor_default_profile(parse_runtime("docker://24.0.7")) == "docker-default"
    assert is_apparmor_runtime_default(Runtime("cri-o"), "crio-default-1.17.0") is True
    assert is_apparmor_runtime_default(Runtime("containerd"), "crio-default") is False
    assert is_apparmor_runtime_default(Runtime(""), "crio-default") is None
    assert any_runtime_default("docker-default") == "docker" and any_runtime_default("x") is None
    assert str(Runtime("")) == "unknown" and str(Runtime("containerd", "1.7.13")) == "containerd 1.7.13"


def test_node_facts():
    facts = node_facts(node_object("a"), "a")
    assert facts.as_dict() == {"name": "a", "kubeletVersion": "v1.30.2", "containerRuntime": "containerd://1.7.13",
                               "os": "linux", "apparmor": "enabled", "ready": True}
    assert node_facts(node_object("b", apparmor=False), "b").apparmor == "not reported"
    assert node_facts(node_object("c", ready=False), "c").apparmor == "unknown"
    assert node_facts(None, "d").apparmor == "unknown"


def test_pod_containers_and_ids():
    pod = {"metadata": {"name": "p", "namespace": "ns"},
           "spec": {"nodeName": "n", "initContainers": [{"name": "sidecar", "restartPolicy": "Always"},
                                                       {"name": "init"}],
                    "containers": [{"name": "app", "securityContext": {"privileged": True}}]},
           "status": {"containerStatuses": [{"name": "app", "containerID": "containerd://abc",
                                             "state": {"running": {}}}],
                      "initContainerStatuses": [{"name": "sidecar", "containerID": "cri-o://def",
                                                 "state": {"running": {}}}]}}
    refs = list(pod_containers(pod))
    assert [(r.name, r.init, r.running, r.container_id, r.privileged) for r in refs] == [
        ("sidecar", True, True, "def", False), ("app", False, True, "abc", True)]
    assert bare_container_id("abc") == "abc" and bare_container_id(None) is None


def test_not_running_detail_blocked_by_apparmor():
    # what the kubelet reports for a pod whose AppArmor profile cannot be enforced (plugin-facts.md)
    pod = {"metadata": {"name": "p", "namespace": "ns"}, "spec": {"nodeName": "n", "containers": [{"name": "c"}]},
           "status": {"phase": "Pending", "reason": "AppArmor",
                      "message": "Cannot enforce AppArmor: AppArmor is not enabled on the host",
                      "containerStatuses": [{"name": "c", "state": {"waiting": {"reason": "Blocked"}}}]}}
    [ref] = pod_containers(pod)
    assert not ref.running
    assert not_running_detail(pod, ref) == ("container not running: waiting (Blocked); pod AppArmor: Cannot enforce "
                                            "AppArmor: AppArmor is not enabled on the host")


def test_exit_codes():
    assert model.exit_code_for(model.summarize(["match", "match"]), 0) == 0
    assert model.exit_code_for(model.summarize(["match", "mismatch"]), 0) == 1
    assert model.exit_code_for(model.summarize(["match", "complain"]), 0) == 1
    assert model.exit_code_for(model.summarize(["match", "unverifiable"]), 0) == 1
    assert model.exit_code_for(model.summarize(["match"]), 1) == 2
    assert model.exit_code_for(model.summarize([]), 0) == 0
