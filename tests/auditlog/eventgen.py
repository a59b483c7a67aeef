"""Audit events for the tests, all derived from the eight real ones in tests/data/audit-events.jsonl."""
from __future__ import annotations

import copy
import gzip
import json
from pathlib import Path
from typing import Any, Iterable

DATA = Path(__file__).resolve().parents[1] / "data"
SAMPLE = DATA / "audit-events.jsonl"
REAL = [json.loads(line) for line in SAMPLE.read_text().splitlines()]
# by role, as the README of the recording describes them
NAMESPACE_CREATE, LABEL_PATCH, COMPLIANT_POD, ROOT_POD, DEPLOYMENT, REPLICASET, DENIED_POD, SA_POD = REAL


def real(event: dict) -> dict:
    return copy.deepcopy(event)


def at(event: dict, timestamp: str) -> dict:
    event = real(event)
    event["requestReceivedTimestamp"] = event["stageTimestamp"] = timestamp
    return event


def metadata_level(event: dict) -> dict:
    """The same request as a Metadata-level policy logs it: no request or response body."""
    event = real(event)
    event["level"] = "Metadata"
    event.pop("requestObject", None)
    event.pop("responseObject", None)
    return event


def with_denial_message(event: dict, message: str) -> dict:
    """A denial as newer servers (or a RequestResponse policy) log it: the Status message is there."""
    event = real(event)
    event["level"] = "RequestResponse"
    event["responseStatus"]["message"] = message
    event["responseObject"] = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                               "message": message, "reason": "Forbidden", "code": 403}
    return event


def as_user(event: dict, username: str) -> dict:
    event = real(event)
    event["user"] = {"username": username, "groups": ["system:authenticated"]}
    return event


def in_namespace(event: dict, namespace: str) -> dict:
    event = real(event)
    event["objectRef"]["namespace"] = namespace
    event["requestURI"] = event["requestURI"].replace("/namespaces/ae-demo/", f"/namespaces/{namespace}/")
    if "requestObject" in event and "namespace" in event["requestObject"].get("metadata", {}):
        event["requestObject"]["metadata"]["namespace"] = namespace
    return event


def generated_pod(owner_rs: str = "agent-6f7c6d5c98") -> dict:
    """ROOT_POD as the ReplicaSet controller creates it: generateName, no name, an owner reference."""
    event = as_user(ROOT_POD, "system:serviceaccount:kube-system:replicaset-controller")
    del event["objectRef"]["name"]
    meta = event["requestObject"]["metadata"]
    del meta["name"]
    meta["generateName"] = f"{owner_rs}-"
    meta["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": owner_rs, "uid": "u-1",
                                "controller": True, "blockOwnerDeletion": True}]
    return event


def exempted(event: dict, dimension: str) -> dict:
    """An exempt request: PodSecurity logs only the exempt annotation."""
    event = real(event)
    event["annotations"] = {"authorization.k8s.io/decision": "allow", "authorization.k8s.io/reason": "",
                            "pod-security.kubernetes.io/exempt": dimension}
    return event


def stage(event: dict, name: str) -> dict:
    event = real(event)
    event["stage"] = name
    if name == "RequestReceived":  # before admission: no annotations, no response
        event.pop("annotations", None)
        event.pop("responseStatus", None)
    return event


def event_list(events: Iterable[dict]) -> dict:
    return {"kind": "EventList", "apiVersion": "audit.k8s.io/v1", "metadata": {}, "items": list(events)}


def line(obj: Any) -> bytes:
    """One JSON line as the API server writes it (compact)."""
    return json.dumps(obj, separators=(",", ":")).encode() + b"\n"


def lines(events: Iterable[Any]) -> bytes:
    return b"".join(line(e) for e in events)


def numbered(data: bytes) -> list[tuple[int, bytes]]:
    return list(enumerate(data.splitlines(keepends=True), 1))


def write(path: Path, events: Iterable[Any], compress: bool = False, tail: bytes = b"") -> Path:
    data = lines(events) + tail
    path.write_bytes(gzip.compress(data) if compress else data)
    return path
