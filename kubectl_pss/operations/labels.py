"""Label apply and undo: each namespace's plan, the API server's dry run of it, the staged patches
with an undo file, and the context checks of an undo.

Only the pod-security.kubernetes.io keys are patched (JSON merge patch, removals as null), with the
namespace's resourceVersion as a precondition so that a concurrent change is a 409 Conflict, not a
silent overwrite.
"""
from __future__ import annotations

import json
import sys
from typing import Any, Callable

from ..analysis.rollout import (
    CHANGE,
    REFUSED,
    LabelRequest,
    NamespacePlan,
    compare_server_warnings,
    desired_labels,
    dry_run_verdict,
    expect_server,
    plan_namespace,
    refuse_unless,
    stage_target,
)
from ..errors import FatalError, UsageError
from ..policy import Level, Version
from .cluster_state import ClusterState
from .connection import Connection
from .undofile import INTENDED, UndoEntry, UndoFile, UndoWriter


def plan_label(state: ClusterState, request: LabelRequest, force: bool) -> list[NamespacePlan]:
    """Each namespace's plan for the requested labels; one not read to the end (``state.incomplete``) is
    refused unless ``force``."""
    plans = []
    for ns in state.namespaces:
        name = ns["metadata"]["name"]
        labels = ns["metadata"].get("labels") or {}
        stage = stage_target(labels, request, state.config) if request.stage else None
        plans.append(plan_namespace(ns, state.pods.get(name, []), state.workloads.get(name, []),
                                    desired_labels(labels, request, state.config), state.config, state.registry,
                                    force=force, stage=stage, read_errors=state.incomplete(name),
                                    verdicts=state.verdicts))
    state.log_verdicts()
    return plans


def plan_undo(state: ClusterState, undo: UndoFile, force: bool) -> list[NamespacePlan]:
    """Each namespace's plan back to the labels an undo file recorded."""
    by_name = {ns["metadata"]["name"]: ns for ns in state.namespaces}
    plans = []
    for entry in undo.namespaces:
        ns = by_name.get(entry.name)
        if ns is None:
            continue  # not found: in state.errors
        expected: dict[str, str | None] | None = entry.applied
        note = None
        if entry.state == INTENDED:  # its PATCH was in flight or about to be: the live labels tell
            live = ns["metadata"].get("labels") or {}
            if all(live.get(key) == value for key, value in entry.previous.items()):
                expected, note = None, "recorded as intended, never applied (the labels are as before): nothing to do"
            elif all(live.get(key) == value for key, value in entry.applied.items()):
                note = "recorded as intended (outcome unknown): the labels show it was applied"
            else:
                note = ("recorded as intended (outcome unknown): the labels are neither the values before nor "
                        "those the change set")
        plan = plan_namespace(ns, state.pods.get(entry.name, []), state.workloads.get(entry.name, []),
                              entry.previous, state.config, state.registry, force=force,
                              skip_exempt=False, expected_current=expected,
                              read_errors=state.incomplete(entry.name), refuse_violations=False)
        if note:
            plan.notes.insert(0, note)
        plans.append(plan)
    return plans


def patch_body(plan: NamespacePlan) -> dict[str, Any]:
    """The merge patch: only the pod-security keys (null removes), resourceVersion as a precondition."""
    metadata: dict[str, Any] = {"labels": dict(plan.patch)}
    if plan.resource_version:
        metadata["resourceVersion"] = plan.resource_version
    return {"metadata": metadata}


def server_dry_run(cluster: Any, plans: list[NamespacePlan], state: ClusterState) -> None:
    """Send each planned patch with dryRun=All and compare the server's warnings with the engine's."""
    for plan in plans:
        if plan.action not in (CHANGE, REFUSED):
            continue
        expect_server(plan, state.pods.get(plan.name, []), state.config, state.registry, state.verdicts)
        plan.server = dry_run_patch(cluster, plan.name, patch_body(plan), plan.expected_warnings,
                                    plan.expected_rejected, state, plan.expected_note)
        if not plan.enforce_change and "error" not in plan.server:
            plan.server["agrees"] = None  # the server checks no pods for an audit or warn change: n/a


