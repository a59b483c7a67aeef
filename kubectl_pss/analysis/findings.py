"""Evaluate a namespace's pods and workload templates and group the violations by owning workload.

Pure: takes the objects as read from the API (already defaulted) and returns findings.
Pods are followed up their controller chain (Pod -> ReplicaSet -> Deployment, Pod -> Job ->
CronJob, ...) to the top owner we hold; a bare pod, or a static (mirror) pod owned by a
Node, is its own owner. Templates are evaluated for top-level workloads only: a ReplicaSet
run by a Deployment is covered by the Deployment's template and its own pods.
"""
from __future__ import annotations

import marshal
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Iterable

from ..policy.admission import Exemptions
from ..policy.checks.restricted_volumes import ALLOWED_SOURCES
from ..policy.evaluate import Result, Violation, evaluate
from ..policy.levels import LEVELS, Level, Version
from ..policy.objects import TEMPLATE_PATHS, InvalidObjectError, pod_template
from ..policy.registry import DEFAULT_REGISTRY, Registry
from ..policy.schema import identity_clean, type_errors

_MARSHAL_VERSION = 2  # no back-references: equal values give equal bytes whatever objects they share
_REF_FIELDS = ("apiVersion", "kind", "name", "uid", "controller")  # of a controller reference, what is read


@dataclass(frozen=True, slots=True, order=True)
class Owner:
    kind: str
    name: str

    def __str__(self) -> str:
        return f"{self.kind}/{self.name}"


def _meta(obj: dict) -> dict:
    meta = obj.get("metadata")
    return meta if isinstance(meta, dict) else {}


def controller_ref(obj: dict) -> dict | None:
    for ref in _meta(obj).get("ownerReferences") or ():
        if isinstance(ref, dict) and ref.get("controller") is True:
            return ref
    return None


class OwnerIndex:
    """Workloads by uid, to walk controller references up to the top owner.

    Workloads whose controller references form a cycle (which no real controller makes, but a hostile
    or broken cluster can) are each their own top owner: otherwise no template of the cycle would be
    evaluated, as each one looks controlled by another."""

    def __init__(self, workloads: Iterable[dict]) -> None:
        self._by_uid: dict[str, dict] = {}
        for workload in workloads:
            uid = _meta(workload).get("uid")
            if uid:
                self._by_uid[uid] = workload
        self.cycles: list[list[dict]] = []
        self._cyclic: set[str] = set()
        self._find_cycles()

    def _parent(self, obj: dict) -> dict | None:
        ref = controller_ref(obj)
        if ref is None or ref.get("kind") == "Node":
            return None
        return self._by_uid.get(ref.get("uid") or "")

    def _find_cycles(self) -> None:
        done: set[str] = set()
        for uid in self._by_uid:
            path: list[str] = []
            current: str | None = uid
            while current is not None and current not in done and current not in path:
                path.append(current)
                parent = self._parent(self._by_uid[current])
                current = _meta(parent).get("uid") if parent is not None else None
            if current is not None and current in path:
                members = path[path.index(current):]
                self.cycles.append([self._by_uid[m] for m in members])
                self._cyclic.update(members)
            done.update(path)

    def _in_cycle(self, obj: dict) -> bool:
        return _meta(obj).get("uid") in self._cyclic

    def top_owner(self, obj: dict) -> Owner:
        """The outermost controller of an object that we can name; the object itself if it has none.
        The walk stops at the first workload on an ownership cycle."""
        current = obj
        while not self._in_cycle(current):
            ref = controller_ref(current)
            if ref is None or ref.get("kind") == "Node":
                break
            parent = self._by_uid.get(ref.get("uid") or "")
            if parent is None:
                return Owner(str(ref.get("kind")), str(ref.get("name")))
            current = parent
        return Owner(str(current.get("kind")), str(_meta(current).get("name")))

    def is_top_level(self, workload: dict) -> bool:
        """True unless another workload we hold controls this one (a workload on a cycle is top-level)."""
        ref = controller_ref(workload)
        return ref is None or (ref.get("uid") or "") not in self._by_uid or self._in_cycle(workload)

    def cycle_notes(self) -> list[str]:
        """One note per ownership cycle, e.g. ``ownerReferences form a cycle (A -> B -> A): ...``."""
        notes = []
        for cycle in self.cycles:
            names = [str(Owner(str(w.get("kind")), str(_meta(w).get("name")))) for w in cycle]
            first = names.index(min(names))  # the same note whichever member the lists gave first
            names = names[first:] + names[:first]
            notes.append(f"ownerReferences form a cycle ({' -> '.join(names + names[:1])}): "
                         "each is evaluated as its own owner, with its template")
        return notes


