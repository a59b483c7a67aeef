"""``kubectl pss version [--client]``: the plugin version, the newest policy version it implements, and
(unless ``--client``) the server's version and what ``latest`` means there.

The server is asked only when there is something to connect with (a kubeconfig or an in-cluster
service account), with a short timeout (5 s, or ``--request-timeout``); without one, ``kubernetes``
is never imported and the answer stays instant. A server that cannot be reached is a line of the
output (``Server: unreachable (...)``; in JSON ``serverStatus.state`` and the message in ``errors``), never an
error: exit 0. A server that answers, but not with its version (an HTML login page, 401), was reached: it says so.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from typing import Any

from .. import __version__
from ..errors import UsageError
from ..report.envelope import envelope, server_info
from ..report.render import write_report
from ..operations.connection import Connection
from ..report.version import render_version
from .flags import add_connection_flags, connection_args, validate_output
from .flags.fleet import add_fleet_flags, Fleet, fleet_args

EXAMPLES = """
# The plugin, the policy versions it knows, and the server's version
kubectl pss version

# The plugin only, as JSON
kubectl pss version --client -o json
"""
EXIT_CODES = ((0, 'printed (an unreachable server is part of the output, not an error)'),)


SERVER_TIMEOUT = 5.0  # seconds, unless --request-timeout


@dataclass
class VersionOptions:
    output: str
    client_only: bool = True
    connection: Connection | None = None
    fleet: Fleet | None = None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--client", action="store_true",
                        help="the plugin's own versions only: never contact a server (as kubectl version --client)")
    parser.add_argument("-o", "--output", default="table", help="table, json or yaml")
    add_connection_flags(parser)
    add_fleet_flags(parser)


def complete(args: argparse.Namespace) -> VersionOptions:
    connection = connection_args(args, default_timeout=SERVER_TIMEOUT)
    fleet = fleet_args(args, connection)
    if fleet is not None and args.client:
        raise UsageError("--client asks no server: --contexts and --all-contexts do not apply")
    return VersionOptions(output=args.output, client_only=args.client, connection=connection, fleet=fleet)


def validate(options: VersionOptions) -> None:
    validate_output(options.output)


# What became of asking the server (VersionReport's ``serverStatus.state``).
NOT_CONFIGURED = "notConfigured"  # no kubeconfig: nothing to ask
NOT_CONNECTED = "notConnected"  # the kubeconfig could not be used: no request was sent
UNREACHABLE = "unreachable"  # no HTTP answer
NO_VERSION = "noVersion"  # it answered, but not with its version (401, an HTML page, a cut-short body...)
OK = "ok"


@dataclass
class ServerAnswer:
    status: dict[str, Any]
    context: str | None = None
    version: dict[str, Any] | None = None
    minor: int | None = None
    error: str | None = None


def ask_server(connection: Connection) -> ServerAnswer:
    """The server's version and what ``latest`` means there, or why there is none."""
    from ..cluster.kubeconfig import kubeconfig_present

    status: dict[str, Any] = {"state": NOT_CONFIGURED, "url": None, "latest": None, "latestEvaluatedAs": None}
    if not kubeconfig_present(connection.options):
        return ServerAnswer(status)
    from ..cluster.errors import ClusterError, ClusterUnreachable, ConfigError
    from ..operations.cluster_state import server_minor
    from ..policy.registry import NEWEST_MINOR

    answer = ServerAnswer(status)
    try:
        with connection:
            status["state"] = NOT_CONNECTED
            cluster = connection.cluster()
            answer.context, status["url"] = cluster.context, cluster.server
            version = cluster.server_version()
    except ClusterError as exc:
        if not isinstance(exc, ConfigError):
            status["state"] = UNREACHABLE if isinstance(exc, ClusterUnreachable) else NO_VERSION
        answer.error = str(exc)
        return answer
    answer.version, answer.minor = version, server_minor(version)
    minor = answer.minor
    status.update(state=OK, latest=f"v1.{minor}" if minor is not None else None,
                  latestEvaluatedAs=f"v1.{min(minor, NEWEST_MINOR) if minor is not None else NEWEST_MINOR}")
    return answer


def version_report(connection: Connection | None) -> dict[str, Any]:
    """The VersionReport; with a connection, what its server says (or why it does not)."""
    from ..policy.registry import NEWEST_MINOR

    body: dict[str, Any] = {"version": f"v{__version__}", "newestPolicyVersion": f"v1.{NEWEST_MINOR}",
                            "serverStatus": None}
    answer = None
    if connection is not None:
        answer = ask_server(connection)
        body["serverStatus"] = answer.status
    return envelope("VersionReport", body, context=answer and answer.context,
                    server=answer and server_info(answer.version, answer.minor),
                    errors=[answer.error] if answer and answer.error else [])


def run(options: VersionOptions) -> int:
    if options.fleet is not None:
        from ..operations.fleet import run_fleet
        from ..report.fleet import write_fleet

        results = run_fleet(options.connection, options.fleet.contexts, options.fleet.parallel,
                            lambda conn: {**version_report(conn), "context": conn.options.context})
        client = version_report(None)
        write_fleet(results, "VersionReport", options.output, sys.stdout, None, server_line,
                    preamble=f"kubectl-pss {client['version']} (Pod Security policy versions v1.0 to "
                             f"{client['newestPolicyVersion']})\n")
        return 0  # as for one server: an unreachable one is part of the output
    write_report(version_report(None if options.client_only else options.connection), options.output, sys.stdout,
                 render_version)
    return 0


def server_line(report: dict[str, Any]) -> str:
    """A context's server in a word or two, for the fleet's roll-up."""
    status = report["serverStatus"]
    error = report["errors"][0]["message"] if report["errors"] else ""
    if status["state"] == OK:
        return f"latest means {status['latest'] or 'unknown'}, evaluated as {status['latestEvaluatedAs']}"
    return f"{status['state']}: {error}" if error else status["state"]
