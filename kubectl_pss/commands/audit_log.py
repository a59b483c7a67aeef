"""``kubectl pss audit-log PATH...``: what PodSecurity really did, from the API server's audit log.

Audit-mode violations (the ``pod-security.kubernetes.io/audit-violations`` annotation), enforce denials
(403 on a request PodSecurity evaluated) and exemptions used, grouped by object, user, mode and policy;
``--live`` looks each object up in the cluster as it is now.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from ..auditlog import EventFilter, parse_instant, parse_selector
from ..errors import EXIT_ERROR, EXIT_FINDINGS, EXIT_OK, UsageError
from ..report.audit_log import render_audit_log
from ..report.render import TABLE_FORMATS, write_report
from .flags import (
    add_admission_config_flag,
    add_connection_flags,
    add_output_flags,
    connection_args,
    connection_flags_given,
    namespaces_arg,
    validate_output,
)

EXAMPLES = """
# A directory of audit logs (rotated .gz files included)
kubectl pss audit-log /var/log/kubernetes/audit/

# Two files, the last week, one namespace
kubectl pss audit-log audit.log audit-2026-12-01T10-00-00.000.log.gz --since 7d -n team-a

# One user's requests; exit 1 if enforce denied one of them (for CI)
kubectl pss audit-log audit.log -l user=system:serviceaccount:ci:deployer --fail-on enforce

# Does each object still exist and still violate?
kubectl pss audit-log audit.log --live -o json

# Exemptions that would cover what was audited
kubectl pss audit-log audit.log --suggest-exemptions
"""
EXIT_CODES = ((0, "done (violations do not fail it without --fail-on)"),
              (1, "violations of a --fail-on mode were found"),
              (2, "bad input (flags, files), or something could not be read (a corrupt gzip member, a cluster "
                  "list with --live: the report is still printed): one line on stderr each"))


FAIL_ON_MODES = ("audit", "enforce")

DESCRIPTION = """\
What PodSecurity admission really did, from the API server's audit log (JSON lines of audit.k8s.io/v1 Events,
or EventList lines from a webhook backend): audit-mode violations (the pod-security.kubernetes.io/audit-violations
annotation), enforce denials (403 Forbidden on a request PodSecurity evaluated) and exemptions used, grouped by
namespace, object, user, mode and policy, with the checks matched to this tool's check ids.

Warn mode is not in the audit log: its warnings go to the client only.

