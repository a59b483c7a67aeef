"""What PodSecurity admission does around the checks: namespace labels, defaults, exemptions,
and the warnings of a namespace enforce-label change (upstream api/ and admission/)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from .evaluate import Result, evaluate_pod
from .helpers import go_quote
from .levels import (LATEST, LEVEL_ERROR, VERSION_ERROR, Level, PolicyValueError, Version, level_version, parse_level,
                     parse_version)
from .registry import DEFAULT_REGISTRY, Registry

LABEL_PREFIX = "pod-security.kubernetes.io/"
MODES = ("enforce", "audit", "warn")
DRY_RUN_POD_LIMIT = 3000


def level_label(mode: str) -> str:
    return f"{LABEL_PREFIX}{mode}"


def version_label(mode: str) -> str:
    return f"{LABEL_PREFIX}{mode}-version"


POD_SECURITY_LABELS = tuple(key for mode in MODES for key in (level_label(mode), version_label(mode)))


@dataclass(frozen=True, slots=True)
class ModePolicy:
    """The level and version one mode (enforce, audit or warn) evaluates at, and where each came from."""

    level: Level
    version: Version
    level_source: str = "default"  # "label" or "default"
    version_source: str = "default"

    def __str__(self) -> str:
        return level_version(self.level, self.version)


@dataclass(frozen=True, slots=True)
class LabelError:
    """An invalid pod-security label, with the API server's message."""

    key: str
    value: str
    message: str

    def __str__(self) -> str:
        return f'metadata.labels[{self.key}]: Invalid value: "{self.value}": {self.message}'


@dataclass(frozen=True, slots=True)
class NamespacePolicy:
    enforce: ModePolicy
    audit: ModePolicy
    warn: ModePolicy
    errors: tuple[LabelError, ...] = ()

    def mode(self, name: str) -> ModePolicy:
        return getattr(self, name)

    @property
    def fully_privileged(self) -> bool:
        return not self.errors and all(self.mode(m).level is Level.PRIVILEGED for m in MODES)


@dataclass(frozen=True, slots=True)
class Exemptions:
    usernames: frozenset[str] = frozenset()
    runtime_classes: frozenset[str] = frozenset()
    namespaces: frozenset[str] = frozenset()

    def namespace_exempt(self, name: str | None) -> bool:
        return bool(name) and name in self.namespaces

    def runtime_class_exempt(self, pod_spec: dict | None) -> bool:
        name = (pod_spec or {}).get("runtimeClassName")
        return bool(name) and name in self.runtime_classes


@dataclass(frozen=True, slots=True)
class AdmissionDefaults:
    enforce: ModePolicy = ModePolicy(Level.PRIVILEGED, LATEST)
    audit: ModePolicy = ModePolicy(Level.PRIVILEGED, LATEST)
    warn: ModePolicy = ModePolicy(Level.PRIVILEGED, LATEST)

    def mode(self, name: str) -> ModePolicy:
        return getattr(self, name)


@dataclass(frozen=True, slots=True)
class AdmissionConfig:
    """The PodSecurity plugin's configuration: cluster defaults and exemptions."""

    defaults: AdmissionDefaults = AdmissionDefaults()
    exemptions: Exemptions = Exemptions()
    source: str | None = None  # where it was read from; None = Kubernetes' built-in defaults
    api_version: str | None = None


KUBERNETES_DEFAULT_CONFIG = AdmissionConfig()


def resolve_policy(labels: dict[str, Any] | None, defaults: AdmissionDefaults = AdmissionDefaults()) -> NamespacePolicy:
    """A namespace's effective policy from its labels and the cluster defaults (upstream PolicyToEvaluate).

    Invalid values fail closed for enforce (restricted) and open for audit/warn (privileged);
    an invalid version is latest. Without a warn label, warn follows a stricter valid enforce level.
    """
    labels = labels or {}
    errors: list[LabelError] = []
    resolved: dict[str, ModePolicy] = {}
    enforce_level_valid = False
    for mode in MODES:
        policy = defaults.mode(mode)
        level, level_src = policy.level, policy.level_source
        version, version_src = policy.version, policy.version_source
        if level_label(mode) in labels:
            value = labels[level_label(mode)]
            level_src = "label"
            try:
                level = parse_level(value)
                if mode == "enforce":
                    enforce_level_valid = True
            except PolicyValueError:
                errors.append(LabelError(level_label(mode), str(value), LEVEL_ERROR))
                level = Level.RESTRICTED if mode == "enforce" else Level.PRIVILEGED
        if version_label(mode) in labels:
            value = labels[version_label(mode)]
            version_src = "label"
            try:
                version = parse_version(value)
            except PolicyValueError:
                errors.append(LabelError(version_label(mode), str(value), VERSION_ERROR))
                version = LATEST
        resolved[mode] = ModePolicy(level, version, level_src, version_src)
    warn = resolved["warn"]
    enforce = resolved["enforce"]
    if level_label("warn") not in labels and enforce_level_valid and enforce.level > warn.level:
        if version_label("warn") in labels:
            resolved["warn"] = ModePolicy(enforce.level, warn.version, "enforce", warn.version_source)
        else:
            resolved["warn"] = ModePolicy(enforce.level, enforce.version, "enforce", "enforce")
    return NamespacePolicy(resolved["enforce"], resolved["audit"], resolved["warn"], tuple(errors))


