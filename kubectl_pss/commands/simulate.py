"""``kubectl pss simulate LEVEL``: what enforcing a level would reject, grouped by owning workload.

Unlike the server's namespace dry-run it reads workload templates too (Deployments scaled
to 0, CronJobs between runs), has no pod cap or time budget, never truncates, and also
answers for namespaces whose enforce label is already at that level.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from ..analysis.namespaces import namespace_notes, policy_version, simulate_namespace
from ..errors import EXIT_ERROR, EXIT_FINDINGS, EXIT_OK, UsageError
from ..operations.gate import read_baseline, run_gate
from ..operations.cluster_state import ClusterState, Source, completeness, load_state
from ..policy import Level, Version
from ..policy.admission import MODES
from ..report.audit import print_read_errors
from ..report.render import write_report
from ..report.simulate import render_simulation
from ..scope import NamespaceScope
from .flags import (add_gate_flags, add_state_flags, fail_on_arg, level_and_version_args, namespace_scope_arg,
                    source_args, validate_output)
from .flags.fleet import add_fleet_flags, Fleet, fleet_args

if TYPE_CHECKING:
    from ..analysis.gate import Baseline, FailOn

EXAMPLES = """
# What enforcing restricted on every namespace of the kind snapshot would reject (a snapshot: all of it)
kubectl pss simulate restricted --snapshot examples/kind-cluster.json

