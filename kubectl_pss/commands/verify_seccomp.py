"""``kubectl pss verify-seccomp [POD ... | -n NS | -A] [--node-inspect]``: the seccomp filter each
running container really has, against the profile its spec asks for.

Quick (always): ``cat /proc/1/status`` through exec (``/proc/self/status`` with
``shareProcessNamespace``): ``Seccomp: 2`` is a filter, 0 none.

Full (``--node-inspect`` only, since it creates a privileged pod): one short-lived debug pod per node
involved (hostPID, privileged, the node's / at /host, tolerating taints) runs
``chroot /host crictl inspect -o json ID`` for each container and reads
``.info.runtimeSpec.linux.seccomp``; a Localhost profile is compared with the file under the
kubelet's seccomp root. The debug pods are deleted on success, error, Ctrl-C and SIGTERM, and
each creation and deletion is reported on stderr.

Flags: ``seccomp-default`` (declares nothing, runs a filter: SeccompDefault is on for that node)
and ``no-filter`` (declares RuntimeDefault or Localhost, runs without a filter).
Exit codes as verify-apparmor.
"""
from __future__ import annotations

import argparse
import signal
import sys
from typing import Any

from ..confinement import model
from ..confinement.seccomp import (
    FLAG_NO_FILTER,
    FLAG_SECCOMP_DEFAULT,
    ProcSeccomp,
    compare_quick_and_full,
    expected_seccomp,
    filter_from_profile,
    judge_seccomp_full,
    judge_seccomp_quick,
    localhost_path,
    parse_crictl_inspect,
    parse_proc_status,
)
from ..confinement.runtime import parse_runtime
from ..errors import FatalError
from ..report.confinement import render_verify
from ..report.render import write_report
from . import runtimecheck
from .common import DEFAULT_DEBUG_IMAGE, DebugPodLedger, add_node_inspect_flags, node_inspect_args, validate_output
from .runtimecheck import ContainerReader, Scope, Target, Unverifiable, VerifyOptions



def add_arguments(parser: argparse.ArgumentParser) -> None:
    runtimecheck.add_arguments(parser)
    add_node_inspect_flags(parser, "also read each container's filter with crictl")


def complete(args: argparse.Namespace) -> VerifyOptions:
    options = runtimecheck.complete_options(args)
    inspect = node_inspect_args(args)
    options.node_inspect = inspect.enabled
    options.image = inspect.image
    options.debug_namespace = inspect.namespace
    options.seccomp_root = inspect.seccomp_root
    options.pod_timeout = inspect.pod_timeout
    return options


def validate(options: VerifyOptions) -> None:
    validate_output(options.output)


# --- quick: /proc/<pid>/status ----------------------------------------------------------------------
def quick(target: Target, scope: Scope, reader: ContainerReader) -> tuple[model.Verdict, ProcSeccomp | None]:
    verdict = runtimecheck.precheck(target, scope)
    if verdict is not None:
        return verdict, None
    path = f"/proc/{runtimecheck.proc_pid(target)}/status"
    try:
        code, out, err = reader.runner(target, runtimecheck.proc_pid(target))(["cat", path])
    except Unverifiable as exc:
        return model.unverifiable(target.expected, exc.reason, exc.detail), None
    if code != 0:
        return model.unverifiable(target.expected, model.READ_FAILED,
                                  f"reading {path}: {runtimecheck.last_line(err) or f'exit code {code}'}"), None
    try:
        status = parse_proc_status(out)
    except ValueError as exc:
        return model.unverifiable(target.expected, model.UNPARSABLE, f"{path}: {exc}"), None
    return judge_seccomp_quick(target.expected, status, target.ref.privileged), status


# --- full: crictl from a debug pod ------------------------------------------------------------------
class NodeInspector:
    def __init__(self, cluster: Any, options: VerifyOptions, scope: Scope):
        self.cluster = cluster
        self.options = options
        self.scope = scope
        self.announce = DebugPodLedger(scope.errors, "privileged, hostPID")
        self.debug_pods = self.announce.pods

    def inspect(self, node: str, items: list[tuple[int, Target]], results: dict[int, dict[str, Any]]) -> None:
        from ..cluster.debugpod import DebugPodError, DebugPodSpec, NodeDebugPod
        from ..cluster.errors import ClusterError

        spec = DebugPodSpec(image=self.options.image or DEFAULT_DEBUG_IMAGE, name_prefix="pss-seccomp")
        namespace = self.options.debug_namespace or self.cluster.namespace
        try:
            with NodeDebugPod(self.cluster, node, namespace=namespace, spec=spec, on_event=self.announce,
                              start_timeout=self.options.pod_timeout) as pod:
                profiles: dict[str, Any] = {}
                for index, target in items:
                    results[index] = self.inspect_container(pod, target, profiles)
                    if results[index].get("_fatal"):
                        failure = results.pop(index)["_fatal"]
                        self.scope.errors.append({"node": node, "error": failure})
                        break
        except DebugPodError as exc:
            self.scope.errors.append({"node": node, "error": str(exc)})
        except ClusterError as exc:
            self.scope.errors.append({"node": node, "error": f"node inspection failed: {exc}"})

    def inspect_container(self, pod: Any, target: Target, profiles: dict[str, Any]) -> dict[str, Any]:
        from ..cluster.errors import ClusterError

        cid = target.ref.container_id
        try:
            result = pod.run_on_host(["crictl", "inspect", "-o", "json", cid or ""])
        except ClusterError as exc:
            return {"_fatal": f"running crictl in debug pod {pod.namespace}/{pod.name} failed: {exc}"}
        if result.exit_code == 127 or (result.exit_code != 0 and "failed to run command" in result.stderr_text):
            return {"_fatal": f"no crictl on the node: {runtimecheck.last_line(result.stderr_text)}"}
        if result.exit_code != 0:
            return {"failure": f"crictl inspect {cid}: {runtimecheck.last_line(result.stderr_text)}"}
        try:
            info = parse_crictl_inspect(result.stdout_text)
        except ValueError as exc:
            return {"failure": f"crictl inspect {cid}: {exc}"}
        declared: Any = None
        expected = target.expected
        if expected.type == model.LOCALHOST and expected.localhost:
            declared = profiles.get(expected.localhost)
            if declared is None:
                declared = profiles[expected.localhost] = self.read_profile(pod, expected.localhost)
        verdict = judge_seccomp_full(expected, info.seccomp, target.ref.privileged, declared)
        return {"verdict": verdict, "filter": info.seccomp.as_dict() if info.seccomp else None,
                "running": info.seccomp}

    def read_profile(self, pod: Any, name: str) -> Any:
        from ..cluster.errors import ClusterError

        path = localhost_path(self.options.seccomp_root, name)
        if path is None:
            return f"the Localhost profile name {name!r} leaves the seccomp root: not read"
        try:
            result = pod.run_on_host(["cat", path])
        except ClusterError as exc:
            return f"reading {path} failed: {exc}"
        if result.exit_code != 0:
            return f"the profile file {path} is not on the node ({runtimecheck.last_line(result.stderr_text)})"
        try:
            return filter_from_profile(result.stdout_text)
        except ValueError as exc:
            return f"the profile file {path} is not a seccomp profile: {exc}"


