"""Cluster snapshots: what `kubectl get ... -A -o json` dumps, read as a cluster for audit and simulate.

A snapshot is a file (or ``-``, or a directory of files) holding ``List``s and/or objects in
YAML or JSON streams. Namespaces, pods and the workload kinds PSA reads are kept; anything
else is counted and ignored. The server version travels in a ``kubectl-pss/v1`` ``ClusterInfo`` item
(``serverVersion``: the /version answer), as ``kubectl pss snapshot`` writes it; older snapshots held the
bare ``/version`` object (``gitVersion``, ``major``, ``minor``, no kind), still read.

Completeness: the same ``ClusterInfo`` item records which lists were dumped (``lists``:
resource names) and what could not be read (``readErrors``: ``{"namespace" (null: cluster-wide),
"resource", "message", "status"}``); read back, they make namespaces incomplete as on a live cluster.
A dump without that item (``kubectl get ns,pods,... -A -o json``) counts as holding every
namespace's pods if it holds any Pod; one without Pod items holds no pod list (unread, never "no
pods"). A dump declares what it holds (e.g. an empty pod list) with that item: ``{"apiVersion":
"kubectl-pss/v1", "kind": "ClusterInfo", "lists": ["namespaces", "pods", "deployments", ...]}``;
each of ``inventory.RESOURCES`` it does not list is unread.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ..manifests import load_documents
from ..policy.objects import TEMPLATE_PATHS, iter_items
from ..report.envelope import API_VERSION
from ..scope import NamespaceScope

SNAPSHOT_KINDS = ("Namespace",) + tuple(TEMPLATE_PATHS)


class SnapshotError(ValueError):
    """A snapshot that cannot stand for a cluster (one line, names the source)."""


@dataclass
class Snapshot:
    namespaces: dict[str, dict] = field(default_factory=dict)
    objects: dict[str, list[dict]] = field(default_factory=dict)
    server_version: dict[str, Any] | None = None
    ignored: Counter = field(default_factory=Counter)
    lists: list[str] | None = None  # resources dumped, from the ClusterInfo item (None: no such item)
    read_errors: list[dict[str, Any]] = field(default_factory=list)
    scopes: list[dict[str, Any]] = field(default_factory=list)  # ClusterInfo's scope: the namespaces dumped

    def unread(self) -> list[dict[str, Any]]:
        """What the snapshot did not read, as ClusterState errors (``namespace`` None: cluster-wide)."""
        errors = [dict(e) for e in self.read_errors]
        if self.lists is None:
            lists = ["pods"] if self.objects.get("Pod") else []
            missing = {"pods": "no Pod objects and no kubectl-pss ClusterInfo item: the pods were not dumped"}
        else:
            lists = self.lists
            missing = {r: "not dumped (the snapshot's ClusterInfo does not list it)" for r in _list_names()}
        errors += [{"namespace": None, "resource": r, "message": why, "status": None}
                   for r, why in missing.items() if r not in lists]
        return errors


def _list_names() -> list[str]:
    from ..cluster.inventory import RESOURCES

    return [r.name for r in RESOURCES]


def _read_info(obj: dict, where: str) -> tuple[list[str] | None, list[dict[str, Any]]]:
    """A ClusterInfo item's ``lists`` (None when it has none: it declares nothing) and ``readErrors``."""
    lists, errors = obj.get("lists"), obj.get("readErrors") or []
    if lists is not None and (not isinstance(lists, list) or not all(isinstance(name, str) for name in lists)):
        raise SnapshotError(f"{where}: ClusterInfo.lists is not a list of resource names")
    if not isinstance(errors, list) or not all(
            isinstance(e, dict) and isinstance(e.get("resource"), str) and isinstance(e.get("namespace") or "", str)
            for e in errors):
        raise SnapshotError(f"{where}: ClusterInfo.readErrors is not a list of {{namespace, resource, message}}")
    return lists, [{"namespace": e.get("namespace"), "resource": e["resource"], "message": str(e.get("message")),
                    "status": e.get("status")} for e in errors]


CLUSTER_INFO = "ClusterInfo"


