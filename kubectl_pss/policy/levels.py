"""Pod Security levels and policy versions, parsed exactly as the API server parses them."""
from __future__ import annotations

import enum
import re
from dataclasses import dataclass

_VERSION_RE = re.compile(r"v1\.(0|[1-9][0-9]*)")  # used with fullmatch: no trailing newline


class Level(str, enum.Enum):
    """A Pod Security Standards level; compares by strictness."""

    PRIVILEGED = "privileged"
    BASELINE = "baseline"
    RESTRICTED = "restricted"

    @property
    def rank(self) -> int:
        return _RANK[self]

    def __lt__(self, other: object) -> bool:  # type: ignore[override]
        if not isinstance(other, Level):
            return NotImplemented
        return self.rank < other.rank

    def __le__(self, other: object) -> bool:  # type: ignore[override]
        if not isinstance(other, Level):
            return NotImplemented
        return self.rank <= other.rank

    def __gt__(self, other: object) -> bool:  # type: ignore[override]
        if not isinstance(other, Level):
            return NotImplemented
        return self.rank > other.rank

    def __ge__(self, other: object) -> bool:  # type: ignore[override]
        if not isinstance(other, Level):
            return NotImplemented
        return self.rank >= other.rank

    def __str__(self) -> str:
        return self.value

    def stricter(self) -> "Level | None":
        """The next stricter level, or None for restricted."""
        return {Level.PRIVILEGED: Level.BASELINE, Level.BASELINE: Level.RESTRICTED}.get(self)


_RANK = {Level.PRIVILEGED: 0, Level.BASELINE: 1, Level.RESTRICTED: 2}
LEVELS = (Level.PRIVILEGED, Level.BASELINE, Level.RESTRICTED)

LEVEL_ERROR = "must be one of privileged, baseline, restricted"
VERSION_ERROR = 'must be "latest" or "v1.x"'


class PolicyValueError(ValueError):
    """A level or version string the API server would reject."""


def parse_level(text: object) -> Level:
    """Parse a level label value (case-sensitive, as the API server does)."""
    for level in LEVELS:
        if text == level.value:
            return level
    raise PolicyValueError(LEVEL_ERROR)


@dataclass(frozen=True, slots=True)
class Version:
    """A policy version: ``v1.<minor>`` or ``latest`` (minor None)."""

    minor: int | None

    @property
    def is_latest(self) -> bool:
        return self.minor is None

    def __str__(self) -> str:
        return "latest" if self.minor is None else f"v1.{self.minor}"


LATEST = Version(None)


def parse_version(text: object) -> Version:
    """Parse a version label value: ``latest`` or ``v1.N`` with no leading zeros."""
    if text == "latest":
        return LATEST
    if isinstance(text, str):
        match = _VERSION_RE.fullmatch(text)
        if match:
            return Version(int(match.group(1)))
    raise PolicyValueError(VERSION_ERROR)


def level_version(level: Level, version: Version) -> str:
    """Print a level/version pair as the API server does: ``restricted:latest``."""
    return f"{level.value}:{version}"
