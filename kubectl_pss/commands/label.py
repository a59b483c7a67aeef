"""``kubectl pss label (NS ... | -A | -l SELECTOR) [--enforce L[:V]] [--audit L[:V]] [--warn L[:V]]``:
set Pod Security labels safely: the plan first, then apply (``--yes`` or a confirmation), an undo file.

The plan shows per namespace the pod-security labels before and after, for an enforce change what
the new level would reject (pods and workload templates, grouped by owner) and the API server's own
verdict (a ``dryRun=All`` merge patch). Only the pod-security.kubernetes.io keys are patched (JSON
merge patch, removals as null), with the namespace's resourceVersion as a precondition so that a
concurrent change is a 409 Conflict, not a silent overwrite. ``--undo FILE`` restores what a run
changed, and refuses namespaces changed since (unless ``--force``).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import shlex
import sys
from dataclasses import dataclass
from typing import Any, Callable

from ..errors import EXIT_ERROR, EXIT_FINDINGS, EXIT_OK, FatalError, UsageError
from ..policy.admission import MODES
from ..policy.rollout import (
    CHANGE,
    CHANGED_SINCE,
    EXEMPT,
    REFUSED,
    UNCHANGED,
    LabelRequest,
    NamespacePlan,
    compare_server_warnings,
    desired_labels,
    plan_namespace,
    stage_target,
)
from ..report.label import render_label, render_plan, render_result
from ..report.render import write_report
from ..undofile import INTENDED, UndoEntry, UndoFile, UndoFileError, UndoWriter, default_path, read_undo_file, utc_now
from .clusterview import ClusterView, completeness, load_cluster_view
from .common import (
    add_connection_flags,
    add_output_flags,
    connection_args,
    level_version_arg,
    namespaces_arg,
    validate_output,
)

DRY_RUN_VALUES = ("none", "client", "server")


@dataclass
class LabelOptions:
    connection: Any
    namespaces: list[str]
    all_namespaces: bool
    selector: str | None
    request: LabelRequest | None  # None with --undo
    undo: UndoFile | None
    force: bool
    yes: bool
    dry_run: str  # none, client or server
    undo_file: str | None
    admission_config: str | None
    output: str
    no_color: bool


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("namespaces", nargs="*", metavar="NS", help="namespaces to label (or -A, or -l)")
    parser.add_argument("-n", "--namespace", action="append", default=[], metavar="NS",
                        help="a namespace to label, like NS (repeatable, or comma-separated)")
    parser.add_argument("-A", "--all-namespaces", action="store_true", help="every namespace")
    parser.add_argument("-l", "--selector", metavar="SELECTOR", help="namespaces with these labels (k=v,k!=v,...)")
    for mode in MODES:
        parser.add_argument(f"--{mode}", metavar="L[:V]",
                            help=f"set the {mode} level (privileged, baseline, restricted) and optionally its "
                                 "version (v1.N or latest); without :V the version label is left as it is")
    parser.add_argument("--stage", action="store_true",
                        help="set audit and warn to the --enforce target and leave enforce as it is (the safe first step)")
    parser.add_argument("--force", action="store_true",
                        help="enforce even where existing pods or workload templates violate the level; "
                             "with --undo, restore namespaces changed since")
    parser.add_argument("-y", "--yes", action="store_true", help="apply without asking")
    parser.add_argument("--dry-run", default="none", metavar="none|client|server",
                        help="client: the plan only; server: the plan and the API server's dry run, nothing changes")
    parser.add_argument("--undo", metavar="FILE", help="restore the labels an earlier run changed (its undo file)")
    parser.add_argument("--undo-file", metavar="FILE",
                        help="where to write the undo file (default ./kubectl-pss-undo-<context>-<UTC time>.json; "
                             "never overwritten)")
    parser.add_argument("--admission-config", metavar="FILE",
                        help="the API server's AdmissionConfiguration (defaults, exemptions: exempt namespaces are skipped)")
    add_output_flags(parser)
    add_connection_flags(parser)


def complete(args: argparse.Namespace) -> LabelOptions:
    if args.dry_run not in DRY_RUN_VALUES:
        raise UsageError(f'invalid --dry-run "{args.dry_run}": must be "none", "server", or "client"')
    request = None
    undo = None
    given = {mode: getattr(args, mode) for mode in MODES if getattr(args, mode) is not None}
    if args.undo is not None:
        if given or args.stage:
            raise UsageError("--undo restores an undo file: --enforce, --audit, --warn and --stage do not apply")
        if args.namespaces or args.namespace or args.all_namespaces or args.selector:
            raise UsageError("--undo restores the namespaces its file names: drop NS, -n, -A and -l")
        try:
            undo = read_undo_file(args.undo)
        except UndoFileError as exc:
            raise UsageError(f"--undo: {exc}") from None
    else:
        if not given:
            raise UsageError("nothing to set: give --enforce, --audit or --warn (or --undo FILE)")
        parsed = {mode: level_version_arg(value, f"--{mode}") for mode, value in given.items()}
        if args.stage:
            if "enforce" not in parsed:
                raise UsageError("--stage needs --enforce L[:V]: it sets audit and warn to that target first")
            if len(parsed) > 1:
                raise UsageError("--stage sets audit and warn itself: drop --audit and --warn")
        request = LabelRequest(parsed.get("enforce"), parsed.get("audit"), parsed.get("warn"), args.stage)
    namespaces = namespaces_arg(args.namespaces + args.namespace)
    scopes = sum((bool(namespaces), args.all_namespaces, args.selector is not None))
    if undo is None and scopes == 0:
        raise UsageError("no namespaces: name them, or use -A (all) or -l SELECTOR")
    if scopes > 1:
        raise UsageError("choose one of NS ..., -A and -l SELECTOR")
    if args.selector is not None and not args.selector.strip():
        raise UsageError("invalid -l: empty selector")
    return LabelOptions(
        connection=connection_args(args),
        namespaces=namespaces, all_namespaces=args.all_namespaces, selector=args.selector, request=request, undo=undo,
        force=args.force, yes=args.yes, dry_run=args.dry_run, undo_file=args.undo_file,
        admission_config=args.admission_config, output=args.output, no_color=args.no_color,
    )


def validate(options: LabelOptions) -> None:
    import os

    validate_output(options.output)
    if options.undo_file is not None:
        if options.dry_run != "none":
            raise UsageError("--undo-file: a dry run changes nothing and writes no undo file")
        if os.path.lexists(options.undo_file):
            raise UsageError(f"--undo-file {options.undo_file} already exists: undo files are never overwritten")


# --- planning ------------------------------------------------------------------------------
def plan_label(view: ClusterView, options: LabelOptions) -> list[NamespacePlan]:
    """Plans per namespace; one not read to the end (``view.incomplete``) is refused unless --force."""
    assert options.request is not None
    plans = []
    for ns in view.namespaces:
        name = ns["metadata"]["name"]
        labels = ns["metadata"].get("labels") or {}
        stage = stage_target(labels, options.request, view.config) if options.request.stage else None
        plans.append(plan_namespace(ns, view.pods.get(name, []), view.workloads.get(name, []),
                                    desired_labels(labels, options.request, view.config), view.config, view.registry,
                                    force=options.force, stage=stage, read_errors=view.incomplete(name)))
    return plans


def plan_undo(view: ClusterView, options: LabelOptions) -> list[NamespacePlan]:
    assert options.undo is not None
    by_name = {ns["metadata"]["name"]: ns for ns in view.namespaces}
    plans = []
    for entry in options.undo.namespaces:
        ns = by_name.get(entry.name)
        if ns is None:
            continue  # not found: in view.errors
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
        plan = plan_namespace(ns, view.pods.get(entry.name, []), view.workloads.get(entry.name, []),
                              entry.previous, view.config, view.registry, force=options.force,
                              skip_exempt=False, expected_current=expected,
                              read_errors=view.incomplete(entry.name), refuse_violations=False)
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


def _fatal(exc: Exception) -> bool:
    from ..cluster.inventory import FATAL

    return isinstance(exc, FATAL)


def server_dry_run(cluster: Any, plans: list[NamespacePlan], view: ClusterView) -> None:
    """Send each planned patch with dryRun=All and compare the server's warnings with the engine's
    (``view`` names the server version for a note on wording)."""
    from ..cluster.errors import ClusterError

    for plan in plans:
        if plan.action not in (CHANGE, REFUSED):
            continue
        try:
            response = cluster.patch_merge(f"/api/v1/namespaces/{plan.name}", patch_body(plan), dry_run=True)
        except ClusterError as exc:
            if _fatal(exc):
                raise FatalError(str(exc)) from None
            plan.server = {"error": str(exc), "status": exc.status, "reason": exc.reason, "agrees": None}
            continue
        agrees, note = compare_server_warnings(
            response.warnings, plan.expected_warnings, plan.expected_rejected,
            (view.server_version or {}).get("gitVersion"), view.server_minor)
        server: dict[str, Any] = {"warnings": response.warnings, "expected": plan.expected_warnings, "agrees": agrees}
        if note or plan.expected_note:
            server["note"] = note or plan.expected_note
        plan.server = server


# --- applying ------------------------------------------------------------------------------
def _describe(options: LabelOptions) -> str:
    words = ["kubectl", "pss", "label"]
    if options.undo is not None:
        words += ["--undo", options.undo.path or ""]
    else:
        words += options.namespaces + (["-A"] if options.all_namespaces else [])
        words += ["-l", options.selector] if options.selector is not None else []
        assert options.request is not None
        for mode, value in options.request.as_dict().items():
            if mode in MODES and value is not None:
                words += [f"--{mode}", value]
        words += ["--stage"] if options.request.stage else []
    words += ["--force"] if options.force else []
    return shlex.join(words)


def confirm(count: int, context: str | None) -> bool:
    sys.stderr.write(f'Apply these label changes to {count} namespace(s) on context "{context or "-"}"? [y/N] ')
    sys.stderr.flush()
    answer = sys.stdin.readline()
    return answer.strip().lower() in ("y", "yes")


def _record(write: Callable[[], None], failed: Callable[[OSError], str]) -> None:
    """One write of the undo file, done whole even if a signal arrives meanwhile (acted on after it)."""
    from ..cluster.debugpod import _signals_held, signal_exception

    with _signals_held() as received:
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
            if _fatal(exc):
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


def _interrupted(writer: UndoWriter) -> None:
    """Ctrl-C or SIGTERM while applying: say where the way back is (or that nothing changed)."""
    if writer.undo.namespaces:
        print(f"interrupted: undo file: {writer.path} (restore with: kubectl pss label --undo {writer.path})",
              file=sys.stderr)
    else:
        writer.discard()
        print("interrupted: no namespace was changed", file=sys.stderr)


# --- the report ------------------------------------------------------------------------------
def summary(plans: list[NamespacePlan]) -> dict[str, int]:
    count = lambda action: sum(1 for p in plans if p.action == action)  # noqa: E731
    results = [p.result["status"] for p in plans if p.result is not None]
    return {
        "namespaces": len(plans), "change": count(CHANGE), "unchanged": count(UNCHANGED), "exempt": count(EXEMPT),
        "refused": count(REFUSED), "changedSince": count(CHANGED_SINCE),
        "applied": results.count("applied"), "failed": results.count("failed"),
        "notAttempted": results.count("not attempted"),
    }


def build_report(view: ClusterView, options: LabelOptions, plans: list[NamespacePlan], outcome: str,
                 undo_path: str | None) -> dict[str, Any]:
    if options.undo is not None:
        request: dict[str, Any] = {"undo": options.undo.path, "undoContext": options.undo.context}
    else:
        assert options.request is not None
        request = options.request.as_dict()
    request.update({"force": options.force, "dryRun": options.dry_run})
    return {
        "operation": "undo" if options.undo is not None else "label",
        "cluster": view.cluster_dict(),
        "request": request,
        "outcome": outcome,
        "namespaces": [_with_completeness(p.as_dict(), view) for p in plans],
        "summary": summary(plans),
        "undoFile": undo_path,
        "errors": view.errors,
        "notes": view.notes,
    }


def _with_completeness(entry: dict[str, Any], view: ClusterView) -> dict[str, Any]:
    completeness(entry, view.incomplete(entry["name"]))
    return entry


def exit_code(report: dict[str, Any]) -> int:
    if not all(ns["complete"] for ns in report["namespaces"]):
        return EXIT_ERROR  # something in scope was not read to the end
    s = report["summary"]
    problems = (s["refused"] or s["changedSince"] or s["failed"] or s["notAttempted"] or report["errors"]
                or report["outcome"] == "not applied"
                or any("error" in (ns.get("server") or {}) for ns in report["namespaces"]))
    return EXIT_FINDINGS if problems else EXIT_OK


def _print_errors(report: dict[str, Any]) -> None:
    for error in report["errors"]:
        where = f'namespace "{error["namespace"]}"' if error["namespace"] else "cluster"
        print(f"error: {where}: {error['resource']}: {error['error']}", file=sys.stderr)
    for ns in report["namespaces"]:
        for warning in (ns.get("result") or {}).get("warnings") or ():
            print(f'Warning: namespace "{ns["name"]}": {warning}', file=sys.stderr)  # as kubectl shows them
        server = ns.get("server") or {}
        if server.get("agrees") is False:
            print(f'DISAGREEMENT: namespace "{ns["name"]}": the API server\'s dry run and kubectl-pss differ '
                  "(is --admission-config the server's configuration?)", file=sys.stderr)


# --- run -------------------------------------------------------------------------------------
def _connect(options: LabelOptions) -> Any:
    from ..cluster.client import connect
    from ..cluster.errors import ClusterError

    try:
        return connect(options.connection)
    except ClusterError as exc:
        raise FatalError(str(exc)) from None


def _selected_namespaces(cluster: Any, selector: str) -> list[str]:
    from ..cluster.errors import ClusterError

    try:
        return [ns["metadata"]["name"] for ns in cluster.list_items("/api/v1/namespaces", label_selector=selector)]
    except ClusterError as exc:
        raise FatalError(str(exc)) from None


def _connect_for_undo(options: LabelOptions) -> Any:
    undo = options.undo
    assert undo is not None
    if options.connection.context is None and undo.context:
        options.connection = dataclasses.replace(options.connection, context=undo.context)
    elif undo.context and options.connection.context != undo.context and not options.force:
        raise UsageError(f'--undo: the undo file was written for context "{undo.context}", not '
                         f'"{options.connection.context}" (drop --context, or --force)')
    cluster = _connect(options)
    if undo.server and cluster.server.rstrip("/") != undo.server.rstrip("/") and not options.force:
        raise FatalError(f'--undo: the undo file was written for the API server {undo.server}; context '
                         f'"{cluster.context}" talks to {cluster.server} (--force to restore there anyway)')
    return cluster


def _empty_view(options: LabelOptions, cluster: Any) -> ClusterView:
    """Nothing in scope (no namespace matches -l): an empty view, without reading the cluster."""
    from ..policy.registry import registry_for
    from .clusterview import admission_config

    config, _ = admission_config(options.admission_config)
    return ClusterView(context=cluster.context, server_version=None, server_minor=None, registry=registry_for(None),
                       config=config, namespaces=[], notes=[f'no namespace matches -l "{options.selector}"'])


def _stdin_is_tty() -> bool:
    try:
        return sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


def run(options: LabelOptions) -> int:
    cluster = None
    if options.undo is not None:
        cluster = _connect_for_undo(options)
        names: list[str] | None = [entry.name for entry in options.undo.namespaces]
    elif options.selector is not None:
        cluster = _connect(options)
        names = _selected_namespaces(cluster, options.selector)
    else:
        names = None if options.all_namespaces else options.namespaces
    if names == []:
        view = _empty_view(options, cluster)
    else:
        view = load_cluster_view(options.connection, names, options.admission_config)
    plans = plan_undo(view, options) if options.undo is not None else plan_label(view, options)
    if options.dry_run != "client" and any(p.action in (CHANGE, REFUSED) for p in plans):
        cluster = cluster or _connect(options)
        server_dry_run(cluster, plans, view)
    todo = [p for p in plans if p.action == CHANGE]
    table = options.output == "table"

    def finish(outcome: str, undo_path: str | None = None, plan_shown: bool = False) -> int:
        report = build_report(view, options, plans, outcome, undo_path)
        if not table:
            write_report(report, options.output, sys.stdout, lambda r, out: render_label(r, out, options.no_color))
        elif plan_shown:
            render_result(report, sys.stdout, options.no_color)
        else:
            render_plan(report, sys.stdout, options.no_color)
        _print_errors(report)
        if undo_path and not table:
            print(f"undo file: {undo_path} (restore with: kubectl pss label --undo {undo_path})", file=sys.stderr)
        return exit_code(report)

    if options.dry_run != "none":
        return finish("planned")
    if not todo:
        return finish("nothing to apply")
    if table:  # the plan, always, before anything changes
        render_plan(build_report(view, options, plans, "planned", None), sys.stdout, options.no_color)
        sys.stdout.flush()
    if not options.yes:
        if not _stdin_is_tty():
            print("error: not applied: stdin is not a terminal; pass --yes to apply (or --dry-run=server to check)",
                  file=sys.stderr)
            return finish("not applied", plan_shown=table)
        if not confirm(len(todo), view.context):
            print("not applied", file=sys.stderr)
            return finish("not applied", plan_shown=table)
    cluster = cluster or _connect(options)
    path = options.undo_file or default_path(cluster.context)
    writer = UndoWriter(path, UndoFile(context=cluster.context, server=cluster.server,
                                       created_at=utc_now().strftime("%Y-%m-%dT%H:%M:%SZ"),
                                       command=_describe(options)))
    from ..cluster.debugpod import Terminated, _signals_raise

    try:
        with _signals_raise():
            try:
                writer.create()
            except OSError as exc:
                raise FatalError(f"cannot write the undo file {path}: {exc.strerror or exc}; nothing was changed") \
                    from None
            apply(cluster, plans, writer)
    except Terminated as exc:
        _interrupted(writer)
        print("error: terminated", file=sys.stderr)
        return 128 + exc.signum
    except KeyboardInterrupt:
        _interrupted(writer)
        raise
    applied = sum(1 for p in plans if p.result and p.result["status"] == "applied")
    kept = bool(writer.undo.namespaces)  # applied, or perhaps applied (outcome unknown)
    if not kept:
        writer.discard()
    outcome = "applied" if applied == len(todo) else ("partially applied" if applied else "failed")
    return finish(outcome, path if kept else None, plan_shown=table)