def dry_run_patch(cluster: Any, name: str, body: dict[str, Any], expected: list[str],
                  rejected: dict[str, list[str]] | None, state: ClusterState, note: str | None = None) -> dict[str, Any]:
    """One namespace's label patch sent with dryRun=All, the server's warnings against the engine's
    ``expected``: ``{"warnings", "expected", "agrees"[, "note"]}``, or for a failed dry run ``{"error",
    "status", "reason", "agrees": None}``. An error that ends the run (``FATAL``) is raised."""
    from ..cluster.errors import ClusterError
    from ..cluster.inventory import FATAL

    try:
        response = cluster.patch_merge(f"/api/v1/namespaces/{name}", body, dry_run=True)
    except ClusterError as exc:
        if isinstance(exc, FATAL):
            raise
        return {"error": str(exc), "status": exc.status, "reason": exc.reason, "agrees": None}
    agrees, wording = compare_server_warnings(response.warnings, expected, rejected,
                                              (state.server_version or {}).get("gitVersion"), state.server_minor)
    server: dict[str, Any] = {"warnings": response.warnings, "expected": expected}
    if wording or note:
        server["note"] = wording or note
    server["agrees"] = agrees
    return server


def unconfirmed(server: dict[str, Any] | None) -> str | None:
    """Why the server's dry run does not confirm a change (it failed, disagrees, or says existing pods
    violate the new level), or None."""
    if server is None:
        return None
    if "error" in server:
        return f"the API server's dry run failed ({server['error']})"
    if server.get("agrees") is False:
        return "the API server's dry run disagrees with kubectl-pss"
    if dry_run_verdict(server.get("warnings") or []).headers:
        return "the API server's dry run says existing pods violate the new enforce level"
    return None


def refuse_unconfirmed(plan: NamespacePlan, force: bool) -> None:
    """A change the server's dry run does not confirm is refused, with the reason; with ``force`` it is
    applied, with the reason as a note."""
    reason = unconfirmed(plan.server) if plan.action == CHANGE else None
    if reason is None:
        return
    refuse_unless(plan, force, reason, "refused (--force to apply anyway)", anyway="applied anyway")


def _record(write: Callable[[], None], failed: Callable[[OSError], str]) -> None:
    """One write of the undo file, done whole even if a signal arrives meanwhile (acted on after it)."""
    from ..cluster.signals import signals_held, signal_exception

    with signals_held() as received:
        try:
            write()
        except OSError as exc:
            raise FatalError(failed(exc)) from None
    if received:
        raise signal_exception(received[0])


def _still_previous(cluster: Any, entry: UndoEntry) -> bool:
    """After a refused PATCH: do the namespace's labels still hold the previous values? (A retried
    PATCH can be refused after its first attempt was applied.)"""
    from ..cluster.errors import ClusterError

    try:
        data = cluster.request("GET", f"/api/v1/namespaces/{entry.name}").data or {}
    except ClusterError:
        return False
    labels = (data.get("metadata") or {}).get("labels") or {}
    return all(labels.get(key) == value for key, value in entry.previous.items())


def apply(cluster: Any, plans: list[NamespacePlan], writer: UndoWriter) -> None:
    """Patch each namespace; a failure is recorded and the others go on (unless the server is gone).

    Write-ahead: each change is in the undo file (fsynced) before its PATCH is sent."""
    from ..cluster.errors import ClusterError
    from ..cluster.inventory import FATAL

    todo = [p for p in plans if p.action == CHANGE]
    stop: str | None = None
    for plan in todo:
        if stop is not None:
            plan.result = {"status": "not attempted", "error": stop}
            continue
        entry = UndoEntry(plan.name, {key: plan.labels.get(key) for key in plan.patch}, dict(plan.patch))
        _record(lambda: writer.intend(entry), lambda exc: (
            f"cannot update the undo file {writer.path} ({exc.strerror or exc}): namespace \"{plan.name}\" and "
            "those after it were not changed"))
        try:
            response = cluster.patch_merge(f"/api/v1/namespaces/{plan.name}", patch_body(plan), dry_run=False)
        except ClusterError as exc:
            plan.result = {"status": "failed", "error": str(exc), "code": exc.status, "reason": exc.reason}
            if exc.status is not None and 400 <= exc.status < 500 and _still_previous(cluster, entry):
                _record(lambda: writer.withdraw(entry), lambda exc: (
                    f"cannot update the undo file {writer.path} ({exc.strerror or exc}): it lists namespace "
                    f'"{plan.name}" as possibly changed (it was not); no other namespace was changed after it'))
            else:  # the change may have been applied: the undo file keeps it as intended
                plan.result["outcome"] = "unknown"
            if isinstance(exc, FATAL):
                stop = f"stopped after an earlier error: {exc}"
            continue
        metadata = (response.data or {}).get("metadata") or {}
        labels = metadata.get("labels") or {}
        applied = {key: labels.get(key) for key in plan.patch}
        rv = metadata.get("resourceVersion")
        _record(lambda: writer.applied(entry, applied, rv), lambda exc: (
            f'namespace "{plan.name}" was changed but the undo file {writer.path} could not be updated '
            f"({exc.strerror or exc}); it records the change as intended (--undo restores it); its previous "
            f"pod-security labels were {json.dumps(entry.previous)}; no other namespace was changed after it"))
        plan.result = {"status": "applied", "resourceVersion": rv, "warnings": response.warnings}


