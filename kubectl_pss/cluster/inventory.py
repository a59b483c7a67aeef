"""Read what Pod Security admission looks at: namespaces (labels), pods, and every workload kind
PSA evaluates pod templates of. Lists are cluster-wide when allowed, per namespace when RBAC only
allows that; what could not be read is recorded in ``Inventory.errors`` and the rest carries on.

An error names the namespace whose list failed, or none when a cluster-wide list failed (after the
retries: a 5xx, a 410 on every restart, an answer that is not JSON or was cut short): then that
resource is unread in every namespace in scope. Which namespaces that leaves incomplete is decided
in one place, ``ClusterState.incomplete`` (operations/cluster_state.py).
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Iterable

from ..scope import excluded, parse_selector
from .errors import ClusterError, ClusterUnreachable, ConfigError, Forbidden, Unauthorized, UnexpectedAnswer

if TYPE_CHECKING:
    from .client import Cluster

FATAL = (Unauthorized, ClusterUnreachable, ConfigError)  # no point going on
# Up to this many namespaces in a narrowed scope: one list per namespace, else cluster-wide. Measured
# (benchmarks/bench_scope.py, 1,000 namespaces): cluster-wide wins from ~100 namespaces at 2 pods each,
# from ~350 at 20 pods each. 50 namespaces listed one by one take ~0.5 s: little where the cluster is small,
# far less than reading a large cluster whole.
PER_NAMESPACE_THRESHOLD = 50
WORKERS = 8  # concurrent per-namespace lists
PAGE_SIZE = 500


@dataclass(frozen=True)
class Resource:
    """A list endpoint: ``name`` is the plural (URL/RBAC), ``kind`` the objects' kind."""

    name: str
    kind: str
    api_version: str  # "v1", "apps/v1", "batch/v1"

    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0]

    def path(self, namespace: str | None = None) -> str:
        base = f"/api/{self.api_version}" if not self.group else f"/apis/{self.api_version}"
        return f"{base}/namespaces/{namespace}/{self.name}" if namespace else f"{base}/{self.name}"


NAMESPACES = Resource("namespaces", "Namespace", "v1")
RESOURCES: tuple[Resource, ...] = (
    Resource("pods", "Pod", "v1"),
    Resource("replicationcontrollers", "ReplicationController", "v1"),
    Resource("replicasets", "ReplicaSet", "apps/v1"),
    Resource("deployments", "Deployment", "apps/v1"),
    Resource("statefulsets", "StatefulSet", "apps/v1"),
    Resource("daemonsets", "DaemonSet", "apps/v1"),
    Resource("jobs", "Job", "batch/v1"),
    Resource("cronjobs", "CronJob", "batch/v1"),
)


@dataclass(frozen=True)
class InventoryError:
    """Something not read: ``namespace`` None means cluster-wide (or the namespace list itself)."""

    namespace: str | None
    resource: str
    message: str
    status: int | None = None


@dataclass
class Inventory:
    namespaces: dict[str, dict]  # name -> Namespace object, in list order
    objects: dict[str, list[dict]]  # kind ("Pod", "Deployment", ...) -> objects, kind/apiVersion set
    errors: list[InventoryError] = field(default_factory=list)
    server_version: dict | None = None
    notes: list[str] = field(default_factory=list)  # e.g. /version answered by a proxy

    @property
    def pods(self) -> list[dict]:
        return self.objects.get("Pod", [])


Progress = Callable[[str], None]


def _noop(_: str) -> None:
    pass


