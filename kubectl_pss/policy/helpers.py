"""Shared helpers of the checks: the pod view, quoting and pluralising as upstream does."""
from __future__ import annotations

from typing import Any, Callable, NamedTuple


class Forbidden(NamedTuple):
    """A failed check: the forbidden reason and detail, as upstream prints them."""

    reason: str
    detail: str


CheckFn = Callable[["PodView"], "Forbidden | None"]


def _dict_or_none(value: Any) -> dict | None:
    return value if isinstance(value, dict) else None


class PodView:
    """A pod's metadata and spec, read once for all checks of one evaluation.

    ``containers`` is every container in upstream's visiting order (init, regular,
    ephemeral); ``container_scs`` holds each one's securityContext (None when unset).
    """

    __slots__ = ("annotations", "spec", "pod_sc", "containers", "container_scs", "windows", "user_namespace")

    def __init__(self, metadata: dict | None, spec: dict | None) -> None:
        metadata = _dict_or_none(metadata) or {}
        spec = _dict_or_none(spec) or {}
        self.annotations: dict = _dict_or_none(metadata.get("annotations")) or {}
        self.spec: dict = spec
        self.pod_sc: dict | None = _dict_or_none(spec.get("securityContext"))
        containers: list[dict] = []
        for key in ("initContainers", "containers", "ephemeralContainers"):
            listed = spec.get(key)
            if listed:
                containers.extend(c for c in listed if isinstance(c, dict))
        self.containers: tuple[dict, ...] = tuple(containers)
        self.container_scs: tuple[dict | None, ...] = tuple(
            _dict_or_none(c.get("securityContext")) for c in containers
        )
        os_ = _dict_or_none(spec.get("os"))
        self.windows: bool = os_ is not None and os_.get("name") == "windows"
        self.user_namespace: bool = spec.get("hostUsers") is False


def container_name(container: dict) -> str:
    """A container's name as Go would print it (missing name is the empty string)."""
    name = container.get("name")
    return "" if name is None else str(name)


def join_quote(items: list[str] | tuple[str, ...]) -> str:
    """Upstream joinQuote: each item in double quotes, unescaped, joined with ", "."""
    return ", ".join(f'"{item}"' for item in items)


def pluralize(singular: str, plural: str, count: int) -> str:
    return singular if count == 1 else plural


def containers_phrase(names: list[str]) -> str:
    """``container "a"`` or ``containers "a", "b"``."""
    return f"{pluralize('container', 'containers', len(names))} {join_quote(names)}"


def sorted_set(values: set[str]) -> list[str]:
    """A Go string set's List(): distinct values sorted byte-wise."""
    return sorted(values, key=_bytewise)


def _bytewise(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


_GO_ESCAPES = {
    "\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v",
    '"': '\\"', "\\": "\\\\",
}


def go_quote(text: str) -> str:
    """Go's %q of a string: escapes quotes, backslashes and non-printables, keeps printable UTF-8."""
    out = ['"']
    for ch in text:
        escaped = _GO_ESCAPES.get(ch)
        if escaped is not None:
            out.append(escaped)
        elif ch.isprintable() or ch == " ":
            out.append(ch)
        else:
            code = ord(ch)
            if code < 0x80:
                out.append(f"\\x{code:02x}")
            elif code < 0x10000:
                out.append(f"\\u{code:04x}")
            else:
                out.append(f"\\U{code:08x}")
    out.append('"')
    return "".join(out)


def setters_phrase(pod: bool, containers: list[str], extra: str | None = None) -> str:
    """``pod and containers "a", "b"``: the pod, the containers and any extra setter, joined with " and "."""
    parts = []
    if pod:
        parts.append("pod")
    if containers:
        parts.append(containers_phrase(containers))
    if extra:
        parts.append(extra)
    return " and ".join(parts)
