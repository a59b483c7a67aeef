"""Flag groups and their validation, shared by several commands (each command module stays a leaf)."""
from __future__ import annotations

import argparse
import re
import sys
from typing import TYPE_CHECKING, Any, Callable

from ...errors import UsageError
from ...policy import LEVEL_ERROR, VERSION_ERROR, Level, PolicyValueError, Version, parse_level, parse_version
from ...report.render import OUTPUT_FORMATS

if TYPE_CHECKING:
    from ...analysis.gate import FailOn
    from ...operations.cluster_state import Source
    from ...operations.connection import Connection
    from ...scope import LabelSelector, NamespaceScope


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
    from ...analysis.gate import parse_fail_on

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
    group.add_argument("-s", "--server", metavar="URL", help="the API server's address (instead of the kubeconfig's)")
    group.add_argument("--certificate-authority", metavar="FILE", help="a CA certificate file for the server's "
                       "certificate (instead of the kubeconfig's)")
    group.add_argument("--insecure-skip-tls-verify", action="store_true",
                       help="do not check the server's certificate (insecure)")
    group.add_argument("--tls-server-name", metavar="NAME", help="the server name to check the certificate against")
    group.add_argument("--token", metavar="TOKEN", help="a bearer token (instead of the kubeconfig user's credentials)")
    group.add_argument("--client-certificate", metavar="FILE", help="a client certificate file for TLS")
    group.add_argument("--client-key", metavar="FILE", help="a client key file for TLS")
    group.add_argument("--as", dest="as_user", metavar="USER", help="impersonate this user (Impersonate-User)")
    group.add_argument("--as-group", action="append", default=[], metavar="GROUP",
                       help="impersonate this group too (repeatable; needs --as)")
    group.add_argument("--as-uid", metavar="UID", help="impersonate this UID too (needs --as)")


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
    from ...cluster.client import ConnectionOptions
    from ...operations.connection import Connection

    timeout = parse_duration(args.request_timeout)
    if default_timeout is not None and args.request_timeout == "0":
        timeout = default_timeout
    return Connection(ConnectionOptions(kubeconfig=args.kubeconfig or None, context=args.context or None,
                                        cluster=args.cluster or None, user=args.user or None,
                                        request_timeout=timeout, verbosity=args.verbosity,
                                        compression=not args.disable_compression, **override_args(args)))


def override_args(args: argparse.Namespace) -> dict[str, Any]:
    """kubectl's override flags as ConnectionOptions fields, with kubectl's refusals of what cannot work."""
    from ...cluster.client import Impersonation

    if (args.as_group or args.as_uid) and not args.as_user:
        raise UsageError("requesting uid, groups or user-extra without impersonating a user: --as-group and "
                         "--as-uid need --as")
    if args.insecure_skip_tls_verify and args.certificate_authority:
        raise UsageError("specifying a root certificates file with the insecure flag is not allowed "
                         "(--certificate-authority with --insecure-skip-tls-verify)")
    for flag, path, what in (("--certificate-authority", args.certificate_authority, "certificate-authority"),
                             ("--client-certificate", args.client_certificate, "client-cert"),
                             ("--client-key", args.client_key, "client-key")):
        if path is not None:
            _readable_file(path, what)
    return {"server": args.server or None, "certificate_authority": args.certificate_authority or None,
            "insecure_skip_tls_verify": args.insecure_skip_tls_verify, "tls_server_name": args.tls_server_name or None,
            "token": args.token or None, "client_certificate": args.client_certificate or None,
            "client_key": args.client_key or None,
            "impersonate": Impersonation(args.as_user, tuple(args.as_group), args.as_uid or None)
            if args.as_user else None}


def _readable_file(path: str, what: str) -> None:
    """kubectl's "unable to read" of a certificate or key file given on the command line."""
    try:
        with open(path, "rb"):
            pass
    except OSError as exc:
        reason = (exc.strerror or str(exc)).lower()
        raise UsageError(f"unable to read {what} {path}: {reason}") from None


def connection_flags_given(args: argparse.Namespace) -> list[str]:
    """The kubeconfig-choosing flags given (what --snapshot and --offline make meaningless)."""
    return [flag for flag, value in (("--kubeconfig", args.kubeconfig), ("--context", args.context),
                                     ("--cluster", args.cluster), ("--user", args.user)) if value] + \
        [flag for flag, value in [*one_cluster_flags(args), ("--as", args.as_user)]
         if value and flag not in ("--cluster", "--user")]


