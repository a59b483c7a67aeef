"""``kubectl pss check -f PATH``: the Pod Security engine offline on manifests, for CI.

Each object is judged where it will land: its namespace's enforce/audit/warn level:version (from a
Namespace object of the input, the live cluster with ``--cluster-labels``, else the ``--admission-config``
defaults), with its exemptions. With ``--level`` each object is also allowed or denied at that level;
without it each object gets its strictest passing level and the violations that keep it from the next one.
Exit 0 nothing fails the gate, 1 something does (``--fail-on``; ``--level`` alone: some object is denied),
2 bad input (valid objects are still reported).
"""
from __future__ import annotations

import argparse
import contextlib
import os
import sys
from dataclasses import dataclass, field, replace
from typing import Any

from ..analysis.gate import Baseline, FailOn
from ..analysis.landing import Landing, NamespaceLabels
from ..errors import EXIT_ERROR, EXIT_FINDINGS, EXIT_OK, UsageError
from ..manifests import Document, LoadError, load_documents, parse_text
from ..policy import (
    LATEST,
    Level,
    Result,
    Version,
    apply_manifest_defaults,
    evaluate,
    grade,
    is_evaluated_kind,
    object_ref,
)
from ..policy.admission import KUBERNETES_DEFAULT_CONFIG, LABEL_PREFIX, MODES, resolve_policy
from ..policy.objects import InvalidObjectError, iter_item_paths
from ..policy.registry import NEWEST_MINOR, Registry, registry_for
from ..policy.schema import describe, type_errors
from ..operations.snapshot import is_cluster_info
from ..report.check import render_check
from ..report.ci import CI_FORMATS, STDIN, LocatedResult, write_ci_report
from ..report.envelope import envelope
from ..report.render import OUTPUT_FORMATS, TABLE_FORMATS, write_report
from .flags import (add_admission_config_flag, add_connection_flags, add_gate_flags, add_output_flags, connection_args,
                    connection_flags_given, fail_on_arg, level_and_version_args, namespaces_arg, validate_output,
                    version_arg)
from .flags.fleet import Fleet, add_fleet_flags, fleet_args

EXAMPLES = """
# Every manifest under a directory: each object's strictest level
kubectl pss check -f examples/manifests/

# Would restricted admit them? (exit 1 if not)
kubectl pss check -f examples/manifests/restricted-deployment.yaml --level restricted

# As the cluster will judge them: the bundle's Namespace labels, the cluster defaults; exit 1 on a denial
kubectl pss check -f deploy/ --admission-config admission.yaml --fail-on enforce -o sarif

# Will this bundle be admitted by each production cluster? (their live namespace labels)
kubectl pss check -f deploy/ --cluster-labels --contexts prod-eu,prod-us --fail-on enforce

# From stdin, at policy v1.29
helm template ./chart | kubectl pss check -f - --level baseline --version v1.29
"""
EXIT_CODES = ((0, 'nothing fails the gate (--fail-on; --level alone: every object allowed)'),
              (1, 'something fails the gate: a new violation of the --fail-on mode or level'))
CHECK_OUTPUTS = OUTPUT_FORMATS + CI_FORMATS


@dataclass
class CheckOptions:
    paths: list[str]
    level: Level | None = None
    version: Version = LATEST
    output: str = "table"
    no_color: bool = False
    kustomize: list[str] = field(default_factory=list)
    admission_config: str | None = None
    namespace: str | None = None  # -n; None: "default" offline, the context's namespace with --cluster-labels
    stdin_name: str | None = None  # --stdin-name: the path stdin's documents are named by
    cluster_labels: bool = False
    connection: Any = None
    fail_on: FailOn | None = None
    baseline: str | None = None
    write_baseline: str | None = None
    fleet: Fleet | None = None  # --cluster-labels of several contexts


