"""Kubernetes objects as PSA reads them: which kinds carry a pod template, and where."""
from __future__ import annotations

from typing import Any, Iterator

# kind -> path to the pod template (None: the object is the pod itself).
TEMPLATE_PATHS: dict[str, tuple[str, ...] | None] = {
    "Pod": None,
    "PodTemplate": ("template",),
    "ReplicationController": ("spec", "template"),
    "ReplicaSet": ("spec", "template"),
    "Deployment": ("spec", "template"),
    "StatefulSet": ("spec", "template"),
    "DaemonSet": ("spec", "template"),
    "Job": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
}
WORKLOAD_KINDS = tuple(kind for kind, path in TEMPLATE_PATHS.items() if path is not None)


class InvalidObjectError(ValueError):
    """An object PSA could not read as a pod (metadata or spec of the wrong shape)."""


def is_evaluated_kind(obj: Any) -> bool:
    return isinstance(obj, dict) and obj.get("kind") in TEMPLATE_PATHS


def pod_template(obj: dict) -> tuple[dict, dict] | None:
    """(metadata, spec) of the pod or pod template an object carries; None when it has no template.

    Raises KeyError for a kind PSA does not evaluate and InvalidObjectError for a bad shape.
    """
    path = TEMPLATE_PATHS[obj.get("kind")]  # KeyError: not a kind PSA reads
    node: Any = obj
    if path is not None:
        for key in path:
            if node is None:
                return None
            if not isinstance(node, dict):
                raise InvalidObjectError(f"{'.'.join(path)} is not an object")
            node = node.get(key)
        if node is None:
            return None
        if not isinstance(node, dict):
            raise InvalidObjectError(f"{'.'.join(path)} is not an object")
    metadata = node.get("metadata")
    spec = node.get("spec")
    if metadata is not None and not isinstance(metadata, dict):
        raise InvalidObjectError("metadata is not an object")
    if spec is not None and not isinstance(spec, dict):
        raise InvalidObjectError("spec is not an object")
    return metadata or {}, spec or {}


def iter_items(doc: Any) -> Iterator[Any]:
    """The objects of a document: a ``List``/``*List`` is flattened (recursively), anything else is itself."""
    if isinstance(doc, dict):
        kind = doc.get("kind")
        items = doc.get("items")
        if isinstance(kind, str) and kind.endswith("List") and (isinstance(items, list) or items is None):
            for item in items or ():
                yield from iter_items(item)
            return
    yield doc


def object_ref(obj: dict) -> tuple[str, str | None, str | None]:
    """(kind, namespace, name) of an object, for reports."""
    metadata = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    name = metadata.get("name")
    if name is None and metadata.get("generateName"):
        name = f"{metadata['generateName']}*"
    namespace = metadata.get("namespace")
    return (
        str(obj.get("kind")),
        None if namespace is None else str(namespace),
        None if name is None else str(name),
    )
