"""The cross-check: per referenced profile and landing node, ``loaded``/``present``, ``missing``,
``apparmor-disabled``, ``invalid`` (a seccomp file that is not a profile), ``differs`` (the file's
sha256, or the AppArmor mode, is not the same on every landing node), ``unknown`` (not inspected).
Pure: no I/O."""
from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from typing import Any

from ..model import DEFAULT_SECCOMP_ROOT
from ..seccomp import localhost_path
from .host import SeccompFile
from .placement import (APPARMOR, APPARMOR_DISABLED, INVALID, MISSING, SECCOMP, Blocked, Reference,
                        could_land)

LOADED = "loaded"  # AppArmor: in the kernel's profile list
PRESENT = "present"  # seccomp: the file is there and is a profile
DIFFERS = "differs"
UNKNOWN = "unknown"
ENFORCING_MODES = ("enforce", "kill")


# --- what one node has ----------------------------------------------------------------------------------
@dataclass
class NodeInspection:
    """What a debug pod read on a node. None fields: not read (``problems`` says why)."""

    apparmor_enabled: bool | None = None
    apparmor_profiles: dict[str, str] | None = None
    seccomp_root: str = DEFAULT_SECCOMP_ROOT
    seccomp_root_source: str | None = None  # flag --seccomp-root, kubelet --root-dir, kubelet default, ...
    seccomp_root_exists: bool | None = None
    seccomp_files: list[SeccompFile] | None = None
    seccomp_default: bool | None = None
    seccomp_default_source: str | None = None
    kubelet: dict[str, Any] = field(default_factory=dict)  # pid, config, flags seen
    problems: list[str] = field(default_factory=list)  # reads that failed
    notes: list[str] = field(default_factory=list)
    failed: str | None = None  # nothing could be read: why

    def seccomp_by_path(self) -> dict[str, SeccompFile] | None:
        if self.seccomp_root_exists is False:
            return {}
        if self.seccomp_files is None:
            return None
        return {f.path: f for f in self.seccomp_files}

    def as_dict(self) -> dict[str, Any]:
        profiles = self.apparmor_profiles
        return {
            "status": "failed" if self.failed else "partial" if self.problems else "ok",
            "error": self.failed,
            "apparmor": {"enabled": self.apparmor_enabled,
                         "profiles": None if profiles is None else [{"name": n, "mode": m}
                                                                    for n, m in sorted(profiles.items())]},
            "seccomp": {"root": self.seccomp_root, "rootSource": self.seccomp_root_source, "rootExists": self.seccomp_root_exists,
                        "files": None if self.seccomp_files is None else [f.as_dict() for f in self.seccomp_files]},
            "kubelet": {**self.kubelet, "seccompDefault": self.seccomp_default,
                        "seccompDefaultSource": self.seccomp_default_source},
            "problems": list(self.problems),
            "notes": list(self.notes),
        }


def _inspected_status(ref_type: str, profile: str, inspection: NodeInspection) -> dict[str, Any]:
    if inspection.failed:
        return {"status": UNKNOWN, "detail": "the node could not be inspected"}
    if ref_type == APPARMOR:
        if inspection.apparmor_enabled is False:
            return {"status": APPARMOR_DISABLED, "detail": "AppArmor is not enabled on the node"}
        if inspection.apparmor_profiles is None:
            return {"status": UNKNOWN, "detail": "the loaded profiles could not be read"}
        mode = inspection.apparmor_profiles.get(profile)
        if mode is None:
            return {"status": MISSING, "detail": "not loaded"}
        return {"status": LOADED, "mode": mode}
    files = inspection.seccomp_by_path()
    if files is None:
        return {"status": UNKNOWN, "detail": "the seccomp root could not be read"}
    entry = files.get(posixpath.normpath(profile))
    if entry is None:
        detail = "no such file" if inspection.seccomp_root_exists else f"no seccomp root {inspection.seccomp_root}"
        return {"status": MISSING, "detail": detail}
    if entry.sha256 is None:
        return {"status": UNKNOWN, "detail": entry.unread or "the file could not be read"}
    out: dict[str, Any] = {"sha256": entry.sha256, "size": entry.size}
    if entry.problem:
        return {"status": INVALID, "detail": entry.problem, **out}
    return {"status": PRESENT, **out}


