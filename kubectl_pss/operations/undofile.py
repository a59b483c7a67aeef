"""Undo files of ``kubectl pss label``: per namespace the previous values of the keys a run changed.

The file is created (never overwriting anything) before the first patch and rewritten after each
namespace that was changed, so it always covers exactly what was applied, even if the run dies.

Format (JSON)::

    {"kind": "KubectlPssLabelUndo", "version": 1, "context": "prod-admin", "server": "https://...",
     "createdAt": "2026-01-02T03:04:05Z", "command": "kubectl pss label ...",
     "namespaces": [{"name": "web",
                     "previous": {"pod-security.kubernetes.io/enforce": null, ...},   # null: did not exist
                     "applied": {"pod-security.kubernetes.io/enforce": "baseline", ...},  # null: removed
                     "resourceVersion": "4711"}]}                                      # after the change
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from ..policy.admission import POD_SECURITY_LABELS

KIND = "KubectlPssLabelUndo"
FORMAT_VERSION = 1


class UndoFileError(ValueError):
    """An undo file that cannot be read or used (one line)."""


@dataclass
class UndoEntry:
    name: str
    previous: dict[str, str | None]
    applied: dict[str, str | None]
    resource_version: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "previous": self.previous, "applied": self.applied,
                "resourceVersion": self.resource_version}


@dataclass
class UndoFile:
    context: str | None
    server: str | None
    created_at: str
    command: str | None = None
    namespaces: list[UndoEntry] = field(default_factory=list)
    path: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"kind": KIND, "version": FORMAT_VERSION, "context": self.context, "server": self.server,
                "createdAt": self.created_at, "command": self.command,
                "namespaces": [entry.as_dict() for entry in self.namespaces]}


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def default_path(context: str | None, now: datetime | None = None, directory: str = ".") -> str:
    """``./kubectl-pss-undo-<context>-<UTC timestamp>.json``; ``-2``, ``-3``... if that exists already."""
    now = now or utc_now()
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", context or "cluster").strip("._") or "cluster"
    stem = os.path.join(directory, f"kubectl-pss-undo-{safe}-{now.strftime('%Y%m%dT%H%M%SZ')}")
    path, n = f"{stem}.json", 1
    while os.path.lexists(path):
        n += 1
        path = f"{stem}-{n}.json"
    return path


class UndoWriter:
    """Creates the undo file exclusively, then keeps it in step with what was applied."""

    def __init__(self, path: str, undo: UndoFile) -> None:
        self.path = path
        self.undo = undo
        undo.path = path

    def create(self) -> None:
        """Raises OSError (FileExistsError if the path exists): nothing must be patched then."""
        with open(self.path, "x", encoding="utf-8") as f:
            self._dump(f)

    def add(self, entry: UndoEntry) -> None:
        self.undo.namespaces.append(entry)
        tmp = f"{self.path}.tmp-{os.getpid()}"
        with open(tmp, "w", encoding="utf-8") as f:
            self._dump(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)

    def discard(self) -> None:
        """Remove the file when nothing was applied."""
        try:
            os.unlink(self.path)
        except OSError:
            pass

    def _dump(self, f) -> None:
        json.dump(self.undo.as_dict(), f, indent=2, ensure_ascii=False)
        f.write("\n")


def _label_map(value: Any, where: str) -> dict[str, str | None]:
    if not isinstance(value, dict):
        raise UndoFileError(f"{where} must be an object")
    for key, item in value.items():
        if key not in POD_SECURITY_LABELS:
            raise UndoFileError(f'{where}: "{key}" is not a pod-security.kubernetes.io label')
        if item is not None and not isinstance(item, str):
            raise UndoFileError(f'{where}["{key}"] must be a string or null')
    return dict(value)


def read_undo_file(path: str) -> UndoFile:
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        raise UndoFileError(f"{path}: no such file") from None
    except OSError as exc:
        raise UndoFileError(f"{path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise UndoFileError(f"{path}: not a JSON undo file ({exc})") from None
    if not isinstance(data, dict) or data.get("kind") != KIND:
        raise UndoFileError(f'{path}: not a kubectl-pss undo file (kind is not "{KIND}")')
    if data.get("version") != FORMAT_VERSION:
        raise UndoFileError(f'{path}: undo file version {data.get("version")!r} is not supported (expected {FORMAT_VERSION})')
    entries = data.get("namespaces")
    if not isinstance(entries, list):
        raise UndoFileError(f"{path}: namespaces must be a list")
    undo = UndoFile(context=data.get("context"), server=data.get("server"), created_at=str(data.get("createdAt")),
                    command=data.get("command"), path=path)
    seen: set[str] = set()
    for i, entry in enumerate(entries):
        where = f"{path}: namespaces[{i}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) or not entry["name"]:
            raise UndoFileError(f"{where}: needs a name")
        if entry["name"] in seen:
            raise UndoFileError(f'{where}: namespace "{entry["name"]}" appears twice')
        seen.add(entry["name"])
        previous = _label_map(entry.get("previous"), f"{where}.previous")
        applied = _label_map(entry.get("applied"), f"{where}.applied")
        if set(previous) != set(applied):
            raise UndoFileError(f"{where}: previous and applied must name the same labels")
        rv = entry.get("resourceVersion")
        undo.namespaces.append(UndoEntry(entry["name"], previous, applied, None if rv is None else str(rv)))
    return undo


__all__ = ["UndoEntry", "UndoFile", "UndoFileError", "UndoWriter", "default_path", "read_undo_file", "utc_now"]