def _seccomp_default(containers: list[dict[str, Any]], node: str) -> str:
    """on/off/unknown: what the undeclared, unprivileged, verified containers of a node show."""
    seen = [c for c in containers if c["node"] == node and c["expected"] == "(none)" and c["verdict"] == model.MATCH
            and not any("privileged" in n for n in c["notes"])]
    if any(FLAG_SECCOMP_DEFAULT in c["flags"] for c in seen):
        return "on"
    return "off" if seen else "unknown"


def build(cluster: Any, options: VerifyOptions) -> dict[str, Any]:
    scope = runtimecheck.load_scope(cluster, options, expected_seccomp)
    reader = ContainerReader(cluster, options.debug_image)
    quick_results = runtimecheck.parallel(lambda t: quick(t, scope, reader), scope.targets, options.workers)
    containers = [runtimecheck.container_entry(t, v, quick=str(s) if s else None, filter=None)
                  for t, (v, s) in zip(scope.targets, quick_results)]
    debug_pods: list[dict[str, Any]] = []
    if options.node_inspect:
        inspector = NodeInspector(cluster, options, scope)
        debug_pods = inspector.debug_pods
        by_node: dict[str, list[tuple[int, Target]]] = {}
        for index, (target, (verdict, _status)) in enumerate(zip(scope.targets, quick_results)):
            # crictl needs no cat and no exec rights in the container: only what is not running is left out
            if verdict.reason in (model.NOT_RUNNING, model.POD_GONE, model.WINDOWS):
                continue
            if target.ref.running and target.ref.container_id and target.ref.node:
                by_node.setdefault(target.ref.node, []).append((index, target))
        full: dict[int, dict[str, Any]] = {}
        try:
            for node in sorted(by_node):
                inspector.inspect(node, by_node[node], full)
        finally:
            left = inspector.announce.left_behind_note()
            if left:
                scope.notes.append(left)
        for index, outcome in full.items():
            entry = containers[index]
            if "failure" in outcome:
                entry["notes"].append(f"node inspection: {outcome['failure']}")
                continue
            verdict = outcome["verdict"]
            note = compare_quick_and_full(quick_results[index][1], outcome["running"])
            if note:
                verdict.notes.append(note)
            containers[index] = runtimecheck.container_entry(scope.targets[index], verdict, quick=entry["quick"],
                                                             filter=outcome["filter"])
        for index in sorted({i for items in by_node.values() for i, _ in items} - set(full)):
            containers[index]["notes"].append("node inspection failed: quick verdict only")
    nodes = []
    for name, facts in sorted(scope.nodes.items()):
        entry = facts.as_dict()
        entry["runtime"] = str(parse_runtime(facts.container_runtime)) if facts.container_runtime else None
        entry["seccompDefault"] = _seccomp_default(containers, name)
        nodes.append(entry)
    if not scope.targets and not scope.errors:
        scope.notes.append("no containers in scope")
    flagged = {flag: sum(1 for c in containers if flag in c["flags"]) for flag in (FLAG_SECCOMP_DEFAULT, FLAG_NO_FILTER)}
    return runtimecheck.build_report("seccomp", scope, containers, nodes, flags=flagged, debugPods=debug_pods,
                                     ephemeralContainers=reader.ephemeral, nodeInspect=options.node_inspect)


def run(options: VerifyOptions) -> int:
    from ..cluster.client import connect
    from ..cluster.debugpod import Terminated
    from ..cluster.errors import ClusterError

    try:
        with connect(options.connection) as cluster:
            report = build(cluster, options)
    except ClusterError as exc:  # no kubeconfig, unknown context/cluster/user, server unreachable
        raise FatalError(str(exc)) from None
    except Terminated as exc:
        print("error: terminated", file=sys.stderr)
        return 128 + int(exc.signum or signal.SIGTERM)
    write_report(report, options.output, sys.stdout, lambda r, out: render_verify(r, out, options.no_color))
    runtimecheck.print_errors(report)
    return runtimecheck.exit_code(report)
