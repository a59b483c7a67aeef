"""Fix the workloads of one manifest text, keeping everything else byte for byte.

Each YAML document is judged as kubectl reads it (manifests.parse_text: go-yaml v2's rules, so
``allowPrivilegeEscalation: yes`` is true) and, only when it changes, edited with ruamel.yaml's
round-trip mode (comments, key order, quoting and flow/block style kept). The text is cut at the
``---`` lines first, so ruamel never sees them: a comment before a leading ``---`` (which ruamel
would drop) and every untouched document stay as they were. JSON sources are rewritten as JSON.
"""
from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass, field
from typing import Any, Iterator

from ..manifests import Document, LoadError, parse_text
from ..policy import Level, Version, is_evaluated_kind, object_ref
from ..policy.objects import InvalidObjectError
from ..policy.schema import describe, type_errors
from .edit import apply_edits
from .plan import FixPlan, plan_fix

_DOCUMENT_START = re.compile(r"^---(?=[ \t]|$)", re.MULTILINE)
_HEADER = re.compile(r"---[ \t]*(?:#[^\n]*)?(?:\n|$)")


@dataclass
class FixedObject:
    source: str
    document: int
    kind: str
    namespace: str | None
    name: str | None
    plan: FixPlan

    def as_dict(self) -> dict[str, Any]:
        return {"source": self.source, "document": self.document, "kind": self.kind, "namespace": self.namespace,
                "name": self.name, "levelBefore": self.plan.level_before, "levelAfter": self.plan.level_after,
                "allowed": self.plan.allowed_after, "changes": self.plan.changes(),
                "needsDecision": self.plan.needs_decision}


@dataclass
class FixedText:
    text: str
    objects: list[FixedObject] = field(default_factory=list)
    errors: list[LoadError] = field(default_factory=list)


def _pieces(text: str) -> list[tuple[str, str]]:
    """(``---`` line or "", body) in order; their concatenation is ``text``."""
    starts = [m.start() for m in _DOCUMENT_START.finditer(text)]
    bounds = ([0] if not starts or starts[0] != 0 else []) + starts + [len(text)]
    pieces = []
    for begin, end in zip(bounds, bounds[1:]):
        chunk = text[begin:end]
        header = _HEADER.match(chunk) if chunk.startswith("---") else None
        cut = header.end() if header else (3 if chunk.startswith("---") else 0)
        pieces.append((chunk[:cut], chunk[cut:]))
    return pieces


def _objects(doc: Any, path: tuple = ()) -> Iterator[tuple[tuple, Any]]:
    """(path, object) of a document, Lists flattened as policy.iter_items does."""
    if isinstance(doc, dict):
        kind, items = doc.get("kind"), doc.get("items")
        if isinstance(kind, str) and kind.endswith("List") and (isinstance(items, list) or items is None):
            for i, item in enumerate(items or ()):
                yield from _objects(item, path + ("items", i))
            return
    yield path, doc


_BLOCK_KEY = re.compile(r"^( *)(- +)?[^\s#-][^:#]*:[ \t]*(?:#.*)?$")
_LINE = re.compile(r"^( *)(- +)?\S")


