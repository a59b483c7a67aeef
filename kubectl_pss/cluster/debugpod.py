"""A short-lived pod on one node, to run commands there (``kubectl debug node/NAME`` without kubectl):
created, waited for, used through exec, and always deleted.

    with NodeDebugPod(cluster, "node-a", image="busybox:1.36", namespace="default",
                      on_event=print) as pod:
        result = pod.run_on_host(["crictl", "inspect", "-o", "json", container_id])

By default the pod is what a node inspection needs: privileged, hostPID, hostNetwork and hostIPC
(it works when the pod network does not), the node's ``/`` mounted at ``/host``, tolerating every
taint, pinned with ``spec.nodeName`` (no scheduler), no service-account token, and
``activeDeadlineSeconds`` so that even a ``kill -9`` of this process leaves nothing running for long.
Every one of those is a parameter (see ``DebugPodSpec``).

Clean-up: the pod is deleted (grace period 0) in ``__exit__`` on success, on error, on Ctrl-C
(KeyboardInterrupt) and on SIGTERM/SIGHUP (turned into ``Terminated``, a KeyboardInterrupt, while a
debug pod exists; main thread only). Signals that arrive during the deletion are held back until it
is done. The name is chosen here (not ``generateName``; labels ``app.kubernetes.io/managed-by`` and
``kubectl-pss/run``), so a pod whose creation was interrupted before the answer arrived is deleted
too: the create runs in a thread that Ctrl-C does not cut off, and the clean-up waits for it to
return (at most CREATE_SETTLE_TIMEOUT; after Ctrl-C again at most SIGNAL_GRACE) before its DELETE, because a 404
while a slow admission webhook still holds the create proves nothing. ``on_event(event, pod)``
reports ``created``, ``deleted``, ``delete-failed`` (``delete_error`` says why; after an interrupt
the pod may exist), ``waiting-for-create`` and ``still-deleting`` (a signal during the clean-up), so
that a command can say which pods it made and how to delete one left behind.
"""
from __future__ import annotations

import contextlib
import re
import secrets
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from .errors import ClusterError, Forbidden, NotFound, Terminated
from .exec import ExecResult, exec_argv
from .signals import signal_exception, signals_held, signals_raise

DEFAULT_IMAGE = "busybox:1.36"
CONTAINER = "debugger"
MANAGED_BY = {"app.kubernetes.io/managed-by": "kubectl-pss", "app.kubernetes.io/component": "node-debug"}
RUN_LABEL = "kubectl-pss/run"
# this process's run: the value of RUN_LABEL on each of its debug pods (UTC start time and a random part)
RUN_ID = f"{time.strftime('%Y%m%dt%H%M%S', time.gmtime())}-{secrets.token_hex(3)}"
GONE_TIMEOUT = 30.0  # seconds a deleted pod is asked after (GET until 404) before its delete is called failed
CREATE_SETTLE_TIMEOUT = 40.0  # seconds an interrupted create is waited for (admission webhooks: at most 30 s)
SIGNAL_GRACE = 5.0  # seconds the create is still waited for after Ctrl-C during the clean-up, to DELETE it
_FAIL_FAST = {"ErrImagePull", "ImagePullBackOff", "InvalidImageName", "CreateContainerConfigError",
              "CreateContainerError", "RunContainerError", "CrashLoopBackOff", "ErrImageNeverPull"}


class DebugPodError(ClusterError):
    """The debug pod could not be created or never ran."""


@dataclass
class DebugPodSpec:
    """What the pod looks like. The defaults are a privileged node-inspection pod."""

    image: str = DEFAULT_IMAGE
    host_root: str | None = "/host"  # where the node's / is mounted (None: not mounted)
    privileged: bool = True
    host_pid: bool = True
    host_network: bool = True
    host_ipc: bool = True
    lifetime: int = 900  # seconds: activeDeadlineSeconds, and how long the container sleeps
    command: list[str] | None = None  # default: ["sleep", str(lifetime)]
    tolerate_all: bool = True
    name_prefix: str = "pss-debug"
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)


