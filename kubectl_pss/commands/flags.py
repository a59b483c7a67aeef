"""Flag groups and their validation, shared by several commands (each command module stays a leaf)."""
from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from ..errors import UsageError
from ..policy import LEVEL_ERROR, VERSION_ERROR, Level, PolicyValueError, Version, parse_level, parse_version
from ..confinement.model import DEFAULT_SECCOMP_ROOT
from ..report.render import OUTPUT_FORMATS

if TYPE_CHECKING:
    from ..operations.cluster_state import Source
    from ..operations.connection import Connection
    from ..operations.containers import Selection
    from ..operations.debugpods import DebugPodSettings


def add_output_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-o", "--output", default="table", help="output format: table, json or yaml (default table)")
    parser.add_argument("--no-color", action="store_true", help="never colour the table (NO_COLOR is honoured too)")


def validate_output(output: str) -> None:
    if output not in OUTPUT_FORMATS:
        raise UsageError(f'unable to match a printer suitable for the output format "{output}", allowed formats are: table, json, yaml')


def level_arg(text: str, flag: str = "--level") -> Level:
    try:
        return parse_level(text)
    except PolicyValueError:
        raise UsageError(f'invalid {flag} "{text}": {LEVEL_ERROR}') from None


def version_arg(text: str, flag: str = "--version") -> Version:
    try:
        return parse_version(text)
    except PolicyValueError:
        raise UsageError(f'invalid {flag} "{text}": {VERSION_ERROR}') from None


def add_connection_flags(parser: argparse.ArgumentParser) -> None:
    """kubectl's connection flags (kubectl passes them to a plugin only after its name); read them
    with ``connection_args``."""
    group = parser.add_argument_group("connection")
    group.add_argument("--kubeconfig", help="path to the kubeconfig file (default: KUBECONFIG or ~/.kube/config)")
    group.add_argument("--context", help="the kubeconfig context to use")
    group.add_argument("--cluster", help="the kubeconfig cluster to use (instead of the context's)")
    group.add_argument("--user", help="the kubeconfig user to use (instead of the context's)")
    group.add_argument("--request-timeout", default="0",
                       help='time to wait for one server request, e.g. "30s", "1m" ("0": no timeout)')
    group.add_argument("-v", "--v", dest="verbosity", type=_verbosity, default=0, metavar="LEVEL",
                       help="log level on stderr: 6 each request (method, URL, status, time), 7 its headers "
                            "(credentials masked), 8 response bodies")
    group.add_argument("--disable-compression", action="store_true",
                       help="do not ask the server to gzip its answers (faster on a local or very fast link)")


def _verbosity(text: str) -> int:
    try:
        level = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f'invalid -v "{text}": a log level, e.g. -v=6') from None
    if level < 0:
        raise argparse.ArgumentTypeError(f'invalid -v "{text}": a log level, e.g. -v=6')
    return level


def connection_args(args: argparse.Namespace, default_timeout: float | None = None) -> "Connection":
    """The run's one Connection, from ``add_connection_flags``'s flags: the one place commands build it
    (it connects when first used).

    ``default_timeout`` (seconds) applies when ``--request-timeout`` is not given (``version``)."""
    from ..cluster.client import ConnectionOptions
    from ..operations.connection import Connection

    timeout = parse_duration(args.request_timeout)
    if default_timeout is not None and args.request_timeout == "0":
        timeout = default_timeout
    return Connection(ConnectionOptions(kubeconfig=args.kubeconfig or None, context=args.context or None,
                                        cluster=args.cluster or None, user=args.user or None,
                                        request_timeout=timeout, verbosity=args.verbosity,
                                        compression=not args.disable_compression))


def connection_flags_given(args: argparse.Namespace) -> list[str]:
    """The kubeconfig-choosing flags given (what --snapshot and --offline make meaningless)."""
    return [flag for flag, value in (("--kubeconfig", args.kubeconfig), ("--context", args.context),
                                     ("--cluster", args.cluster), ("--user", args.user)) if value]


