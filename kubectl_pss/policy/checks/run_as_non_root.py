"""runAsNonRoot (restricted, v1.0+; v1.35 exempts user-namespace pods): containers must run as non-root.

A pod-level runAsNonRoot=true covers containers that leave it unset.
"""
from __future__ import annotations

from ..helpers import Forbidden, PodView, container_name, containers_phrase, setters_phrase
from ..levels import Level
from ._base import Check, Revision, register

_REASON = "runAsNonRoot != true"


def run_as_non_root_1_0(pod: PodView) -> Forbidden | None:
    pod_value = pod.pod_sc.get("runAsNonRoot") if pod.pod_sc else None
    pod_bad = pod_value is False
    pod_covers = pod_value is True
    explicit: list[str] = []
    implicit: list[str] = []
    for container, sc in zip(pod.containers, pod.container_scs):
        value = sc.get("runAsNonRoot") if sc else None
        if value is not None:
            if value is False:
                explicit.append(container_name(container))
        elif not pod_covers:
            implicit.append(container_name(container))
    if pod_bad or explicit:
        return Forbidden(_REASON, f"{setters_phrase(pod_bad, explicit)} must not set securityContext.runAsNonRoot=false")
    if implicit:
        return Forbidden(_REASON, f"pod or {containers_phrase(implicit)} must set securityContext.runAsNonRoot=true")
    return None


def run_as_non_root_1_35(pod: PodView) -> Forbidden | None:
    if pod.user_namespace:
        return None
    return run_as_non_root_1_0(pod)


CHECK = register(Check(
    "runAsNonRoot",
    Level.RESTRICTED,
    (Revision(0, run_as_non_root_1_0), Revision(35, run_as_non_root_1_35)),
))
