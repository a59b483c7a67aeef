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
import shlex
import sys
from dataclasses import dataclass
from typing import Any

from ..analysis.rollout import CHANGE, CHANGED_SINCE, EXEMPT, REFUSED, UNCHANGED, LabelRequest, NamespacePlan
from ..errors import EXIT_ERROR, EXIT_FINDINGS, EXIT_OK, FatalError, UsageError
from ..operations.cluster_state import ClusterState, completeness
from ..operations.connection import Connection
from ..operations.undofile import UndoFile, UndoFileError, read_undo_file
from ..policy.admission import MODES
from ..report.label import print_label_diagnostics, render_label, render_plan, render_result
from ..report.render import TABLE_FORMATS, write_report
from ..scope import LabelSelector, NamespaceScope
from .flags import (
    add_connection_flags,
    add_dry_run_flag,
    add_namespace_selector_flags,
    add_output_flags,
    connection_args,
    dry_run_arg,
    EXCLUDE_NAMED,
    exclude_arg,
    level_version_arg,
    namespaces_arg,
    selector_arg,
    validate_output,
)

EXAMPLES = """
# The plan only: what enforcing baseline on shop would change and reject
kubectl pss label shop --enforce baseline --dry-run=client

# The safe first step: audit and warn at restricted, enforce left as it is
kubectl pss label shop --stage --enforce restricted --yes

# Enforce restricted:v1.29 on the namespaces labelled team=web (asks before applying)
kubectl pss label -l team=web --enforce restricted:v1.29

# Warn at restricted everywhere but kube-* and the namespaces labelled legacy
kubectl pss label -l '!legacy' --exclude-namespace 'kube-*' --warn restricted --yes

# Restore what an earlier run changed
kubectl pss label --undo kubectl-pss-undo-kind-20261207T181133Z.json --yes
"""
EXIT_CODES = ((0, 'applied (or planned) with nothing refused or failed'), (1, 'a namespace refused, failed, changed since its plan, or the change was not applied'))


@dataclass
class LabelOptions:
    connection: Connection
    namespaces: list[str]
    all_namespaces: bool
    selector: LabelSelector | None
    request: LabelRequest | None  # None with --undo
    undo: UndoFile | None
    exclude: tuple[str, ...]
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
    add_namespace_selector_flags(parser)
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
    add_dry_run_flag(parser, "client (or --dry-run alone): the plan only; server: the plan and the API server's "
                             "dry run; nothing changes")
    parser.add_argument("--undo", metavar="FILE", help="restore the labels an earlier run changed (its undo file)")
    parser.add_argument("--undo-file", metavar="FILE",
                        help="where to write the undo file (default ./kubectl-pss-undo-<context>-<UTC time>.json; "
                             "never overwritten)")
    parser.add_argument("--admission-config", metavar="FILE",
                        help="the API server's AdmissionConfiguration (defaults, exemptions: exempt namespaces are skipped)")
    add_output_flags(parser)
    add_connection_flags(parser)


