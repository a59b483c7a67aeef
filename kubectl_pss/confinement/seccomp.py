"""Seccomp: the profile a container asks for, the filter it really runs under, and the verdict. Pure.

Expected, in the kubelet's order: the container's ``securityContext.seccompProfile``, the pod's, then
the legacy annotations ``container.seccomp.security.alpha.kubernetes.io/<container>`` and
``seccomp.security.alpha.kubernetes.io/pod`` (the API server copies them into the fields when a pod
is created; current kubelets read only the fields). Nothing at all means Unconfined, unless the
kubelet runs with ``SeccompDefault`` (then RuntimeDefault): so an undeclared container is a match
either way, and one that runs a filter is flagged ``seccomp-default``.

Privileged containers never get a seccomp filter (kubelet, containerd and CRI-O agree).

Actual, quick: the ``Seccomp:`` line of ``/proc/<pid>/status`` (0 disabled, 1 strict, 2 filter) and
``Seccomp_filters:``. Actual, full: ``crictl inspect`` JSON, ``.info.runtimeSpec.linux.seccomp``.
"""
from __future__ import annotations

import posixpath
from dataclasses import dataclass
from typing import Any

from ..jsontext import json_object
from ..policy.annotations import SECCOMP_CONTAINER_PREFIX, SECCOMP_POD_ANNOTATION
from ..seccomp.filter import SeccompFilter, compare_filters, filter_from_spec
from .model import (COMPLAIN, LOCALHOST, MATCH, MISMATCH, PROFILE_FILE_MISSING, RUNTIME_DEFAULT, UNCONFINED,
                    UNPARSABLE, UNSET, UNVERIFIABLE, Expected, expected_from_field, Verdict)


FLAG_SECCOMP_DEFAULT = "seccompDefault"  # declares nothing, runs a filter: SeccompDefault is on for its node
FLAG_NO_FILTER = "noFilter"  # declares RuntimeDefault or Localhost, runs without a filter



def _from_annotation(value: object, source: str) -> Expected | None:
    if not isinstance(value, str) or not value:
        return None
    if value in ("runtime/default", "docker/default"):
        return Expected(RUNTIME_DEFAULT, None, source)
    if value == "unconfined":
        return Expected(UNCONFINED, None, source)
    if value.startswith("localhost/"):
        return Expected(LOCALHOST, value[len("localhost/"):], source)
    return None


def _same(a: Expected, b: Expected) -> bool:
    return a.type == b.type and (a.localhost or None) == (b.localhost or None)


def expected_seccomp(pod: dict, container: dict) -> Expected:
    name = container.get("name") or ""
    annotations = (pod.get("metadata") or {}).get("annotations") or {}
    candidates = [
        expected_from_field((container.get("securityContext") or {}).get("seccompProfile"), "container field"),
        expected_from_field(((pod.get("spec") or {}).get("securityContext") or {}).get("seccompProfile"), "pod field"),
        _from_annotation(annotations.get(SECCOMP_CONTAINER_PREFIX + name), "container annotation"),
        _from_annotation(annotations.get(SECCOMP_POD_ANNOTATION), "pod annotation"),
    ]
    present = [c for c in candidates if c is not None]
    if not present:
        return Expected(UNSET)
    chosen = present[0]
    notes = []
    if chosen.source.endswith("annotation"):
        notes.append("only a legacy annotation declares the profile: current kubelets read the fields only")
    # a container annotation against the container's own field, or the pod annotation against the pod field
    for field_c, annotation_c in ((candidates[0], candidates[2]), (candidates[1], candidates[3])):
        if field_c is not None and annotation_c is not None and not _same(field_c, annotation_c):
            notes.append(f"the {annotation_c.source} asks for {annotation_c.display()}; the {field_c.source} wins")
    return Expected(chosen.type, chosen.localhost, chosen.source, tuple(notes)) if notes else chosen


def localhost_problem(localhost_profile: str) -> str | None:
    """Why the API server refuses a ``localhostProfile`` (the one Localhost path rule), None when it takes it.

    Refused: empty, absolute, or a ``..`` component (it would leave the seccomp root). ``.`` and empty
    components are allowed: the kubelet reads ``filepath.Join(root, name)``, which cleans them away."""
    if not localhost_profile:
        return "it must not be empty"
    if localhost_profile.startswith("/"):
        return "not an absolute path"
    if ".." in localhost_profile.split("/"):
        return "'..' would leave the seccomp root"
    return None


