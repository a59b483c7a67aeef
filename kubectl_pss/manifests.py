"""Read Kubernetes manifests from files, directories and stdin (YAML streams and JSON).

YAML is read as kubectl reads it (see goyaml: ``privileged: yes`` is true). Only regular files
are read (a FIFO or device under ``-f`` would hang or never end), at most 256 MiB each; a
document that cannot be read is an error of its own and the next documents are still read.
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import stat
import sys
from dataclasses import dataclass
from typing import Any, Iterator

import yaml

from .goyaml import GoYamlLoader, check_json_value

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")


class Positions:
    """Where a document's nodes are written: ``positions[path]`` is (line, column), both from 1, of the node at
    ``path`` (keys and list indexes from the document's root; a mapping entry is where its key is written).

    It holds the composed node tree (PyYAML's composer keeps every node's mark) and walks it only for the
    paths asked: a report asks for a few per object, so nothing is paid for the rest of the document."""

    __slots__ = ("_root", "_line_offset", "_first_column")

    def __init__(self, root: Any, line_offset: int = 0, first_column: int = 0) -> None:
        self._root = root
        self._line_offset = line_offset
        self._first_column = first_column  # a JSON value may start mid-line: its first line shifts

    def get(self, path: tuple[Any, ...], default: tuple[int, int] | None = None) -> tuple[int, int] | None:
        node, mark_node = self._root, self._root
        for step in path:
            if isinstance(node, yaml.MappingNode) and isinstance(step, str):
                found = next(((k, v) for k, v in reversed(node.value)  # the last of a repeated key, as kubectl
                              if isinstance(k, yaml.ScalarNode) and k.value == step), None)
                if found is None:
                    return default
                mark_node, node = found
            elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and 0 <= step < len(node.value):
                node = mark_node = node.value[step]
            else:
                return default
        mark = mark_node.start_mark
        column = mark.column + 1 + (self._first_column if mark.line == 0 else 0)
        return mark.line + 1 + self._line_offset, column

    def __contains__(self, path: tuple[Any, ...]) -> bool:
        return self.get(path) is not None

    def __getitem__(self, path: tuple[Any, ...]) -> tuple[int, int]:
        place = self.get(path)
        if place is None:
            raise KeyError(path)
        return place


@dataclass(frozen=True, slots=True)
class Document:
    """One parsed document of a source; ``index`` counts from 0 within the source; ``positions`` only when
    read with ``track_lines`` (and the text could be placed)."""

    source: str
    index: int
    data: Any
    positions: Positions | None = None


@dataclass(frozen=True, slots=True)
class LoadError:
    """A source or document that could not be read; ``index`` is None for the whole source."""

    source: str
    index: int | None
    message: str

    def __str__(self) -> str:
        where = self.source if self.index is None else f"{self.source} (document {self.index})"
        return f"{where}: {self.message}"


# A single input larger than this is refused rather than read into memory.
MAX_INPUT_BYTES = 256 * 1024 * 1024
_FILE_TYPES = ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
               (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a directory"))


def _not_regular(mode: int) -> str | None:
    """Why a file of this mode is not read (None: a regular file)."""
    if stat.S_ISREG(mode):
        return None
    what = next((name for test, name in _FILE_TYPES if test(mode)), "of an unknown type")
    return f"{what}, not a regular file: skipped"


def _os_message(exc: OSError) -> str:
    return exc.strerror.lower() if exc.strerror else str(exc)


def expand_paths(paths: list[str]) -> tuple[list[str], list[LoadError]]:
    """Files to read, in order: a directory is walked recursively for *.yaml/*.yml/*.json (sorted).

    A subdirectory that cannot be listed and anything that is not a regular file is an error.
    """
    files: list[str] = []
    errors: list[LoadError] = []
    for path in paths:
        if path == "-":
            files.append(path)
            continue
        try:
            mode = os.stat(path).st_mode
        except FileNotFoundError:
            errors.append(LoadError(path, None, "no such file or directory"))
            continue
        except OSError as exc:
            errors.append(LoadError(path, None, _os_message(exc)))
            continue
        if stat.S_ISDIR(mode):
            found: list[str] = []
            walk_errors: list[LoadError] = []

            def unreadable(exc: OSError) -> None:
                walk_errors.append(LoadError(exc.filename or path, None, f"cannot read directory: {_os_message(exc)}"))

            for root, dirs, names in os.walk(path, onerror=unreadable):
                dirs.sort()
                found.extend(os.path.join(root, n) for n in names if n.lower().endswith(MANIFEST_SUFFIXES))
            for name in sorted(found):
                try:
                    why = _not_regular(os.stat(name).st_mode)
                except OSError as exc:
                    why = _os_message(exc)
                if why is None:
                    files.append(name)
                else:
                    errors.append(LoadError(name, None, why))
            errors.extend(sorted(walk_errors, key=lambda e: e.source))
        elif (why := _not_regular(mode)) is not None:
            errors.append(LoadError(path, None, why))
        else:
            files.append(path)
    return files, errors


def _read_bytes(path: str) -> bytes:
    """A regular file's bytes (or stdin's), at most MAX_INPUT_BYTES; raises OSError or ValueError."""
    too_big = f"larger than {MAX_INPUT_BYTES // (1024 * 1024)} MiB: not read"
    if path == "-":
        raw = sys.stdin.buffer.read(MAX_INPUT_BYTES + 1)
        if len(raw) > MAX_INPUT_BYTES:
            raise ValueError(too_big)
        return raw
    # O_NONBLOCK: a FIFO swapped in after the walk must not block the open.
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(fd)
        why = _not_regular(info.st_mode)
        if why is not None:
            raise ValueError(why)
        if info.st_size > MAX_INPUT_BYTES:
            raise ValueError(too_big)
        raw = handle.read(MAX_INPUT_BYTES + 1)
    if len(raw) > MAX_INPUT_BYTES:
        raise ValueError(too_big)
    return raw


def read_text(path: str) -> str:
    raw = _read_bytes(path)
    if b"\x00" in raw:
        raise ValueError("not a text file (binary content)")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(f"not UTF-8 text (byte {exc.start})") from None


def _skip_json_value(text: str, pos: int) -> int:
    """Where the JSON value starting at ``pos`` ends, by brackets and strings only (no recursion)."""
    depth = 0
    i = pos
    length = len(text)
    while i < length:
        ch = text[i]
        if ch == '"':
            i += 1
            while i < length and text[i] != '"':
                i += 2 if text[i] == "\\" else 1
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
            if depth <= 0:
                return i + 1
        elif depth == 0 and (ch.isspace() or ch in ",:"):
            return i
        i += 1
    return length


def _not_json(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _json_positions(text: str, start: int, end: int) -> Positions | None:
    """Positions of the JSON value text[start:end], composed as YAML (JSON is YAML's flow style); None
    when PyYAML cannot compose it."""
    try:
        node = yaml.compose(text[start:end], Loader=getattr(yaml, "CBaseLoader", yaml.BaseLoader))  # marks only
    except yaml.YAMLError:
        return None
    if node is None:
        return None
    return Positions(node, text.count("\n", 0, start), start - (text.rfind("\n", 0, start) + 1))


def _json_documents(source: str, text: str, declared_json: bool,
                    track_lines: bool = False) -> Iterator[Document | LoadError] | None:
    """A JSON document, or a stream of concatenated JSON documents (as kubectl accepts).

    Returns None when the text is no JSON (and not declared JSON): it is read as YAML then.
    """
    decoder = json.JSONDecoder(parse_constant=_not_json)
    items: list[Document | LoadError] = []
    pos = 0
    length = len(text)
    while True:
        while pos < length and text[pos].isspace():
            pos += 1
        if pos >= length:
            return iter(items)
        index = len(items)
        start = pos
        try:
            value, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            if not declared_json:
                return None
            items.append(LoadError(source, index, f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"))
            return iter(items)
        except RecursionError:
            items.append(LoadError(source, index, "invalid JSON: nested too deeply"))
            pos = max(_skip_json_value(text, pos), pos + 1)
        except ValueError as exc:  # an integer beyond Python's digit limit, NaN: Go cannot read them either
            message = "an integer has too many digits" if "digits" in str(exc) else str(exc)
            items.append(LoadError(source, index, f"invalid JSON: {message}"))
            pos = max(_skip_json_value(text, pos), pos + 1)
        else:
            items.append(Document(source, index, value, _json_positions(text, start, pos) if track_lines else None))


_DOCUMENT_START = re.compile(r"^---(?:[ \t]|$)", re.MULTILINE)


def _yaml_error(exc: yaml.YAMLError, line_offset: int) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    where = f" at line {mark.line + 1 + line_offset} column {mark.column + 1}" if mark is not None else ""
    return f"invalid YAML: {problem}{where}"


def _yaml_documents(source: str, text: str, track_lines: bool = False) -> Iterator[Document | LoadError]:
    """The documents of a YAML stream, read as kubectl reads them; a bad document is an error of its own.

    After a syntax error the stream resumes at the next ``---`` line (kubectl splits streams there too).
    """
    index = 0
    line_offset = 0
    while True:
        loader = GoYamlLoader(text)
        resume_at: int | None = None
        try:
            while True:
                try:
                    if not loader.check_node():
                        return
                    node = loader.get_node()
                except yaml.YAMLError as exc:
                    yield LoadError(source, index, _yaml_error(exc, line_offset))
                    mark = getattr(exc, "problem_mark", None)
                    # libyaml often notices the end of a bad document only at the next "---": resume there
                    start = _line_start(text, mark.line) if mark is not None else len(text)
                    found = _DOCUMENT_START.search(text, max(start, 1))
                    if found is None:
                        return
                    resume_at = found.start()
                    break
                try:
                    check_json_value(node)
                    data = loader.construct_document(node)
                except (yaml.YAMLError, RecursionError) as exc:
                    loader.constructed_objects, loader.recursive_objects, loader.state_generators = {}, {}, []
                    message = _yaml_error(exc, line_offset) if isinstance(exc, yaml.YAMLError) else "invalid YAML: nested too deeply"
                    yield LoadError(source, index, message)
                else:
                    if data is not None:
                        yield Document(source, index, data, Positions(node, line_offset) if track_lines else None)
                index += 1
        finally:
            loader.dispose()
        line_offset += text.count("\n", 0, resume_at)
        text = text[resume_at:]
        index += 1


def _line_start(text: str, line: int) -> int:
    """The offset where 0-based ``line`` starts (len(text) past the end)."""
    pos = 0
    for _ in range(line):
        pos = text.find("\n", pos)
        if pos < 0:
            return len(text)
        pos += 1
    return pos


def _parse(source: str, text: str, track_lines: bool = False) -> Iterator[Document | LoadError]:
    """JSON (a document or a stream) for *.json; YAML otherwise (JSON-looking text tried as JSON first)."""
    declared_json = source.lower().endswith(".json")
    if declared_json or text.lstrip()[:1] in ("{", "["):
        items = _json_documents(source, text, declared_json, track_lines)
        if items is not None:
            yield from items
            return
    yield from _yaml_documents(source, text, track_lines)


def parse_text(source: str, text: str, track_lines: bool = False) -> list[Document | LoadError]:
    """The documents of one text (named ``source``), read as ``load_documents`` reads a file."""
    return list(_parse(source, text, track_lines))


def read_sources(paths: list[str]) -> Iterator[LoadError | tuple[str, str]]:
    """``(source, text)`` of every file the paths name (``<stdin>`` for ``-``), in order; what cannot be
    found or read is a LoadError in its place."""
    files, errors = expand_paths(paths)
    yield from errors
    for path in files:
        source = "<stdin>" if path == "-" else path
        try:
            yield source, read_text(path)
        except (OSError, ValueError) as exc:
            yield LoadError(source, None, exc.strerror.lower() if isinstance(exc, OSError) and exc.strerror else str(exc))


def load_documents(paths: list[str], track_lines: bool = False) -> tuple[list[Document], list[LoadError]]:
    """Every document of every path; unreadable sources and bad documents become errors. With
    ``track_lines`` each document keeps where its nodes are written (``Document.positions``)."""
    errors: list[LoadError] = []
    documents: list[Document] = []
    # Kept node trees are many small acyclic objects: the cyclic collector would scan them again and again
    # (3x the read's time) while they pile up; they are freed by reference counts.
    from .cluster.jsonbody import gc_paused  # here: the plain path does not import the cluster package

    with gc_paused() if track_lines else contextlib.nullcontext():
        for read in read_sources(paths):
            if isinstance(read, LoadError):
                errors.append(read)
                continue
            source, text = read
            for item in _parse(source, text, track_lines):
                (documents if isinstance(item, Document) else errors).append(item)
    return documents, errors


def load_admission_config(path: str, follow_path: bool = True):
    """Read an AdmissionConfiguration / PodSecurityConfiguration file (a plugin's ``path:`` followed,
    once: the file it names holds the PodSecurityConfiguration, as kube-apiserver reads it).

    Returns (AdmissionConfig, warnings); raises ValueError with a one-line message.
    """
    from .policy.admission import AdmissionConfigError, parse_admission_config

    if os.path.isdir(path):
        raise ValueError(f"{path}: is a directory, not a file")
    documents, errors = load_documents([path])
    if errors:
        raise ValueError(str(errors[0]))
    if len(documents) != 1:
        raise ValueError(f"{path}: expected one document, found {len(documents)}")
    doc = documents[0].data
    if follow_path and isinstance(doc, dict) and doc.get("kind") == "AdmissionConfiguration":
        for plugin in doc.get("plugins") if isinstance(doc.get("plugins"), list) else ():
            if isinstance(plugin, dict) and plugin.get("name") == "PodSecurity" and plugin.get("configuration") is None and plugin.get("path"):
                if not isinstance(plugin["path"], str):
                    raise ValueError(f"{path}: the PodSecurity plugin's path must be a string")
                return load_admission_config(os.path.join(os.path.dirname(path), plugin["path"]), follow_path=False)
    elif isinstance(doc, dict) and doc.get("kind") == "AdmissionConfiguration":
        raise ValueError(f"{path}: a PodSecurity plugin's path must name a PodSecurityConfiguration, "
                         "not another AdmissionConfiguration")
    try:
        return parse_admission_config(doc, path)
    except AdmissionConfigError as exc:
        raise ValueError(f"{path}: {exc}") from None
