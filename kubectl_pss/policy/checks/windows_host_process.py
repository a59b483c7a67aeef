"""windowsHostProcess (baseline, v1.0+): no Windows HostProcess pods or containers."""
from __future__ import annotations

from ..helpers import Forbidden, PodView, container_name, setters_phrase
from ..levels import Level
from ._base import Check, Revision, register


def _host_process(sc: dict | None) -> bool:
    if not sc:
        return False
    options = sc.get("windowsOptions")
    return isinstance(options, dict) and options.get("hostProcess") is True


def windows_host_process_1_0(pod: PodView) -> Forbidden | None:
    pod_bad = _host_process(pod.pod_sc)
    bad = [container_name(c) for c, sc in zip(pod.containers, pod.container_scs) if _host_process(sc)]
    if pod_bad or bad:
        return Forbidden(
            "hostProcess",
            f"{setters_phrase(pod_bad, bad)} must not set securityContext.windowsOptions.hostProcess=true",
        )
    return None


CHECK = register(Check("windowsHostProcess", Level.BASELINE, (Revision(0, windows_host_process_1_0),)))