@dataclass
class CheckReport:
    results: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)
    errors: list[LoadError] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # notes that can make the gate's verdict wrong
    located: list[LocatedResult] = field(default_factory=list)  # each result with its object and positions
    gate: dict[str, Any] | None = None
    server: dict[str, Any] | None = None
    context: str | None = None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-f", "--filename", action="append", dest="paths", default=[], metavar="PATH",
                        help="manifest file, directory (recursive *.yaml, *.yml, *.json) or - for stdin; repeatable")
    parser.add_argument("-k", "--kustomize", action="append", default=[], metavar="DIR",
                        help="render a kustomization with `kubectl kustomize DIR` (the kubectl on PATH); repeatable")
    parser.add_argument("--level", help="privileged, baseline or restricted: judge every object at this level")
    parser.add_argument("--version", dest="policy_version", default="latest",
                        help=f'policy version "v1.N" or "latest" (= v1.{NEWEST_MINOR}; default latest)')
    parser.add_argument("-n", "--namespace", metavar="NS",
                        help="where objects without metadata.namespace land (default: default; with --cluster-labels "
                             "the context's namespace, as kubectl apply)")
    parser.add_argument("--stdin-name", metavar="PATH",
                        help="the file path stdin's (-) documents are reported as (SARIF, annotations: code scanning "
                             "needs a path)")
    add_admission_config_flag(parser, ": the defaults of namespaces without labels")
    parser.add_argument("--cluster-labels", action="store_true",
                        help="the live namespaces' pod-security labels (and the server's version for latest) "
                             "instead of the input's Namespace objects")
    add_gate_flags(parser, "; default with --level: that level")
    add_output_flags(parser)
    output = parser._option_string_actions["-o"]
    output.help = "output format: table, wide, json, yaml, sarif, junit or github"
    output.formats = CHECK_OUTPUTS  # type: ignore[attr-defined]  # what completion offers
    add_connection_flags(parser)
    add_fleet_flags(parser)


def complete(args: argparse.Namespace) -> CheckOptions:
    level, version = (None, version_arg(args.policy_version)) if args.level is None else \
        level_and_version_args(args.level, args.policy_version)
    if not args.cluster_labels and connection_flags_given(args):
        raise UsageError(f"{connection_flags_given(args)[0]} needs --cluster-labels (check reads no cluster without it)")
    if not args.cluster_labels and (args.contexts or args.all_contexts):
        raise UsageError(f"{'--contexts' if args.contexts else '--all-contexts'} needs --cluster-labels "
                         "(check reads no cluster without it)")
    namespace = namespaces_arg([args.namespace]) if args.namespace is not None else [None]
    if len(namespace) != 1:
        raise UsageError(f'invalid --namespace "{args.namespace}": give one namespace')
    fail_on = fail_on_arg(args.fail_on) if args.fail_on is not None else (
        None if level is None or level is Level.PRIVILEGED else FailOn(level=level))
    connection = connection_args(args) if args.cluster_labels else None
    return CheckOptions(
        paths=args.paths, level=level, version=version, output=args.output, no_color=args.no_color,
        kustomize=args.kustomize, admission_config=args.admission_config, namespace=namespace[0],
        stdin_name=args.stdin_name,
        cluster_labels=args.cluster_labels, connection=connection,
        fail_on=fail_on, baseline=args.baseline, write_baseline=args.write_baseline,
        fleet=fleet_args(args, connection) if connection is not None else None,
    )


def validate(options: CheckOptions) -> None:
    if not options.paths and not options.kustomize:
        raise UsageError("must specify -f PATH (a file, a directory or - for stdin) or -k DIR")
    if options.paths.count("-") > 1:
        raise UsageError("stdin (-) can only be read once")
    validate_output(options.output, CHECK_OUTPUTS)
    if options.stdin_name is not None and "-" not in options.paths:
        raise UsageError("--stdin-name names what -f - reads: give -f -")
    if options.write_baseline and not os.path.isdir(os.path.dirname(os.path.abspath(options.write_baseline))):
        raise UsageError(f"--write-baseline {options.write_baseline}: no such directory")


def _violations(result: Result | None) -> list[dict[str, str]]:
    return [] if result is None else [v.as_dict() for v in result.violations]


