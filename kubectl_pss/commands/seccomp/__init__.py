"""``kubectl pss seccomp``: seccomp profiles from what a workload really calls, a linter, an installer.

Its sub-commands are modules of this package: ``profile`` (from audit records), ``lint`` and
``install`` (into the kubelet's seccomp root on nodes, through debug pods).
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any

from ...errors import UsageError
from .. import help_epilog
from . import install, lint, profile

EXAMPLES = """
# A profile from what a workload really called (the kernel's audit records)
kubectl pss seccomp profile --from-audit audit.log --comm nginx

# Lint a profile
kubectl pss seccomp lint examples/seccomp/nginx.yaml

# Install it on every node (the plan first: without --yes nothing is created or written)
kubectl pss seccomp install examples/seccomp/nginx.yaml --path profiles/nginx.json --all-nodes
"""
EXIT_CODES = ((0, 'success'), (1, "the sub-command's findings (see kubectl pss help seccomp COMMAND)"))


SUBCOMMANDS = {"profile": profile, "lint": lint, "install": install}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = ("Seccomp profiles from what a workload really calls (its audit records), "
                          "and a linter for seccomp profiles")
    sub = parser.add_subparsers(dest="seccomp_command", metavar="COMMAND", title="commands")
    for name, module in SUBCOMMANDS.items():
        module.add_arguments(sub.add_parser(name, help=module.HELP, description=module.DESCRIPTION,
                                            epilog=help_epilog(module.EXAMPLES, module.EXIT_CODES)))


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