def one_cluster_flags(args: argparse.Namespace) -> list[tuple[str, Any]]:
    """The connection flags that name one cluster's server or one user's credentials."""
    return [("--cluster", args.cluster), ("--user", args.user), ("--server", args.server),
            ("--certificate-authority", args.certificate_authority),
            ("--insecure-skip-tls-verify", args.insecure_skip_tls_verify), ("--tls-server-name", args.tls_server_name),
            ("--token", args.token), ("--client-certificate", args.client_certificate),
            ("--client-key", args.client_key)]


def add_snapshot_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("offline")
    group.add_argument("--snapshot", action="append", metavar="FILE",
                       help="read the cluster from a dump (file, directory or -) instead of the API server")
    group.add_argument("--server-version", metavar="v1.N",
                       help="with --snapshot: the cluster's version, which is what latest means (default: from the dump)")
    parser.add_argument("--latest", choices=("cluster", "newest"), default="cluster",
                        help="what the policy version latest means: the cluster's own version, as its API server "
                             "evaluates it (default), or the newest policy this tool knows")


def add_scope_flags(parser: argparse.ArgumentParser, all_by_default: bool = False,
                    namespace_selector: bool = False) -> None:
    parser.add_argument("-A", "--all-namespaces", action="store_true", help="every namespace")
    parser.add_argument("-n", "--namespace", action="append", default=[], metavar="NS",
                        help="a namespace (repeatable, or comma-separated)"
                        + ("" if all_by_default else "; default: the context's namespace"))
    if namespace_selector:
        add_namespace_selector_flags(parser)


SELECTOR_SYNTAX = "k=v, k!=v, k, !k, k in (a,b), k notin (a,b); comma-separated, all must hold"


def add_namespace_selector_flags(parser: argparse.ArgumentParser) -> None:
    """``-l`` (namespaces by label) and ``--exclude-namespace``; read them with ``namespace_scope_arg``."""
    parser.add_argument("-l", "--selector", metavar="SELECTOR",
                        help=f"namespaces whose labels match ({SELECTOR_SYNTAX}); alone: across every namespace")
    parser.add_argument("--exclude-namespace", action="append", default=[], metavar="NS",
                        help='leave out these namespaces (repeatable, comma-separated, shell globs such as "kube-*")')


def selector_arg(text: str | None, flag: str = "-l") -> "LabelSelector | None":
    """A label selector in kubectl's syntax, parsed once (None when not given); bad syntax is a usage error."""
    from ...scope import SelectorError, parse_selector

    if text is None:
        return None
    if not text.strip():
        raise UsageError(f"invalid {flag}: empty selector")
    try:
        return parse_selector(text)
    except SelectorError as exc:
        raise UsageError(f'invalid {flag} "{text}": {exc}') from None


def field_selector_arg(text: str | None) -> str | None:
    """``--field-selector`` checked and made canonical (which fields a resource knows is the server's to say)."""
    from ...scope import SelectorError, parse_field_selector

    try:
        return None if text is None else parse_field_selector(text)
    except SelectorError as exc:
        raise UsageError(f'invalid --field-selector "{text}": {exc}') from None


def exclude_arg(values: list[str]) -> tuple[str, ...]:
    """``--exclude-namespace`` values (repeatable, comma-separated): namespace names or shell globs of them."""
    from ...scope import NAMESPACE_GLOB

    patterns = list_arg(values)
    for pattern in patterns:
        if not NAMESPACE_GLOB.fullmatch(pattern):
            raise UsageError(f'invalid --exclude-namespace "{pattern}": a namespace or a shell pattern of names '
                             '(e.g. "kube-*")')
    return tuple(patterns)


EXCLUDE_NAMED = "--exclude-namespace narrows -A or -l, not namespaces named"


def namespace_scope_arg(args: argparse.Namespace) -> "NamespaceScope":
    """-n, -A, -l and --exclude-namespace as one scope: -n names namespaces, -A or -l alone means every
    namespace (narrowed by -l and the excludes), nothing the context's namespace."""
    from ...scope import NamespaceScope

    names = scope_arg(args)
    selector = selector_arg(args.selector)
    exclude = exclude_arg(args.exclude_namespace)
    if names and exclude:
        raise UsageError(EXCLUDE_NAMED)
    if names:
        return NamespaceScope(tuple(names), selector, exclude)
    if args.all_namespaces or selector is not None:
        return NamespaceScope(None, selector, exclude)
    if exclude:
        raise UsageError("--exclude-namespace narrows -A or -l: add -A for every namespace but these")
    return NamespaceScope((), None, ())


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
    from ...operations.cluster_state import Source

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
    and where the cluster is read (connection flags or --snapshot); read them with ``namespace_scope_arg``
    and ``source_args``."""
    add_scope_flags(parser, all_by_default, namespace_selector=True)
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