def add_snapshot_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("offline")
    group.add_argument("--snapshot", action="append", metavar="FILE",
                       help="read the cluster from a dump (file, directory or -) instead of the API server")
    group.add_argument("--server-version", metavar="v1.N",
                       help="with --snapshot: the cluster's version, which is what latest means (default: from the dump)")
    parser.add_argument("--latest", choices=("cluster", "newest"), default="cluster",
                        help="what the policy version latest means: the cluster's own version, as its API server "
                             "evaluates it (default), or the newest policy this tool knows")


def add_scope_flags(parser: argparse.ArgumentParser, all_by_default: bool) -> None:
    parser.add_argument("-A", "--all-namespaces", action="store_true", help="every namespace")
    parser.add_argument("-n", "--namespace", action="append", default=[], metavar="NS",
                        help="a namespace (repeatable, or comma-separated)"
                        + ("" if all_by_default else "; default: the context's namespace"))


def parse_duration(text: str) -> float | None:
    """kubectl's --request-timeout: a number of seconds or a Go-style duration ("1m30s"); 0 is none."""
    import re

    if re.fullmatch(r"[0-9]+", text):
        seconds = float(text)
    else:
        parts = re.findall(r"([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)", text)
        if not parts or "".join(n + u for n, u in parts) != text:
            raise UsageError(f'invalid --request-timeout "{text}": use a duration such as "30s" or "1m"')
        scale = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
        seconds = sum(float(n) * scale[u] for n, u in parts)
    if seconds > MAX_DURATION_SECONDS:  # Go's time.Duration overflows there, and so do socket timeouts
        raise UsageError(f'invalid --request-timeout "{text}": out of range (at most 2562047h)')
    return None if seconds == 0 else seconds


MAX_DURATION_SECONDS = (2**63 - 1) / 1e9  # the longest Go duration, ~292 years


def source_args(args: argparse.Namespace) -> "Source":
    """Where to read the cluster: the API server (connection flags) or --snapshot."""
    from ..operations.cluster_state import Source

    if args.server_version is not None:
        if not args.snapshot:
            raise UsageError("--server-version goes with --snapshot (a live cluster tells its own version)")
        version = version_arg(args.server_version, "--server-version")
        if version.is_latest:
            raise UsageError('invalid --server-version "latest": give the cluster\'s version, v1.N')
    if args.snapshot:
        given = connection_flags_given(args)
        if given:
            raise UsageError(f"--snapshot reads a dump: {' and '.join(given)} "
                             f"{'does' if len(given) == 1 else 'do'} not apply")
        return Source(snapshot=args.snapshot, server_version=args.server_version,
                      latest_is_cluster=args.latest == "cluster")
    return Source(connection=connection_args(args), latest_is_cluster=args.latest == "cluster")


def add_state_flags(parser: argparse.ArgumentParser, all_by_default: bool,
                    own: Callable[[argparse.ArgumentParser], None]) -> None:
    """``audit`` and ``simulate``: the scope, --admission-config, the command's ``own`` flags, the output,
    and where the cluster is read (connection flags or --snapshot); read them with ``scope_arg`` and
    ``source_args``."""
    add_scope_flags(parser, all_by_default)
    add_admission_config_flag(parser)
    own(parser)
    add_output_flags(parser)
    add_connection_flags(parser)
    add_snapshot_flags(parser)


def add_admission_config_flag(parser: argparse.ArgumentParser, note: str = "") -> None:
    parser.add_argument("--admission-config", metavar="FILE",
                        help="the API server's AdmissionConfiguration (PodSecurity defaults and exemptions)" + note)


def scope_arg(args: argparse.Namespace) -> list[str]:
    """The namespaces named with -n (repeatable, comma-separated); -A with -n is an error, as in kubectl."""
    namespaces = namespaces_arg(args.namespace)
    if args.all_namespaces and namespaces:
        raise UsageError("a resource cannot be retrieved by namespace across all namespaces: use -A or -n, not both")
    return namespaces


def namespaces_arg(values: list[str]) -> list[str]:
    names = [n.strip() for value in values for n in value.split(",") if n.strip()]
    return list(dict.fromkeys(names))