def fetch_inventory(cluster: "Cluster", namespaces: list[str] | None, label_selector: str | None = None,
                    progress: Progress | None = None, *, namespace_selector: str | None = None,
                    exclude: tuple[str, ...] = (), resources: Iterable[Resource] = RESOURCES, workers: int = WORKERS,
                    keep_managed_fields: bool = False,
                    transform: Callable[[dict], dict] | None = None,
                    on_version: Callable[[dict | None], None] | None = None) -> Inventory:
    """Read namespaces + pods + workloads. ``namespaces=None`` means all namespaces.

    ``label_selector`` filters pods and workloads; ``namespace_selector`` filters namespaces (sent to the
    server) and ``exclude`` (shell globs) leaves namespaces out: nothing of theirs is listed per namespace,
    and what a cluster-wide list brings of them is dropped. A narrowed scope (named, selected or excluded)
    of up to PER_NAMESPACE_THRESHOLD namespaces is listed per namespace, a larger one cluster-wide.
    ``metadata.managedFields`` is dropped from pods and workloads (PSA never reads it; it is 15-40%
    of an object's memory) unless ``keep_managed_fields``. ``transform`` (e.g. a view that keeps
    only what admission reads) is applied to each pod and workload as it arrives, so that a
    whole cluster's raw objects are never held at once. ``on_version`` is told the server's version
    before any list is read (so that ``transform`` can evaluate what it knows the version of).
    Raises only what makes going on pointless (Unauthorized, unreachable, bad config) or a
    Forbidden list of all namespaces when none were named.
    """
    say = progress or _noop
    inv = Inventory(namespaces={}, objects={r.kind: [] for r in resources})
    try:
        inv.server_version = cluster.server_version()
    except FATAL:
        raise
    except UnexpectedAnswer as exc:  # e.g. a proxy's login page: say so, never a silent "server unknown"
        inv.notes.append(f"{exc}; the server's version is unknown")
    except ClusterError as exc:  # /version is public on real clusters; note it and go on
        inv.errors.append(InventoryError(None, "version", str(exc), exc.status))
    if on_version is not None:
        on_version(inv.server_version)

    named = None if namespaces is None else [ns for ns in namespaces if not excluded(ns, exclude)]
    _read_namespaces(cluster, inv, named, namespace_selector, say)
    listed = len(inv.namespaces)
    inv.namespaces = {name: ns for name, ns in inv.namespaces.items() if not excluded(name, exclude)}
    scope = list(inv.namespaces)
    if not scope:
        say("no namespaces in scope")
        return inv
    narrowed = namespaces is not None or namespace_selector is not None or len(scope) < listed
    per_namespace_first = narrowed and len(scope) <= PER_NAMESPACE_THRESHOLD
    for res in resources:
        shape = _shaper(res, keep_managed_fields, transform)
        if per_namespace_first:
            items = _per_namespace(cluster, inv, res, scope, label_selector, workers, shape)
        else:
            items = _cluster_wide(cluster, inv, res, scope, label_selector, workers, say, shape)
        inv.objects[res.kind] = items
        say(f"{res.name}: {len(items)}")
    return inv


def _shaper(res: Resource, keep_managed_fields: bool,
            transform: Callable[[dict], dict] | None) -> Callable[[dict], dict]:
    """Per item: set kind/apiVersion (list items lack them), drop managedFields, then ``transform``."""
    def shape(item: dict) -> dict:
        item.setdefault("kind", res.kind)
        item.setdefault("apiVersion", res.api_version)
        if not keep_managed_fields:
            item["metadata"].pop("managedFields", None)
        return item if transform is None else transform(item)

    return shape


def _identity_problem(item: dict) -> str | None:
    """What makes a listed object unplaceable (``metadata.name``/``namespace``/``uid`` not strings, as no
    real API server sends), or None. The list's check has made sure items and their metadata are objects;
    the other fields' types are checked later, with the object's namespace known (policy.schema)."""
    metadata = item["metadata"]
    for key in ("name", "namespace", "uid"):
        value = metadata.get(key)
        if value is not None and not isinstance(value, str):
            name = metadata.get("name")
            shown = f"{item.get('kind', 'object')} {name}" if isinstance(name, str) else "an item"
            return f"{shown}: metadata.{key}: expected string, got {type(value).__name__}"
    return None


