"""Where in an object a violation is written: the path of the offending field, for SARIF and CI annotations.

The check's detail names the containers or volumes it blames (``container "app" must ...``); the field is
the first of the check's fields present in them (then at pod level). A field that must be set but is
missing has no place of its own: None (the caller shows the object's ``kind:`` line).
"""
from __future__ import annotations

import re
from typing import Any

from ..policy.objects import TEMPLATE_PATHS

CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")
SC = "securityContext"
# check id -> (fields in a container, fields in the pod spec), each a path; the first present one is shown
FIELDS: dict[str, tuple[tuple[tuple[str, ...], ...], tuple[tuple[str, ...], ...]]] = {
    "privileged": (((SC, "privileged"),), ()),
    "allowPrivilegeEscalation": (((SC, "allowPrivilegeEscalation"),), ()),
    "capabilities_baseline": (((SC, "capabilities", "add"),), ()),
    "capabilities_restricted": (((SC, "capabilities", "add"), (SC, "capabilities", "drop"), (SC, "capabilities")), ()),
    "runAsNonRoot": (((SC, "runAsNonRoot"),), ((SC, "runAsNonRoot"),)),
    "runAsUser": (((SC, "runAsUser"),), ((SC, "runAsUser"),)),
    "seccompProfile_baseline": (((SC, "seccompProfile"),), ((SC, "seccompProfile"),)),
    "seccompProfile_restricted": (((SC, "seccompProfile"),), ((SC, "seccompProfile"),)),
    "seLinuxOptions": (((SC, "seLinuxOptions"),), ((SC, "seLinuxOptions"),)),
    "procMount": (((SC, "procMount"),), ()),
    "procMount_restricted": (((SC, "procMount"),), ()),
    "appArmorProfile": (((SC, "appArmorProfile"),), ((SC, "appArmorProfile"),)),
    "windowsHostProcess": (((SC, "windowsOptions", "hostProcess"),), ((SC, "windowsOptions", "hostProcess"),)),
    "hostPorts": ((("ports",),), ()),
    "hostProbesAndHostLifecycle": ((("livenessProbe",), ("readinessProbe",), ("startupProbe",), ("lifecycle",)), ()),
    "hostNamespaces": ((), (("hostNetwork",), ("hostPID",), ("hostIPC",))),
    "sysctls": ((), ((SC, "sysctls"),)),
    "hostPathVolumes": ((), ()),
    "restrictedVolumes": ((), ()),
}
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')


def _get(node: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        if isinstance(node, dict):
            node = node.get(key)
        elif isinstance(node, list) and isinstance(key, int) and key < len(node):
            node = node[key]
        else:
            return None
    return node


def template_path(obj: dict) -> tuple[str, ...] | None:
    """Where the pod (template) sits in the object: ``()`` for a Pod; None for another kind."""
    if obj.get("kind") not in TEMPLATE_PATHS:
        return None
    return TEMPLATE_PATHS[obj["kind"]] or ()


def field_path(obj: dict, check: str, detail: str) -> tuple[Any, ...] | None:
    """The path (from the object's root) of the field that makes ``check`` fail; None when not in the object."""
    base = template_path(obj)
    if base is None:
        return None
    spec_path = base + ("spec",)
    spec = _get(obj, spec_path)
    if not isinstance(spec, dict):
        return None
    names = set(_QUOTED.findall(detail))
    if check in ("hostPathVolumes", "restrictedVolumes"):
        for i, volume in enumerate(spec.get("volumes") or ()):
            if isinstance(volume, dict) and volume.get("name") in names:
                return spec_path + ("volumes", i)
        return None
    if check == "appArmorProfile":
        for key in (_get(obj, base + ("metadata", "annotations")) or {}):
            if key.startswith("container.apparmor.security.beta.kubernetes.io/") and key in detail:
                return base + ("metadata", "annotations", key)
    in_container, in_pod = FIELDS.get(check, ((), ()))
    if check == "capabilities_restricted" and "capabilities.drop" in detail:  # a drop that is missing or short
        in_container = ((SC, "capabilities", "drop"), (SC, "capabilities"))
    for list_name in CONTAINER_LISTS:
        for i, container in enumerate(spec.get(list_name) or ()):
            if not isinstance(container, dict) or container.get("name") not in names:
                continue
            here = spec_path + (list_name, i)
            for path in in_container:
                if _get(container, path) is not None:
                    return here + path
    for path in in_pod:
        value = _get(spec, path)
        if value is not None and (value is not False or check != "hostNamespaces"):
            return spec_path + path
    return None
