"""Edits by path, applied to a mapping tree with new keys in Kubernetes API field order."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

DELETE = object()  # an Edit value: remove the key

# Field order of the Kubernetes API types (k8s.io/api/core/v1 types.go) for the mappings fix writes into.
POD_SPEC_ORDER = (
    "volumes", "initContainers", "containers", "ephemeralContainers", "restartPolicy", "terminationGracePeriodSeconds",
    "activeDeadlineSeconds", "dnsPolicy", "nodeSelector", "serviceAccountName", "serviceAccount",
    "automountServiceAccountToken", "nodeName", "hostNetwork", "hostPID", "hostIPC", "shareProcessNamespace",
    "securityContext", "imagePullSecrets", "hostname", "subdomain", "affinity", "schedulerName", "tolerations",
    "hostAliases", "priorityClassName", "priority", "dnsConfig", "readinessGates", "runtimeClassName",
    "enableServiceLinks", "preemptionPolicy", "overhead", "topologySpreadConstraints", "setHostnameAsFQDN", "os",
    "hostUsers", "schedulingGates", "resourceClaims", "resources",
)
CONTAINER_ORDER = (
    "name", "image", "command", "args", "workingDir", "ports", "envFrom", "env", "resources", "resizePolicy",
    "restartPolicy", "volumeMounts", "volumeDevices", "livenessProbe", "readinessProbe", "startupProbe", "lifecycle",
    "terminationMessagePath", "terminationMessagePolicy", "imagePullPolicy", "securityContext", "stdin", "stdinOnce",
    "tty", "targetContainerName",
)
POD_SECURITY_CONTEXT_ORDER = (
    "seLinuxOptions", "windowsOptions", "runAsUser", "runAsGroup", "runAsNonRoot", "supplementalGroups",
    "supplementalGroupsPolicy", "fsGroup", "sysctls", "fsGroupChangePolicy", "seccompProfile", "appArmorProfile",
    "seLinuxChangePolicy",
)
SECURITY_CONTEXT_ORDER = (
    "capabilities", "privileged", "seLinuxOptions", "windowsOptions", "runAsUser", "runAsGroup", "runAsNonRoot",
    "readOnlyRootFilesystem", "allowPrivilegeEscalation", "procMount", "seccompProfile", "appArmorProfile",
)
CAPABILITIES_ORDER = ("add", "drop")
SECCOMP_ORDER = ("type", "localhostProfile")
CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")


@dataclass(frozen=True)
class Edit:
    """Set ``key`` of the mapping at ``path`` (from the object's root) to ``value`` (DELETE: remove it);
    ``append``: add ``value`` to the list at ``key``. ``old`` is the value before (None: unset)."""

    path: tuple[str | int, ...]
    key: str
    value: Any
    old: Any = None
    append: bool = False

    def change(self) -> dict[str, Any]:
        to = None if self.value is DELETE else (list(self.old or []) + [self.value] if self.append else self.value)
        return {"path": path_text(self.path + (self.key,)), "from": self.old, "to": to}


def path_text(path: tuple[str | int, ...]) -> str:
    """``spec.containers[0].securityContext``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def field_order(path: tuple[str | int, ...]) -> tuple[str, ...]:
    """The API field order of the mapping at ``path`` (empty: unknown, new keys go last)."""
    if not path:
        return ()
    last = path[-1]
    if isinstance(last, int):
        return CONTAINER_ORDER if len(path) > 1 and path[-2] in CONTAINER_LISTS else ()
    if last == "spec":
        return POD_SPEC_ORDER
    if last == "securityContext":
        return SECURITY_CONTEXT_ORDER if len(path) > 1 and isinstance(path[-2], int) else POD_SECURITY_CONTEXT_ORDER
    if last == "capabilities":
        return CAPABILITIES_ORDER
    if last == "seccompProfile":
        return SECCOMP_ORDER
    return ()


def insert_position(keys: list[Any], key: str, order: tuple[str, ...]) -> int:
    """Where a person would put ``key``: after the last key that comes before it in ``order``, else
    before the first that comes after it, else at the end."""
    if key not in order:
        return len(keys)
    rank = order.index(key)
    before = [i for i, k in enumerate(keys) if k in order and order.index(k) < rank]
    if before:
        return before[-1] + 1
    after = [i for i, k in enumerate(keys) if k in order and order.index(k) > rank]
    return after[0] if after else len(keys)


def _put(mapping: Any, key: str, value: Any, order: tuple[str, ...]) -> None:
    if key in mapping:
        mapping[key] = value
        return
    position = insert_position(list(mapping), key, order)
    if hasattr(mapping, "insert"):  # ruamel's CommentedMap keeps comments around the new key
        mapping.insert(position, key, value)
        return
    items = list(mapping.items())
    items.insert(position, (key, value))
    mapping.clear()
    mapping.update(items)


def _convert(value: Any, new_map: Callable[[], Any], new_seq: Callable[[], Any]) -> Any:
    if isinstance(value, dict):
        out = new_map()
        for k, v in value.items():
            out[k] = _convert(v, new_map, new_seq)
        return out
    if isinstance(value, list):
        seq = new_seq()
        seq.extend(_convert(v, new_map, new_seq) for v in value)
        return seq
    return value


def apply_edits(root: Any, edits: list[Edit], new_map: Callable[[], Any] = dict,
                new_seq: Callable[[], Any] = list) -> None:
    """Apply ``edits`` to ``root`` in place; missing mappings on a path are made (``new_map``)."""
    for edit in edits:
        node = root
        for depth, part in enumerate(edit.path):
            if isinstance(part, int):
                node = node[part]
                continue
            child = node.get(part)
            if child is None:
                child = new_map()
                _put(node, part, child, field_order(edit.path[:depth]))
            node = child
        if edit.value is DELETE:
            node.pop(edit.key, None)
        elif edit.append:
            if node.get(edit.key) is None:
                _put(node, edit.key, _convert([edit.value], new_map, new_seq), field_order(edit.path))
            else:
                node[edit.key].append(edit.value)
        else:
            _put(node, edit.key, _convert(edit.value, new_map, new_seq), field_order(edit.path))
