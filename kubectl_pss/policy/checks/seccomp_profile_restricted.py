"""seccompProfile_restricted (restricted, v1.19+): every container runs RuntimeDefault or Localhost.

A valid pod-level profile covers containers that set none. From v1.25 Windows pods pass.
Overrides seccompProfile_baseline.
"""
from __future__ import annotations

from ..helpers import Forbidden, PodView, container_name, containers_phrase
from ..levels import Level
from ._base import Check, Revision, register
from .seccomp_profile_baseline import bad_profile_type, forbidden_types_message


def seccomp_profile_restricted_1_19(pod: PodView) -> Forbidden | None:
    values: set[str] = set()
    pod_sc = pod.pod_sc
    pod_type = bad_profile_type(pod_sc)
    pod_covers = False
    if pod_type is not None:
        values.add(pod_type)
    elif pod_sc and pod_sc.get("seccompProfile") is not None:
        pod_covers = True
    explicit: list[str] = []
    implicit: list[str] = []
    for container, sc in zip(pod.containers, pod.container_scs):
        if sc and sc.get("seccompProfile") is not None:
            kind = bad_profile_type(sc)
            if kind is not None:
                explicit.append(container_name(container))
                values.add(kind)
        elif not pod_covers:
            implicit.append(container_name(container))
    if pod_type is not None or explicit:
        return forbidden_types_message(pod_type is not None, explicit, values)
    if implicit:
        return Forbidden(
            "seccompProfile",
            f'pod or {containers_phrase(implicit)} must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"',
        )
    return None


def seccomp_profile_restricted_1_25(pod: PodView) -> Forbidden | None:
    if pod.windows:
        return None
    return seccomp_profile_restricted_1_19(pod)


CHECK = register(Check(
    "seccompProfile_restricted",
    Level.RESTRICTED,
    (
        Revision(19, seccomp_profile_restricted_1_19, overrides=("seccompProfile_baseline",)),
        Revision(25, seccomp_profile_restricted_1_25, overrides=("seccompProfile_baseline",)),
    ),
))
