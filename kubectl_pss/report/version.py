"""``version``'s table: the plugin, its newest policy, and what ``latest`` means on the server."""
from __future__ import annotations

from typing import Any


def render_version(data: dict[str, Any], out: Any) -> None:
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
