"""``version``'s table: the plugin, its newest policy, and what ``latest`` means on the server."""
from __future__ import annotations

from typing import Any


def render_version(data: dict[str, Any], out: Any) -> None:
    out.write(f"kubectl-pss {data['version']} (Pod Security policy versions v1.0 to {data['newestPolicyVersion']})\n")
    status = data["serverStatus"]
    if status is None:
        return
    error = data["errors"][0]["message"] if data["errors"] else ""
    state = status["state"]
    if state == "notConfigured":
        out.write("Server: not configured (no kubeconfig: KUBECONFIG, ~/.kube/config or --kubeconfig)\n")
    elif state == "notConnected":
        out.write(f"Server: not connected: the kubeconfig cannot be used ({error})\n")
    elif state == "unreachable":
        out.write(f"Server: unreachable ({error})\n")
    elif state == "noVersion":
        out.write(f"Server: reached at {status['url']}, but it did not give its version ({error})\n")
    else:
        server = data["server"] or {}
        line = (f"Server: {server.get('gitVersion') or 'unknown version'} at {status['url']} "
                f"(context \"{data['context']}\")")
        if status["latest"] is None:
            line += f"; latest is evaluated as {status['latestEvaluatedAs']} (the server's minor version is unknown)"
        elif status["latest"] == status["latestEvaluatedAs"]:
            line += f"; latest means {status['latest']} there"
        else:
            line += (f"; latest means {status['latest']} there, evaluated as {status['latestEvaluatedAs']} "
                     "(the newest policy this plugin knows)")
        out.write(line + "\n")
