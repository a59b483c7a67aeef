"""PolicyReports of one cluster: built from its ``ClusterState``, and written through its ``Connection``.

Writes are create (POST) and update (PUT with the resourceVersion read) rather than server-side
apply: a report named ``kubectl-pss`` that kubectl-pss does not manage makes the create fail with
AlreadyExists and is left alone (a forced apply would take it over, an unforced one merge into it),
an update or delete of a report changed since it was read fails with a Conflict instead of
overwriting it, and a delete carries the uid and resourceVersion read as preconditions. Each write
fails on its own; the others go on.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..analysis.policyreport import (KINDS, MANAGED_BY, Action, cluster_report_left_alone, cluster_results,
                                     namespace_results, plan, report)
from ..errors import FatalError
from ..policy import Level
from ..scope import ALL_NAMESPACES
from .cluster_state import ClusterState
from .connection import Connection

if TYPE_CHECKING:
    from ..cluster.errors import ClusterError

CRD_HINT = {
    "wgpolicyk8s.io": "kubectl apply -f https://raw.githubusercontent.com/kubernetes-sigs/wg-policy-prototypes/master/"
                      "policy-report/crd/v1alpha2/wgpolicyk8s.io_policyreports.yaml -f https://raw.githubusercontent."
                      "com/kubernetes-sigs/wg-policy-prototypes/master/policy-report/crd/v1alpha2/"
                      "wgpolicyk8s.io_clusterpolicyreports.yaml",
    "openreports.io": "kubectl apply -f https://raw.githubusercontent.com/openreports/reports-api/main/config/crd/"
                      "openreports.io_reports.yaml -f https://raw.githubusercontent.com/openreports/reports-api/"
                      "main/config/crd/openreports.io_clusterreports.yaml",
}


def timestamp(now: float) -> dict[str, int]:
    """A protobuf Timestamp, as the reports' schema has it."""
    seconds = int(now)
    return {"seconds": seconds, "nanos": int(round((now - seconds) * 1e9)) % 1_000_000_000}


def cluster_wide_reasons(state: ClusterState) -> list[str]:
    """Read failures no namespaced report can hold: cluster-wide ones (the reason every namespace is
    incomplete, or why none could be listed) and those of namespaces that could not be read at all."""
    audited = {ns["metadata"]["name"] for ns in state.namespaces}
    # errors without a namespace are in every namespace's reasons; "" names no namespace, so only they remain
    reasons = list(state.incomplete(""))
    for name in dict.fromkeys(e["namespace"] for e in state.errors if e.get("namespace") not in (None, *audited)):
        reasons += [f'namespace "{name}": {r}' for r in state.incomplete(name) if r not in reasons]
    return reasons


def build_reports(state: ClusterState, api: str, level: Level | None, now: float | None = None) -> list[dict[str, Any]]:
    """One report per audited namespace, plus the cluster-scoped one when there are cluster-wide read
    failures (an audit whose namespace list failed must not look like an empty, clean cluster)."""
    stamp = timestamp(time.time() if now is None else now)
    reports = []
    for namespace in state.namespaces:
        name = namespace["metadata"]["name"]
        results = namespace_results(namespace, state.pods.get(name, []), state.workloads.get(name, []), state.config,
                                    state.registry, state.verdicts, state.incomplete(name), level, stamp)
        reports.append(report(api, results, name))
    reasons = cluster_wide_reasons(state)
    if reasons:
        reports.append(report(api, cluster_results(reasons, stamp)))
    return reports


@dataclass
class Outcome:
    """What happened to one planned write: ``error`` None when it was done (or only planned)."""

    action: Action
    error: str | None = None


@dataclass
class WriteResult:
    actions: list[Outcome] = field(default_factory=list)
    applied: bool = False
    dry_run: bool = False  # sent with dryRun=All: checked by the API server, nothing saved
    notes: list[str] = field(default_factory=list)  # what the plan leaves alone, and why

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.actions if o.error is not None]


def _paths(api: str, namespace: str | None) -> tuple[str, str]:
    kind = KINDS[api]
    prefix = f"/apis/{api}"
    if namespace is None:
        return f"{prefix}/{kind.cluster_resource}", kind.cluster_resource
    return f"{prefix}/namespaces/{namespace}/{kind.resource}", kind.resource


