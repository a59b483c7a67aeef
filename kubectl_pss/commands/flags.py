"""Flag groups and their validation, shared by several commands (each command module stays a leaf)."""
from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from ..errors import UsageError
from ..policy import LEVEL_ERROR, VERSION_ERROR, Level, PolicyValueError, Version, parse_level, parse_version
from ..confinement.model import DEFAULT_SECCOMP_ROOT
from ..report.render import OUTPUT_FORMATS

if TYPE_CHECKING:
    from ..analysis.gate import FailOn
    from ..operations.cluster_state import Source
    from ..operations.connection import Connection
    from ..operations.containers import Selection
    from ..operations.debugpods import DebugPodSettings


def add_output_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-o", "--output", default="table", help="output format: table, json or yaml (default table)")
    parser.add_argument("--no-color", action="store_true", help="never colour the table (NO_COLOR is honoured too)")
    add_no_headers_flag(parser)


def add_no_headers_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-headers", action="store_true",
                        help="tables without column headers and captions (as kubectl get --no-headers)")


def validate_output(output: str, allowed: tuple[str, ...] = OUTPUT_FORMATS) -> None:
    """kubectl's one-line error for an -o the command does not print."""
    if output not in allowed:
        raise UsageError(f'unable to match a printer suitable for the output format "{output}", allowed formats are: '
                         f'{", ".join(allowed)}')


DRY_RUN_VALUES = ("none", "client", "server")
_DRY_RUN_BARE = "unchanged"  # kubectl's NoOptDefVal: --dry-run given without a value


def add_dry_run_flag(parser: argparse.ArgumentParser, help: str) -> None:
    """kubectl's ``--dry-run[=none|client|server]``; read it with ``dry_run_arg``."""
    parser.add_argument("--dry-run", default="none", metavar="none|client|server", help=help)
    bare = getattr(parser, "bare_values", None)
    if bare is None:
        bare = parser.bare_values = {}  # type: ignore[attr-defined]
    bare["--dry-run"] = _DRY_RUN_BARE


def dry_run_arg(value: str) -> str:
    """kubectl 1.32's GetDryRunStrategy: ``--dry-run`` alone and the old booleans still work, with its warning."""
    replaced = {_DRY_RUN_BARE: ("--dry-run", "client"), "true": ("--dry-run=true", "client"),
                "false": ("--dry-run=false", "none")}
    if value in replaced:
        given, strategy = replaced[value]
        boolean = " (boolean value)" if value != _DRY_RUN_BARE else ""
        print(f"warning: {given} is deprecated{boolean} and can be replaced with --dry-run={strategy}.",
              file=sys.stderr)
        return strategy
    if value not in DRY_RUN_VALUES:
        raise UsageError(f'invalid --dry-run "{value}": must be "none", "server", or "client"')
    return value


def level_arg(text: str, flag: str = "--level") -> Level:
    try:
        return parse_level(text)
    except PolicyValueError:
        raise UsageError(f'invalid {flag} "{text}": {LEVEL_ERROR}') from None


def fail_on_arg(text: str) -> "FailOn":
    """``--fail-on`` of check, audit and simulate: a mode or a level (analysis.gate, one meaning for all three)."""
    from ..analysis.gate import parse_fail_on

    try:
        return parse_fail_on(text)
    except ValueError as exc:
        raise UsageError(f'invalid --fail-on "{text}": {exc}') from None


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


def add_gate_flags(parser: argparse.ArgumentParser, default: str = "") -> None:
    """``--fail-on``, ``--baseline`` and ``--write-baseline`` of check, audit and simulate (analysis.gate)."""
    parser.add_argument("--fail-on", metavar="MODE|LEVEL",
                        help="exit 1 when something violates its namespace's MODE (enforce, audit, warn) or cannot "
                             "pass LEVEL (baseline, restricted), unless --baseline knows it (for CI)" + default)
    parser.add_argument("--baseline", metavar="FILE",
                        help="known violations (identities, never file positions): reported, but they do not fail")
    parser.add_argument("--write-baseline", metavar="FILE", help="write today's findings as a baseline file")


def add_admission_config_flag(parser: argparse.ArgumentParser, note: str = "") -> None:
    parser.add_argument("--admission-config", metavar="FILE",
                        help="the API server's AdmissionConfiguration (PodSecurity defaults and exemptions)" + note)


def scope_arg(args: argparse.Namespace) -> list[str]:
    """The namespaces named with -n (repeatable, comma-separated); -A with -n is an error, as in kubectl."""
    namespaces = namespaces_arg(args.namespace)
    if args.all_namespaces and namespaces:
        raise UsageError("a resource cannot be retrieved by namespace across all namespaces: use -A or -n, not both")
    return namespaces


def list_arg(values: list[str]) -> list[str]:
    """Repeatable, comma-separated values, in order, each once."""
    names = [n.strip() for value in values for n in value.split(",") if n.strip()]
    return list(dict.fromkeys(names))


DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
DNS1123_LABEL_ERROR = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "
                       "must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used "
                       "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")


def namespaces_arg(values: list[str]) -> list[str]:
    """Namespace names (``list_arg``), each a DNS-1123 label, with kubectl's message (apimachinery's
    IsDNS1123Label as client-go words an invalid namespace); never sent to the server as a path."""
    names = list_arg(values)
    for name in names:
        errors = (["must be no more than 63 characters"] if len(name) > 63 else []) + \
            ([] if DNS1123_LABEL.fullmatch(name) else [DNS1123_LABEL_ERROR])
        if errors:
            raise UsageError(f'invalid namespace "{name}": [{" ".join(errors)}]')
    return names


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


def level_and_version_args(text: str, version_text: str, flag: str = "--level") -> tuple[Level, Version]:
    """``L`` or ``L:V`` (as ``label`` takes it) beside ``--version``: ``:V`` means ``--version V``; both
    given and different is an error (``--version``'s default, latest, gives way to ``:V``)."""
    level, version = level_version_arg(text, flag)
    flag_version = version_arg(version_text)
    if version is None:
        return level, flag_version
    if version_text != "latest" and flag_version != version:
        raise UsageError(f'{flag} "{text}" and --version "{version_text}" name different versions: give it once')
    return level, version



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
    from ..operations.debugpods import DebugPodSettings

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
    from ..operations.containers import Selection

    namespaces = scope_arg(args)
    if args.all_namespaces and args.pods:
        raise UsageError("a resource cannot be retrieved by name across all namespaces")
    if args.pods and len(namespaces) > 1:
        raise UsageError("pods named on the command line need one namespace: give -n once")
    if args.parallel is not None and args.parallel < 1:
        raise UsageError(f'invalid --parallel "{args.parallel}": it must be at least 1')
    selection = Selection(pods=list(dict.fromkeys(args.pods)), namespaces=None if args.all_namespaces else namespaces,
                          container=args.container)
    if args.compare_exec and not args.node_inspect:
        raise UsageError("--compare-exec needs --node-inspect")
    options = VerifyOptions(connection=connection_args(args), selection=selection, output=args.output,
                            no_color=args.no_color, debug_image=args.debug_image,
                            workers=args.parallel or DEFAULT_WORKERS)
    options.compare_exec = args.compare_exec
    options.node_inspect, options.debug = node_inspect_args(args)
    return options