PATH is a file, a directory (every *.log* file in it), a rotated gzip file, or - for stdin. Lines that are not
audit events (not JSON, a truncated last line, a corrupt gzip member) are counted as skipped, never fatal.
The log is read as a stream: memory does not grow with its size."""


@dataclass
class AuditLogOptions:
    paths: list[str]
    event_filter: EventFilter
    fail_on: tuple[str, ...]
    output: str
    no_color: bool
    live: bool
    suggest: bool
    admission_config: str | None
    connection: Any = None
    sources: list[str] = field(default_factory=list)  # the paths expanded (validate)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = DESCRIPTION
    parser.add_argument("paths", nargs="+", metavar="PATH", help="audit log files, directories, or - for stdin")
    parser.add_argument("--since", metavar="TIME",
                        help='only events at or after TIME: RFC3339, or a duration back from now ("2h", "30m", "7d")')
    parser.add_argument("--until", metavar="TIME", help="only events at or before TIME (same forms as --since)")
    parser.add_argument("-n", "--namespace", action="append", default=[], metavar="NS",
                        help="only these namespaces (repeatable, or comma-separated); default: all")
    parser.add_argument("-A", "--all-namespaces", action="store_true", help="every namespace (the default)")
    parser.add_argument("-l", "--selector", action="append", default=[], metavar="KEY=VALUE",
                        help="only events whose user, mode, resource or level matches, e.g. -l user=alice,mode=enforce "
                             "(!= excludes)")
    parser.add_argument("--fail-on", action="append", default=[], metavar="audit|enforce",
                        help="exit 1 when violations of this mode were found (repeatable or comma-separated)")
    parser.add_argument("--suggest-exemptions", action="store_true",
                        help="propose a PodSecurity usernames exemption where every violation of a namespace comes "
                             "from one service account (printed, never applied)")
    add_output_flags(parser)
    group = parser.add_argument_group("live cross-reference")
    group.add_argument("--live", action="store_true",
                       help="look each object up in the cluster now: does it exist, does it still violate its "
                            "namespace's level in that mode?")
    add_admission_config_flag(parser, note=" (with --live and --suggest-exemptions)")
    add_connection_flags(parser)


def _instant(text: str | None, flag: str, now: datetime) -> datetime | None:
    if text is None:
        return None
    try:
        return parse_instant(text, now)
    except ValueError as exc:
        raise UsageError(f'invalid {flag} "{text}": {exc}') from None


def complete(args: argparse.Namespace, now: datetime | None = None) -> AuditLogOptions:
    now = now or datetime.now(timezone.utc)
    namespaces = namespaces_arg(args.namespace)
    if args.all_namespaces and namespaces:
        raise UsageError("use -A or -n, not both")
    selectors = []
    for text in args.selector:
        try:
            selectors += parse_selector(text)
        except ValueError as exc:
            raise UsageError(f"invalid -l {exc}") from None
    fail_on = tuple(dict.fromkeys(m.strip() for value in args.fail_on for m in value.split(",") if m.strip()))
    for mode in fail_on:
        if mode not in FAIL_ON_MODES:
            raise UsageError(f'invalid --fail-on "{mode}": must be audit or enforce (warn is not in the audit log)')
    given = connection_flags_given(args)
    if given and not args.live:
        raise UsageError(f"{' and '.join(given)} {'goes' if len(given) == 1 else 'go'} with --live "
                         "(without it the log is read offline)")
    return AuditLogOptions(
        paths=list(args.paths),
        event_filter=EventFilter(since=_instant(args.since, "--since", now), until=_instant(args.until, "--until", now),
                                 namespaces=frozenset(namespaces) if namespaces else None, selectors=selectors),
        fail_on=fail_on,
        output=args.output,
        no_color=args.no_color,
        live=args.live,
        suggest=args.suggest_exemptions,
        admission_config=args.admission_config,
        connection=connection_args(args) if args.live else None,
    )


def validate(options: AuditLogOptions) -> None:
    from ..operations.audit_log_sources import SourceError, expand

    validate_output(options.output)
    f = options.event_filter
    if f.since is not None and f.until is not None and f.since > f.until:
        raise UsageError("--since is after --until: no event can match")
    try:
        options.sources = expand(options.paths)
    except SourceError as exc:
        raise UsageError(str(exc)) from None


def exit_code(report: dict[str, Any], fail_on: tuple[str, ...]) -> int:
    if report["errors"]:
        return EXIT_ERROR
    if any(v["mode"] in fail_on for v in report["violations"]):
        return EXIT_FINDINGS
    return EXIT_OK


def run(options: AuditLogOptions) -> int:
    from ..operations.cluster_state import admission_config
    from ..operations.audit_log import build_report, connect_live, cross_reference, read_logs

    config, warnings = admission_config(options.admission_config)
    for warning in warnings:
        print(f"warning: --admission-config {options.admission_config}: {warning}", file=sys.stderr)
    live = None
    if options.live:
        assert options.connection is not None
        live = connect_live(options.connection)
    reading = read_logs(options.sources, options.event_filter, *([live.registry] if live else []))
    report = build_report(reading, suggest=options.suggest, config=config)
    if live is not None:
        cross_reference(report, live, config)
    write_report(report, options.output, sys.stdout, lambda r, out: render_audit_log(r, out, options.no_color))
    _diagnostics(report, counts=options.output in TABLE_FORMATS)
    return exit_code(report, options.fail_on)


def _diagnostics(report: dict[str, Any], counts: bool) -> None:
    """Skipped lines and errors on stderr, whatever the output format; the counts under a table."""
    events = report["events"]
    if counts:
        print(f"read {events['read']} events from {len(report['files'])} file(s): {events['matched']} PodSecurity, "
              f"{events['skipped']} lines skipped", file=sys.stderr)
    for f in report["files"]:
        if f["skipped"]:
            more = "" if f["skipped"] <= len(f["skippedLines"]) else ", ..."
            print(f"warning: {f['path']}: {f['skipped']} line(s) skipped (not audit events or cut short): line "
                  f"{', '.join(map(str, f['skippedLines']))}{more}", file=sys.stderr)
    for error in report["errors"]:
        print(f"error: {error['message']}", file=sys.stderr)
