"""Plan a change of namespaces' pod-security labels: the patch, the policy before and after, what the
new enforce level would reject, and what the API server's own dry run should answer.

Pure: the caller hands in the namespace as read, its pods and workloads, the admission
configuration and the registry; ``kubectl pss label`` (and its ``--undo``) sends the patches.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterable

from ..policy.admission import (
    MODES,
    POD_SECURITY_LABELS,
    AdmissionConfig,
    ModePolicy,
    NamespacePolicy,
    level_label,
    namespace_dry_run,
    resolve_policy,
    version_label,
)
from ..policy.evaluate import evaluate_pod
from .findings import Finding, VerdictCache, rejected
from ..policy.helpers import go_quote
from ..policy.levels import Level, Version, level_version
from .namespaces import policy_version, simulate_namespace
from ..policy.registry import Registry, without_overrides

# What a namespace's plan says will happen to it.
CHANGE = "change"  # its pod-security labels change
UNCHANGED = "unchanged"  # the labels already have the requested values
EXEMPT = "exempt"  # exempt in the admission configuration: skipped
REFUSED = "refused"  # the new enforce level rejects what runs there (no --force)
CHANGED_SINCE = "changed-since"  # undo: the labels are not what the undo file says was applied (no --force)

TRUNCATED_PREFIX = "new PodSecurity enforce level only checked against"


@dataclass(frozen=True, slots=True)
class LabelRequest:
    """What ``--enforce/--audit/--warn L[:V]`` ask for; a version None leaves the ``-version`` label alone.

    With ``stage``, the enforce target goes to audit and warn instead, and enforce stays as it is.
    """

    enforce: tuple[Level, Version | None] | None = None
    audit: tuple[Level, Version | None] | None = None
    warn: tuple[Level, Version | None] | None = None
    stage: bool = False

    def mode(self, name: str) -> tuple[Level, Version | None] | None:
        return getattr(self, name)

    def as_dict(self) -> dict[str, Any]:
        def text(value: tuple[Level, Version | None] | None) -> str | None:
            if value is None:
                return None
            return value[0].value if value[1] is None else level_version(value[0], value[1])

        return {"enforce": text(self.enforce), "audit": text(self.audit), "warn": text(self.warn), "stage": self.stage}


def pod_security_labels(labels: dict[str, Any] | None) -> dict[str, Any]:
    """Only the pod-security.kubernetes.io keys of a label map, in the canonical order."""
    labels = labels or {}
    return {key: labels[key] for key in POD_SECURITY_LABELS if key in labels}


def stage_target(labels: dict[str, Any], request: LabelRequest, config: AdmissionConfig) -> tuple[Level, Version] | None:
    """The enforce policy ``request`` aims at, as it would resolve on this namespace (for ``--stage``)."""
    if request.enforce is None:
        return None
    level, version = request.enforce
    if version is None:
        version = resolve_policy({**labels, level_label("enforce"): level.value}, config.defaults).enforce.version
    return level, version


def desired_labels(labels: dict[str, Any], request: LabelRequest, config: AdmissionConfig) -> dict[str, str]:
    """The pod-security label values the request sets on a namespace with these labels."""
    desired: dict[str, str] = {}
    for mode in MODES:
        value = request.mode(mode)
        if value is None or (request.stage and mode == "enforce"):
            continue
        desired[level_label(mode)] = value[0].value
        if value[1] is not None:
            desired[version_label(mode)] = str(value[1])
    target = stage_target(labels, request, config) if request.stage else None
    if target is not None:
        for mode in ("audit", "warn"):
            desired[level_label(mode)] = target[0].value
            desired[version_label(mode)] = str(target[1])
    return desired


def label_patch(labels: dict[str, Any], desired: dict[str, str | None]) -> dict[str, str | None]:
    """The merge-patch label map that turns ``labels`` into ``desired`` (None removes a key), in canonical order."""
    order = {key: i for i, key in enumerate(POD_SECURITY_LABELS)}
    changed = {key: value for key, value in desired.items() if labels.get(key) != value}
    return dict(sorted(changed.items(), key=lambda kv: order.get(kv[0], len(order))))


def apply_patch(labels: dict[str, Any], patch: dict[str, str | None]) -> dict[str, Any]:
    new = dict(labels)
    for key, value in patch.items():
        if value is None:
            new.pop(key, None)
        else:
            new[key] = value
    return new


def _same(a: ModePolicy, b: ModePolicy) -> bool:
    return a.level == b.level and a.version == b.version


def server_skip_reason(old: ModePolicy, new: ModePolicy) -> str | None:
    """Why the API server checks no existing pods on this enforce change (upstream's rules), or None."""
    if _same(old, new):
        return "the enforce policy does not change, so the server checks nothing"
    if new.level is Level.PRIVILEGED:
        return "the new enforce level is privileged, so the server checks nothing"
    if old.version == new.version and not new.level > old.level:
        return "the enforce level does not get stricter, so the server checks nothing"
    return None


def exempt_namespace_warning(name: str, policy: NamespacePolicy, labels: dict[str, Any],
                             config: AdmissionConfig) -> list[str]:
    """The one warning the server gives instead of a dry run when the namespace is exempt."""
    if policy.fully_privileged:
        return []
    if all(_same(policy.mode(m), config.defaults.mode(m)) for m in MODES):
        return []
    modes = [f"{m}={policy.mode(m)}" for m in MODES
             if policy.mode(m).level is not Level.PRIVILEGED and (level_label(m) in labels or version_label(m) in labels)]
    if not modes:
        return []
    return [f"namespace {go_quote(name)} is exempt from Pod Security, and the policy ({', '.join(modes)}) will be ignored"]


def expected_server_warnings(name: str, old: NamespacePolicy, new: NamespacePolicy, new_labels: dict[str, Any],
                             pods: Iterable[dict], exempt: bool, config: AdmissionConfig,
                             registry: Registry, verdicts: VerdictCache | None = None,
                             ) -> tuple[list[str], str | None, dict[str, list[str]]]:
    """The Warning headers a namespace update should get from PodSecurity admission, a note when it
    checks nothing, and the pods the new enforce level rejects with their reasons: as this engine words
    them, then as PodSecurity before v1.25 did (no check overrides). With ``verdicts`` (of ``registry``)
    equal pods are evaluated once."""
    skip = server_skip_reason(old.enforce, new.enforce)
    if skip is not None:
        return [], skip, {}
    if exempt:
        return (exempt_namespace_warning(name, new, new_labels, config),
                "the namespace is exempt, so the server checks no pods", {})
    pods = list(pods)
    level, version = new.enforce.level, new.enforce.version
    old_style = without_overrides(registry)
    if verdicts is not None and verdicts.registry is registry:
        outcome = namespace_dry_run(name, pods, level, version, config.exemptions, registry,
                                    result=lambda pod: verdicts.result(pod, level, version))
        old_verdicts = verdicts.of(old_style)
        old_reasons = lambda pod: old_verdicts.result(pod, level, version).reasons()  # noqa: E731
    else:
        outcome = namespace_dry_run(name, pods, level, version, config.exemptions, registry)
        old_reasons = lambda pod: evaluate_pod(pod.get("metadata"), pod.get("spec"), level, version,  # noqa: E731
                                               old_style).reasons()
    rejected: dict[str, list[str]] = {}
    for pod in pods:
        pod_name = str((pod.get("metadata") or {}).get("name", ""))
        if pod_name in outcome.rejected:
            before_1_25 = old_reasons(pod)
            rejected[pod_name] = [outcome.rejected[pod_name], before_1_25]
    return outcome.warnings, None, rejected


_VIOLATION_HEADER = "existing pods in namespace "
# "NAME: reasons", "NAME (and 1 other pod): reasons", "NAME (and N other pods): reasons"
_POD_GROUP = re.compile(r"(?P<pod>[^\s:]+)(?: \(and (?P<others>[0-9]+) other pods?\))?: (?P<reasons>.+)")


@dataclass(frozen=True, slots=True)
class DryRunVerdict:
    """What a namespace dry run's warnings decide: the lines saying that (and at which level) existing
    pods violate, each group's named pod with its reasons, how many pods the groups hold, other warnings."""

    headers: tuple[str, ...]
    named: dict[str, str]
    pods: int
    other: tuple[str, ...]


def dry_run_verdict(warnings: list[str]) -> DryRunVerdict:
    """Read namespace dry-run warnings (upstream's wording of any version) as a verdict."""
    headers: list[str] = []
    named: dict[str, str] = {}
    pods = 0
    other: list[str] = []
    for warning in warnings:
        group = _POD_GROUP.fullmatch(warning)
        if warning.startswith((_VIOLATION_HEADER, TRUNCATED_PREFIX)):
            headers.append(warning)
        elif group is not None:
            named[group["pod"]] = group["reasons"]
            pods += 1 + int(group["others"] or 0)
        else:
            other.append(warning)
    return DryRunVerdict(tuple(headers), named, pods, tuple(sorted(other)))


def _reasons_key(reasons: str) -> tuple[str, ...]:
    """Reasons in any order, repeats kept (a repeat is a check that ran twice, not wording)."""
    return tuple(sorted(reasons.split(", ")))


def wording_note(server_version: str | None, server_minor: int | None) -> str:
    """The note for a dry run that agrees on the verdict, worded differently."""
    who = f"the API server {server_version}" if server_version else "the API server"
    note = f"{who} words its warnings differently but rejects the same pods for the same reasons"
    if server_minor is not None and server_minor < 25:
        note += (" (PodSecurity before v1.25 has no check overrides: restricted runs the baseline checks too, so "
                 "it lists e.g. seccompProfile twice for an explicit Unconfined profile and groups those pods apart)")
    return note


def compare_server_warnings(server: list[str], expected: list[str], rejected: dict[str, list[str]] | None = None,
                            server_version: str | None = None,
                            server_minor: int | None = None) -> tuple[bool, str | None]:
    """Whether the server's dry run says what the engine expects, and a note on how far.

    The verdict must agree: whether (and at which level) existing pods violate, how many pods, and for
    each pod the server names, that the engine rejects it for the same reasons (``rejected``: pod ->
    the engine's reasons, then pre-v1.25 reasons, accepted from a server before v1.25 only). Grouping
    and order are wording: they agree, with a note naming the server version. The server's 1 s budget
    is allowed for."""
    if server == expected:
        return True, None
    truncated = any(w.startswith(TRUNCATED_PREFIX) for w in server)
    if truncated and not any(w.startswith(TRUNCATED_PREFIX) for w in expected):
        return (set(server[1:]) <= set(expected) | {server[0]},
                "the server stopped early (its 1 s budget); compared the pods it checked only")
    got, want = dry_run_verdict(server), dry_run_verdict(expected)
    if rejected is None:
        rejected = {pod: [reasons] for pod, reasons in want.named.items()}
    old_wording = server_minor is not None and server_minor < 25
    if got.headers != want.headers or got.other != want.other or got.pods != want.pods:
        return False, None
    for pod, reasons in got.named.items():
        accepted = rejected.get(pod, [])[:2 if old_wording else 1]
        if _reasons_key(reasons) not in {_reasons_key(r) for r in accepted}:
            return False, None
    return True, wording_note(server_version, server_minor)


def _policy_dict(policy: NamespacePolicy) -> dict[str, str]:
    return {mode: str(policy.mode(mode)) for mode in MODES}


@dataclass
class NamespacePlan:
    """What changing one namespace's labels would do."""

    name: str
    action: str
    labels: dict[str, Any]  # all labels as read
    current: dict[str, Any]  # pod-security labels as read
    new: dict[str, Any]  # pod-security labels after the patch
    patch: dict[str, str | None]
    old_policy: NamespacePolicy
    new_policy: NamespacePolicy
    exempt: bool
    resource_version: str | None
    enforce_change: bool
    checked: str | None = None  # "level:version" the findings are at
    evaluated_at: str | None = None
    pods: int = 0
    workloads: int = 0
    exempt_pods: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    forced: bool = False
    notes: list[str] = field(default_factory=list)
    expected_warnings: list[str] = field(default_factory=list)  # expect_server: when the server is asked
    expected_note: str | None = None
    expected_rejected: dict[str, list[str]] = field(default_factory=dict)  # pod -> reasons (expected_server_warnings)
    changed_since: dict[str, dict[str, Any]] = field(default_factory=dict)  # undo: key -> {expected, current}
    server: dict[str, Any] | None = None
    result: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "name": self.name,
            "action": self.action,
            "exempt": self.exempt,
            "resourceVersion": self.resource_version,
            "labels": {"current": self.current, "new": self.new},
            "patch": self.patch,
            "policy": {"current": _policy_dict(self.old_policy), "new": _policy_dict(self.new_policy)},
            "enforceChange": self.enforce_change,
            "checkedAt": self.checked,
            "evaluatedAt": self.evaluated_at,
            "pods": self.pods,
            "workloads": self.workloads,
            "exemptPods": self.exempt_pods,
            "wouldReject": bool(self.findings) and self.enforce_change,
            "findings": [f.as_dict() for f in self.findings],
            "forced": self.forced,
            "notes": self.notes,
        }
        if self.changed_since:
            data["changedSince"] = self.changed_since
        if self.server is not None:
            data["server"] = self.server
        if self.result is not None:
            data["result"] = self.result
        return data


