"""What ``verify-apparmor`` and ``verify-seccomp`` share: flags, choosing the pods and containers,
node facts, reading files in containers (exec, or an ephemeral debug container with
``--debug-image``), running probes in parallel, the report and the exit code.
"""
from __future__ import annotations

import argparse
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
    node_facts,
    not_running_detail,
    pod_containers,
    shares_process_namespace,
)
from ..errors import UsageError
from .common import (
    add_connection_flags,
    add_output_flags,
    add_scope_flags,
    connection_args,
    namespaces_arg,
)

DEFAULT_WORKERS = 8
T = TypeVar("T")
R = TypeVar("R")


@dataclass
class VerifyOptions:
    connection: Any
    pods: list[str]
    namespaces: list[str] | None  # None: all namespaces; []: the context's namespace
    container: str | None
    output: str
    no_color: bool
    debug_image: str | None
    workers: int = DEFAULT_WORKERS
    # verify-seccomp --node-inspect
    node_inspect: bool = False
    image: str | None = None
    debug_namespace: str | None = None
    seccomp_root: str = "/var/lib/kubelet/seccomp"
    pod_timeout: float = 120.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("pods", nargs="*", metavar="POD", help="pods to verify (default: every pod in scope)")
    add_scope_flags(parser, all_by_default=False)
    parser.add_argument("-c", "--container", metavar="NAME", help="only this container of each pod")
    parser.add_argument("--debug-image", metavar="IMAGE",
                        help="where an image has no cat: read the container's /proc through an ephemeral debug "
                             "container of IMAGE that targets it (it cannot be removed afterwards)")
    parser.add_argument("--parallel", type=int, default=DEFAULT_WORKERS, metavar="N",
                        help=f"execs in flight at once (default {DEFAULT_WORKERS})")
    add_output_flags(parser)
    add_connection_flags(parser)


def complete_options(args: argparse.Namespace) -> VerifyOptions:
    namespaces = namespaces_arg(args.namespace)
    if args.all_namespaces and namespaces:
        raise UsageError("a resource cannot be retrieved by namespace across all namespaces: use -A or -n, not both")
    if args.all_namespaces and args.pods:
        raise UsageError("a resource cannot be retrieved by name across all namespaces")
    if args.pods and len(namespaces) > 1:
        raise UsageError("pods named on the command line need one namespace: give -n once")
    if args.parallel < 1:
        raise UsageError(f'invalid --parallel "{args.parallel}": it must be at least 1')
    return VerifyOptions(
        connection=connection_args(args),
        pods=list(dict.fromkeys(args.pods)),
        namespaces=None if args.all_namespaces else namespaces,
        container=args.container,
        output=args.output,
        no_color=args.no_color,
        debug_image=args.debug_image,
        workers=args.parallel,
    )


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


def load_scope(cluster: Any, options: VerifyOptions, expected_of: Callable[[dict, dict], Expected]) -> Scope:
    """The pods in scope (GET for named pods, lists otherwise), their containers, and their nodes."""
    from ..cluster.errors import ClusterError, NotFound
    from ..cluster.inventory import FATAL

    scope = Scope(cluster.context)
    pods: list[dict] = []
    if options.pods:
        namespace = options.namespaces[0] if options.namespaces else cluster.namespace
        for name in options.pods:
            try:
                pods.append(cluster.request("GET", f"/api/v1/namespaces/{namespace}/pods/{name}").data or {})
            except NotFound:
                scope.errors.append({"namespace": namespace, "pod": name, "error": f'pods "{name}" not found'})
            except ClusterError as exc:
                scope.errors.append({"namespace": namespace, "pod": name, "error": str(exc)})
    else:
        namespaces = options.namespaces if options.namespaces else ([cluster.namespace] if options.namespaces == []
                                                                    else None)
        paths = ["/api/v1/pods"] if namespaces is None else [f"/api/v1/namespaces/{ns}/pods" for ns in namespaces]
        for ns, path in zip(namespaces or [None], paths):
            try:
                found = list(cluster.list_items(path))
            except FATAL:  # no point going on (the command reports it)
                raise
            except ClusterError as exc:  # 403, or a 5xx after the retries: reported, the report still printed
                scope.errors.append({"namespace": ns, "pod": None, "error": str(exc)})
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
                                     "error": f'container "{options.container}" not found in pod "{md.get("name")}"'})
            refs = chosen
        for ref in refs:
            scope.targets.append(Target(pod, ref, expected_of(pod, ref.spec)))
    node_names = sorted({t.ref.node for t in scope.targets if t.ref.node})
    scope.nodes = load_nodes(cluster, node_names, scope.notes)
    return scope


def load_nodes(cluster: Any, names: list[str], notes: list[str]) -> dict[str, NodeFacts]:
    """Facts of these nodes: one list (or a GET each when listing nodes is forbidden)."""
    from ..cluster.errors import ClusterError, Forbidden

    if not names:
        return {}
    objects: dict[str, dict] = {}
    try:
        wanted = set(names)
        for node in cluster.list_items("/api/v1/nodes"):
            name = (node.get("metadata") or {}).get("name")
            if name in wanted:
                objects[name] = node
    except Forbidden:
        forbidden = 0
        for name in names:
            try:
                objects[name] = cluster.request("GET", f"/api/v1/nodes/{name}").data or {}
            except Forbidden:
                forbidden += 1
            except ClusterError:
                pass
        if forbidden:
            notes.append("reading nodes is forbidden: their container runtime (and its default AppArmor profile "
                         "name) is unknown")
    except ClusterError as exc:
        notes.append(f"cannot read nodes: {exc}")
    return {name: node_facts(objects.get(name), name) for name in names}


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


def last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:200] if lines else ""


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


def parallel(fn: Callable[[T], R], items: list[T], workers: int) -> list[R]:
    """``[fn(i) for i in items]`` with up to ``workers`` threads; Ctrl-C does not wait for them."""
    if workers <= 1 or len(items) <= 1:
        return [fn(i) for i in items]
    pool = ThreadPoolExecutor(max_workers=min(workers, len(items)), thread_name_prefix="verify")
    try:
        futures = [pool.submit(fn, item) for item in items]
        return [f.result() for f in futures]
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


# --- report --------------------------------------------------------------------------------------
def container_entry(target: Target, verdict: Verdict, **extra: Any) -> dict[str, Any]:
    ref = target.ref
    entry: dict[str, Any] = {"namespace": ref.namespace, "pod": ref.pod, "container": ref.name, "node": ref.node,
                             "expected": verdict.expected, "expectedSource": target.expected.source}
    data = verdict.as_dict()
    data.pop("expected")
    entry.update(data)
    entry.update(extra)
    return entry


def build_report(check: str, scope: Scope, containers: list[dict], nodes: list[dict],
                 **extra: Any) -> dict[str, Any]:
    summary = model.summarize([c["verdict"] for c in containers])
    report = {"check": check, "context": scope.context, "nodes": nodes, "containers": containers, "summary": summary}
    report.update(extra)
    report["errors"] = scope.errors
    report["notes"] = scope.notes
    return report


def print_errors(report: dict[str, Any]) -> None:
    for error in report["errors"]:
        if error.get("node"):
            where = f'node "{error["node"]}": '
        elif error.get("pod"):
            where = f'pod "{error.get("namespace")}/{error["pod"]}": '
        elif error.get("namespace"):
            where = f'namespace "{error["namespace"]}": '
        else:
            where = ""
        print(f"error: {where}{error['error']}", file=sys.stderr)


def exit_code(report: dict[str, Any]) -> int:
    return model.exit_code_for(report["summary"], len(report["errors"]))
