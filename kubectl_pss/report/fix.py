"""Renderers of ``kubectl pss fix``: the fixed manifests, a unified diff, the FixReport, patches."""
from __future__ import annotations

import difflib
import json
import shlex
from typing import Any, Iterable, TextIO

from .envelope import envelope

KIND = "FixReport"


def summary(objects: list[dict[str, Any]]) -> dict[str, int]:
    changed = [o for o in objects if o["changes"]]
    return {
        "objects": len(objects),
        "changed": len(changed),
        "fixed": sum(1 for o in changed if o["allowed"]),
        "passing": sum(1 for o in objects if o["allowed"]),
        "needsDecision": sum(1 for o in objects if o["needsDecision"]),
        "changes": sum(len(o["changes"]) for o in objects),
    }


def fix_report(request: dict[str, Any], objects: list[dict[str, Any]], errors: Iterable[dict[str, Any] | str],
               context: str | None = None, server: dict[str, Any] | None = None) -> dict[str, Any]:
    return envelope(KIND, {"request": request, "objects": objects, "summary": summary(objects)},
                    context=context, server=server, errors=errors)


def write_texts(texts: list[str], out: TextIO) -> None:
    """The fixed sources one after another (one source: exactly its fixed text)."""
    for i, text in enumerate(texts):
        if i and not text.startswith("---"):
            out.write("---\n")
        out.write(text)
        if text and not text.endswith("\n"):
            out.write("\n")


def write_diff(pairs: list[tuple[str, str, str]], out: TextIO) -> None:
    """A unified diff per (name, before, after) that changed."""
    for name, before, after in pairs:
        out.writelines(difflib.unified_diff(before.splitlines(keepends=True), after.splitlines(keepends=True),
                                            f"a/{name}", f"b/{name}"))


def write_json(report: dict[str, Any], out: TextIO) -> None:
    json.dump(report, out, indent=2, ensure_ascii=False)
    out.write("\n")


def kubectl_patch_line(kind: str, name: str, namespace: str, patch: dict[str, Any]) -> str:
    return shlex.join(["kubectl", "patch", kind.lower(), name, "-n", namespace, "--type", "strategic",
                       "-p", json.dumps(patch, separators=(",", ":"))])


def write_patches(objects: list[dict[str, Any]], out: TextIO) -> None:
    """Per object its strategic-merge patch and the ``kubectl patch`` line (# lines are comments)."""
    for obj in objects:
        if not obj.get("patch"):
            continue
        out.write(f"# {obj['kind']}/{obj['name']} -n {obj['namespace']}\n")
        out.write(json.dumps(obj["patch"], indent=2) + "\n")
        out.write(kubectl_patch_line(obj["kind"], obj["name"], obj["namespace"], obj["patch"]) + "\n")


def print_decisions(objects: list[dict[str, Any]], err: TextIO) -> None:
    """What still fails, per object, on stderr (stdout holds the manifests)."""
    for obj in objects:
        for d in obj["needsDecision"]:
            where = f"{obj.get('source', '')}" + (f" (document {obj['document']})" if "document" in obj else "")
            err.write(f"needs a decision: {where.strip()} {obj['kind']}/{obj['name']}: {d['check']}: "
                      f"{d['reason']} ({d['detail']}); hint: {d['hint']}\n")