@dataclass
class Subject:
    """One thing PSA evaluates: a pod, or the pod template of a top-level workload."""

    obj: dict
    owner: Owner
    is_template: bool

    @property
    def name(self) -> str:
        return str(_meta(self.obj).get("name"))


@dataclass
class Finding:
    """Violations at one level shared by pods and/or the template of one owner."""

    owner: Owner
    level: Level
    violations: tuple[Violation, ...]
    pods: list[str] = field(default_factory=list)
    template: bool = False

    def as_dict(self) -> dict:
        return {
            "owner": {"kind": self.owner.kind, "name": self.owner.name},
            "pods": self.pods,
            "template": self.template,
            "level": self.level.value,
            "violations": [v.as_dict() for v in self.violations],
        }


@dataclass
class SubjectSet:
    """A namespace's subjects, with the pods skipped because their runtimeClass is exempt."""

    subjects: list[Subject]
    exempt_pods: list[str]
    pods: int
    workloads: int
    notes: list[str] = field(default_factory=list)


def collect_subjects(pods: Iterable[dict], workloads: Iterable[dict], exemptions: Exemptions = Exemptions()) -> SubjectSet:
    """Pods and top-level workload templates of one namespace, in a stable order."""
    workloads = [w for w in workloads if w.get("kind") in TEMPLATE_PATHS and w.get("kind") != "Pod"]
    index = OwnerIndex(workloads)
    subjects: list[Subject] = []
    exempt: list[str] = []
    pod_count = 0
    for pod in pods:
        pod_count += 1
        if exemptions.runtime_class_exempt(pod.get("spec")):
            exempt.append(str(_meta(pod).get("name")))
            continue
        subjects.append(Subject(pod, index.top_owner(pod), False))
    top_level = 0
    for workload in workloads:
        if index.is_top_level(workload):
            top_level += 1
            template = _template_spec(workload)
            if template is not None and exemptions.runtime_class_exempt(template):
                continue
            subjects.append(Subject(workload, Owner(str(workload.get("kind")), str(_meta(workload).get("name"))), True))
    return SubjectSet(subjects, exempt, pod_count, top_level, index.cycle_notes())


def _template_spec(workload: dict) -> dict | None:
    node = workload
    for key in (TEMPLATE_PATHS[workload["kind"]] or ()) + ("spec",):
        node = node.get(key) if isinstance(node, dict) else None
    return node if isinstance(node, dict) else None


@dataclass(slots=True)
class StandIn:
    """A listed pod or workload as held until its namespace is reported (~100 bytes and its name): kind,
    name, namespace, uid (reports name it: a bare pod is its own owner), its controller reference and its pod template (annotations, spec),
    both shared with the other objects that have them. ``as_object`` is what the checks and the owner
    grouping read; evaluating it gives the listed object's verdict (its template has the same key)."""

    kind: str
    api_version: Any
    name: Any
    namespace: str
    uid: Any
    owners: list[dict] | None  # [its controller reference]
    template: tuple[Any, dict]  # (annotations, spec)

    def as_object(self) -> dict:
        annotations, spec = self.template
        metadata: dict[str, Any] = {"name": self.name, "namespace": self.namespace}
        if self.uid is not None:
            metadata["uid"] = self.uid
        if self.owners is not None:
            metadata["ownerReferences"] = self.owners
        template: dict[str, Any] = {} if annotations is None else {"annotations": annotations}
        obj: dict[str, Any] = {"apiVersion": self.api_version, "kind": self.kind}
        path = TEMPLATE_PATHS[self.kind]
        if path is None:
            obj["metadata"] = {**metadata, **template}
            obj["spec"] = spec
            return obj
        obj["metadata"] = metadata
        node = obj
        for step in path[:-1]:
            node = node.setdefault(step, {})
        node[path[-1]] = {"metadata": template, "spec": spec}
        return obj


