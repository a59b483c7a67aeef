"""Syscall tables per architecture (number <-> name) and the RuntimeDefault profiles' rules.

Both come from data files shipped in the package (``data/syscalls.json`` from libseccomp,
``data/runtime_default.json`` from containerd's and moby's default profiles), generated once
by ``scripts/gen-syscall-tables.py``, which names the sources and their versions.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

X32_SYSCALL_BIT = 0x40000000


@dataclass(frozen=True)
class Arch:
    """One architecture: libseccomp's name, the OCI ``SCMP_ARCH_*`` constant, the kernel's AUDIT_ARCH value."""

    name: str
    scmp: str
    audit: int
    by_number: dict[int, str] = field(repr=False, compare=False)
    names: frozenset[str] = field(repr=False, compare=False)

    def resolve(self, number: int) -> str | None:
        return self.by_number.get(number)


# Other spellings accepted for an architecture (Go's GOARCH, uname -m, Debian's).
_ALIASES = {
    "amd64": "x86_64", "x86-64": "x86_64", "i386": "x86", "i686": "x86", "386": "x86",
    "arm64": "aarch64", "armhf": "arm", "armel": "arm", "armv7l": "arm", "ppc64el": "ppc64le",
    "loong64": "loongarch64",
}


def _load(name: str) -> Any:
    return json.loads(resources.files(__package__).joinpath("data", name).read_text(encoding="utf-8"))


@cache
def _tables() -> tuple[dict[str, Arch], str, str]:
    data = _load("syscalls.json")
    arches: dict[str, Arch] = {}
    for name, entry in data["arches"].items():
        by_number = {int(nr): syscall for nr, syscall in entry["syscalls"].items()}
        arches[name] = Arch(name, entry["scmp"], int(entry["audit"], 16), by_number, frozenset(by_number.values()))
    return arches, data["source"], data["libseccomp"]


def arches() -> dict[str, Arch]:
    """Every architecture the tables cover, by libseccomp name, in a stable order (x86_64 first)."""
    return _tables()[0]


def table_source() -> str:
    """Where the syscall tables come from, e.g. ``libseccomp 2.6.0 (...)``."""
    return _tables()[1]


def libseccomp_version() -> str:
    return _tables()[2]


@cache
def _by_audit() -> dict[int, Arch]:
    table: dict[int, Arch] = {}
    for arch in arches().values():
        if arch.name != "x32":  # x32 shares x86_64's AUDIT_ARCH; told apart by the syscall number
            table[arch.audit] = arch
    return table


def arch_for_audit(audit: int, number: int) -> Arch | None:
    """The architecture of an audit record's ``arch=`` value (and ``syscall=`` for x32); None if unknown."""
    arch = _by_audit().get(audit)
    if arch is not None and arch.name == "x86_64" and number & X32_SYSCALL_BIT:
        return arches().get("x32")
    return arch


@cache
def _by_scmp() -> dict[str, Arch]:
    return {arch.scmp: arch for arch in arches().values()}


def arch_by_scmp(scmp: str) -> Arch | None:
    """``SCMP_ARCH_X86_64`` -> the x86_64 Arch."""
    return _by_scmp().get(scmp)


def parse_arch(text: str) -> Arch | None:
    """An architecture as a person writes it: ``x86_64``, ``amd64``, ``SCMP_ARCH_X86_64``, ``c000003e``."""
    key = text.strip()
    if key.upper().startswith("SCMP_ARCH_"):
        return arch_by_scmp(key.upper())
    lowered = key.lower()
    lowered = _ALIASES.get(lowered, lowered)
    if lowered in arches():
        return arches()[lowered]
    hex_text = lowered[2:] if lowered.startswith("0x") else lowered
    if len(hex_text) == 8:
        try:
            return arch_for_audit(int(hex_text, 16), 0)
        except ValueError:
            return None
    return None


@cache
def all_names() -> frozenset[str]:
    """Every syscall name of every architecture."""
    return frozenset(name for arch in arches().values() for name in arch.names)


@dataclass(frozen=True)
class RuntimeProfile:
    """One runtime's default seccomp profile: name -> the conditions under which it allows it."""

    runtime: str
    source: str
    allow: dict[str, list[dict[str, Any]]] = field(repr=False)
    enosys: frozenset[str] = field(repr=False)


@dataclass(frozen=True)
class RuntimeDefault:
    profiles: tuple[RuntimeProfile, ...]
    default_capabilities: frozenset[str]


@cache
def runtime_default() -> RuntimeDefault:
    data = _load("runtime_default.json")
    profiles = tuple(
        RuntimeProfile(runtime, data["source"][runtime], entry["allow"], frozenset(entry["enosys"]))
        for runtime, entry in data["runtimes"].items()
    )
    return RuntimeDefault(profiles, frozenset(data["defaultCapabilities"]))