def localhost_path(root: str, localhost_profile: str) -> str | None:
    """The file the kubelet reads for a Localhost profile (cleaned, as ``filepath.Join`` does); None when
    the API server refuses the name."""
    if localhost_problem(localhost_profile) is not None:
        return None
    return posixpath.normpath(root.rstrip("/") + "/" + localhost_profile)


# --- /proc/<pid>/status ------------------------------------------------------------------------
SECCOMP_MODES = {0: "disabled", 1: "strict", 2: "filter"}


@dataclass(frozen=True)
class ProcSeccomp:
    mode: int
    filters: int | None

    def __str__(self) -> str:
        text = f"Seccomp {self.mode} ({SECCOMP_MODES.get(self.mode, 'unknown')})"
        if self.mode == 2 and self.filters is not None:
            text += f", {self.filters} filter" + ("s" if self.filters != 1 else "")
        return text

    def as_dict(self) -> dict[str, Any]:
        """``{mode, filters}``: the mode's name (disabled, strict, filter) and the number of filters (null: unknown)."""
        return {"mode": SECCOMP_MODES.get(self.mode, "unknown"), "filters": self.filters}


def running_as_dict(running: SeccompFilter | None) -> dict[str, Any]:
    """What the runtime spec says runs, as ``{mode, filters}`` (it does not count filters)."""
    return {"mode": "filter" if running is not None else "disabled", "filters": None}


def parse_proc_status(text: str) -> ProcSeccomp:
    """The ``Seccomp:`` and ``Seccomp_filters:`` lines; ValueError if there is no Seccomp line."""
    mode = filters = None
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if not sep:
            continue
        if key == "Seccomp":
            mode = int(value.strip())
        elif key == "Seccomp_filters":
            filters = int(value.strip())
    if mode is None:
        raise ValueError("no Seccomp line in the process status (a kernel without seccomp?)")
    return ProcSeccomp(mode, filters)


@dataclass(frozen=True)
class CrictlInspect:
    container_id: str | None
    name: str | None
    seccomp: SeccompFilter | None
    apparmor_profile: str | None
    pid: int | None = None  # .info.pid: the container's init process in the host's PID namespace (0/None: none)


def parse_crictl_inspect(text: str) -> CrictlInspect:
    """``crictl inspect -o json ID`` output; ValueError when it is not what crictl prints."""
    data = json_object(text, "crictl printed no JSON", "crictl printed no JSON object")
    spec = (data.get("info") or {}).get("runtimeSpec")
    if not isinstance(spec, dict):
        raise ValueError("no .info.runtimeSpec in the crictl output")
    status = data.get("status") or {}
    pid = (data.get("info") or {}).get("pid")
    return CrictlInspect(status.get("id"), (status.get("metadata") or {}).get("name"),
                         filter_from_spec((spec.get("linux") or {}).get("seccomp")),
                         (spec.get("process") or {}).get("apparmorProfile"),
                         pid if isinstance(pid, int) and not isinstance(pid, bool) and pid > 0 else None)


# --- verdicts -----------------------------------------------------------------------------------
def _effective(expected: Expected, privileged: bool, notes: list[str]) -> str:
    if privileged and expected.type in (RUNTIME_DEFAULT, LOCALHOST, UNSET):
        notes.append("privileged: containers run without seccomp whatever they declare")
        return UNCONFINED
    return expected.type


