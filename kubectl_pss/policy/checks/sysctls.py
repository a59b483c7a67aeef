"""sysctls (baseline): only the safe set of sysctls, which grows with the policy version."""
from __future__ import annotations

from ..helpers import Forbidden, PodView
from ..levels import Level
from ._base import Check, Revision, register

SAFE_SYSCTLS_1_0 = frozenset({
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_unprivileged_port_start",
})
SAFE_SYSCTLS_1_27 = SAFE_SYSCTLS_1_0 | {"net.ipv4.ip_local_reserved_ports"}
SAFE_SYSCTLS_1_29 = SAFE_SYSCTLS_1_27 | {
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
}
SAFE_SYSCTLS_1_32 = SAFE_SYSCTLS_1_29 | {"net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem"}
SAFE_SYSCTLS_1_37 = SAFE_SYSCTLS_1_32 | {"net.ipv4.tcp_slow_start_after_idle", "net.ipv4.tcp_notsent_lowat"}


def _make(allowed: frozenset[str]):
    def check(pod: PodView) -> Forbidden | None:
        pod_sc = pod.pod_sc
        listed = pod_sc.get("sysctls") if pod_sc else None
        if not listed:
            return None
        bad = []
        for sysctl in listed:
            name = sysctl.get("name") if isinstance(sysctl, dict) else None
            name = "" if name is None else str(name)
            if name not in allowed:
                bad.append(name)
        if bad:
            return Forbidden("forbidden sysctls", ", ".join(bad))
        return None

    return check


sysctls_1_0 = _make(SAFE_SYSCTLS_1_0)
sysctls_1_27 = _make(SAFE_SYSCTLS_1_27)
sysctls_1_29 = _make(SAFE_SYSCTLS_1_29)
sysctls_1_32 = _make(SAFE_SYSCTLS_1_32)
sysctls_1_37 = _make(SAFE_SYSCTLS_1_37)

CHECK = register(Check(
    "sysctls",
    Level.BASELINE,
    (
        Revision(0, sysctls_1_0),
        Revision(27, sysctls_1_27),
        Revision(29, sysctls_1_29),
        Revision(32, sysctls_1_32),
        Revision(37, sysctls_1_37),
    ),
))