def _judge(obj: dict, options: CheckOptions, registry: Registry) -> dict[str, Any]:
    """``--level``'s verdict, else the strictest level, at ``--version`` in ``registry`` (the server's with
    --cluster-labels: its ``latest``)."""
    if options.level is not None:
        result = evaluate(obj, options.level, options.version, registry)
        return {"level": options.level.value, "version": str(options.version),
                "allowed": result.allowed, "violations": _violations(result)}
    graded = grade(obj, options.version, registry)
    next_level = graded.level.stricter()
    return {"level": None, "strictestLevel": graded.level.value,
            "nextLevel": None if next_level is None else next_level.value,
            "version": str(options.version), "violations": _violations(graded.blocking)}


def _documents(options: CheckOptions, track_lines: bool) -> tuple[list[Document], list[LoadError]]:
    """-f's documents, then each -k's rendering (named by its kustomization file, no lines: they are the
    rendering's, not the file's)."""
    from ..operations.gate import kustomization_file, kustomize

    documents, errors = load_documents(options.paths, track_lines) if options.paths else ([], [])
    if options.stdin_name is not None:
        documents = [replace(d, source=options.stdin_name) if d.source == STDIN else d for d in documents]
        errors = [replace(e, source=options.stdin_name) if e.source == STDIN else e for e in errors]
    for directory in options.kustomize:
        for item in parse_text(kustomization_file(directory), kustomize(directory)):
            (documents if isinstance(item, Document) else errors).append(item)
    return documents, errors


def _landing(documents: list[Document], options: CheckOptions, report: CheckReport) -> Landing:
    """The namespaces' labels (the input's Namespace objects, or the live cluster's), the admission config."""
    from ..operations.cluster_state import admission_config, server_minor
    from ..report.envelope import server_info

    config, warnings = admission_config(options.admission_config) if options.admission_config else \
        (KUBERNETES_DEFAULT_CONFIG, [])
    for warning in warnings:
        print(f"warning: --admission-config {options.admission_config}: {warning}", file=sys.stderr)
    if config.exemptions.usernames:
        report.notes.append("the admission configuration's exemptions.usernames cannot apply to manifests (who will "
                            "apply them is not known): objects are judged as for a user who is not exempt")
    registry: Registry = registry_for(None)
    landing = Landing(config, registry, options.namespace or "default")
    for doc in documents:
        for _, obj in iter_item_paths(doc.data):
            if isinstance(obj, dict) and obj.get("kind") == "Namespace" and isinstance(obj.get("metadata"), dict):
                name, labels = obj["metadata"].get("name"), obj["metadata"].get("labels")
                if isinstance(name, str) and name:
                    labels = labels if isinstance(labels, dict) else {}
                    landing.namespaces[name] = NamespaceLabels(labels, "manifest")
                    for error in resolve_policy(labels).errors:  # the API server refuses the Namespace
                        report.errors.append(LoadError(doc.source, doc.index, f"Namespace {name}: {error}"))
    if options.cluster_labels:
        from ..operations.gate import live_namespace_labels

        live, version = live_namespace_labels(options.connection)
        cluster = options.connection.cluster()
        report.context = cluster.context
        if options.namespace is None:  # kubectl apply puts them in the context's namespace
            landing.default_namespace = cluster.namespace or "default"
        minor = server_minor(version)
        report.server = server_info(version, minor)
        landing.registry = registry_for(minor)
        if minor is not None and landing.registry.max_minor < NEWEST_MINOR and (
                options.version.minor is None or options.version.minor > landing.registry.max_minor):
            report.notes.append(f"judged at the server's policy versions: latest is v1.{landing.registry.max_minor} "
                                "(--cluster-labels)")
        for name, known in landing.namespaces.items():
            if name not in live:
                report.notes.append(f'namespace "{name}" does not exist in the cluster: judged at the input\'s labels')
            elif _pod_security(live[name]) != {**_pod_security(live[name]), **_pod_security(known.labels)}:
                report.notes.append(f'namespace "{name}": the input sets other pod-security labels than the '
                                    "cluster has: judged at the input's over the cluster's (what kubectl apply writes)")
        for name, labels in live.items():  # kubectl apply writes the input's labels over the live ones
            known = landing.namespaces.get(name)
            ours = _pod_security(known.labels) if known is not None else {}
            landing.namespaces[name] = NamespaceLabels({**labels, **ours}, "manifest" if ours else "cluster")
    return landing


