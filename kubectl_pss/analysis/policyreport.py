"""A namespace's Pod Security verdicts as a PolicyReport (wgpolicyk8s.io/v1alpha2) or an OpenReports
Report (openreports.io/v1alpha1), and the plan that brings the cluster's reports to them. Pure.

One result per (object, violated check), where the object is the pod's top owner (a Deployment, a
CronJob, a bare pod...) as ``audit`` groups them; a ``pass`` result per compliant owner; a ``skip`` per
exempt namespace or runtimeClass-exempt pod; an ``error`` per policy of a namespace not read to the
end (what was read still gives its ``fail`` results, never a ``pass``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

from ..policy.admission import MODES, AdmissionConfig, resolve_policy
from ..policy.levels import Level, Version
from ..policy.registry import Registry
from .findings import Evaluator, Owner, Subject, VerdictCache, collect_subjects

REPORT_NAME = "kubectl-pss"
SOURCE = "kubectl-pss"
CATEGORY = "Pod Security Standards"
MANAGED_BY = ("app.kubernetes.io/managed-by", "kubectl-pss")
WGPOLICY = "wgpolicyk8s.io/v1alpha2"
OPENREPORTS = "openreports.io/v1alpha1"
REPORT_APIS = (WGPOLICY, OPENREPORTS)
REQUESTED = "requested"  # the mode of --level: the level asked on the command line, not a label's
CLUSTER_POLICY = "pod-security-standards"  # results about the audit itself, not one level
RESULTS = ("pass", "fail", "warn", "error", "skip")


@dataclass(frozen=True)
class ReportKind:
    """The kinds and resources of one report API."""

    api_version: str
    kind: str
    cluster_kind: str
    resource: str
    cluster_resource: str

    @property
    def group(self) -> str:
        return self.api_version.split("/")[0]


KINDS = {
    WGPOLICY: ReportKind(WGPOLICY, "PolicyReport", "ClusterPolicyReport", "policyreports", "clusterpolicyreports"),
    OPENREPORTS: ReportKind(OPENREPORTS, "Report", "ClusterReport", "reports", "clusterreports"),
}


@dataclass(frozen=True)
class Judged:
    """One policy judged in a namespace: a level at a version, for the modes that ask for it."""

    level: Level
    version: Version
    modes: tuple[str, ...]
    enforced: bool  # a violation is also one of the namespace's enforce level (what admission rejects)

    @property
    def policy(self) -> str:
        return f"pod-security-{self.level.value}"

    @property
    def severity(self) -> str:
        return "high" if self.enforced else "medium"


def judged_policies(labels: dict[str, Any], config: AdmissionConfig, level: Level | None) -> list[Judged]:
    """What a namespace is judged at: each distinct level:version of its enforce, audit and warn modes
    (privileged judges nothing), or ``level`` at its enforce version for every namespace."""
    policy = resolve_policy(labels, config.defaults)
    if level is not None:
        if level is Level.PRIVILEGED:
            return []
        return [Judged(level, policy.enforce.version, (REQUESTED,), policy.enforce.level >= level)]
    groups: dict[tuple[Level, Version], list[str]] = {}
    for mode in MODES:
        resolved = policy.mode(mode)
        if resolved.level is not Level.PRIVILEGED:
            groups.setdefault((resolved.level, resolved.version), []).append(mode)
    return [Judged(lvl, version, tuple(modes), "enforce" in modes) for (lvl, version), modes in groups.items()]


def _meta(obj: dict) -> dict:
    meta = obj.get("metadata")
    return meta if isinstance(meta, dict) else {}


class References:
    """Object references (kind, name, namespace, uid, apiVersion) of the owners the findings name."""

    def __init__(self, namespace: str, pods: list[dict], workloads: list[dict]) -> None:
        self.namespace = namespace
        self._refs: dict[tuple[str, str], dict[str, str]] = {}
        for obj in (*pods, *workloads):  # controller references first: the objects themselves override them
            for ref in _meta(obj).get("ownerReferences") or ():
                if isinstance(ref, dict) and ref.get("controller") is True:
                    self._add(ref.get("kind"), ref.get("name"), ref.get("uid"), ref.get("apiVersion"))
        for obj in (*pods, *workloads):
            meta = _meta(obj)
            self._add(obj.get("kind"), meta.get("name"), meta.get("uid"), obj.get("apiVersion"))

    def _add(self, kind: Any, name: Any, uid: Any, api_version: Any) -> None:
        ref = {"apiVersion": str(api_version or ("v1" if kind == "Pod" else "")), "kind": str(kind),
               "name": str(name), "namespace": self.namespace}
        if isinstance(uid, str) and uid:
            ref["uid"] = uid
        self._refs[(str(kind), str(name))] = {k: v for k, v in ref.items() if v}

    def of(self, owner: Owner) -> dict[str, str]:
        """A new dict each time: the reports share no objects (YAML would print anchors)."""
        return dict(self._refs.get((owner.kind, owner.name)) or {"kind": owner.kind, "name": owner.name,
                                                            "namespace": self.namespace})


@dataclass
class _Failure:
    owner: Owner
    check: str
    messages: list[str] = field(default_factory=list)
    pods: set[str] = field(default_factory=set)
    template: bool = False


def _properties(judged: Judged, effective: str, owner: Owner | None = None, **extra: str) -> dict[str, str]:
    props = {"level": judged.level.value, "version": effective, "mode": ",".join(judged.modes)}
    if owner is not None:
        props["owner"] = str(owner)
    return {**props, **extra}


def judge(subjects: list[Subject], judged: Judged, evaluator: Evaluator, effective: str, refs: References,
          complete: bool, timestamp: dict[str, int]) -> list[dict[str, Any]]:
    """The fail results (one per owner and violated check) and, when ``complete``, a pass per compliant owner."""
    failures: dict[tuple[Owner, str], _Failure] = {}
    owners: dict[Owner, bool] = {}  # owner -> every subject passes
    for subject in subjects:
        result = evaluator.result(subject, judged.level)
        owners[subject.owner] = owners.get(subject.owner, True) and result.allowed
        for violation in result.violations:
            failure = failures.setdefault((subject.owner, violation.check), _Failure(subject.owner, violation.check))
            message = f"{violation.reason}: {violation.detail}" if violation.detail else violation.reason
            if message not in failure.messages:
                failure.messages.append(message)
            if subject.is_template:
                failure.template = True
            else:
                failure.pods.add(subject.name)
    base = {"source": SOURCE, "category": CATEGORY, "policy": judged.policy, "timestamp": dict(timestamp)}
    results = []
    for (owner, check), failure in sorted(failures.items()):
        results.append({**base, "rule": check, "result": "fail", "severity": judged.severity,
                        "message": "; ".join(failure.messages), "resources": [refs.of(owner)],
                        "properties": _properties(judged, effective, owner, pods=str(len(failure.pods)),
                                                  template=str(failure.template).lower())})
    if complete:
        for owner in sorted(o for o, passes in owners.items() if passes):
            results.append({**base, "result": "pass", "severity": judged.severity,
                            "message": f"passes {judged.level.value}:{effective}", "resources": [refs.of(owner)],
                            "properties": _properties(judged, effective, owner)})
    return results


def namespace_results(namespace: dict, pods: Iterable[dict], workloads: Iterable[dict], config: AdmissionConfig,
                      registry: Registry, verdicts: VerdictCache | None, incomplete: list[str], level: Level | None,
                      timestamp: dict[str, int]) -> list[dict[str, Any]]:
    """Every result of one namespace (see the module's docstring)."""
    meta = _meta(namespace)
    name = str(meta.get("name"))
    labels = meta.get("labels") if isinstance(meta.get("labels"), dict) else {}
    pods, workloads = list(pods), list(workloads)
    subjects = collect_subjects(pods, workloads, config.exemptions)
    refs = References(name, pods, workloads)
    exempt = config.exemptions.namespace_exempt(name)
    results: list[dict[str, Any]] = []
    for judged in judged_policies(labels, config, level):
        effective = f"v1.{registry.effective_minor(judged.version)}"
        base = {"source": SOURCE, "category": CATEGORY, "policy": judged.policy, "severity": judged.severity,
                "timestamp": dict(timestamp)}
        if exempt:
            results.append({**base, "result": "skip", "resources": [namespace_ref(namespace)],
                            "message": f'namespace "{name}" is exempt from PodSecurity (AdmissionConfiguration)',
                            "properties": _properties(judged, effective)})
            continue
        evaluator = Evaluator(judged.version, registry, verdicts)
        results += judge(subjects.subjects, judged, evaluator, effective, refs, not incomplete, timestamp)
        for pod in subjects.exempt_pods:
            results.append({**base, "result": "skip", "resources": [refs.of(Owner("Pod", pod))],
                            "message": "runtimeClassName is exempt from PodSecurity (AdmissionConfiguration)",
                            "properties": _properties(judged, effective, Owner("Pod", pod))})
        if incomplete:
            results.append({**base, "result": "error", "resources": [namespace_ref(namespace)],
                            "message": "not read to the end, so not judged in full: " + "; ".join(incomplete),
                            "properties": _properties(judged, effective)})
    if incomplete and not any(r["result"] == "error" for r in results):  # privileged: nothing judged, still unread
        results.append({"source": SOURCE, "category": CATEGORY, "policy": CLUSTER_POLICY, "result": "error",
                        "severity": "high", "timestamp": dict(timestamp), "resources": [namespace_ref(namespace)],
                        "message": "not read to the end: " + "; ".join(incomplete)})
    return results


def namespace_ref(namespace: dict) -> dict[str, str]:
    meta = _meta(namespace)
    ref = {"apiVersion": "v1", "kind": "Namespace", "name": str(meta.get("name"))}
    if isinstance(meta.get("uid"), str) and meta["uid"]:
        ref["uid"] = meta["uid"]
    return ref


def summary(results: list[dict[str, Any]]) -> dict[str, int]:
    counts = dict.fromkeys(RESULTS, 0)
    for result in results:
        counts[result["result"]] += 1
    return counts


def report(api: str, results: list[dict[str, Any]], namespace: str | None = None) -> dict[str, Any]:
    """A namespaced report (``namespace``) or the cluster-scoped one (None), named ``kubectl-pss``."""
    kind = KINDS[api]
    metadata: dict[str, Any] = {"name": REPORT_NAME}
    if namespace is not None:
        metadata["namespace"] = namespace
    metadata["labels"] = {MANAGED_BY[0]: MANAGED_BY[1]}
    doc: dict[str, Any] = {"apiVersion": api, "kind": kind.kind if namespace is not None else kind.cluster_kind,
                           "metadata": metadata}
    if api == OPENREPORTS:
        doc["source"] = SOURCE
    doc["summary"] = summary(results)
    doc["results"] = results
    return doc


def cluster_results(reasons: list[str], timestamp: dict[str, int]) -> list[dict[str, Any]]:
    """The cluster-scoped report's results: one error per read failure no namespace's report can hold."""
    return [{"source": SOURCE, "category": CATEGORY, "policy": CLUSTER_POLICY, "result": "error",
             "severity": "high", "message": reason, "timestamp": dict(timestamp)} for reason in reasons]


def is_managed(obj: dict) -> bool:
    labels = _meta(obj).get("labels")
    return isinstance(labels, dict) and labels.get(MANAGED_BY[0]) == MANAGED_BY[1]


@dataclass(frozen=True)
class Action:
    """One write of the plan: ``create`` or ``update`` a desired report, ``delete`` a stale managed one."""

    verb: str
    kind: str
    namespace: str | None
    name: str
    body: dict[str, Any] | None = None  # create/update: the report; update keeps the existing metadata
    uid: str | None = None  # update/delete: the object read (its resourceVersion is the precondition)
    resource_version: str | None = None

    def describe(self) -> str:
        where = f" -n {self.namespace}" if self.namespace else ""
        return f"{self.kind.lower()} {self.name}{where}"


def plan(desired: list[dict[str, Any]], existing: list[dict[str, Any]], scope: set[str] | None,
         whole_cluster: bool) -> list[Action]:
    """The writes that turn ``existing`` (the managed reports read, namespaced and cluster-scoped) into
    ``desired``: create what is missing, update what is there (keeping its other labels and annotations),
    delete managed reports no longer desired in the audited namespaces (``scope``; None: every namespace)
    and a stale cluster-scoped one. Objects not labelled as managed by kubectl-pss are never in the plan.
    The cluster-scoped report is only planned by a ``whole_cluster`` run: it holds the read errors of
    every namespace, which a narrower run did not look at."""
    by_key = {(_meta(o).get("namespace"), _meta(o).get("name")): o for o in existing if is_managed(o)}
    actions: list[Action] = []
    for doc in desired:
        meta = doc["metadata"]
        key = (meta.get("namespace"), meta["name"])
        if key[0] is None and not whole_cluster:
            continue
        current = by_key.pop(key, None)
        if current is None:
            actions.append(Action("create", doc["kind"], key[0], key[1], doc))
            continue
        old = _meta(current)
        body = {**doc, "metadata": {**meta, "resourceVersion": old.get("resourceVersion"),
                                    "labels": {**(old.get("labels") or {}), **meta["labels"]},
                                    **({"annotations": old["annotations"]} if old.get("annotations") else {})}}
        actions.append(Action("update", doc["kind"], key[0], key[1], body, old.get("uid"), old.get("resourceVersion")))
    for (namespace, name), stale in sorted(by_key.items(), key=lambda item: (item[0][0] or "", item[0][1])):
        if (whole_cluster if namespace is None else scope is None or namespace in scope):
            old = _meta(stale)
            actions.append(Action("delete", str(stale.get("kind")), namespace, name, None, old.get("uid"),
                                  old.get("resourceVersion")))
    return actions


def cluster_report_left_alone(desired: list[dict[str, Any]], existing: list[dict[str, Any]]) -> str | None:
    """What a run that did not cover every namespace says about the cluster-scoped report it leaves alone."""
    if not any("namespace" not in _meta(d) for d in desired + [o for o in existing if is_managed(o)]):
        return None
    return ("the cluster-scoped report kubectl-pss is left alone: only a run over every namespace (-A without -l "
            "or --exclude-namespace) writes or deletes it; this run's cluster-wide read errors are on stderr")
