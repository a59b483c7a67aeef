"""The one envelope of every ``-o json|yaml`` report: ``apiVersion``, ``kind``, ``context``, ``server``,
``errors``, then the report's own keys (docs/schema/<kind>.json)."""
from __future__ import annotations

from typing import Any, Iterable, Mapping

API_VERSION = "kubectl-pss/v1"
ENVELOPE_KEYS = ("apiVersion", "kind", "context", "server", "errors")


def server_info(version: Mapping[str, Any] | None, minor: int | None) -> dict[str, Any] | None:
    """The API server as a report names it: ``{gitVersion, minor}``; None when its version is not known."""
    if not version:
        return None
    return {"gitVersion": version.get("gitVersion"), "minor": minor}


def error_object(error: Mapping[str, Any] | str) -> dict[str, Any]:
    """An error as data: always a ``message`` (a plain string, or the ``error`` key of older shapes)."""
    if isinstance(error, str):
        return {"message": error}
    out = dict(error)
    if "message" not in out:
        out["message"] = str(out.pop("error"))
    return out


def envelope(kind: str, body: Mapping[str, Any], *, context: str | None = None,
             server: Mapping[str, Any] | None = None,
             errors: Iterable[Mapping[str, Any] | str] = ()) -> dict[str, Any]:
    """``body`` as a ``kubectl-pss/v1`` report of ``kind`` (``context`` None offline, ``server`` None unknown)."""
    clash = [key for key in ENVELOPE_KEYS if key in body]
    if clash:
        raise ValueError(f"{kind}: the report's own keys clash with the envelope's: {', '.join(clash)}")
    return {"apiVersion": API_VERSION, "kind": kind, "context": context,
            "server": None if server is None else dict(server),
            "errors": [error_object(e) for e in errors], **body}


def source_name(report: Mapping[str, Any]) -> str:
    """What a report read, for people: its kubeconfig context, or ``snapshot FILE``; ``-`` if neither."""
    snapshot = (report.get("cluster") or {}).get("snapshot")
    if report["context"] is None and snapshot:
        return f"snapshot {', '.join(snapshot)}"
    return report["context"] or "-"


def server_version_text(report: Mapping[str, Any]) -> str:
    return (report["server"] or {}).get("gitVersion") or "unknown"
