"""AppArmor: the profile a container asks for, the label its process really has, and the verdict. Pure.

Expected profile, in the kubelet's order (``k8s.io/kubernetes/pkg/security/apparmor.GetProfile``):
the container's ``securityContext.appArmorProfile``, then the pod annotation
``container.apparmor.security.beta.kubernetes.io/<container>``, then the pod's
``securityContext.appArmorProfile``. So a field wins over the annotation at the same level; the
API server keeps both in step on pods created since v1.30, and a disagreement is noted.

Actual: ``/proc/<pid>/attr/current`` (``NAME (enforce)``, ``NAME (complain)`` or ``unconfined``),
falling back to ``/proc/<pid>/attr/apparmor/current`` (kernels that stack LSMs). Without AppArmor
in the kernel the first read fails with EINVAL and the second file does not exist.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from ..policy.annotations import APPARMOR_CONTAINER_PREFIX
from .model import (APPARMOR_DISABLED, COMPLAIN, LOCALHOST, MATCH, MISMATCH, READ_FAILED, RUNTIME_DEFAULT, UNCONFINED,
                    UNKNOWN_RUNTIME, UNPARSABLE, UNSET, UNVERIFIABLE, Expected, expected_from_field, Verdict)
from .runtime import CRIO, Runtime, any_runtime_default, apparmor_default_profile, is_apparmor_runtime_default



def _from_annotation(value: object, source: str) -> Expected | None:
    if not isinstance(value, str) or not value:
        return None
    if value == "runtime/default":
        return Expected(RUNTIME_DEFAULT, None, source)
    if value == "unconfined":
        return Expected(UNCONFINED, None, source)
    if value.startswith("localhost/"):
        return Expected(LOCALHOST, value[len("localhost/"):], source)
    return None  # the kubelet ignores values it does not know


def _same(a: Expected, b: Expected) -> bool:
    return a.type == b.type and (a.localhost or None) == (b.localhost or None)


def expected_apparmor(pod: dict, container: dict) -> Expected:
    """The profile the kubelet asks the runtime for (see the module docstring for the order)."""
    name = container.get("name") or ""
    annotations = (pod.get("metadata") or {}).get("annotations") or {}
    c_field = expected_from_field((container.get("securityContext") or {}).get("appArmorProfile"), "container field")
    annotation = _from_annotation(annotations.get(APPARMOR_CONTAINER_PREFIX + name), "annotation")
    p_field = expected_from_field(((pod.get("spec") or {}).get("securityContext") or {}).get("appArmorProfile"), "pod field")
    chosen = c_field or annotation or p_field
    if chosen is None:
        return Expected(UNSET)
    notes = []
    for other in (annotation, p_field):
        if other is not None and other is not chosen and not _same(other, chosen):
            notes.append(f"the {other.source} asks for {other.display()}; the {chosen.source} wins")
    if notes:
        return Expected(chosen.type, chosen.localhost, chosen.source, tuple(notes))
    return chosen


# --- the label of a process -------------------------------------------------------------------
@dataclass(frozen=True)
class AppArmorLabel:
    profile: str  # "unconfined" or a profile name
    mode: str | None  # enforce, complain, kill, unconfined, ...; None for the bare "unconfined"

    @property
    def unconfined(self) -> bool:
        return self.mode is None or self.mode == "unconfined"

    def __str__(self) -> str:
        return self.profile if self.mode is None else f"{self.profile} ({self.mode})"

    def as_dict(self) -> dict[str, str | None]:
        return {"profile": self.profile, "mode": self.mode}


PROFILE_MODE = re.compile(r"(?P<name>.+) \((?P<mode>[A-Za-z_-]+)\)")  # "NAME (MODE)", as the kernel writes it


def parse_attr_current(text: str) -> AppArmorLabel:
    """``cri-containerd.apparmor.d (enforce)`` or ``unconfined``; ValueError for anything else (an
    SELinux context from a kernel whose first LSM is not AppArmor, an empty file)."""
    line = text.replace("\x00", "").strip().splitlines()
    value = line[0].strip() if line else ""
    if value == "unconfined":
        return AppArmorLabel("unconfined", None)
    match = PROFILE_MODE.fullmatch(value)
    if not match:
        raise ValueError(f"not an AppArmor label: {value[:80]!r}" if value else "empty AppArmor label")
    return AppArmorLabel(match.group("name"), match.group("mode").lower())


def read_failure_kind(stderr: str) -> str:
    """EINVAL, ENOENT, EACCES or OTHER, from the error text of ``cat``."""
    text = stderr.lower()
    if "invalid argument" in text:
        return "EINVAL"
    if "no such file" in text:
        return "ENOENT"
    if "permission denied" in text or "operation not permitted" in text:
        return "EACCES"
    return "OTHER"


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[0][:200] if lines else ""


@dataclass(frozen=True)
class AttrRead:
    """The outcome of reading a process's AppArmor label: a label, or a failure code and why."""

    label: AppArmorLabel | None
    failure: str | None = None  # APPARMOR_DISABLED, READ_FAILED or UNPARSABLE
    detail: str | None = None
    path: str | None = None  # the file that answered


