"""The AppArmor and seccomp annotation keys, defined once: the checks, admission's view of an object
and the runtime verification all read these."""
from __future__ import annotations

from typing import Any

APPARMOR_CONTAINER_PREFIX = "container.apparmor.security.beta.kubernetes.io/"  # + container name
SECCOMP_POD_ANNOTATION = "seccomp.security.alpha.kubernetes.io/pod"
SECCOMP_CONTAINER_PREFIX = "container.seccomp.security.alpha.kubernetes.io/"  # + container name
_PREFIXES = (APPARMOR_CONTAINER_PREFIX, SECCOMP_CONTAINER_PREFIX)


def confinement_annotations(annotations: Any) -> dict[str, Any]:
    """The AppArmor and seccomp annotations of ``metadata.annotations``; every other one is dropped."""
    if not isinstance(annotations, dict):
        return {}
    return {k: v for k, v in annotations.items()
            if k == SECCOMP_POD_ANNOTATION or (isinstance(k, str) and k.startswith(_PREFIXES))}
