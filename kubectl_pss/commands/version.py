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
from ..operations.connection import Connection
from ..report.version import render_version
from .flags import add_connection_flags, connection_args, validate_output

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


def server_info(connection: Connection) -> dict[str, Any] | None:
    """The server's version and what ``latest`` means there; None when there is nothing to connect with."""
    from ..cluster.kubeconfig import kubeconfig_present

    if not kubeconfig_present(connection.options):
        return None
    from ..cluster.errors import ClusterError
    from ..operations.cluster_state import server_minor
    from ..policy.registry import NEWEST_MINOR

    info: dict[str, Any] = {"reachable": False}
    try:
        with connection:
            cluster = connection.cluster()
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


def run(options: VersionOptions) -> int:
    from ..policy.registry import NEWEST_MINOR

    data: dict[str, Any] = {"version": f"v{__version__}", "newestPolicyVersion": f"v1.{NEWEST_MINOR}"}
    if not options.client_only:
        assert options.connection is not None
        data["server"] = server_info(options.connection)
    write_report(data, options.output, sys.stdout, render_version)
    return 0
