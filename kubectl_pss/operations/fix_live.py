"""``kubectl pss fix KIND/NAME... -n NS`` and ``--from-audit-json``: plan a strategic-merge patch per live
workload, and with ``--yes`` apply it: a server dry run first (no PodSecurity warning at the namespace's
levels, and the engine agrees on the object the server returns), an undo file written ahead (as
``label`` does, operations/undofile.UndoWriter), then the PATCH; a rollout of new pods follows."""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any, Callable

from ..errors import EXIT_ERROR, EXIT_FINDINGS, EXIT_OK, FatalError, UsageError
from ..fix import ALLOW_NAMES, plan_fix
from ..fix.patch import reverse_edits, strategic_patch
from ..policy import Level, apply_manifest_defaults, evaluate, parse_level, parse_version
from ..policy.admission import MODES
from ..policy.objects import InvalidObjectError
from ..policy.schema import describe, type_errors
from .undofile import APPLIED, default_path, utc_now

# kubectl's names for the workload kinds -> (API path prefix, resource)
RESOURCES: dict[str, tuple[str, str]] = {
    "deployment": ("/apis/apps/v1", "deployments"), "deploy": ("/apis/apps/v1", "deployments"),
    "statefulset": ("/apis/apps/v1", "statefulsets"), "sts": ("/apis/apps/v1", "statefulsets"),
    "daemonset": ("/apis/apps/v1", "daemonsets"), "ds": ("/apis/apps/v1", "daemonsets"),
    "replicaset": ("/apis/apps/v1", "replicasets"), "rs": ("/apis/apps/v1", "replicasets"),
    "replicationcontroller": ("/api/v1", "replicationcontrollers"), "rc": ("/api/v1", "replicationcontrollers"),
    "cronjob": ("/apis/batch/v1", "cronjobs"), "cj": ("/apis/batch/v1", "cronjobs"),
    "podtemplate": ("/api/v1", "podtemplates"),
}
IMMUTABLE = {"pod": "a pod's security fields cannot change: fix its owner (or its manifest)",
             "po": "a pod's security fields cannot change: fix its owner (or its manifest)",
             "job": "a Job's pod template cannot change: fix its CronJob or manifest and recreate it"}
UNDO_KIND = "KubectlPssFixUndo"
ROLLOUT_NOTE = "note: the controllers now replace the pods (a rollout follows); watch it with kubectl rollout status"


def resource_path(kind: str, namespace: str, name: str) -> str:
    key = kind.lower()
    key = key[:-1] if key.endswith("s") and key[:-1] in RESOURCES else key
    if key in IMMUTABLE:
        raise UsageError(f"{kind}/{name}: {IMMUTABLE[key]}")
    if key not in RESOURCES:
        raise UsageError(f'{kind}/{name}: not a workload kind fix patches ({", ".join(sorted(set(r for _, r in RESOURCES.values())))})')
    prefix, resource = RESOURCES[key]
    return f"{prefix}/namespaces/{namespace}/{resource}/{name}"


def owners_from_audit_json(path: str) -> list[tuple[str, str, str]]:
    """(namespace, kind, name) of every owner an ``audit``/``simulate`` ``-o json`` report lists."""
    from ..manifests import load_documents

    documents, errors = load_documents([path])
    if errors or len(documents) != 1:
        raise UsageError(f"--from-audit-json {errors[0] if errors else f'{path}: not one JSON document'}")
    data = documents[0].data
    found: list[tuple[str, str, str]] = []

    def walk(node: Any, namespace: str | None) -> None:
        if isinstance(node, dict):
            namespace = node.get("namespace") if isinstance(node.get("namespace"), str) else (
                node.get("name") if isinstance(node.get("findings"), list) and isinstance(node.get("name"), str)
                else namespace)
            owner = node.get("owner")
            if isinstance(owner, dict) and isinstance(owner.get("kind"), str) and namespace:
                entry = (namespace, owner["kind"], str(owner.get("name")))
                if entry not in found:
                    found.append(entry)
            for value in node.values():
                walk(value, namespace)
        elif isinstance(node, list):
            for value in node:
                walk(value, namespace)

    walk(data, None)
    if not found:
        raise UsageError(f"--from-audit-json {path}: no owners listed (an audit or simulate -o json report?)")
    return found


@dataclass
class FixUndoEntry:
    """One object's previous values (``undo``: the patch that restores them), as UndoWriter keeps them."""

    ref: dict[str, str]
    undo: dict[str, Any]
    applied: Any
    resource_version: str | None = None
    state: str = APPLIED

    def as_dict(self) -> dict[str, Any]:
        return {**self.ref, "undoPatch": self.undo, "kubectlUndo": kubectl_patch_line(self.ref, self.undo),
                "patch": self.applied, "resourceVersion": self.resource_version, "state": self.state}


