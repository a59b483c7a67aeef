"""``kubectl pss simulate LEVEL``: what enforcing a level would reject, grouped by owning workload.

Unlike the server's namespace dry-run it reads workload templates too (Deployments scaled
to 0, CronJobs between runs), has no pod cap or time budget, never truncates, and also
answers for namespaces whose enforce label is already at that level.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from typing import Any

from ..errors import EXIT_ERROR, EXIT_FINDINGS, EXIT_OK, UsageError
from ..policy import LATEST, Level, Version
from ..policy.admission import MODES, level_label, resolve_policy, version_label
from ..policy.namespaces import namespace_notes, policy_version, simulate_namespace
from ..report.render import write_report
from ..report.simulate import render_simulation
from .clusterview import ClusterView, Source, completeness, load_view
from .common import (
    add_admission_config_flag,
    add_connection_flags,
    add_output_flags,
    add_scope_flags,
    add_snapshot_flags,
    level_arg,
    scope_arg,
    source_args,
    validate_output,
    version_arg,
)


@dataclass
class SimulateOptions:
    level: Level
    version: Version
    mode: str
    source: Source
    namespaces: list[str] | None  # None: all namespaces
    admission_config: str | None
    server_dry_run: bool
    output: str
    no_color: bool


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("level", help="privileged, baseline or restricted")
    parser.add_argument("--version", dest="policy_version", default="latest",
                        help='policy version "v1.N" or "latest" (the cluster\'s own version; default)')
    parser.add_argument("--mode", default="enforce", help="enforce (default), audit or warn")
    add_scope_flags(parser, all_by_default=True)
    add_admission_config_flag(parser)
    parser.add_argument("--server-dry-run", action="store_true",
                        help="also ask the API server (label patch with dryRun=All, nothing changes) and compare")
    add_output_flags(parser)
    add_connection_flags(parser)
    add_snapshot_flags(parser)


def complete(args: argparse.Namespace) -> SimulateOptions:
    namespaces = scope_arg(args)
    return SimulateOptions(
        level=level_arg(args.level, "level"),
        version=version_arg(args.policy_version),
        mode=args.mode,
        source=source_args(args),
        namespaces=namespaces or None,
        admission_config=args.admission_config,
        server_dry_run=args.server_dry_run,
        output=args.output,
        no_color=args.no_color,
    )


def validate(options: SimulateOptions) -> None:
    if options.mode not in MODES:
        raise UsageError(f'invalid --mode "{options.mode}": must be one of enforce, audit, warn')
    if options.server_dry_run and options.source.snapshot:
        raise UsageError("--server-dry-run needs a live cluster, not --snapshot")
    if options.server_dry_run and options.mode != "enforce":
        raise UsageError("--server-dry-run needs --mode enforce: the API server only dry-runs enforce label changes")
    validate_output(options.output)


def build_simulation(view: ClusterView, options: SimulateOptions) -> tuple[dict[str, Any], list]:
    simulations = [
        simulate_namespace(ns, view.pods.get(ns["metadata"]["name"], []), view.workloads.get(ns["metadata"]["name"], []),
                           options.level, options.version, options.mode, view.config, view.registry)
        for ns in view.namespaces
    ]
    entries = [s.as_dict() for s in simulations]
    for entry in entries:
        if completeness(entry, view.incomplete(entry["name"])):
            entry["verdict"] = "exempt" if entry["exempt"] else "affected" if entry["wouldReject"] else "ok"
        else:  # what was read may already be rejected; "nothing would be" is unknown
            entry["verdict"] = "unknown"
            entry["wouldReject"] = entry["wouldReject"] or None
    affected = [s for s in simulations if s.would_reject]
    report = {
        "level": options.level.value,
        "version": str(options.version),
        "mode": options.mode,
        "policyVersion": policy_version(options.version, view.registry),
        "cluster": view.cluster_dict(),
        "namespaces": entries,
        "summary": {
            "namespaces": len(simulations),
            "namespacesAffected": len(affected),
            "exemptNamespaces": sum(1 for s in simulations if s.exempt),
            "podsRejected": sum(s.rejected_pods() for s in affected),
            "workloadsRejected": sum(s.rejected_workloads() for s in affected),
            "exemptPods": sum(len(s.exempt_pods) for s in simulations),
        },
        "errors": view.errors,
        "notes": view.notes + namespace_notes(simulations),
    }
    return report, simulations


def server_dry_run(view: ClusterView, options: SimulateOptions, report: dict[str, Any]) -> None:
    """Send the same enforce label change with dryRun=All per namespace and compare the server's warnings."""
    from ..cluster.client import connect
    from ..cluster.errors import ClusterError
    from ..policy.rollout import apply_patch, compare_server_warnings, expected_server_warnings

    cluster = connect(options.source.connection)
    by_name = {ns["metadata"]["name"]: ns for ns in view.namespaces}
    patch = {level_label("enforce"): options.level.value, version_label("enforce"): str(options.version)}
    for entry in report["namespaces"]:
        if entry["exempt"]:
            continue
        name = entry["name"]
        labels = by_name[name]["metadata"].get("labels") or {}
        new_labels = apply_patch(labels, patch)
        expected, note, rejected = expected_server_warnings(
            name, resolve_policy(labels, view.config.defaults), resolve_policy(new_labels, view.config.defaults),
            new_labels, view.pods.get(name, []), False, view.config, view.registry)
        try:
            response = cluster.patch_merge(f"/api/v1/namespaces/{name}", {"metadata": {"labels": patch}}, dry_run=True)
        except ClusterError as exc:
            entry["server"] = {"error": str(exc), "agrees": None}
            continue
        agrees, budget_note = compare_server_warnings(response.warnings, expected, rejected,
                                                      (view.server_version or {}).get("gitVersion"), view.server_minor)
        server: dict[str, Any] = {"warnings": response.warnings, "expected": expected}
        if note or budget_note:
            server["note"] = budget_note or note
        server["agrees"] = agrees
        entry["server"] = server


def run(options: SimulateOptions) -> int:
    view = load_view(options.source, options.namespaces, options.admission_config)
    report, _ = build_simulation(view, options)
    if options.server_dry_run:
        server_dry_run(view, options, report)
        disagreements = [ns["name"] for ns in report["namespaces"] if ns.get("server", {}).get("agrees") is False]
        report["summary"]["serverDisagreements"] = len(disagreements)
        for name in disagreements:
            print(f'DISAGREEMENT: namespace "{name}": the API server\'s dry run and kubectl-pss differ '
                  "(a bug in one of the two; please report it with -o json)", file=sys.stderr)
    write_report(report, options.output, sys.stdout, lambda r, out: render_simulation(r, out, options.no_color))
    for error in report["errors"]:
        where = f'namespace "{error["namespace"]}"' if error["namespace"] else "cluster"
        print(f"error: {where}: {error['resource']}: {error['error']}", file=sys.stderr)
    if report["errors"] or not all(ns["complete"] for ns in report["namespaces"]):
        return EXIT_ERROR
    return EXIT_FINDINGS if report["summary"]["namespacesAffected"] else EXIT_OK


__all__ = ["LATEST", "SimulateOptions", "build_simulation", "run"]
