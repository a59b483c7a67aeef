"""Flags of the commands that look inside running containers and nodes: ``verify-*``'s selection and
workers, and the debug pods of ``--node-inspect`` (``nodes``, ``verify-seccomp``, ``seccomp install``)."""
from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ...confinement.model import DEFAULT_SECCOMP_ROOT
from ...errors import UsageError
from . import (SELECTOR_SYNTAX, add_connection_flags, add_output_flags, add_scope_flags, connection_args,
               field_selector_arg, parse_duration, scope_arg, selector_arg)

if TYPE_CHECKING:
    from ...operations.connection import Connection
    from ...operations.containers import Selection
    from ...operations.debugpods import DebugPodSettings


def add_node_inspect_flags(parser: argparse.ArgumentParser, what: str, switch: bool = True) -> None:
    """``--node-inspect`` (unless ``switch`` is False: a command that always uses debug pods) and the
    debug pods' flags; read them with ``node_inspect_args``."""
    from ...cluster.debugpod import DEFAULT_IMAGE

    group = parser.add_argument_group("node inspection (creates a privileged pod on each node involved)")
    if switch:
        group.add_argument("--node-inspect", action="store_true",
                           help=f"{what}, from a short-lived privileged debug pod per node (always deleted)")
    group.add_argument("--image", metavar="IMAGE", help=f"the debug pods' image (default {DEFAULT_IMAGE})")
    group.add_argument("--debug-namespace", metavar="NS",
                       help="where the debug pods go (default: the context's namespace); it must allow privileged pods")
    group.add_argument("--seccomp-root", metavar="DIR",
                       help="the kubelet's seccomp root, for Localhost profiles (default: <the kubelet's --root-dir>"
                            f"/seccomp, read on each node; {DEFAULT_SECCOMP_ROOT} without it)")
    if "--parallel" not in parser._option_string_actions:  # verify-* have it already (execs and nodes)
        group.add_argument("--parallel", type=int, default=None, metavar="N",
                           help=f"nodes done at once (default {DEFAULT_NODE_PARALLEL})")
    group.add_argument("--pod-timeout", metavar="DURATION", default="2m",
                       help='how long a debug pod may take to start (default "2m")')


def duration_arg(text: str, flag: str) -> float:
    """A positive duration flag ("30s", "2m")."""
    try:
        seconds = parse_duration(text)
    except UsageError:
        raise UsageError(f'invalid {flag} "{text}": use a duration such as "30s" or "2m"') from None
    if seconds is None:
        raise UsageError(f'invalid {flag} "{text}": it must be more than 0')
    return seconds


def node_inspect_args(args: argparse.Namespace) -> "tuple[bool, DebugPodSettings]":
    """Whether ``--node-inspect`` was given (always, for a command without the switch), and the debug pods' settings."""
    from ...operations.debugpods import DebugPodSettings

    enabled = getattr(args, "node_inspect", True)  # no --node-inspect flag: always on
    if not enabled:
        for flag, value in (("--image", args.image), ("--debug-namespace", args.debug_namespace)):
            if value:
                raise UsageError(f"{flag} needs --node-inspect")
    if args.seccomp_root is not None and not args.seccomp_root.startswith("/"):
        raise UsageError(f'invalid --seccomp-root "{args.seccomp_root}": it must be an absolute path')
    if args.parallel is not None and args.parallel < 1:
        raise UsageError(f'invalid --parallel "{args.parallel}": it must be at least 1')
    settings = DebugPodSettings(namespace=args.debug_namespace,
                                seccomp_root=None if args.seccomp_root is None else args.seccomp_root.rstrip("/") or "/",
                                pod_timeout=duration_arg(args.pod_timeout, "--pod-timeout"),
                                parallel=args.parallel or DEFAULT_NODE_PARALLEL)
    if args.image:
        settings.image = args.image
    return enabled, settings


DEFAULT_WORKERS = 8  # verify-*: execs in flight at once
DEFAULT_NODE_PARALLEL = 4  # debug pods alive at once


@dataclass
class VerifyOptions:
    """``verify-apparmor`` and ``verify-seccomp``: which containers, how to read them, the output."""

    connection: "Connection"
    selection: "Selection"
    output: str
    no_color: bool
    debug_image: str | None
    workers: int = DEFAULT_WORKERS
    node_inspect: bool = False  # --node-inspect, with the debug pods' settings
    debug: "DebugPodSettings | None" = None
    compare_exec: bool = False  # with --node-inspect: also exec in the containers, to catch one that lies


def add_verify_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("pods", nargs="*", metavar="POD", help="pods to verify (default: every pod in scope)")
    add_scope_flags(parser, all_by_default=False)
    parser.add_argument("-l", "--selector", metavar="SELECTOR",
                        help=f"only pods whose labels match ({SELECTOR_SYNTAX}); sent to the server")
    parser.add_argument("--field-selector", metavar="SELECTOR",
                        help="only pods whose fields match, sent to the server (e.g. spec.nodeName=node-1, "
                             "status.phase=Running; =, == and != only)")
    parser.add_argument("-c", "--container", metavar="NAME", help="only this container of each pod")
    parser.add_argument("--debug-image", metavar="IMAGE",
                        help="where an image has no cat: read the container's /proc through an ephemeral debug "
                             "container of IMAGE that targets it (it cannot be removed afterwards)")
    parser.add_argument("--compare-exec", action="store_true",
                        help="with --node-inspect: also read each container's /proc through exec, and flag "
                             "exec-disagrees where the container says something else than its node")
    parser.add_argument("--parallel", type=int, default=None, metavar="N",
                        help=f"execs in flight at once (default {DEFAULT_WORKERS}), and nodes inspected at once "
                             f"(default {DEFAULT_NODE_PARALLEL})")
    add_output_flags(parser)
    add_connection_flags(parser)


def verify_args(args: argparse.Namespace) -> VerifyOptions:
    """The options of verify-apparmor and verify-seccomp (add_verify_flags and add_node_inspect_flags)."""
    from ...operations.containers import Selection

    namespaces = scope_arg(args)
    if args.all_namespaces and args.pods:
        raise UsageError("a resource cannot be retrieved by name across all namespaces")
    if args.pods and len(namespaces) > 1:
        raise UsageError("pods named on the command line need one namespace: give -n once")
    selector = selector_arg(args.selector)
    field_selector = field_selector_arg(args.field_selector)
    if args.pods and (selector is not None or field_selector is not None):
        raise UsageError("name cannot be provided when a selector is specified")
    if args.parallel is not None and args.parallel < 1:
        raise UsageError(f'invalid --parallel "{args.parallel}": it must be at least 1')
    selection = Selection(pods=list(dict.fromkeys(args.pods)), namespaces=None if args.all_namespaces else namespaces,
                          container=args.container, label_selector=None if selector is None else str(selector),
                          field_selector=field_selector)
    if args.compare_exec and not args.node_inspect:
        raise UsageError("--compare-exec needs --node-inspect")
    options = VerifyOptions(connection=connection_args(args), selection=selection, output=args.output,
                            no_color=args.no_color, debug_image=args.debug_image,
                            workers=args.parallel or DEFAULT_WORKERS)
    options.compare_exec = args.compare_exec
    options.node_inspect, options.debug = node_inspect_args(args)
    return options


