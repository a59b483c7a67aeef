"""capabilities_baseline (baseline, v1.0+): only the default capabilities may be added."""
from __future__ import annotations

from ..helpers import Forbidden, PodView, container_name, containers_phrase, join_quote, sorted_set
from ..levels import Level
from ._base import Check, Revision, register

ALLOWED_CAPABILITIES = frozenset({
    "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
    "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
})


def capabilities_baseline_1_0(pod: PodView) -> Forbidden | None:
    bad: list[str] = []
    caps: set[str] = set()
    for container, sc in zip(pod.containers, pod.container_scs):
        if not sc:
            continue
        capabilities = sc.get("capabilities")
        if not isinstance(capabilities, dict):
            continue
        added = capabilities.get("add")
        if not added:
            continue
        found = False
        for cap in added:
            if cap not in ALLOWED_CAPABILITIES:
                caps.add(str(cap))
                found = True
        if found:
            bad.append(container_name(container))
    if bad:
        return Forbidden(
            "non-default capabilities",
            f"{containers_phrase(bad)} must not include {join_quote(sorted_set(caps))} in securityContext.capabilities.add",
        )
    return None


CHECK = register(Check("capabilities_baseline", Level.BASELINE, (Revision(0, capabilities_baseline_1_0),)))