class VerdictCache:
    """Verdicts by what the checks read (the pod's or template's annotations and spec, ``view_key``),
    per (level, version): the pods of one ReplicaSet, DaemonSet or Job are evaluated once per run.

    ``hits``/``misses`` count lookups (``-v=4`` prints the rate). An object whose view is not plain JSON
    data, or has no template, or a malformed one, is evaluated without the cache."""

    def __init__(self, registry: Registry = DEFAULT_REGISTRY) -> None:
        self.registry = registry
        self._results: dict[tuple[bytes, Level, Version], Result] = {}
        self._templates: dict[bytes, tuple[Any, dict]] = {}  # key -> the first (annotations, spec) with it
        self._keys: dict[tuple[int, int], tuple[Any, dict, bytes | None]] = {}
        self._clean: set[bytes] = set()  # keys whose annotations and spec have the right types
        self._owners: dict[tuple, list[dict]] = {}  # a controller reference's fields -> [it], shared
        self._others: dict[Registry, VerdictCache] = {}
        self.hits = 0
        self.misses = 0
        self.seconds = 0.0  # spent evaluating (misses)

    def result(self, obj: dict, level: Level, version: Version, key: bytes | None = None) -> Result:
        """``obj``'s verdict; ``key`` its ``view_key`` when already known."""
        key = key or self.key(obj)
        if key is None:
            return evaluate(obj, level, version, self.registry)
        cached = self._results.get((key, level, version))
        if cached is None:
            self.misses += 1
            started = time.perf_counter()
            cached = self._results[(key, level, version)] = evaluate(obj, level, version, self.registry)
            self.seconds += time.perf_counter() - started
        else:
            self.hits += 1
        return cached

    def key(self, obj: dict) -> bytes | None:
        """``view_key(obj)``, computed once per pod template (annotations and spec objects): grading ahead,
        then audit, ask for it again, and stand-ins (``stand_in``) share their template's."""
        try:
            template = pod_template(obj)
        except (InvalidObjectError, KeyError):
            return None
        if template is None:
            return None
        annotations, spec = template[0].get("annotations"), template[1]
        known = self._keys.get((id(annotations), id(spec)))
        if known is not None and known[0] is annotations and known[1] is spec:
            return known[2]
        key = view_key(obj)
        self._keys[(id(annotations), id(spec))] = (annotations, spec, key)  # held: their ids are not reused
        return key

    def wrong_types(self, obj: dict, key: bytes | None) -> list[str]:
        """``policy.schema.type_errors(obj)``; ``key`` its ``view_key``. The annotations and spec of a key
        are checked once (equal keys have equal JSON values, so equal types); the names of its metadata
        and its template's each time."""
        if key is not None and key in self._clean and identity_clean(obj):
            return []
        errors = type_errors(obj)
        if not errors and key is not None:
            self._clean.add(key)
        return errors

    def _first(self, obj: dict, key: bytes) -> tuple[Any, dict]:
        """The annotations and spec of the first template with ``key`` (``obj``'s, if it is the first)."""
        first = self._templates.get(key)
        if first is None:
            metadata, spec = pod_template(obj) or ({}, {})
            first = self._templates.setdefault(key, (metadata.get("annotations"), spec))
            self._keys.setdefault((id(first[0]), id(first[1])), (*first, key))
        return first

    def stand_in(self, obj: dict, key: bytes | None) -> "StandIn | dict":
        """What audit, simulate and label keep of a listed pod or workload (``key`` its ``view_key``) until
        its namespace is reported: a ``StandIn``, whose template is the first one with its key, shared.
        Without a key, ``obj`` itself."""
        if key is None:
            return obj
        meta = obj["metadata"]
        ref = controller_ref(obj)
        owners = None
        if ref is not None:
            read = tuple(ref.get(f) for f in _REF_FIELDS)
            try:
                owners = self._owners.setdefault(read, [dict(zip(_REF_FIELDS, read))])
            except TypeError:  # a field that is not a plain value (hostile): its own copy
                owners = [dict(zip(_REF_FIELDS, read))]
        kind = obj["kind"]
        return StandIn(kind, obj.get("apiVersion"), meta.get("name"), sys.intern(meta.get("namespace") or ""),
                       meta.get("uid"), owners, self._first(obj, key))

    def grade(self, obj: dict, version: Version) -> None:
        """Evaluate ahead what grading ``obj`` at ``version`` asks (baseline, then restricted if it passes),
        while the next page is read; an object evaluation refuses is left to the type check that follows."""
        key = self.key(obj)
        try:
            if self.result(obj, Level.BASELINE, version, key).allowed:
                self.result(obj, Level.RESTRICTED, version, key)
        except (InvalidObjectError, KeyError):
            pass
        self.share(obj, key)

    def share(self, obj: dict, key: bytes | None = None) -> None:
        """Let a pod's (or a workload template's) spec hold the very containers (and the rest) of the first
        one with its key, which are equal (the key says so; only the volumes, whose names it leaves out,
        stay its own): 100,000 pods of 500 templates hold 500 container lists, not 100,000."""
        key = key or self.key(obj)
        if key is None:
            return
        holder: Any = obj
        for step in TEMPLATE_PATHS[obj.get("kind")] or ():
            holder = holder[step]  # there: the key was made from it
        spec = holder.get("spec")
        if not isinstance(spec, dict):
            return
        first = self._first(obj, key)[1]
        if first is not spec:
            holder["spec"] = {field: (value if field == "volumes" else first[field]) for field, value in spec.items()}

    def of(self, registry: Registry) -> "VerdictCache":
        """The cache of another registry (e.g. ``without_overrides``), made once per run."""
        if registry is self.registry:
            return self
        other = self._others.get(registry)
        if other is None:
            other = self._others[registry] = VerdictCache(registry)
        return other

    def summary(self) -> str:
        lookups = self.hits + self.misses
        rate = 100.0 * self.hits / lookups if lookups else 0.0
        return (f"verdict cache: {lookups} lookups, {self.misses} evaluations, {self.hits} hits ({rate:.1f}%), "
                f"{len(self._results)} distinct (view, level, version), {self.seconds:.3f} s evaluating")


