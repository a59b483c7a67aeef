"""The data a check module declares: its id, level and versioned revisions."""
from __future__ import annotations

from dataclasses import dataclass

from ..helpers import CheckFn
from ..levels import Level


@dataclass(frozen=True, slots=True)
class Revision:
    """One version of a check: in force from ``minimum_minor`` (v1.<minimum_minor>) on."""

    minimum_minor: int
    check: CheckFn
    overrides: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Check:
    """A Pod Security check: upstream id, level and revisions in increasing version order."""

    id: str
    level: Level
    revisions: tuple[Revision, ...]


_REGISTERED: list[Check] = []


def register(check: Check) -> Check:
    """Add a check to the default set (each check module registers its own, as upstream's do)."""
    _REGISTERED.append(check)
    return check


def registered() -> tuple[Check, ...]:
    return tuple(_REGISTERED)
