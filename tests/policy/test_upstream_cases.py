"""Golden cases ported from upstream's per-check unit tests.

Source: kubernetes/kubernetes, staging/src/k8s.io/pod-security-admission/policy/
check_*_test.go (plus registry_test.go and checks_test.go). Every upstream table entry is
re-expressed here as pod metadata/spec dicts with the check id, the policy version whose
revision upstream's test calls, and the exact expected reason and detail.

Each case is run twice:
  * at the check level, through ``DEFAULT_REGISTRY.check_at(check_id, version)``;
  * through ``evaluate_pod`` at the check's own level and the same version, confirming the
    check id reports the same reason/detail (or reports nothing when allowed).

Go pointers map to dicts as follows: ``SecurityContext: nil`` -> ``"securityContext": None``,
``&SecurityContext{}`` -> ``{}``, a field left out of a Go literal -> key absent.

Upstream variants that only add ``withFieldErrors`` (a field-error list that this engine does
not produce) repeat the same pod with the same reason/detail; they are not duplicated here.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from kubectl_pss.policy import DEFAULT_REGISTRY, Level, evaluate_pod, parse_version
from kubectl_pss.policy.checks import Check, Revision
from kubectl_pss.policy.helpers import Forbidden, PodView
from kubectl_pss.policy.registry import Registry

_UNSET: Any = object()


def ctr(name: str, sc: Any = _UNSET, **fields: Any) -> dict:
    """A container; ``sc`` becomes its securityContext (None = explicit null)."""
    container: dict[str, Any] = {"name": name}
    if sc is not _UNSET:
        container["securityContext"] = sc
    container.update(fields)
    return container


def probe(http_host: str | None = None, tcp_host: str | None = None) -> dict:
    """A probe or lifecycle handler with an httpGet and/or tcpSocket action (host "" = unset)."""
    handler: dict[str, Any] = {}
    if http_host is not None:
        handler["httpGet"] = {"host": http_host} if http_host else {}
    if tcp_host is not None:
        handler["tcpSocket"] = {"host": tcp_host} if tcp_host else {}
    return handler


def sysctls(*names_values: tuple[str, str | None]) -> dict:
    return {
        "securityContext": {
            "sysctls": [{"name": n} if v is None else {"name": n, "value": v} for n, v in names_values]
        }
    }


@dataclass(frozen=True)
class Case:
    upstream: str  # upstream test file :: test function :: case name
    check: str
    version: str
    metadata: dict | None
    spec: dict
    reason: str | None = None  # None: allowed
    detail: str = ""

    @property
    def id(self) -> str:
        return f"{self.check}@{self.version}: {self.upstream.rsplit('::', 1)[-1].strip()}"


CASES: list[Case] = []


def case(upstream: str, check: str, version: str, spec: dict | None = None, metadata: dict | None = None,
         reason: str | None = None, detail: str = "") -> None:
    CASES.append(Case(upstream, check, version, metadata, spec if spec is not None else {}, reason, detail))


# --------------------------------------------------------------------------------------------
# check_privileged_test.go :: TestPrivileged (privileged_1_0)
case("check_privileged_test.go::TestPrivileged::privileged", "privileged", "v1.0",
     {"containers": [
         ctr("a", None), ctr("b", {}), ctr("c", {"privileged": False}),
         ctr("d", {"privileged": True}), ctr("e", {"privileged": True}),
     ]},
     reason="privileged", detail='containers "d", "e" must not set securityContext.privileged=true')

# --------------------------------------------------------------------------------------------
# check_hostNamespaces_test.go :: TestHostNamespaces (hostNamespaces_1_0)
case("check_hostNamespaces_test.go::TestHostNamespaces::multiple host namespaces", "hostNamespaces", "v1.0",
     {"hostNetwork": True, "hostIPC": True, "hostPID": True},
     reason="host namespaces", detail="hostNetwork=true, hostPID=true, hostIPC=true")

# --------------------------------------------------------------------------------------------
# check_hostPathVolumes_test.go :: TestHostPathVolumes (hostPathVolumes_1_0)
case("check_hostPathVolumes_test.go::TestHostPathVolumes::host path volumes", "hostPathVolumes", "v1.0",
     {"volumes": [{"name": "a", "hostPath": {}}, {"name": "b", "hostPath": {}}, {"name": "c", "emptyDir": {}}]},
     reason="hostPath volumes", detail='volumes "a", "b"')

# --------------------------------------------------------------------------------------------
# check_hostPorts_test.go :: TestHostPort (hostPorts_1_0)
case("check_hostPorts_test.go::TestHostPort::one container, one host port", "hostPorts", "v1.0",
     {"containers": [
         ctr("a", ports=[{"hostPort": 0}]),
         ctr("b", ports=[{"hostPort": 0}, {"hostPort": 20}]),
     ]},
     reason="hostPort", detail='container "b" uses hostPort 20')
case("check_hostPorts_test.go::TestHostPort::multiple containers, multiple host port", "hostPorts", "v1.0",
     {"containers": [
         ctr("a", ports=[{"hostPort": 0}]),
         ctr("b", ports=[{"hostPort": 0}, {"hostPort": 10}, {"hostPort": 20}]),
         ctr("c", ports=[{"hostPort": 0}, {"hostPort": 10}, {"hostPort": 30}]),
     ]},
     reason="hostPort", detail='containers "b", "c" use hostPorts 10, 20, 30')

# --------------------------------------------------------------------------------------------
# check_hostProbesAndhostLifecycle_test.go :: TestHostProbesAndHostLifecycle
# (hostProbesAndHostLifecycleV1Dot34)
_HPL = "check_hostProbesAndhostLifecycle_test.go::TestHostProbesAndHostLifecycle::"
case(_HPL + "valid pod with unset hosts", "hostProbesAndHostLifecycle", "v1.34",
     {"containers": [ctr("a", livenessProbe=probe(http_host=""), readinessProbe=probe(tcp_host=""),
                         lifecycle={"postStart": probe(http_host="")})]})
case(_HPL + "invalid pod with local host IP as probe host", "hostProbesAndHostLifecycle", "v1.34",
     {"containers": [ctr("a", livenessProbe=probe(http_host="127.0.0.1"), readinessProbe=probe(tcp_host="::1"),
                         startupProbe=probe(http_host="localhost"))]},
     reason="probe or lifecycle host",
     detail='container "a" uses probe or lifecycle hosts "127.0.0.1", "::1", "localhost"')
case(_HPL + "invalid httpget host in liveness probe", "hostProbesAndHostLifecycle", "v1.34",
     {"containers": [ctr("a", livenessProbe=probe(http_host="invalid.host"))]},
     reason="probe or lifecycle host", detail='container "a" uses probe or lifecycle host "invalid.host"')
case(_HPL + "invalid tcpsocket host in readiness probe", "hostProbesAndHostLifecycle", "v1.34",
     {"containers": [ctr("b", readinessProbe=probe(tcp_host="invalid.host"))]},
     reason="probe or lifecycle host", detail='container "b" uses probe or lifecycle host "invalid.host"')
case(_HPL + "invalid httpget host in startup probe", "hostProbesAndHostLifecycle", "v1.34",
     {"containers": [ctr("c", startupProbe=probe(http_host="invalid.host"))]},
     reason="probe or lifecycle host", detail='container "c" uses probe or lifecycle host "invalid.host"')
case(_HPL + "invalid poststart tcpsocket host", "hostProbesAndHostLifecycle", "v1.34",
     {"containers": [ctr("d", lifecycle={"postStart": probe(tcp_host="invalid.host")})]},
     reason="probe or lifecycle host", detail='container "d" uses probe or lifecycle host "invalid.host"')
case(_HPL + "invalid prestop httpget host", "hostProbesAndHostLifecycle", "v1.34",
     {"containers": [ctr("e", lifecycle={"preStop": probe(http_host="another.invalid.host")})]},
     reason="probe or lifecycle host", detail='container "e" uses probe or lifecycle host "another.invalid.host"')
case(_HPL + "multiple containers with multiple invalid hosts", "hostProbesAndHostLifecycle", "v1.34",
     {"containers": [
         ctr("valid"),
         ctr("invalid1", livenessProbe=probe(http_host="a.com")),
         ctr("invalid2", lifecycle={"preStop": probe(tcp_host="b.com")}, startupProbe=probe(http_host="a.com")),
     ]},
     reason="probe or lifecycle host",
     detail='containers "invalid1", "invalid2" use probe or lifecycle hosts "a.com", "b.com"')
case(_HPL + "invalid ipv4 host in probe", "hostProbesAndHostLifecycle", "v1.34",
     {"containers": [ctr("a", livenessProbe=probe(http_host="8.8.8.8"))]},
     reason="probe or lifecycle host", detail='container "a" uses probe or lifecycle host "8.8.8.8"')
case(_HPL + "invalid ipv6 host in probe", "hostProbesAndHostLifecycle", "v1.34",
     {"containers": [ctr("a", livenessProbe=probe(tcp_host="2001:4860:4860::8888"))]},
     reason="probe or lifecycle host", detail='container "a" uses probe or lifecycle host "2001:4860:4860::8888"')
case(_HPL + "invalid host in initcontainer", "hostProbesAndHostLifecycle", "v1.34",
     {"initContainers": [ctr("init", livenessProbe=probe(http_host="invalid.init.host"))]},
     reason="probe or lifecycle host", detail='container "init" uses probe or lifecycle host "invalid.init.host"')

# --------------------------------------------------------------------------------------------
# check_capabilities_baseline_test.go :: TestCapabilitiesBaseline (capabilitiesBaseline_1_0)
case("check_capabilities_baseline_test.go::TestCapabilitiesBaseline::multiple containers",
     "capabilities_baseline", "v1.0",
     {"containers": [
         ctr("a", {"capabilities": {"add": ["FOO", "BAR"]}}),
         ctr("b", {"capabilities": {"add": ["BAR", "BAZ"]}}),
     ]},
     reason="non-default capabilities",
     detail='containers "a", "b" must not include "BAR", "BAZ", "FOO" in securityContext.capabilities.add')

# --------------------------------------------------------------------------------------------
# check_capabilities_restricted_test.go :: TestCapabilitiesRestricted (capabilitiesRestricted_1_22)
case("check_capabilities_restricted_test.go::TestCapabilitiesRestricted::multiple containers",
     "capabilities_restricted", "v1.22",
     {"containers": [
         ctr("a", {"capabilities": {"add": ["FOO", "BAR"]}}),
         ctr("b", {"capabilities": {"add": ["BAR", "BAZ"]}}),
         ctr("c", {"capabilities": {"add": ["NET_BIND_SERVICE", "CHOWN"], "drop": ["ALL", "FOO"]}}),
     ]},
     reason="unrestricted capabilities",
     detail='containers "a", "b" must set securityContext.capabilities.drop=["ALL"]; '
            'containers "a", "b", "c" must not include "BAR", "BAZ", "CHOWN", "FOO" in securityContext.capabilities.add')

# --------------------------------------------------------------------------------------------
# check_appArmorProfile_test.go :: TestCheckAppArmor_Allowed / TestCheckAppArmor_Forbidden
# (appArmorProfile_1_0)
_AA = "container.apparmor.security.beta.kubernetes.io/"
_AAA = "check_appArmorProfile_test.go::TestCheckAppArmor_Allowed::"
case(_AAA + "container with default AppArmor + extra annotations", "appArmorProfile", "v1.0", {},
     {"annotations": {_AA + "test": "runtime/default", "env": "prod"}})
case(_AAA + "container with local AppArmor + extra annotations", "appArmorProfile", "v1.0", {},
     {"annotations": {_AA + "test": "localhost/sec-profile01", "env": "dev"}})
case(_AAA + "container with no AppArmor annotations", "appArmorProfile", "v1.0", {},
     {"annotations": {"env": "dev"}})
case(_AAA + "container with no annotations", "appArmorProfile", "v1.0", {}, {})
case(_AAA + "pod with runtime default", "appArmorProfile", "v1.0",
     {"securityContext": {"appArmorProfile": {"type": "RuntimeDefault"}}}, {})
case(_AAA + "container with localhost profile", "appArmorProfile", "v1.0",
     {"containers": [ctr("foo", {"appArmorProfile": {"type": "RuntimeDefault"}})]}, {})
_AAF = "check_appArmorProfile_test.go::TestCheckAppArmor_Forbidden::"
case(_AAF + "unconfined pod", "appArmorProfile", "v1.0",
     {"securityContext": {"appArmorProfile": {"type": "Unconfined"}}},
     reason="forbidden AppArmor profile", detail='pod must not set AppArmor profile type to "Unconfined"')
case(_AAF + "unconfined container", "appArmorProfile", "v1.0",
     {"securityContext": {"appArmorProfile": {"type": "RuntimeDefault"}},
      "containers": [ctr("foo", {"appArmorProfile": {"type": "Unconfined"}})]},
     reason="forbidden AppArmor profile", detail='container "foo" must not set AppArmor profile type to "Unconfined"')
case(_AAF + "unconfined init container", "appArmorProfile", "v1.0",
     {"securityContext": {"appArmorProfile": {"type": "RuntimeDefault"}},
      "containers": [ctr("foo")],
      "initContainers": [ctr("bar", {"appArmorProfile": {"type": "Unconfined"}})]},
     reason="forbidden AppArmor profile", detail='container "bar" must not set AppArmor profile type to "Unconfined"')
case(_AAF + "multiple containers", "appArmorProfile", "v1.0", {},
     {"annotations": {
         _AA: "bogus",
         _AA + "a": "",
         _AA + "b": "runtime/default",
         _AA + "c": "localhost/",
         _AA + "d": "localhost/foo",
         _AA + "e": "unconfined",
         _AA + "f": "unknown",
     }},
     reason="forbidden AppArmor profiles",
     detail="annotations must not set AppArmor profile type to "
            f'"{_AA}="bogus"", "{_AA}e="unconfined"", "{_AA}f="unknown""')

# --------------------------------------------------------------------------------------------
# check_seLinuxOptions_test.go :: TestSELinuxOptions (newest: seLinuxOptions1_31)
_SEL = "check_seLinuxOptions_test.go::TestSELinuxOptions::"
_SEL_ALLOWED_CONTAINERS_1_31 = [
    ctr("a", {"seLinuxOptions": {"type": "container_t"}}),
    ctr("b", {"seLinuxOptions": {"type": "container_init_t"}}),
    ctr("c", {"seLinuxOptions": {"type": "container_kvm_t"}}),
    ctr("d", {"seLinuxOptions": {"type": "container_engine_t"}}),
]
_SEL_BAD_CONTAINERS_EFG = [
    ctr("e", {"seLinuxOptions": {"type": "bar"}}),
    ctr("f", {"seLinuxOptions": {"user": "bar"}}),
    ctr("g", {"seLinuxOptions": {"role": "baz"}}),
]
_SEL_BAD_POD = {"seLinuxOptions": {"type": "foo", "user": "bar", "role": "baz"}}
case(_SEL + "invalid pod and containers", "seLinuxOptions", "v1.31",
     {"securityContext": _SEL_BAD_POD, "containers": _SEL_ALLOWED_CONTAINERS_1_31 + _SEL_BAD_CONTAINERS_EFG},
     reason="seLinuxOptions",
     detail='pod and containers "e", "f", "g" set forbidden securityContext.seLinuxOptions: '
            'types "bar", "foo"; user may not be set; role may not be set')
case(_SEL + "invalid pod", "seLinuxOptions", "v1.31",
     {"securityContext": _SEL_BAD_POD, "containers": _SEL_ALLOWED_CONTAINERS_1_31},
     reason="seLinuxOptions",
     detail='pod set forbidden securityContext.seLinuxOptions: type "foo"; user may not be set; role may not be set')
case(_SEL + "invalid containers", "seLinuxOptions", "v1.31",
     {"securityContext": {"seLinuxOptions": {}}, "containers": _SEL_ALLOWED_CONTAINERS_1_31 + _SEL_BAD_CONTAINERS_EFG},
     reason="seLinuxOptions",
     detail='containers "e", "f", "g" set forbidden securityContext.seLinuxOptions: '
            'type "bar"; user may not be set; role may not be set')
case(_SEL + "bad type", "seLinuxOptions", "v1.31",
     {"securityContext": {"seLinuxOptions": {"type": "bad"}}},
     reason="seLinuxOptions", detail='pod set forbidden securityContext.seLinuxOptions: type "bad"')
case(_SEL + "bad user", "seLinuxOptions", "v1.31",
     {"securityContext": {"seLinuxOptions": {"user": "bad"}}},
     reason="seLinuxOptions", detail="pod set forbidden securityContext.seLinuxOptions: user may not be set")
case(_SEL + "bad role", "seLinuxOptions", "v1.31",
     {"securityContext": {"seLinuxOptions": {"role": "bad"}}},
     reason="seLinuxOptions", detail="pod set forbidden securityContext.seLinuxOptions: role may not be set")
# The older stored version of the same test calls seLinuxOptions_1_0 (no container_engine_t).
_SEL_ALLOWED_CONTAINERS_1_0 = _SEL_ALLOWED_CONTAINERS_1_31[:3]
_SEL_BAD_CONTAINERS_DEF = [
    ctr("d", {"seLinuxOptions": {"type": "bar"}}),
    ctr("e", {"seLinuxOptions": {"user": "bar"}}),
    ctr("f", {"seLinuxOptions": {"role": "baz"}}),
]
case(_SEL + "invalid pod and containers (1.0)", "seLinuxOptions", "v1.0",
     {"securityContext": _SEL_BAD_POD, "containers": _SEL_ALLOWED_CONTAINERS_1_0 + _SEL_BAD_CONTAINERS_DEF},
     reason="seLinuxOptions",
     detail='pod and containers "d", "e", "f" set forbidden securityContext.seLinuxOptions: '
            'types "bar", "foo"; user may not be set; role may not be set')
case(_SEL + "invalid pod (1.0)", "seLinuxOptions", "v1.0",
     {"securityContext": _SEL_BAD_POD, "containers": _SEL_ALLOWED_CONTAINERS_1_0},
     reason="seLinuxOptions",
     detail='pod set forbidden securityContext.seLinuxOptions: type "foo"; user may not be set; role may not be set')
case(_SEL + "invalid containers (1.0)", "seLinuxOptions", "v1.0",
     {"securityContext": {"seLinuxOptions": {}}, "containers": _SEL_ALLOWED_CONTAINERS_1_0 + _SEL_BAD_CONTAINERS_DEF},
     reason="seLinuxOptions",
     detail='containers "d", "e", "f" set forbidden securityContext.seLinuxOptions: '
            'type "bar"; user may not be set; role may not be set')

# --------------------------------------------------------------------------------------------
# check_procMount_baseline_test.go :: TestProcMountBaseline (procMount1_35baseline)
# check_procMount_test.go (older) :: TestProcMount (procMount_1_0)
# check_procMount_restricted_test.go :: TestProcMountRestricted (procMount_1_0, hostUsers true and false)
_PM_CONTAINERS = [
    ctr("a", None), ctr("b", {}), ctr("c", {"procMount": "Default"}),
    ctr("d", {"procMount": "Unmasked"}), ctr("e", {"procMount": "other"}),
]
_PM_DETAIL = 'containers "d", "e" must not set securityContext.procMount to "Unmasked", "other"'
case("check_procMount_baseline_test.go::TestProcMountBaseline::procMount", "procMount", "v1.35",
     {"containers": _PM_CONTAINERS, "hostUsers": True}, reason="procMount", detail=_PM_DETAIL)
case("check_procMount_baseline_test.go::TestProcMountBaseline::procMount with userns", "procMount", "v1.35",
     {"containers": _PM_CONTAINERS, "hostUsers": False})
case("check_procMount_test.go::TestProcMount::procMount", "procMount", "v1.0",
     {"containers": _PM_CONTAINERS}, reason="procMount", detail=_PM_DETAIL)
for _userns in (True, False):
    case(f"check_procMount_restricted_test.go::TestProcMountRestricted::procMount (hostUsers={_userns})",
         "procMount_restricted", "v1.35",
         {"containers": _PM_CONTAINERS, "hostUsers": _userns}, reason="procMount", detail=_PM_DETAIL)

# --------------------------------------------------------------------------------------------
# check_seccompProfile_baseline_test.go :: TestSeccompProfileBaseline_1_0 / _1_19
_SCB0 = "check_seccompProfile_baseline_test.go::TestSeccompProfileBaseline_1_0::"
case(_SCB0 + "pod seccomp invalid", "seccompProfile_baseline", "v1.0", {},
     {"annotations": {"seccomp.security.alpha.kubernetes.io/pod": "unconfined"}},
     reason="seccompProfile", detail='forbidden annotation seccomp.security.alpha.kubernetes.io/pod="unconfined"')
case(_SCB0 + "containers seccomp invalid", "seccompProfile_baseline", "v1.0",
     {"containers": [ctr("a"), ctr("b"), ctr("c")]},
     {"annotations": {
         "container.seccomp.security.alpha.kubernetes.io/a": "unconfined",
         "container.seccomp.security.alpha.kubernetes.io/b": "unknown",
     }},
     reason="seccompProfile",
     detail='forbidden annotations container.seccomp.security.alpha.kubernetes.io/a="unconfined", '
            'container.seccomp.security.alpha.kubernetes.io/b="unknown"')
case(_SCB0 + "pod and containers seccomp invalid", "seccompProfile_baseline", "v1.0",
     {"containers": [ctr("a"), ctr("b"), ctr("c")]},
     {"annotations": {
         "seccomp.security.alpha.kubernetes.io/pod": "unconfined",
         "container.seccomp.security.alpha.kubernetes.io/a": "unconfined",
         "container.seccomp.security.alpha.kubernetes.io/b": "unknown",
     }},
     reason="seccompProfile",
     detail='forbidden annotations container.seccomp.security.alpha.kubernetes.io/a="unconfined", '
            'container.seccomp.security.alpha.kubernetes.io/b="unknown", '
            'seccomp.security.alpha.kubernetes.io/pod="unconfined"')


def _seccomp(kind: str) -> dict:
    return {"seccompProfile": {"type": kind}}


_SC_CONTAINERS_CDEF = [
    ctr("a", None), ctr("b", {}),
    ctr("c", _seccomp("Unconfined")), ctr("d", _seccomp("Unconfined")),
    ctr("e", _seccomp("RuntimeDefault")), ctr("f", _seccomp("RuntimeDefault")),
]
_SCB19 = "check_seccompProfile_baseline_test.go::TestSeccompProfileBaseline_1_19::"
case(_SCB19 + "pod seccomp invalid", "seccompProfile_baseline", "v1.19",
     {"securityContext": _seccomp("Unconfined"), "containers": [ctr("a", None)]},
     reason="seccompProfile", detail='pod must not set securityContext.seccompProfile.type to "Unconfined"')
case(_SCB19 + "containers seccomp invalid", "seccompProfile_baseline", "v1.19",
     {"securityContext": _seccomp("RuntimeDefault"), "containers": _SC_CONTAINERS_CDEF},
     reason="seccompProfile",
     detail='containers "c", "d" must not set securityContext.seccompProfile.type to "Unconfined"')
case(_SCB19 + "pod and containers seccomp invalid", "seccompProfile_baseline", "v1.19",
     {"securityContext": _seccomp("Unconfined"), "containers": _SC_CONTAINERS_CDEF},
     reason="seccompProfile",
     detail='pod and containers "c", "d" must not set securityContext.seccompProfile.type to "Unconfined"')

# --------------------------------------------------------------------------------------------
# check_seccompProfile_restricted_test.go :: TestSeccompProfileRestricted_1_25 / _1_19
_SCR_MUST_A = 'pod or container "a" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"'
_SCR_MUST_AB = 'pod or containers "a", "b" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"'
_SCR_FALLTHROUGH = [
    ctr("a", None), ctr("b", {}), ctr("d", _seccomp("RuntimeDefault")), ctr("e", _seccomp("RuntimeDefault")),
]
for _fn, _version in (("TestSeccompProfileRestricted_1_25", "v1.25"), ("TestSeccompProfileRestricted_1_19", "v1.19")):
    _p = f"check_seccompProfile_restricted_test.go::{_fn}::"
    case(_p + "no explicit seccomp", "seccompProfile_restricted", _version,
         {"containers": [ctr("a")]}, reason="seccompProfile", detail=_SCR_MUST_A)
    if _version == "v1.25":
        case(_p + "no explicit seccomp, windows Pod", "seccompProfile_restricted", _version,
             {"os": {"name": "windows"}, "containers": [ctr("a")]})
        case(_p + "no explicit seccomp, linux pod", "seccompProfile_restricted", _version,
             {"os": {"name": "linux"}, "containers": [ctr("a")]}, reason="seccompProfile", detail=_SCR_MUST_A)
    case(_p + "pod seccomp invalid", "seccompProfile_restricted", _version,
         {"securityContext": _seccomp("Unconfined"), "containers": [ctr("a", None)]},
         reason="seccompProfile", detail='pod must not set securityContext.seccompProfile.type to "Unconfined"')
    case(_p + "containers seccomp invalid", "seccompProfile_restricted", _version,
         {"securityContext": _seccomp("RuntimeDefault"), "containers": _SC_CONTAINERS_CDEF},
         reason="seccompProfile",
         detail='containers "c", "d" must not set securityContext.seccompProfile.type to "Unconfined"')
    case(_p + "pod nil, container fallthrough", "seccompProfile_restricted", _version,
         {"containers": _SCR_FALLTHROUGH}, reason="seccompProfile", detail=_SCR_MUST_AB)

# --------------------------------------------------------------------------------------------
# check_sysctls_test.go :: TestSysctls (sysctls_1_0) / TestSysctls_1_27 / TestSysctls_1_29
_NEW_1_29 = (
    ("net.ipv4.tcp_keepalive_time", "7200"),
    ("net.ipv4.tcp_fin_timeout", "60"),
    ("net.ipv4.tcp_keepalive_intvl", "75"),
    ("net.ipv4.tcp_keepalive_probes", "9"),
)
for _fn, _version in (("TestSysctls", "v1.0"), ("TestSysctls_1_27", "v1.27"), ("TestSysctls_1_29", "v1.29")):
    _p = f"check_sysctls_test.go::{_fn}::"
    case(_p + "forbidden sysctls", "sysctls", _version, sysctls(("a", None), ("b", None)),
         reason="forbidden sysctls", detail="a, b")
    if _version == "v1.0":
        case(_p + "new supported sysctls not supported: net.ipv4.ip_local_reserved_ports", "sysctls", _version,
             sysctls(("net.ipv4.ip_local_reserved_ports", "1024-4999")),
             reason="forbidden sysctls", detail="net.ipv4.ip_local_reserved_ports")
        for _name, _value in _NEW_1_29:
            case(_p + f"new supported sysctls not supported: {_name}", "sysctls", _version,
                 sysctls((_name, _value)), reason="forbidden sysctls", detail=_name)
    elif _version == "v1.27":
        case(_p + "new supported sysctls", "sysctls", _version,
             sysctls(("net.ipv4.ip_local_reserved_ports", "1024-4999")))
    else:
        for _name, _value in _NEW_1_29:
            case(_p + f"new supported sysctls: {_name}", "sysctls", _version, sysctls((_name, _value)))

# --------------------------------------------------------------------------------------------
# check_windowsHostProcess_test.go :: TestWindowsHostProcess (windowsHostProcess_1_0)
case("check_windowsHostProcess_test.go::TestWindowsHostProcess::host process", "windowsHostProcess", "v1.0",
     {"securityContext": {"windowsOptions": {"hostProcess": True}},
      "containers": [
          ctr("a", None), ctr("b", {}), ctr("c", {"windowsOptions": {}}),
          ctr("d", {"windowsOptions": {"hostProcess": False}}),
          ctr("e", {"windowsOptions": {"hostProcess": True}}),
          ctr("f", {"windowsOptions": {"hostProcess": True}}),
      ]},
     reason="hostProcess",
     detail='pod and containers "e", "f" must not set securityContext.windowsOptions.hostProcess=true')

# --------------------------------------------------------------------------------------------
# check_allowPrivilegeEscalation_test.go :: TestAllowPrivilegeEscalation_1_25 / _1_8
_APE_CONTAINERS = [
    ctr("a"), ctr("b", {"allowPrivilegeEscalation": None}),
    ctr("c", {"allowPrivilegeEscalation": True}), ctr("d", {"allowPrivilegeEscalation": False}),
]
_APE_DETAIL = 'containers "a", "b", "c" must set securityContext.allowPrivilegeEscalation=false'
for _fn, _version in (("TestAllowPrivilegeEscalation_1_25", "v1.25"), ("TestAllowPrivilegeEscalation_1_8", "v1.8")):
    _p = f"check_allowPrivilegeEscalation_test.go::{_fn}::"
    case(_p + "multiple containers", "allowPrivilegeEscalation", _version, {"containers": _APE_CONTAINERS},
         reason="allowPrivilegeEscalation != false", detail=_APE_DETAIL)
    if _version == "v1.25":
        case(_p + "windows pod, admit without checking privilegeEscalation", "allowPrivilegeEscalation", _version,
             {"os": {"name": "windows"}, "containers": [ctr("a")]})
        case(_p + "linux pod, reject if security context is not set", "allowPrivilegeEscalation", _version,
             {"os": {"name": "linux"}, "containers": [ctr("a")]},
             reason="allowPrivilegeEscalation != false",
             detail='container "a" must set securityContext.allowPrivilegeEscalation=false')

# --------------------------------------------------------------------------------------------
# check_runAsNonRoot_test.go :: TestRunAsNonRoot (newest: runAsNonRoot1_35; older: runAsNonRoot_1_0)
_RNR = "check_runAsNonRoot_test.go::TestRunAsNonRoot::"
for _version in ("v1.35", "v1.0"):
    case(_RNR + "no explicit runAsNonRoot", "runAsNonRoot", _version,
         {"containers": [ctr("a")]},
         reason="runAsNonRoot != true", detail='pod or container "a" must set securityContext.runAsNonRoot=true')
    case(_RNR + "pod runAsNonRoot=false", "runAsNonRoot", _version,
         {"securityContext": {"runAsNonRoot": False}, "containers": [ctr("a", None)]},
         reason="runAsNonRoot != true", detail="pod must not set securityContext.runAsNonRoot=false")
    case(_RNR + "containers runAsNonRoot=false", "runAsNonRoot", _version,
         {"securityContext": {"runAsNonRoot": True}, "containers": [
             ctr("a", None), ctr("b", {}),
             ctr("c", {"runAsNonRoot": False}), ctr("d", {"runAsNonRoot": False}),
             ctr("e", {"runAsNonRoot": True}), ctr("f", {"runAsNonRoot": True}),
         ]},
         reason="runAsNonRoot != true", detail='containers "c", "d" must not set securityContext.runAsNonRoot=false')
    case(_RNR + "pod nil, container fallthrough", "runAsNonRoot", _version,
         {"containers": [
             ctr("a", None), ctr("b", {}), ctr("d", {"runAsNonRoot": True}), ctr("e", {"runAsNonRoot": True}),
         ]},
         reason="runAsNonRoot != true",
         detail='pod or containers "a", "b" must set securityContext.runAsNonRoot=true')
    case(_RNR + "with HostUsers=true", "runAsNonRoot", _version,
         {"containers": [ctr("a")], "hostUsers": True},
         reason="runAsNonRoot != true", detail='pod or container "a" must set securityContext.runAsNonRoot=true')
case(_RNR + "host users false allowed", "runAsNonRoot", "v1.35", {"hostUsers": False})

# --------------------------------------------------------------------------------------------
# check_runAsUser_test.go :: TestRunAsUser (newest: runAsUser1_35; older: runAsUserV1Dot23)
_RU = "check_runAsUser_test.go::TestRunAsUser::"
for _version in ("v1.35", "v1.23"):
    case(_RU + "pod runAsUser=0", "runAsUser", _version,
         {"securityContext": {"runAsUser": 0}, "containers": [ctr("a", None)]},
         reason="runAsUser=0", detail="pod must not set runAsUser=0")
    case(_RU + "pod runAsUser=non-zero", "runAsUser", _version,
         {"securityContext": {"runAsUser": 1000}, "containers": [ctr("a", None)]})
    case(_RU + "pod runAsUser=nil", "runAsUser", _version,
         {"securityContext": {"runAsUser": None}, "containers": [ctr("a", None)]})
    case(_RU + "containers runAsUser=0", "runAsUser", _version,
         {"securityContext": {"runAsUser": 1000}, "containers": [
             ctr("a", None), ctr("b", {}),
             ctr("c", {"runAsUser": 0}), ctr("d", {"runAsUser": 0}),
             ctr("e", {"runAsUser": 1}), ctr("f", {"runAsUser": 1}),
         ]},
         reason="runAsUser=0", detail='containers "c", "d" must not set runAsUser=0')
    case(_RU + "containers runAsUser=non-zero", "runAsUser", _version,
         {"containers": [
             ctr("c", {"runAsUser": 1}), ctr("d", {"runAsUser": 2}),
             ctr("e", {"runAsUser": 3}), ctr("f", {"runAsUser": 4}),
         ]})
    case(_RU + "UserNamespacesPodSecurityStandards enabled with HostUsers", "runAsUser", _version,
         {"securityContext": {"runAsUser": 0}, "containers": [ctr("a", None)], "hostUsers": True},
         reason="runAsUser=0", detail="pod must not set runAsUser=0")
case(_RU + "UserNamespacesPodSecurityStandards enabled without HostUsers", "runAsUser", "v1.35",
     {"hostUsers": False})

# --------------------------------------------------------------------------------------------
# check_restrictedVolumes_test.go :: TestRestrictedVolumes (restrictedVolumes_1_0)
case("check_restrictedVolumes_test.go::TestRestrictedVolumes::host path volumes", "restrictedVolumes", "v1.0",
     {"volumes": [
         # allowed types
         {"name": "a1", "emptyDir": {}},
         {"name": "a2", "secret": {}},
         {"name": "a3", "persistentVolumeClaim": {}},
         {"name": "a4", "downwardAPI": {}},
         {"name": "a5", "configMap": {}},
         {"name": "a6", "projected": {}},
         {"name": "a7", "csi": {}},
         {"name": "a8", "ephemeral": {}},
         {"name": "a9", "image": {}},
         # known restricted types
         {"name": "b1", "hostPath": {}},
         {"name": "b2", "gcePersistentDisk": {}},
         {"name": "b3", "awsElasticBlockStore": {}},
         {"name": "b4", "gitRepo": {}},
         {"name": "b5", "nfs": {}},
         {"name": "b6", "iscsi": {}},
         {"name": "b7", "glusterfs": {}},
         {"name": "b8", "rbd": {}},
         {"name": "b9", "flexVolume": {}},
         {"name": "b10", "cinder": {}},
         {"name": "b11", "cephfs": {}},
         {"name": "b12", "flocker": {}},
         {"name": "b13", "fc": {}},
         {"name": "b14", "azureFile": {}},
         {"name": "b15", "vsphereVolume": {}},
         {"name": "b16", "quobyte": {}},
         {"name": "b17", "azureDisk": {}},
         {"name": "b18", "photonPersistentDisk": {}},
         {"name": "b19", "portworxVolume": {}},
         {"name": "b20", "scaleIO": {}},
         {"name": "b21", "storageos": {}},
         # unknown type
         {"name": "c1"},
     ]},
     reason="restricted volume types",
     detail='volumes '
            '"b1", "b2", "b3", "b4", "b5", "b6", "b7", "b8", "b9", "b10", "b11", "b12", "b13", "b14", "b15", "b16", '
            '"b17", "b18", "b19", "b20", "b21", "c1"'
            ' use restricted volume types '
            '"awsElasticBlockStore", "azureDisk", "azureFile", "cephfs", "cinder", "fc", "flexVolume", "flocker", '
            '"gcePersistentDisk", "gitRepo", "glusterfs", '
            '"hostPath", "iscsi", "nfs", "photonPersistentDisk", "portworxVolume", "quobyte", "rbd", "scaleIO", '
            '"storageos", "unknown", "vsphereVolume"')


# ============================================================================================
# Running the table


def _level_of(check_id: str) -> Level:
    return DEFAULT_REGISTRY.checks[check_id].level


def _expected(c: Case) -> Forbidden | None:
    return None if c.reason is None else Forbidden(c.reason, c.detail)


@pytest.mark.parametrize("c", CASES, ids=[c.id for c in CASES])
def test_check_function(c: Case) -> None:
    fn = DEFAULT_REGISTRY.check_at(c.check, parse_version(c.version))
    assert fn is not None, f"{c.check} has no revision at {c.version}"
    result = fn(PodView(c.metadata, c.spec))
    assert result == _expected(c)


@pytest.mark.parametrize("c", CASES, ids=[c.id for c in CASES])
def test_check_in_level_evaluation(c: Case) -> None:
    result = evaluate_pod(c.metadata, c.spec, _level_of(c.check), c.version)
    found = [(v.reason, v.detail) for v in result.violations if v.check == c.check]
    if c.reason is None:
        assert found == []
    else:
        assert found == [(c.reason, c.detail)]


def test_every_spec_check_has_upstream_cases() -> None:
    assert {c.check for c in CASES} == set(DEFAULT_REGISTRY.checks)


# --------------------------------------------------------------------------------------------
# check_hostProbesAndhostLifecycle_test.go :: TestHostProbesAndHostLifecycleEmulation
# An evaluator emulating 1.33 has no host-probe check at all (even for "latest"/"v1.34").

_HOST_PROBE_SPEC = {"containers": [{"startupProbe": {"httpGet": {"host": "localhost"}}}]}


@pytest.mark.parametrize(
    ("emulate_minor", "host_check_active"),
    [(None, True), (34, True), (33, False)],
    ids=["no emulation", "emulate 1.34", "emulate 1.33"],
)
def test_host_probes_emulation(emulate_minor: int | None, host_check_active: bool) -> None:
    registry = Registry(max_minor=emulate_minor)
    expect_allowed = not host_check_active
    for version in ("latest", "v1.34"):
        result = evaluate_pod({}, _HOST_PROBE_SPEC, Level.BASELINE, version, registry=registry)
        assert result.allowed is expect_allowed, (version, result.details())
    assert evaluate_pod({}, _HOST_PROBE_SPEC, Level.BASELINE, "v1.33", registry=registry).allowed


# --------------------------------------------------------------------------------------------
# registry_test.go: synthetic checks whose results name "<id>:<revision version>".


def _gen(check_id: str, level: Level, minors: list[int], overrides: tuple[str, ...] = ()) -> Check:
    def make(minor: int):
        def run(_pod: PodView) -> Forbidden:
            return Forbidden(f"{check_id}:v1.{minor}", "")
        return run

    return Check(check_id, level, tuple(Revision(m, make(m), overrides) for m in minors))


def _reasons(registry: Registry, level: Level, version: str) -> list[str]:
    return [v.reason for v in evaluate_pod(None, None, level, version, registry=registry).violations]


B, R, P = Level.BASELINE, Level.RESTRICTED, Level.PRIVILEGED


def _registry_main() -> Registry:
    multi = Check("i", R, (
        Revision(10, _gen("i", R, [10]).revisions[0].check, ("c",)),
        Revision(21, _gen("i", R, [21]).revisions[0].check, ("d",)),
    ))
    return Registry((
        _gen("a", B, [0]),
        _gen("b", B, [10]),
        _gen("c", B, [0, 5, 10]),
        _gen("d", B, [11, 15, 20]),
        _gen("e", R, [0]),
        _gen("f", R, [12, 16, 21]),
        _gen("g", R, [10], ("a",)),
        _gen("h", R, [0], ("b",)),
        multi,
    ))


@pytest.mark.parametrize(("level", "version", "expected"), [
    (P, "v1.0", []),
    (P, "latest", []),
    (B, "v1.0", ["a:v1.0", "c:v1.0"]),
    (B, "v1.4", ["a:v1.0", "c:v1.0"]),
    (B, "v1.5", ["a:v1.0", "c:v1.5"]),
    (B, "v1.10", ["a:v1.0", "b:v1.10", "c:v1.10"]),
    (B, "v1.11", ["a:v1.0", "b:v1.10", "c:v1.10", "d:v1.11"]),
    (B, "latest", ["a:v1.0", "b:v1.10", "c:v1.10", "d:v1.20"]),
    (R, "v1.0", ["a:v1.0", "c:v1.0", "e:v1.0", "h:v1.0"]),
    (R, "v1.4", ["a:v1.0", "c:v1.0", "e:v1.0", "h:v1.0"]),
    (R, "v1.5", ["a:v1.0", "c:v1.5", "e:v1.0", "h:v1.0"]),
    (R, "v1.10", ["e:v1.0", "g:v1.10", "h:v1.0", "i:v1.10"]),
    (R, "v1.11", ["d:v1.11", "e:v1.0", "g:v1.10", "h:v1.0", "i:v1.10"]),
    (R, "latest", ["c:v1.10", "e:v1.0", "f:v1.21", "g:v1.10", "h:v1.0", "i:v1.21"]),
    (R, "v1.10000", ["c:v1.10", "e:v1.0", "f:v1.21", "g:v1.10", "h:v1.0", "i:v1.21"]),
], ids=lambda x: str(x) if not isinstance(x, list) else None)
def test_registry(level: Level, version: str, expected: list[str]) -> None:
    assert _reasons(_registry_main(), level, version) == expected


@pytest.mark.parametrize(("level", "version", "expected"), [
    (B, "v1.0", ["a:v1.0", "c:v1.0"]),
    (B, "v1.4", ["a:v1.0", "c:v1.0"]),
    (B, "v1.5", ["a:v1.0", "c:v1.5"]),
    (B, "v1.10", ["a:v1.0", "b:v1.10", "c:v1.10"]),
    (B, "v1.11", ["a:v1.0", "b:v1.10", "c:v1.10", "d:v1.11"]),
    (B, "latest", ["a:v1.0", "b:v1.10", "c:v1.10", "d:v1.20"]),
], ids=lambda x: str(x) if not isinstance(x, list) else None)
def test_registry_no_restricted(level: Level, version: str, expected: list[str]) -> None:
    registry = Registry((
        _gen("a", B, [0]), _gen("b", B, [10]), _gen("c", B, [0, 5, 10]), _gen("d", B, [11, 15, 20]),
    ))
    assert _reasons(registry, level, version) == expected
    # Restricted results are identical to baseline.
    assert _reasons(registry, R, version) == expected


# Upstream's validateChecks accepts an override naming a check id that is not registered
# (TestCheckRegistry_NoBaseline), and NewEvaluator(nil) is valid (TestCheckRegistry_Empty).
@pytest.mark.parametrize(("level", "version", "expected"), [
    (P, "v1.0", []),
    (P, "latest", []),
    (B, "v1.0", []),
    (B, "v1.10", []),
    (B, "latest", []),
    (R, "v1.0", ["e:v1.0", "h:v1.0"]),
    (R, "v1.10", ["e:v1.0", "g:v1.10", "h:v1.0"]),
    (R, "latest", ["e:v1.0", "f:v1.21", "g:v1.10", "h:v1.0"]),
    (R, "v1.10000", ["e:v1.0", "f:v1.21", "g:v1.10", "h:v1.0"]),
], ids=lambda x: str(x) if not isinstance(x, list) else None)
def test_registry_no_baseline(level: Level, version: str, expected: list[str]) -> None:
    registry = Registry((
        _gen("e", R, [0]), _gen("f", R, [12, 16, 21]), _gen("g", R, [10], ("a",)), _gen("h", R, [0], ("b",)),
    ))
    assert _reasons(registry, level, version) == expected


@pytest.mark.parametrize("level", [P, B, R], ids=str)
def test_registry_empty(level: Level) -> None:
    assert _reasons(Registry(()), level, "latest") == []


# checks_test.go :: TestValidChecks — the default checks validate and every override names a
# registered check.
def test_valid_checks() -> None:
    Registry()
    ids = set(DEFAULT_REGISTRY.checks)
    for check in DEFAULT_REGISTRY.checks.values():
        for revision in check.revisions:
            assert set(revision.overrides) <= ids, (check.id, revision.overrides)


# --------------------------------------------------------------------------------------------
# Not from upstream's tables: regressions for disagreements found while porting them.
# A JSON/YAML null annotation value decodes to "" in Go (map[string]string), so it is an
# allowed AppArmor value and a forbidden ("") seccomp annotation value.


def test_null_apparmor_annotation_is_empty_and_allowed() -> None:
    fn = DEFAULT_REGISTRY.check_at("appArmorProfile", parse_version("v1.0"))
    assert fn(PodView({"annotations": {_AA + "a": None}}, {})) is None


def test_null_seccomp_annotation_is_empty_and_forbidden() -> None:
    fn = DEFAULT_REGISTRY.check_at("seccompProfile_baseline", parse_version("v1.18"))
    metadata = {"annotations": {"seccomp.security.alpha.kubernetes.io/pod": None}}
    assert fn(PodView(metadata, {})) == Forbidden(
        "seccompProfile", 'forbidden annotation seccomp.security.alpha.kubernetes.io/pod=""'
    )