def complete(args: argparse.Namespace) -> LabelOptions:
    dry_run = dry_run_arg(args.dry_run)
    request = None
    undo = None
    given = {mode: getattr(args, mode) for mode in MODES if getattr(args, mode) is not None}
    if args.undo is not None:
        if given or args.stage:
            raise UsageError("--undo restores an undo file: --enforce, --audit, --warn and --stage do not apply")
        if args.namespaces or args.namespace or args.all_namespaces or args.selector or args.exclude_namespace:
            raise UsageError("--undo restores the namespaces its file names: drop NS, -n, -A, -l and "
                             "--exclude-namespace")
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
    selector = selector_arg(args.selector)
    exclude = exclude_arg(args.exclude_namespace)
    if exclude and namespaces:
        raise UsageError(EXCLUDE_NAMED)
    return LabelOptions(
        connection=connection_args(args),
        namespaces=namespaces, all_namespaces=args.all_namespaces, selector=selector, request=request, undo=undo,
        exclude=exclude,
        force=args.force, yes=args.yes, dry_run=dry_run, undo_file=args.undo_file,
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


# --- applying ------------------------------------------------------------------------------
def _describe(options: LabelOptions) -> str:
    words = ["kubectl", "pss", "label"]
    if options.undo is not None:
        words += ["--undo", options.undo.path or ""]
    else:
        words += options.namespaces + (["-A"] if options.all_namespaces else [])
        words += ["-l", str(options.selector)] if options.selector is not None else []
        words += [word for pattern in options.exclude for word in ("--exclude-namespace", pattern)]
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


def build_report(state: ClusterState, options: LabelOptions, plans: list[NamespacePlan], outcome: str,
                 undo_path: str | None) -> dict[str, Any]:
    if options.undo is not None:
        request: dict[str, Any] = {"undo": options.undo.path, "undoContext": options.undo.context}
    else:
        assert options.request is not None
        request = options.request.as_dict()
    request.update({"force": options.force, "dryRun": options.dry_run})
    return state.report("LabelReport", {
        "operation": "undo" if options.undo is not None else "label",
        "cluster": state.cluster_dict(),
        "request": request,
        "outcome": outcome,
        "namespaces": [_with_completeness(p.as_dict(), state) for p in plans],
        "summary": summary(plans),
        "undoFile": undo_path,
        "notes": state.notes,
    })


def _with_completeness(entry: dict[str, Any], state: ClusterState) -> dict[str, Any]:
    completeness(entry, state.incomplete(entry["name"]))
    return entry


def exit_code(report: dict[str, Any]) -> int:
    if not all(ns["complete"] for ns in report["namespaces"]):
        return EXIT_ERROR  # something in scope was not read to the end
    servers = [ns.get("server") or {} for ns in report["namespaces"]]
    if report["errors"] or any("error" in server for server in servers):
        return EXIT_ERROR  # not read (a named namespace that does not exist), or the server's dry run failed

    s = report["summary"]
    problems = (s["refused"] or s["changedSince"] or s["failed"] or s["notAttempted"]
                or report["outcome"] == "not applied" or any(server.get("agrees") is False for server in servers))
    return EXIT_FINDINGS if problems else EXIT_OK


# --- run -------------------------------------------------------------------------------------
def _stdin_is_tty() -> bool:
    try:
        return sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


def run(options: LabelOptions) -> int:
    from ..operations import labels
    from ..operations.cluster_state import load_live_state
    from ..operations.undofile import UndoWriter, default_path, utc_now
    from ..scope import excluded

    with options.connection as connection:
        if options.undo is not None:
            labels.connect_for_undo(connection, options.undo, options.force)
            names: list[str] | None = [entry.name for entry in options.undo.namespaces]
        elif options.selector is not None:
            names = [name for name in labels.selected_namespaces(connection.cluster(), str(options.selector))
                     if not excluded(name, options.exclude)]
        else:
            names = None if options.all_namespaces else options.namespaces
        # read again with the selector: a namespace relabelled since is out of scope, never patched
        scope = NamespaceScope(None if names is None else tuple(names), options.selector, options.exclude)
        if names == []:
            state = labels.empty_state(connection.cluster(), options.admission_config,
                                       f'no namespace matches -l "{options.selector}"'
                                       + (" outside --exclude-namespace" if options.exclude else ""))
            state.scope = scope
        else:
            state = load_live_state(connection, scope, options.admission_config)
        if options.undo is not None:
            plans = labels.plan_undo(state, options.undo, options.force)
        else:
            assert options.request is not None
            plans = labels.plan_label(state, options.request, options.force)
        if options.dry_run != "client" and any(p.action in (CHANGE, REFUSED) for p in plans):
            labels.server_dry_run(connection.cluster(), plans, state)
            if options.undo is None:  # an undo restores what was there, violations or not
                for plan in plans:
                    labels.refuse_unconfirmed(plan, options.force)
        todo = [p for p in plans if p.action == CHANGE]
        table = options.output in TABLE_FORMATS

        def finish(outcome: str, undo_path: str | None = None, plan_shown: bool = False) -> int:
            report = build_report(state, options, plans, outcome, undo_path)
            if not table:
                write_report(report, options.output, sys.stdout, lambda r, out: render_label(r, out, options.no_color))
            elif plan_shown:
                render_result(report, sys.stdout, options.no_color)
            else:
                render_plan(report, sys.stdout, options.no_color)
            print_label_diagnostics(report)
            if undo_path and not table:
                print(f"undo file: {undo_path} (restore with: kubectl pss label --undo {undo_path})", file=sys.stderr)
            return exit_code(report)

        if options.dry_run != "none":
            return finish("planned")
        if not todo:
            return finish("nothing to apply")
        if table:  # the plan, always, before anything changes
            render_plan(build_report(state, options, plans, "planned", None), sys.stdout, options.no_color)
            sys.stdout.flush()
        if not options.yes:
            if not _stdin_is_tty():
                print("error: not applied: stdin is not a terminal; pass --yes to apply (or --dry-run=server to check)",
                      file=sys.stderr)
                return finish("not applied", plan_shown=table)
            if not confirm(len(todo), state.context):
                print("not applied", file=sys.stderr)
                return finish("not applied", plan_shown=table)
        cluster = connection.cluster()
        path = options.undo_file or default_path(cluster.context)
        writer = UndoWriter(path, UndoFile(context=cluster.context, server=cluster.server,
                                           created_at=utc_now().strftime("%Y-%m-%dT%H:%M:%SZ"),
                                           command=_describe(options)))
        from ..cluster.signals import signals_raise

        try:
            with signals_raise():
                try:
                    writer.create()
                except OSError as exc:
                    raise FatalError(f"cannot write the undo file {path}: {exc.strerror or exc}; nothing was "
                                     "changed") from None
                labels.apply(cluster, plans, writer)
        except KeyboardInterrupt:  # Ctrl-C, or SIGTERM/SIGHUP (Terminated): cli says which
            labels.interrupted(writer)
            raise
        applied = sum(1 for p in plans if p.result and p.result["status"] == "applied")
        kept = bool(writer.undo.namespaces)  # applied, or perhaps applied (outcome unknown)
        if not kept:
            writer.discard()
        outcome = "applied" if applied == len(todo) else ("partially applied" if applied else "failed")
        return finish(outcome, path if kept else None, plan_shown=table)
