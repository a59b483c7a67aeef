"""The Kubernetes API types of the fields Pod Security reads, checked before an object gets a verdict.

The API server refuses an object whose fields have the wrong JSON type (``privileged: "true"``,
``containers: "x"``), so such an object has no verdict: it is an error. Only the fields the checks
and the manifest defaulting read are checked (see checks/, helpers.PodView, defaulting.py), with
the types of core/v1: bool, int32/int64, string, objects and lists.

null is an unset field (Go decodes it so), except as an item of a list of objects: ``containers:
[null]`` decodes to an empty container the API server then rejects. An integer may come as an
integral JSON number (``1000.0``): kubectl sends a manifest's numbers on as Go's json.Marshal
writes them, i.e. ``1000``.
"""
from __future__ import annotations

from typing import Any, Callable

from .defaulting import VOLUME_SOURCES
from .objects import TEMPLATE_PATHS

BOOL = "boolean"
STRING = "string"
INT32 = "int32"
INT64 = "int64"
OBJECT: dict[str, Any] = {}  # an object whose content is not read


class ListOf:
    __slots__ = ("item",)

    def __init__(self, item: Any) -> None:
        self.item = item


class MapOf:
    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


_SCALAR_TYPES = {STRING: str, BOOL: bool}
_RANGES = {INT32: (-(1 << 31), (1 << 31) - 1), INT64: (-(1 << 63), (1 << 63) - 1)}

_SE_LINUX = {"user": STRING, "role": STRING, "type": STRING, "level": STRING}
_PROFILE = {"type": STRING, "localhostProfile": STRING}  # seccompProfile and appArmorProfile
_WINDOWS = {"hostProcess": BOOL}
_COMMON_SC = {"runAsNonRoot": BOOL, "runAsUser": INT64, "seLinuxOptions": _SE_LINUX, "seccompProfile": _PROFILE,
              "appArmorProfile": _PROFILE, "windowsOptions": _WINDOWS}
_POD_SC = {**_COMMON_SC, "sysctls": ListOf({"name": STRING, "value": STRING})}
_CONTAINER_SC = {**_COMMON_SC, "privileged": BOOL, "allowPrivilegeEscalation": BOOL, "procMount": STRING,
                 "capabilities": {"add": ListOf(STRING), "drop": ListOf(STRING)}}
_HANDLER = {"httpGet": {"host": STRING}, "tcpSocket": {"host": STRING}}
_CONTAINER = {"name": STRING, "securityContext": _CONTAINER_SC,
              "ports": ListOf({"hostPort": INT32, "containerPort": INT32}),
              "livenessProbe": _HANDLER, "readinessProbe": _HANDLER, "startupProbe": _HANDLER,
              "lifecycle": {"postStart": _HANDLER, "preStop": _HANDLER}}
_VOLUME = {"name": STRING, **{source: OBJECT for source in sorted(VOLUME_SOURCES)}}
POD_SPEC = {"securityContext": _POD_SC, "hostNetwork": BOOL, "hostPID": BOOL, "hostIPC": BOOL, "hostUsers": BOOL,
            "os": {"name": STRING}, "runtimeClassName": STRING, "initContainers": ListOf(_CONTAINER),
            "containers": ListOf(_CONTAINER), "ephemeralContainers": ListOf(_CONTAINER), "volumes": ListOf(_VOLUME)}
_METADATA = {"name": STRING, "namespace": STRING, "generateName": STRING, "annotations": MapOf(STRING)}
_TEMPLATE = {"metadata": _METADATA, "spec": POD_SPEC}


def _nest(path: tuple[str, ...]) -> dict:
    """The schema of an object holding a pod template at ``path`` (its own metadata too)."""
    schema: dict = _TEMPLATE
    for key in reversed(path):
        schema = {key: schema}
    return {"metadata": _METADATA, **schema}


SCHEMAS: dict[str, dict] = {kind: _TEMPLATE if path is None else _nest(path) for kind, path in TEMPLATE_PATHS.items()}


