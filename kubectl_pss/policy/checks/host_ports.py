"""hostPorts (baseline, v1.0+): no container port may set a non-zero hostPort."""
from __future__ import annotations

from ..helpers import Forbidden, PodView, container_name, containers_phrase, pluralize, sorted_set
from ..levels import Level
from ._base import Check, Revision, register


def host_ports_1_0(pod: PodView) -> Forbidden | None:
    bad: list[str] = []
    ports: set[str] = set()
    for container in pod.containers:
        listed = container.get("ports")
        if not listed:
            continue
        found = False
        for port in listed:
            host_port = port.get("hostPort") if isinstance(port, dict) else None
            if host_port is not None and host_port != 0:
                found = True
                ports.add(str(host_port))
        if found:
            bad.append(container_name(container))
    if bad:
        return Forbidden(
            "hostPort",
            f"{containers_phrase(bad)} {pluralize('uses', 'use', len(bad))} "
            f"{pluralize('hostPort', 'hostPorts', len(ports))} {', '.join(sorted_set(ports))}",
        )
    return None


CHECK = register(Check("hostPorts", Level.BASELINE, (Revision(0, host_ports_1_0),)))
