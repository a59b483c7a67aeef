"""hostNamespaces (baseline, v1.0+): no hostNetwork, hostPID or hostIPC."""
from __future__ import annotations

from ..helpers import Forbidden, PodView
from ..levels import Level
from ._base import Check, Revision, register


def host_namespaces_1_0(pod: PodView) -> Forbidden | None:
    spec = pod.spec
    bad = [f"{key}=true" for key in ("hostNetwork", "hostPID", "hostIPC") if spec.get(key) is True]
    if bad:
        return Forbidden("host namespaces", ", ".join(bad))
    return None


CHECK = register(Check("hostNamespaces", Level.BASELINE, (Revision(0, host_namespaces_1_0),)))
