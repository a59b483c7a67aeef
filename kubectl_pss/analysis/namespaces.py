"""Per-namespace verdicts for audit and simulate, from objects already read from a cluster.

Pure: the caller hands in a namespace object, its pods and workloads, the admission
configuration and the registry that models the cluster's version.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

from ..policy.admission import MODES, AdmissionConfig, NamespacePolicy, resolve_policy
from .findings import Evaluator, Finding, VerdictCache, collect_subjects, findings_at, rejected, strictest_of
from ..policy.levels import Level, Version
from ..policy.registry import Registry


def _labels(namespace: dict) -> dict[str, Any]:
    labels = (namespace.get("metadata") or {}).get("labels")
    return labels if isinstance(labels, dict) else {}


def _name(namespace: dict) -> str:
    return str((namespace.get("metadata") or {}).get("name"))


def policy_version(version: Version, registry: Registry) -> str:
    """The version an evaluation really runs at, e.g. ``v1.30`` for ``latest`` on a 1.30 cluster."""
    return f"v1.{registry.effective_minor(version)}"


def _mode_dict(policy: NamespacePolicy, mode: str) -> dict[str, Any]:
    resolved = policy.mode(mode)
    data: dict[str, Any] = {
        "level": resolved.level.value,
        "version": str(resolved.version),
        "source": "label" if resolved.level_source == "label" else "default",
    }
    if resolved.level_source == "enforce":
        data["followsEnforce"] = True  # no warn label: warn takes the stricter enforce level
    return data


def namespace_notes(results: Iterable["NamespaceAudit | NamespaceSimulation"]) -> list[str]:
    """The per-namespace notes (ownership cycles) as report notes: ``namespace "x": ...``."""
    return [f'namespace "{r.name}": {note}' for r in results for note in r.notes]


@dataclass
class NamespaceAudit:
    name: str
    policy: NamespacePolicy
    exempt: bool
    pods: int
    workloads: int
    exempt_pods: list[str]
    strictest: Level
    violates_enforce: bool
    findings: list[Finding] = field(default_factory=list)
    evaluated_at: str = ""
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "labels": {mode: _mode_dict(self.policy, mode) for mode in MODES},
            "labelErrors": [str(e) for e in self.policy.errors],
            "exempt": self.exempt,
            "pods": self.pods,
            "workloads": self.workloads,
            "exemptPods": self.exempt_pods,
            "strictestLevel": self.strictest.value,
            "evaluatedAt": self.evaluated_at,
            "violatesEnforce": self.violates_enforce,
            "findings": [f.as_dict() for f in self.findings],
            **({"notes": self.notes} if self.notes else {}),
        }


def audit_namespace(
    namespace: dict,
    pods: Iterable[dict],
    workloads: Iterable[dict],
    config: AdmissionConfig,
    registry: Registry,
    verdicts: VerdictCache | None = None,
) -> NamespaceAudit:
    """Where one namespace stands: strictest level passed at its enforce version, and what blocks the next.

    Findings are the violations of the next stricter level; when the namespace's own enforce
    level is violated by what already runs there (admitted before the label), those too.
    """
    name = _name(namespace)
    policy = resolve_policy(_labels(namespace), config.defaults)
    exempt = config.exemptions.namespace_exempt(name)
    subjects = collect_subjects(pods, workloads, config.exemptions)
    evaluator = Evaluator(policy.enforce.version, registry, verdicts)
    strictest = strictest_of(subjects.subjects, evaluator)
    levels: list[Level] = []
    next_level = strictest.stricter()
    if next_level is not None:
        levels.append(next_level)
    enforce = policy.enforce.level
    violates_enforce = not exempt and enforce > strictest
    if violates_enforce and enforce not in levels:
        levels.append(enforce)
    findings = [f for level in levels for f in findings_at(subjects.subjects, level, evaluator)]
    return NamespaceAudit(
        name=name, policy=policy, exempt=exempt, pods=subjects.pods, workloads=subjects.workloads,
        exempt_pods=subjects.exempt_pods, strictest=strictest, violates_enforce=violates_enforce,
        findings=findings, evaluated_at=policy_version(policy.enforce.version, registry), notes=subjects.notes,
    )


@dataclass
class NamespaceSimulation:
    name: str
    exempt: bool
    pods: int
    workloads: int
    exempt_pods: list[str]
    current: str
    findings: list[Finding] = field(default_factory=list)
    server: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def would_reject(self) -> bool:
        return bool(self.findings)

    def rejected_pods(self) -> int:
        return rejected(self.findings)[0]

    def rejected_workloads(self) -> int:
        return rejected(self.findings)[1]

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "name": self.name,
            "exempt": self.exempt,
            "current": self.current,
            "pods": self.pods,
            "workloads": self.workloads,
            "exemptPods": self.exempt_pods,
            "wouldReject": self.would_reject,
            "findings": [f.as_dict() for f in self.findings],
        }
        if self.notes:
            data["notes"] = self.notes
        if self.server is not None:
            data["server"] = self.server
        return data


def simulate_namespace(
    namespace: dict,
    pods: Iterable[dict],
    workloads: Iterable[dict],
    level: Level,
    version: Version,
    mode: str,
    config: AdmissionConfig,
    registry: Registry,
    verdicts: VerdictCache | None = None,
) -> NamespaceSimulation:
    """What setting ``mode`` to level:version on this namespace would flag: every pod and top-level template."""
    name = _name(namespace)
    policy = resolve_policy(_labels(namespace), config.defaults)
    exempt = config.exemptions.namespace_exempt(name)
    subjects = collect_subjects(pods, workloads, config.exemptions)
    findings: list[Finding] = []
    if not exempt:
        findings = findings_at(subjects.subjects, level, Evaluator(version, registry, verdicts))
    return NamespaceSimulation(
        name=name, exempt=exempt, pods=subjects.pods, workloads=subjects.workloads,
        exempt_pods=subjects.exempt_pods, current=str(policy.mode(mode)), findings=findings, notes=subjects.notes,
    )
