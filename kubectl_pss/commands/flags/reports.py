"""``audit``'s PolicyReport flags: ``-o policyreport``, ``--report-api``, ``--level``, ``--write-reports``."""
from __future__ import annotations

import argparse
from dataclasses import dataclass

from ...errors import UsageError
from ...policy import Level
from . import add_dry_run_flag, dry_run_arg, level_arg


@dataclass
class ReportOptions:
    """``audit``'s PolicyReport flags: ``-o policyreport`` and ``--write-reports [--yes]``."""

    api: str
    level: Level | None  # None: each namespace at its own enforce, audit and warn levels
    write: bool = False
    yes: bool = False
    dry_run: str = "none"  # client: the plan only, even with --yes; server: the writes sent with dryRun=All


def add_report_flags(parser: argparse.ArgumentParser) -> None:
    from ...analysis.policyreport import REPORT_APIS, WGPOLICY

    group = parser.add_argument_group("policy reports (-o policyreport, --write-reports)")
    group.add_argument("--report-api", default=WGPOLICY, metavar="API",
                       help=f"the report API: {' or '.join(REPORT_APIS)} (default {WGPOLICY})")
    group.add_argument("--level", metavar="LEVEL",
                       help="judge every namespace at LEVEL (default: each at its own enforce, audit and warn levels)")
    group.add_argument("--write-reports", action="store_true",
                       help="write one report per audited namespace to the cluster: shows the plan, changes "
                            "nothing without --yes")
    group.add_argument("-y", "--yes", action="store_true",
                       help="with --write-reports: create, update and delete the reports")
    add_dry_run_flag(parser, "with --write-reports: client (or --dry-run alone): the plan only, even with --yes; "
                            "server: each write sent with dryRun=All (the API server checks it, nothing is saved)")


def report_args(args: argparse.Namespace) -> ReportOptions | None:
    """The report flags, checked against -o and --snapshot; None when no report is asked for."""
    from ...analysis.policyreport import REPORT_APIS

    wanted = args.output == "policyreport" or args.write_reports
    if args.report_api not in REPORT_APIS:
        raise UsageError(f'invalid --report-api "{args.report_api}": must be {" or ".join(REPORT_APIS)}')
    if not wanted:
        given = [flag for flag, value in (("--level", args.level), ("--yes", args.yes),
                                          ("--report-api", args.report_api != REPORT_APIS[0]),
                                          ("--dry-run", args.dry_run != "none")) if value]
        if given:
            raise UsageError(f"{given[0]} goes with -o policyreport or --write-reports")
        return None
    dry_run = dry_run_arg(args.dry_run)
    if (args.yes or dry_run != "none") and not args.write_reports:
        raise UsageError(f"{'--yes' if args.yes else '--dry-run'} goes with --write-reports")
    if args.write_reports and args.snapshot:
        raise UsageError("--write-reports writes to the cluster: it cannot go with --snapshot")
    if args.write_reports and args.output != "table":
        raise UsageError(f'--write-reports prints its plan: -o "{args.output}" cannot go with it')
    return ReportOptions(api=args.report_api, level=None if args.level is None else level_arg(args.level),
                         write=args.write_reports, yes=args.yes, dry_run=dry_run)
