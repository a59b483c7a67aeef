"""``kubectl pss fix --undo FILE``: replay a fix undo file (KubectlPssFixUndo). The plan first: per
object the reverse strategic-merge patch and whether the live object still holds what the fix wrote
(changed since: refused unless ``--force``; an ``intended`` entry is judged by comparing the live values
with both the values before and after). ``--yes`` applies it as the forward path does: a server dry run,
its own undo file (a redo) written ahead, then the PATCH."""
from __future__ import annotations

import copy
import sys
from typing import Any

from ..errors import EXIT_ERROR, EXIT_FINDINGS, EXIT_OK, UsageError
from ..fix.patch import MERGE_KEYS
from ..policy import LATEST, apply_manifest_defaults, grade
from .fix_live import UNDO_KIND, FixUndoEntry, FixUndoFile, kubectl_patch_line, patch_written_ahead, resource_path
from .undofile import APPLIED, INTENDED, STATES, UndoFileError, load_undo_json

NOTHING = "recorded as intended, never applied (the live values are as before): nothing to do"


def read_fix_undo(path: str) -> FixUndoFile:
    """A fix undo file, checked; UndoFileError (one line) when it cannot be used."""
    data = load_undo_json(path, UNDO_KIND, "fix undo file")
    if not isinstance(data.get("objects"), list):
        raise UndoFileError(f"{path}: objects must be a list")
    undo = FixUndoFile(data.get("context"), data.get("server"), str(data.get("createdAt")), data.get("command"),
                       path=path)
    for i, entry in enumerate(data["objects"]):
        where = f"{path}: objects[{i}]"
        if not isinstance(entry, dict) or not all(isinstance(entry.get(k), str) and entry[k]
                                                  for k in ("kind", "namespace", "name")):
            raise UndoFileError(f"{where}: needs kind, namespace and name")
        if not isinstance(entry.get("undoPatch"), dict) or not isinstance(entry.get("patch"), dict):
            raise UndoFileError(f"{where}: undoPatch and patch must be objects")
        state = entry.get("state", APPLIED)
        if state not in STATES:
            raise UndoFileError(f'{where}.state must be "{INTENDED}" or "{APPLIED}"')
        rv = entry.get("resourceVersion")
        undo.namespaces.append(FixUndoEntry({k: entry[k] for k in ("kind", "namespace", "name")}, entry["undoPatch"],
                                            entry["patch"], None if rv is None else str(rv), state))
    return undo


def holds(live: Any, patch: Any, key: str | None = None) -> bool:
    """Whether ``live`` already has every value ``patch`` sets (null: absent), lists in MERGE_KEYS by their key."""
    if isinstance(patch, list) and key in MERGE_KEYS:
        merge_key = MERGE_KEYS[key]
        items = live if isinstance(live, list) else []
        return all(holds(next((t for t in items if isinstance(t, dict) and t.get(merge_key) == p.get(merge_key)),
                              None), p) for p in patch)
    if isinstance(patch, dict):
        live = live if isinstance(live, dict) else {}
        return all(live.get(k) is None if v is None else holds(live.get(k), v, k) for k, v in patch.items())
    return live == patch


