"""``kubectl pss audit [-A | -n NS ...]``: where each namespace stands against the Pod Security Standards.

Per namespace: its pod-security labels (or the cluster defaults), exemption, counts, the
strictest level every pod and workload template passes at the enforce version in force,
and the findings, grouped by owning workload, that keep it from the next stricter level.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from ..analysis.namespaces import audit_namespace, namespace_notes
from ..errors import EXIT_ERROR, EXIT_FINDINGS, EXIT_OK, UsageError
from ..operations.cluster_state import ClusterState, Source, completeness, load_state
from ..operations.gate import read_baseline, run_gate
from ..report.audit import print_read_errors, render_audit, roll_up
from ..report.render import OUTPUT_FORMATS, write_report
from ..scope import NamespaceScope
from .flags import add_gate_flags, add_state_flags, fail_on_arg, namespace_scope_arg, source_args, validate_output
from .flags.fleet import add_fleet_flags, Fleet, fleet_args
from .flags.reports import add_report_flags, report_args, ReportOptions

if TYPE_CHECKING:
    from ..analysis.gate import Baseline, FailOn

EXAMPLES = """
# Every namespace of the bundled kind snapshot (no cluster needed)
kubectl pss audit --snapshot examples/kind-cluster.json

# Every namespace of the current cluster; exit 1 if one cannot pass baseline (for CI)
kubectl pss audit -A --fail-on baseline

# The namespaces labelled team=web, but none of kube-*
kubectl pss audit -l team=web --exclude-namespace 'kube-*'

# Two namespaces, as JSON, with the API server's AdmissionConfiguration
kubectl pss audit -n shop -n web --admission-config admission.yaml -o json

# PolicyReports (wgpolicyk8s.io/v1alpha2) of every namespace: print them, then write them
kubectl pss audit -A -o policyreport
kubectl pss audit -A --write-reports --yes
"""
EXIT_CODES = ((0, 'the audit ran (findings do not fail it without --fail-on)'),
              (1, 'with --fail-on: some namespace has a new violation of its own MODE, or cannot pass LEVEL'))


@dataclass
class AuditOptions:
    source: Source
    scope: NamespaceScope  # -n/-A/-l/--exclude-namespace (nothing: the context's namespace)
    admission_config: str | None
    fail_on: "FailOn | None"
    output: str
    no_color: bool
    reports: ReportOptions | None = None  # -o policyreport or --write-reports
    fleet: Fleet | None = None
    baseline: str | None = None
    write_baseline: str | None = None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_state_flags(parser, all_by_default=False, own=add_gate_flags)
    add_report_flags(parser)
    add_fleet_flags(parser)


def complete(args: argparse.Namespace) -> AuditOptions:
    source = source_args(args)
    return AuditOptions(
        source=source,
        scope=namespace_scope_arg(args),
        admission_config=args.admission_config,
        fail_on=None if args.fail_on is None else fail_on_arg(args.fail_on),
        output=args.output,
        no_color=args.no_color,
        reports=report_args(args),
        fleet=fleet_args(args, source.connection),
        baseline=args.baseline,
        write_baseline=args.write_baseline,
    )


def validate(options: AuditOptions) -> None:
    validate_output(options.output, OUTPUT_FORMATS + ("policyreport",))
    if options.fleet is not None and options.reports is not None and not options.reports.write:
        raise UsageError("-o policyreport prints one cluster's reports: for several contexts use --write-reports "
                         "(each cluster gets its own) or one --context at a time")


def audit_entry(state: ClusterState, audit: Any) -> dict[str, Any]:
    """One namespace's JSON object; one not read to the end has no level (``strictestLevel`` null,
    ``violatesEnforce`` null unless what was read already violates it), ``complete`` false and its errors."""
    entry = audit.as_dict()
    if not completeness(entry, state.incomplete(entry["name"])):
        entry["strictestLevel"] = None
        entry["violatesEnforce"] = entry["violatesEnforce"] or None
    return entry


def build_audit(state: ClusterState) -> dict[str, Any]:
    """The audit report (the ``-o json`` contract) of the cluster's state."""
    audits = [audit_namespace(ns, state.pods.get(ns["metadata"]["name"], []),
                              state.workloads.get(ns["metadata"]["name"], []), state.config, state.registry,
                              state.verdicts)
              for ns in state.namespaces]
    state.log_verdicts()
    return state.report("AuditReport", {
        "cluster": state.cluster_dict(),
        "namespaces": [audit_entry(state, audit) for audit in audits],
        "notes": state.notes + namespace_notes(audits),
    })


