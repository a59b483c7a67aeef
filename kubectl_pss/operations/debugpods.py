"""The one per-node debug-pod runner: a short-lived privileged pod per node, in turn, each creation
and deletion said on stderr and listed (the ledger), and one stop rule for refusals that hold on
every node. ``nodes --node-inspect``, ``verify-seccomp --node-inspect`` and ``seccomp install`` use it.
"""
from __future__ import annotations

import sys
import threading
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any, Callable, TypeVar

from ..cluster.debugpod import DEFAULT_IMAGE

T = TypeVar("T")
R = TypeVar("R")


@dataclass
class DebugPodSettings:
    """The debug pods' flags (``--image``, ``--debug-namespace``, ``--seccomp-root``, ``--pod-timeout``)."""

    image: str = DEFAULT_IMAGE
    namespace: str | None = None  # None: the context's namespace
    seccomp_root: str | None = None  # None: the kubelet's <--root-dir>/seccomp, read on each node
    pod_timeout: float = 120.0
    parallel: int = 4  # nodes at a time


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
                  f"of debug pod {where}, to delete it", file=sys.stderr)
        elif event == "still-deleting":
            print(f"interrupted again: finishing the clean-up of debug pod {where} (a few seconds at most)",
                  file=sys.stderr)
        elif event == "delete-failed":
            entry["error"] = pod.delete_error
            error = f"could not delete debug pod {where}: {pod.delete_error}; delete it with: {delete_it}"
            self.errors.append({"node": pod.node, "message": error})
            if pod.interrupted:  # its report never comes: one line that says what is true and what to do
                print(f"debug pod {where} may still exist: delete it with: {delete_it}", file=sys.stderr)
        else:
            raise ValueError(f"unknown debug pod event {event!r}")

    def left_behind_note(self) -> str | None:
        left = [d for d in self.pods if not d["deleted"]]
        if not left:
            return None
        return "debug pods possibly left behind: " + ", ".join(f"{d['namespace']}/{d['name']}" for d in left)


def _progress() -> Callable[[str], None] | None:
    from .progress import progress_printer

    return progress_printer()


class NodeRunner:
    """Runs work in one debug pod per node, up to ``settings.parallel`` nodes at once (``map``).

    Clean-up with several nodes at once: on Ctrl-C (or any error) in the main thread, every worker is
    told to stop at its next step (``abort``), and the main thread itself deletes every debug pod
    still alive (also one whose create is in flight), then waits for the workers, which delete any
    pod they create after that.

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
        self.abort = threading.Event()
        self._alive: set[Any] = set()
        self._lock = threading.Lock()
        self._progress = _progress()

    @property
    def debug_pods(self) -> list[dict]:
        return self.ledger.pods

    @staticmethod
    def skipped(node: dict | None) -> str | None:
        """The one rule for every command: why no debug pod is tried on ``node`` (None: try it)."""
        from ..confinement.nodes.host import debug_pod_skip

        return debug_pod_skip(node)

    def run(self, node: str, work: Callable[[Any], T]) -> T:
        """``work(pod)`` in a debug pod on ``node``; NodeFailure when the node could not be done."""
        from ..cluster.debugpod import DebugPodError, DebugPodSpec, NodeDebugPod
        from ..cluster.errors import ClusterError, Forbidden

        if self.stop:
            raise NodeFailure(self.stop)
        if self.abort.is_set():
            raise KeyboardInterrupt()
        spec = DebugPodSpec(image=self.settings.image, name_prefix=self.prefix)
        namespace = self.settings.namespace or self.cluster.namespace
        pod = NodeDebugPod(self.cluster, node, namespace=namespace, spec=spec, on_event=self.ledger,
                           start_timeout=self.settings.pod_timeout, abort=self.abort)
        with self._lock:
            self._alive.add(pod)
        try:
            with pod:
                return work(pod)
        except NodeFailure as exc:
            raise self._failure(str(exc), exc.stop) from None
        except DebugPodError as exc:  # 403 refused, 404 no such namespace: the same on every node
            raise self._failure(str(exc), exc.status in (403, 404)) from None
        except Forbidden as exc:
            raise self._failure(f"exec into the debug pod is forbidden: {exc}", True) from None
        except ClusterError as exc:
            raise self._failure(f"{self.failed}{exc}", False) from None
        finally:
            with self._lock:
                self._alive.discard(pod)

    def map(self, items: list[T], fn: Callable[[T], R], name: Callable[[T], str] = str) -> list[R]:
        """``[fn(i) for i in items]``, ``settings.parallel`` at a time, in order; progress per node on
        stderr (a terminal only). On Ctrl-C every debug pod alive is deleted before it propagates."""
        done = [0]

        def one(item: T) -> R:
            result = fn(item)
            with self._lock:
                done[0] += 1
                if self._progress is not None:
                    self._progress(f"nodes: {done[0]}/{len(items)} done ({name(item)})")
            return result

        from ..cluster.signals import signals_raise

        workers = min(self.settings.parallel, len(items) - 1)
        try:
            if workers <= 1:
                return [one(i) for i in items]
            # the first node alone: a refusal that holds on every node (the stop rule) is found once
            first = one(items[0])
            with signals_raise():  # SIGTERM/SIGHUP in the main thread too, while workers hold debug pods
                pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="node")
                futures = [pool.submit(one, item) for item in items[1:]]
                try:
                    return [first] + [f.result() for f in futures]
                except BaseException:
                    self._clean_up(futures)
                    raise
                finally:
                    pool.shutdown(wait=False, cancel_futures=True)
        finally:
            order = {name(item): i for i, item in enumerate(items)}  # the report lists pods in the nodes' order
            self.ledger.pods.sort(key=lambda d: order.get(d["node"], len(order)))
            if self._progress is not None:
                self._progress("")

    def _clean_up(self, futures: list[Any]) -> None:
        """Stop the workers and delete every debug pod alive, signals held back until done."""
        from ..cluster.signals import signals_held

        self.abort.set()
        with signals_held() as received:
            with self._lock:
                alive = list(self._alive)
            for pod in alive:
                pod.interrupted = True
                pod.delete()
            pending = [f for f in futures if not f.done()]
            if pending and not received:  # a worker may have created a pod after that: it deletes it itself
                wait(pending, timeout=60)

    def _failure(self, message: str, stop: bool) -> NodeFailure:
        if stop:
            self.stop = f"{message} (not tried again on the other nodes)"
        return NodeFailure(message, stop)

    def left_behind_note(self) -> str | None:
        return self.ledger.left_behind_note()
