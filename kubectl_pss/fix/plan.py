"""Which edits make an object pass a level, judged by the engine; what is left needs a person.

Only the safe fixes are ever planned on their own: ``allowPrivilegeEscalation: false`` (not on a
privileged container or one that adds SYS_ADMIN: the API server rejects that combination),
``capabilities.drop: [ALL]`` (adds kept), pod-level ``runAsNonRoot: true`` and pod-level
``seccompProfile: {type: RuntimeDefault}`` -- and on Windows pods none of the Linux-only ones.
An explicit weakening is a decision; ``allow`` names the decisions a person has taken.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from ..policy import Level, Version, apply_manifest_defaults, evaluate, grade
from ..policy.objects import TEMPLATE_PATHS
from .edit import CONTAINER_LISTS, DELETE, Edit, apply_edits

# --allow NAME -> the check it lets fix change
ALLOW_NAMES: dict[str, str] = {
    "host-namespaces": "hostNamespaces",
    "privileged": "privileged",
    "host-ports": "hostPorts",
    "capabilities": "capabilities",
    "run-as-non-root": "runAsNonRoot",
    "seccomp": "seccomp",
}
BASELINE_CAPABILITIES = frozenset({"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
                                   "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"})
RESTRICTED_CAPABILITIES = frozenset({"NET_BIND_SERVICE"})
SYS_ADMIN = ("SYS_ADMIN", "CAP_SYS_ADMIN")
RUNTIME_DEFAULT = "RuntimeDefault"

HINTS: dict[str, str] = {
    "hostNamespaces": "the pod shares the node's network/PID/IPC namespace: --allow host-namespaces sets them to false",
    "privileged": "a privileged container has the node's devices and capabilities: --allow privileged sets it to false",
    "hostPorts": "hostPort binds the node's port: --allow host-ports removes it (reach the pod through a Service)",
    "capabilities_baseline": "--allow capabilities removes the added capabilities beyond the baseline set",
    "capabilities_restricted": "--allow capabilities removes the added capabilities other than NET_BIND_SERVICE",
    "allowPrivilegeEscalation": "a privileged container or one adding SYS_ADMIN cannot set allowPrivilegeEscalation: "
                                "false (the API server rejects it): --allow privileged,capabilities first",
    "runAsNonRoot": "runAsNonRoot is explicitly false: --allow run-as-non-root sets it to true (the image must run "
                    "as a non-root user)",
    "runAsUser": "runAsUser: 0 runs as root: set a non-zero user by hand (the image must support it)",
    "seccompProfile_baseline": "an Unconfined seccomp profile: --allow seccomp sets RuntimeDefault",
    "seccompProfile_restricted": "an Unconfined or missing profile the tool may not set here: --allow seccomp sets "
                                 "RuntimeDefault",
    "hostPathVolumes": "hostPath volumes reach the node's files: replace them by hand (emptyDir, a PVC, a CSI driver)",
    "restrictedVolumes": "use only configMap, csi, downwardAPI, emptyDir, ephemeral, persistentVolumeClaim, "
                         "projected or secret volumes: change by hand",
    "appArmorProfile": "the AppArmor profile is set to unconfined or an unknown type: change by hand",
    "seLinuxOptions": "the SELinux type or user/role is set: change by hand",
    "procMount": "procMount Unmasked: change by hand",
    "procMount_restricted": "procMount Unmasked: change by hand",
    "sysctls": "unsafe sysctls: remove them by hand or allow them on the nodes and use the privileged level",
    "windowsHostProcess": "Windows hostProcess containers run on the host: change by hand",
    "hostProbesAndHostLifecycle": "probes or lifecycle handlers name a host: remove the host field by hand",
}


@dataclass
class FixPlan:
    """The edits for one object and the engine's verdict before and after them."""

    edits: list[Edit]
    level_before: str
    level_after: str
    allowed_after: bool
    needs_decision: list[dict[str, str]] = field(default_factory=list)

    def changes(self) -> list[dict[str, Any]]:
        return [edit.change() for edit in self.edits]


