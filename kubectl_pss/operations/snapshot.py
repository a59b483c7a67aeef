"""Cluster snapshots: what `kubectl get ... -A -o json` dumps, read as a cluster for audit and simulate.

A snapshot is a file (or ``-``, or a directory of files) holding ``List``s and/or objects in
YAML or JSON streams. Namespaces, pods and the workload kinds PSA reads are kept; anything
else is counted and ignored. A ``/version``-shaped object (``gitVersion``, ``major``,
``minor``) gives the server version.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ..manifests import load_documents
from ..policy.objects import TEMPLATE_PATHS, iter_items

SNAPSHOT_KINDS = ("Namespace",) + tuple(TEMPLATE_PATHS)


class SnapshotError(ValueError):
    """A snapshot that cannot stand for a cluster (one line, names the source)."""


@dataclass
class Snapshot:
    namespaces: dict[str, dict] = field(default_factory=dict)
    objects: dict[str, list[dict]] = field(default_factory=dict)
    server_version: dict[str, Any] | None = None
    ignored: Counter = field(default_factory=Counter)


def _is_version(obj: dict) -> bool:
    return obj.get("kind") in (None, "Version") and "gitVersion" in obj and "minor" in obj


def read_snapshot(paths: list[str]) -> Snapshot:
    """Read a snapshot; raises SnapshotError for unreadable input or a dump that is no cluster."""
    documents, errors = load_documents(paths)
    if errors:
        raise SnapshotError(str(errors[0]))
    snapshot = Snapshot(objects={kind: [] for kind in TEMPLATE_PATHS})
    for doc in documents:
        for obj in iter_items(doc.data):
            if not isinstance(obj, dict):
                raise SnapshotError(f"{doc.source} (document {doc.index}): an item is not an object")
            if _is_version(obj):
                snapshot.server_version = obj
                continue
            kind = obj.get("kind")
            if kind not in SNAPSHOT_KINDS:
                snapshot.ignored[str(kind)] += 1
                continue
            metadata = obj.get("metadata")
            if not isinstance(metadata, dict) or not metadata.get("name"):
                raise SnapshotError(f"{doc.source} (document {doc.index}): a {kind} has no metadata.name")
            for key in ("name", "namespace", "uid"):
                if not isinstance(metadata.get(key) or "", str):
                    raise SnapshotError(f"{doc.source} (document {doc.index}): a {kind}'s metadata.{key} is not a string")
            owners = metadata.get("ownerReferences") or []
            if not isinstance(owners, list) or not all(
                    isinstance(ref, dict) and all(isinstance(ref.get(key) or "", str) for key in ("kind", "name", "uid"))
                    for ref in owners):
                raise SnapshotError(f"{doc.source} (document {doc.index}): {kind} {metadata['name']}: "
                                    "metadata.ownerReferences is not a list of owner references (kind, name, uid: strings)")
            if kind == "Namespace":
                snapshot.namespaces[str(metadata["name"])] = obj
            else:
                if not metadata.get("namespace"):
                    raise SnapshotError(
                        f"{doc.source} (document {doc.index}): {kind} {metadata['name']} has no metadata.namespace")
                snapshot.objects[kind].append(obj)
    if not snapshot.namespaces:
        raise SnapshotError(f"{', '.join(paths)}: no Namespace objects: not a cluster snapshot "
                            "(dump with kubectl pss snapshot, or kubectl get namespaces,pods,... -A -o json)")
    return snapshot


def dump_cluster(cluster: Any, namespaces: list[str] | None) -> tuple[dict[str, Any], list[Any]]:
    """A snapshot of the cluster (a ``List``: its version, namespaces, pods and workloads) and what could
    not be read (InventoryErrors)."""
    from ..cluster.inventory import fetch_inventory
    from .progress import progress_printer

    progress = progress_printer()
    try:
        inventory = fetch_inventory(cluster, namespaces, progress=progress)
    finally:
        if progress is not None:
            progress("")
    items: list[Any] = []
    if inventory.server_version:
        items.append(inventory.server_version)
    items.extend(inventory.namespaces[name] for name in sorted(inventory.namespaces))
    for kind in sorted(inventory.objects):
        items.extend(inventory.objects[kind])
    return {"apiVersion": "v1", "kind": "List", "metadata": {}, "items": items}, inventory.errors
