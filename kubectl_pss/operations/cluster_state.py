"""The cluster's state as audit, simulate and label read it: namespaces, pods, workloads, version,
admission config; from the API server or from a snapshot, the same ``ClusterState`` either way.
"""
from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator, Mapping

from .. import logs
from ..analysis.findings import StandIn, VerdictCache, view_key
from ..errors import UsageError
from ..report.envelope import envelope, server_info
from ..manifests import load_admission_config
from ..policy.admission import KUBERNETES_DEFAULT_CONFIG, AdmissionConfig
from ..policy.levels import LATEST
from ..policy.objects import admission_view
from ..policy.registry import NEWEST_MINOR, Registry, registry_for
from .connection import Connection
from .progress import progress_printer
from ..policy.schema import describe, type_errors
from ..scope import ALL_NAMESPACES, NamespaceScope, default_scope_note, excluded


@dataclass
class ClusterState:
    context: str | None  # the kubeconfig context; None for a snapshot
    server_version: dict[str, Any] | None
    server_minor: int | None
    registry: Registry
    config: AdmissionConfig
    namespaces: list[dict]
    pods: Mapping[str, list[dict]] = field(default_factory=dict)  # namespace -> its pods (a live read: Held)
    workloads: Mapping[str, list[dict]] = field(default_factory=dict)
    errors: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    snapshot: list[str] | None = None  # the files read instead of a cluster
    verdicts: VerdictCache | None = None  # one per run, for the registry above (made on first use)
    verbosity: int = 0  # kubectl's -v: 4 prints the verdict cache's hit rate
    scope: NamespaceScope = ALL_NAMESPACES  # what was asked for (-n, -A, -l, --exclude-namespace)

    def __post_init__(self) -> None:
        if self.verdicts is None:
            self.verdicts = VerdictCache(self.registry)

    def log_verdicts(self) -> None:
        """At ``-v=4`` and above, the verdict cache's hit rate on stderr."""
        if self.verbosity >= 4 and self.verdicts is not None:
            logs.info(self.verdicts.summary(), depth=2)

    def incomplete(self, namespace: str) -> list[str]:
        """Why ``namespace`` was not read to the end (``"pods: <error>"``, ...); [] means complete.

        The rule: a namespace is complete only if every list its verdict needs (the namespace object,
        its pods and each workload kind) was read to the end. So every error naming the namespace counts,
        whatever its cause (a 403 of the per-namespace fallback, an object of the wrong shape...), and so
        does every cluster-wide one (no namespace: a 503 after the retries, a 410 on every restart, an
        answer that is not JSON), for each namespace in scope. Not counted: ``version`` (no list), and a
        404 on a workload kind's list, which is the API server saying it does not serve that kind (on a
        real server a list in a namespace answers 200, even an empty one): there are no such objects, and
        admission itself checks pods only. A 404 on pods is never that, so it counts.
        """
        return [f"{e['resource']}: {e['message']}" for e in self.errors
                if e.get("namespace") in (None, namespace) and _counts_against_completeness(e)]

    def cluster_dict(self) -> dict[str, Any]:
        return {
            "snapshot": self.snapshot,
            "policyLatest": f"v1.{self.registry.max_minor}",
            "admissionConfig": self.config.source,
            "scope": self.scope.as_dict(),
        }

    def report(self, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        """``body`` in the report envelope, with this state's context, server and read errors."""
        return envelope(kind, body, context=self.context, server=server_info(self.server_version, self.server_minor),
                        errors=self.errors)


class Held(Mapping[str, list[dict]]):
    """A live read's pods (or workloads) by namespace, held as ``StandIn``s (an object whose key could not
    be made, as itself): each namespace's objects are made when asked for, used and dropped, so a whole
    cluster is never held as objects at once."""

    def __init__(self) -> None:
        self._by_namespace: dict[str, list[StandIn | dict]] = {}

    def add(self, namespace: str, held: StandIn | dict) -> None:
        self._by_namespace.setdefault(namespace, []).append(held)

    def __getitem__(self, namespace: str) -> list[dict]:
        return [h.as_object() if isinstance(h, StandIn) else h for h in self._by_namespace[namespace]]

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_namespace)

    def __len__(self) -> int:
        return len(self._by_namespace)


def _counts_against_completeness(error: dict[str, Any]) -> bool:
    if error["resource"] == "version":
        return False
    return not (error.get("status") == 404 and error["resource"] not in ("pods", "namespaces"))


