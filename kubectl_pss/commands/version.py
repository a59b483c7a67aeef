"""``kubectl pss version``: the plugin version and the newest policy version it implements."""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass

from .. import __version__
from ..report.render import write_report
from .common import validate_output


@dataclass
class VersionOptions:
    output: str


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-o", "--output", default="table", help="table, json or yaml")


def complete(args: argparse.Namespace) -> VersionOptions:
    return VersionOptions(output=args.output)


def validate(options: VersionOptions) -> None:
    validate_output(options.output)


def run(options: VersionOptions) -> int:
    from ..policy.registry import NEWEST_MINOR

    data = {"version": f"v{__version__}", "newestPolicyVersion": f"v1.{NEWEST_MINOR}"}
    write_report(
        data,
        options.output,
        sys.stdout,
        lambda d, out: out.write(f"kubectl-pss {d['version']} (Pod Security policy versions v1.0 to {d['newestPolicyVersion']})\n"),
    )
    return 0
