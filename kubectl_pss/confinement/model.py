"""What a container was asked to run under (Expected) and what we concluded (Verdict). Pure data."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MATCH = "match"
MISMATCH = "mismatch"
COMPLAIN = "complain"  # AppArmor complain mode, or a seccomp filter that only logs (SCMP_ACT_LOG)
UNVERIFIABLE = "unverifiable"
VERDICTS = (MATCH, MISMATCH, COMPLAIN, UNVERIFIABLE)

DEFAULT_SECCOMP_ROOT = "/var/lib/kubelet/seccomp"  # the kubelet's default --seccomp root

RUNTIME_DEFAULT = "RuntimeDefault"
LOCALHOST = "Localhost"
UNCONFINED = "Unconfined"
UNSET = "Unset"  # nothing declared: the runtime decides (AppArmor) or the kubelet's SeccompDefault (seccomp)

# Why a container could not be verified (``Verdict.reason`` when the verdict is unverifiable).
NOT_RUNNING = "not-running"
EXEC_FORBIDDEN = "exec-forbidden"
NO_CAT = "no-cat"
APPARMOR_DISABLED = "apparmor-disabled"
POD_GONE = "pod-gone"
EXEC_FAILED = "exec-failed"
READ_FAILED = "read-failed"
UNPARSABLE = "unparsable"
WINDOWS = "windows"
UNKNOWN_RUNTIME = "unknown-runtime"
SHARED_PID_NO_CAT = "shared-pid-namespace"
PROFILE_FILE_MISSING = "profile-file-missing"


NOTHING_DECLARED = "(none)"  # how people see an Unset profile; the JSON has null


@dataclass(frozen=True)
class Expected:
    """A requested profile. ``type`` is RuntimeDefault, Localhost, Unconfined or Unset; ``source`` says
    where it came from ("container field", "pod field", "container annotation", "pod annotation", "none")."""

    type: str
    localhost: str | None = None
    source: str = "none"
    notes: tuple[str, ...] = ()

    def display(self) -> str:
        if self.type == LOCALHOST:
            return f"Localhost/{self.localhost or ''}"
        if self.type == UNSET:
            return NOTHING_DECLARED
        return self.type



_PROFILE_TYPES = {RUNTIME_DEFAULT, LOCALHOST, UNCONFINED}


def expected_from_field(profile: object, source: str) -> Expected | None:
    """The profile a securityContext field (appArmorProfile or seccompProfile) asks for; None when unset."""
    if not isinstance(profile, dict):
        return None
    kind = profile.get("type")
    if kind == LOCALHOST:
        return Expected(LOCALHOST, str(profile.get("localhostProfile") or ""), source)
    if kind in _PROFILE_TYPES:
        return Expected(str(kind), None, source)
    return Expected(f"invalid type {kind!r}", None, source)

@dataclass
class Verdict:
    verdict: str
    expected: str
    actual: str | None = None
    reason: str | None = None  # a code: why unverifiable, or what kind of mismatch
    detail: str | None = None  # one line for people
    flags: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        expected = None if self.expected == NOTHING_DECLARED else self.expected
        return {"verdict": self.verdict, "expected": expected, "actual": self.actual, "reason": self.reason,
                "detail": self.detail, "flags": list(self.flags), "notes": list(self.notes)}


def unverifiable(expected: Expected, reason: str, detail: str, actual: str | None = None) -> Verdict:
    return Verdict(UNVERIFIABLE, expected.display(), actual, reason, detail, notes=list(expected.notes))


def summarize(verdicts: list[str]) -> dict[str, int]:
    out = {"containers": len(verdicts)}
    for name in VERDICTS:
        out[name] = sum(1 for v in verdicts if v == name)
    return out


def exit_code_for(summary: dict[str, int], errors: int) -> int:
    """0 every container verified and matching; 1 any mismatch, complain or unverifiable; 2 errors."""
    if errors:
        return 2
    if summary.get(MISMATCH) or summary.get(COMPLAIN) or summary.get(UNVERIFIABLE) or summary.get("execDisagrees"):
        return 1
    return 0
