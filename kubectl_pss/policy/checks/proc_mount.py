"""procMount (baseline, v1.0+; v1.35 exempts user-namespace pods): only the Default proc mount."""
from __future__ import annotations

from ..helpers import Forbidden, PodView, container_name, containers_phrase, join_quote, sorted_set
from ..levels import Level
from ._base import Check, Revision, register


def proc_mount_1_0(pod: PodView) -> Forbidden | None:
    bad: list[str] = []
    values: set[str] = set()
    for container, sc in zip(pod.containers, pod.container_scs):
        if not sc:
            continue
        proc_mount = sc.get("procMount")
        if proc_mount is not None and proc_mount != "Default":
            bad.append(container_name(container))
            values.add(str(proc_mount))
    if bad:
        return Forbidden(
            "procMount",
            f"{containers_phrase(bad)} must not set securityContext.procMount to {join_quote(sorted_set(values))}",
        )
    return None


def proc_mount_1_35(pod: PodView) -> Forbidden | None:
    if pod.user_namespace:
        return None
    return proc_mount_1_0(pod)


CHECK = register(Check("procMount", Level.BASELINE, (Revision(0, proc_mount_1_0), Revision(35, proc_mount_1_35))))
