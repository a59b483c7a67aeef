"""Undo files of ``kubectl pss label``: per namespace the previous values of the keys a run changed.

The file is created (never overwriting anything) before the first patch and is written ahead: each
change is recorded as ``intended`` (old and new values, fsynced) before its PATCH is sent, and marked
``applied`` after the answer (fsynced again), so that it covers every namespace that may have
changed even if the run dies with a PATCH in flight. ``--undo`` compares the live labels of an
``intended`` entry with both values. Every rewrite goes through a new temporary file in the same
directory (O_EXCL|O_NOFOLLOW, mode 0600: a planted symlink is never followed) and a rename.

Format (JSON)::

    {"kind": "KubectlPssLabelUndo", "version": 1, "context": "prod-admin", "server": "https://...",
     "createdAt": "2026-01-02T03:04:05Z", "command": "kubectl pss label ...",
     "namespaces": [{"name": "web",
                     "previous": {"pod-security.kubernetes.io/enforce": null, ...},   # null: did not exist
                     "applied": {"pod-security.kubernetes.io/enforce": "baseline", ...},  # null: removed
                     "resourceVersion": "4711",                                        # after the change
                     "state": "applied"}]}   # or "intended": sent or about to be, outcome unknown

An entry without ``state`` (files of earlier versions) is ``applied``.
"""
from __future__ import annotations

import json
import os
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from ..policy.admission import POD_SECURITY_LABELS

KIND = "KubectlPssLabelUndo"
FORMAT_VERSION = 1
INTENDED = "intended"  # recorded before the PATCH: it may or may not have been applied
APPLIED = "applied"
STATES = (INTENDED, APPLIED)
TEMP_ATTEMPTS = 5


class UndoFileError(ValueError):
    """An undo file that cannot be read or used (one line)."""


@dataclass
class UndoEntry:
    name: str
    previous: dict[str, str | None]
    applied: dict[str, str | None]  # the new values (of an intended entry: the ones sent)
    resource_version: str | None = None
    state: str = APPLIED

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "previous": self.previous, "applied": self.applied,
                "resourceVersion": self.resource_version, "state": self.state}


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


def _temp_suffix() -> str:
    return f"{os.getpid()}-{secrets.token_hex(4)}"


def _fsync_directory(directory: str) -> None:
    """Make a rename in ``directory`` durable (best effort: not every file system allows it)."""
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _write_new(path: str, data: bytes) -> None:
    """Create ``path`` (O_CREAT|O_EXCL|O_NOFOLLOW, 0600: fails if anything, even a symlink, is there),
    write and fsync it."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags, 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)


class UndoWriter:
    """Creates the undo file exclusively, then keeps it ahead of what is applied (write-ahead):
    ``intend`` before a PATCH, ``applied`` or ``withdraw`` after its answer."""

    def __init__(self, path: str, undo: UndoFile) -> None:
        self.path = path
        self.undo = undo
        undo.path = path
        self._identity: tuple[int, int] | None = None  # (st_dev, st_ino) of the file as last written

    def create(self) -> None:
        """Raises OSError (FileExistsError if the path exists): nothing must be patched then."""
        _write_new(self.path, self._dump())
        self._remember()
        _fsync_directory(os.path.dirname(self.path) or ".")

    def intend(self, entry: UndoEntry) -> None:
        """Record a change about to be sent (fsynced before this returns)."""
        entry.state = INTENDED
        self.undo.namespaces.append(entry)
        self._rewrite()

    def applied(self, entry: UndoEntry, applied: dict[str, str | None], resource_version: str | None) -> None:
        """The server answered the PATCH of ``entry``: record what it now holds."""
        entry.state, entry.applied, entry.resource_version = APPLIED, applied, resource_version
        self._rewrite()

    def withdraw(self, entry: UndoEntry) -> None:
        """The server refused the PATCH of ``entry`` (nothing changed): forget it."""
        self.undo.namespaces.remove(entry)
        self._rewrite()

    def discard(self) -> None:
        """Remove the file when nothing was applied (only the file this run wrote)."""
        try:
            st = os.lstat(self.path)
            if self._identity == (st.st_dev, st.st_ino):
                os.unlink(self.path)
        except OSError:
            pass

    def _rewrite(self) -> None:
        """A new temporary file next to the undo file, fsynced, renamed over it; refused if the undo
        file is not the one this run wrote (replaced or removed meanwhile)."""
        try:
            st = os.lstat(self.path)
        except FileNotFoundError:
            raise OSError(f"{self.path} disappeared") from None
        if self._identity is not None and (st.st_dev, st.st_ino) != self._identity:
            raise OSError(f"{self.path} was replaced by another file; not overwritten")
        data = self._dump()
        directory = os.path.dirname(self.path) or "."
        for _ in range(TEMP_ATTEMPTS):
            tmp = f"{self.path}.tmp-{_temp_suffix()}"
            try:
                _write_new(tmp, data)
            except FileExistsError:
                continue  # something is there (perhaps a planted symlink): never follow, never reuse
            except BaseException:
                _unlink_quietly(tmp)
                raise
            break
        else:
            raise FileExistsError(f"no new temporary file could be created next to {self.path}")
        try:
            os.replace(tmp, self.path)
        except BaseException:
            _unlink_quietly(tmp)
            raise
        self._remember()
        _fsync_directory(directory)

    def _remember(self) -> None:
        st = os.lstat(self.path)
        self._identity = (st.st_dev, st.st_ino)

    def _dump(self) -> bytes:
        return (json.dumps(self.undo.as_dict(), indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def _unlink_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _label_map(value: Any, where: str) -> dict[str, str | None]:
    if not isinstance(value, dict):
        raise UndoFileError(f"{where} must be an object")
    for key, item in value.items():
        if key not in POD_SECURITY_LABELS:
            raise UndoFileError(f'{where}: "{key}" is not a pod-security.kubernetes.io label')
        if item is not None and not isinstance(item, str):
            raise UndoFileError(f'{where}["{key}"] must be a string or null')
    return dict(value)


def load_undo_json(path: str, kind: str, what: str = "undo file") -> dict[str, Any]:
    """An undo file's JSON object of ``kind`` at FORMAT_VERSION; UndoFileError (one line) otherwise."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        raise UndoFileError(f"{path}: no such file") from None
    except OSError as exc:
        raise UndoFileError(f"{path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise UndoFileError(f"{path}: not a JSON undo file ({exc})") from None
    if not isinstance(data, dict) or data.get("kind") != kind:
        raise UndoFileError(f'{path}: not a kubectl-pss {what} (kind is not "{kind}")')
    if data.get("version") != FORMAT_VERSION:
        raise UndoFileError(f'{path}: undo file version {data.get("version")!r} is not supported (expected {FORMAT_VERSION})')
    return data


def read_undo_file(path: str) -> UndoFile:
    data = load_undo_json(path, KIND)
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
        state = entry.get("state", APPLIED)  # files of earlier versions: only what was applied
        if state not in STATES:
            raise UndoFileError(f'{where}.state must be "{INTENDED}" or "{APPLIED}"')
        undo.namespaces.append(UndoEntry(entry["name"], previous, applied, None if rv is None else str(rv), state))
    return undo


__all__ = ["APPLIED", "INTENDED", "UndoEntry", "UndoFile", "UndoFileError", "UndoWriter", "default_path", "read_undo_file", "utc_now"]
