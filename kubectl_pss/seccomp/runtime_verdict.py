"""How the container runtimes' default profiles (RuntimeDefault) treat a syscall a profile allows:
what makes an allowed syscall "dangerous" in ``seccomp lint``."""
from __future__ import annotations

from .lint_report import ERROR, NOTE, WARNING
from .tables import RuntimeProfile


def runtime_verdict(name: str, profiles: tuple[RuntimeProfile, ...], default_caps: frozenset[str]) -> tuple[str, str] | None:
    """(severity, message) for allowing ``name``, judged by each RuntimeDefault profile; None if they allow it too."""
    classes = {p.runtime: _classify(name, p, default_caps) for p in profiles}
    kinds = {kind for kind, _ in classes.values()}
    if kinds == {"allowed"}:
        return None
    refused = [p for p in profiles if classes[p.runtime][0] in ("blocked", "caps")]
    if len(refused) == len(profiles):
        severity = ERROR
    elif refused or "enosys" in kinds:
        severity = WARNING
    else:
        severity = NOTE
    same = len({c for c in classes.values()}) == 1
    if same:
        kind, detail = next(iter(classes.values()))
        sources = " and ".join(p.source for p in profiles)
        return severity, f'allows "{name}", which RuntimeDefault {_phrase(kind, detail)} ({sources})'
    parts = [f"{p.source} {_phrase(*classes[p.runtime])}" for p in profiles]
    return severity, f'allows "{name}": RuntimeDefault differs by runtime: ' + "; ".join(parts)


def _classify(name: str, profile: RuntimeProfile, default_caps: frozenset[str]) -> tuple[str, str]:
    """How one runtime's default profile treats a syscall, for a container with default capabilities.

    ``allowed``; ``kernel`` (only from a kernel version on); ``args`` (only some argument values);
    ``enosys`` (answered with ENOSYS); ``caps`` (only with a capability containers lack by default);
    ``blocked`` (never)."""
    conditions = profile.allow.get(name, [])

    def default_caps_suffice(cond: dict) -> bool:
        caps = cond.get("caps")
        return not caps or bool(set(caps) & default_caps)

    usable = [c for c in conditions if default_caps_suffice(c)]
    if any(not c.get("args") and not c.get("minKernel") for c in usable):
        return "allowed", ""
    kernel = [c["minKernel"] for c in usable if c.get("minKernel") and not c.get("args")]
    if kernel:
        return "kernel", min(kernel)
    if any(c.get("args") for c in usable):
        return "args", ""
    if name in profile.enosys:
        caps = sorted({cap for c in conditions for cap in c.get("caps", [])})
        return "enosys", ", ".join(caps)
    caps = sorted({cap for c in conditions for cap in c.get("caps", [])})
    if caps:
        return "caps", " or ".join(caps)
    return "blocked", ""


def _phrase(kind: str, detail: str) -> str:
    return {
        "allowed": "allows",
        "kernel": f"allows only on kernels >= {detail}",
        "args": "allows only with some argument values (this profile allows any)",
        "enosys": "answers with ENOSYS" + (f" unless the container has {detail}" if detail else "")
                  + ", so that libc falls back to an older syscall it can filter",
        "caps": f"refuses unless the container has {detail}",
        "blocked": "always refuses",
    }[kind]