_SAFE_NAME = re.compile(r"[^a-z0-9-]+")


def dns_label_part(text: str, limit: int) -> str:
    """``text`` made safe for a pod name (lower case, [a-z0-9-]), at most ``limit`` characters."""
    out = _SAFE_NAME.sub("-", text.lower()).strip("-")[:limit].strip("-")
    return out or "x"


def debug_pod_name(prefix: str, node: str) -> str:
    """``<prefix>-<node>-<5 random>``: a valid pod name of at most 63 characters."""
    suffix = "".join(secrets.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(5))
    head = dns_label_part(prefix, 20)
    return f"{head}-{dns_label_part(node, 63 - len(head) - 7)}-{suffix}"


def debug_pod_manifest(name: str, namespace: str, node: str, spec: DebugPodSpec) -> dict[str, Any]:
    """The Pod object to create (pure)."""
    container: dict[str, Any] = {
        "name": CONTAINER,
        "image": spec.image,
        "command": list(spec.command or ["sleep", str(spec.lifetime)]),
        "imagePullPolicy": "IfNotPresent",
        "stdin": False,
        "tty": False,
        "terminationMessagePolicy": "FallbackToLogsOnError",
    }
    if spec.privileged:
        container["securityContext"] = {"privileged": True}
    pod_spec: dict[str, Any] = {
        "nodeName": node,
        "restartPolicy": "Never",
        "terminationGracePeriodSeconds": 0,
        "activeDeadlineSeconds": spec.lifetime,
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "containers": [container],
    }
    if spec.host_pid:
        pod_spec["hostPID"] = True
    if spec.host_network:
        pod_spec["hostNetwork"] = True
        pod_spec["dnsPolicy"] = "ClusterFirstWithHostNet"
    if spec.host_ipc:
        pod_spec["hostIPC"] = True
    if spec.tolerate_all:
        pod_spec["tolerations"] = [{"operator": "Exists"}]
    if spec.host_root:
        container["volumeMounts"] = [{"name": "host-root", "mountPath": spec.host_root}]
        pod_spec["volumes"] = [{"name": "host-root", "hostPath": {"path": "/"}}]
    labels = {**MANAGED_BY, RUN_LABEL: RUN_ID, **spec.labels}
    metadata: dict[str, Any] = {"name": name, "namespace": namespace, "labels": labels}
    if spec.annotations:
        metadata["annotations"] = dict(spec.annotations)
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": pod_spec}


Runner = Callable[..., ExecResult]  # exec_argv's signature


class _Background:
    """A call in a daemon thread: a signal in the main thread does not cut it off mid-request."""

    def __init__(self, call: Callable[[], Any], name: str):
        self.result: Any = None
        self.error: BaseException | None = None
        # an Event, not Thread.join: a join cut short by KeyboardInterrupt can leave is_alive() wrong
        self._finished = threading.Event()
        threading.Thread(target=self._run, args=(call,), name=name, daemon=True).start()

    def _run(self, call: Callable[[], Any]) -> None:
        try:
            self.result = call()
        except BaseException as exc:  # handed to the main thread
            self.error = exc
        finally:
            self._finished.set()

    def done(self) -> bool:
        return self._finished.is_set()

    def wait(self, timeout: float) -> bool:
        """Wait at most ``timeout`` seconds; True if the call has returned."""
        return self._finished.wait(timeout)