def _spec_path(obj: dict) -> tuple[str, ...] | None:
    """Path of the pod spec an object carries (None: no template)."""
    template = TEMPLATE_PATHS[obj.get("kind")]
    node: Any = obj
    for key in template or ():
        node = node.get(key) if isinstance(node, dict) else None
    if not isinstance(node, dict) or not isinstance(node.get("spec"), dict):
        return None
    return tuple(template or ()) + ("spec",)


def _get(obj: dict, path: tuple[str | int, ...]) -> Any:
    node: Any = obj
    for part in path:
        node = node[part]
    return node


def _containers(spec: dict, path: tuple) -> Iterator[tuple[tuple, dict, dict]]:
    """(path, container, its securityContext or {}) of every container."""
    for name in CONTAINER_LISTS:
        items = spec.get(name)
        for i, container in enumerate(items if isinstance(items, list) else ()):
            if isinstance(container, dict):
                sc = container.get("securityContext")
                yield path + (name, i), container, sc if isinstance(sc, dict) else {}


def _mapping(parent: dict, key: str) -> dict:
    value = parent.get(key)
    return value if isinstance(value, dict) else {}


def _is_windows(spec: dict) -> bool:
    return _mapping(spec, "os").get("name") == "windows"


# A fixer: (pod spec, its path, allowed check names, level) -> edits for one failing check.
Fixer = Callable[[dict, tuple, frozenset, Level], list[Edit]]


def _allow_privilege_escalation(spec: dict, path: tuple, allow: frozenset, level: Level) -> list[Edit]:
    edits = []
    for cpath, _, sc in _containers(spec, path):
        adds = _mapping(sc, "capabilities").get("add")
        if sc.get("allowPrivilegeEscalation") is False or sc.get("privileged") is True or (
                isinstance(adds, list) and any(a in SYS_ADMIN for a in adds)):
            continue  # already false, or a combination the API server rejects: a decision
        edits.append(Edit(cpath + ("securityContext",), "allowPrivilegeEscalation", False,
                          sc.get("allowPrivilegeEscalation")))
    return edits


def _drop_adds(cpath: tuple, sc: dict, keep: frozenset) -> list[Edit]:
    adds = _mapping(sc, "capabilities").get("add")
    if not isinstance(adds, list) or all(a in keep for a in adds):
        return []
    kept = [a for a in adds if a in keep]
    return [Edit(cpath + ("securityContext", "capabilities"), "add", kept or DELETE, list(adds))]


def _capabilities_restricted(spec: dict, path: tuple, allow: frozenset, level: Level) -> list[Edit]:
    edits = []
    for cpath, _, sc in _containers(spec, path):
        drop = _mapping(sc, "capabilities").get("drop")
        where = cpath + ("securityContext", "capabilities")
        if isinstance(drop, list):
            if "ALL" not in drop:
                edits.append(Edit(where, "drop", "ALL", list(drop), append=True))
        elif drop is None:
            edits.append(Edit(where, "drop", ["ALL"], None))
        if "capabilities" in allow:
            edits += _drop_adds(cpath, sc, RESTRICTED_CAPABILITIES)
    return edits


def _capabilities_baseline(spec: dict, path: tuple, allow: frozenset, level: Level) -> list[Edit]:
    if "capabilities" not in allow:
        return []
    return [e for cpath, _, sc in _containers(spec, path) for e in _drop_adds(cpath, sc, BASELINE_CAPABILITIES)]


def _run_as_non_root(spec: dict, path: tuple, allow: frozenset, level: Level) -> list[Edit]:
    pod_sc = _mapping(spec, "securityContext")
    edits = []
    if pod_sc.get("runAsNonRoot") is not True and (pod_sc.get("runAsNonRoot") is not False or "runAsNonRoot" in allow):
        edits.append(Edit(path + ("securityContext",), "runAsNonRoot", True, pod_sc.get("runAsNonRoot")))
    if "runAsNonRoot" in allow:
        edits += [Edit(cpath + ("securityContext",), "runAsNonRoot", True, False)
                  for cpath, _, sc in _containers(spec, path) if sc.get("runAsNonRoot") is False]
    return edits


def _weak_profile(sc: dict) -> bool:
    profile = sc.get("seccompProfile")
    return isinstance(profile, dict) and profile.get("type") not in (RUNTIME_DEFAULT, "Localhost")