def completeness(entry: dict[str, Any], reasons: list[str]) -> bool:
    """Mark a namespace's JSON object ``complete`` with its own ``errors``; True if complete. An
    incomplete one's counts (``pods``, ``workloads``) are null: what was read is not how many there are."""
    entry["complete"] = not reasons
    entry["errors"] = reasons
    if reasons:
        entry.update({key: None for key in ("pods", "workloads") if key in entry})
    return not reasons


def server_minor(version: dict[str, Any] | None) -> int | None:
    """The API server's minor version from /version ("minor": "30+" on some clouds, else gitVersion)."""
    if not version:
        return None
    match = re.match(r"([0-9]+)", str(version.get("minor", "")))
    if match and str(version.get("major", "1")).startswith("1"):
        return int(match.group(1))
    match = re.match(r"v1\.([0-9]+)", str(version.get("gitVersion", "")))
    return int(match.group(1)) if match else None


def admission_config(path: str | None) -> tuple[AdmissionConfig, list[str]]:
    if path is None:
        return KUBERNETES_DEFAULT_CONFIG, []
    try:
        return load_admission_config(path)
    except ValueError as exc:
        raise UsageError(f"--admission-config: {exc}") from None


def _config_with_warnings(config_path: str | None) -> AdmissionConfig:
    config, warnings = admission_config(config_path)
    for warning in warnings:
        print(f"warning: --admission-config {config_path}: {warning}", file=sys.stderr)
    return config


def load_state(source: "Source", scope: NamespaceScope, config_path: str | None, doing: str) -> ClusterState:
    """The cluster from the API server or from a snapshot file: the one entry of audit and simulate.

    The default scope is the context's namespace, said on stderr (``doing``: "auditing"); a snapshot has
    no context: all of it."""
    if source.snapshot is not None:
        return load_snapshot_state(source.snapshot, NamespaceScope(scope.namespaces or None, scope.selector,
                                                                   scope.exclude),
                                   config_path, source.server_version, source.latest_is_cluster)
    assert source.connection is not None
    if not scope.is_default:
        return load_live_state(source.connection, scope, config_path, source.latest_is_cluster)
    namespace = source.connection.cluster().namespace
    state = load_live_state(source.connection, scope.named([namespace]), config_path, source.latest_is_cluster)
    print(default_scope_note(doing, namespace), file=sys.stderr)  # after the read: its bad input comes first
    return state


@dataclass
class Source:
    """Where the cluster is read from: a live connection, or a snapshot (with an optional server version)."""

    connection: Connection | None = None
    snapshot: list[str] | None = None
    server_version: str | None = None  # "v1.N", for snapshots only
    latest_is_cluster: bool = True  # latest = the cluster's version (as its API server does), else the newest

    def __enter__(self) -> "Source":
        """Inside, the cyclic collector is paused: a cluster's objects are acyclic trees, freed by their
        reference counts, and collecting while they pile up and are graded costs ~30% of the CPU."""
        from ..cluster.jsonbody import gc_paused

        self._paused = gc_paused()
        self._paused.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        try:
            if self.connection is not None:
                self.connection.close()
        finally:
            paused = getattr(self, "_paused", None)
            if paused is not None:
                self._paused = None
                paused.__exit__(None, None, None)


def _readable(obj: dict) -> dict:
    """A snapshot's pod or workload as the engine will read it; one of the wrong shape (a spec that is not
    an object, a list that is a number...) is bad input, named here, not an internal error later."""
    from ..policy import LATEST, Level, evaluate
    from ..policy.objects import InvalidObjectError

    try:
        evaluate(obj, Level.RESTRICTED, LATEST)
    except InvalidObjectError as exc:
        metadata = obj["metadata"]
        raise UsageError(f"--snapshot: {obj['kind']} {metadata['namespace']}/{metadata['name']}: {exc}") from None
    return obj


def _resource_names() -> dict[str, str]:
    """kind -> the list's resource name ("Pod" -> "pods"), for errors of one object."""
    from ..cluster.inventory import RESOURCES

    return {resource.kind: resource.name for resource in RESOURCES}


