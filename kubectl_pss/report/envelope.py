"""The one JSON envelope of every ``-o json|yaml`` report (issue 14).

Copied on branch t19-fix from t14-json's description (notes/envelope.md) so that FixReport uses
the same function; the merge keeps one copy.
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping

API_VERSION = "kubectl-pss/v1"
_ENVELOPE_KEYS = ("apiVersion", "kind", "context", "server", "errors")


def _error(item: Mapping[str, Any] | str) -> dict[str, Any]:
    if isinstance(item, str):
        return {"message": item}
    out = dict(item)
    if "error" in out and "message" not in out:
        out["message"] = out.pop("error")
    return out


def envelope(kind: str, body: Mapping[str, Any], *, context: str | None = None,
             server: Mapping[str, Any] | None = None,
             errors: Iterable[Mapping[str, Any] | str] = ()) -> dict[str, Any]:
    """``{"apiVersion", "kind", "context", "server", "errors", **body}``."""
    clash = [key for key in _ENVELOPE_KEYS if key in body]
    if clash:
        raise ValueError(f"report body must not contain {', '.join(clash)}")
    return {"apiVersion": API_VERSION, "kind": kind, "context": context,
            "server": None if server is None else dict(server), "errors": [_error(e) for e in errors], **body}


def server_info(version: Mapping[str, Any] | None, minor: int | None) -> dict[str, Any] | None:
    """A /version answer as ``{"gitVersion", "minor"}``; None when there is none."""
    if version is None:
        return None
    return {"gitVersion": version.get("gitVersion"), "minor": minor}