def view_key(obj: dict) -> bytes | None:
    """What the checks read of ``obj`` (annotations and pod spec) as bytes, or None. Equal bytes are equal
    values, types included (``marshal``, which reads back what it wrote; 3x faster than sorted JSON):
    the same fields in another order only make another key, never a wrong verdict."""
    try:
        template = pod_template(obj)
        if template is None:
            return None
        metadata, spec = template
        volumes = spec.get("volumes")
        if isinstance(volumes, list):
            spec = {**spec, "volumes": [_volume_key(volume) for volume in volumes]}
        return marshal.dumps((metadata.get("annotations"), spec), _MARSHAL_VERSION)
    except (KeyError, TypeError, ValueError):  # not plain data, unknown kind, bad shape: evaluate() says what
        return None


def _volume_key(volume: object) -> object:
    """A volume without its name when no check can name it: an allowed type and no hostPath (the
    per-pod ``kube-api-access-xxxxx`` would otherwise make every pod of a template distinct). A name
    that is not a string stays: equal keys mean equal types (``VerdictCache.wrong_types``)."""
    if (isinstance(volume, dict) and volume.get("hostPath") is None and isinstance(volume.get("name"), str)
            and any(volume.get(source) is not None for source in ALLOWED_SOURCES)):
        return {key: value for key, value in volume.items() if key != "name"}
    return volume


class Evaluator:
    """Evaluates subjects at one version, caching each subject's result per level (and, with ``verdicts``,
    each distinct pod view's across subjects and namespaces)."""

    def __init__(self, version: Version, registry: Registry = DEFAULT_REGISTRY,
                 verdicts: VerdictCache | None = None) -> None:
        self.version = version
        self.registry = registry
        self.verdicts = verdicts if verdicts is not None and verdicts.registry is registry else None
        self._cache: dict[tuple[int, Level], Result] = {}

    def result(self, subject: Subject, level: Level) -> Result:
        key = (id(subject), level)
        cached = self._cache.get(key)
        if cached is None:
            if self.verdicts is not None:
                cached = self._cache[key] = self.verdicts.result(subject.obj, level, self.version)
            else:
                cached = self._cache[key] = evaluate(subject.obj, level, self.version, self.registry)
        return cached

    def strictest(self, subject: Subject) -> Level:
        if not self.result(subject, Level.BASELINE).allowed:
            return Level.PRIVILEGED
        if not self.result(subject, Level.RESTRICTED).allowed:
            return Level.BASELINE
        return Level.RESTRICTED


def findings_at(subjects: Iterable[Subject], level: Level, evaluator: Evaluator) -> list[Finding]:
    """Group the subjects that fail ``level`` by (owner, violations), owners sorted."""
    groups: dict[tuple[Owner, tuple[Violation, ...]], Finding] = {}
    for subject in subjects:
        result = evaluator.result(subject, level)
        if result.allowed:
            continue
        key = (subject.owner, result.violations)
        finding = groups.get(key)
        if finding is None:
            finding = groups[key] = Finding(subject.owner, level, result.violations)
        if subject.is_template:
            finding.template = True
        else:
            finding.pods.append(subject.name)
    for finding in groups.values():
        finding.pods.sort()
    return sorted(groups.values(), key=lambda f: (f.owner, [v.check for v in f.violations]))


def strictest_of(subjects: Iterable[Subject], evaluator: Evaluator) -> Level:
    """The strictest level every subject passes (restricted for none)."""
    strictest = Level.RESTRICTED
    for subject in subjects:
        strictest = min(strictest, evaluator.strictest(subject))
        if strictest is Level.PRIVILEGED:
            break
    return strictest


__all__ = ["Evaluator", "StandIn", "VerdictCache", "view_key", "Finding", "LEVELS", "Owner", "OwnerIndex", "Subject", "SubjectSet", "collect_subjects",
           "findings_at", "strictest_of"]


def rejected(findings: list[Finding]) -> tuple[int, int]:
    """How many pods, and how many workloads by their templates, the findings reject."""
    return sum(len(f.pods) for f in findings), len({f.owner for f in findings if f.template})
