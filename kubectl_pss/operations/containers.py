"""Containers to verify (``verify-apparmor``, ``verify-seccomp``): choosing the pods and containers,
their nodes' facts, reading files in containers (exec, or an ephemeral debug container with
``--debug-image``), running probes in parallel, and the report's container entries.
"""
from __future__ import annotations

import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, TypeVar

from ..confinement import model
from ..confinement.model import Expected, Verdict
from ..confinement.pods import (
    ContainerRef,
    NodeFacts,
    is_finished,
    is_windows_pod,
    not_running_detail,
    pod_containers,
    shares_process_namespace,
)
from ..scope import default_scope_note
from .nodes import node_facts_of
from .progress import progress_printer

T = TypeVar("T")
R = TypeVar("R")


@dataclass
class Selection:
    """Which containers: named pods (in one namespace) or every pod of some namespaces, maybe one container."""

    pods: list[str]
    namespaces: list[str] | None  # None: all namespaces; []: the context's namespace
    container: str | None = None
    label_selector: str | None = None  # -l and --field-selector, sent with each list of pods
    field_selector: str | None = None


# --- scope --------------------------------------------------------------------------------------
@dataclass
class Target:
    """A container to verify, with the profile it asks for."""

    pod: dict
    ref: ContainerRef
    expected: Expected

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.ref.namespace, self.ref.pod, self.ref.name)


@dataclass
class Scope:
    context: str
    targets: list[Target] = field(default_factory=list)
    nodes: dict[str, NodeFacts] = field(default_factory=dict)
    errors: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    server: dict[str, Any] | None = None  # the envelope's server, from GET /version
    selection: dict[str, Any] = field(default_factory=dict)  # the report's: what was asked for


def load_scope(cluster: Any, options: Selection, expected_of: Callable[[dict, dict], Expected]) -> Scope:
    """The pods in scope (GET for named pods, lists otherwise), their containers, and their nodes."""
    from ..cluster.errors import ClusterError, NotFound
    from ..cluster.inventory import FATAL

    from .connection import read_server

    scope = Scope(cluster.context)
    scope.server = read_server(cluster, scope.notes)
    pods: list[dict] = []
    if options.pods:
        namespace = options.namespaces[0] if options.namespaces else cluster.namespace
        scope.selection = {"namespaces": [namespace], "pods": options.pods, "labelSelector": None,
                           "fieldSelector": None}
        for name in options.pods:
            try:
                pods.append(cluster.request("GET", f"/api/v1/namespaces/{namespace}/pods/{name}").data or {})
            except NotFound:
                scope.errors.append({"namespace": namespace, "pod": name, "message": f'pods "{name}" not found'})
            except ClusterError as exc:
                scope.errors.append({"namespace": namespace, "pod": name, "message": str(exc)})
    else:
        namespaces = options.namespaces if options.namespaces else ([cluster.namespace] if options.namespaces == []
                                                                    else None)
        if options.namespaces == []:
            print(default_scope_note("verifying", cluster.namespace), file=sys.stderr)
        scope.selection = {"namespaces": namespaces, "pods": [], "labelSelector": options.label_selector,
                           "fieldSelector": options.field_selector}
        paths = ["/api/v1/pods"] if namespaces is None else [f"/api/v1/namespaces/{ns}/pods" for ns in namespaces]
        for ns, path in zip(namespaces or [None], paths):
            try:
                found = list(cluster.list_items(path, label_selector=options.label_selector,
                                                field_selector=options.field_selector))
            except FATAL:  # no point going on (the command reports it)
                raise
            except ClusterError as exc:  # 403, or a 5xx after the retries: reported, the report still printed
                scope.errors.append({"namespace": ns, "pod": None, "message": str(exc)})
                continue
            finished = [p for p in found if is_finished(p)]
            if finished:
                scope.notes.append(f"{len(finished)} finished pod(s) (Succeeded or Failed) skipped"
                                   + (f' in namespace "{ns}"' if ns else ""))
            pods += [p for p in found if not is_finished(p)]
    for pod in pods:
        refs = list(pod_containers(pod))
        if options.container:
            chosen = [r for r in refs if r.name == options.container]
            if not chosen and options.pods:
                md = pod.get("metadata") or {}
                scope.errors.append({"namespace": md.get("namespace"), "pod": md.get("name"),
                                     "message": f'container "{options.container}" not found in pod "{md.get("name")}"'})
            refs = chosen
        for ref in refs:
            scope.targets.append(Target(pod, ref, expected_of(pod, ref.spec)))
    node_names = sorted({t.ref.node for t in scope.targets if t.ref.node})
    scope.nodes = node_facts_of(cluster, node_names, scope.notes)
    return scope