def _not_installed(api: str, resource: str) -> FatalError:
    group = KINDS[api].group
    return FatalError(f"the report API {api} ({resource}.{api.split('/')[1]}.{group}) is not served by this cluster: "
                      f"install the CRDs first: {CRD_HINT[group]}")


def read_managed(connection: Connection, api: str, namespaces: list[str] | None) -> list[dict[str, Any]]:
    """The reports labelled as managed by kubectl-pss: in ``namespaces`` (None: every namespace, one
    list) and the cluster-scoped ones. A 404 means the API is not served: the CRDs are not installed."""
    from ..cluster.errors import NotFound

    cluster = connection.cluster()
    selector = f"{MANAGED_BY[0]}={MANAGED_BY[1]}"
    kind = KINDS[api]
    paths = [f"/apis/{api}/{kind.resource}"] if namespaces is None else [_paths(api, ns)[0] for ns in namespaces]
    paths.append(_paths(api, None)[0])
    found: list[dict[str, Any]] = []
    for path in paths:
        try:
            found += cluster.list_items(path, label_selector=selector)
        except NotFound:
            raise _not_installed(api, path.rsplit("/", 1)[1]) from None
    return found


def plan_writes(connection: Connection, state: ClusterState, desired: list[dict[str, Any]],
                api: str) -> tuple[list[Action], list[str]]:
    """The create/update/delete actions for this cluster (reads its managed reports, writes nothing), and
    notes on what they leave alone: the cluster-scoped report, unless the run covered every namespace."""
    audited = [ns["metadata"]["name"] for ns in state.namespaces]
    existing = read_managed(connection, api, None if state.scope.namespaces is None else audited)
    whole_cluster = state.scope == ALL_NAMESPACES
    note = None if whole_cluster else cluster_report_left_alone(desired, existing)
    return plan(desired, existing, set(audited), whole_cluster), [note] if note else []


def apply(connection: Connection, api: str, actions: list[Action], dry_run: bool = False) -> WriteResult:
    """Each action in turn (``dry_run``: with dryRun=All); a failure is that action's error, the rest carries on."""
    from ..cluster.client import FIELD_MANAGER
    from ..cluster.errors import ClusterError

    cluster = connection.cluster()
    result = WriteResult(applied=True, dry_run=dry_run)
    for action in actions:
        collection, _ = _paths(api, action.namespace)
        query = [("dryRun", "All")] if dry_run else []
        query.append(("fieldManager", FIELD_MANAGER))
        try:
            if action.verb == "create":
                cluster.request("POST", collection, query, action.body, "application/json")
            elif action.verb == "update":
                cluster.request("PUT", f"{collection}/{action.name}", query, action.body, "application/json")
            else:
                options = {"kind": "DeleteOptions", "apiVersion": "v1",
                           "preconditions": {"uid": action.uid, "resourceVersion": action.resource_version}}
                cluster.request("DELETE", f"{collection}/{action.name}", query[:-1], options, "application/json")
        except ClusterError as exc:
            if not (exc.status == 404 and action.verb == "delete"):  # a 404: gone already, as the delete wanted
                result.actions.append(Outcome(action, _why(action, exc)))
                continue
        result.actions.append(Outcome(action))
    return result


def _why(action: Action, exc: "ClusterError") -> str:
    if exc.status == 409 and action.verb == "create":
        return (f"{exc}: it is not labelled {MANAGED_BY[0]}={MANAGED_BY[1]}, so kubectl-pss leaves it alone "
                "(delete it, or label it, to let kubectl-pss write it)")
    if exc.status == 409:
        return f"{exc}: changed since it was read, left as it is for the next run"
    return str(exc)


def write_reports(connection: Connection, state: ClusterState, desired: list[dict[str, Any]], api: str,
                  yes: bool, dry_run: str = "none") -> WriteResult:
    """Plan the writes of one cluster and, with ``yes``, make them; ``dry_run`` client: only the plan,
    server: send them with dryRun=All (the entry a fleet runs per context)."""
    actions, notes = plan_writes(connection, state, desired, api)
    if dry_run == "server":
        result = apply(connection, api, actions, dry_run=True)
    elif not yes or dry_run == "client":
        result = WriteResult([Outcome(action) for action in actions])
    else:
        result = apply(connection, api, actions)
    result.notes = notes
    return result