def guess_indent(body: str) -> tuple[int, int, int]:
    """(mapping indent, sequence indent, dash offset) as the document writes them (default 2, 2, 0)."""
    mapping = sequence = offset = None
    lines = [line for line in body.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    for line, following in zip(lines, lines[1:]):
        key = _BLOCK_KEY.match(line)
        nxt = _LINE.match(following)
        if not key or not nxt:
            continue
        column = len(key.group(1)) + len(key.group(2) or "")
        if nxt.group(2):
            if sequence is None and len(nxt.group(1)) >= column:
                offset = len(nxt.group(1)) - column
                sequence = offset + len(nxt.group(2))
        elif mapping is None and len(nxt.group(1)) > column:
            mapping = len(nxt.group(1)) - column
    return mapping or 2, max(sequence or 2, (offset or 0) + 2), offset or 0


def _round_trip(body: str) -> Any:
    from ruamel.yaml import YAML

    mapping, sequence, offset = guess_indent(body)
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 1 << 16  # never re-wrap a long line
    yaml.indent(mapping=mapping, sequence=sequence, offset=offset)
    yaml.brace_single_entry_mapping_in_flow_sequence = True  # [{a: 1}] stays, not [a: 1]
    return yaml


def _plan_objects(source: str, index: int, data: Any, level: Level, version: Version, allow: frozenset[str],
                  result: FixedText) -> list[tuple[tuple, FixPlan]]:
    planned = []
    for path, obj in _objects(data):
        if not is_evaluated_kind(obj):
            if not isinstance(obj, dict) or not isinstance(obj.get("kind"), str):
                result.errors.append(LoadError(source, index, "object has no kind"))
            continue
        kind, namespace, name = object_ref(obj)
        wrong = type_errors(obj)
        if wrong:
            result.errors.append(LoadError(source, index, f"{kind} {name}: {describe(wrong)}"))
            continue
        try:
            plan = plan_fix(obj, level, version, allow)
        except (InvalidObjectError, RecursionError) as exc:
            result.errors.append(LoadError(source, index, f"{kind} {name}: {exc or 'nested too deeply'}"))
            continue
        result.objects.append(FixedObject(source, index, kind, namespace, name, plan))
        if plan.edits:
            planned.append((path, plan))
    return planned


_END = re.compile(r"^\.\.\.[ \t]*(?:#[^\n]*)?\n?(?:\s*(?:#[^\n]*)?\n?)*\Z", re.MULTILINE)


def _edit_yaml(body: str, planned: list[tuple[tuple, FixPlan]]) -> str:
    """The body edited by ruamel; a ``...`` end marker (ruamel drops it) and what follows it kept."""
    end = _END.search(body)
    if end is not None:
        return _edit_yaml(body[:end.start()], planned) + body[end.start():]
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    yaml = _round_trip(body)
    tree = yaml.load(body)
    for path, plan in planned:
        node = tree
        for part in path:
            node = node[part]
        apply_edits(node, plan.edits, CommentedMap, CommentedSeq)
    out = io.StringIO()
    yaml.dump(tree, out)
    return out.getvalue()


def fix_text(source: str, text: str, level: Level, version: Version, allow: frozenset[str] = frozenset()) -> FixedText:
    """The fixed text of one source, with every object's plan and the documents that could not be read."""
    result = FixedText(text)
    if source.lower().endswith(".json") or text.lstrip()[:1] in ("{", "["):
        items = list(parse_text(source, text))
        if all(isinstance(i, Document) for i in items) and items:
            return _fix_json(source, items, level, version, allow, result)
    out = []
    index = 0
    for header, body in _pieces(text):
        if not header and not body.strip(" \t\n\r") or not header and _only_comments(body) and index == 0:
            out.append(header + body)
            continue
        items = list(parse_text(source, body))
        planned = []
        for item in items:
            if isinstance(item, LoadError):
                result.errors.append(LoadError(source, index, item.message))
            else:
                planned += _plan_objects(source, index, item.data, level, version, allow, result)
        new_body = body
        if planned:
            try:
                new_body = _edit_yaml(body, planned)
            except Exception as exc:  # ruamel refuses what go-yaml reads (duplicate keys, ...): leave it
                result.errors.append(LoadError(source, index, f"not rewritten: {str(exc).splitlines()[0]}"))
                for obj in result.objects:
                    if obj.document == index:
                        obj.plan.edits.clear()
        if header and not header.endswith("\n") and new_body is not body:
            header += " "
        out.append(header + new_body)
        index += 1
    result.text = "".join(out)
    return result


def _only_comments(body: str) -> bool:
    return all(not line.strip() or line.lstrip().startswith("#") for line in body.splitlines())


def _fix_json(source: str, items: list, level: Level, version: Version, allow: frozenset[str],
              result: FixedText) -> FixedText:
    changed = False
    texts = []
    for item in items:
        for path, plan in _plan_objects(source, item.index, item.data, level, version, allow, result):
            node = item.data
            for part in path:
                node = node[part]
            apply_edits(node, plan.edits)
            changed = True
        texts.append(json.dumps(item.data, indent=2, ensure_ascii=False) + "\n")
    if changed:
        result.text = "".join(texts)
    return result
