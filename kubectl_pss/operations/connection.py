"""The run's one connection to the API server, made when first needed (kubectl's Factory role).

An exec credential plugin runs when the client is made: one ``Connection`` per command keeps it
to one run, whichever operations ask for the cluster.
"""
from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..cluster.client import Cluster, ConnectionOptions


class Connection:
    """Holds the connection flags; ``cluster()`` connects on the first call and returns the same client after."""

    def __init__(self, options: "ConnectionOptions"):
        self.options = options
        self._cluster: "Cluster | None" = None

    def __repr__(self) -> str:
        return f"Connection({self.options!r}, connected={self._cluster is not None})"

    @property
    def connected(self) -> bool:
        return self._cluster is not None

    def cluster(self) -> "Cluster":
        """The client (ClusterError when the kubeconfig or the server says no)."""
        if self._cluster is None:
            from ..cluster.kubeconfig import connect

            self._cluster = connect(self.options)
        return self._cluster

    def with_context(self, context: str) -> None:
        """Choose the kubeconfig context (before the first ``cluster()``)."""
        if self._cluster is not None:
            raise RuntimeError("the connection is made already")
        self.options = dataclasses.replace(self.options, context=context)

    def close(self) -> None:
        if self._cluster is not None:
            self._cluster.close()

    def __enter__(self) -> "Connection":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def read_server(cluster: "Cluster", notes: list[str]) -> "dict[str, Any] | None":
    """The API server as reports name it (``{gitVersion, minor}``) from one GET /version on the run's client;
    a failure is a note, never fatal: the rest of the report does not depend on it."""
    from ..cluster.errors import ClusterError

    try:
        version = cluster.server_version()
    except ClusterError as exc:
        notes.append(version_unread(str(exc)))
        return None
    return server_of(version)


def server_of(version: "dict[str, Any] | None") -> "dict[str, Any] | None":
    """/version's answer as the envelope's ``server``."""
    from ..report.envelope import server_info
    from .cluster_state import server_minor

    return server_info(version, server_minor(version))


def version_unread(why: str) -> str:
    return f"the server's version could not be read (GET /version): {why}"
