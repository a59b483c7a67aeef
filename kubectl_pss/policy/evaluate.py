"""Evaluate an object against a level and version, with upstream's result order and messages."""
from __future__ import annotations

from dataclasses import dataclass

from .helpers import PodView
from .levels import Level, Version, level_version, parse_level, parse_version
from .objects import InvalidObjectError, pod_template
from .registry import DEFAULT_REGISTRY, Registry


@dataclass(frozen=True, slots=True)
class Violation:
    """One failed check: upstream check id, forbidden reason and detail."""

    check: str
    reason: str
    detail: str

    def message(self) -> str:
        """``reason (detail)``, as one item of PSA's denial message."""
        return f"{self.reason} ({self.detail})" if self.detail else self.reason

    def as_dict(self) -> dict[str, str]:
        return {"check": self.check, "reason": self.reason, "detail": self.detail}


@dataclass(frozen=True, slots=True)
class Result:
    """The verdict of one evaluation; ``version`` is the requested one (printed as asked)."""

    level: Level
    version: Version
    violations: tuple[Violation, ...]

    @property
    def allowed(self) -> bool:
        return not self.violations

    @property
    def policy(self) -> str:
        """``restricted:latest``."""
        return level_version(self.level, self.version)

    def reasons(self) -> str:
        """Reasons joined with ", " (namespace dry-run warnings use this)."""
        return ", ".join(v.reason for v in self.violations)

    def details(self) -> str:
        """``reason (detail), ...`` (pod denial, audit and warn messages use this)."""
        return ", ".join(v.message() for v in self.violations)

    def denial(self) -> str:
        """The enforce message: ``violates PodSecurity "restricted:latest": ...``."""
        return f'violates PodSecurity "{self.policy}": {self.details()}'


@dataclass(frozen=True, slots=True)
class Grade:
    """The strictest level an object passes, and the result that blocks the next level (None at restricted)."""

    level: Level
    blocking: Result | None


def _as_level(level: Level | str) -> Level:
    return level if isinstance(level, Level) else parse_level(level)


def _as_version(version: Version | str) -> Version:
    return version if isinstance(version, Version) else parse_version(version)


def evaluate_pod(
    metadata: dict | None,
    spec: dict | None,
    level: Level | str,
    version: Version | str = "latest",
    registry: Registry = DEFAULT_REGISTRY,
) -> Result:
    """Evaluate a pod's (or pod template's) metadata and spec."""
    level = _as_level(level)
    version = _as_version(version)
    plan = registry.plan(level, version)
    if not plan:
        return Result(level, version, ())
    try:
        pod = PodView(metadata, spec)
        violations = []
        for planned in plan:
            forbidden = planned.run(pod)
            if forbidden is not None:
                violations.append(
                    Violation(planned.id, forbidden.reason or "unknown forbidden reason", forbidden.detail)
                )
    except (TypeError, AttributeError, ValueError) as exc:
        raise InvalidObjectError(f"pod spec has a field of the wrong type ({exc})") from None
    return Result(level, version, tuple(violations))


def evaluate(
    obj: dict,
    level: Level | str,
    version: Version | str = "latest",
    registry: Registry = DEFAULT_REGISTRY,
) -> Result:
    """Evaluate a Pod or a workload's pod template at a level and version.

    A workload without a template is allowed, as PSA does. Raises KeyError for a kind PSA
    does not read and InvalidObjectError for a malformed object.
    """
    template = pod_template(obj)
    if template is None:
        return Result(_as_level(level), _as_version(version), ())
    return evaluate_pod(template[0], template[1], level, version, registry)


def grade(obj: dict, version: Version | str = "latest", registry: Registry = DEFAULT_REGISTRY) -> Grade:
    """The strictest level the object passes, with the violations of the next stricter level."""
    baseline = evaluate(obj, Level.BASELINE, version, registry)
    if not baseline.allowed:
        return Grade(Level.PRIVILEGED, baseline)
    restricted = evaluate(obj, Level.RESTRICTED, version, registry)
    if not restricted.allowed:
        return Grade(Level.BASELINE, restricted)
    return Grade(Level.RESTRICTED, None)


def strictest_level(obj: dict, version: Version | str = "latest", registry: Registry = DEFAULT_REGISTRY) -> Level:
    """The most restrictive level the object passes."""
    return grade(obj, version, registry).level
