"""Container runtimes as a node reports them, and the name of each one's default AppArmor profile. Pure."""
from __future__ import annotations

from dataclasses import dataclass

CONTAINERD = "containerd"
CRIO = "cri-o"
DOCKER = "docker"

# The profile each runtime loads for RuntimeDefault (and for containers that declare nothing).
APPARMOR_DEFAULTS = {
    CONTAINERD: "cri-containerd.apparmor.d",
    CRIO: "crio-default",  # CRI-O before 1.18 suffixed its version: crio-default-1.17.0
    DOCKER: "docker-default",  # dockershim / cri-dockerd
}


@dataclass(frozen=True)
class Runtime:
    name: str  # containerd, cri-o, docker, another scheme, or "" when unknown
    version: str = ""

    @property
    def known(self) -> bool:
        return self.name in APPARMOR_DEFAULTS

    def __str__(self) -> str:
        if not self.name:
            return "unknown"
        return f"{self.name} {self.version}".strip()


def parse_runtime(container_runtime_version: str | None) -> Runtime:
    """``containerd://1.7.13`` -> Runtime("containerd", "1.7.13"); None or "" -> Runtime("")."""
    if not container_runtime_version:
        return Runtime("")
    scheme, sep, version = container_runtime_version.partition("://")
    if not sep:
        return Runtime(container_runtime_version.strip().lower())
    scheme = scheme.strip().lower()
    if scheme in ("crio", "cri-o"):
        scheme = CRIO
    return Runtime(scheme, version.strip())


def apparmor_default_profile(runtime: Runtime) -> str | None:
    return APPARMOR_DEFAULTS.get(runtime.name)


def is_apparmor_runtime_default(runtime: Runtime, profile: str) -> bool | None:
    """Is ``profile`` this runtime's default? None when the runtime is unknown (then any known
    runtime's default name is accepted by the caller, with a note)."""
    if runtime.name == CRIO:
        return profile == "crio-default" or profile.startswith("crio-default-")
    default = APPARMOR_DEFAULTS.get(runtime.name)
    if default is None:
        return None
    return profile == default


def any_runtime_default(profile: str) -> str | None:
    """The runtime whose default profile is called ``profile``, if any."""
    for name in APPARMOR_DEFAULTS:
        if is_apparmor_runtime_default(Runtime(name), profile):
            return name
    return None