class AdmissionConfigError(ValueError):
    """An AdmissionConfiguration or PodSecurityConfiguration the API server would refuse."""


POD_SECURITY_CONFIG_VERSIONS = (
    "pod-security.admission.config.k8s.io/v1",
    "pod-security.admission.config.k8s.io/v1beta1",
    "pod-security.admission.config.k8s.io/v1alpha1",
)
_DEFAULT_KEYS = ("enforce", "enforce-version", "audit", "audit-version", "warn", "warn-version")
_EXEMPTION_KEYS = ("usernames", "runtimeClasses", "namespaces")


def pod_security_configuration(doc: Any) -> dict:
    """The PodSecurityConfiguration inside an AdmissionConfiguration (or the document itself)."""
    if not isinstance(doc, dict):
        raise AdmissionConfigError("not a YAML/JSON object")
    kind = doc.get("kind")
    if kind == "PodSecurityConfiguration":
        return doc
    if kind != "AdmissionConfiguration":
        raise AdmissionConfigError(f'expected kind AdmissionConfiguration or PodSecurityConfiguration, got "{kind}"')
    if not isinstance(doc.get("plugins") or [], list):
        raise AdmissionConfigError("plugins must be a list")
    for plugin in doc.get("plugins") or ():
        if isinstance(plugin, dict) and plugin.get("name") == "PodSecurity":
            configuration = plugin.get("configuration")
            if configuration is None and plugin.get("path"):
                raise AdmissionConfigError("PodSecurity plugin configuration is in another file (path); load that file")
            if not isinstance(configuration, dict):
                raise AdmissionConfigError("PodSecurity plugin has no configuration")
            return configuration
    raise AdmissionConfigError("no PodSecurity plugin in the AdmissionConfiguration")


def parse_admission_config(doc: Any, source: str | None = None) -> tuple[AdmissionConfig, list[str]]:
    """Parse and validate a PodSecurityConfiguration (plain or inside an AdmissionConfiguration).

    Returns the config and warnings (unknown fields); raises AdmissionConfigError for errors.
    """
    config = pod_security_configuration(doc)
    warnings: list[str] = []
    api_version = config.get("apiVersion")
    if api_version not in POD_SECURITY_CONFIG_VERSIONS:
        raise AdmissionConfigError(
            f'unknown PodSecurityConfiguration apiVersion "{api_version}" (expected one of {", ".join(POD_SECURITY_CONFIG_VERSIONS)})'
        )
    for key in config:
        if key not in ("apiVersion", "kind", "defaults", "exemptions"):
            warnings.append(f'unknown field "{key}"')
    raw_defaults = config.get("defaults") or {}
    raw_exemptions = config.get("exemptions") or {}
    if not isinstance(raw_defaults, dict) or not isinstance(raw_exemptions, dict):
        raise AdmissionConfigError("defaults and exemptions must be objects")
    errors: list[str] = []
    modes: dict[str, ModePolicy] = {}
    for key in raw_defaults:
        if key not in _DEFAULT_KEYS:
            warnings.append(f'unknown field "defaults.{key}"')
    for mode in MODES:
        level, version = Level.PRIVILEGED, LATEST
        if raw_defaults.get(mode) is not None:
            try:
                level = parse_level(raw_defaults[mode])
            except PolicyValueError:
                errors.append(f'defaults.{mode}: Invalid value: "{raw_defaults[mode]}": {LEVEL_ERROR}')
        if raw_defaults.get(f"{mode}-version") is not None:
            try:
                version = parse_version(raw_defaults[f"{mode}-version"])
            except PolicyValueError:
                errors.append(f'defaults.{mode}-version: Invalid value: "{raw_defaults[f"{mode}-version"]}": {VERSION_ERROR}')
        modes[mode] = ModePolicy(level, version)
    sets: dict[str, frozenset[str]] = {}
    for key in raw_exemptions:
        if key not in _EXEMPTION_KEYS:
            warnings.append(f'unknown field "exemptions.{key}"')
    for key in _EXEMPTION_KEYS:
        values = raw_exemptions.get(key) or []
        if not isinstance(values, list):
            errors.append(f"exemptions.{key}: must be a list")
            continue
        seen: set[str] = set()
        for i, value in enumerate(values):
            if not isinstance(value, str) or not value:
                errors.append(f"exemptions.{key}[{i}]: Invalid value: must be a non-empty string")
            elif value in seen:
                errors.append(f'exemptions.{key}[{i}]: Duplicate value: "{value}"')
            seen.add(str(value))
        sets[key] = frozenset(v for v in values if isinstance(v, str) and v)
    if errors:
        raise AdmissionConfigError("; ".join(errors))
    return (
        AdmissionConfig(
            AdmissionDefaults(modes["enforce"], modes["audit"], modes["warn"]),
            Exemptions(sets["usernames"], sets["runtimeClasses"], sets["namespaces"]),
            source,
            api_version,
        ),
        warnings,
    )


