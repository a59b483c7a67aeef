"""appArmorProfile (baseline, v1.0+): no Unconfined or unknown AppArmor profile, by field or annotation.

The field part applies at every version (upstream added it retroactively).
"""
from __future__ import annotations

from ..annotations import APPARMOR_CONTAINER_PREFIX
from ..helpers import Forbidden, PodView, container_name, go_quote, join_quote, pluralize, setters_phrase, sorted_set
from ..levels import Level
from ._base import Check, Revision, register

_ALLOWED_TYPES = frozenset({"RuntimeDefault", "Localhost"})


def _allowed_annotation(value: object) -> bool:
    # A null annotation value decodes to "" in Go, which is allowed.
    return (
        value is None or value == "" or value == "runtime/default"
        or (isinstance(value, str) and value.startswith("localhost/"))
    )


def _profile_type(sc: dict | None) -> str | None:
    """The bad type of a set appArmorProfile, or None when unset or allowed."""
    if not sc:
        return None
    profile = sc.get("appArmorProfile")
    if profile is None:
        return None
    kind = profile.get("type") if isinstance(profile, dict) else None
    if kind in _ALLOWED_TYPES:
        return None
    return "" if kind is None else str(kind)


def app_armor_profile_1_0(pod: PodView) -> Forbidden | None:
    bad_values: set[str] = set()
    pod_bad = _profile_type(pod.pod_sc)
    if pod_bad is not None:
        bad_values.add(pod_bad)
    bad_containers: list[str] = []
    for container, sc in zip(pod.containers, pod.container_scs):
        bad = _profile_type(sc)
        if bad is not None:
            bad_containers.append(container_name(container))
            bad_values.add(bad)
    annotations = [
        f"{key}={go_quote(value if isinstance(value, str) else str(value))}"
        for key, value in pod.annotations.items()
        if isinstance(key, str) and key.startswith(APPARMOR_CONTAINER_PREFIX) and not _allowed_annotation(value)
    ]
    if pod_bad is None and not bad_containers and not annotations:
        return None
    values = sorted_set(bad_values)
    annotation_setter = None
    if annotations:
        values.extend(sorted_set(set(annotations)))  # keys are unique, so no item is lost
        annotation_setter = pluralize("annotation", "annotations", len(annotations))
    setters = setters_phrase(pod_bad is not None, bad_containers, annotation_setter)
    return Forbidden(
        pluralize("forbidden AppArmor profile", "forbidden AppArmor profiles", len(values)),
        f"{setters} must not set AppArmor profile type to {join_quote(values)}",
    )


CHECK = register(Check("appArmorProfile", Level.BASELINE, (Revision(0, app_armor_profile_1_0),)))
