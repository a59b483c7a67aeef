"""privileged (baseline, v1.0+): no container may set securityContext.privileged=true."""
from __future__ import annotations

from ..helpers import Forbidden, PodView, container_name, containers_phrase
from ..levels import Level
from ._base import Check, Revision, register


def privileged_1_0(pod: PodView) -> Forbidden | None:
    bad = [container_name(c) for c, sc in zip(pod.containers, pod.container_scs) if sc and sc.get("privileged") is True]
    if bad:
        return Forbidden("privileged", f"{containers_phrase(bad)} must not set securityContext.privileged=true")
    return None


CHECK = register(Check("privileged", Level.BASELINE, (Revision(0, privileged_1_0),)))