def judge_seccomp_quick(expected: Expected, status: ProcSeccomp, privileged: bool = False) -> Verdict:
    """From ``/proc/<pid>/status``: is there a filter where one was asked for, and none where none was."""
    notes = list(expected.notes)
    shown = expected.display()
    actual = str(status)
    effective = _effective(expected, privileged, notes)
    if status.mode == 1:
        return Verdict(MISMATCH, shown, actual, "strict", "the process runs in seccomp strict mode", notes=notes)
    filtered = status.mode == 2
    if effective == UNSET:
        if filtered:
            return Verdict(MATCH, shown, actual, detail="declares nothing but runs a filter: the kubelet on its "
                           "node runs with SeccompDefault", flags=[FLAG_SECCOMP_DEFAULT], notes=notes)
        return Verdict(MATCH, shown, actual, notes=notes + ["declares nothing: Unconfined (no SeccompDefault)"])
    if effective == UNCONFINED:
        if filtered:
            return Verdict(MISMATCH, shown, actual, "filtered", "expected no filter, runs under one", notes=notes)
        return Verdict(MATCH, shown, actual, notes=notes)
    if effective in (RUNTIME_DEFAULT, LOCALHOST):
        if not filtered:
            return Verdict(MISMATCH, shown, actual, "no-filter", f"declares {shown} but runs without a seccomp filter",
                           flags=[FLAG_NO_FILTER], notes=notes)
        return Verdict(MATCH, shown, actual, notes=notes + ["a filter is on; --node-inspect compares it with the profile"])
    return Verdict(UNVERIFIABLE, shown, actual, UNPARSABLE, f"unknown seccomp profile type in the spec: {expected.type}",
                   notes=notes)


# ``declared`` for Localhost: the profile file's filter, or a string saying why it could not be read.
def judge_seccomp_full(expected: Expected, running: SeccompFilter | None, privileged: bool = False,
                       declared: SeccompFilter | str | None = None) -> Verdict:
    """From the runtime spec (crictl): the filter itself, compared with the profile file for Localhost."""
    notes = list(expected.notes)
    shown = expected.display()
    actual = running.summary() if running else "no filter"
    effective = _effective(expected, privileged, notes)
    if effective == UNSET:
        if running is not None:
            return Verdict(MATCH, shown, actual, detail="declares nothing but runs RuntimeDefault: the kubelet on its "
                           "node runs with SeccompDefault", flags=[FLAG_SECCOMP_DEFAULT], notes=notes)
        return Verdict(MATCH, shown, actual, notes=notes + ["declares nothing: Unconfined (no SeccompDefault)"])
    if effective == UNCONFINED:
        if running is not None:
            return Verdict(MISMATCH, shown, actual, "filtered", "expected no filter, runs under one", notes=notes)
        return Verdict(MATCH, shown, actual, notes=notes)
    if effective not in (RUNTIME_DEFAULT, LOCALHOST):
        return Verdict(UNVERIFIABLE, shown, actual, UNPARSABLE,
                       f"unknown seccomp profile type in the spec: {expected.type}", notes=notes)
    if running is None:
        return Verdict(MISMATCH, shown, actual, "no-filter", f"declares {shown} but runs without a seccomp filter",
                       flags=[FLAG_NO_FILTER], notes=notes)
    if effective == LOCALHOST:
        if declared is None or isinstance(declared, str):
            return Verdict(UNVERIFIABLE, shown, actual, PROFILE_FILE_MISSING,
                           declared or f"the profile file {expected.localhost} was not read", notes=notes)
        diffs = compare_filters(running, declared)
        if diffs:
            if declared.conditional:
                notes.append("the file has includes/excludes rules, which the runtime resolves per node")
            return Verdict(MISMATCH, shown, actual, "differs", "the running filter differs from the profile file: "
                           + "; ".join(diffs), notes=notes)
    if running.logs_only:
        return Verdict(COMPLAIN, shown, actual, "log-only",
                       "the filter's default action only logs (SCMP_ACT_LOG): nothing is blocked", notes=notes)
    if running.allows_everything:
        if effective == RUNTIME_DEFAULT:
            return Verdict(MISMATCH, shown, actual, "allows-everything",
                           "the filter allows every syscall (defaultAction SCMP_ACT_ALLOW)", notes=notes)
        notes.append("the profile allows every syscall (defaultAction SCMP_ACT_ALLOW)")
    return Verdict(MATCH, shown, actual, notes=notes)


def compare_quick_and_full(quick: ProcSeccomp | None, running: SeccompFilter | None) -> str | None:
    """A note when /proc and the runtime spec disagree about whether there is a filter."""
    if quick is None or quick.mode == 1:
        return None
    if (quick.mode == 2) != (running is not None):
        return (f"/proc says {quick} but the runtime spec has "
                + ("a filter" if running is not None else "no filter"))
    return None

