"""The test server's own PodSecurity namespace dry run: the Warning headers a kube-apiserver sends when a
namespace patch changes the enforce level, worded as the server's version words them.

Written from upstream k8s.io/pod-security-admission, independently of kubectl_pss's engine (the tests
compare the two), and only for the checks the scenarios use. Each level runs the baseline checks sorted
by id, then the restricted ones sorted by id. From v1.25 a restricted check *overrides* the baseline
check it replaces (seccompProfile_restricted drops seccompProfile_baseline, capabilities_restricted drops
capabilities_baseline, restrictedVolumes drops hostPathVolumes); before v1.25 there were no overrides,
so a container with an explicit Unconfined profile fails both seccomp checks and its reasons name
``seccompProfile`` twice (recorded on a 1.24 server: ``p-mixed (and 2 other pods): host namespaces,
seccompProfile, allowPrivilegeEscalation != false, ..., seccompProfile``). Pods with the same reasons
string form one warning named after the smallest pod name; the lines are sorted.
"""
from __future__ import annotations

from typing import Any, Callable, Iterable

_DEFAULT_CAPABILITIES = {"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
                         "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"}
_RESTRICTED_VOLUMES = {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim",
                       "projected", "secret"}


def _containers(spec: dict) -> list[dict]:
    return [c for key in ("initContainers", "containers", "ephemeralContainers") for c in spec.get(key) or ()]


def _sc(container: dict) -> dict:
    return container.get("securityContext") or {}


def _seccomp_type(context: dict) -> str | None:
    return (context.get("seccompProfile") or {}).get("type")


def _host_namespaces(spec: dict) -> bool:
    return any(spec.get(k) for k in ("hostNetwork", "hostPID", "hostIPC"))


def _privileged(spec: dict) -> bool:
    return any(_sc(c).get("privileged") for c in _containers(spec))


def _capabilities_baseline(spec: dict) -> bool:
    return any(set((_sc(c).get("capabilities") or {}).get("add") or ()) - _DEFAULT_CAPABILITIES
               for c in _containers(spec))


def _host_path_volumes(spec: dict) -> bool:
    return any("hostPath" in v for v in spec.get("volumes") or ())


def _host_ports(spec: dict) -> bool:
    return any(p.get("hostPort") for c in _containers(spec) for p in c.get("ports") or ())


def _seccomp_baseline(spec: dict) -> bool:
    pod = _seccomp_type(spec.get("securityContext") or {})
    return pod == "Unconfined" or any(_seccomp_type(_sc(c)) == "Unconfined" for c in _containers(spec))


def _allow_privilege_escalation(spec: dict) -> bool:
    return any(_sc(c).get("allowPrivilegeEscalation") is not False for c in _containers(spec))


def _capabilities_restricted(spec: dict) -> bool:
    for c in _containers(spec):
        caps = _sc(c).get("capabilities") or {}
        if "ALL" not in (caps.get("drop") or ()) or set(caps.get("add") or ()) - {"NET_BIND_SERVICE"}:
            return True
    return False


def _restricted_volumes(spec: dict) -> bool:
    return any(not (set(v) - {"name"}) <= _RESTRICTED_VOLUMES for v in spec.get("volumes") or ())


def _run_as_non_root(spec: dict) -> bool:
    pod = (spec.get("securityContext") or {}).get("runAsNonRoot")
    values = [_sc(c).get("runAsNonRoot") for c in _containers(spec)]
    return any(v is False for v in values) or (pod is not True and any(v is None for v in values))


def _run_as_user(spec: dict) -> bool:
    contexts = [spec.get("securityContext") or {}] + [_sc(c) for c in _containers(spec)]
    return any(ctx.get("runAsUser") == 0 for ctx in contexts)