def plan_namespace(
    namespace: dict,
    pods: list[dict],
    workloads: list[dict],
    desired: dict[str, str | None],
    config: AdmissionConfig,
    registry: Registry,
    *,
    force: bool = False,
    stage: tuple[Level, Version] | None = None,
    skip_exempt: bool = True,
    expected_current: dict[str, Any] | None = None,
    read_errors: list[str] = (),  # type: ignore[assignment]
    refuse_violations: bool = True,
    verdicts: VerdictCache | None = None,
) -> NamespacePlan:
    """Plan setting ``desired`` (pod-security key -> value, None = remove) on one namespace.

    Refuses (unless ``force``) an enforce change that existing pods or workload templates
    violate, any change to a namespace not read to the end (``read_errors``), and (undo) a namespace whose labels are not
    ``expected_current`` any more. ``stage`` is the enforce target that audit/warn are set to:
    its findings are shown, never refused. ``refuse_violations`` False (undo: restoring what was
    there before) shows what the enforce level rejects without refusing.
    """
    meta = namespace.get("metadata") or {}
    name = str(meta.get("name"))
    labels = meta.get("labels") if isinstance(meta.get("labels"), dict) else {}
    patch = label_patch(labels, desired)
    new_labels = apply_patch(labels, patch)
    old_policy = resolve_policy(labels, config.defaults)
    new_policy = resolve_policy(new_labels, config.defaults)
    exempt = config.exemptions.namespace_exempt(name)
    enforce_change = not _same(old_policy.enforce, new_policy.enforce)
    plan = NamespacePlan(
        name=name, action=CHANGE if patch else UNCHANGED, labels=labels, current=pod_security_labels(labels),
        new=pod_security_labels(new_labels), patch=patch, old_policy=old_policy, new_policy=new_policy, exempt=exempt,
        resource_version=meta.get("resourceVersion"), enforce_change=enforce_change,
    )
    if expected_current is not None:
        plan.changed_since = {key: {"expected": value, "current": labels.get(key)}
                              for key, value in expected_current.items() if labels.get(key) != value}
    target: tuple[Level, Version] | None = None
    if enforce_change and new_policy.enforce.level is not Level.PRIVILEGED:
        target = (new_policy.enforce.level, new_policy.enforce.version)
    elif stage is not None and patch:
        target = stage
    simulation = simulate_namespace(namespace, pods, workloads, target[0] if target else Level.PRIVILEGED,
                                    target[1] if target else new_policy.enforce.version, "enforce", config, registry,
                                    verdicts)
    plan.pods, plan.workloads, plan.exempt_pods = simulation.pods, simulation.workloads, simulation.exempt_pods
    plan.notes += simulation.notes
    if target is not None and not exempt:
        plan.checked = level_version(*target)
        plan.evaluated_at = policy_version(target[1], registry)
        plan.findings = simulation.findings
    if not patch:
        return plan
    if plan.changed_since:
        refuse_unless(plan, force, f"changed since the undo file was written ({', '.join(plan.changed_since)})",
                       "not restored without --force", CHANGED_SINCE, "restoring anyway")
        if plan.action == CHANGED_SINCE:
            return plan
    if exempt and skip_exempt:
        plan.action = EXEMPT
        plan.notes.append("exempt in the admission configuration: Pod Security ignores its labels; skipped")
        return plan
    if exempt:
        plan.notes.append("exempt in the admission configuration: Pod Security ignores its labels")
    blocking = enforce_change and stage is None and new_policy.enforce.level is not Level.PRIVILEGED and not exempt
    if blocking and plan.findings and not refuse_violations:
        plan.notes.append(f"{_violators(plan)} violate {plan.checked}, the enforce level being restored")
    elif blocking and plan.findings:
        refuse_unless(plan, force, f"{_violators(plan)} violate {plan.checked}",
                       "use --stage to set audit and warn first, or --force")
    if read_errors and refuse_violations:  # any change to a namespace not read to the end is blind
        refuse_unless(plan, force, f"could not read everything in it ({'; '.join(read_errors)}), so "
                       + ("the new enforce level is unverified" if blocking else "what the new labels flag is unverified"),
                       "not applied without --force")
    return plan