def _controller_uid(pod: dict) -> str | None:
    for ref in (pod.get("metadata") or {}).get("ownerReferences") or ():
        if isinstance(ref, dict) and ref.get("controller") is True:
            return ref.get("uid")
    return None


@dataclass
class DryRunOutcome:
    """What the API server would warn about existing pods when a namespace's enforce level changes."""

    warnings: list[str] = field(default_factory=list)
    checked: int = 0
    total: int = 0
    rejected: dict[str, str] = field(default_factory=dict)  # checked pods the level rejects -> their reasons


def namespace_dry_run(
    namespace: str,
    pods: Iterable[dict],
    level: Level,
    version: Version,
    exemptions: Exemptions = Exemptions(),
    registry: Registry = DEFAULT_REGISTRY,
    limit: int | None = DRY_RUN_POD_LIMIT,
    result: Callable[[dict], Result] | None = None,
) -> DryRunOutcome:
    """Reproduce the warnings of upstream's namespace dry-run (prioritise pods, group by reasons).

    ``limit`` None checks every pod; the server's time budget is not emulated. ``result`` is a pod's
    verdict at level:version (one that remembers verdicts of equal pods); by default evaluated here.
    """
    first: list[dict] = []
    rest: list[dict] = []
    seen_controllers: set[str] = set()
    for pod in pods:
        if exemptions.runtime_class_exempt(pod.get("spec")):
            continue
        uid = _controller_uid(pod)
        if uid is None or uid not in seen_controllers:
            first.append(pod)
            if uid is not None:
                seen_controllers.add(uid)
        else:
            rest.append(pod)
    ordered = first + rest
    total = len(ordered)
    if limit is not None:
        ordered = ordered[:limit]
    groups: dict[str, tuple[int, str]] = {}
    rejected: dict[str, str] = {}
    for pod in ordered:
        verdict = (evaluate_pod(pod.get("metadata"), pod.get("spec"), level, version, registry) if result is None
                   else result(pod))
        if verdict.allowed:
            continue
        reasons = verdict.reasons()
        name = str((pod.get("metadata") or {}).get("name", ""))
        rejected[name] = reasons
        count, smallest = groups.get(reasons, (0, name))
        groups[reasons] = (count + 1, min(smallest, name))
    outcome = DryRunOutcome(checked=len(ordered), total=total, rejected=rejected)
    if len(ordered) < total:
        outcome.warnings.append(
            f"new PodSecurity enforce level only checked against the first {len(ordered)} of {total} existing pods"
        )
    if groups:
        outcome.warnings.append(
            f"existing pods in namespace {go_quote(namespace)} violate the new PodSecurity enforce level "
            f'"{level_version(level, version)}"'
        )
        lines = []
        for reasons, (count, smallest) in groups.items():
            if count == 1:
                lines.append(f"{smallest}: {reasons}")
            elif count == 2:
                lines.append(f"{smallest} (and 1 other pod): {reasons}")
            else:
                lines.append(f"{smallest} (and {count - 1} other pods): {reasons}")
        outcome.warnings.extend(sorted(lines))
    return outcome
