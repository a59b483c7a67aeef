"""One module per Pod Security check, as upstream's policy/check_*.go; ALL lists them."""
from __future__ import annotations

from . import (  # noqa: F401  (each module registers its check)
    allow_privilege_escalation,
    app_armor_profile,
    capabilities_baseline,
    capabilities_restricted,
    host_namespaces,
    host_path_volumes,
    host_ports,
    host_probes_and_host_lifecycle,
    privileged,
    proc_mount,
    proc_mount_restricted,
    restricted_volumes,
    run_as_non_root,
    run_as_user,
    se_linux_options,
    seccomp_profile_baseline,
    seccomp_profile_restricted,
    sysctls,
    windows_host_process,
)
from ._base import Check, Revision, registered

ALL: tuple[Check, ...] = registered()  # every module above registered its CHECK on import

__all__ = ["ALL", "Check", "Revision"]
