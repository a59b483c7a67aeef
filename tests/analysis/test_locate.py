"""Where a violation is written (analysis.locate.field_path), from the engine's own details."""
from __future__ import annotations

import pytest

from kubectl_pss.analysis.locate import field_path
from kubectl_pss.policy import Level, evaluate

DEPLOYMENT = {
    "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
    "spec": {"template": {
        "metadata": {"annotations": {"container.apparmor.security.beta.kubernetes.io/b": "unconfined"}},
        "spec": {
            "hostNetwork": False, "hostPID": True,
            "securityContext": {"runAsNonRoot": False, "sysctls": [{"name": "kernel.msgmax", "value": "1"}]},
            "volumes": [{"name": "ok", "emptyDir": {}}, {"name": "host", "hostPath": {"path": "/"}}],
            "initContainers": [{"name": "a", "image": "x", "securityContext": {"capabilities": {"add": ["NET_BIND_SERVICE"]}}}],
            "containers": [{"name": "b", "image": "x", "ports": [{"containerPort": 80, "hostPort": 80}],
                            "securityContext": {"privileged": True, "runAsUser": 0}}],
        }}},
}
SPEC = ("spec", "template", "spec")


def paths(level: Level) -> dict[str, tuple | None]:
    result = evaluate(DEPLOYMENT, level)
    return {v.check: field_path(DEPLOYMENT, v.check, v.detail) for v in result.violations}


def test_each_check_points_at_its_field():
    got = paths(Level.RESTRICTED) | paths(Level.BASELINE)
    assert got["hostNamespaces"] == SPEC + ("hostPID",)  # hostNetwork: false is written but not the fault
    assert got["privileged"] == SPEC + ("containers", 0, "securityContext", "privileged")
    assert got["runAsUser"] == SPEC + ("containers", 0, "securityContext", "runAsUser")
    assert got["runAsNonRoot"] == SPEC + ("securityContext", "runAsNonRoot")
    assert got["hostPorts"] == SPEC + ("containers", 0, "ports")
    assert got["hostPathVolumes"] == SPEC + ("volumes", 1)
    assert got["restrictedVolumes"] == SPEC + ("volumes", 1)
    assert got["sysctls"] == SPEC + ("securityContext", "sysctls")
    assert got["appArmorProfile"] == ("spec", "template", "metadata", "annotations",
                                      "container.apparmor.security.beta.kubernetes.io/b")
    # drop ALL is missing in both containers: the first named one that writes capabilities at all
    assert got["capabilities_restricted"] == SPEC + ("initContainers", 0, "securityContext", "capabilities")


@pytest.mark.parametrize("check", ["allowPrivilegeEscalation", "seccompProfile_restricted"])
def test_a_missing_field_has_no_place(check):
    assert paths(Level.RESTRICTED)[check] is None  # the caller shows kind:
