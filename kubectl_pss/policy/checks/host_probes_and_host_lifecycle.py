"""hostProbesAndHostLifecycle (baseline, v1.34+): probe and lifecycle handlers may not name a host."""
from __future__ import annotations

from ..helpers import Forbidden, PodView, container_name, join_quote, pluralize, sorted_set
from ..levels import Level
from ._base import Check, Revision, register

_PROBES = ("livenessProbe", "readinessProbe", "startupProbe")
_LIFECYCLE_HOOKS = ("postStart", "preStop")


def _handler_hosts(handler: object, hosts: set[str]) -> bool:
    if not isinstance(handler, dict):
        return False
    found = False
    for action in ("httpGet", "tcpSocket"):
        target = handler.get(action)
        if isinstance(target, dict):
            host = target.get("host")
            if host:
                hosts.add(str(host))
                found = True
    return found


def host_probes_and_host_lifecycle_1_34(pod: PodView) -> Forbidden | None:
    bad: set[str] = set()
    hosts: set[str] = set()
    for container in pod.containers:
        found = False
        for probe in _PROBES:
            found |= _handler_hosts(container.get(probe), hosts)
        lifecycle = container.get("lifecycle")
        if isinstance(lifecycle, dict):
            for hook in _LIFECYCLE_HOOKS:
                found |= _handler_hosts(lifecycle.get(hook), hosts)
        if found:
            bad.add(container_name(container))
    if bad:
        names = sorted_set(bad)
        return Forbidden(
            "probe or lifecycle host",
            f"{pluralize('container', 'containers', len(names))} {join_quote(names)} "
            f"{pluralize('uses', 'use', len(names))} "
            f"{pluralize('probe or lifecycle host', 'probe or lifecycle hosts', len(hosts))} "
            f"{join_quote(sorted_set(hosts))}",
        )
    return None


CHECK = register(Check("hostProbesAndHostLifecycle", Level.BASELINE, (Revision(34, host_probes_and_host_lifecycle_1_34),)))
