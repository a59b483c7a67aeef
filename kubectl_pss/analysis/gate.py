"""The CI gate, one concept for check, audit and simulate: ``--fail-on`` and baselines.

``--fail-on MODE`` (enforce, audit, warn): something violates its own namespace's level:version of that
mode, as PodSecurity would judge it there. ``--fail-on LEVEL`` (baseline, restricted): something cannot
pass LEVEL. A baseline lists known violations by identity (never a file position); a known one does not
fail the gate until its entry ``expires``; an entry nothing matches any more is reported as fixed.
"""
from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any, Iterable

from ..policy.admission import MODES, AdmissionConfig, level_label, resolve_policy, version_label
from ..policy.levels import Level, PolicyValueError, Version, parse_level
from ..policy.registry import Registry
from .findings import Evaluator, Finding, VerdictCache, collect_subjects, findings_at

FAIL_ON_VALUES = MODES + ("baseline", "restricted")
FAIL_ON_ERROR = "must be one of enforce, audit, warn (a namespace's own mode) or baseline, restricted (a level)"


@dataclass(frozen=True, slots=True)
class FailOn:
    """What fails the gate: a mode (``enforce``) or a level (``restricted``); exactly one is set."""

    mode: str | None = None
    level: Level | None = None

    def __str__(self) -> str:
        return self.mode if self.mode is not None else self.level.value  # type: ignore[union-attr]


def parse_fail_on(text: str) -> FailOn:
    """``enforce``, ``audit``, ``warn``, ``baseline`` or ``restricted``; ValueError otherwise (``privileged``
    passes everything: a gate at it could never fail)."""
    if text in MODES:
        return FailOn(mode=text)
    try:
        level = parse_level(text)
    except PolicyValueError:
        raise ValueError(FAIL_ON_ERROR) from None
    if level is Level.PRIVILEGED:
        raise ValueError(FAIL_ON_ERROR)
    return FailOn(level=level)


def gate_findings(namespace: dict, pods: Iterable[dict], workloads: Iterable[dict], config: AdmissionConfig,
                  registry: Registry, fail_on: FailOn, version: Version | None = None,
                  verdicts: VerdictCache | None = None, simulated: tuple[str, Level, Version] | None = None
                  ) -> list[Finding]:
    """What in one live namespace fails ``fail_on``, grouped by owner. A level is judged at ``version`` (None:
    the namespace's enforce version, as audit grades); a mode at the namespace's own level:version, with the
    ``simulated`` (mode, level, version) label set first (simulate). An exempt namespace fails nothing."""
    metadata = namespace.get("metadata") or {}
    labels = dict(metadata.get("labels") or {}) if isinstance(metadata.get("labels"), dict) else {}
    if simulated is not None:
        mode, level, simulated_version = simulated
        labels[level_label(mode)] = level.value
        labels[version_label(mode)] = str(simulated_version)
    if config.exemptions.namespace_exempt(str(metadata.get("name"))):
        return []
    policy = resolve_policy(labels, config.defaults)
    subjects = collect_subjects(pods, workloads, config.exemptions).subjects
    if fail_on.mode is not None:
        target = policy.mode(fail_on.mode)
        return findings_at(subjects, target.level, Evaluator(target.version, registry, verdicts))
    assert fail_on.level is not None
    at = policy.enforce.version if version is None else version
    return findings_at(subjects, fail_on.level, Evaluator(at, registry, verdicts))


class BaselineError(ValueError):
    """A baseline file that cannot be used (one line, with the file and the entry)."""


CHECK_KEYS = ("kind", "namespace", "name", "check", "mode")
AUDIT_KEYS = ("namespace", "ownerKind", "ownerName", "check")
BASELINE_KIND = "Baseline"


@dataclass(frozen=True, slots=True)
class BaselineEntry:
    key: tuple[str, ...]
    expires: datetime.date | None = None
    reason: str | None = None

    def as_dict(self, keys: tuple[str, ...]) -> dict[str, Any]:
        data: dict[str, Any] = dict(zip(keys, self.key))
        if self.reason is not None:
            data["reason"] = self.reason
        if self.expires is not None:
            data["expires"] = self.expires.isoformat()
        return data


@dataclass
class Baseline:
    """Known violations of ``target`` (``check``: kind/namespace/name + check + mode; ``audit``: namespace +
    owner kind/name + check). ``status`` marks what it matched; ``fixed`` is what nothing matched."""

    target: str
    entries: dict[tuple[str, ...], BaselineEntry] = field(default_factory=dict)
    today: datetime.date = field(default_factory=datetime.date.today)
    matched: set[tuple[str, ...]] = field(default_factory=set)
    source: str | None = None  # the file it was read from
    judged: set[str] | None = None  # the namespaces read to the end (audit, simulate); None: all of the input

    def in_judged(self, key: tuple[str, ...]) -> bool:
        """Whether the run judged ``key``'s namespace: only then can its entry be fixed, or be dropped."""
        return self.judged is None or key[self.keys.index("namespace")] in self.judged

    @property
    def keys(self) -> tuple[str, ...]:
        return CHECK_KEYS if self.target == "check" else AUDIT_KEYS

    def status(self, key: tuple[str, ...]) -> str:
        """``new``, ``unchanged`` (known and in force) or ``expired`` (known, but past its date: fails again)."""
        entry = self.entries.get(key)
        if entry is None:
            return "new"
        self.matched.add(key)
        if entry.expires is not None and entry.expires < self.today:
            return "expired"
        return "unchanged"

    def fixed(self) -> list[dict[str, Any]]:
        return [e.as_dict(self.keys) for k, e in sorted(self.entries.items())
                if k not in self.matched and self.in_judged(k)]

    def kept(self) -> list[tuple[str, ...]]:
        """The entries this run did not judge (their namespace out of scope, or not read to the end)."""
        return [k for k in self.entries if not self.in_judged(k)]

    def expired(self) -> list[dict[str, Any]]:
        return [e.as_dict(self.keys) for k, e in sorted(self.entries.items())
                if k in self.matched and e.expires is not None and e.expires < self.today]