def cross_check(refs: list[Reference], nodes: list[dict], inspections: dict[str, NodeInspection],
                blocked: list[Blocked], seccomp_root: str = DEFAULT_SECCOMP_ROOT) -> list[dict[str, Any]]:
    """Per referenced profile: who names it, the nodes where they could land, and its status on each.

    ``nodes``: the Linux nodes in scope (raw objects); ``inspections``: what debug pods read (a node
    missing from it is ``unknown``, unless a blocked pod's message tells); ``blocked``: from
    ``blocked_containers``. ``differs``: present on several landing nodes with different content
    (seccomp sha256) or mode (AppArmor); every node holding a variant is marked.
    """
    by_name = {(n.get("metadata") or {}).get("name"): n for n in nodes}
    evidence: dict[tuple[str, str, str | None], tuple[str, str]] = {}
    for b in blocked:
        if b.node in by_name:
            for ref_type, profile, status in b.evidence():
                evidence.setdefault((b.node, ref_type, profile), (status, f"pod {b.namespace}/{b.pod}: {b.message}"))
    grouped: dict[tuple[str, str], list[Reference]] = {}
    for ref in refs:
        grouped.setdefault((ref.type, ref.profile), []).append(ref)
    out = []
    for (ref_type, profile), group in sorted(grouped.items()):
        entry: dict[str, Any] = {"type": ref_type, "profile": profile, "path": None, "references": [], "nodes": [],
                                 "notes": []}
        if ref_type == SECCOMP:
            entry["path"] = localhost_path(seccomp_root, profile)
            if entry["path"] is None:
                entry["notes"].append("the name leaves the seccomp root: the kubelet refuses it")
        landing: dict[str, None] = {}
        seen: set[tuple[str, str, str, str]] = set()
        for ref in sorted(group, key=lambda r: (r.kind == "Pod", r.kind, r.namespace, r.name)):  # templates first
            key = (ref.kind, ref.namespace, ref.name, ref.container)
            if key in seen:
                continue
            seen.add(key)
            if ref.placement.node_name:  # already placed: no need to look at every node
                lands = [ref.placement.node_name] if ref.placement.node_name in by_name else []
            else:
                lands = [name for name, node in by_name.items() if could_land(ref.placement, node)]
            landing.update(dict.fromkeys(lands))
            item = {"kind": ref.kind, "namespace": ref.namespace, "name": ref.name, "container": ref.container,
                    "source": ref.source, "placement": ref.placement.describe(), "landsOn": lands}
            if ref.placement.pod_affinity:
                item["note"] = "inter-pod affinity is not evaluated: it could land on fewer nodes"
            entry["references"].append(item)
        if not landing:
            entry["notes"].append("no node in scope matches where it could land")
        for node in sorted(landing):
            inspection = inspections.get(node)
            status = _inspected_status(ref_type, profile, inspection) if inspection is not None else \
                {"status": UNKNOWN, "detail": "not inspected"}
            if status["status"] == UNKNOWN:
                found = evidence.get((node, ref_type, profile)) or evidence.get((node, ref_type, None))
                if found is not None:
                    status = {"status": found[0], "detail": found[1], "from": "pod status"}
            entry["nodes"].append({"node": node, **status})
        _mark_differences(entry, ref_type)
        for status_name, key in ((MISSING, "missingOn"), (APPARMOR_DISABLED, "apparmorDisabledOn"),
                                 (INVALID, "invalidOn"), (DIFFERS, "differsOn"), (UNKNOWN, "unknownOn")):
            entry[key] = [n["node"] for n in entry["nodes"] if n["status"] == status_name]
        entry["ok"] = not any(entry[k] for k in ("missingOn", "apparmorDisabledOn", "invalidOn", "differsOn"))
        if ref_type == APPARMOR:
            modes = {n.get("mode") for n in entry["nodes"] if n["status"] == LOADED}
            if modes and not modes & set(ENFORCING_MODES):
                entry["notes"].append(f"loaded in {', '.join(sorted(m for m in modes if m))} mode only: "
                                      "violations are logged, not blocked")
        out.append(entry)
    return out


def _mark_differences(entry: dict[str, Any], ref_type: str) -> None:
    key = "mode" if ref_type == APPARMOR else "sha256"
    good = LOADED if ref_type == APPARMOR else PRESENT
    variants: dict[str, list[str]] = {}
    for n in entry["nodes"]:
        if n["status"] == good:
            variants.setdefault(n[key], []).append(n["node"])
    entry["variants"] = [{key: value, "nodes": names} for value, names in sorted(variants.items())]
    if len(variants) > 1:
        for n in entry["nodes"]:
            if n["status"] == good:
                n["status"] = DIFFERS
        shown = "; ".join(f"{(v[:12] if key == 'sha256' else v)} on {', '.join(names)}"
                          for v, names in sorted(variants.items()))
        entry["notes"].append(f"not the same on every node ({key}): {shown}")


def summarize(profiles: list[dict[str, Any]], blocked: list[Blocked], nodes: int, inspected: int) -> dict[str, int]:
    return {
        "nodes": nodes,
        "inspected": inspected,
        "profiles": len(profiles),
        "profilesWithProblems": sum(1 for p in profiles if not p["ok"]),
        "missing": sum(len(p["missingOn"]) + len(p["apparmorDisabledOn"]) for p in profiles),
        "invalid": sum(len(p["invalidOn"]) for p in profiles),
        "differs": sum(1 for p in profiles if p["differsOn"]),
        "unknown": sum(len(p["unknownOn"]) for p in profiles),
        "blockedPods": len({(b.namespace, b.pod) for b in blocked}),
    }


def exit_code(summary: dict[str, int], errors: int) -> int:
    """2 errors (a node not inspected, a list forbidden); 1 a referenced profile missing, invalid or
    differing where it could land, or a pod blocked for a confinement reason; 0 otherwise."""
    if errors:
        return 2
    if summary["profilesWithProblems"] or summary["blockedPods"]:
        return 1
    return 0
