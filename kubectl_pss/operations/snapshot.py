"""Cluster snapshots: what `kubectl get ... -A -o json` dumps, read as a cluster for audit and simulate.

A snapshot is a file (or ``-``, or a directory of files) holding ``List``s and/or objects in
YAML or JSON streams. Namespaces, pods and the workload kinds PSA reads are kept; anything
else is counted and ignored. The server version travels in a ``kubectl-pss/v1`` ``ClusterInfo`` item
(``serverVersion``: the /version answer), as ``kubectl pss snapshot`` writes it; older snapshots held the
bare ``/version`` object (``gitVersion``, ``major``, ``minor``, no kind), still read.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ..manifests import load_documents
from ..policy.objects import TEMPLATE_PATHS, iter_items
from ..report.envelope import API_VERSION

SNAPSHOT_KINDS = ("Namespace",) + tuple(TEMPLATE_PATHS)


class SnapshotError(ValueError):
    """A snapshot that cannot stand for a cluster (one line, names the source)."""


@dataclass
class Snapshot:
    namespaces: dict[str, dict] = field(default_factory=dict)
    objects: dict[str, list[dict]] = field(default_factory=dict)
    server_version: dict[str, Any] | None = None
    ignored: Counter = field(default_factory=Counter)


CLUSTER_INFO = "ClusterInfo"


def cluster_info(server_version: dict[str, Any]) -> dict[str, Any]:
    """The snapshot's item that carries the server's /version answer."""
    return {"apiVersion": API_VERSION, "kind": CLUSTER_INFO, "metadata": {"name": "cluster"},
            "serverVersion": server_version}


def is_cluster_info(obj: dict) -> bool:
    return obj.get("kind") == CLUSTER_INFO and obj.get("apiVersion") == API_VERSION


def _version_of(obj: dict) -> dict[str, Any] | None:
    """The /version answer an item carries: a ClusterInfo's, or an old snapshot's bare /version object."""
    if is_cluster_info(obj):
        version = obj.get("serverVersion")
        return version if isinstance(version, dict) else {}
    if obj.get("kind") in (None, "Version") and "gitVersion" in obj and "minor" in obj:
        return obj
    return None


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
            version = _version_of(obj)
            if version is not None:
                snapshot.server_version = version or None
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
    """A snapshot of the cluster (a ``v1`` ``List``: its ClusterInfo, namespaces, pods and workloads) and what could
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
        items.append(cluster_info(inventory.server_version))
    items.extend(inventory.namespaces[name] for name in sorted(inventory.namespaces))
    for kind in sorted(inventory.objects):
        items.extend(inventory.objects[kind])
    return {"apiVersion": "v1", "kind": "List", "metadata": {}, "items": items}, inventory.errors