def expect_server(plan: NamespacePlan, pods: Iterable[dict], config: AdmissionConfig, registry: Registry,
                  verdicts: VerdictCache | None = None) -> None:
    """Fill in what the API server's dry run of the plan's patch should answer (``expected_server_warnings``
    over the namespace's pods), before it is asked."""
    plan.expected_warnings, plan.expected_note, plan.expected_rejected = expected_server_warnings(
        plan.name, plan.old_policy, plan.new_policy, apply_patch(plan.labels, plan.patch), pods, plan.exempt,
        config, registry, verdicts)


def refuse_unless(plan: NamespacePlan, force: bool, what: str, hint: str, action: str = REFUSED,
                   anyway: str = "enforcing anyway") -> None:
    """With ``force`` the plan goes ahead, noted; without it, it becomes ``action`` (``hint`` says why)."""
    if force:
        plan.forced = True
        plan.notes.append(f"{what}; {anyway} (--force)")
    else:
        plan.action = action
        plan.notes.append(f"{what}; {hint}")


def _violators(plan: NamespacePlan) -> str:
    pods, workloads = rejected(plan.findings)
    return f"{pods} existing pod(s) and {workloads} workload template(s)"


__all__ = [
    "CHANGE", "CHANGED_SINCE", "DryRunVerdict", "EXEMPT", "LabelRequest", "NamespacePlan", "REFUSED", "UNCHANGED",
    "apply_patch", "compare_server_warnings", "desired_labels", "dry_run_verdict", "expect_server",
    "expected_server_warnings",
    "label_patch", "plan_namespace", "pod_security_labels", "server_skip_reason", "stage_target", "wording_note",
]
