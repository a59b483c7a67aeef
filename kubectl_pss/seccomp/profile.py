"""Seccomp profiles that allow exactly the syscalls a workload was seen to call.

Two shapes of the same content:

- ``kubelet``: the JSON the kubelet passes on from its seccomp root
  (``/var/lib/kubelet/seccomp/...``, a Pod's ``seccompProfile: {type: Localhost, localhostProfile: ...}``),
  the OCI runtime spec's ``LinuxSeccomp`` as containerd, CRI-O and Docker read it.
- ``spo``: a Security Profiles Operator ``SeccompProfile`` object with the same ``spec``.
"""
from __future__ import annotations

import re
from typing import Any, Iterable

from .tables import arches as all_arches

FORMATS = ("kubelet", "spo")
SPO_API_VERSION = "security-profiles-operator.x-k8s.io/v1beta1"
DEFAULT_ACTION = "SCMP_ACT_ERRNO"
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")


def is_dns_subdomain(name: str) -> bool:
    """A valid Kubernetes object name (RFC 1123 subdomain, at most 253 characters)."""
    return len(name) <= 253 and _DNS_SUBDOMAIN.fullmatch(name) is not None


def spec(arch_names: Iterable[str], syscalls: Iterable[str]) -> dict[str, Any]:
    """defaultAction SCMP_ACT_ERRNO, the architectures (table order), the syscalls allowed (sorted)."""
    chosen = set(arch_names)
    architectures = [arch.scmp for name, arch in all_arches().items() if name in chosen]
    unknown = chosen - set(all_arches())
    if unknown:
        raise ValueError(f"unknown architecture(s): {', '.join(sorted(unknown))}")
    names = sorted(set(syscalls))
    rules = [{"names": names, "action": "SCMP_ACT_ALLOW"}] if names else []
    return {"defaultAction": DEFAULT_ACTION, "architectures": architectures, "syscalls": rules}


def build(arch_names: Iterable[str], syscalls: Iterable[str], fmt: str = "kubelet",
          name: str | None = None, namespace: str | None = None) -> dict[str, Any]:
    """The profile in ``fmt`` (``kubelet`` or ``spo``); ``name``/``namespace`` are the SPO object's."""
    body = spec(arch_names, syscalls)
    if fmt == "kubelet":
        return body
    if fmt != "spo":
        raise ValueError(f"unknown profile format {fmt!r}")
    metadata: dict[str, Any] = {"name": name or "recorded"}
    if namespace:
        metadata["namespace"] = namespace
    # The operator's CRD lists syscalls as {action, names}.
    spo_spec = {"defaultAction": body["defaultAction"], "architectures": body["architectures"],
                "syscalls": [{"action": r["action"], "names": r["names"]} for r in body["syscalls"]]}
    return {"apiVersion": SPO_API_VERSION, "kind": "SeccompProfile", "metadata": metadata, "spec": spo_spec}


def default_name(comm: str | None, exe: str | None) -> str:
    """An SPO object name from the selected command (``http-echo``), or ``recorded``."""
    base = comm if comm is not None else (exe.rsplit("/", 1)[-1] if exe else "")
    name = re.sub(r"[^a-z0-9.-]+", "-", base.lower()).strip("-.")[:253].strip("-.")
    return name if name and is_dns_subdomain(name) else "recorded"
