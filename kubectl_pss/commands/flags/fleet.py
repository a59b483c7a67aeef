"""``--contexts``/``--all-contexts``/``--parallel-contexts``: one command over several kubeconfig contexts."""
from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ...errors import UsageError
from . import list_arg, one_cluster_flags

if TYPE_CHECKING:
    from ...operations.connection import Connection


@dataclass
class Fleet:
    """``--contexts``/``--all-contexts``: the contexts to run on, and how many at once."""

    contexts: list[str]
    parallel: int


def add_fleet_flags(parser: argparse.ArgumentParser) -> None:
    """``--contexts``, ``--all-contexts`` and ``--parallel-contexts``; read them with ``fleet_args``."""
    from ...operations.fleet import DEFAULT_PARALLEL

    group = parser.add_argument_group("fleet (several kubeconfig contexts, each with its own connection)")
    group.add_argument("--contexts", action="append", default=[], metavar="A,B",
                       help="these contexts (comma-separated or repeated); one context is a plain report")
    group.add_argument("--all-contexts", action="store_true",
                       help="every context of the kubeconfig (KUBECONFIG merged); always a List")
    group.add_argument("--parallel-contexts", type=int, default=None, metavar="N",
                       help=f"contexts read at once (default {DEFAULT_PARALLEL})")


def fleet_args(args: argparse.Namespace, connection: "Connection | None") -> Fleet | None:
    """The fleet, or None for one cluster (``--contexts X`` alone is ``--context X``)."""
    from ...operations.fleet import DEFAULT_PARALLEL, fleet_contexts

    named = list_arg(args.contexts)
    if not named and not args.all_contexts:
        if args.parallel_contexts is not None:
            raise UsageError("--parallel-contexts goes with --contexts or --all-contexts")
        return None
    if named and args.all_contexts:
        raise UsageError("--contexts and --all-contexts: give one of them")
    if args.context:
        raise UsageError("--context names one context: use --contexts A,B for several")
    if getattr(args, "snapshot", None):
        raise UsageError("--snapshot reads a dump: --contexts and --all-contexts do not apply")
    assert connection is not None  # only --snapshot reads no cluster
    given = [flag for flag, value in one_cluster_flags(args) if value]
    if given:
        raise UsageError(f"{given[0]} names one cluster or one user: it does not apply to several contexts "
                         "(each uses its own kubeconfig entries)")
    if args.parallel_contexts is not None and args.parallel_contexts < 1:
        raise UsageError(f'invalid --parallel-contexts "{args.parallel_contexts}": it must be at least 1')
    contexts = fleet_contexts(connection.options, None if args.all_contexts else named)
    if len(contexts) == 1 and not args.all_contexts:
        connection.with_context(contexts[0])
        return None
    if getattr(args, "write_baseline", None):
        raise UsageError("--write-baseline records one cluster's violations: give one --context")
    return Fleet(contexts, args.parallel_contexts or DEFAULT_PARALLEL)