class NodeDebugPod:
    """A pod on ``node`` that commands can be run in; a context manager (see the module docstring).

    ``runner`` is how commands run (``exec_argv`` by default: any callable with its signature),
    ``on_event(event, pod)`` hears ``created``/``deleted``/``delete-failed``, ``start_timeout`` bounds
    the wait for Running, ``poll`` is the first interval between GETs (it grows to 1 s).
    """

    def __init__(self, cluster: Any, node: str, *, namespace: str | None = None, image: str | None = None,
                 spec: DebugPodSpec | None = None, runner: Runner = exec_argv,
                 on_event: Callable[[str, "NodeDebugPod"], None] | None = None, start_timeout: float = 120.0,
                 poll: float = 0.1, sleep: Callable[[float], None] = time.sleep,
                 settle_timeout: float = CREATE_SETTLE_TIMEOUT, gone_timeout: float = GONE_TIMEOUT,
                 abort: threading.Event | None = None):
        self.cluster = cluster
        self.node = node
        self.namespace = namespace or getattr(cluster, "namespace", None) or "default"
        self.spec = spec or DebugPodSpec()
        if image:
            self.spec.image = image
        self.name = debug_pod_name(self.spec.name_prefix, node)
        self.runner = runner
        self.on_event = on_event
        self.start_timeout = start_timeout
        self.poll = poll
        self._sleep = sleep
        self.pod: dict | None = None  # the last object seen
        self.created = False  # a create was sent (it may or may not have succeeded)
        self.deleted = False
        self.delete_error: str | None = None
        self.interrupted = False  # the clean-up runs because of Ctrl-C or SIGTERM
        self.settle_timeout = settle_timeout
        self.gone_timeout = gone_timeout
        self.abort = abort  # set by another thread (Ctrl-C with several nodes at once): stop at the next step
        self._delete_lock = threading.Lock()
        self._signals: contextlib.ExitStack | None = None
        self._announced = False
        self._create_call: _Background | None = None
        self._create_taken = False  # the create's answer was looked at
        self._held: list[int] = []  # signals received during the clean-up
        self._signalled_at: float | None = None  # when the first of them came
        self.signal_grace = SIGNAL_GRACE

    def __repr__(self) -> str:
        return f"NodeDebugPod({self.namespace}/{self.name} on {self.node})"

    @property
    def path(self) -> str:
        return f"/api/v1/namespaces/{self.namespace}/pods/{self.name}"

    def manifest(self) -> dict[str, Any]:
        return debug_pod_manifest(self.name, self.namespace, self.node, self.spec)

    # -- lifecycle ------------------------------------------------------------------------------
    def __enter__(self) -> "NodeDebugPod":
        self._signals = contextlib.ExitStack()
        self._signals.enter_context(signals_raise())
        try:
            self.create()
            self.wait_running()
        except BaseException:
            self.__exit__(*sys.exc_info())
            raise
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self.interrupted = exc_type is not None and issubclass(exc_type, KeyboardInterrupt)
        try:
            with signals_held(self._signalled) as received:
                self._held = received
                self.delete()
        finally:
            if self._signals is not None:
                self._signals.close()
                self._signals = None
        if received and exc_type is None:
            raise signal_exception(received[0])

    def _signalled(self, signum: int) -> None:
        self.interrupted = True
        if self._signalled_at is None:
            self._signalled_at = time.monotonic()
        self._event("still-deleting")

    def _check_abort(self) -> None:
        if self.abort is not None and self.abort.is_set():
            raise KeyboardInterrupt()

    def create(self) -> None:
        self._check_abort()
        self.created = True  # before the request: an interrupted create must still be cleaned up
        with signals_held() as received:  # a signal must not come between the thread's start and knowing it
            call = self._create_call = _Background(
                lambda: self.cluster.request("POST", f"/api/v1/namespaces/{self.namespace}/pods",
                                             body=self.manifest(), content_type="application/json"),
                name=f"create {self.name}")
        if received:
            raise signal_exception(received[0])
        while not call.wait(0.2):  # Ctrl-C here leaves the call running: delete() waits for its answer
            pass
        error = self._take_create_answer()
        if error is not None:
            raise error

    def _take_create_answer(self) -> BaseException | None:
        """Look at the returned create call once: what to raise (None: the pod exists)."""
        assert self._create_call is not None and self._create_call.done()
        if self._create_taken:
            return None
        self._create_taken = True
        exc = self._create_call.error
        where = f"debug pod {self.namespace}/{self.name} on node {self.node}"
        if isinstance(exc, Forbidden):
            self.created = False
            return DebugPodError(f"cannot create {where}: {exc} (it is privileged: pick a namespace that allows it)",
                                 status=403, reason=exc.reason)
        if isinstance(exc, ClusterError) and exc.status != 409:  # 409 AlreadyExists: a retry of this very create
            if exc.status is not None and 400 <= exc.status < 500:
                self.created = False  # refused: nothing to clean up
            return DebugPodError(f"cannot create {where}: {exc}", status=exc.status, reason=exc.reason)
        if exc is not None and not isinstance(exc, ClusterError):
            return exc
        if exc is None:
            self.pod = self._create_call.result.data
        self._announced = True
        self._event("created")
        return None

    def _settle_create(self) -> bool:
        """Before deleting a pod whose create was interrupted: wait for the create's answer (at most
        ``settle_timeout``, less if a signal comes). True if it returned."""
        call = self._create_call
        if call is None or self._create_taken:
            return True
        if not call.done():
            self._event("waiting-for-create")
            deadline = time.monotonic() + self.settle_timeout
            while not call.wait(0.1):
                if self._signalled_at is not None:  # a signal during the clean-up: wait a little only
                    deadline = min(deadline, self._signalled_at + self.signal_grace)
                if time.monotonic() >= deadline:
                    return False
        self._take_create_answer()  # an error is not raised here: the clean-up goes on
        return True

    def wait_running(self) -> dict:
        deadline = time.monotonic() + self.start_timeout
        interval = self.poll
        while True:
            self._check_abort()
            pod = self.cluster.request("GET", self.path).data or {}
            self.pod = pod
            status = pod.get("status") or {}
            phase = status.get("phase")
            state = next((s.get("state") or {} for s in status.get("containerStatuses") or ()
                          if s.get("name") == CONTAINER), {})
            if phase == "Running" and state.get("running") is not None:
                return pod
            waiting = state.get("waiting") or {}
            if phase in ("Succeeded", "Failed") or state.get("terminated") is not None:
                why = (state.get("terminated") or {}).get("reason") or status.get("reason") or phase
                raise DebugPodError(f"debug pod {self.namespace}/{self.name} on node {self.node} stopped: {why}")
            if waiting.get("reason") in _FAIL_FAST:
                raise DebugPodError(f"debug pod {self.namespace}/{self.name} on node {self.node} cannot start: "
                                    f"{waiting.get('reason')}: {waiting.get('message') or self.spec.image}")
            if time.monotonic() >= deadline:
                where = waiting.get("reason") or phase or "Pending"
                raise DebugPodError(f"debug pod {self.namespace}/{self.name} on node {self.node} not running after "
                                    f"{self.start_timeout:g} s ({where})")
            self._sleep(interval)
            interval = min(interval * 2, 1.0)

    def delete(self) -> None:
        """Delete now (grace period 0) and keep at it until the API server answers NotFound (a DELETE
        answered 200 is not yet gone), at most ``gone_timeout``; a pod already gone counts as deleted
        once its create has returned (not before: a slow webhook may still be creating it). Never
        raises ClusterError. Safe from several threads (one deletes, the others wait)."""
        with self._delete_lock:
            self._delete()

    def _delete(self) -> None:
        if not self.created or self.deleted:
            return
        settled = self._settle_create()
        if not self.created:  # the create was refused after all
            return
        deadline = time.monotonic() + self.gone_timeout
        interval = self.poll
        answered = False  # a DELETE was answered 200: the pod existed
        while True:
            try:  # DELETE again each round: a pod re-created or stuck is asked again, by name
                self.cluster.request("DELETE", self.path, query=[("gracePeriodSeconds", "0")])
                answered = True
                self.cluster.request("GET", self.path)
            except NotFound:
                if not settled:
                    self.delete_error = "its create had not returned: the API server may still create it"
                    self._event("delete-failed")
                    return
                self.deleted = True
                if self._announced or answered:  # it existed, and is gone now
                    self._event("deleted")
                return
            except ClusterError as exc:
                if isinstance(exc, Forbidden) or time.monotonic() >= deadline:
                    self.delete_error = str(exc)
                    self._event("delete-failed")
                    return
            if time.monotonic() >= deadline:
                self.delete_error = f"it was still there {self.gone_timeout:g} s after its deletion"
                self._event("delete-failed")
                return
            self._sleep(interval)
            interval = min(interval * 2, 1.0)

    # -- use ------------------------------------------------------------------------------------
    def run(self, argv: Sequence[str], *, timeout: float | None = None, check: bool = False) -> ExecResult:
        """Run ``argv`` in the debug container."""
        return self.runner(self.cluster, self.namespace, self.name, CONTAINER, list(argv), timeout=timeout, check=check)

    def run_on_host(self, argv: Sequence[str], *, timeout: float | None = None, check: bool = False) -> ExecResult:
        """Run ``argv`` in the node's root filesystem: ``chroot /host ARGV`` (needs ``host_root``)."""
        if not self.spec.host_root:
            raise ValueError("this debug pod does not mount the host's root")
        return self.run(["chroot", self.spec.host_root, *argv], timeout=timeout, check=check)

    def _event(self, name: str) -> None:
        if self.on_event is not None:
            self.on_event(name, self)