def json_type(value: Any) -> str:
    """The JSON type name of a decoded value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _scalar_error(value: Any, want: str) -> str | None:
    kind = type(value)
    if want is STRING:
        return None if kind is str else f"expected string, got {json_type(value)}"
    if want is BOOL:
        return None if kind is bool else f"expected boolean, got {json_type(value)}"
    if kind is float and value.is_integer():
        value = int(value)
    elif kind is not int:
        return f"expected integer, got {json_type(value)}" if kind is not float else f"expected integer, got {value!r}"
    low, high = _RANGES[want]
    return None if low <= value <= high else f"{value} is out of the {want} range"


def _walk(value: Any, schema: Any, path: str, errors: list[str]) -> None:
    if value is None:
        return
    if type(schema) is str:
        problem = _scalar_error(value, schema)
        if problem is not None:
            errors.append(f"{path}: {problem}")
    elif type(schema) is dict:
        if type(value) is not dict:
            errors.append(f"{path}: expected object, got {json_type(value)}")
            return
        for key, sub in schema.items():
            item = value.get(key)
            if item is not None:
                _walk(item, sub, f"{path}.{key}" if path else key, errors)
    elif type(schema) is ListOf:
        if type(value) is not list:
            errors.append(f"{path}: expected array, got {json_type(value)}")
            return
        item_schema = schema.item
        for i, item in enumerate(value):
            if item is None and type(item_schema) is not str:
                errors.append(f"{path}[{i}]: expected object, got null")
            else:
                _walk(item, item_schema, f"{path}[{i}]", errors)
    else:  # MapOf
        if type(value) is not dict:
            errors.append(f"{path}: expected object, got {json_type(value)}")
            return
        for key, item in value.items():
            if item is not None:
                _walk(item, schema.value, f"{path}[{key}]", errors)


def _compile(schema: Any) -> Callable[[Any], bool]:
    """A fast check of a non-null value against ``schema``, without paths (True: nothing wrong)."""
    if type(schema) is str:
        want = _SCALAR_TYPES.get(schema)
        if want is not None:
            return lambda value: type(value) is want
        return lambda value: _scalar_error(value, schema) is None
    if type(schema) is ListOf:
        item = _compile(schema.item)
        if type(schema.item) is str:
            return lambda value: type(value) is list and all(x is None or item(x) for x in value)
        return lambda value: type(value) is list and all(x is not None and item(x) for x in value)
    if type(schema) is MapOf:
        item = _compile(schema.value)
        return lambda value: type(value) is dict and all(x is None or item(x) for x in value.values())
    table = {key: (_SCALAR_TYPES[sub], None) if type(sub) is str and sub in _SCALAR_TYPES else (None, _compile(sub))
             for key, sub in schema.items()}
    entries = tuple((key, want, sub) for key, (want, sub) in table.items())
    size = len(table)

    def check(value: Any) -> bool:
        if type(value) is not dict:
            return False
        # Walk the smaller side: a volume names one of ~30 sources, a raw container has many unread fields.
        if len(value) < size:
            for key, x in value.items():
                entry = table.get(key)
                if entry is not None and x is not None:
                    want = entry[0]
                    if (type(x) is not want) if want is not None else not entry[1](x):
                        return False
            return True
        get = value.get
        for key, want, sub in entries:
            x = get(key)
            if x is not None and ((type(x) is not want) if want is not None else not sub(x)):
                return False
        return True

    return check


_CHECKS = {kind: _compile(schema) for kind, schema in SCHEMAS.items()}
_METADATA_CHECK = _compile(_METADATA)


def identity_clean(obj: dict) -> bool:
    """True when the metadata of ``obj`` and of the pod template it holds have the right types: with its
    template's annotations and spec known to be right, ``type_errors(obj)`` is then empty (see SCHEMAS)."""
    path = TEMPLATE_PATHS.get(obj.get("kind"), ())
    node: Any = obj
    for key in (path or ()):
        node = node.get(key) if type(node) is dict else None
    if type(node) is not dict:
        return False
    return all(meta is None or _METADATA_CHECK(meta) for meta in (obj.get("metadata"), node.get("metadata")))


def type_errors(obj: dict) -> list[str]:
    """``path: expected X, got Y`` for each field PSA reads of a pod or workload that has the wrong type."""
    schema = SCHEMAS.get(obj.get("kind"))
    if schema is None or _CHECKS[obj["kind"]](obj):
        return []
    errors: list[str] = []
    _walk(obj, schema, "", errors)
    return errors


def describe(errors: list[str]) -> str:
    """One line for an object's type errors."""
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return errors[0] + more


__all__ = ["SCHEMAS", "describe", "identity_clean", "json_type", "type_errors"]
