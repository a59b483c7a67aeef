"""The registry of versioned checks: a precomputed check plan for every (level, version).

Mirrors upstream policy/registry.go: checks are validated, expanded into a table from v1.0
to the newest version any check defines, restricted checks override the baseline checks
they name, and each plan runs baseline ids (sorted) then restricted ids (sorted).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

from .checks import ALL, Check
from .helpers import CheckFn
from .levels import Level, Version


@dataclass(frozen=True, slots=True)
class PlannedCheck:
    """A check as it runs in one plan: its id and the revision's function."""

    id: str
    level: Level
    run: CheckFn


class RegistryError(ValueError):
    """The check list breaks an invariant upstream's registry enforces."""


def _validate(checks: tuple[Check, ...]) -> None:
    ids = [c.id for c in checks]
    if len(set(ids)) != len(ids):
        raise RegistryError("duplicate check id")
    by_id = {c.id: c for c in checks}
    for check in checks:
        if check.level not in (Level.BASELINE, Level.RESTRICTED):
            raise RegistryError(f"check {check.id}: invalid level {check.level}")
        if not check.revisions:
            raise RegistryError(f"check {check.id}: no revisions")
        minors = [r.minimum_minor for r in check.revisions]
        if any(b <= a for a, b in zip(minors, minors[1:])):
            raise RegistryError(f"check {check.id}: revisions not in strictly increasing version order")
        for revision in check.revisions:
            for overridden in revision.overrides:
                target = by_id.get(overridden)  # an unknown id is tolerated, as upstream does
                if check.level is not Level.RESTRICTED or (target is not None and target.level is not Level.BASELINE):
                    raise RegistryError(f"check {check.id}: may only override a baseline check from restricted")


def _revision_at(check: Check, minor: int):
    current = None
    for revision in check.revisions:
        if revision.minimum_minor <= minor:
            current = revision
    return current


class Registry:
    """Check plans for every level and version from v1.0 to ``max_minor``."""

    def __init__(self, checks: tuple[Check, ...] = ALL, max_minor: int | None = None, overrides: bool = True) -> None:
        """``overrides`` False: restricted plans keep the baseline checks restricted ones override, as
        PodSecurity before v1.25 ran them (it repeats e.g. seccompProfile for an Unconfined profile)."""
        _validate(checks)
        newest = max((r.minimum_minor for c in checks for r in c.revisions), default=0)
        self.max_minor = newest if max_minor is None else min(newest, max_minor)
        self.checks = {c.id: c for c in checks}
        self._plans: dict[tuple[Level, int], tuple[PlannedCheck, ...]] = {}
        baseline = sorted((c for c in checks if c.level is Level.BASELINE), key=lambda c: c.id.encode())
        restricted = sorted((c for c in checks if c.level is Level.RESTRICTED), key=lambda c: c.id.encode())
        for minor in range(self.max_minor + 1):
            base_plan = [
                PlannedCheck(c.id, c.level, rev.check) for c in baseline if (rev := _revision_at(c, minor)) is not None
            ]
            self._plans[(Level.BASELINE, minor)] = tuple(base_plan)
            restricted_plan = []
            overridden: set[str] = set()
            for c in restricted:
                rev = _revision_at(c, minor)
                if rev is not None:
                    restricted_plan.append(PlannedCheck(c.id, c.level, rev.check))
                    if overrides:
                        overridden.update(rev.overrides)
            self._plans[(Level.RESTRICTED, minor)] = tuple(
                [p for p in base_plan if p.id not in overridden] + restricted_plan
            )
            self._plans[(Level.PRIVILEGED, minor)] = ()

    def effective_minor(self, version: Version) -> int:
        """The version a request evaluates at: ``latest`` and future versions clamp to the newest."""
        if version.minor is None or version.minor > self.max_minor:
            return self.max_minor
        return version.minor

    def plan(self, level: Level, version: Version) -> tuple[PlannedCheck, ...]:
        return self._plans[(level, self.effective_minor(version))]

    def check_at(self, check_id: str, version: Version) -> CheckFn | None:
        """The revision of one check in force at a version (None when it does not exist yet)."""
        revision = _revision_at(self.checks[check_id], self.effective_minor(version))
        return None if revision is None else revision.check


DEFAULT_REGISTRY = Registry()
NEWEST_MINOR = DEFAULT_REGISTRY.max_minor


_BY_MINOR: dict[int, Registry] = {}


@functools.lru_cache(maxsize=None)
def without_overrides(registry: Registry) -> Registry:
    """The same checks and versions, run the way PodSecurity before v1.25 did (no overrides)."""
    return Registry(tuple(registry.checks.values()), registry.max_minor, overrides=False)


def registry_for(max_minor: int | None) -> Registry:
    """The registry of a cluster whose API server is at 1.<max_minor> (its ``latest``); None: the newest."""
    if max_minor is None or max_minor >= NEWEST_MINOR:
        return DEFAULT_REGISTRY
    if max_minor not in _BY_MINOR:
        _BY_MINOR[max_minor] = Registry(max_minor=max(max_minor, 0))
    return _BY_MINOR[max_minor]