def _seccomp(spec: dict, path: tuple, allow: frozenset, level: Level) -> list[Edit]:
    pod_sc = _mapping(spec, "securityContext")
    edits = []
    if level is Level.RESTRICTED and pod_sc.get("seccompProfile") is None:
        edits.append(Edit(path + ("securityContext",), "seccompProfile", {"type": RUNTIME_DEFAULT}, None))
    if "seccomp" in allow:
        if _weak_profile(pod_sc):
            edits.append(Edit(path + ("securityContext", "seccompProfile"), "type", RUNTIME_DEFAULT,
                              pod_sc["seccompProfile"].get("type")))
        edits += [Edit(cpath + ("securityContext", "seccompProfile"), "type", RUNTIME_DEFAULT,
                       sc["seccompProfile"].get("type"))
                  for cpath, _, sc in _containers(spec, path) if _weak_profile(sc)]
    return edits


def _host_namespaces(spec: dict, path: tuple, allow: frozenset, level: Level) -> list[Edit]:
    if "hostNamespaces" not in allow:
        return []
    return [Edit(path, key, False, True) for key in ("hostNetwork", "hostPID", "hostIPC") if spec.get(key) is True]


def _privileged(spec: dict, path: tuple, allow: frozenset, level: Level) -> list[Edit]:
    if "privileged" not in allow:
        return []
    return [Edit(cpath + ("securityContext",), "privileged", False, True)
            for cpath, _, sc in _containers(spec, path) if sc.get("privileged") is True]


def _host_ports(spec: dict, path: tuple, allow: frozenset, level: Level) -> list[Edit]:
    if "hostPorts" not in allow:
        return []
    edits = []
    for cpath, container, _ in _containers(spec, path):
        ports = container.get("ports")
        for j, port in enumerate(ports if isinstance(ports, list) else ()):
            if isinstance(port, dict) and port.get("hostPort") not in (None, 0):
                edits.append(Edit(cpath + ("ports", j), "hostPort", DELETE, port["hostPort"]))
    return edits


LINUX_ONLY = {"allowPrivilegeEscalation", "capabilities_restricted", "seccompProfile_restricted",
              "seccompProfile_baseline", "capabilities_baseline", "privileged"}
FIXERS: dict[str, Fixer] = {
    "hostNamespaces": _host_namespaces,
    "privileged": _privileged,
    "hostPorts": _host_ports,
    "capabilities_baseline": _capabilities_baseline,
    "capabilities_restricted": _capabilities_restricted,
    "allowPrivilegeEscalation": _allow_privilege_escalation,
    "runAsNonRoot": _run_as_non_root,
    "seccompProfile_baseline": _seccomp,
    "seccompProfile_restricted": _seccomp,
}


def _verdict(obj: dict, level: Level, version: Version):
    return evaluate(apply_manifest_defaults(obj), level, version)


def plan_fix(obj: dict, level: Level, version: Version, allow: frozenset[str] = frozenset()) -> FixPlan:
    """The safe edits (and the allowed ones) that bring ``obj`` to ``level``; what still fails needs a
    decision. ``obj`` is read as kubectl reads it and is not changed. Raises KeyError for a kind
    PSA does not read and InvalidObjectError for a malformed object."""
    before = grade(apply_manifest_defaults(obj), version).level.value
    working = copy.deepcopy(obj)
    path = _spec_path(working)
    edits: list[Edit] = []
    result = _verdict(working, level, version)
    for _ in range(4):  # a fix can uncover the next (privileged allowed -> allowPrivilegeEscalation)
        if path is None or result.allowed:
            break
        added = []
        for check in dict.fromkeys(v.check for v in result.violations):
            fixer = FIXERS.get(check)
            spec = _get(working, path)
            if fixer is None or (check in LINUX_ONLY and _is_windows(spec)):
                continue
            new = [e for e in fixer(spec, path, allow, level) if e not in edits and e not in added]
            apply_edits(working, new)
            added += new
        if not added:
            break
        edits += added
        result = _verdict(working, level, version)
    after = grade(apply_manifest_defaults(working), version).level.value
    decisions = [{**v.as_dict(), "hint": HINTS.get(v.check, "change by hand")} for v in result.violations]
    return FixPlan(edits, before, after, result.allowed, decisions)
