"""Propose a cluster-wide PodSecurity configuration from what already runs: the strictest enforce
default the cluster passes and the smallest namespace exemption list that keeps every existing pod
and workload admitted, with a reason for each (``kubectl pss admission-config --from-cluster``).

Pure: namespaces, pods and workloads as read; no I/O.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..policy.admission import (
    AdmissionDefaults,
    Exemptions,
    ModePolicy,
    level_label,
    resolve_policy,
)
from .findings import Evaluator, Finding, SubjectSet, collect_subjects, findings_at
from ..policy.levels import LATEST, Level, Version, level_version
from ..policy.registry import Registry

AUDIT_WARN_DEFAULT = ModePolicy(Level.RESTRICTED, LATEST)
FORCED_REASON = "requested with --exempt-namespace"


@dataclass
class ProposedExemption:
    namespace: str
    reason: str
    policy: str | None = None  # the enforce policy that would reject its pods ("baseline:v1.34")
    source: str = "default"  # "default": the proposed default; "label": its own enforce label; "requested"
    findings: list[Finding] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"namespace": self.namespace, "reason": self.reason, "policy": self.policy, "source": self.source,
                "findings": [f.as_dict() for f in self.findings]}


@dataclass
class Proposal:
    defaults: AdmissionDefaults
    exemptions: list[ProposedExemption]
    reasons: dict[str, str]  # mode -> why this default
    governed: list[str]  # namespaces without an enforce label: the default applies to them
    notes: list[str] = field(default_factory=list)

    def exempt_namespaces(self) -> list[str]:
        return [e.namespace for e in self.exemptions]


def owners_phrase(findings: list[Finding], limit: int = 3) -> str:
    """``DaemonSet/cilium (privileged, host namespaces), Pod/etcd-node1 (...)`` (first ``limit`` owners)."""
    by_owner: dict[str, list[str]] = {}
    for finding in findings:
        reasons = by_owner.setdefault(str(finding.owner), [])
        for violation in finding.violations:
            if violation.reason not in reasons:
                reasons.append(violation.reason)
    items = [f"{owner} ({', '.join(reasons)})" for owner, reasons in by_owner.items()]
    shown = ", ".join(items[:limit])
    return shown if len(items) <= limit else f"{shown} and {len(items) - limit} more"


class _Namespaces:
    """Subjects per namespace and evaluators per version, shared by every candidate default."""

    def __init__(self, namespaces: list[dict], pods: dict[str, list[dict]], workloads: dict[str, list[dict]],
                 exemptions: Exemptions, registry: Registry) -> None:
        self.registry = registry
        self.labels: dict[str, dict] = {}
        self.subjects: dict[str, SubjectSet] = {}
        for ns in namespaces:
            name = ns["metadata"]["name"]
            labels = ns["metadata"].get("labels")
            self.labels[name] = labels if isinstance(labels, dict) else {}
            self.subjects[name] = collect_subjects(pods.get(name, []), workloads.get(name, []), exemptions)
        self._evaluators: dict[Version, Evaluator] = {}

    def rejected(self, name: str, defaults: AdmissionDefaults) -> tuple[ModePolicy, list[Finding]]:
        """The enforce policy a namespace gets under these defaults, and what of its pods and templates it rejects."""
        policy = resolve_policy(self.labels[name], defaults).enforce
        if policy.level is Level.PRIVILEGED:
            return policy, []
        evaluator = self._evaluators.get(policy.version)
        if evaluator is None:
            evaluator = self._evaluators[policy.version] = Evaluator(policy.version, self.registry)
        return policy, findings_at(self.subjects[name].subjects, policy.level, evaluator)


def propose_config(namespaces: list[dict], pods: dict[str, list[dict]], workloads: dict[str, list[dict]],
                   registry: Registry, enforce_version: Version, exemptions: Exemptions = Exemptions(),
                   requested_namespaces: list[str] = ()) -> Proposal:  # type: ignore[assignment]
    """The proposal: enforce default restricted if that needs no more exemptions than baseline, else
    baseline (never privileged: that is no enforcement at all); audit and warn restricted:latest
    (they never reject). A namespace is exempted when the enforce policy it would get (the default,
    or its own enforce label) rejects one of its pods or workload templates.
    """
    view = _Namespaces(namespaces, pods, workloads, exemptions, registry)
    requested = list(dict.fromkeys(requested_namespaces))
    candidates: dict[Level, dict[str, tuple[ModePolicy, list[Finding]]]] = {}
    for level in (Level.RESTRICTED, Level.BASELINE):
        defaults = AdmissionDefaults(ModePolicy(level, enforce_version), AUDIT_WARN_DEFAULT, AUDIT_WARN_DEFAULT)
        rejected = {}
        for name in view.labels:
            if name in requested:
                continue
            policy, findings = view.rejected(name, defaults)
            if findings:
                rejected[name] = (policy, findings)
        candidates[level] = rejected
    extra = sorted(set(candidates[Level.RESTRICTED]) - set(candidates[Level.BASELINE]))
    chosen = Level.RESTRICTED if not extra else Level.BASELINE
    enforce = ModePolicy(chosen, enforce_version)
    governed = [name for name, labels in view.labels.items() if level_label("enforce") not in labels]
    proposed: list[ProposedExemption] = [ProposedExemption(name, FORCED_REASON, source="requested") for name in requested]
    for name, (policy, findings) in sorted(candidates[chosen].items()):
        labelled = policy.level_source == "label"
        if labelled:
            reason = (f"its own enforce label ({level_version(policy.level, policy.version)}) rejects "
                      f"{owners_phrase(findings)}; fixing those or the label (kubectl pss label) makes this "
                      "exemption unnecessary")
        else:
            reason = f"the enforce default {level_version(policy.level, policy.version)} would reject {owners_phrase(findings)}"
        proposed.append(ProposedExemption(name, reason, str(policy), "label" if labelled else "default", findings))
    where = f"at {enforce_version}" if not enforce_version.is_latest else "at latest"
    if chosen is Level.RESTRICTED:
        enforce_reason = (f"every namespace without an enforce label passes restricted {where}, "
                          "apart from the exemptions below")
    else:
        rejected = "; ".join(f"{owners_phrase(candidates[Level.RESTRICTED][n][1], 2)} in {n}" for n in extra[:3])
        more = f"; and more in {len(extra) - 3} other namespace(s)" if len(extra) > 3 else ""
        enforce_reason = (f"restricted {where} would also reject {rejected}{more}; "
                          "baseline needs no exemption beyond those below")
    if not enforce_version.is_latest:
        enforce_reason += f"; the version is pinned to {enforce_version} so an upgrade cannot tighten enforcement unnoticed"
    reasons = {
        "enforce": enforce_reason,
        "audit": "audit never rejects: restricted:latest records everything short of restricted, new checks included",
        "warn": "warn never rejects: restricted:latest tells users what keeps their workloads from restricted",
    }
    return Proposal(AdmissionDefaults(enforce, AUDIT_WARN_DEFAULT, AUDIT_WARN_DEFAULT), proposed, reasons, governed)


__all__ = ["Proposal", "ProposedExemption", "owners_phrase", "propose_config"]
