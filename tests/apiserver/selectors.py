"""Label and field selectors as the kube-apiserver parses them (the subset tests need)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

_KEY = r"[A-Za-z0-9]([A-Za-z0-9._/-]*[A-Za-z0-9])?"
_SET_RE = re.compile(rf"^(?P<key>{_KEY})\s+(?P<op>in|notin)\s*\((?P<values>[^()]*)\)$")
_CMP_RE = re.compile(rf"^(?P<key>{_KEY})\s*(?P<op>==|=|!=|>|<)\s*(?P<value>[^\s,()!=<>]*)$")
_EXISTS_RE = re.compile(rf"^(?P<not>!)?\s*(?P<key>{_KEY})$")


@dataclass(frozen=True)
class Requirement:
    key: str
    op: str  # "=", "!=", "in", "notin", "exists", "!", ">", "<"
    values: tuple[str, ...] = ()

    def matches(self, labels: dict[str, str]) -> bool:
        has = self.key in labels
        value = labels.get(self.key)
        if self.op == "exists":
            return has
        if self.op == "!":
            return not has
        if self.op == "=":
            return has and value == self.values[0]
        if self.op == "!=":
            return not has or value != self.values[0]
        if self.op == "in":
            return has and value in self.values
        if self.op == "notin":
            return not has or value not in self.values
        if self.op in (">", "<"):
            try:
                have, want = int(value), int(self.values[0])  # type: ignore[arg-type]
            except (TypeError, ValueError):
                return False
            return have > want if self.op == ">" else have < want
        raise AssertionError(self.op)


def _split_outside_parens(text: str) -> list[str]:
    parts, depth, current = [], 0, []
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return parts


def parse_label_selector(text: str) -> list[Requirement]:
    """Parse ``a=b,c!=d,e in (x,y),!f,g``; raise ValueError like the server's 400."""
    requirements: list[Requirement] = []
    if not text.strip():
        return requirements
    for raw in _split_outside_parens(text):
        part = raw.strip()
        if not part:
            raise ValueError(f"unable to parse requirement: found '', expected: identifier in {text!r}")
        m = _SET_RE.match(part)
        if m:
            values = tuple(v.strip() for v in m.group("values").split(",") if v.strip())
            requirements.append(Requirement(m.group("key"), m.group("op"), values))
            continue
        m = _CMP_RE.match(part)
        if m:
            op = "=" if m.group("op") in ("=", "==") else m.group("op")
            requirements.append(Requirement(m.group("key"), op, (m.group("value"),)))
            continue
        m = _EXISTS_RE.match(part)
        if m:
            requirements.append(Requirement(m.group("key"), "!" if m.group("not") else "exists"))
            continue
        raise ValueError(f"unable to parse requirement: {part!r}")
    return requirements


def label_matcher(text: str | None) -> Callable[[dict], bool] | None:
    """A predicate on objects, or None when the selector selects everything."""
    reqs = parse_label_selector(text or "")
    if not reqs:
        return None

    def match(obj: dict) -> bool:
        labels = (obj.get("metadata") or {}).get("labels") or {}
        return all(r.matches(labels) for r in reqs)

    return match


_FIELDS = {
    "metadata.name": lambda o: o.get("metadata", {}).get("name", ""),
    "metadata.namespace": lambda o: o.get("metadata", {}).get("namespace", ""),
    "spec.nodeName": lambda o: (o.get("spec") or {}).get("nodeName", ""),
    "status.phase": lambda o: (o.get("status") or {}).get("phase", ""),
}


def field_matcher(text: str | None) -> Callable[[dict], bool] | None:
    """``metadata.name=x,status.phase!=Running``: only =, == and != like the real server."""
    if not text or not text.strip():
        return None
    tests: list[tuple[Callable[[dict], str], bool, str]] = []
    for part in text.split(","):
        m = re.match(r"^\s*([A-Za-z.]+)\s*(==|=|!=)\s*(\S*)\s*$", part)
        if not m or m.group(1) not in _FIELDS:
            raise ValueError(f'"{part.strip()}" is not a known field selector: only "metadata.name", '
                             f'"metadata.namespace"')
        tests.append((_FIELDS[m.group(1)], m.group(2) != "!=", m.group(3)))

    def match(obj: dict) -> bool:
        return all((get(obj) == value) == equal for get, equal, value in tests)

    return match