def parse_baseline(doc: Any, target: str, source: str, today: datetime.date | None = None) -> Baseline:
    """A baseline document (``kind: Baseline``, ``target``, ``entries``); BaselineError with one line."""
    def fail(message: str) -> BaselineError:
        return BaselineError(f"{source}: {message}")

    if not isinstance(doc, dict) or doc.get("kind") != BASELINE_KIND:
        raise fail(f"not a kubectl-pss baseline (kind: {BASELINE_KIND})")
    if doc.get("target") != target:
        raise fail(f'a baseline of "{doc.get("target")}", not of {target}')
    entries = doc.get("entries")
    if not isinstance(entries, list):
        raise fail("entries must be a list")
    baseline = Baseline(target, today=today or datetime.date.today(), source=source)
    for i, raw in enumerate(entries):
        if not isinstance(raw, dict):
            raise fail(f"entries[{i}]: not an object")
        missing = [k for k in baseline.keys if not isinstance(raw.get(k), str) or not raw.get(k)]
        if missing:
            raise fail(f"entries[{i}]: {', '.join(missing)} must be non-empty strings")
        unknown = sorted(set(raw) - set(baseline.keys) - {"reason", "expires"})
        if unknown:
            raise fail(f"entries[{i}]: unknown field {unknown[0]!r}")
        if target == "check" and raw["mode"] not in FAIL_ON_VALUES:
            raise fail(f"entries[{i}]: mode {raw['mode']!r} {FAIL_ON_ERROR}")
        expires = raw.get("expires")
        if expires is not None:
            try:
                expires = datetime.date.fromisoformat(str(expires))
            except ValueError:
                raise fail(f"entries[{i}]: expires {expires!r} is not a date (YYYY-MM-DD)") from None
        reason = raw.get("reason")
        if reason is not None and not isinstance(reason, str):
            raise fail(f"entries[{i}]: reason must be a string")
        key = tuple(raw[k] for k in baseline.keys)
        baseline.entries[key] = BaselineEntry(key, expires, reason)
    return baseline


def baseline_document(target: str, keys: Iterable[tuple[str, ...]], previous: Baseline | None = None) -> dict[str, Any]:
    """The baseline file of today's violations, sorted; what ``previous`` said of one (reason, expires) is kept,
    and so are its entries of namespaces this run did not judge (``Baseline.judged``)."""
    names = CHECK_KEYS if target == "check" else AUDIT_KEYS
    entries = []
    for key in sorted(set(keys) | set(previous.kept() if previous is not None else ())):
        old = previous.entries.get(key) if previous is not None else None
        entries.append((old or BaselineEntry(key)).as_dict(names))
    return {"apiVersion": "kubectl-pss/v1", "kind": BASELINE_KIND, "target": target, "entries": entries}


def live_gate(namespaces: Iterable[dict], pods: dict[str, list[dict]], workloads: dict[str, list[dict]],
              config: AdmissionConfig, registry: Registry, fail_on: FailOn, baseline: Baseline | None = None,
              version: Version | None = None, verdicts: VerdictCache | None = None,
              simulated: tuple[str, Level, Version] | None = None) -> dict[str, Any]:
    """The ``gate`` of an audit or simulate report: per namespace, what fails ``fail_on`` by owner and check
    (``baselined`` when ``baseline`` knows namespace + owner + check), and how many namespaces fail."""
    failing: list[dict[str, Any]] = []
    failed: set[str] = set()
    for namespace in namespaces:
        name = str((namespace.get("metadata") or {}).get("name"))
        for finding in gate_findings(namespace, pods.get(name, []), workloads.get(name, []), config, registry,
                                     fail_on, version, verdicts, simulated):
            for check in dict.fromkeys(v.check for v in finding.violations):
                key = (name, finding.owner.kind, finding.owner.name, check)
                known = baseline is not None and baseline.status(key) == "unchanged"
                if not known:
                    failed.add(name)
                failing.append({"namespace": name, "owner": {"kind": finding.owner.kind, "name": finding.owner.name},
                                "check": check, "baselined": known})
    return {"failOn": str(fail_on), "failedNamespaces": sorted(failed), "findings": failing,
            "baseline": None if baseline is None else {"file": baseline.source, "fixed": baseline.fixed(),
                                                       "expired": baseline.expired()}}


def audit_keys(gate: dict[str, Any], namespaces: Iterable[dict[str, Any]]) -> list[tuple[str, ...]]:
    """Baseline identities (namespace, owner kind, owner name, check) of a gate's findings and of the report's
    own findings (``namespaces[].findings``)."""
    keys = [(f["namespace"], f["owner"]["kind"], f["owner"]["name"], f["check"]) for f in gate["findings"]]
    for namespace in namespaces:
        for finding in namespace.get("findings") or ():
            keys += [(namespace["name"], finding["owner"]["kind"], finding["owner"]["name"], v["check"])
                     for v in finding["violations"]]
    return keys
