"""``kubectl pss version [--client]``: the plugin version, the newest policy version it implements, and
(unless ``--client``) the server's version and what ``latest`` means there.

The server is asked only when there is something to connect with (a kubeconfig or an in-cluster
service account), with a short timeout (5 s, or ``--request-timeout``); without one, ``kubernetes``
is never imported and the answer stays instant. A server that cannot be reached is a line of the
output (``Server: unreachable (...)``, or ``server.error`` in JSON), never an error: exit 0.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from typing import Any

from .. import __version__
from ..report.render import write_report
from .common import add_connection_flags, connection_args, validate_output

SERVER_TIMEOUT = 5.0  # seconds, unless --request-timeout


@dataclass
class VersionOptions:
    output: str
    client_only: bool = True
    connection: Any = None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--client", action="store_true",
                        help="the plugin's own versions only: never contact a server (as kubectl version --client)")
    parser.add_argument("-o", "--output", default="table", help="table, json or yaml")
    add_connection_flags(parser)


def complete(args: argparse.Namespace) -> VersionOptions:
    return VersionOptions(output=args.output, client_only=args.client,
                          connection=connection_args(args, default_timeout=SERVER_TIMEOUT))


def validate(options: VersionOptions) -> None:
    validate_output(options.output)


def server_info(connection: Any) -> dict[str, Any] | None:
    """The server's version and what ``latest`` means there; None when there is nothing to connect with."""
    from ..cluster.client import kubeconfig_present

    if not kubeconfig_present(connection):
        return None
    from ..cluster.client import connect
    from ..cluster.errors import ClusterError
    from ..policy.registry import NEWEST_MINOR
    from .clusterview import server_minor

    info: dict[str, Any] = {"reachable": False}
    try:
        with connect(connection) as cluster:
            info.update(context=cluster.context, url=cluster.server)
            version = cluster.server_version()
    except ClusterError as exc:
        info["error"] = str(exc)
        return info
    minor = server_minor(version)
    info.update(reachable=True, gitVersion=version.get("gitVersion"), minor=minor,
                latest=f"v1.{minor}" if minor is not None else None,
                latestEvaluatedAs=f"v1.{min(minor, NEWEST_MINOR) if minor is not None else NEWEST_MINOR}")
    return info


def render(data: dict[str, Any], out: Any) -> None:
    out.write(f"kubectl-pss {data['version']} (Pod Security policy versions v1.0 to {data['newestPolicyVersion']})\n")
    if "server" not in data:
        return
    server = data["server"]
    if server is None:
        out.write("Server: not configured (no kubeconfig: KUBECONFIG, ~/.kube/config or --kubeconfig)\n")
    elif not server["reachable"]:
        out.write(f"Server: unreachable ({server['error']})\n")
    else:
        line = f"Server: {server['gitVersion'] or 'unknown version'} at {server['url']} (context \"{server['context']}\")"
        if server["latest"] is None:
            line += f"; latest is evaluated as {server['latestEvaluatedAs']} (the server's minor version is unknown)"
        elif server["latest"] == server["latestEvaluatedAs"]:
            line += f"; latest means {server['latest']} there"
        else:
            line += (f"; latest means {server['latest']} there, evaluated as {server['latestEvaluatedAs']} "
                     "(the newest policy this plugin knows)")
        out.write(line + "\n")


def run(options: VersionOptions) -> int:
    from ..policy.registry import NEWEST_MINOR

    data: dict[str, Any] = {"version": f"v{__version__}", "newestPolicyVersion": f"v1.{NEWEST_MINOR}"}
    if not options.client_only:
        data["server"] = server_info(options.connection)
    write_report(data, options.output, sys.stdout, render)
    return 0
