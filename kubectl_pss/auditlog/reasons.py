"""PodSecurity messages in the audit log: the policy and the ``reason (detail)`` items, matched to check ids.

The reason strings are the ones the engine's checks print (``kubectl_pss/policy/checks/*``); a test keeps
this table equal to what those modules return.
"""
from __future__ import annotations

import functools
import re

from ..policy import Level, PolicyValueError, Version, parse_level, parse_version
from ..policy.registry import DEFAULT_REGISTRY, Registry

# check id -> the forbidden reasons its revisions print (a reason can belong to a baseline check and to the
# restricted check that overrides it: the policy's plan decides which one ran).
REASONS: dict[str, tuple[str, ...]] = {
    "allowPrivilegeEscalation": ("allowPrivilegeEscalation != false",),
    "appArmorProfile": ("forbidden AppArmor profile", "forbidden AppArmor profiles"),
    "capabilities_baseline": ("non-default capabilities",),
    "capabilities_restricted": ("unrestricted capabilities",),
    "hostNamespaces": ("host namespaces",),
    "hostPathVolumes": ("hostPath volumes",),
    "hostPorts": ("hostPort",),
    "hostProbesAndHostLifecycle": ("probe or lifecycle host",),
    "privileged": ("privileged",),
    "procMount": ("procMount",),
    "procMount_restricted": ("procMount",),
    "restrictedVolumes": ("restricted volume types",),
    "runAsNonRoot": ("runAsNonRoot != true",),
    "runAsUser": ("runAsUser=0",),
    "seLinuxOptions": ("seLinuxOptions",),
    "seccompProfile_baseline": ("seccompProfile",),
    "seccompProfile_restricted": ("seccompProfile",),
    "sysctls": ("forbidden sysctls",),
    "windowsHostProcess": ("hostProcess",),
}

_BY_REASON: dict[str, tuple[str, ...]] = {}
for _check, _reasons in REASONS.items():
    for _reason in _reasons:
        _BY_REASON[_reason] = _BY_REASON.get(_reason, ()) + (_check,)

# `would violate PodSecurity "restricted:v1.23": ...` (audit annotation, warnings) and
# `pods "x" is forbidden: violates PodSecurity "baseline:latest": ...` (enforce denial)
_MESSAGE = re.compile(r'violates? PodSecurity "([^"]*)": (.*)\Z', re.S)


def parse_policy(text: str) -> tuple[Level, Version] | None:
    """``restricted:v1.23`` -> (level, version); None when it is not a valid policy."""
    level_text, _, version_text = text.partition(":")
    try:
        return parse_level(level_text), parse_version(version_text or "latest")
    except PolicyValueError:
        return None


def split_message(message: str) -> tuple[str, str] | None:
    """The policy and the reasons text of a PodSecurity message; None for any other message."""
    match = _MESSAGE.search(message)
    return (match.group(1), match.group(2)) if match else None


def split_reasons(text: str) -> list[tuple[str, str]]:
    """``a (x), b (y, z), c`` -> [(a, x), (b, "y, z"), (c, "")]: the ", " inside parentheses or quotes
    belongs to a detail."""
    items: list[str] = []
    depth = 0
    quoted = False
    start = 0
    for token in _TOKENS.finditer(text):
        mark = token.group()
        if mark == '"':
            quoted = not quoted
        elif quoted:
            continue
        elif mark == "(":
            depth += 1
        elif mark == ")":
            depth = max(depth - 1, 0)
        elif depth == 0:  # ", " at the top level
            items.append(text[start:token.start()])
            start = token.end()
    items.append(text[start:])
    out = []
    for item in (s.strip() for s in items):
        if not item:
            continue
        reason, sep, rest = item.partition(" (")
        if sep and rest.endswith(")"):
            out.append((reason, rest[:-1]))
        else:
            out.append((item, ""))
    return out


_TOKENS = re.compile(r'[()"]|, ')


def check_id(reason: str, level: Level | None, version: Version | None,
             registry: Registry = DEFAULT_REGISTRY) -> str | None:
    """The id of the check that prints ``reason`` in the plan of level:version; None for an unknown reason."""
    candidates = _BY_REASON.get(reason, ())
    if len(candidates) <= 1 or level is None or version is None:
        return candidates[0] if candidates else None
    planned = {p.id for p in registry.plan(level, version)}
    return next((c for c in candidates if c in planned), candidates[0])


@functools.lru_cache(maxsize=4096)  # a log repeats the same messages (one per workload and policy) many times
def parse_checks(reasons_text: str, policy: tuple[Level, Version] | None,
                 registry: Registry = DEFAULT_REGISTRY) -> tuple[dict[str, str | None], ...]:
    """The failed checks of a message's reasons: ``{"check", "reason", "detail"}`` (check None if unknown).
    The dicts are shared between calls: read them, do not change them."""
    level, version = policy if policy else (None, None)
    return tuple({"check": check_id(reason, level, version, registry), "reason": reason, "detail": detail}
                 for reason, detail in split_reasons(reasons_text))
