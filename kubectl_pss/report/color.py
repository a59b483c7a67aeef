"""Colour by level, following kubectl's rule: a TTY, TERM not dumb, NO_COLOR unset, no --no-color."""
from __future__ import annotations

import os
import sys
from typing import TextIO

from .render import palette_in_use, terminal_safe

_CODES = {"good": "32", "warning": "33", "error": "31", "dim": "2", "bold": "1"}
# The one mapping of Pod Security levels to colours, in every table: a level met is green (restricted),
# yellow (baseline) or red (privileged only); a level failed takes the colour of the level below it, so a
# workload that fails restricted is yellow, never green.
LEVEL_STYLES = {"restricted": "good", "baseline": "warning", "privileged": "error"}
FAILED_LEVEL_STYLES = {"restricted": "warning", "baseline": "error", "privileged": "error"}


def color_enabled(stream: TextIO, no_color: bool = False) -> bool:
    if no_color or "NO_COLOR" in os.environ or os.environ.get("TERM") == "dumb":
        return False
    try:
        if not stream.isatty():
            return False
    except (AttributeError, ValueError):
        return False
    if sys.platform == "win32":  # only Windows needs colorama to translate ANSI codes
        import colorama

        colorama.just_fix_windows_console()
    return True


class Palette:
    """Wraps text in ANSI colours when enabled, otherwise returns it unchanged."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        if enabled:
            palette_in_use()

    def paint(self, text: str, style: str) -> str:
        code = _CODES.get(LEVEL_STYLES.get(style, style))  # a level name paints as a level met
        text = terminal_safe(text)  # painted text may come from the cluster: only our colours are raw
        if not self.enabled or code is None or not text:
            return text
        return f"\x1b[{code}m{text}\x1b[0m"

    def level(self, level: str) -> str:
        """A level the namespace or object meets."""
        return self.paint(level, LEVEL_STYLES.get(level, ""))

    def failed_level(self, level: str) -> str:
        """A level the workload fails (the LEVEL column of findings)."""
        return self.paint(level, FAILED_LEVEL_STYLES.get(level, ""))
