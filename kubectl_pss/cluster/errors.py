"""Errors of the cluster layer: one clear line each (``str(e)``), never a traceback for the user."""
from __future__ import annotations

from typing import Any


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


class ClusterError(Exception):
    """Base error. ``status`` is the HTTP status (None when no answer), ``reason`` the Status reason."""

    default_reason: str | None = None

    def __init__(self, message: str, *, status: int | None = None, reason: str | None = None,
                 details: dict[str, Any] | None = None, warnings: list[str] | None = None):
        self.message = _one_line(message)
        self.status = status
        self.reason = reason or self.default_reason
        self.details = details or {}
        self.warnings = list(warnings or [])
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


class Unauthorized(ClusterError):
    """401: the credentials were rejected."""

    default_reason = "Unauthorized"


class Forbidden(ClusterError):
    """403: RBAC said no."""

    default_reason = "Forbidden"


class NotFound(ClusterError):
    """404."""

    default_reason = "NotFound"


class Gone(ClusterError):
    """410: e.g. an expired continue token (reason Expired)."""

    default_reason = "Expired"


class Invalid(ClusterError):
    """422: validation failed; ``details["causes"]`` has the fields."""

    default_reason = "Invalid"


class TooManyRequests(ClusterError):
    """429 after the retries ran out."""

    default_reason = "TooManyRequests"


class UnexpectedAnswer(ClusterError):
    """A 2xx answer that is not the JSON object asked for (an HTML login page from a proxy, an empty body,
    a JSON array, broken JSON): never data."""


class CutShort(ClusterError):
    """The answer stopped before its end (fewer bytes than Content-Length, connection closed mid-body):
    the server was reached, its answer is incomplete."""


class ClusterUnreachable(ClusterError):
    """No HTTP answer: connection refused, DNS, TLS, timeout."""


class ConfigError(ClusterError):
    """Bad kubeconfig, unknown context, failing exec credential plugin."""


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP arrived while a debug pod existed (``signum`` says which)."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


_BY_STATUS: dict[int, type[ClusterError]] = {
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    410: Gone,
    422: Invalid,
    429: TooManyRequests,
}


def error_for_status(status: int) -> type[ClusterError]:
    return _BY_STATUS.get(status, ClusterError)