def cluster_info(server_version: dict[str, Any] | None, lists: list[str],
                 read_errors: list[dict[str, Any]], scope: dict[str, Any] | None = None,
                 context: str | None = None) -> dict[str, Any]:
    """The snapshot's item that carries the kubeconfig context and server's /version answer (when there was
    one), the lists dumped, what could not be read and the namespaces asked for (``scope``, as reports record it)."""
    info: dict[str, Any] = {"apiVersion": API_VERSION, "kind": CLUSTER_INFO, "metadata": {"name": "cluster"}}
    if context:
        info["context"] = context
    if server_version:
        info["serverVersion"] = server_version
    return {**info, "lists": lists, "readErrors": read_errors, **({"scope": scope} if scope is not None else {})}


def is_cluster_info(obj: dict) -> bool:
    return obj.get("kind") == CLUSTER_INFO and obj.get("apiVersion") == API_VERSION


def _bare_version(obj: dict) -> dict[str, Any] | None:
    """An old snapshot's bare /version object (no kind), else None."""
    if obj.get("kind") in (None, "Version") and "gitVersion" in obj and "minor" in obj:
        return obj
    return None


def _one_cluster(clusters: dict[str, dict[str, str]], info: dict[str, Any], source: str) -> None:
    """Refuse dumps of different clusters read as one (a fleet's ``dumps/`` directory): their namespaces
    would be merged into one cluster that does not exist. Two contexts, or two server versions, differ."""
    version = info.get("serverVersion") if isinstance(info.get("serverVersion"), dict) else {}
    for what, value in (("context", info.get("context")), ("server", version.get("gitVersion"))):
        if not isinstance(value, str) or not value:
            continue
        seen = clusters.setdefault(what, {})
        seen.setdefault(value, source)
        if len(seen) > 1:
            (first, first_source), (second, second_source) = list(seen.items())[:2]
            raise SnapshotError(f'{first_source} ({what} "{first}") and {second_source} ({what} "{second}") are '
                                "dumps of different clusters: read one cluster's files at a time")


def read_snapshot(paths: list[str]) -> Snapshot:
    """Read a snapshot; raises SnapshotError for unreadable input or a dump that is no cluster."""
    documents, errors = load_documents(paths)
    if errors:
        raise SnapshotError(str(errors[0]))
    snapshot = Snapshot(objects={kind: [] for kind in TEMPLATE_PATHS})
    clusters: dict[str, dict[str, str]] = {}  # context / server -> each value seen -> the file that says so
    for doc in documents:
        for obj in iter_items(doc.data):
            if not isinstance(obj, dict):
                raise SnapshotError(f"{doc.source} (document {doc.index}): an item is not an object")
            version = _bare_version(obj)
            if version is not None:
                snapshot.server_version = version
                continue
            if is_cluster_info(obj):
                _one_cluster(clusters, obj, doc.source)
                version = obj.get("serverVersion")
                if isinstance(version, dict) and version:
                    snapshot.server_version = version
                lists, read_errors = _read_info(obj, f"{doc.source} (document {doc.index})")
                if lists is not None:
                    snapshot.lists = (snapshot.lists or []) + lists
                snapshot.read_errors += read_errors
                if isinstance(obj.get("scope"), dict):
                    snapshot.scopes.append(obj["scope"])
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


def dump_cluster(cluster: Any, scope: NamespaceScope) -> tuple[dict[str, Any], list[Any]]:
    """A snapshot of the cluster (a ``v1`` ``List``: its ClusterInfo, namespaces, pods and workloads) and what could
    not be read (InventoryErrors)."""
    from ..cluster.inventory import RESOURCES, fetch_inventory
    from .progress import progress_printer

    progress = progress_printer()
    try:
        inventory = fetch_inventory(cluster, progress=progress, **scope.inventory_args())
    finally:
        if progress is not None:
            progress("")
    from .cluster_state import warn_unmatched

    warn_unmatched(scope, inventory.namespaces, (e.namespace for e in inventory.errors))
    items: list[Any] = [cluster_info(inventory.server_version, ["namespaces"] + [r.name for r in RESOURCES],
                                     [{"namespace": e.namespace, "resource": e.resource, "message": e.message,
                                       "status": e.status} for e in inventory.errors], scope.as_dict(),
                                     cluster.context)]
    items.extend(inventory.namespaces[name] for name in sorted(inventory.namespaces))
    for kind in sorted(inventory.objects):
        items.extend(inventory.objects[kind])
    return {"apiVersion": "v1", "kind": "List", "metadata": {}, "items": items}, inventory.errors
