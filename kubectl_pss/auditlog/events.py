"""Audit events (``audit.k8s.io`` Event, one JSON object a line, or an EventList) and the PodSecurity
events among them: audit-mode violations, enforce denials and exemptions used.

Pure: lines come in as bytes, events go out. Warn mode leaves nothing in the audit log.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterable, Iterator

from ..policy import InvalidObjectError, evaluate
from ..analysis.findings import controller_ref
from ..policy.registry import DEFAULT_REGISTRY, Registry
from .reasons import parse_checks, parse_policy, split_message

AUDIT_ANNOTATION_PREFIX = "pod-security.kubernetes.io/"
AUDIT_VIOLATIONS = AUDIT_ANNOTATION_PREFIX + "audit-violations"
ENFORCE_POLICY = AUDIT_ANNOTATION_PREFIX + "enforce-policy"
EXEMPT = AUDIT_ANNOTATION_PREFIX + "exempt"
MODES = ("audit", "enforce")

# A line is parsed only when one of these is in it (the raw-line pre-filter: most of a log is other events).
MARKERS = (AUDIT_ANNOTATION_PREFIX.encode(), b"PodSecurity")
_EVENT_MARKER = b'"audit.k8s.io/'
_KIND_MARKERS = (b'"kind":"Event', b'"kind": "Event')  # Event or EventList, compact (as logged) or not
_LIST_MARKER = b'"EventList"'
# Stages that carry admission's annotations (RequestReceived is logged before admission runs).
_FINAL_STAGES = ("ResponseComplete", "Panic", None)
SKIPPED_LINES_KEPT = 5

METADATA_OWNER_NOTE = "owner unknown (Metadata-level audit policy)"
METADATA_NAME_NOTE = "name unknown (generateName; Metadata-level audit policy)"


@dataclass
class FileStats:
    """What was read from one source: audit events read, PodSecurity events matched, lines skipped."""

    path: str
    compressed: bool = False
    read: int = 0
    matched: int = 0
    skipped: int = 0
    skipped_lines: list[int] = field(default_factory=list)
    error: str | None = None

    def skip(self, line: int) -> None:
        self.skipped += 1
        if len(self.skipped_lines) < SKIPPED_LINES_KEPT:
            self.skipped_lines.append(line)

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "compressed": self.compressed, "read": self.read, "matched": self.matched,
                "skipped": self.skipped, "skippedLines": list(self.skipped_lines), "error": self.error}


@dataclass(frozen=True, slots=True)
class PodSecurityEvent:
    """One PodSecurity outcome of one request; a request both denied and audited gives two."""

    mode: str  # "audit", "enforce" or "exempt"
    policy: str | None  # "restricted:v1.23" (None for an exemption)
    namespace: str | None
    resource: str  # "pods", "deployments", "pods/ephemeralcontainers"
    name: str | None
    generated: bool  # name is the generateName prefix (the object's own name is not in the log)
    owner: dict[str, str] | None
    user: str
    checks: tuple[dict[str, str | None], ...] | None  # None: not in the log
    timestamp: str | None
    time: datetime | None
    exempt: str | None = None  # "namespace", "user" or "runtimeClass"
    notes: tuple[str, ...] = ()


def parse_time(text: Any) -> datetime | None:
    """An RFC3339 timestamp (``2026-12-07T18:11:33.352870Z``) as an aware datetime; None if it is not one."""
    if not isinstance(text, str):
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def username(event: dict) -> str:
    """Who PodSecurity saw: the impersonated user when there is one (exemptions match that one)."""
    user = _dict(event.get("impersonatedUser")) or _dict(event.get("user"))
    return str(user.get("username") or "")


def user_kind(name: str) -> str:
    """``controller`` (kube-controller-manager's identities), ``serviceAccount``, ``node`` or ``user``."""
    if name == "system:kube-controller-manager":
        return "controller"
    if name.startswith("system:serviceaccount:"):
        namespace, _, account = name[len("system:serviceaccount:"):].partition(":")
        if namespace == "kube-system" and account.endswith("-controller"):
            return "controller"
        return "serviceAccount"
    if name.startswith("system:node:"):
        return "node"
    return "user"


def _identity(event: dict) -> tuple[str | None, str, str | None, bool, dict | None, list[str]]:
    """namespace, resource, name (or the generateName prefix: ``generated``), owner and notes of the object
    a request wrote."""
    ref = _dict(event.get("objectRef"))
    resource = str(ref.get("resource") or "")
    if ref.get("subresource"):
        resource += f"/{ref['subresource']}"
    request = event.get("requestObject")
    response = _dict(event.get("responseObject"))
    request_meta = _dict(_dict(request).get("metadata"))
    notes: list[str] = []
    name = ref.get("name") or request_meta.get("name")
    if response.get("kind") not in (None, "Status"):  # RequestResponse level: the object as stored
        name = _dict(response.get("metadata")).get("name") or name
    generated = not name and bool(request_meta.get("generateName"))
    if generated:
        name = request_meta.get("generateName")
    if not name:
        name = None
        if not isinstance(request, dict):
            notes.append(METADATA_NAME_NOTE)
    owner = None
    if isinstance(request, dict):
        controller = controller_ref(request)
        if controller is not None:
            owner = {"kind": str(controller.get("kind")), "name": str(controller.get("name"))}
    else:
        notes.append(METADATA_OWNER_NOTE)
    namespace = ref.get("namespace") or request_meta.get("namespace")
    return (str(namespace) if namespace else None), resource, (str(name) if name else None), generated, owner, notes


def _denial_message(event: dict) -> str | None:
    status = _dict(event.get("responseStatus"))
    message = status.get("message")
    if not message:
        response = _dict(event.get("responseObject"))
        if response.get("kind") == "Status":
            message = response.get("message")
    return message if isinstance(message, str) and message else None


def _evaluated_checks(request: Any, policy: str, registry: Registry) -> tuple[tuple[dict, ...] | None, str]:
    """The checks the logged request object fails at ``policy`` (the engine agrees with the API server),
    and the note that says where they come from (or why they are unknown)."""
    parsed = parse_policy(policy)
    if not isinstance(request, dict):
        return None, "checks unknown: the log has no denial message and no request body"
    try:
        result = None if parsed is None else evaluate(request, parsed[0], parsed[1], registry)
    except (KeyError, InvalidObjectError):
        result = None
    if result is None:
        return None, f"checks unknown: no denial message, and the logged request cannot be evaluated at {policy}"
    if not result.violations:
        return None, (f"checks unknown: the log has no denial message and the logged request passes {policy} "
                      f"here (latest = v1.{registry.max_minor})")
    note = f"checks evaluated from the logged request (the log has no denial message; latest = v1.{registry.max_minor})"
    return tuple(v.as_dict() for v in result.violations), note


def select(event: dict, registry: Registry = DEFAULT_REGISTRY) -> list[PodSecurityEvent]:
    """The PodSecurity outcomes recorded in one audit event (none for most events)."""
    if event.get("stage") not in _FINAL_STAGES:
        return []
    annotations = _dict(event.get("annotations"))
    status = _dict(event.get("responseStatus"))
    denied_message = _denial_message(event) if status.get("code") == 403 else None
    denial = split_message(denied_message) if denied_message else None
    audited = annotations.get(AUDIT_VIOLATIONS)
    exempt = annotations.get(EXEMPT)
    # A 403 is PodSecurity's when its message says so, or (servers that log no message) when PodSecurity
    # evaluated the request (enforce-policy) and nothing else explains it.
    denied = status.get("code") == 403 and (denial is not None or (
        denied_message is None and ENFORCE_POLICY in annotations))
    if not (audited or denied or exempt):
        return []
    namespace, resource, name, generated, owner, notes = _identity(event)
    timestamp = event.get("requestReceivedTimestamp") or event.get("stageTimestamp")
    common = dict(namespace=namespace, resource=resource, name=name, generated=generated, owner=owner,
                  user=username(event),
                  timestamp=timestamp if isinstance(timestamp, str) else None, time=parse_time(timestamp))
    out: list[PodSecurityEvent] = []
    if isinstance(audited, str) and audited:
        split = split_message(audited)
        policy, reasons = split if split else (None, audited)
        checks = tuple(parse_checks(reasons, parse_policy(policy) if policy else None, registry))
        out.append(PodSecurityEvent(mode="audit", policy=policy, checks=checks, notes=tuple(notes), **common))
    if denied:
        enforce_notes = list(notes)
        if denial is not None:
            policy = denial[0]
            checks: tuple | None = tuple(parse_checks(denial[1], parse_policy(policy), registry))
        else:
            policy = str(annotations.get(ENFORCE_POLICY))
            checks, note = _evaluated_checks(event.get("requestObject"), policy, registry)
            enforce_notes.append(note)
        out.append(PodSecurityEvent(mode="enforce", policy=policy, checks=checks, notes=tuple(enforce_notes),
                                    **common))
    if isinstance(exempt, str) and exempt:
        out.append(PodSecurityEvent(mode="exempt", policy=None, checks=None, exempt=exempt, notes=tuple(notes),
                                    **common))
    return out


class Scanner:
    """Reads audit log lines, counts them per source, and yields the PodSecurity events among them."""

    def __init__(self, registry: Registry = DEFAULT_REGISTRY) -> None:
        self.registry = registry

    def feed(self, lines: Iterable[tuple[int, bytes]], stats: FileStats) -> Iterator[list[PodSecurityEvent]]:
        """``lines``: (line number, raw line). Yields the outcomes of each PodSecurity audit event; a line that
        is not a JSON audit event is skipped and counted."""
        first, second = MARKERS
        for number, raw in lines:
            line = raw.strip()
            if not line:
                continue
            if (line[:1] != b"{" or line[-1:] != b"}" or _EVENT_MARKER not in line
                    or (_KIND_MARKERS[0] not in line and _KIND_MARKERS[1] not in line)):
                stats.skip(number)  # not JSON, cut short, or not an audit event
                continue
            if first not in line and second not in line and _LIST_MARKER not in line:
                stats.read += 1  # an event (by its shape) with nothing of PodSecurity's in it: not parsed
                continue
            events = self._events(line)
            if events is None:
                stats.skip(number)
                continue
            stats.read += len(events)  # events, not lines: an EventList line counts its items
            for event in events:
                selected = select(event, self.registry)
                if selected:
                    yield selected

    @staticmethod
    def _events(line: bytes) -> list[dict] | None:
        """The events of one line (an Event or an EventList's items); None when it is not that."""
        try:
            doc = json.loads(line)
        except ValueError:
            return None
        if not isinstance(doc, dict):
            return None
        if doc.get("kind") == "Event":
            return [doc]
        items = doc.get("items")
        if doc.get("kind") != "EventList" or not isinstance(items, list):
            return None
        if not all(isinstance(item, dict) and item.get("kind", "Event") == "Event" for item in items):
            return None
        return items
