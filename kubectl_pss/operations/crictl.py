"""``verify-seccomp --node-inspect``: what the runtime really gave each container, from
``chroot /host crictl inspect -o json ID`` in one debug pod per node; a Localhost profile is compared
with its file under the kubelet's seccomp root.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..confinement import model
from ..confinement.seccomp import judge_seccomp_full, localhost_path, parse_crictl_inspect
from ..seccomp.filter import SeccompFilter, filter_from_profile
from ..confinement.nodes import NodeInspection
from .containers import Target
from .debugpods import DebugPodSettings, NodeFailure, NodeRunner
from .nodes import HostReader, read_kubelet


@dataclass
class Inspected:
    """One container's crictl outcome: a verdict and the filter it runs, or why there is none."""

    verdict: model.Verdict | None = None
    running: SeccompFilter | None = None
    failure: str | None = None


def inspect_containers(cluster: Any, settings: DebugPodSettings, by_node: dict[str, list[tuple[int, Target]]],
                       errors: list[dict[str, Any]], notes: list[str], facts: dict[str, Any] | None = None
                       ) -> tuple[dict[int, Inspected], list[dict], dict[str, NodeInspection]]:
    """Each node's containers (index, target) through its debug pod: the outcomes by index, the pods
    made, and what each node's kubelet says (seccomp root, SeccompDefault).

    A node that fails (no crictl, the pod refused) leaves its remaining containers out of the outcomes;
    a node skipped by the runner's rule (Ready Unknown, Windows) gets a note."""
    runner = NodeRunner(cluster, settings, prefix="pss-seccomp", what="privileged, hostPID", errors=errors)
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
            read_kubelet(HostReader(pod), kubelet, version, settings.seccomp_root)
            _inspect_node(pod, by_node[node], results, kubelet.seccomp_root)

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


def _inspect_node(pod: Any, items: list[tuple[int, Target]], results: dict[int, Inspected], root: str) -> None:
    profiles: dict[str, Any] = {}
    for index, target in items:
        results[index] = inspect_container(pod, target, profiles, root)


def inspect_container(pod: Any, target: Target, profiles: dict[str, Any], root: str) -> Inspected:
    """crictl's view of one container; NodeFailure when crictl cannot run on this node at all."""
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
        return Inspected(failure=f"crictl inspect {cid}: {result.why()}")
    try:
        info = parse_crictl_inspect(result.stdout_text)
    except ValueError as exc:
        return Inspected(failure=f"crictl inspect {cid}: {exc}")
    declared: Any = None
    expected = target.expected
    if expected.type == model.LOCALHOST and expected.localhost:
        declared = profiles.get(expected.localhost)
        if declared is None:
            declared = profiles[expected.localhost] = read_profile(pod, expected.localhost, root)
    verdict = judge_seccomp_full(expected, info.seccomp, target.ref.privileged, declared)
    return Inspected(verdict=verdict, running=info.seccomp)


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
