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
