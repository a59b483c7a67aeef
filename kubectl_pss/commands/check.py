"""``kubectl pss check -f PATH``: the Pod Security engine offline on manifests, for CI.

With ``--level`` each object is allowed or denied at that level; without it each object
gets its strictest passing level and the violations that keep it from the next one.
Exit 0 all allowed, 1 some object denied, 2 bad input (valid objects are still reported).
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from typing import Any

from ..errors import EXIT_ERROR, EXIT_FINDINGS, EXIT_OK, UsageError
from ..manifests import LoadError, load_documents
from ..policy import (
    LATEST,
    Level,
    Result,
    Version,
    apply_manifest_defaults,
    evaluate,
    grade,
    is_evaluated_kind,
    iter_items,
    object_ref,
)
from ..policy.objects import InvalidObjectError
from ..policy.schema import describe, type_errors
from ..policy.registry import NEWEST_MINOR
from ..operations.snapshot import is_cluster_info
from ..report.check import render_check
from ..report.envelope import envelope
from ..report.render import TABLE_FORMATS, write_report
from .flags import add_output_flags, level_and_version_args, validate_output, version_arg

EXAMPLES = """
# Every manifest under a directory: each object's strictest level
kubectl pss check -f examples/manifests/

# Would restricted admit them? (exit 1 if not)
kubectl pss check -f examples/manifests/restricted-deployment.yaml --level restricted

# From stdin, at policy v1.29
helm template ./chart | kubectl pss check -f - --level baseline --version v1.29
"""
EXIT_CODES = ((0, 'every object allowed (or, without --level, evaluated)'), (1, 'with --level: some object is denied'))


@dataclass
class CheckOptions:
    paths: list[str]
    level: Level | None = None
    version: Version = LATEST
    output: str = "table"
    no_color: bool = False


@dataclass
class CheckReport:
    results: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)
    errors: list[LoadError] = field(default_factory=list)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-f", "--filename", action="append", dest="paths", default=[], metavar="PATH",
                        help="manifest file, directory (recursive *.yaml, *.yml, *.json) or - for stdin; repeatable")
    parser.add_argument("--level", help="privileged, baseline or restricted: judge every object at this level")
    parser.add_argument("--version", dest="policy_version", default="latest",
                        help=f'policy version "v1.N" or "latest" (= v1.{NEWEST_MINOR}; default latest)')
    add_output_flags(parser)


def complete(args: argparse.Namespace) -> CheckOptions:
    level, version = (None, version_arg(args.policy_version)) if args.level is None else \
        level_and_version_args(args.level, args.policy_version)
    return CheckOptions(
        paths=args.paths,
        level=level,
        version=version,
        output=args.output,
        no_color=args.no_color,
    )


def validate(options: CheckOptions) -> None:
    if not options.paths:
        raise UsageError("must specify -f PATH (a file, a directory or - for stdin)")
    if options.paths.count("-") > 1:
        raise UsageError("stdin (-) can only be read once")
    validate_output(options.output)


def _violations(result: Result | None) -> list[dict[str, str]]:
    return [] if result is None else [v.as_dict() for v in result.violations]


def _judge(obj: dict, options: CheckOptions) -> dict[str, Any]:
    if options.level is not None:
        result = evaluate(obj, options.level, options.version)
        return {"level": options.level.value, "version": str(options.version),
                "allowed": result.allowed, "violations": _violations(result)}
    graded = grade(obj, options.version)
    next_level = graded.level.stricter()
    return {"level": None, "strictestLevel": graded.level.value,
            "nextLevel": None if next_level is None else next_level.value,
            "version": str(options.version), "violations": _violations(graded.blocking)}


def build_report(options: CheckOptions) -> CheckReport:
    documents, errors = load_documents(options.paths)
    report = CheckReport(errors=errors)
    for doc in documents:
        if not isinstance(doc.data, dict):
            report.errors.append(LoadError(doc.source, doc.index, "document is not a mapping (a Kubernetes object)"))
            continue
        for obj in iter_items(doc.data):
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
                entry.update(_judge(apply_manifest_defaults(obj), options))
            except InvalidObjectError as exc:
                report.errors.append(LoadError(doc.source, doc.index, f"{kind} {name}: {exc}"))
                continue
            except RecursionError:
                report.errors.append(LoadError(doc.source, doc.index, f"{kind} {name}: nested too deeply"))
                continue
            report.results.append(entry)
    if not documents and not report.errors:  # as kubectl: an empty file or directory is a mistake, not a pass
        report.errors.append(LoadError(", ".join(options.paths), None, "no Kubernetes objects found"))
    return report


def report_data(report: CheckReport) -> dict[str, Any]:
    """The ``-o json`` document: offline, so no context and no server."""
    return envelope("CheckReport", {"results": report.results, "skipped": report.skipped},
                    errors=[{"message": e.message, "source": e.source, "document": e.index} for e in report.errors])


def run(options: CheckOptions) -> int:
    report = build_report(options)
    write_report(report_data(report) if options.output not in TABLE_FORMATS else report, options.output, sys.stdout,
                 lambda r, out: render_check(r, options.level, options.version, options.no_color, out))
    for error in report.errors:
        print(f"error: {error}", file=sys.stderr)
    if report.errors:
        return EXIT_ERROR
    if options.level is not None and any(not r["allowed"] for r in report.results):
        return EXIT_FINDINGS
    return EXIT_OK