# --- reading files in a container -----------------------------------------------------------------
class Unverifiable(Exception):
    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


RunFn = Callable[[list[str]], "tuple[int, str, str]"]


class ContainerReader:
    """Runs ``cat`` in a target container through exec; where the image has no ``cat`` and a
    ``--debug-image`` was given, through an ephemeral debug container that targets it. Exec errors
    become Unverifiable with a reason; namespaces where exec is forbidden are not asked again."""

    def __init__(self, cluster: Any, debug_image: str | None):
        self.cluster = cluster
        self.debug_image = debug_image
        self._forbidden: dict[str, str] = {}
        self._lock = threading.Lock()
        self.ephemeral: list[dict[str, str]] = []

    def runner(self, target: Target, pid: str) -> RunFn:
        ns, pod, container = target.key
        state = {"container": container}

        def run(argv: list[str]) -> tuple[int, str, str]:
            with self._lock:
                forbidden = self._forbidden.get(ns)
            if forbidden:
                raise Unverifiable(model.EXEC_FORBIDDEN, forbidden)
            try:
                result = self._exec(ns, pod, state["container"], argv)
            except _NoCat:
                if state["container"] != container:  # the debug image has no cat either
                    raise Unverifiable(model.NO_CAT, f"no cat in the debug image {self.debug_image}") from None
                if not self.debug_image:
                    raise Unverifiable(model.NO_CAT, "no cat in the image; use --debug-image IMAGE to read its /proc "
                                       "through an ephemeral debug container") from None
                if pid != "1":
                    raise Unverifiable(model.SHARED_PID_NO_CAT, "no cat in the image, and with shareProcessNamespace "
                                       "a debug container cannot tell the container's own process") from None
                state["container"] = self._ephemeral(ns, pod, container)
                result = self._exec(ns, pod, state["container"], argv)
            return result.exit_code, result.stdout_text, result.stderr_text

        return run

    def _exec(self, ns: str, pod: str, container: str, argv: list[str]) -> Any:
        from ..cluster.errors import ClusterError
        from ..cluster.exec import (
            CommandNotFound,
            ContainerNotFound,
            ExecForbidden,
            ExecNotFound,
            exec_argv,
        )

        try:
            return exec_argv(self.cluster, ns, pod, container, argv)
        except CommandNotFound as exc:
            raise _NoCat(argv[0]) from exc
        except ExecForbidden as exc:
            detail = f"exec forbidden: {exc}"
            with self._lock:
                self._forbidden.setdefault(ns, detail)
            raise Unverifiable(model.EXEC_FORBIDDEN, detail) from None
        except ExecNotFound as exc:
            raise Unverifiable(model.POD_GONE, f"the pod is gone ({exc})") from None
        except ContainerNotFound as exc:
            raise Unverifiable(model.NOT_RUNNING, f"container not running: {exc}") from None
        except ClusterError as exc:
            raise Unverifiable(model.EXEC_FAILED, str(exc)) from None

    def _ephemeral(self, ns: str, pod: str, target: str) -> str:
        from ..cluster.debugpod import DebugPodError, add_ephemeral_container

        try:
            name = add_ephemeral_container(self.cluster, ns, pod, target, image=self.debug_image or "")
        except DebugPodError as exc:
            reason = model.EXEC_FORBIDDEN if exc.status == 403 else model.EXEC_FAILED
            raise Unverifiable(reason, str(exc)) from None
        with self._lock:
            self.ephemeral.append({"namespace": ns, "pod": pod, "target": target, "name": name})
        return name


