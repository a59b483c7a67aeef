"""Edits as a strategic-merge patch of a live object: containers are merged by name (their merge key),
ports by containerPort, null removes a key."""
from __future__ import annotations

from typing import Any

from .edit import CONTAINER_LISTS, DELETE, Edit

MERGE_KEYS = {**{name: "name" for name in CONTAINER_LISTS}, "ports": "containerPort"}


def _value(edit: Edit) -> Any:
    if edit.value is DELETE:
        return None
    if edit.append:
        return list(edit.old or []) + [edit.value]  # drop has no merge strategy: the whole list
    return edit.value


def strategic_patch(obj: dict, edits: list[Edit]) -> dict[str, Any]:
    """The patch that makes the live ``obj`` what ``edits`` make of it (``obj`` is not changed)."""
    patch: dict[str, Any] = {}
    for edit in edits:
        node, source = patch, obj
        for i, part in enumerate(edit.path):
            if isinstance(part, int):
                continue
            source = source.get(part) if isinstance(source, dict) else None
            nxt = edit.path[i + 1] if i + 1 < len(edit.path) else None
            if isinstance(nxt, int) and part in MERGE_KEYS:
                key = MERGE_KEYS[part]
                item = source[nxt] if isinstance(source, list) else {}
                entries = node.setdefault(part, [])
                entry = next((e for e in entries if e.get(key) == item.get(key)), None)
                if entry is None:
                    entry = {key: item.get(key)}
                    entries.append(entry)
                node, source = entry, item
            else:
                node = node.setdefault(part, {})
        node[edit.key] = _value(edit)
    return patch


def reverse_edits(edits: list[Edit]) -> list[Edit]:
    """Edits that put the previous values back (a key that was unset is removed)."""
    return [Edit(e.path, e.key, DELETE if e.old is None else e.old, _value(e)) for e in reversed(edits)]