# baseline at policy v1.29 on one namespace, compared with the API server's own dry run
kubectl pss simulate baseline --version v1.29 -n shop --server-dry-run
"""
EXIT_CODES = ((0, 'nothing would be rejected (with --fail-on: nothing fails the gate)'),
              (1, 'something would be rejected; with --fail-on MODE|LEVEL: a new violation of that mode (with the '
                  'simulated label set) or level'))


@dataclass
class SimulateOptions:
    level: Level
    version: Version
    mode: str
    source: Source
    scope: NamespaceScope  # -n/-A/-l/--exclude-namespace (nothing: the context's namespace)
    admission_config: str | None
    server_dry_run: bool
    output: str
    no_color: bool
    fleet: Fleet | None = None
    fail_on: "FailOn | None" = None
    baseline: str | None = None
    write_baseline: str | None = None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("level", help="privileged, baseline or restricted")
    parser.add_argument("--version", dest="policy_version", default="latest",
                        help='policy version "v1.N" or "latest" (the cluster\'s own version; default)')
    parser.add_argument("--mode", default="enforce", help="enforce (default), audit or warn")
    def own(group: argparse.ArgumentParser) -> None:
        group.add_argument("--server-dry-run", action="store_true",
                           help="also ask the API server (label patch with dryRun=All, nothing changes) and compare")
        add_gate_flags(group)

    add_state_flags(parser, all_by_default=False, own=own)
    add_fleet_flags(parser)


def complete(args: argparse.Namespace) -> SimulateOptions:
    level, version = level_and_version_args(args.level, args.policy_version, "level")
    source = source_args(args)
    return SimulateOptions(
        level=level,
        version=version,
        mode=args.mode,
        source=source,
        scope=namespace_scope_arg(args),
        admission_config=args.admission_config,
        server_dry_run=args.server_dry_run,
        output=args.output,
        no_color=args.no_color,
        fleet=fleet_args(args, source.connection),
        fail_on=None if args.fail_on is None else fail_on_arg(args.fail_on),
        baseline=args.baseline,
        write_baseline=args.write_baseline,
    )


def validate(options: SimulateOptions) -> None:
    if options.mode not in MODES:
        raise UsageError(f'invalid --mode "{options.mode}": must be one of enforce, audit, warn')
    if options.server_dry_run and options.source.snapshot:
        raise UsageError("--server-dry-run needs a live cluster, not --snapshot")
    if options.server_dry_run and options.mode != "enforce":
        raise UsageError("--server-dry-run needs --mode enforce: the API server only dry-runs enforce label changes")
    validate_output(options.output)


def build_simulation(state: ClusterState, options: SimulateOptions) -> tuple[dict[str, Any], list]:
    simulations = [
        simulate_namespace(ns, state.pods.get(ns["metadata"]["name"], []), state.workloads.get(ns["metadata"]["name"], []),
                           options.level, options.version, options.mode, state.config, state.registry,
                           state.verdicts)
        for ns in state.namespaces
    ]
    state.log_verdicts()
    entries = [s.as_dict() for s in simulations]
    for entry in entries:
        if completeness(entry, state.incomplete(entry["name"])):
            entry["verdict"] = "exempt" if entry["exempt"] else "affected" if entry["wouldReject"] else "ok"
        else:  # what was read may already be rejected; "nothing would be" is unknown
            entry["verdict"] = "unknown"
            entry["wouldReject"] = entry["wouldReject"] or None
    affected = [s for s in simulations if s.would_reject]
    report = state.report("SimulateReport", {
        "level": options.level.value,
        "version": str(options.version),
        "mode": options.mode,
        "policyVersion": policy_version(options.version, state.registry),
        "cluster": state.cluster_dict(),
        "namespaces": entries,
        "summary": {
            "namespaces": len(simulations),
            "namespacesAffected": len(affected),
            "exemptNamespaces": sum(1 for s in simulations if s.exempt),
            "podsRejected": sum(s.rejected_pods() for s in affected),
            "workloadsRejected": sum(s.rejected_workloads() for s in affected),
            "exemptPods": sum(len(s.exempt_pods) for s in simulations),
        },
        "notes": state.notes + namespace_notes(simulations),
    })
    return report, simulations


def simulation_report(source: Source, options: SimulateOptions, baseline: "Baseline | None") -> dict[str, Any]:
    with source:
        state = load_state(source, options.scope, options.admission_config, "simulating")
        report, _ = build_simulation(state, options)
        run_gate(state, report, options.fail_on, baseline, options.write_baseline, options.version,
                 (options.mode, options.level, options.version))
        if options.server_dry_run:
            from ..operations.labels import dry_run_enforce

            assert source.connection is not None
            dry_run_enforce(source.connection.cluster(), state, options.level, options.version,
                            [ns for ns in report["namespaces"] if not ns["exempt"]])
            disagreements = [ns["name"] for ns in report["namespaces"] if ns.get("server", {}).get("agrees") is False]
            report["summary"]["serverDisagreements"] = len(disagreements)
    return report


def print_errors(report: dict[str, Any]) -> None:
    """The read errors, and each failed or disagreeing server dry run, on stderr."""
    for ns in report["namespaces"]:
        if "error" in ns.get("server", {}):
            print(f'error: namespace "{ns["name"]}": the API server\'s dry run failed: {ns["server"]["error"]}',
                  file=sys.stderr)
    for ns in report["namespaces"]:
        if ns.get("server", {}).get("agrees") is False:
            print(f'error: namespace "{ns["name"]}": the API server\'s dry run and kubectl-pss differ '
                  "(a bug in one of the two; please report it with -o json)", file=sys.stderr)
    print_read_errors(report["errors"])


def summary_line(report: dict[str, Any]) -> str:
    s = report["summary"]
    unread = sum(1 for ns in report["namespaces"] if not ns["complete"])
    return (f"{s['namespacesAffected']} of {s['namespaces']} namespace(s) affected"
            + (f", {unread} unknown" if unread else "") + f"; {s['podsRejected']} pod(s) rejected")


def run(options: SimulateOptions) -> int:
    baseline = read_baseline(options.baseline, "audit") if options.baseline else None
    if options.fleet is not None:
        from ..operations.fleet import fleet_exit_code, run_fleet
        from ..report.fleet import write_fleet

        results = run_fleet(options.source.connection, options.fleet.contexts, options.fleet.parallel,
                            lambda conn: simulation_report(replace(options.source, connection=conn), options, baseline))
        write_fleet(results, "SimulateReport", options.output, sys.stdout,
                    lambda r, out: render_simulation(r, out, options.no_color), summary_line, print_errors)
        return fleet_exit_code(results, exit_code)
    report = simulation_report(options.source, options, baseline)
    write_report(report, options.output, sys.stdout, lambda r, out: render_simulation(r, out, options.no_color))
    print_errors(report)
    return exit_code(report)


def exit_code(report: dict[str, Any]) -> int:
    servers = [ns.get("server") or {} for ns in report["namespaces"]]
    if report["errors"] or not all(ns["complete"] for ns in report["namespaces"]) or any("error" in s for s in servers):
        return EXIT_ERROR  # (as label: a failed server dry run checked nothing)
    disagrees = any(server.get("agrees") is False for server in servers)
    failing = report["gate"]["failedNamespaces"] if "gate" in report else report["summary"]["namespacesAffected"]
    return EXIT_FINDINGS if failing or disagrees else EXIT_OK
