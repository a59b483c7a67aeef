"""``verify-seccomp --node-inspect``: what the runtime really gave each container, from
``chroot /host crictl inspect -o json ID`` in one debug pod per node; a Localhost profile is compared
with its file under the kubelet's seccomp root.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, TypeVar

from ..confinement import model
from ..confinement.seccomp import CrictlInspect, judge_seccomp_full, localhost_path, parse_crictl_inspect
from ..seccomp.filter import SeccompFilter, filter_from_profile
from ..confinement.nodes import NodeInspection
from .containers import Scope, Target, parallel, precheck
from .debugpods import DebugPodSettings, NodeFailure, NodeRunner
from .nodes import HostReader, read_kubelet

R = TypeVar("R")


@dataclass
class Inspected:
    """One container's crictl outcome: a verdict and the filter it runs, or why there is none."""

    verdict: model.Verdict | None = None  # seccomp's crictl judgement (None for AppArmor)
    running: SeccompFilter | None = None
    failure: str | None = None
    not_running: bool = False  # crictl does not know it, or it has no process: exited, restarting
    info: CrictlInspect | None = None
    proc: Any = None  # a RunFn over the node's /proc reads of its process (hostproc.reader_of)
    pid: int | None = None


def inspect_containers(cluster: Any, settings: DebugPodSettings, by_node: dict[str, list[tuple[int, Target]]],
                       errors: list[dict[str, Any]], notes: list[str], facts: dict[str, Any] | None = None,
                       seccomp: bool = True, prefix: str = "pss-seccomp"
                       ) -> tuple[dict[int, Inspected], list[dict], dict[str, NodeInspection]]:
    """Each node's containers (index, target) through its debug pod: the outcomes by index, the pods
    made, and what each node's kubelet says (seccomp root, SeccompDefault).

    A node that fails (no crictl, the pod refused) leaves its remaining containers out of the outcomes;
    a node skipped by the runner's rule (Ready Unknown, Windows) gets a note."""
    runner = NodeRunner(cluster, settings, prefix=prefix, what="privileged, hostPID", errors=errors)
    results: dict[int, Inspected] = {}
    kubelets: dict[str, NodeInspection] = {}
    facts = facts or {}

    def one(node: str) -> None:
        skipped = getattr(facts.get(node), "skip", None)
        if skipped:
            notes.append(f"node {node}: {skipped}")
            return
        version = getattr(facts.get(node), "kubelet_version", None)
        kubelet = kubelets[node] = NodeInspection()

        def work(pod: Any) -> None:
            if seccomp:
                read_kubelet(HostReader(pod), kubelet, version, settings.seccomp_root)
            _inspect_node(pod, by_node[node], results, kubelet.seccomp_root if seccomp else None)

        try:
            runner.run(node, work)
        except NodeFailure as exc:
            errors.append({"node": node, "error": str(exc)})

    try:
        runner.map(sorted(by_node), one)
    finally:
        left = runner.left_behind_note()
        if left:
            notes.append(left)
    return results, runner.debug_pods, kubelets


def _inspect_node(pod: Any, items: list[tuple[int, Target]], results: dict[int, Inspected], root: str | None) -> None:
    """crictl for each container, then every container's /proc on the host in one exec."""
    from ..cluster.errors import ClusterError
    from .hostproc import read_host_proc, reader_of

    profiles: dict[str, Any] = {}
    done = [(index, inspect_container(pod, target, profiles, root)) for index, target in items]
    pids = [o.info.pid for _, o in done if o.info is not None and o.info.pid]
    try:
        reads = read_host_proc(pod, pids)
    except (ValueError, ClusterError) as exc:
        for _, outcome in done:
            if outcome.info is not None and outcome.info.pid and outcome.failure is None:
                outcome.failure = f"reading /proc on the node: {exc}"
        reads = {}
    for index, outcome in done:
        if outcome.info is not None:
            outcome.pid = outcome.info.pid
            if outcome.pid is None:
                outcome.not_running = True
            elif not reads.get((outcome.pid, "status"), (1,))[0] == 0 and outcome.failure is None:
                outcome.not_running = True  # its process ended between crictl and the read
            outcome.proc = reader_of(reads, outcome.pid) if outcome.pid else None
        results[index] = outcome