def _seccomp_restricted(spec: dict) -> bool:
    allowed = ("RuntimeDefault", "Localhost")
    pod = _seccomp_type(spec.get("securityContext") or {})
    for c in _containers(spec):
        own = _seccomp_type(_sc(c))
        if own is not None and own not in allowed or own is None and pod not in allowed:
            return True
    return pod is not None and pod not in allowed


# (id, level, reason, fails, overridden check ids from v1.25); in upstream's order: baseline then
# restricted, each sorted by id (bytes)
_Check = tuple[str, str, str, Callable[[dict], bool], tuple[str, ...]]
CHECKS: tuple[_Check, ...] = (
    ("capabilities_baseline", "baseline", "non-default capabilities", _capabilities_baseline, ()),
    ("hostNamespaces", "baseline", "host namespaces", _host_namespaces, ()),
    ("hostPathVolumes", "baseline", "hostPath volumes", _host_path_volumes, ()),
    ("hostPorts", "baseline", "hostPort", _host_ports, ()),
    ("privileged", "baseline", "privileged", _privileged, ()),
    ("seccompProfile_baseline", "baseline", "seccompProfile", _seccomp_baseline, ()),
    ("allowPrivilegeEscalation", "restricted", "allowPrivilegeEscalation != false", _allow_privilege_escalation, ()),
    ("capabilities_restricted", "restricted", "unrestricted capabilities", _capabilities_restricted,
     ("capabilities_baseline",)),
    ("restrictedVolumes", "restricted", "restricted volume types", _restricted_volumes, ("hostPathVolumes",)),
    ("runAsNonRoot", "restricted", "runAsNonRoot != true", _run_as_non_root, ()),
    ("runAsUser", "restricted", "runAsUser=0", _run_as_user, ()),
    ("seccompProfile_restricted", "restricted", "seccompProfile", _seccomp_restricted, ("seccompProfile_baseline",)),
)


def pod_reasons(spec: dict, level: str, server_minor: int) -> list[str]:
    """The reasons a pod fails ``level`` on a server of v1.<server_minor> (repeats kept, as before v1.25)."""
    levels = {"privileged": (), "baseline": ("baseline",), "restricted": ("baseline", "restricted")}[level]
    checks = [c for c in CHECKS if c[1] in levels]
    if server_minor >= 25:
        overridden = {o for c in checks for o in c[4]}
        checks = [c for c in checks if c[0] not in overridden]
    return [reason for _id, _level, reason, fails, _o in checks if fails(spec)]


def namespace_warnings(namespace: str, pods: Iterable[dict], level: str, version: str,
                       server_minor: int) -> list[str]:
    """The Warning texts of a namespace patch that sets enforce to level:version, with these pods."""
    groups: dict[str, list[str]] = {}
    for pod in pods:
        reasons = pod_reasons(pod.get("spec") or {}, level, server_minor)
        if reasons:
            groups.setdefault(", ".join(reasons), []).append(pod["metadata"]["name"])
    if not groups:
        return []
    lines = []
    for reasons, names in groups.items():
        others = len(names) - 1
        more = "" if not others else f" (and {others} other pod{'s' if others > 1 else ''})"
        lines.append(f"{min(names)}{more}: {reasons}")
    return [f'existing pods in namespace "{namespace}" violate the new PodSecurity enforce level "{level}:{version}"',
            *sorted(lines)]


def warnings_hook(server: Any) -> Callable[[str, dict, dict], list[str]]:
    """A ``namespace_patch_warnings`` hook for a FakeApiServer: PodSecurity's answer at the server's version."""
    def hook(namespace: str, old_labels: dict, new_labels: dict) -> list[str]:
        level = new_labels.get("pod-security.kubernetes.io/enforce", "privileged")
        version = new_labels.get("pod-security.kubernetes.io/enforce-version", "latest")
        return namespace_warnings(namespace, server.pods_in(namespace), level, version, server.minor)

    return hook


__all__ = ["CHECKS", "namespace_warnings", "pod_reasons", "warnings_hook"]