def _pod_security(labels: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in labels.items() if key.startswith(LABEL_PREFIX)}


def build_report(options: CheckOptions, documents: list[Document], errors: list[LoadError]) -> CheckReport:
    """The report of ``documents`` (read once: a fleet judges them against each cluster)."""
    report = CheckReport(errors=list(errors))
    landing = _landing(documents, options, report)
    for doc in documents:
        if not isinstance(doc.data, dict):
            report.errors.append(LoadError(doc.source, doc.index, "document is not a mapping (a Kubernetes object)"))
            continue
        for path, obj in iter_item_paths(doc.data):
            if not isinstance(obj, dict):
                report.errors.append(LoadError(doc.source, doc.index, "list item is not a mapping (a Kubernetes object)"))
                continue
            if ("kind" not in obj and "gitVersion" in obj) or is_cluster_info(obj):
                continue  # a snapshot's server version (old snapshots: a bare /version object): not a manifest
            if not isinstance(obj.get("kind"), str) or not obj["kind"]:
                report.errors.append(LoadError(doc.source, doc.index, "object has no kind"))
                continue
            kind, namespace, name = object_ref(obj)
            entry: dict[str, Any] = {"source": doc.source, "document": doc.index, "kind": kind,
                                     "namespace": namespace, "name": name}
            if not is_evaluated_kind(obj):
                report.skipped.append(entry)
                continue
            wrong_types = type_errors(obj)
            if wrong_types:  # the API server would refuse it: no verdict
                report.errors.append(LoadError(doc.source, doc.index, f"{kind} {name}: {describe(wrong_types)}"))
                continue
            try:
                defaulted = apply_manifest_defaults(obj)
                entry.update(_judge(defaulted, options, landing.registry))
                entry["admission"] = landing.judge(defaulted)
                gate = _gate_violations(defaulted, entry, options, landing.registry)
            except InvalidObjectError as exc:
                report.errors.append(LoadError(doc.source, doc.index, f"{kind} {name}: {exc}"))
                continue
            except RecursionError:
                report.errors.append(LoadError(doc.source, doc.index, f"{kind} {name}: nested too deeply"))
                continue
            report.results.append(entry)
            report.located.append(LocatedResult(entry, obj, doc.positions, path, gate))
    if not documents and not report.errors:  # as kubectl: an empty file or directory is a mistake, not a pass
        report.errors.append(LoadError(", ".join(options.paths + options.kustomize), None, "no Kubernetes objects found"))
    _landing_notes(report, landing, options)
    return report


def _landing_notes(report: CheckReport, landing: Landing, options: CheckOptions) -> None:
    """Where objects without a namespace went when -n did not say, and which namespaces are judged at the
    defaults (their labels not known: a warning when a mode gate judges them)."""
    if options.cluster_labels and options.namespace is None and any(
            not (located.obj.get("metadata") or {}).get("namespace") for located in report.located):
        report.notes.append(f'objects without metadata.namespace land in "{landing.default_namespace}", the '
                            "context's namespace (-n sets another)")
    defaults = sorted({r["admission"]["namespace"] for r in report.results
                       if r["admission"]["labels"] == "defaults" and r["admission"]["exempt"] is None})
    if not defaults:
        return
    names = ", ".join(f'"{name}"' for name in defaults)
    where = "not in the input and not in the cluster" if options.cluster_labels else \
        "its live labels are not known"
    text = f"namespace(s) {names}: {where}: judged at the defaults" + \
        ("" if options.cluster_labels else "; --cluster-labels reads them")
    if options.fail_on is not None and options.fail_on.mode is not None:
        report.warnings.append(text)
    else:
        report.notes.append(text)