def exit_code(report: dict[str, Any]) -> int:
    if report["errors"] or not all(ns["complete"] for ns in report["namespaces"]):
        return EXIT_ERROR
    if report.get("gate") and report["gate"]["failedNamespaces"]:
        return EXIT_FINDINGS
    return EXIT_OK


def gated_audit(state: ClusterState, options: AuditOptions, baseline: "Baseline | None") -> dict[str, Any]:
    """The audit report with its ``--fail-on`` gate (and ``--write-baseline`` written)."""
    report = build_audit(state)
    run_gate(state, report, options.fail_on, baseline, options.write_baseline)
    return report


def audit_report(source: Source, options: AuditOptions, baseline: "Baseline | None") -> dict[str, Any]:
    with source:
        return gated_audit(load_state(source, options.scope, options.admission_config, "auditing"), options, baseline)


def run(options: AuditOptions) -> int:
    baseline = read_baseline(options.baseline, "audit") if options.baseline else None
    if options.reports is not None:
        return run_reports(options, options.reports, baseline)
    if options.fleet is not None:
        from ..operations.fleet import fleet_exit_code, run_fleet
        from ..report.fleet import write_fleet

        results = run_fleet(options.source.connection, options.fleet.contexts, options.fleet.parallel,
                            lambda conn: audit_report(replace(options.source, connection=conn), options, baseline))
        write_fleet(results, "AuditReport", options.output, sys.stdout,
                    lambda r, out: render_audit(r, out, options.no_color), lambda r: roll_up(r["namespaces"]),
                    lambda r: print_read_errors(r["errors"]))
        return fleet_exit_code(results, exit_code)
    report = audit_report(options.source, options, baseline)
    write_report(report, options.output, sys.stdout, lambda r, out: render_audit(r, out, options.no_color))
    print_read_errors(report["errors"])
    return exit_code(report)


@dataclass
class ReportRun:
    """One cluster's ``-o policyreport`` / ``--write-reports`` run: its audit, its reports, their writes."""

    audit: dict[str, Any]
    desired: list[dict[str, Any]]
    written: Any = None  # operations.policyreports' outcome of the writes; None for -o policyreport


def report_run(source: Source, options: AuditOptions, reports: ReportOptions, baseline: "Baseline | None") -> ReportRun:
    from ..operations.policyreports import build_reports, write_reports

    with source:
        state = load_state(source, options.scope, options.admission_config, "auditing")
        run = ReportRun(gated_audit(state, options, baseline), build_reports(state, reports.api, reports.level))
        if reports.write:
            run.written = write_reports(source.connection, state, run.desired, reports.api, reports.yes,
                                        reports.dry_run)
    return run


def report_exit_code(run: ReportRun) -> int:
    code = exit_code(run.audit)
    return EXIT_ERROR if run.written is not None and run.written.failed else code


def run_reports(options: AuditOptions, reports: ReportOptions, baseline: "Baseline | None") -> int:
    """-o policyreport prints the reports; --write-reports plans (and with --yes makes) their writes, in each
    context of a fleet on its own cluster."""
    from ..report.policyreport import render_writes, write_report_list

    def show_writes(run: ReportRun, out: Any) -> None:
        render_writes(run.written.actions, run.written.applied, out, run.written.dry_run, run.written.notes)

    if options.fleet is not None:
        from ..logs import context_diagnostics, fleet_stderr
        from ..operations.fleet import FleetResult, fleet_exit_code, run_fleet
        from ..report.fleet import write_fleet
        from ..report.render import heading

        results = run_fleet(options.source.connection, options.fleet.contexts, options.fleet.parallel,
                            lambda conn: report_run(replace(options.source, connection=conn), options, reports, baseline))
        with fleet_stderr():
            for result in results:
                if result.result is not None:
                    sys.stdout.write(heading(f'Context "{result.context}":\n'))
                    with context_diagnostics(result.context):  # a failed write on stderr names its context
                        show_writes(result.result, sys.stdout)
                    sys.stdout.write("\n")
        write_fleet([FleetResult(r.context, None if r.result is None else r.result.audit, r.error) for r in results],
                    "AuditReport", "table", sys.stdout, None, lambda r: roll_up(r["namespaces"]),
                    lambda r: print_read_errors(r["errors"]))
        return fleet_exit_code(results, report_exit_code)
    run = report_run(options.source, options, reports, baseline)
    if run.written is None:
        write_report_list(run.desired, sys.stdout)
    else:
        show_writes(run, sys.stdout)
    print_read_errors(run.audit["errors"])
    return report_exit_code(run)
