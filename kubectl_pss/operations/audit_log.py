"""``audit-log``'s work: stream the audit logs into PodSecurity groups, and (``--live``) look each object up in
the cluster as it is now. Returns the ``AuditLogReport`` document; renders nothing."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..auditlog import EventFilter, FileStats, Grouper, Scanner, suggest_exemptions, summarize
from .audit_log_sources import SourceError, read_lines
from ..policy import InvalidObjectError, evaluate
from ..policy.admission import KUBERNETES_DEFAULT_CONFIG, AdmissionConfig, resolve_policy
from ..policy.objects import admission_view
from ..policy.registry import DEFAULT_REGISTRY, Registry, registry_for
from ..report.envelope import envelope, server_info
from .connection import Connection

KIND = "AuditLogReport"


@dataclass
class LogReading:
    grouper: Grouper
    files: list[FileStats]
    errors: list[dict[str, Any]] = field(default_factory=list)


def read_logs(paths: list[str], event_filter: EventFilter, registry: Registry = DEFAULT_REGISTRY) -> LogReading:
    """Every source, streamed line by line; a source that breaks mid-way is an error and the rest goes on."""
    scanner = Scanner(registry)
    reading = LogReading(Grouper(), [])
    for path in paths:
        stats = FileStats("-" if path == "-" else path)
        reading.files.append(stats)
        try:
            for outcomes in scanner.feed(read_lines(path, stats), stats):
                kept = [o for o in outcomes if event_filter.accepts(o)]
                if kept:
                    stats.matched += 1
                    for outcome in kept:
                        reading.grouper.add(outcome)
        except SourceError as exc:
            stats.error = str(exc)
            reading.errors.append({"message": str(exc), "file": stats.path})
            continue
        if stats.read == 0:  # nothing in it parsed as an audit event: not an audit log, never "no violations"
            stats.error = (f"{stats.path}: no audit events in it ({stats.skipped} line(s) skipped): "
                           "not an audit log?")
            reading.errors.append({"message": stats.error, "file": stats.path})
    return reading


def build_report(reading: LogReading, suggest: bool = False,
                 config: AdmissionConfig = KUBERNETES_DEFAULT_CONFIG) -> dict[str, Any]:
    """The ``-o json`` document (``context``/``server`` null: offline)."""
    violations = reading.grouper.violations()
    exemptions = reading.grouper.exemptions()
    files = [f.as_dict() for f in reading.files]
    report = envelope(KIND, {
        "violations": violations,
        "exemptions": exemptions,
        "summary": summarize(violations, exemptions),
        "events": {"read": sum(f["read"] for f in files), "matched": sum(f["matched"] for f in files),
                   "skipped": sum(f["skipped"] for f in files)},
        "files": files,
    }, errors=reading.errors)
    if suggest:
        report["suggestions"] = suggest_exemptions(violations, config.exemptions.usernames)
    return report


# --- --live ---------------------------------------------------------------------------------------------------


def _kind_of(resource: str) -> str | None:
    from ..cluster.inventory import RESOURCES

    base = resource.partition("/")[0]
    return next((r.kind for r in RESOURCES if r.name == base), None)


def _unknown(note: str) -> dict[str, Any]:
    return {"exists": None, "stillViolates": None, "policy": None, "checks": None, "note": note}


def live_status(violation: dict[str, Any], namespace: dict | None, obj: dict | None, read_error: str | None,
                config: AdmissionConfig, registry: Registry, by_owner: str | None = None) -> dict[str, Any]:
    """Whether the object of one violation exists now and still fails its namespace's level in that mode.

    ``by_owner`` (``ReplicaSet/web-7d4b9``): the object's own name is not in the log (generateName), and
    ``obj`` is its owner as logged: what the owner creates now is judged, and whether the pod exists is unknown.
    """
    if by_owner is None and (violation["name"] is None or violation["generateName"]):
        return _unknown("the object's own name is not in the log (generateName) and neither is an owner")
    if by_owner is None and _kind_of(violation["resource"]) is None:
        return _unknown(f"{violation['resource']} is not a kind PodSecurity evaluates")
    if read_error is not None:
        return _unknown(f"not read: {read_error}")
    if namespace is None:
        return {"exists": False, "stillViolates": None, "policy": None, "checks": None, "note": "its namespace is gone"}
    if obj is None:
        if by_owner is not None:
            return _unknown(f"the pod's own name is not in the log, and its owner {by_owner} is gone")
        return {"exists": False, "stillViolates": None, "policy": None, "checks": None, "note": "not found"}
    exists = None if by_owner is not None else True
    note = None if by_owner is None else f"the pod's own name is not in the log: judged by its owner {by_owner} now"
    mode = violation["mode"]
    policy = resolve_policy((namespace.get("metadata") or {}).get("labels") or {}, config.defaults).mode(mode)
    current = f"{policy.level.value}:{policy.version}"
    if config.exemptions.namespace_exempt(str(namespace["metadata"]["name"])):
        return {"exists": exists, "stillViolates": False, "policy": current, "checks": [],
                "note": "the namespace is exempt (--admission-config)"}
    try:
        result = evaluate(obj, policy.level, policy.version, registry)
    except (KeyError, InvalidObjectError) as exc:
        return {**_unknown(f"cannot evaluate: {exc}"), "exists": exists}
    return {"exists": exists, "stillViolates": not result.allowed, "policy": current,
            "checks": [v.as_dict() for v in result.violations], "note": note}


def _resource_of(kind: str) -> str | None:
    from ..cluster.inventory import RESOURCES

    return next((r.name for r in RESOURCES if r.kind == kind), None)


@dataclass
class LiveCluster:
    """The cluster ``--live`` compares with: its connection, /version and the registry of its ``latest``."""

    cluster: Any
    version: dict | None
    registry: Registry


def connect_live(connection: Connection) -> LiveCluster:
    """Connect and read /version (before the logs: PodSecurity's ``latest`` is the server's). Raises
    ClusterError."""
    from .cluster_state import server_minor

    cluster = connection.cluster()
    version = cluster.server_version()
    return LiveCluster(cluster, version, registry_for(server_minor(version)))


def cross_reference(report: dict[str, Any], live: LiveCluster, config: AdmissionConfig) -> None:
    """``--live``: read the namespaces of the violations, their pods and workloads, and set each violation's
    ``live``; ``context``, ``server``, errors and the live summary go into the report. Raises ClusterError
    when the cluster cannot be read at all."""
    from ..cluster.inventory import NAMESPACES, fetch_inventory
    from .cluster_state import server_minor

    violations = report["violations"]
    report["context"] = live.cluster.context
    report["server"] = server_info(live.version, server_minor(live.version))
    namespaces = sorted({v["namespace"] for v in violations if v["namespace"]})
    if not namespaces:
        for v in violations:
            v["live"] = _unknown("no namespace in the log")
        report["summary"]["live"] = _live_summary(violations)
        return
    inventory = fetch_inventory(live.cluster, namespaces, transform=admission_view)
    gone = {e.namespace for e in inventory.errors if e.resource == NAMESPACES.name and e.status == 404}
    read_errors: dict[tuple[str | None, str], str] = {}
    for error in inventory.errors:
        if error.namespace in gone:
            continue
        read_errors[(error.namespace, error.resource)] = error.message
        where = f'namespace "{error.namespace}": ' if error.namespace else ""
        report["errors"].append({"message": f"{where}{error.resource}: {error.message}",
                                 "namespace": error.namespace, "resource": error.resource})
    objects = {(o["metadata"].get("namespace"), o["kind"], o["metadata"].get("name")): o
               for objs in inventory.objects.values() for o in objs}
    for v in violations:
        ns = v["namespace"]
        if ns is None:
            v["live"] = _unknown("no namespace in the log")
            continue
        kind, name, by_owner = _kind_of(v["resource"]), v["name"], None
        owner = v["owner"]
        if v["generateName"] and owner and _resource_of(owner["kind"]):
            kind, name, by_owner = owner["kind"], owner["name"], f"{owner['kind']}/{owner['name']}"
        base = _resource_of(kind) if kind else v["resource"].partition("/")[0]
        error = (read_errors.get((ns, NAMESPACES.name)) or read_errors.get((ns, base))
                 or read_errors.get((None, base)))
        namespace = None if ns in gone else inventory.namespaces.get(ns)
        v["live"] = live_status(v, namespace, objects.get((ns, kind, name)), error, config, live.registry, by_owner)
    report["summary"]["live"] = _live_summary(violations)


def _live_summary(violations: list[dict[str, Any]]) -> dict[str, int]:
    lives = [v.get("live") or _unknown("") for v in violations]
    return {
        "stillViolating": sum(1 for live in lives if live["stillViolates"] is True),
        "compliantNow": sum(1 for live in lives if live["stillViolates"] is False),
        "gone": sum(1 for live in lives if live["exists"] is False),
        "unknown": sum(1 for live in lives if live["exists"] is not False and live["stillViolates"] is None),
    }