def load_snapshot_state(paths: list[str], scope: NamespaceScope, config_path: str | None,
                        server_version: str | None, latest_is_cluster: bool = True) -> ClusterState:
    """A snapshot read as a cluster; the same state a live cluster gives, so the same audit runs on it."""
    from .snapshot import SnapshotError, read_snapshot

    if paths.count("-") > 1:
        raise UsageError("--snapshot: stdin (-) can only be read once")
    config = _config_with_warnings(config_path)
    try:
        snapshot = read_snapshot(paths)
    except SnapshotError as exc:
        raise UsageError(f"--snapshot: {exc}") from None
    version = snapshot.server_version
    if server_version is not None:
        version = {"major": "1", "minor": server_version.split(".")[1], "gitVersion": server_version}
    minor = server_minor(version)
    state = ClusterState(context=None, server_version=version, server_minor=minor,
                       registry=registry_for(minor if latest_is_cluster else None), config=config, namespaces=[],
                       snapshot=list(paths), scope=scope)
    _note_latest(state, latest_is_cluster)
    if minor is None:
        state.notes.append(f"the snapshot names no server version (use --server-version v1.N): latest is "
                          f"evaluated as v1.{NEWEST_MINOR}, the newest policy this tool knows")
    if config.source is None:
        state.notes.append("no --admission-config: assuming Kubernetes' defaults (privileged:latest, no exemptions)")
    for dumped in filter(None, map(NamespaceScope.describe, snapshot.scopes)):
        state.notes.append(f"the snapshot holds part of the cluster: it was dumped with {dumped}")
    if snapshot.ignored:
        ignored = ", ".join(f"{count} {kind}" for kind, count in sorted(snapshot.ignored.items()))
        state.notes.append(f"ignored objects of other kinds: {ignored}")
    namespaces = None if scope.namespaces is None else list(scope.namespaces)
    wanted = {name for name, ns in snapshot.namespaces.items() if scope.covers(ns)}
    if namespaces is None and wanted == set(snapshot.namespaces):
        wanted = None  # every namespace: errors of namespaces the dump lacks too
    elif namespaces is not None and scope.selector is None:  # named ones the dump lacks: errors, below
        wanted |= {name for name in namespaces if not excluded(name, scope.exclude)}
    state.errors += [e for e in snapshot.unread() if wanted is None or e["namespace"] in (None, *wanted)]
    for name in (namespaces or []):
        if name not in snapshot.namespaces and not excluded(name, scope.exclude) and scope.selector is None:
            state.errors.append({"namespace": name, "resource": "namespaces",
                                 "message": f'namespaces "{name}" not found'})
    state.namespaces = sorted((ns for name, ns in snapshot.namespaces.items() if wanted is None or name in wanted),
                             key=lambda ns: ns["metadata"]["name"])
    orphans: set[str] = set()
    resource_names = _resource_names()
    for kind, objects in snapshot.objects.items():
        target = state.pods if kind == "Pod" else state.workloads
        for obj in objects:
            namespace = obj["metadata"]["namespace"]
            if wanted is not None and namespace not in wanted:
                continue
            if namespace not in snapshot.namespaces:
                orphans.add(namespace)
                continue
            view_obj = _readable(admission_view(obj))
            wrong_types = type_errors(view_obj)
            if wrong_types:  # as from a cluster: no verdict, an error of its namespace
                state.errors.append({"namespace": namespace, "resource": resource_names.get(kind, kind),
                                    "message": f"{kind} {obj['metadata']['name']}: {describe(wrong_types)}"})
                continue
            target.setdefault(namespace, []).append(view_obj)
    if orphans:
        state.notes.append(f"objects in namespaces missing from the snapshot were skipped: {', '.join(sorted(orphans))}")
    _warn_unmatched(state)
    return state


def warn_unmatched(scope: NamespaceScope, found: Iterable[str], unread: Iterable[str | None]) -> None:
    """``warning:`` lines for a scope that matched no namespace (``found``, none ``unread``: the namespaces of
    read errors, None cluster-wide), or left out one named with -n (audit, simulate, snapshot, label)."""
    from ..scope import unmatched_warnings

    for warning in unmatched_warnings(scope, set(found), {name or "" for name in unread}):
        print(f"warning: {warning}", file=sys.stderr)


def _warn_unmatched(state: ClusterState) -> None:
    warn_unmatched(state.scope, (ns["metadata"]["name"] for ns in state.namespaces),
                   (e.get("namespace") for e in state.errors))


