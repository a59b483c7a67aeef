"""Filters, grouping and summaries of PodSecurity events: the ``AuditLogReport``'s data. Pure."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Iterable

from .events import MODES, PodSecurityEvent, parse_time, user_kind

SELECTOR_KEYS = ("user", "mode", "resource", "level")
_DURATION = re.compile(r"([0-9]+)(s|m|h|d)")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_instant(text: str, now: datetime) -> datetime:
    """``--since``/``--until``: an RFC3339 time, or a duration back from ``now`` (``2h``, ``30m``, ``7d``,
    ``1h30m``). Raises ValueError."""
    parts = _DURATION.findall(text)
    if parts and "".join(n + u for n, u in parts) == text:
        return now - timedelta(seconds=sum(int(n) * _UNIT[u] for n, u in parts))
    parsed = parse_time(text)
    if parsed is None:
        raise ValueError('use an RFC3339 time ("2026-12-01T10:00:00Z") or a duration ("2h", "30m", "7d")')
    return parsed


def parse_selector(text: str) -> list[tuple[str, str, bool]]:
    """``-l user=x,mode!=audit`` -> [(key, value, equal)]. Raises ValueError."""
    out = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        key, op, value = re.match(r"([^!=]*)(!=|==|=)?(.*)\Z", part).groups()  # type: ignore[union-attr]
        key = key.strip()
        if not op or key not in SELECTOR_KEYS:
            raise ValueError(f'"{part}": use KEY=VALUE or KEY!=VALUE with KEY one of {", ".join(SELECTOR_KEYS)}')
        out.append((key, value.strip(), op != "!="))
    return out


@dataclass
class EventFilter:
    """Which PodSecurity events count: time window, namespaces, selectors (all must hold)."""

    since: datetime | None = None
    until: datetime | None = None
    namespaces: frozenset[str] | None = None
    selectors: list[tuple[str, str, bool]] = field(default_factory=list)

    def accepts(self, event: PodSecurityEvent) -> bool:
        if self.since is not None or self.until is not None:
            if event.time is None:
                return False  # no usable time: outside any window asked for
            if self.since is not None and event.time < self.since:
                return False
            if self.until is not None and event.time > self.until:
                return False
        if self.namespaces is not None and event.namespace not in self.namespaces:
            return False
        for key, value, equal in self.selectors:
            actual = {"user": event.user, "mode": event.mode, "resource": event.resource,
                      "level": (event.policy or "").partition(":")[0]}[key]
            if (actual == value) != equal:
                return False
        return True


@dataclass(slots=True)
class Group:
    """The events of one object, user, mode and policy."""

    first: PodSecurityEvent
    count: int = 0
    first_seen: tuple[datetime, str] | None = None
    last_seen: tuple[datetime, str] | None = None
    checks: dict[tuple[str | None, str], dict] = field(default_factory=dict)
    unknown_checks: int = 0  # events whose checks are not in the log
    notes: dict[str, None] = field(default_factory=dict)

    def add(self, event: PodSecurityEvent) -> None:
        self.count += 1
        if event.time is not None and event.timestamp is not None:
            seen = (event.time, event.timestamp)
            if self.first_seen is None or seen[0] < self.first_seen[0]:
                self.first_seen = seen
            if self.last_seen is None or seen[0] > self.last_seen[0]:
                self.last_seen = seen
        if event.checks is None:
            self.unknown_checks += 1
        else:
            for check in event.checks:
                self.checks.setdefault((check["check"], str(check["reason"])), check)  # shared, never changed
        for note in event.notes:
            self.notes.setdefault(note)

    def as_dict(self) -> dict[str, Any]:
        e = self.first
        notes = list(self.notes)
        if self.unknown_checks and self.checks:
            notes.append(f"{self.unknown_checks} of {self.count} events name no checks")
        data = {
            "namespace": e.namespace, "resource": e.resource, "name": e.name, "generateName": e.generated,
            "owner": e.owner,
            "user": e.user, "userKind": user_kind(e.user), "mode": e.mode, "policy": e.policy,
            "checks": list(self.checks.values()) if self.checks or not self.unknown_checks else None,
            "count": self.count,
            "firstSeen": self.first_seen[1] if self.first_seen else None,
            "lastSeen": self.last_seen[1] if self.last_seen else None,
            "notes": notes,
        }
        if e.mode == "exempt":
            data["exempt"] = e.exempt
            del data["policy"], data["checks"]
        return data


def _key(event: PodSecurityEvent) -> tuple:
    owner = tuple(sorted(event.owner.items())) if event.owner else None
    return (event.namespace or "", event.resource, event.name or "", owner, event.user, event.mode,
            event.policy or "", event.exempt or "", event.generated)


class Grouper:
    """Accumulates events into groups; memory grows with the number of groups, not of events."""

    def __init__(self) -> None:
        self.groups: dict[tuple, Group] = {}

    def add(self, event: PodSecurityEvent) -> None:
        key = _key(event)
        group = self.groups.get(key)
        if group is None:
            group = self.groups[key] = Group(event)
        group.add(event)

    def _sorted(self, exempt: bool) -> list[dict[str, Any]]:
        chosen = [(k, g) for k, g in self.groups.items() if (g.first.mode == "exempt") == exempt]
        return [g.as_dict() for _, g in sorted(chosen, key=lambda kg: (kg[0][0], kg[0][1], kg[0][2], kg[0][5],
                                                                         kg[0][4], kg[0][6]))]

    def violations(self) -> list[dict[str, Any]]:
        return self._sorted(exempt=False)

    def exemptions(self) -> list[dict[str, Any]]:
        return self._sorted(exempt=True)


def _object(v: dict[str, Any]) -> tuple:
    return (v["namespace"], v["resource"], v["name"])


def summarize(violations: list[dict[str, Any]], exemptions: list[dict[str, Any]]) -> dict[str, Any]:
    """Per namespace and per check: events in each mode and distinct objects; and the totals."""
    namespaces: dict[str | None, dict[str, Any]] = {}
    checks: dict[tuple[str | None, str], dict[str, Any]] = {}
    for v in violations:
        ns = namespaces.setdefault(v["namespace"], {"namespace": v["namespace"], "audit": 0, "enforce": 0,
                                                    "objects": set(), "users": set()})
        ns[v["mode"]] += v["count"]
        ns["objects"].add(_object(v))
        ns["users"].add(v["user"])
        for check in v["checks"] or ():
            entry = checks.setdefault((check["check"], check["reason"]),
                                      {"check": check["check"], "reason": check["reason"], "audit": 0,
                                       "enforce": 0, "objects": set()})
            entry[v["mode"]] += v["count"]
            entry["objects"].add(_object(v))
    by_namespace = [{**ns, "objects": len(ns["objects"]), "users": len(ns["users"])}
                    for _, ns in sorted(namespaces.items(), key=lambda kv: kv[0] or "")]
    by_check = [{**c, "objects": len(c["objects"])}
                for c in sorted(checks.values(), key=lambda c: (-(c["audit"] + c["enforce"]), c["check"] or "",
                                                                c["reason"]))]
    totals = {mode: sum(v["count"] for v in violations if v["mode"] == mode) for mode in MODES}
    return {
        "violations": len(violations),
        "objects": len({_object(v) for v in violations}),
        "auditEvents": totals["audit"],
        "enforceEvents": totals["enforce"],
        "exemptEvents": sum(e["count"] for e in exemptions),
        "byNamespace": by_namespace,
        "byCheck": by_check,
    }


def suggest_exemptions(violations: Iterable[dict[str, Any]], exempt_users: frozenset[str] = frozenset()
                       ) -> dict[str, Any]:
    """Usernames-exemption candidates: namespaces whose violations all come from one non-human identity.

    kube-controller-manager's own identities are named but never proposed: exempting one exempts every pod
    anybody creates through that kind of workload. Nothing here is applied.
    """
    by_namespace: dict[str | None, list[dict[str, Any]]] = {}
    for v in violations:
        by_namespace.setdefault(v["namespace"], []).append(v)
    candidates: dict[str, dict[str, Any]] = {}
    for namespace, items in sorted(by_namespace.items(), key=lambda kv: kv[0] or ""):
        users = {v["user"] for v in items}
        if len(users) != 1:
            continue
        user = users.pop()
        kind = user_kind(user)
        if kind == "user" or not user:
            continue
        entry = candidates.setdefault(user, {"username": user, "userKind": kind, "namespaces": [], "events": 0,
                                             "recommended": kind == "serviceAccount" and user not in exempt_users,
                                             "reason": ""})
        entry["namespaces"].append(namespace)
        entry["events"] += sum(v["count"] for v in items)
    for entry in candidates.values():
        if entry["username"] in exempt_users:
            entry["reason"] = "already exempt in --admission-config"
        elif entry["userKind"] == "controller":
            entry["reason"] = ("a built-in controller: exempting it exempts every pod anyone creates through its "
                               "workload kind; fix the workload or exempt the namespace instead")
        elif entry["userKind"] == "node":
            entry["reason"] = "a node (mirror pods of static manifests): fix the manifest on the node"
        else:
            entry["reason"] = (f"every violation in {', '.join(str(n) for n in entry['namespaces'])} comes from "
                               "this identity; exempting it also exempts every other pod it creates")
    usernames = sorted(c["username"] for c in candidates.values() if c["recommended"])
    return {
        "candidates": sorted(candidates.values(), key=lambda c: (not c["recommended"], c["username"])),
        "exemptions": {"usernames": usernames},
    }