def _read_namespaces(cluster: "Cluster", inv: Inventory, named: list[str] | None, selector: str | None,
                     say: Progress) -> None:
    wanted = list(dict.fromkeys(named)) if named is not None else None
    try:
        listed = {}
        for ns in cluster.list_items(NAMESPACES.path(), label_selector=selector, limit=PAGE_SIZE):
            problem = _identity_problem(ns)
            if problem is not None or not ns["metadata"].get("name"):  # no namespace can be known: no scope
                raise UnexpectedAnswer(f"the server answered {NAMESPACES.path()} with {problem or 'a nameless item'}")
            listed[ns["metadata"]["name"]] = ns
    except ClusterError as exc:  # a 403, or a list that failed part-way: named namespaces are read one by one
        if wanted is None or isinstance(exc, FATAL):
            raise
        reason = exc.reason if isinstance(exc, Forbidden) else str(exc)
        say(f"cannot list namespaces ({reason}); reading the {len(wanted)} named ones")
        for name in wanted:
            try:
                ns = cluster.request("GET", f"{NAMESPACES.path()}/{name}").data
            except FATAL:
                raise
            except ClusterError as err:
                inv.errors.append(InventoryError(name, NAMESPACES.name, str(err), err.status))
                continue
            if not isinstance(ns.get("metadata"), dict) or _identity_problem(ns) is not None:
                inv.errors.append(InventoryError(name, NAMESPACES.name, f"{NAMESPACES.path()}/{name}: "
                                                 f"{_identity_problem(ns) if isinstance(ns.get('metadata'), dict) else 'metadata is not an object'}"))
                continue
            if selector is None or parse_selector(selector).selects(ns):
                inv.namespaces[name] = ns
        return
    if wanted is None:
        inv.namespaces = listed
    else:
        for name in wanted:
            if name in listed:
                inv.namespaces[name] = listed[name]
            elif selector:
                pass  # named but not selected: out of scope, not an error
            else:
                inv.errors.append(InventoryError(name, NAMESPACES.name, f'namespaces "{name}" not found', 404))
    say(f"namespaces: {len(inv.namespaces)}")


def _cluster_wide(cluster: "Cluster", inv: Inventory, res: Resource, scope: list[str], selector: str | None,
                  workers: int, say: Progress, shape: Callable[[dict], dict]) -> list[dict]:
    in_scope = set(scope)
    items: list[dict] = []
    try:
        for item in cluster.list_items(res.path(), label_selector=selector, limit=PAGE_SIZE):
            problem = _identity_problem(item)
            namespace = item["metadata"].get("namespace")
            if problem is not None:  # its namespace if it names one, else every namespace the list covers
                where = namespace if isinstance(namespace, str) else None
                if where is None or where in in_scope:
                    inv.errors.append(InventoryError(where, res.name, f"{res.path()}: {problem}"))
            elif namespace in in_scope:
                items.append(shape(item))
                if len(items) % 5000 == 0:
                    say(f"{res.name}: {len(items)}...")
    except FATAL:
        raise
    except Forbidden:
        say(f"{res.name}: cannot list in all namespaces; listing {len(scope)} namespaces one by one")
        return _per_namespace(cluster, inv, res, scope, selector, workers, shape)
    except ClusterError as exc:  # e.g. 404: this server does not serve batch/v1 cronjobs
        inv.errors.append(InventoryError(None, res.name, str(exc), exc.status))
    return items


def _per_namespace(cluster: "Cluster", inv: Inventory, res: Resource, scope: list[str], selector: str | None,
                   workers: int, shape: Callable[[dict], dict]) -> list[dict]:
    def one(ns: str) -> tuple[list[dict], InventoryError | None]:
        try:
            got = []
            for item in cluster.list_items(res.path(ns), label_selector=selector, limit=PAGE_SIZE):
                problem = _identity_problem(item)
                if problem is not None:
                    return [], InventoryError(ns, res.name, f"{res.path(ns)}: {problem}")
                got.append(shape(item))
            return got, None
        except FATAL:
            raise
        except ClusterError as exc:
            return [], InventoryError(ns, res.name, str(exc), exc.status)

    if len(scope) == 1 or workers <= 1:
        results = [one(ns) for ns in scope]
    else:
        with ThreadPoolExecutor(max_workers=min(workers, len(scope)),
                                thread_name_prefix=f"list-{res.name}") as pool:
            results = list(pool.map(one, scope))
    items: list[dict] = []
    for got, err in results:
        if err is not None:
            inv.errors.append(err)
        items += got
    return items


__all__ = ["Inventory", "InventoryError", "NAMESPACES", "RESOURCES", "Resource", "fetch_inventory"]
