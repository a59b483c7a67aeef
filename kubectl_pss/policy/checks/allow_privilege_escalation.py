"""allowPrivilegeEscalation (restricted, v1.8+): every container sets allowPrivilegeEscalation=false.

From v1.25 Windows pods pass.
"""
from __future__ import annotations

from ..helpers import Forbidden, PodView, container_name, containers_phrase
from ..levels import Level
from ._base import Check, Revision, register


def allow_privilege_escalation_1_8(pod: PodView) -> Forbidden | None:
    bad = [
        container_name(c)
        for c, sc in zip(pod.containers, pod.container_scs)
        if not sc or sc.get("allowPrivilegeEscalation") is not False
    ]
    if bad:
        return Forbidden(
            "allowPrivilegeEscalation != false",
            f"{containers_phrase(bad)} must set securityContext.allowPrivilegeEscalation=false",
        )
    return None


def allow_privilege_escalation_1_25(pod: PodView) -> Forbidden | None:
    if pod.windows:
        return None
    return allow_privilege_escalation_1_8(pod)


CHECK = register(Check(
    "allowPrivilegeEscalation",
    Level.RESTRICTED,
    (Revision(8, allow_privilege_escalation_1_8), Revision(25, allow_privilege_escalation_1_25)),
))
