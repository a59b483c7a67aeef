"""The one per-node debug-pod runner: a short-lived privileged pod per node, in turn, each creation
and deletion said on stderr and listed (the ledger), and one stop rule for refusals that hold on
every node. ``nodes --node-inspect``, ``verify-seccomp --node-inspect`` and ``seccomp install`` use it.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any, Callable, TypeVar

from ..cluster.debugpod import DEFAULT_IMAGE
from ..confinement.model import DEFAULT_SECCOMP_ROOT

T = TypeVar("T")


@dataclass
class DebugPodSettings:
    """The debug pods' flags (``--image``, ``--debug-namespace``, ``--seccomp-root``, ``--pod-timeout``)."""

    image: str = DEFAULT_IMAGE
    namespace: str | None = None  # None: the context's namespace
    seccomp_root: str = DEFAULT_SECCOMP_ROOT
    pod_timeout: float = 120.0


class NodeFailure(Exception):
    """This node cannot be done (the message says why); ``stop``: nor can any other node."""

    def __init__(self, message: str, stop: bool = False):
        super().__init__(message)
        self.stop = stop


class DebugPodLedger:
    """The debug pods a command creates: each creation and deletion said on stderr and listed for its report.

    Pass it as NodeDebugPod's ``on_event``; a pod that could not be deleted becomes an error with the
    command that deletes it (said at once when the command was interrupted: its report never comes).
    """

    def __init__(self, errors: list, what: str) -> None:
        self.pods: list[dict] = []
        self.errors = errors
        self.what = what  # how the pod is privileged, for the "created" line

    def __call__(self, event: str, pod: Any) -> None:
        where = f"{pod.namespace}/{pod.name}"
        delete_it = f"kubectl delete pod -n {pod.namespace} {pod.name}"
        entry = next((d for d in self.pods if d["name"] == pod.name), None)
        if entry is None:  # also a pod whose creation answer never arrived (interrupted)
            entry = {"namespace": pod.namespace, "name": pod.name, "node": pod.node, "deleted": False}
            self.pods.append(entry)
        if event == "created":
            print(f"created debug pod {where} on node {pod.node} ({self.what}; deleted when done)", file=sys.stderr)
        elif event == "deleted":
            entry["deleted"] = True
            print(f"deleted debug pod {where}", file=sys.stderr)
        elif event == "waiting-for-create":
            print(f"interrupted: waiting up to {pod.settle_timeout:g} s for the API server to answer the creation "
                  f"of debug pod {where}, to delete it (Ctrl-C again stops waiting)", file=sys.stderr)
        elif event == "still-deleting":
            print(f"still deleting debug pod {where}; if it stays, delete it with: {delete_it}", file=sys.stderr)
        elif event == "delete-failed":
            entry["error"] = pod.delete_error
            error = f"could not delete debug pod {where}: {pod.delete_error}; delete it with: {delete_it}"
            self.errors.append({"node": pod.node, "message": error})
            if pod.interrupted:
                print(f"error: {error}", file=sys.stderr)
        else:
            raise ValueError(f"unknown debug pod event {event!r}")

    def left_behind_note(self) -> str | None:
        left = [d for d in self.pods if not d["deleted"]]
        if not left:
            return None
        return "debug pods possibly left behind: " + ", ".join(f"{d['namespace']}/{d['name']}" for d in left)


class NodeRunner:
    """Runs work in one debug pod per node, in turn.

    The stop rule: a refusal that holds for every node (creating the pod forbidden, its namespace not
    found, exec into it forbidden, or a ``NodeFailure(stop=True)`` from the work) is not tried again on
    the other nodes: they fail with the same message.
    """

    def __init__(self, cluster: Any, settings: DebugPodSettings, *, prefix: str, what: str,
                 errors: list[dict[str, Any]], failed: str = "node inspection failed: "):
        self.cluster = cluster
        self.settings = settings
        self.prefix = prefix  # the pods' name prefix
        self.failed = failed  # before another ClusterError's message
        self.ledger = DebugPodLedger(errors, what)
        self.stop: str | None = None

    @property
    def debug_pods(self) -> list[dict]:
        return self.ledger.pods

    def run(self, node: str, work: Callable[[Any], T]) -> T:
        """``work(pod)`` in a debug pod on ``node``; NodeFailure when the node could not be done."""
        from ..cluster.debugpod import DebugPodError, DebugPodSpec, NodeDebugPod
        from ..cluster.errors import ClusterError, Forbidden

        if self.stop:
            raise NodeFailure(self.stop)
        spec = DebugPodSpec(image=self.settings.image, name_prefix=self.prefix)
        namespace = self.settings.namespace or self.cluster.namespace
        try:
            with NodeDebugPod(self.cluster, node, namespace=namespace, spec=spec, on_event=self.ledger,
                              start_timeout=self.settings.pod_timeout) as pod:
                return work(pod)
        except NodeFailure as exc:
            raise self._failure(str(exc), exc.stop) from None
        except DebugPodError as exc:  # 403 refused, 404 no such namespace: the same on every node
            raise self._failure(str(exc), exc.status in (403, 404)) from None
        except Forbidden as exc:
            raise self._failure(f"exec into the debug pod is forbidden: {exc}", True) from None
        except ClusterError as exc:
            raise self._failure(f"{self.failed}{exc}", False) from None

    def _failure(self, message: str, stop: bool) -> NodeFailure:
        if stop:
            self.stop = f"{message} (not tried again on the other nodes)"
        return NodeFailure(message, stop)

    def left_behind_note(self) -> str | None:
        return self.ledger.left_behind_note()