def inspect_container(pod: Any, target: Target, profiles: dict[str, Any], root: str | None) -> Inspected:
    """crictl's view of one container (judged for seccomp when ``root`` is given); NodeFailure when
    crictl cannot run on this node at all."""
    from ..cluster.errors import ClusterError, Forbidden

    cid = target.ref.container_id
    try:
        result = pod.run_on_host(["crictl", "inspect", "-o", "json", cid or ""])
    except ClusterError as exc:
        raise NodeFailure(f"running crictl in debug pod {pod.namespace}/{pod.name} failed: {exc}",
                          stop=isinstance(exc, Forbidden)) from None
    if result.exit_code != 0 and result.command_missing:
        raise NodeFailure(f"no crictl on the node: {result.why()}")
    if result.exit_code != 0:
        gone = "code = NotFound" in result.stderr_text
        return Inspected(failure=f"crictl inspect {cid}: {result.why()}", not_running=gone)
    try:
        info = parse_crictl_inspect(result.stdout_text)
    except ValueError as exc:
        return Inspected(failure=f"crictl inspect {cid}: {exc}")
    if root is None:
        return Inspected(info=info)
    declared: Any = None
    expected = target.expected
    if expected.type == model.LOCALHOST and expected.localhost:
        declared = profiles.get(expected.localhost)
        if declared is None:
            declared = profiles[expected.localhost] = read_profile(pod, expected.localhost, root)
    verdict = judge_seccomp_full(expected, info.seccomp, target.ref.privileged, declared)
    return Inspected(verdict=verdict, running=info.seccomp, info=info)


def read_profile(pod: Any, name: str, root: str) -> SeccompFilter | str:
    """The filter a Localhost profile file declares, or why it could not be read."""
    from ..cluster.errors import ClusterError

    path = localhost_path(root, name)
    if path is None:
        return f"the Localhost profile name {name!r} leaves the seccomp root: not read"
    try:
        result = pod.run_on_host(["cat", path])
    except ClusterError as exc:
        return f"reading {path} failed: {exc}"
    if result.exit_code != 0:
        return f"the profile file {path} is not on the node ({result.why()})"
    try:
        return filter_from_profile(result.stdout_text)
    except ValueError as exc:
        return f"the profile file {path} is not a seccomp profile: {exc}"


def node_outcomes(cluster: Any, settings: DebugPodSettings, scope: Any, precheck: Any, *, seccomp: bool,
                  prefix: str) -> tuple[dict[int, Inspected], list[dict], dict[str, NodeInspection]]:
    """``--node-inspect`` for the verify commands: every running container of ``scope`` whose ``precheck``
    is None, through its node's debug pod (outcomes by target index)."""
    by_node: dict[str, list[tuple[int, Target]]] = {}
    for index, target in enumerate(scope.targets):
        if precheck(target, scope) is None and target.ref.container_id and target.ref.node:
            by_node.setdefault(target.ref.node, []).append((index, target))
    return inspect_containers(cluster, settings, by_node, scope.errors, scope.notes, scope.nodes, seccomp=seccomp,
                              prefix=prefix)


def from_node(outcome: Inspected | None, expected: model.Expected) -> model.Verdict | None:
    """The verdict when the node could not tell (None: it can, read ``outcome.proc``)."""
    if outcome is None:
        return model.unverifiable(expected, model.READ_FAILED, "its node could not be inspected (see errors)")
    if outcome.not_running:
        return model.unverifiable(expected, model.NOT_RUNNING, "no process on the node (exited or restarting)"
                                  + (f": {outcome.failure}" if outcome.failure else ""))
    if outcome.failure or outcome.proc is None:
        return model.unverifiable(expected, model.READ_FAILED, outcome.failure or "not read on the node")
    return None


def mark_exec_disagreement(node_entry: dict[str, Any], exec_entry: dict[str, Any]) -> None:
    """``--compare-exec``: what the container says about itself differs from the node's truth: a finding."""
    if exec_entry["verdict"] == model.UNVERIFIABLE or exec_entry.get("actual") == node_entry.get("actual"):
        return
    node_entry["flags"].append(EXEC_DISAGREES)
    node_entry["notes"].append(f"exec in the container says {exec_entry.get('actual')!r}, the node "
                               f"{node_entry.get('actual')!r}: the image reports something else than it runs")


EXEC_DISAGREES = "exec-disagrees"


def read_on_nodes(cluster: Any, debug: DebugPodSettings, scope: Scope, on_node: Callable[[Target, Scope, Any], R],
                  through_exec: Callable[[Target], R], *, seccomp: bool, prefix: str,
                  workers: int) -> tuple[list[R], list[int], dict[int, Any], list[dict[str, Any]], dict[str, Any]]:
    """``--node-inspect``: each container judged from its node (``on_node(target, scope, outcome)``); the
    containers of a node that could not be inspected (pod refused, no crictl) through exec instead.

    Returns the results in ``scope.targets`` order, the indexes read through exec, the node outcomes by
    index, the debug pods and the kubelets read."""
    outcomes, debug_pods, kubelets = node_outcomes(cluster, debug, scope, precheck, seccomp=seccomp, prefix=prefix)
    results = [on_node(target, scope, outcomes.get(i)) for i, target in enumerate(scope.targets)]
    fallback = [i for i, target in enumerate(scope.targets) if i not in outcomes and precheck(target, scope) is None]
    for i, result in zip(fallback, parallel(lambda i: through_exec(scope.targets[i]), fallback, workers)):
        results[i] = result
    return results, fallback, outcomes, debug_pods, kubelets