def level_version_arg(text: str, flag: str) -> tuple[Level, Version | None]:
    """``L[:V]`` (``baseline``, ``restricted:v1.30``, ``baseline:latest``), with the API server's messages.

    The version is None when not given (the ``-version`` label is then left as it is).
    """
    level_text, sep, version_text = text.partition(":")
    try:
        level = parse_level(level_text)
    except PolicyValueError:
        raise UsageError(f'invalid {flag} "{text}": {LEVEL_ERROR}') from None
    if not sep:
        return level, None
    try:
        return level, parse_version(version_text)
    except PolicyValueError:
        raise UsageError(f'invalid {flag} "{text}": {VERSION_ERROR}') from None



def add_node_inspect_flags(parser: argparse.ArgumentParser, what: str, switch: bool = True) -> None:
    """``--node-inspect`` (unless ``switch`` is False: a command that always uses debug pods) and the
    debug pods' flags; read them with ``node_inspect_args``."""
    from ..cluster.debugpod import DEFAULT_IMAGE

    group = parser.add_argument_group("node inspection (creates a privileged pod on each node involved)")
    if switch:
        group.add_argument("--node-inspect", action="store_true",
                           help=f"{what}, from a short-lived privileged debug pod per node (always deleted)")
    group.add_argument("--image", metavar="IMAGE", help=f"the debug pods' image (default {DEFAULT_IMAGE})")
    group.add_argument("--debug-namespace", metavar="NS",
                       help="where the debug pods go (default: the context's namespace); it must allow privileged pods")
    group.add_argument("--seccomp-root", metavar="DIR", default=DEFAULT_SECCOMP_ROOT,
                       help=f"the kubelet's seccomp root, for Localhost profiles (default {DEFAULT_SECCOMP_ROOT})")
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
    from ..operations.debugpods import DebugPodSettings

    enabled = getattr(args, "node_inspect", True)  # no --node-inspect flag: always on
    if not enabled:
        for flag, value in (("--image", args.image), ("--debug-namespace", args.debug_namespace)):
            if value:
                raise UsageError(f"{flag} needs --node-inspect")
    if not args.seccomp_root.startswith("/"):
        raise UsageError(f'invalid --seccomp-root "{args.seccomp_root}": it must be an absolute path')
    settings = DebugPodSettings(namespace=args.debug_namespace, seccomp_root=args.seccomp_root.rstrip("/") or "/",
                                pod_timeout=duration_arg(args.pod_timeout, "--pod-timeout"))
    if args.image:
        settings.image = args.image
    return enabled, settings


DEFAULT_WORKERS = 8  # verify-*: execs in flight at once


@dataclass
class VerifyOptions:
    """``verify-apparmor`` and ``verify-seccomp``: which containers, how to read them, the output."""

    connection: "Connection"
    selection: "Selection"
    output: str
    no_color: bool
    debug_image: str | None
    workers: int = DEFAULT_WORKERS
    node_inspect: bool = False  # verify-seccomp --node-inspect, with the debug pods' settings
    debug: "DebugPodSettings | None" = None


def add_verify_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("pods", nargs="*", metavar="POD", help="pods to verify (default: every pod in scope)")
    add_scope_flags(parser, all_by_default=False)
    parser.add_argument("-c", "--container", metavar="NAME", help="only this container of each pod")
    parser.add_argument("--debug-image", metavar="IMAGE",
                        help="where an image has no cat: read the container's /proc through an ephemeral debug "
                             "container of IMAGE that targets it (it cannot be removed afterwards)")
    parser.add_argument("--parallel", type=int, default=DEFAULT_WORKERS, metavar="N",
                        help=f"execs in flight at once (default {DEFAULT_WORKERS})")
    add_output_flags(parser)
    add_connection_flags(parser)


def verify_args(args: argparse.Namespace) -> VerifyOptions:
    from ..operations.containers import Selection

    namespaces = scope_arg(args)
    if args.all_namespaces and args.pods:
        raise UsageError("a resource cannot be retrieved by name across all namespaces")
    if args.pods and len(namespaces) > 1:
        raise UsageError("pods named on the command line need one namespace: give -n once")
    if args.parallel < 1:
        raise UsageError(f'invalid --parallel "{args.parallel}": it must be at least 1')
    selection = Selection(pods=list(dict.fromkeys(args.pods)), namespaces=None if args.all_namespaces else namespaces,
                          container=args.container)
    return VerifyOptions(connection=connection_args(args), selection=selection, output=args.output,
                         no_color=args.no_color, debug_image=args.debug_image, workers=args.parallel)
