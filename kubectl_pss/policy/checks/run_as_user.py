"""runAsUser (restricted, v1.23+; v1.35 exempts user-namespace pods): nothing sets runAsUser=0."""
from __future__ import annotations

from ..helpers import Forbidden, PodView, container_name, setters_phrase
from ..levels import Level
from ._base import Check, Revision, register


def _is_root(sc: dict | None) -> bool:
    if not sc:
        return False
    uid = sc.get("runAsUser")
    return uid is not None and uid == 0 and uid is not False


def run_as_user_1_23(pod: PodView) -> Forbidden | None:
    pod_bad = _is_root(pod.pod_sc)
    bad = [container_name(c) for c, sc in zip(pod.containers, pod.container_scs) if _is_root(sc)]
    if pod_bad or bad:
        return Forbidden("runAsUser=0", f"{setters_phrase(pod_bad, bad)} must not set runAsUser=0")
    return None


def run_as_user_1_35(pod: PodView) -> Forbidden | None:
    if pod.user_namespace:
        return None
    return run_as_user_1_23(pod)


CHECK = register(Check(
    "runAsUser",
    Level.RESTRICTED,
    (Revision(23, run_as_user_1_23), Revision(35, run_as_user_1_35)),
))
