"""What ``seccomp lint`` finds: the findings, the change from Unconfined per architecture, the report,
and actions named for people."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .tables import Arch, libseccomp_version, runtime_default

ERRNO_NAMES = {1: "EPERM", 13: "EACCES", 38: "ENOSYS"}
EPERM = 1

ERROR, WARNING, NOTE = "error", "warning", "note"


@dataclass
class Finding:
    severity: str  # error, warning or note
    code: str  # schema, unknown-syscall, unknown-on-arch, duplicate, conflict, useless, dangerous, ...
    path: str  # where in the profile: "syscalls[0].names[3]", "" for the whole profile
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"severity": self.severity, "code": self.code, "path": self.path, "message": self.message}

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


@dataclass
class ArchEffect:
    """What the profile does to one architecture's syscalls, compared with Unconfined (all allowed)."""

    arch: Arch
    allowed: list[str]  # still allowed (SCMP_ACT_ALLOW)
    logged: list[str]  # allowed and logged (SCMP_ACT_LOG)
    conditional: list[str]  # allowed or not depending on arguments or capabilities
    changed: dict[str, list[str]]  # other action (e.g. "SCMP_ACT_ERRNO(1)") -> syscalls

    @property
    def total(self) -> int:
        return len(self.allowed) + len(self.logged) + len(self.conditional) + sum(map(len, self.changed.values()))

    def as_dict(self) -> dict[str, Any]:
        return {"architecture": self.arch.scmp, "syscalls": self.total, "allowed": self.allowed,
                "logged": self.logged, "conditional": self.conditional, "changed": self.changed}


@dataclass
class LintReport:
    kind: str  # "kubelet" (a LinuxSeccomp profile) or "spo" (a SeccompProfile object)
    findings: list[Finding] = field(default_factory=list)
    architectures: list[str] = field(default_factory=list)  # SCMP_ARCH_* listed (with archMap's)
    effects: list[ArchEffect] = field(default_factory=list)
    effects_note: str = ""

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == ERROR]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == WARNING]

    @property
    def valid(self) -> bool:
        return not self.errors

    @property
    def summary(self) -> dict[str, int]:
        """The counts of ``-o json`` (``seccomp lint``, and ``seccomp install``'s profile)."""
        return {"errors": len(self.errors), "warnings": len(self.warnings)}

    def as_dict(self) -> dict[str, Any]:
        defaults = runtime_default()
        return {
            "format": self.kind, "valid": self.valid,
            "summary": self.summary,
            "findings": [f.as_dict() for f in self.findings],
            "architectures": self.architectures,
            "unconfinedComparison": {"note": self.effects_note, "architectures": [e.as_dict() for e in self.effects]},
            "sources": {"syscallTables": f"libseccomp {libseccomp_version()}",
                        "runtimeDefault": [p.source for p in defaults.profiles]},
        }


def errno_label(action: str, errno: int | None) -> str:
    if action in ("SCMP_ACT_ERRNO", "SCMP_ACT_TRACE"):
        return f"{action}({errno if errno is not None else EPERM})"
    return action


def describe_action(label: str) -> str:
    """``SCMP_ACT_ERRNO(1)`` -> ``fail with EPERM``, for people."""
    if label.startswith("SCMP_ACT_ERRNO("):
        n = int(label[len("SCMP_ACT_ERRNO("):-1])
        return f"fail with {ERRNO_NAMES.get(n, f'errno {n}')}"
    if label.startswith("SCMP_ACT_TRACE("):
        return "go to a ptrace tracer (ENOSYS without one)"
    return {"SCMP_ACT_KILL": "kill the thread", "SCMP_ACT_KILL_THREAD": "kill the thread",
            "SCMP_ACT_KILL_PROCESS": "kill the process", "SCMP_ACT_TRAP": "raise SIGSYS",
            "SCMP_ACT_NOTIFY": "wait for the listener's answer"}.get(label, label)
