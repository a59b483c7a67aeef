"""policy.schema.type_errors: the API types of exactly the fields Pod Security reads (issue 12, item 7)."""
from __future__ import annotations

import copy

import pytest

from kubectl_pss.policy.objects import TEMPLATE_PATHS
from kubectl_pss.policy.schema import type_errors
from tests.scenarios import HOSTPATH_SPEC, PRIVILEGED_SPEC, RESTRICTED_SPEC, ROOT_SPEC

FULL_SPEC = {
    "hostNetwork": False, "hostPID": False, "hostIPC": False, "hostUsers": True, "os": {"name": "linux"},
    "runtimeClassName": "kata",
    "securityContext": {"runAsNonRoot": True, "runAsUser": 1000, "seLinuxOptions": {"type": "container_t", "level": "s0"},
                        "seccompProfile": {"type": "Localhost", "localhostProfile": "p.json"},
                        "appArmorProfile": {"type": "RuntimeDefault"}, "windowsOptions": {"hostProcess": False},
                        "sysctls": [{"name": "net.ipv4.tcp_syncookies", "value": "1"}]},
    "initContainers": [{"name": "i", "image": "i", "securityContext": {"capabilities": {"add": ["NET_BIND_SERVICE"],
                                                                                       "drop": ["ALL"]}}}],
    "containers": [{"name": "c", "image": "c", "ports": [{"containerPort": 8080, "hostPort": 0}],
                    "livenessProbe": {"httpGet": {"path": "/", "port": 8080, "host": "localhost"}},
                    "lifecycle": {"preStop": {"tcpSocket": {"port": 1}}},
                    "securityContext": {"privileged": False, "allowPrivilegeEscalation": False, "procMount": "Default",
                                        "runAsUser": 0, "runAsNonRoot": False}}],
    "ephemeralContainers": [{"name": "e", "image": "e"}],
    "volumes": [{"name": "v", "configMap": {"name": "x"}}, {"name": "h", "hostPath": {"path": "/"}}],
}


def pod(spec: dict, **metadata) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "n", **metadata}, "spec": spec}


@pytest.mark.parametrize("spec", [FULL_SPEC, RESTRICTED_SPEC, PRIVILEGED_SPEC, HOSTPATH_SPEC, ROOT_SPEC, {}])
def test_valid_pods_have_no_type_errors(spec):
    assert type_errors(pod(copy.deepcopy(spec), annotations={"a": "b"})) == []


def _set(path: str, value) -> dict:
    spec = copy.deepcopy(FULL_SPEC)
    *parents, last = path.split(".")
    node = spec
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return spec


