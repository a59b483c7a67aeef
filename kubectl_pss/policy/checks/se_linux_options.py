"""seLinuxOptions (baseline, v1.0+; v1.31 allows container_engine_t): no custom SELinux user, role or type."""
from __future__ import annotations

from ..helpers import Forbidden, PodView, container_name, join_quote, pluralize, setters_phrase, sorted_set
from ..levels import Level
from ._base import Check, Revision, register

_TYPES_1_0 = frozenset({"", "container_t", "container_init_t", "container_kvm_t"})
_TYPES_1_31 = _TYPES_1_0 | {"container_engine_t"}


def _make(allowed_types: frozenset[str]):
    def check(pod: PodView) -> Forbidden | None:
        bad_types: set[str] = set()
        flags = {"user": False, "role": False}

        def valid(opts: object) -> bool:
            if not isinstance(opts, dict):
                return True
            ok = True
            kind = opts.get("type")
            kind = "" if kind is None else str(kind)
            if kind not in allowed_types:
                ok = False
                bad_types.add(kind)
            if opts.get("user"):
                ok = False
                flags["user"] = True
            if opts.get("role"):
                ok = False
                flags["role"] = True
            return ok

        pod_bad = False
        if pod.pod_sc and pod.pod_sc.get("seLinuxOptions") is not None:
            pod_bad = not valid(pod.pod_sc["seLinuxOptions"])
        bad_containers = [
            container_name(c)
            for c, sc in zip(pod.containers, pod.container_scs)
            if sc and sc.get("seLinuxOptions") is not None and not valid(sc["seLinuxOptions"])
        ]
        if not pod_bad and not bad_containers:
            return None
        data = []
        if bad_types:
            data.append(f"{pluralize('type', 'types', len(bad_types))} {join_quote(sorted_set(bad_types))}")
        if flags["user"]:
            data.append("user may not be set")
        if flags["role"]:
            data.append("role may not be set")
        return Forbidden(
            "seLinuxOptions",
            f"{setters_phrase(pod_bad, bad_containers)} set forbidden securityContext.seLinuxOptions: {'; '.join(data)}",
        )

    return check


se_linux_options_1_0 = _make(_TYPES_1_0)
se_linux_options_1_31 = _make(_TYPES_1_31)

CHECK = register(Check(
    "seLinuxOptions",
    Level.BASELINE,
    (Revision(0, se_linux_options_1_0), Revision(31, se_linux_options_1_31)),
))