def merged(live: Any, patch: Any, key: str | None = None) -> Any:
    """``patch`` applied to a copy of ``live`` as the API server's strategic merge does for these patches."""
    if isinstance(patch, list) and key in MERGE_KEYS and isinstance(live, list):
        out = copy.deepcopy(live)
        for item in patch:
            at = next((i for i, t in enumerate(out) if isinstance(t, dict)
                       and t.get(MERGE_KEYS[key]) == item.get(MERGE_KEYS[key])), None)
            out.append(item) if at is None else out.__setitem__(at, merged(out[at], item))
        return out
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(live) if isinstance(live, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merged(out.get(k), v, k)
    return out


def level_of(obj: dict[str, Any]) -> str:
    return grade(apply_manifest_defaults(obj), LATEST).level.value


def plan_entry(cluster: Any, entry: FixUndoEntry, force: bool) -> dict[str, Any]:
    """GET the object and plan its way back (the entry of the FixReport)."""
    ref = entry.ref
    path = resource_path(ref["kind"], ref["namespace"], ref["name"])
    live = cluster.request("GET", path).data
    patch: dict[str, Any] | None = entry.undo
    notes: list[str] = []
    refused = None
    if holds(live, entry.undo) and (entry.state == INTENDED or not holds(live, entry.applied)):
        patch = None
        notes.append(NOTHING if entry.state == INTENDED else "the live values are already those before: nothing to do")
    elif not holds(live, entry.applied):
        why = ("recorded as intended (outcome unknown): the live values are neither those before nor those the fix "
               "set" if entry.state == INTENDED else "changed since the fix: its fields no longer hold what it wrote")
        if force:
            notes.append(f"{why} (--force: restored anyway)")
        else:
            refused = {"status": "refused", "reason": f"{why} (--force to restore anyway)"}
    elif entry.state == INTENDED:
        notes.append("recorded as intended (outcome unknown): the live values show it was applied")
    after = merged(live, patch) if patch else live
    changes = changes_of(live, patch) if patch else []
    return {**ref, "levelBefore": level_of(live), "levelAfter": level_of(after), "allowed": refused is None,
            "changes": changes, "needsDecision": [], "patch": patch,
            "kubectlPatch": kubectl_patch_line(ref, patch) if patch else None, "notes": notes, "result": refused,
            "_path": path, "_entry": entry}


def changes_of(live: Any, patch: Any, path: str = "") -> list[dict[str, Any]]:
    """{path, from, to} of every value ``patch`` sets on ``live``."""
    out: list[dict[str, Any]] = []
    if isinstance(patch, dict):
        live = live if isinstance(live, dict) else {}
        for k, v in patch.items():
            here = f"{path}.{k}" if path else k
            if isinstance(v, list) and k in MERGE_KEYS:
                items = live.get(k) if isinstance(live.get(k), list) else []
                for item in v:
                    name = item.get(MERGE_KEYS[k])
                    match = next((t for t in items if isinstance(t, dict) and t.get(MERGE_KEYS[k]) == name), None)
                    out += changes_of(match, {x: y for x, y in item.items() if x != MERGE_KEYS[k]},
                                      f"{here}[{MERGE_KEYS[k]}={name}]")
            elif isinstance(v, dict):
                out += changes_of(live.get(k), v, here)
            elif live.get(k) != v:
                out.append({"path": here, "from": live.get(k), "to": v})
    return out


def run_undo(options: Any) -> int:
    from ..cluster.errors import ClusterError
    from ..cluster.inventory import FATAL
    from ..report.fix import fix_report, write_json, write_patches
    from .labels import connect_for_undo

    undo: FixUndoFile = options.undo
    errors: list[dict[str, Any]] = []
    objects: list[dict[str, Any]] = []
    undo_path = None
    with options.connection as connection:
        cluster = connect_for_undo(connection, undo, options.force)  # type: ignore[arg-type]
        for entry in undo.namespaces:
            where = f"{entry.ref['kind']}/{entry.ref['name']} -n {entry.ref['namespace']}"
            try:
                objects.append(plan_entry(cluster, entry, options.force))
            except UsageError as exc:
                errors.append({"message": str(exc), "object": where})
            except ClusterError as exc:
                if isinstance(exc, FATAL):
                    raise
                errors.append({"message": f"{where}: {exc}", "object": where})
        todo = [o for o in objects if o["patch"] and o["result"] is None]
        if (options.yes or options.dry_run == "server") and options.dry_run != "client" and todo:
            for entry in todo:
                try:  # restoring what was there: PodSecurity warnings are expected, only a rejection stops it
                    cluster.request("PATCH", entry["_path"], [("dryRun", "All"), ("fieldManager", "kubectl-pss")],
                                    entry["patch"], "application/strategic-merge-patch+json")
                except ClusterError as exc:
                    if isinstance(exc, FATAL):
                        raise
                    entry["result"] = {"status": "failed", "reason": str(exc)}
            ready = [o for o in todo if o["result"] is None]
            undo_path = patch_written_ahead(cluster, ready, options.undo_file, options.dry_run,
                                            f"kubectl pss fix --undo {undo.path}", lambda entry: FixUndoEntry(  # the redo
                                                entry["_entry"].ref, entry["_entry"].applied, entry["patch"]))
    for entry in objects:
        entry.pop("_path", None)
        entry.pop("_entry", None)
    if options.output == "json":
        report = fix_report({"undo": undo.path, "undoContext": undo.context, "yes": options.yes, "force": options.force},
                            objects, errors, context=getattr(cluster, "context", None))
        report["undoFile"] = undo_path
        write_json(report, sys.stdout)
    else:
        write_patches(objects, sys.stdout)
    for entry in objects:
        where = f"{entry['kind']}/{entry['name']} -n {entry['namespace']}"
        for note in entry["notes"]:
            print(f"{where}: {note}", file=sys.stderr)
        result = entry["result"]
        if result and result["status"] not in ("applied", "dry-run"):
            print(f"error: {where}: not restored: {result['reason']}", file=sys.stderr)
    for error in errors:
        print(f"error: {error['message']}", file=sys.stderr)
    if any((o["result"] or {}).get("status") == "applied" for o in objects):
        print(f"note: the controllers now replace the pods (a rollout follows); redo file: {undo_path} "
              f"(kubectl pss fix --undo {undo_path} applies the fix again)", file=sys.stderr)
    elif todo and not options.yes:
        print("note: nothing was changed; pass --yes to restore (a server dry run runs first)", file=sys.stderr)
    if errors:
        return EXIT_ERROR
    return EXIT_FINDINGS if any((o["result"] or {}).get("status") not in (None, "applied", "dry-run")
                                for o in objects) else EXIT_OK

