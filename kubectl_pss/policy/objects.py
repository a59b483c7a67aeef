"""Kubernetes objects as PSA reads them: which kinds carry a pod template, and where."""
from __future__ import annotations

from typing import Any, Callable, Iterator

from .annotations import confinement_annotations

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
    for _, item in iter_item_paths(doc):
        yield item


def iter_item_paths(doc: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """``iter_items`` with each object's path in the document (``("items", 2)``; ``()`` for the document)."""
    if isinstance(doc, dict):
        kind = doc.get("kind")
        items = doc.get("items")
        if isinstance(kind, str) and kind.endswith("List") and (isinstance(items, list) or items is None):
            for i, item in enumerate(items or ()):
                yield from iter_item_paths(item, path + ("items", i))
            return
    yield path, doc


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


def pick(obj: dict, keys: Any) -> dict:
    """The entries of ``obj`` under ``keys`` that it has (a cut-down copy for a view of an object)."""
    return {key: obj[key] for key in keys if key in obj}


_KEPT_METADATA = ("name", "namespace", "uid", "generateName", "labels", "ownerReferences")


def _admission_metadata(metadata: Any) -> dict:
    if not isinstance(metadata, dict):
        return {}
    kept = pick(metadata, _KEPT_METADATA)
    read = confinement_annotations(metadata.get("annotations"))  # the only ones some check reads
    if read:
        kept["annotations"] = read
    return kept


# What the checks read of a pod spec and of a container (see checks/); the rest is dropped.
_READ_SPEC_FIELDS = ("securityContext", "hostNetwork", "hostPID", "hostIPC", "hostUsers", "os", "runtimeClassName")
_READ_CONTAINER_FIELDS = ("name", "securityContext", "livenessProbe", "readinessProbe", "startupProbe", "lifecycle")
_CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")


def _admission_container(container: Any) -> Any:
    if not isinstance(container, dict):
        return container
    kept = pick(container, _READ_CONTAINER_FIELDS)
    ports = container.get("ports")
    if isinstance(ports, list):
        kept["ports"] = [{"hostPort": p.get("hostPort")} if isinstance(p, dict) else p for p in ports]
    elif ports:
        kept["ports"] = ports  # malformed: let evaluation report it
    return kept


def _admission_volume(volume: Any) -> Any:
    # The volume checks only ask which source is set, never what it holds.
    if not isinstance(volume, dict):
        return volume
    return {key: (value if key == "name" or not isinstance(value, dict) else {}) for key, value in volume.items()}


def _admission_spec(spec: Any) -> Any:
    if not isinstance(spec, dict):
        return spec
    kept = pick(spec, _READ_SPEC_FIELDS)
    for key in _CONTAINER_LISTS:
        listed = spec.get(key)
        if isinstance(listed, list):
            kept[key] = [_admission_container(c) for c in listed]
        elif listed is not None:
            kept[key] = listed
    volumes = spec.get("volumes")
    if isinstance(volumes, list):
        kept["volumes"] = [_admission_volume(v) for v in volumes]
    elif volumes is not None:
        kept["volumes"] = volumes
    return kept


def project(obj: dict, metadata: Callable[[Any], dict], spec: Callable[[Any], Any],
            status: Callable[[Any], Any] | None = None) -> dict:
    """A copy of a pod or workload reduced by the given functions: ``metadata`` for the object's and
    its pod template's metadata, ``spec`` for the pod spec, ``status`` (pods only) when given.

    The path to a workload's pod template is kept; other kinds are returned as they are.
    """
    kind = obj.get("kind")
    if kind not in TEMPLATE_PATHS:
        return obj
    view: dict[str, Any] = {"apiVersion": obj.get("apiVersion"), "kind": kind, "metadata": metadata(obj.get("metadata"))}
    path = TEMPLATE_PATHS[kind]
    if path is None:
        view["spec"] = spec(obj.get("spec"))
        if status is not None:
            view["status"] = status(obj.get("status"))
        return view
    source: Any = obj
    target = view
    for key in path[:-1]:
        source = source.get(key) if isinstance(source, dict) else None
        if source is None:
            return view
        target = target.setdefault(key, {})
    template = source.get(path[-1]) if isinstance(source, dict) else None
    if isinstance(template, dict):
        target[path[-1]] = {"metadata": metadata(template.get("metadata")), "spec": spec(template.get("spec"))}
    elif template is not None:
        target[path[-1]] = template  # malformed: let evaluation report it
    return view


def admission_view(obj: dict) -> dict:
    """A small copy of an object with only what admission and owner grouping read.

    Pods and templates keep the spec fields the checks read (security contexts, host
    namespaces, ports' hostPort, probe and lifecycle handlers, which volume sources are set);
    status, managed fields, env, resources, unrelated annotations (last-applied-configuration...)
    are dropped, which keeps a large cluster's inventory small in memory. Evaluating the view
    gives exactly the verdicts of the full object. Other kinds are returned as is.
    """
    return project(obj, _admission_metadata, _admission_spec)