def _note_latest(state: ClusterState, latest_is_cluster: bool) -> None:
    if not latest_is_cluster and state.server_minor is not None and state.server_minor < NEWEST_MINOR:
        state.notes.append(f"--latest newest: latest (and any version above v1.{state.server_minor}) is evaluated as "
                          f"v1.{NEWEST_MINOR}, not as the cluster's v1.{state.server_minor} its API server uses")


def load_live_state(connection: Connection, scope: NamespaceScope, config_path: str | None,
                    lower_latest_to_cluster: bool = True) -> ClusterState:
    """Read /version and every namespace, pod and workload in ``scope`` (its namespaces None: all)."""
    from ..cluster.inventory import InventoryError, fetch_inventory
    from ..cluster.jsonbody import gc_paused

    resource_names = _resource_names()

    config = _config_with_warnings(config_path)
    progress = progress_printer()
    verdicts: list[VerdictCache] = []  # made once the server's version (so the registry) is known

    def know_version(version: dict | None) -> None:
        minor = server_minor(version)
        verdicts.append(VerdictCache(registry_for(minor if lower_latest_to_cluster else None)))

    def view(obj: dict) -> StandIn | dict:
        """Each pod and workload, as it arrives, cut down to its ``StandIn`` (identity, controller reference,
        and its template shared with every object of its key: the page it came in is then dropped), and a
        pod graded (at latest, as most namespaces are) while the reader thread fetches the next page: what
        audit asks next is in the cache. One with wrong types is kept whole: the check below makes it an
        error of its namespace."""
        cut = admission_view(obj)
        if not verdicts:
            return cut
        key = view_key(cut)
        if verdicts[0].wrong_types(cut, key):
            return cut
        held = verdicts[0].stand_in(cut, key)
        if cut.get("kind") == "Pod":
            verdicts[0].grade(held.as_object() if isinstance(held, StandIn) else held, LATEST)
        return held

    try:
        cluster = connection.cluster()
        with gc_paused():  # a cluster's objects are acyclic trees: collecting while they pile up is ~30% of the CPU
            inventory = fetch_inventory(cluster, progress=progress, transform=view, on_version=know_version,
                                        **scope.inventory_args())
        version = inventory.server_version
    finally:
        if progress is not None:
            progress("")
    minor = server_minor(version)
    registry = registry_for(minor if lower_latest_to_cluster else None)
    state = ClusterState(
        context=cluster.context, server_version=version, server_minor=minor, registry=registry, config=config,
        namespaces=sorted(inventory.namespaces.values(), key=lambda ns: ns["metadata"]["name"]),
        verbosity=connection.options.verbosity, verdicts=verdicts[0] if verdicts else None, scope=scope,
    )
    _note_latest(state, lower_latest_to_cluster)
    if minor is not None and minor > NEWEST_MINOR:
        state.notes.append(f"the server is v1.{minor}, newer than the newest policy this tool knows (v1.{NEWEST_MINOR}); "
                          f"latest is evaluated as v1.{NEWEST_MINOR}")
    if config.source is None:
        state.notes.append("no --admission-config: assuming Kubernetes' defaults (privileged:latest, no exemptions)")
    pods, workloads = Held(), Held()
    cache = state.verdicts
    assert cache is not None
    for kind, objects in inventory.objects.items():
        target = pods if kind == "Pod" else workloads
        for obj in objects:
            if isinstance(obj, StandIn):  # its types were checked as it arrived
                target.add(obj.namespace, obj)
                continue
            namespace = (obj.get("metadata") or {}).get("namespace", "")
            wrong_types = cache.wrong_types(obj, cache.key(obj))
            if wrong_types:  # no verdict for what the API server would refuse; the namespace is not fully read
                name = (obj.get("metadata") or {}).get("name")
                inventory.errors.append(InventoryError(namespace, resource_names.get(kind, kind),
                                                       f"{kind} {name}: {describe(wrong_types)}"))
                continue
            target.add(namespace, obj)
        objects.clear()  # the stand-ins are held by namespace now
    state.pods, state.workloads = pods, workloads
    state.errors = [{"namespace": e.namespace, "resource": e.resource, "message": e.message, "status": e.status}
                   for e in inventory.errors]
    for note in inventory.notes:
        print(f"note: {note}", file=sys.stderr)
    state.notes += inventory.notes
    _warn_unmatched(state)
    return state