def _gate_violations(obj: dict, entry: dict[str, Any], options: CheckOptions,
                     registry: Registry) -> list[dict[str, str]]:
    """The violations ``--fail-on`` judges: its mode's (in the object's namespace), or those of its level at
    ``--version`` (none for an exempt object: admission never judges it)."""
    fail_on = options.fail_on
    if fail_on is None:
        return []
    if fail_on.mode is not None:
        return entry["admission"][fail_on.mode]["violations"]
    if entry["admission"]["exempt"] is not None:
        return []
    if options.level is fail_on.level:
        return [dict(v) for v in entry["violations"]]
    return _violations(evaluate(obj, fail_on.level, options.version, registry))  # type: ignore[arg-type]


def identities(report: CheckReport, fail_on: FailOn | None) -> list[tuple[tuple[str, ...], dict[str, Any]]]:
    """Every (baseline identity, violation) of the report: per result, per violated mode (and the --fail-on
    level's), kind/namespace/name + check + mode; the namespace is where the object lands."""
    out = []
    for located in report.located:
        entry = located.entry
        ref = (entry["kind"], entry["admission"]["namespace"], entry["name"] or "")
        for mode in MODES:
            for violation in entry["admission"][mode]["violations"]:
                out.append((ref + (violation["check"], mode), violation))
        if fail_on is not None and fail_on.level is not None:
            for violation in located.gate:
                out.append((ref + (violation["check"], fail_on.level.value), violation))
    return out


def apply_baseline(report: CheckReport, options: CheckOptions, baseline: Baseline | None) -> int:
    """Mark every violation ``baselined`` and every result; the number of results that fail the gate."""
    statuses: dict[tuple[str, ...], str] = {}
    for key, violation in identities(report, options.fail_on):
        status = statuses[key] = baseline.status(key) if baseline is not None else "new"
        violation["baselined"] = status == "unchanged"
    failed = 0
    gate_mode = None if options.fail_on is None else str(options.fail_on)
    for located in report.located:
        entry = located.entry
        marks = [v["baselined"] for mode in MODES for v in entry["admission"][mode]["violations"]]
        entry["baselined"] = bool(marks) and all(marks)
        ref = (entry["kind"], entry["admission"]["namespace"], entry["name"] or "")
        located.failing = [v for v in located.gate if statuses.get(ref + (v["check"], gate_mode or "")) != "unchanged"]
        failed += bool(located.failing)
    return failed


def report_data(report: CheckReport) -> dict[str, Any]:
    """The ``-o json`` document (offline: no context and no server, unless --cluster-labels read them)."""
    body: dict[str, Any] = {"results": report.results, "skipped": report.skipped,
                            "notes": report.warnings + report.notes}
    if report.gate is not None:
        body["gate"] = report.gate
    return envelope("CheckReport", body, context=report.context, server=report.server,
                    errors=[{"message": e.message, "source": e.source, "document": e.index} for e in report.errors])


def run(options: CheckOptions) -> int:
    from ..cluster.jsonbody import gc_paused
    from ..operations.gate import read_baseline

    baseline = read_baseline(options.baseline, "check") if options.baseline else None
    if options.output == "sarif" and "-" in options.paths and options.stdin_name is None:
        print("warning: -f - without --stdin-name PATH: the SARIF results from stdin have no file (code scanning "
              "needs a path in the repository)", file=sys.stderr)
    # the CI formats keep each document's node tree (its lines) until they are written: collecting while
    # they are alive costs more than the whole read (benchmarks/bench_lines.py); they are acyclic
    with gc_paused() if options.output in CI_FORMATS else contextlib.nullcontext():
        documents, errors = _documents(options, options.output in CI_FORMATS)
        if options.fleet is not None:
            return _run_fleet(options, documents, errors)
        try:
            report = judge(options, baseline, documents, errors)
        finally:
            if options.connection is not None:
                options.connection.close()
        if options.output in CI_FORMATS:
            write_ci_report([report], options.output, sys.stdout, baseline is not None)
        else:
            write_report(report_data(report) if options.output not in TABLE_FORMATS else report, options.output,
                         sys.stdout, lambda r, out: render_check(r, options.level, options.version, options.no_color,
                                                                 out))
        _diagnose(report)
        return exit_code(report)