@dataclass
class FixUndoFile:
    context: str | None
    server: str | None
    created_at: str
    command: str | None = None
    namespaces: list[FixUndoEntry] = field(default_factory=list)  # UndoWriter's name for the entries
    path: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"kind": UNDO_KIND, "version": 1, "context": self.context, "server": self.server,
                "createdAt": self.created_at, "command": self.command,
                "objects": [e.as_dict() for e in self.namespaces]}


def kubectl_patch_line(ref: dict[str, str], patch: dict[str, Any]) -> str:
    from ..report.fix import kubectl_patch_line as line

    return line(ref["kind"], ref["name"], ref["namespace"], patch)


def namespace_levels(cluster: Any, namespace: str) -> list[tuple[str, Level, str]]:
    """(mode, level, version) of the namespace's pod-security labels."""
    labels = (cluster.request("GET", f"/api/v1/namespaces/{namespace}").data.get("metadata") or {}).get("labels") or {}
    out = []
    for mode in MODES:
        value = labels.get(f"pod-security.kubernetes.io/{mode}")
        if value:
            try:
                out.append((mode, parse_level(value),
                            str(parse_version(labels.get(f"pod-security.kubernetes.io/{mode}-version") or "latest"))))
            except ValueError:
                continue
    return out


def plan_object(cluster: Any, namespace: str, kind: str, name: str, options: Any) -> dict[str, Any]:
    """GET the object and plan its patch (the entry of the FixReport)."""
    path = resource_path(kind, namespace, name)
    obj = cluster.request("GET", path).data
    wrong = type_errors(obj)
    if wrong:
        raise InvalidObjectError(describe(wrong))
    plan = plan_fix(obj, options.level, options.version, options.allow)
    patch = strategic_patch(obj, plan.edits) if plan.edits else None
    ref = {"kind": obj.get("kind", kind), "namespace": namespace, "name": name}
    return {**ref, "levelBefore": plan.level_before, "levelAfter": plan.level_after, "allowed": plan.allowed_after,
            "changes": plan.changes(), "needsDecision": plan.needs_decision, "patch": patch,
            "kubectlPatch": kubectl_patch_line(ref, patch) if patch else None,
            "_path": path, "_undo": removing_created(strategic_patch(obj, reverse_edits(plan.edits)), obj) if patch else None,
            "_rv": (obj.get("metadata") or {}).get("resourceVersion")}


def removing_created(undo: Any, original: Any) -> Any:
    """The undo patch with every object the fix created (absent from ``original``) removed whole (null),
    not left behind empty: the way back restores the object exactly."""
    from ..fix.patch import MERGE_KEYS

    if not isinstance(undo, dict):
        return undo
    original = original if isinstance(original, dict) else {}
    out: dict[str, Any] = {}
    for key, value in undo.items():
        if isinstance(value, dict) and key not in original:
            out[key] = None
        elif isinstance(value, list) and key in MERGE_KEYS and isinstance(original.get(key), list):
            merge_key = MERGE_KEYS[key]
            out[key] = [removing_created(item, next((o for o in original[key] if isinstance(o, dict)
                                                     and o.get(merge_key) == item.get(merge_key)), None))
                        for item in value]
        else:
            out[key] = removing_created(value, original.get(key))
    return out


def dry_run(cluster: Any, entry: dict[str, Any]) -> str | None:
    """The server's dry run of the patch; why it must not be applied (None: it may)."""
    response = cluster.request("PATCH", entry["_path"], [("dryRun", "All"), ("fieldManager", "kubectl-pss")],
                               entry["patch"], "application/strategic-merge-patch+json")
    warnings = [w for w in response.warnings if "PodSecurity" in w]
    if warnings:
        return "the server's dry run warns: " + "; ".join(warnings)
    for mode, level, version in namespace_levels(cluster, entry["namespace"]):
        result = evaluate(apply_manifest_defaults(response.data), level, version)
        if not result.allowed:
            return f"after the patch the object still violates the namespace's {mode} level: {result.denial()}"
    return None