# --- ephemeral debug containers -----------------------------------------------------------------
def add_ephemeral_container(cluster: Any, namespace: str, pod: str, target: str, *, image: str = DEFAULT_IMAGE,
                            command: Sequence[str] = ("sleep", "300"), start_timeout: float = 60.0,
                            poll: float = 0.1, sleep: Callable[[float], None] = time.sleep) -> str:
    """Add an ephemeral container to ``pod`` that shares ``target``'s process namespace (like
    ``kubectl debug --target``), wait until it runs, and return its name (exec into it with exec_argv).

    Ephemeral containers cannot be removed: it stays in the pod's spec, and stops when ``command``
    ends (so keep it short). Raises DebugPodError (Forbidden kept as ``status`` 403)."""
    name = debug_pod_name("pss-probe", target)[:63]
    path = f"/api/v1/namespaces/{namespace}/pods/{pod}"
    body = {"spec": {"ephemeralContainers": [{
        "name": name, "image": image, "command": list(command), "targetContainerName": target,
        "imagePullPolicy": "IfNotPresent", "stdin": False, "tty": False, "terminationMessagePolicy": "File"}]}}
    try:
        cluster.request("PATCH", path + "/ephemeralcontainers", body=body,
                        content_type="application/strategic-merge-patch+json")
    except ClusterError as exc:
        raise DebugPodError(f"cannot add a debug container to pod {namespace}/{pod}: {exc}", status=exc.status,
                            reason=exc.reason) from None
    deadline = time.monotonic() + start_timeout
    interval = poll
    while True:
        data = cluster.request("GET", path).data or {}
        state = next(((s.get("state") or {}) for s in (data.get("status") or {}).get("ephemeralContainerStatuses") or ()
                      if s.get("name") == name), {})
        if state.get("running") is not None:
            return name
        waiting = state.get("waiting") or {}
        if state.get("terminated") is not None or waiting.get("reason") in _FAIL_FAST:
            why = waiting.get("reason") or (state.get("terminated") or {}).get("reason") or "terminated"
            raise DebugPodError(f"debug container {name} in pod {namespace}/{pod} cannot run: {why}")
        if time.monotonic() >= deadline:
            raise DebugPodError(f"debug container {name} in pod {namespace}/{pod} not running after "
                                f"{start_timeout:g} s ({waiting.get('reason') or 'no status'})")
        sleep(interval)
        interval = min(interval * 2, 1.0)