WRONG = [
    ("hostNetwork", "true", "spec.hostNetwork: expected boolean, got string"),
    ("hostPID", 1, "spec.hostPID: expected boolean, got number"),
    ("hostIPC", [], "spec.hostIPC: expected boolean, got array"),
    ("hostUsers", "false", "spec.hostUsers: expected boolean, got string"),
    ("os.name", 5, "spec.os.name: expected string, got number"),
    ("os", "linux", "spec.os: expected object, got string"),
    ("runtimeClassName", True, "spec.runtimeClassName: expected string, got boolean"),
    ("securityContext", [], "spec.securityContext: expected object, got array"),
    ("securityContext.runAsNonRoot", "yes", "spec.securityContext.runAsNonRoot: expected boolean, got string"),
    ("securityContext.runAsUser", True, "spec.securityContext.runAsUser: expected integer, got boolean"),
    ("securityContext.runAsUser", "0", "spec.securityContext.runAsUser: expected integer, got string"),
    ("securityContext.runAsUser", 1 << 63, f"spec.securityContext.runAsUser: {1 << 63} is out of the int64 range"),
    ("securityContext.seLinuxOptions.user", 0, "spec.securityContext.seLinuxOptions.user: expected string, got number"),
    ("securityContext.seccompProfile.type", None, None),  # null: unset
    ("securityContext.seccompProfile.type", ["x"], "spec.securityContext.seccompProfile.type: expected string, got array"),
    ("securityContext.appArmorProfile", "RuntimeDefault",
     "spec.securityContext.appArmorProfile: expected object, got string"),
    ("securityContext.windowsOptions.hostProcess", "true",
     "spec.securityContext.windowsOptions.hostProcess: expected boolean, got string"),
    ("securityContext.sysctls.0", None, "spec.securityContext.sysctls[0]: expected object, got null"),
    ("securityContext.sysctls.0.value", 1, "spec.securityContext.sysctls[0].value: expected string, got number"),
    ("containers", "x", "spec.containers: expected array, got string"),
    ("containers.0", None, "spec.containers[0]: expected object, got null"),
    ("containers.0.name", 7, "spec.containers[0].name: expected string, got number"),
    ("containers.0.securityContext.privileged", "true",
     "spec.containers[0].securityContext.privileged: expected boolean, got string"),
    ("containers.0.securityContext.allowPrivilegeEscalation", 0,
     "spec.containers[0].securityContext.allowPrivilegeEscalation: expected boolean, got number"),
    ("containers.0.securityContext.procMount", True, "spec.containers[0].securityContext.procMount: expected string, got boolean"),
    ("containers.0.ports.0.hostPort", "80", "spec.containers[0].ports[0].hostPort: expected integer, got string"),
    ("containers.0.ports.0.hostPort", 1 << 31, f"spec.containers[0].ports[0].hostPort: {1 << 31} is out of the int32 range"),
    ("containers.0.ports.0.hostPort", 80.0, None),  # integral: kubectl sends it as 80
    ("containers.0.ports.0.containerPort", 80.5, "spec.containers[0].ports[0].containerPort: expected integer, got 80.5"),
    ("containers.0.livenessProbe.httpGet.host", 1, "spec.containers[0].livenessProbe.httpGet.host: expected string, got number"),
    ("containers.0.lifecycle.preStop.tcpSocket", "x", "spec.containers[0].lifecycle.preStop.tcpSocket: expected object, got string"),
    ("initContainers.0.securityContext.capabilities.add", "SYS_ADMIN",
     "spec.initContainers[0].securityContext.capabilities.add: expected array, got string"),
    ("initContainers.0.securityContext.capabilities.drop.0", None, None),  # Go decodes a null string item as ""
    ("initContainers.0.securityContext.capabilities.drop.0", 1,
     "spec.initContainers[0].securityContext.capabilities.drop[0]: expected string, got number"),
    ("ephemeralContainers.0.securityContext", "privileged",
     "spec.ephemeralContainers[0].securityContext: expected object, got string"),
    ("volumes.1.hostPath", "/etc", "spec.volumes[1].hostPath: expected object, got string"),
    ("volumes.0", None, "spec.volumes[0]: expected object, got null"),
    ("volumes", {}, "spec.volumes: expected array, got object"),
]


@pytest.mark.parametrize("path, value, error", WRONG)
def test_each_read_field_has_its_api_type(path, value, error):
    assert type_errors(pod(_set(path, value))) == ([] if error is None else [error])


def test_metadata_read_fields_and_every_error_is_listed():
    obj = pod({"hostPID": "true", "containers": [None]}, name=["p"], annotations={"seccomp.security.alpha.kubernetes.io/pod": 1})
    assert type_errors(obj) == ["metadata.name: expected string, got array",
                                "metadata.annotations[seccomp.security.alpha.kubernetes.io/pod]: expected string, got number",
                                "spec.hostPID: expected boolean, got string",
                                "spec.containers[0]: expected object, got null"]


@pytest.mark.parametrize("kind", [kind for kind, path in TEMPLATE_PATHS.items() if path is not None])
def test_every_workload_kind_checks_its_pod_template(kind):
    template = {"metadata": {"annotations": {"container.apparmor.security.beta.kubernetes.io/c": False}},
                "spec": {"containers": [{"name": "c", "securityContext": {"privileged": "yes"}}]}}
    obj: dict = {"kind": kind, "metadata": {"name": "w"}}
    node = obj
    path = TEMPLATE_PATHS[kind]
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = template
    prefix = ".".join(path)
    assert type_errors(obj) == [
        f"{prefix}.metadata.annotations[container.apparmor.security.beta.kubernetes.io/c]: expected string, got boolean",
        f"{prefix}.spec.containers[0].securityContext.privileged: expected boolean, got string"]
    assert type_errors({**obj, "spec": "x"} if path[0] == "spec" else {**obj, "template": 5})[0].startswith(path[0])


def test_kinds_without_a_template_are_not_checked():
    assert type_errors({"kind": "ConfigMap", "data": {"a": 1}}) == []
