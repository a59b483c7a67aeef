"""Read Kubernetes manifests from files, directories and stdin (YAML streams and JSON).

YAML is loaded with YAML 1.2 booleans, so names like ``on`` or ``no`` stay strings, as
the API server's decoder keeps them.
"""
from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import dataclass
from typing import Any, Iterator

import yaml

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")


@dataclass(frozen=True, slots=True)
class Document:
    """One parsed document of a source; ``index`` counts from 0 within the source."""

    source: str
    index: int
    data: Any


@dataclass(frozen=True, slots=True)
class LoadError:
    """A source or document that could not be read; ``index`` is None for the whole source."""

    source: str
    index: int | None
    message: str

    def __str__(self) -> str:
        where = self.source if self.index is None else f"{self.source} (document {self.index})"
        return f"{where}: {self.message}"


def _yaml12_loader() -> type:
    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class Loader(base):  # type: ignore[misc, valid-type]
        pass

    # Drop YAML 1.1 booleans (yes/no/on/off/y/n) and keep only true/false.
    Loader.yaml_implicit_resolvers = {
        key: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
        for key, resolvers in base.yaml_implicit_resolvers.items()
    }
    Loader.add_implicit_resolver(
        "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
    )
    # Timestamps stay strings: the API server does not turn them into dates.
    for key in list(Loader.yaml_implicit_resolvers):
        Loader.yaml_implicit_resolvers[key] = [
            (tag, regexp) for tag, regexp in Loader.yaml_implicit_resolvers[key] if tag != "tag:yaml.org,2002:timestamp"
        ]
    return Loader


YamlLoader = _yaml12_loader()


def expand_paths(paths: list[str]) -> tuple[list[str], list[LoadError]]:
    """Files to read, in order: a directory is walked recursively for *.yaml/*.yml/*.json (sorted)."""
    files: list[str] = []
    errors: list[LoadError] = []
    for path in paths:
        if path == "-":
            files.append(path)
        elif os.path.isdir(path):
            found = []
            for root, dirs, names in os.walk(path):
                dirs.sort()
                found.extend(os.path.join(root, n) for n in names if n.lower().endswith(MANIFEST_SUFFIXES))
            files.extend(sorted(found))
        elif os.path.exists(path):
            files.append(path)
        else:
            errors.append(LoadError(path, None, "no such file or directory"))
    return files, errors


def _read_text(path: str) -> str:
    if path == "-":
        raw = sys.stdin.buffer.read()
    else:
        with open(path, "rb") as handle:
            raw = handle.read()
    if b"\x00" in raw:
        raise ValueError("not a text file (binary content)")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(f"not UTF-8 text (byte {exc.start})") from None


def _json_documents(text: str) -> Iterator[Any]:
    """A JSON document, or a stream of concatenated JSON documents (as kubectl accepts)."""
    decoder = json.JSONDecoder()
    pos = 0
    length = len(text)
    while True:
        while pos < length and text[pos].isspace():
            pos += 1
        if pos >= length:
            return
        value, pos = decoder.raw_decode(text, pos)
        yield value


def _parse(source: str, text: str) -> Iterator[Document | LoadError]:
    """JSON (a document or a stream) for *.json; YAML otherwise (JSON-looking text tried as JSON first)."""
    declared_json = source.lower().endswith(".json")
    if declared_json or text.lstrip()[:1] in ("{", "["):
        documents: list[Document] = []
        try:
            for data in _json_documents(text):
                documents.append(Document(source, len(documents), data))
        except json.JSONDecodeError as exc:
            if declared_json:
                yield from documents
                yield LoadError(source, len(documents),
                                f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}")
                return
        except RecursionError:
            yield from documents
            yield LoadError(source, len(documents), "invalid JSON: nested too deeply")
            return
        else:
            yield from documents
            return
    index = 0
    try:
        for data in yaml.load_all(text, Loader=YamlLoader):
            if data is not None:
                yield Document(source, index, data)
            index += 1
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark is not None else ""
        yield LoadError(source, index, f"invalid YAML: {problem}{where}")


def load_documents(paths: list[str]) -> tuple[list[Document], list[LoadError]]:
    """Every document of every path; unreadable sources and bad documents become errors."""
    files, errors = expand_paths(paths)
    documents: list[Document] = []
    for path in files:
        source = "<stdin>" if path == "-" else path
        try:
            text = _read_text(path)
        except (OSError, ValueError) as exc:
            message = exc.strerror.lower() if isinstance(exc, OSError) and exc.strerror else str(exc)
            errors.append(LoadError(source, None, message))
            continue
        for item in _parse(source, text):
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
