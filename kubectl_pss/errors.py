"""Errors that end a command with a clear one-line message and an exit code."""
from __future__ import annotations

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_ERROR = 2


class FatalError(Exception):
    """Ends the command: one line on stderr (``error: ...``), exit code 2."""

    exit_code = EXIT_ERROR


class UsageError(FatalError):
    """Bad input (flags, files, values)."""
