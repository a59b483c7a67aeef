"""``kubectl pss audit [-A | -n NS ...]``: where each namespace stands against the Pod Security Standards.

Per namespace: its pod-security labels (or the cluster defaults), exemption, counts, the
strictest level every pod and workload template passes at the enforce version in force,
and the findings, grouped by owning workload, that keep it from the next stricter level.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..analysis.namespaces import audit_namespace, namespace_notes
from ..errors import EXIT_ERROR, EXIT_FINDINGS, EXIT_OK
from ..operations.cluster_state import ClusterState, Source, completeness, load_state
from ..operations.gate import read_baseline, run_gate
from ..report.audit import print_read_errors, render_audit
from ..report.render import write_report
from .flags import add_gate_flags, add_state_flags, fail_on_arg, scope_arg, source_args, validate_output

if TYPE_CHECKING:
    from ..analysis.gate import FailOn

EXAMPLES = """
# Every namespace of the bundled kind snapshot (no cluster needed)
kubectl pss audit --snapshot examples/kind-cluster.json

# Every namespace of the current cluster; exit 1 if one cannot pass baseline (for CI)
kubectl pss audit -A --fail-on baseline

# Two namespaces, as JSON, with the API server's AdmissionConfiguration
kubectl pss audit -n shop -n web --admission-config admission.yaml -o json
"""
EXIT_CODES = ((0, 'the audit ran (findings do not fail it without --fail-on)'),
              (1, 'with --fail-on: some namespace has a new violation of its own MODE, or cannot pass LEVEL'))


@dataclass
class AuditOptions:
    source: Source
    namespaces: list[str] | None  # None: all namespaces; [] : the context's namespace
    admission_config: str | None
    fail_on: "FailOn | None"
    output: str
    no_color: bool
    baseline: str | None = None
    write_baseline: str | None = None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_state_flags(parser, all_by_default=False, own=add_gate_flags)


def complete(args: argparse.Namespace) -> AuditOptions:
    namespaces = scope_arg(args)
    source = source_args(args)
    return AuditOptions(
        source=source,
        # a snapshot has no current namespace: all of it unless -n
        namespaces=None if args.all_namespaces or (source.snapshot and not namespaces) else namespaces,
        admission_config=args.admission_config,
        fail_on=None if args.fail_on is None else fail_on_arg(args.fail_on),
        output=args.output,
        no_color=args.no_color,
        baseline=args.baseline,
        write_baseline=args.write_baseline,
    )


def validate(options: AuditOptions) -> None:
    validate_output(options.output)


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


def run(options: AuditOptions) -> int:
    baseline = read_baseline(options.baseline, "audit") if options.baseline else None
    with options.source:
        state = load_state(options.source, options.namespaces, options.admission_config)
        report = build_audit(state)
        run_gate(state, report, options.fail_on, baseline, options.write_baseline)
    write_report(report, options.output, sys.stdout, lambda r, out: render_audit(r, out, options.no_color))
    print_read_errors(report["errors"])
    return exit_code(report)
