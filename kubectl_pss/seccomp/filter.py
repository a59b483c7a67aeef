"""The seccomp profile format read back: a profile file's or a runtime spec's filter, and how two differ.

The runtime reads a profile as JSON (the OCI runtime spec's ``LinuxSeccomp``): ``parse_profile_json``
is the one decoder, ``profile_problem`` the one shape check.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

ALLOW = "SCMP_ACT_ALLOW"
LOG = "SCMP_ACT_LOG"


class NotJSON(ValueError):
    """The text is not JSON at all (maybe YAML: an SPO object)."""


def parse_profile_json(text: str | bytes) -> Any:
    """The decoded JSON of a profile; NotJSON, or ValueError when nested too deeply to decode."""
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("not a profile: nested too deeply") from None
    except ValueError as exc:
        raise NotJSON(f"not JSON (the runtime reads a profile as JSON): {exc}") from None


@dataclass(frozen=True)
class SeccompFilter:
    default_action: str
    architectures: tuple[str, ...]
    allowed: frozenset[str]  # syscall names whose rule action is SCMP_ACT_ALLOW
    rule_actions: tuple[tuple[str, frozenset[str]], ...]  # (action, names), every action, sorted
    conditional: bool = False  # a profile file with includes/excludes (resolved per node by the runtime)

    @property
    def logs_only(self) -> bool:
        return self.default_action == LOG

    @property
    def allows_everything(self) -> bool:
        return self.default_action == ALLOW and all(a in (ALLOW, LOG) for a, _ in self.rule_actions)

    def summary(self) -> str:
        arches = ", ".join(self.architectures) if self.architectures else "no architectures"
        return f"{self.default_action}, {len(self.allowed)} syscalls allowed ({arches})"

    def as_dict(self) -> dict[str, Any]:
        return {"defaultAction": self.default_action, "architectures": list(self.architectures),
                "allowedSyscalls": len(self.allowed)}


def profile_problem(data: Any) -> str | None:
    """Why decoded JSON is not a seccomp profile (or filter), None when it is one."""
    if not isinstance(data, dict):
        return "not a JSON object"
    default = data.get("defaultAction")
    if not isinstance(default, str) or not default:
        return "no defaultAction"
    return None


def _filter(data: Any) -> SeccompFilter:
    problem = profile_problem(data)
    if problem:
        raise ValueError(problem)
    default = data["defaultAction"]
    arches = [a for a in data.get("architectures") or () if isinstance(a, str)]
    for entry in data.get("archMap") or ():  # Docker/containerd profile files
        if isinstance(entry, dict) and isinstance(entry.get("architecture"), str):
            arches.append(entry["architecture"])
            arches += [a for a in entry.get("subArchitectures") or () if isinstance(a, str)]
    by_action: dict[str, set[str]] = {}
    conditional = False
    for rule in data.get("syscalls") or ():
        if not isinstance(rule, dict):
            continue
        names = rule.get("names")
        if names is None and isinstance(rule.get("name"), str):  # the pre-1.0 format
            names = [rule["name"]]
        action = rule.get("action")
        if not isinstance(action, str):
            continue
        if rule.get("includes") or rule.get("excludes"):
            conditional = True
        by_action.setdefault(action, set()).update(n for n in names or () if isinstance(n, str))
    return SeccompFilter(default, tuple(dict.fromkeys(arches)), frozenset(by_action.get(ALLOW, ())),
                         tuple(sorted((a, frozenset(n)) for a, n in by_action.items())), conditional)


def filter_from_spec(seccomp: object) -> SeccompFilter | None:
    """The OCI runtime spec's ``linux.seccomp`` (None when absent: no filter)."""
    if seccomp is None:
        return None
    return _filter(seccomp)  # type: ignore[arg-type]


def filter_from_profile(text: str | bytes) -> SeccompFilter:
    """A profile file from the kubelet's seccomp root; ValueError when it is not one."""
    return _filter(parse_profile_json(text))


def _few(names: set[str], limit: int = 5) -> str:
    shown = sorted(names)
    return ", ".join(shown[:limit]) + (f" (+{len(shown) - limit} more)" if len(shown) > limit else "")


def compare_filters(running: SeccompFilter, declared: SeccompFilter) -> list[str]:
    """How the filter a container runs differs from its profile file (empty: the same)."""
    diffs = []
    if running.default_action != declared.default_action:
        diffs.append(f"defaultAction {running.default_action} instead of {declared.default_action}")
    extra = set(running.allowed - declared.allowed)
    missing = set(declared.allowed - running.allowed)
    if extra:
        diffs.append(f"{len(extra)} syscalls allowed that the file does not allow: {_few(extra)}")
    if missing:
        diffs.append(f"{len(missing)} syscalls of the file not allowed: {_few(missing)}")
    if declared.architectures and set(running.architectures) != set(declared.architectures):
        diffs.append(f"architectures {', '.join(running.architectures) or 'none'} instead of "
                     f"{', '.join(declared.architectures)}")
    return diffs