class _NoCat(Exception):
    pass


def precheck(target: Target, scope: Scope) -> Verdict | None:
    """A verdict without exec, when there is nothing to read: Windows, not running."""
    pod, ref, expected = target.pod, target.ref, target.expected
    facts = scope.nodes.get(ref.node or "")
    if is_windows_pod(pod) or (facts is not None and (facts.os or "").lower() == "windows"):
        return model.unverifiable(expected, model.WINDOWS, "Windows containers have no AppArmor or seccomp")
    if not ref.node:
        return model.unverifiable(expected, model.NOT_RUNNING, "the pod is not scheduled on a node yet")
    if not ref.running:
        return model.unverifiable(expected, model.NOT_RUNNING, not_running_detail(pod, ref))
    return None


def proc_pid(target: Target) -> str:
    """PID 1 is the container's main process, except with shareProcessNamespace (then it is the
    pause process, under the runtime's defaults): read the exec'd process's own entry instead."""
    return "self" if shares_process_namespace(target.pod) else "1"


def parallel(fn: Callable[[T], R], items: list[T], workers: int, what: str = "containers checked") -> list[R]:
    """``[fn(i) for i in items]`` with up to ``workers`` threads; Ctrl-C does not wait for them. On a
    terminal, stderr counts them (``containers checked: 3/40``)."""
    fn = _counted(fn, len(items), what)
    try:
        if workers <= 1 or len(items) <= 1:
            return [fn(i) for i in items]
        pool = ThreadPoolExecutor(max_workers=min(workers, len(items)), thread_name_prefix="verify")
        try:
            futures = [pool.submit(fn, item) for item in items]
            return [f.result() for f in futures]
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
    finally:
        show = progress_printer()
        if show is not None:
            show("")


def _counted(fn: Callable[[T], R], total: int, what: str) -> Callable[[T], R]:
    """``fn``, saying on the progress line how many of ``total`` are done (as is, off a terminal)."""
    show = progress_printer()
    if show is None:
        return fn
    lock = threading.Lock()
    done = [0]

    def counted(item: T) -> R:
        result = fn(item)
        with lock:
            done[0] += 1
            show(f"{what}: {done[0]}/{total}")
        return result

    return counted


# --- report --------------------------------------------------------------------------------------
def container_entry(target: Target, verdict: Verdict, **extra: Any) -> dict[str, Any]:
    ref = target.ref
    data = verdict.as_dict()
    entry: dict[str, Any] = {"namespace": ref.namespace, "pod": ref.pod, "container": ref.name, "node": ref.node,
                             "expected": data.pop("expected"), "expectedSource": target.expected.source}
    entry.update(data)
    entry.update(extra)
    return entry


def node_entries(scope: Scope) -> list[dict[str, Any]]:
    """The report's nodes: each node's facts and its runtime, by name."""
    from ..confinement.runtime import parse_runtime

    entries = []
    for _name, facts in sorted(scope.nodes.items()):
        entry = facts.as_dict()
        entry["runtime"] = str(parse_runtime(facts.container_runtime)) if facts.container_runtime else None
        entries.append(entry)
    return entries


VERIFY_KINDS = {"apparmor": "VerifyAppArmorReport", "seccomp": "VerifySeccompReport"}


def build_report(check: str, scope: Scope, containers: list[dict], nodes: list[dict],
                 **extra: Any) -> dict[str, Any]:
    from ..report.envelope import envelope

    summary = model.summarize([c["verdict"] for c in containers])
    if extra.get("nodeInspect"):  # the node's truth, and the containers that said otherwise through exec
        summary["execDisagrees"] = sum(1 for c in containers if "exec-disagrees" in c["flags"])
    body = {"check": check, "selection": scope.selection, "nodes": nodes, "containers": containers, "summary": summary, **extra,
            "notes": scope.notes}
    return envelope(VERIFY_KINDS[check], body, context=scope.context, server=scope.server, errors=scope.errors)