def run_live(options: Any) -> int:
    from ..cluster.errors import ClusterError
    from ..cluster.inventory import FATAL
    from ..report.fix import fix_report, print_decisions, write_json, write_patches

    if options.from_audit_json:
        targets = owners_from_audit_json(options.from_audit_json)
    else:
        targets = [(options.namespace, kind, name) for kind, name in options.objects]
    errors: list[dict[str, Any]] = []
    objects: list[dict[str, Any]] = []
    with options.connection as connection:
        cluster = connection.cluster()
        for namespace, kind, name in targets:
            where = f"{kind}/{name} -n {namespace}"
            try:
                objects.append(plan_object(cluster, namespace, kind, name, options))
            except UsageError as exc:
                errors.append({"message": str(exc), "object": where})
            except InvalidObjectError as exc:
                errors.append({"message": f"{where}: {exc}", "object": where})
            except ClusterError as exc:
                if isinstance(exc, FATAL):
                    raise
                errors.append({"message": f"{where}: {exc}", "object": where})
        undo_path = None
        todo = [o for o in objects if o["patch"]]
        if (options.yes or options.dry_run == "server") and options.dry_run != "client" and todo:
            for entry in todo:
                try:
                    entry["result"] = {"status": "refused", "reason": why} if (why := dry_run(cluster, entry)) else None
                except ClusterError as exc:
                    if isinstance(exc, FATAL):
                        raise
                    entry["result"] = {"status": "failed", "reason": str(exc)}
            ready = [o for o in todo if o.get("result") is None]
            undo_path = patch_written_ahead(cluster, ready, options.undo_file, options.dry_run, "kubectl pss fix",
                                            lambda entry: FixUndoEntry({k: entry[k] for k in ("kind", "namespace", "name")},
                                                                       entry["_undo"], entry["patch"], entry["_rv"]))
    for entry in objects:
        for key in ("_path", "_undo", "_rv"):
            entry.pop(key, None)
    request = {"level": options.level.value, "version": str(options.version),
               "allow": sorted(k for k, v in ALLOW_NAMES.items() if v in options.allow), "yes": options.yes}
    if options.output == "json":
        report = fix_report(request, objects, errors, context=getattr(cluster, "context", None))
        report["undoFile"] = undo_path
        write_json(report, sys.stdout)
    else:
        write_patches(objects, sys.stdout)
        print_decisions(objects, sys.stderr)
    for error in errors:
        print(f"error: {error['message']}", file=sys.stderr)
    for entry in objects:
        result = entry.get("result")
        if result and result["status"] not in ("applied", "dry-run"):
            print(f"error: {entry['kind']}/{entry['name']} -n {entry['namespace']}: not applied: {result['reason']}",
                  file=sys.stderr)
    if any((o.get("result") or {}).get("status") == "applied" for o in objects):
        print(ROLLOUT_NOTE, file=sys.stderr)
        print(f"undo file: {undo_path} (each entry's kubectlUndo restores the previous values)", file=sys.stderr)
    elif todo and not options.yes:
        print("note: nothing was changed; pass --yes to apply (a server dry run runs first)", file=sys.stderr)
    if errors or any((o.get("result") or {}).get("status") not in (None, "applied", "dry-run") for o in objects):
        return EXIT_ERROR if errors else EXIT_FINDINGS
    return EXIT_OK if all(o["allowed"] for o in objects) else EXIT_FINDINGS


def patch_written_ahead(cluster: Any, ready: list[dict[str, Any]], undo_file: str | None, dry_run: str,
                        command: str, record_of: Callable[[dict[str, Any]], FixUndoEntry]) -> str | None:
    """PATCH each ready object (``entry["_path"]``, ``entry["patch"]``) with its undo record written ahead:
    intended before, applied after, withdrawn when the PATCH fails; the outcome goes to ``entry["result"]``.
    ``dry_run`` "server": nothing is patched (the server's dry run has passed). Returns the undo file's
    path, or None when nothing was applied (no file left)."""
    from ..cluster.errors import ClusterError
    from ..cluster.inventory import FATAL
    from .undofile import UndoWriter

    if dry_run == "server":
        for entry in ready:
            entry["result"] = {"status": "dry-run",
                               "reason": "--dry-run=server: the server's dry run passed; nothing was changed"}
        return None
    if not ready:
        return None
    writer = UndoWriter(undo_file or default_path(cluster.context),
                        FixUndoFile(cluster.context, cluster.server,  # type: ignore[arg-type]
                                    utc_now().strftime("%Y-%m-%dT%H:%M:%SZ"), command))
    try:
        writer.create()
    except OSError as exc:
        raise FatalError(f"cannot write the undo file {writer.path}: {exc.strerror or exc}; nothing was "
                         "changed") from None
    for entry in ready:
        record = record_of(entry)
        writer.intend(record)  # type: ignore[arg-type]
        try:
            response = cluster.request("PATCH", entry["_path"], [("fieldManager", "kubectl-pss")],
                                       entry["patch"], "application/strategic-merge-patch+json")
        except ClusterError as exc:
            writer.withdraw(record)  # type: ignore[arg-type]
            entry["result"] = {"status": "failed", "reason": str(exc)}
            if isinstance(exc, FATAL):
                raise
            continue
        writer.applied(record, entry["patch"],  # type: ignore[arg-type]
                       (response.data.get("metadata") or {}).get("resourceVersion"))
        entry["result"] = {"status": "applied"}
    if not writer.undo.namespaces:
        writer.discard()
        return None
    return writer.path