def judge(options: CheckOptions, baseline: Baseline | None, documents: list[Document],
          errors: list[LoadError]) -> CheckReport:
    """The report with its gate: baselined violations marked, ``--write-baseline`` written."""
    from ..operations.gate import judge_and_write

    report = build_report(options, documents, errors)
    failed, baseline = judge_and_write(lambda known: apply_baseline(report, options, known),
                                       lambda _: [key for key, _ in identities(report, options.fail_on)],
                                       "check", baseline, options.write_baseline)
    report.gate = {"failOn": None if options.fail_on is None else str(options.fail_on), "failed": failed,
                   "baseline": None if baseline is None else {"file": baseline.source, "fixed": baseline.fixed(),
                                                              "expired": baseline.expired()}}
    return report


def exit_code(report: CheckReport) -> int:
    if report.errors:
        return EXIT_ERROR
    return EXIT_FINDINGS if report.gate and report.gate["failed"] else EXIT_OK


def _diagnose(report: CheckReport) -> None:
    """Notes, baseline entries fixed or expired and errors on stderr."""
    for warning in report.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    for note in report.notes:
        print(f"note: {note}", file=sys.stderr)
    known = (report.gate or {}).get("baseline")
    if known is not None:
        for entry in known["fixed"]:
            print(f"note: baseline entry fixed (no longer matches): {_entry_text(entry)}", file=sys.stderr)
        for entry in known["expired"]:
            print(f"warning: baseline entry expired on {entry['expires']}: {_entry_text(entry)}",
                  file=sys.stderr)
    for error in report.errors:
        print(f"error: {error}", file=sys.stderr)


def _run_fleet(options: CheckOptions, documents: list[Document], errors: list[LoadError]) -> int:
    """The same documents judged against each context's live namespace labels (each its own baseline
    reading: which entries are fixed is a cluster's own)."""
    from ..logs import context_diagnostics, fleet_stderr
    from ..operations.fleet import fleet_exit_code, run_fleet
    from ..operations.gate import read_baseline
    from ..report.fleet import write_fleet

    assert options.fleet is not None and options.connection is not None

    def one(connection: Any) -> CheckReport:
        baseline = read_baseline(options.baseline, "check") if options.baseline else None
        return judge(replace(options, connection=connection), baseline, documents, errors)

    results = run_fleet(options.connection, options.fleet.contexts, options.fleet.parallel, one)
    if options.output in CI_FORMATS:
        reports = [r.result if r.result is not None else
                   CheckReport(errors=[LoadError(f'context "{r.context}"', None, r.error or "")], context=r.context)
                   for r in results]
        write_ci_report(reports, options.output, sys.stdout, options.baseline is not None)
        with fleet_stderr():
            for r in results:
                if r.result is None:
                    print(f'error: context "{r.context}": {r.error}', file=sys.stderr)
                    continue
                with context_diagnostics(r.context):
                    _diagnose(r.result)
    else:
        by_context = {r.context: r.result for r in results if r.result is not None}
        outcomes = [replace(r, result=None if r.result is None else report_data(r.result)) for r in results]
        write_fleet(outcomes, "CheckReport", options.output, sys.stdout,
                    lambda data, out: render_check(by_context[data["context"]], options.level, options.version,
                                                   options.no_color, out),
                    lambda data: f"{len(data['results'])} object(s), {data['gate']['failed']} failing the gate",
                    lambda data: _diagnose(by_context[data["context"]]))
    return fleet_exit_code(results, exit_code)


def _entry_text(entry: dict[str, Any]) -> str:
    return f"{entry['kind']} {entry['namespace']}/{entry['name']} {entry['check']} ({entry['mode']})"
