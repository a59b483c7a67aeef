"""``kubectl pss seccomp``: seccomp profiles from what a workload really calls, a linter, an installer.

Its sub-commands are modules of this package: ``profile`` (from audit records), ``lint`` and
``install`` (into the kubelet's seccomp root on nodes, through debug pods).
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any

from ...errors import UsageError
from . import install, lint, profile

SUBCOMMANDS = {"profile": profile, "lint": lint, "install": install}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = ("Seccomp profiles from what a workload really calls (its audit records), "
                          "and a linter for seccomp profiles")
    sub = parser.add_subparsers(dest="seccomp_command", metavar="COMMAND", title="commands")
    profile.add_arguments(sub)
    lint.add_arguments(sub)
    parser_install = sub.add_parser(
        "install", help="copy a profile into the kubelet's seccomp root on nodes (debug pods; --yes writes)",
        description="Copy a seccomp profile into the kubelet's seccomp root on the chosen nodes, through a "
                    "short-lived privileged debug pod per node (always deleted), and print the seccompProfile "
                    "stanza that names it. The profile is linted first (errors refuse it unless --force). Without "
                    "--yes (or with --dry-run) only the plan: each node's file is read, nothing is written. A "
                    "different file already there is refused unless --overwrite. Exit 0 every node written or "
                    "unchanged, 1 a node failed or refused (or lint errors), 2 bad input.")
    install.add_arguments(parser_install)


@dataclass
class SeccompOptions:
    """The sub-command chosen and its own options."""

    command: str
    options: Any


def complete(args: argparse.Namespace) -> SeccompOptions:
    if args.seccomp_command is None:
        raise UsageError("must specify a command: profile, lint or install (see kubectl pss seccomp --help)")
    return SeccompOptions(args.seccomp_command, SUBCOMMANDS[args.seccomp_command].complete(args))


def validate(options: SeccompOptions) -> None:
    SUBCOMMANDS[options.command].validate(options.options)


def run(options: SeccompOptions) -> int:
    return SUBCOMMANDS[options.command].run(options.options)
