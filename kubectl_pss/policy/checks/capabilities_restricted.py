"""capabilities_restricted (restricted, v1.22+): drop ALL, add nothing but NET_BIND_SERVICE.

From v1.25 Windows pods pass. Overrides capabilities_baseline.
"""
from __future__ import annotations

from ..helpers import Forbidden, PodView, container_name, containers_phrase, join_quote, sorted_set
from ..levels import Level
from ._base import Check, Revision, register


def capabilities_restricted_1_22(pod: PodView) -> Forbidden | None:
    missing_drop: list[str] = []
    adding: list[str] = []
    caps: set[str] = set()
    for container, sc in zip(pod.containers, pod.container_scs):
        capabilities = sc.get("capabilities") if sc else None
        if not isinstance(capabilities, dict):
            missing_drop.append(container_name(container))
            continue
        dropped = capabilities.get("drop")
        if not dropped or "ALL" not in dropped:
            missing_drop.append(container_name(container))
        added = capabilities.get("add")
        if added:
            found = False
            for cap in added:
                if cap != "NET_BIND_SERVICE":
                    caps.add(str(cap))
                    found = True
            if found:
                adding.append(container_name(container))
    if not missing_drop and not adding:
        return None
    details = []
    if missing_drop:
        details.append(f'{containers_phrase(missing_drop)} must set securityContext.capabilities.drop=["ALL"]')
    if adding:
        details.append(
            f"{containers_phrase(adding)} must not include {join_quote(sorted_set(caps))} in securityContext.capabilities.add"
        )
    return Forbidden("unrestricted capabilities", "; ".join(details))


def capabilities_restricted_1_25(pod: PodView) -> Forbidden | None:
    if pod.windows:
        return None
    return capabilities_restricted_1_22(pod)


CHECK = register(Check(
    "capabilities_restricted",
    Level.RESTRICTED,
    (
        Revision(22, capabilities_restricted_1_22, overrides=("capabilities_baseline",)),
        Revision(25, capabilities_restricted_1_25, overrides=("capabilities_baseline",)),
    ),
))