def interrupted(writer: UndoWriter) -> None:
    """Ctrl-C or SIGTERM while applying: say where the way back is (or that nothing changed)."""
    if writer.undo.namespaces:
        print(f"interrupted: undo file: {writer.path} (restore with: kubectl pss label --undo {writer.path})",
              file=sys.stderr)
    else:
        writer.discard()
        print("interrupted: no namespace was changed", file=sys.stderr)


def selected_namespaces(cluster: Any, selector: str) -> list[str]:
    """The names of the namespaces a label selector picks."""
    return [ns["metadata"]["name"] for ns in cluster.list_items("/api/v1/namespaces", label_selector=selector)]


def connect_for_undo(connection: Connection, undo: UndoFile, force: bool) -> Any:
    """The cluster an undo file was written for: its context unless one is given; another context or
    API server only with ``force``."""
    given = connection.options.context
    if given is None and undo.context:
        connection.with_context(undo.context)
    elif undo.context and given != undo.context and not force:
        raise UsageError(f'--undo: the undo file was written for context "{undo.context}", not '
                         f'"{given}" (drop --context, or --force)')
    cluster = connection.cluster()
    if undo.server and cluster.server.rstrip("/") != undo.server.rstrip("/") and not force:
        raise FatalError(f'--undo: the undo file was written for the API server {undo.server}; context '
                         f'"{cluster.context}" talks to {cluster.server} (--force to restore there anyway)')
    return cluster


def empty_state(cluster: Any, config_path: str | None, note: str) -> ClusterState:
    """Nothing in scope (no namespace matches -l): an empty state, without reading the cluster."""
    from ..policy.registry import registry_for
    from .cluster_state import admission_config

    config, _ = admission_config(config_path)
    return ClusterState(context=cluster.context, server_version=None, server_minor=None, registry=registry_for(None),
                        config=config, namespaces=[], notes=[note])


def dry_run_enforce(cluster: Any, state: ClusterState, level: Level, version: Version,
                    entries: list[dict[str, Any]]) -> None:
    """``simulate --server-dry-run``: the enforce label change sent with dryRun=All to each namespace of
    ``entries`` (report entries, by ``name``); the server's warnings against the engine's, as ``entry["server"]``."""
    from ..analysis.rollout import apply_patch, expected_server_warnings
    from ..policy.admission import level_label, resolve_policy, version_label

    by_name = {ns["metadata"]["name"]: ns for ns in state.namespaces}
    patch = {level_label("enforce"): level.value, version_label("enforce"): str(version)}
    for entry in entries:
        name = entry["name"]
        labels = by_name[name]["metadata"].get("labels") or {}
        new_labels = apply_patch(labels, patch)
        expected, note, rejected = expected_server_warnings(
            name, resolve_policy(labels, state.config.defaults), resolve_policy(new_labels, state.config.defaults),
            new_labels, state.pods.get(name, []), False, state.config, state.registry, state.verdicts)
        entry["server"] = dry_run_patch(cluster, name, {"metadata": {"labels": patch}}, expected, rejected, state,
                                        note)