# run(argv) -> (exit code, stdout, stderr); exec errors (no cat, 403, ...) propagate to the caller.
RunFn = Callable[[list[str]], "tuple[int, str, str]"]


def read_apparmor_label(run: RunFn, pid: str = "1") -> AttrRead:
    """Read ``/proc/PID/attr/current``, falling back to ``/proc/PID/attr/apparmor/current``."""
    current = f"/proc/{pid}/attr/current"
    fallback = f"/proc/{pid}/attr/apparmor/current"
    code, out, err = run(["cat", current])
    first_problem: str
    if code == 0:
        try:
            return AttrRead(parse_attr_current(out), path=current)
        except ValueError as exc:
            first_problem = f"{current}: {exc}"
    else:
        kind = read_failure_kind(err)
        if kind == "EACCES":
            return AttrRead(None, READ_FAILED, f"reading {current}: {_first_line(err) or 'permission denied'}")
        first_problem = f"{current}: {_first_line(err) or f'exit code {code}'}"
    code2, out2, err2 = run(["cat", fallback])
    if code2 == 0:
        try:
            return AttrRead(parse_attr_current(out2), path=fallback)
        except ValueError as exc:
            return AttrRead(None, UNPARSABLE, f"{first_problem}; {fallback}: {exc}")
    if read_failure_kind(err2) == "ENOENT":
        if code == 0:  # attr/current answered something else (another LSM's label)
            return AttrRead(None, UNPARSABLE, f"{first_problem}; {fallback} does not exist")
        if read_failure_kind(err) == "EINVAL":  # only the kernel's own answer when AppArmor is off
            return AttrRead(None, APPARMOR_DISABLED,
                            f"AppArmor is not enabled on the node ({first_problem}; {fallback} does not exist)")
    return AttrRead(None, READ_FAILED, f"{first_problem}; {fallback}: {_first_line(err2) or f'exit code {code2}'}")


# --- the verdict ---------------------------------------------------------------------------------
def _by_mode(expected: Expected, label: AppArmorLabel, notes: list[str]) -> Verdict:
    shown = expected.display()
    if label.mode == "enforce":
        return Verdict(MATCH, shown, str(label), notes=notes)
    if label.mode == "kill":
        return Verdict(MATCH, shown, str(label), notes=notes + ["kill mode: stricter than enforce"])
    if label.mode == "complain":
        return Verdict(COMPLAIN, shown, str(label), "complain-mode",
                       f"profile {label.profile} is in complain mode: violations are logged, not blocked", notes=notes)
    return Verdict(MISMATCH, shown, str(label), "mode",
                   f"profile {label.profile} is in {label.mode} mode, not enforce", notes=notes)


def judge_apparmor(expected: Expected, label: AppArmorLabel, runtime: Runtime, privileged: bool = False) -> Verdict:
    """Compare what was asked with the label PID 1 (or the container's own process) really has."""
    notes = list(expected.notes)
    shown = expected.display()
    effective = expected.type
    if effective == UNSET:
        effective = RUNTIME_DEFAULT
        notes.append("no profile declared: the runtime applies its default")
    if privileged and effective == RUNTIME_DEFAULT:
        effective = UNCONFINED
        notes.append("privileged: runtimes run privileged containers unconfined instead of their default")
    elif privileged and effective == LOCALHOST and runtime.name == CRIO:
        effective = UNCONFINED
        notes.append("privileged: CRI-O applies no AppArmor profile to privileged containers")
    actual = str(label)

    if effective == UNCONFINED:
        if label.unconfined:
            return Verdict(MATCH, shown, actual, notes=notes)
        return Verdict(MISMATCH, shown, actual, "confined", f"expected unconfined, runs {actual}", notes=notes)

    if effective == RUNTIME_DEFAULT:
        default = apparmor_default_profile(runtime)
        wanted = f"the runtime default ({default})" if default else "the runtime default"
        if label.unconfined:
            return Verdict(MISMATCH, shown, actual, "unconfined", f"runs {actual}, expected {wanted}", notes=notes)
        is_default = is_apparmor_runtime_default(runtime, label.profile)
        if is_default is None:
            owner = any_runtime_default(label.profile)
            if owner is None:
                return Verdict(UNVERIFIABLE, shown, actual, UNKNOWN_RUNTIME,
                               f"container runtime {runtime} is not one whose default profile name is known; "
                               f"cannot tell whether {label.profile} is its default", notes=notes)
            notes.append(f"runtime unknown; {label.profile} is the {owner} default profile")
        elif not is_default:
            return Verdict(MISMATCH, shown, actual, "profile", f"runs {label.profile}, not {wanted}", notes=notes)
        return _by_mode(expected, label, notes)

    if effective == LOCALHOST:
        if label.unconfined:
            return Verdict(MISMATCH, shown, actual, "unconfined",
                           f"runs {actual}, expected profile {expected.localhost}", notes=notes)
        if label.profile != expected.localhost:
            return Verdict(MISMATCH, shown, actual, "profile",
                           f"runs {label.profile}, expected profile {expected.localhost}", notes=notes)
        return _by_mode(expected, label, notes)

    return Verdict(UNVERIFIABLE, shown, actual, UNPARSABLE, f"unknown AppArmor profile type in the spec: {expected.type}",
                   notes=notes)
