"""seccompProfile_baseline (baseline): no Unconfined seccomp profile.

v1.0-v1.18 read the alpha annotations only; v1.19+ read the fields only.
"""
from __future__ import annotations

from ..annotations import SECCOMP_CONTAINER_PREFIX, SECCOMP_POD_ANNOTATION
from ..helpers import Forbidden, PodView, container_name, go_quote, join_quote, pluralize, setters_phrase, sorted_set
from ..levels import Level
from ._base import Check, Revision, register

ALLOWED_TYPES = frozenset({"RuntimeDefault", "Localhost"})


def _valid_annotation(value: object) -> bool:
    return value in ("runtime/default", "docker/default") or (isinstance(value, str) and value.startswith("localhost/"))


def _annotation_item(key: str, value: object) -> str:
    # A null annotation value decodes to "" in Go (and "" is a forbidden value).
    text = "" if value is None else value if isinstance(value, str) else str(value)
    return f"{key}={go_quote(text)}"


def seccomp_profile_baseline_1_0(pod: PodView) -> Forbidden | None:
    annotations = pod.annotations
    if not annotations:
        return None
    forbidden: set[str] = set()
    if SECCOMP_POD_ANNOTATION in annotations and not _valid_annotation(annotations[SECCOMP_POD_ANNOTATION]):
        forbidden.add(_annotation_item(SECCOMP_POD_ANNOTATION, annotations[SECCOMP_POD_ANNOTATION]))
    for container in pod.containers:
        key = SECCOMP_CONTAINER_PREFIX + container_name(container)
        if key in annotations and not _valid_annotation(annotations[key]):
            forbidden.add(_annotation_item(key, annotations[key]))
    if forbidden:
        return Forbidden(
            "seccompProfile",
            f"forbidden {pluralize('annotation', 'annotations', len(forbidden))} {', '.join(sorted_set(forbidden))}",
        )
    return None


def bad_profile_type(sc: dict | None) -> str | None:
    """The type of a set seccompProfile that is not RuntimeDefault/Localhost; None if unset or allowed."""
    if not sc:
        return None
    profile = sc.get("seccompProfile")
    if profile is None:
        return None
    kind = profile.get("type") if isinstance(profile, dict) else None
    if kind in ALLOWED_TYPES:
        return None
    return "" if kind is None else str(kind)


def forbidden_types_message(pod_bad: bool, containers: list[str], values: set[str]) -> Forbidden:
    return Forbidden(
        "seccompProfile",
        f"{setters_phrase(pod_bad, containers)} must not set securityContext.seccompProfile.type to "
        f"{join_quote(sorted_set(values))}",
    )


def seccomp_profile_baseline_1_19(pod: PodView) -> Forbidden | None:
    values: set[str] = set()
    pod_type = bad_profile_type(pod.pod_sc)
    if pod_type is not None:
        values.add(pod_type)
    bad: list[str] = []
    for container, sc in zip(pod.containers, pod.container_scs):
        kind = bad_profile_type(sc)
        if kind is not None:
            bad.append(container_name(container))
            values.add(kind)
    if pod_type is None and not bad:
        return None
    return forbidden_types_message(pod_type is not None, bad, values)


CHECK = register(Check(
    "seccompProfile_baseline",
    Level.BASELINE,
    (Revision(0, seccomp_profile_baseline_1_0), Revision(19, seccomp_profile_baseline_1_19)),
))
