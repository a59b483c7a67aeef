"""``kubectl pss fix -f``: read manifest sources, fix their text, write them back in place."""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field

from ..fix.document import FixedText, fix_text
from ..manifests import LoadError, read_sources
from ..policy import Level, Version


@dataclass
class FixedSource:
    path: str  # "-" for stdin
    source: str  # as reports name it ("<stdin>" for -)
    before: str
    fixed: FixedText


@dataclass
class FixRun:
    sources: list[FixedSource] = field(default_factory=list)
    errors: list[LoadError] = field(default_factory=list)

    @property
    def all_errors(self) -> list[LoadError]:
        return self.errors + [e for s in self.sources for e in s.fixed.errors]


def fix_sources(paths: list[str], level: Level, version: Version, allow: frozenset[str]) -> FixRun:
    run = FixRun()
    for read in read_sources(paths):
        if isinstance(read, LoadError):
            run.errors.append(read)
            continue
        source, text = read
        path = "-" if source == "<stdin>" else source
        run.sources.append(FixedSource(path, source, text, fix_text(source, text, level, version, allow)))
    if not run.sources and not run.errors:
        run.errors.append(LoadError(", ".join(paths), None, "no Kubernetes objects found"))
    return run


def write_in_place(source: FixedSource) -> None:
    """Replace the file by its fixed text (a new file renamed over it, mode kept); raises OSError."""
    if source.fixed.text == source.before:
        return
    directory = os.path.dirname(source.path) or "."
    mode = os.stat(source.path).st_mode & 0o7777
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".kubectl-pss-fix-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(source.fixed.text)
        os.chmod(tmp, mode)
        os.replace(tmp, source.path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
