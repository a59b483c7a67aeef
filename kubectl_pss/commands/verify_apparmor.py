"""``kubectl pss verify-apparmor [POD ... | -n NS | -A] [-c CONTAINER]``: the AppArmor profile each
running container really has, against the one its spec asks for.

Expected: ``securityContext.appArmorProfile`` (container, then pod) and the
``container.apparmor.security.beta.kubernetes.io/<container>`` annotation, in the kubelet's order.
Actual: ``cat /proc/1/attr/current`` through the exec endpoint (``/proc/self/...`` with
``shareProcessNamespace``), falling back to ``/proc/1/attr/apparmor/current``. RuntimeDefault is
judged by the node's runtime (containerd ``cri-containerd.apparmor.d``, CRI-O ``crio-default``,
Docker ``docker-default``).

Exit 0 when every container matches; 1 when any is a mismatch, in complain mode, or unverifiable;
2 on errors (a named pod missing, pods that cannot be listed).
"""
from __future__ import annotations

import argparse
from typing import Any

from ..confinement import model
from ..confinement.apparmor import expected_apparmor, judge_apparmor, parse_attr_current, read_apparmor_label
from ..confinement.runtime import parse_runtime
from ..operations.containers import ContainerReader, Scope, Target, Unverifiable
from .flags import validate_output
from .flags.runtime import add_node_inspect_flags, add_verify_flags, verify_args, VerifyOptions

EXAMPLES = """
# Every running container in the context's namespace
kubectl pss verify-apparmor

# Two pods of shop, one container
kubectl pss verify-apparmor -n shop web-0 web-1 -c nginx

# Every namespace, as JSON
kubectl pss verify-apparmor -A -o json
"""
EXIT_CODES = ((0, 'every container matches its spec'), (1, 'a mismatch, complain mode, or a container that could not be verified'))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_verify_flags(parser)
    add_node_inspect_flags(parser, "read each container's label on its node (/proc of its process; the image "
                                   "cannot forge it, and needs no cat)")


def complete(args: argparse.Namespace) -> VerifyOptions:
    return verify_args(args)


def validate(options: VerifyOptions) -> None:
    validate_output(options.output)


def judge_read(target: Target, scope: Scope, run: Any, pid: str) -> model.Verdict:
    """Read the label with ``run`` (exec in the container, or the node's /proc) and judge it."""
    facts = scope.nodes.get(target.ref.node or "")
    try:
        read = read_apparmor_label(run, pid)
    except Unverifiable as exc:
        return model.unverifiable(target.expected, exc.reason, exc.detail)
    if read.label is None:
        detail = read.detail or "cannot read the AppArmor label"
        if read.failure == model.APPARMOR_DISABLED and facts is not None and facts.apparmor == "enabled":
            detail += " (yet the kubelet reports AppArmor enabled)"
        return model.unverifiable(target.expected, read.failure or model.READ_FAILED, detail)
    runtime = parse_runtime(facts.container_runtime if facts else None)
    verdict = judge_apparmor(target.expected, read.label, runtime, target.ref.privileged)
    if read.path and "apparmor/current" in read.path:
        verdict.notes.append(f"read from {read.path}")
    return verdict


def container_entry(target: Target, verdict: model.Verdict, **extra: Any) -> dict[str, Any]:
    """The report's entry, ``actual`` as data: ``{profile, mode}`` parsed back from the label the verdict shows."""
    from ..operations import containers

    actual = parse_attr_current(verdict.actual).as_dict() if verdict.actual else None
    return containers.container_entry(target, verdict, **extra, actual=actual)


def verify_container(target: Target, scope: Scope, reader: ContainerReader) -> dict[str, Any]:
    from ..operations.containers import precheck, proc_pid

    verdict = precheck(target, scope)
    if verdict is not None:
        return container_entry(target, verdict, actualSource=None)
    return container_entry(target, judge_read(target, scope, reader.runner(target, proc_pid(target)),
                                              proc_pid(target)), actualSource="exec")


def verify_on_node(target: Target, scope: Scope, outcome: Any) -> dict[str, Any]:
    """The node's truth: /proc/PID/attr of the container's process, and the runtime spec's profile."""
    from ..operations.containers import precheck
    from ..operations.crictl import from_node

    verdict = precheck(target, scope)
    if verdict is not None:
        return container_entry(target, verdict, actualSource=None)
    verdict = from_node(outcome, target.expected)
    if verdict is None:
        verdict = judge_read(target, scope, outcome.proc, str(outcome.pid))
        asked = target.expected.type in (model.RUNTIME_DEFAULT, model.LOCALHOST) and not target.ref.privileged
        spec_profile = outcome.info.apparmor_profile
        if asked and not spec_profile and verdict.verdict != model.UNVERIFIABLE:
            verdict = model.Verdict(model.MISMATCH, verdict.expected, verdict.actual, RUNTIME_NO_PROFILE,
                                    "the runtime set no AppArmor profile (.info.runtimeSpec.process.apparmorProfile "
                                    "is absent) where one was asked", notes=verdict.notes)
        elif spec_profile and verdict.actual and spec_profile != parse_attr_current(verdict.actual).profile:
            verdict.notes.append(f"the runtime spec asks for {spec_profile}")
    return container_entry(target, verdict, actualSource="node")


RUNTIME_NO_PROFILE = "runtime-no-profile"


def build(cluster: Any, options: VerifyOptions) -> dict[str, Any]:
    from ..operations.containers import build_report, load_scope, node_entries, parallel

    scope = load_scope(cluster, options.selection, expected_apparmor)
    reader = ContainerReader(cluster, options.debug_image)
    debug_pods: list[dict[str, Any]] = []
    if options.node_inspect:
        from ..operations.crictl import mark_exec_disagreement, read_on_nodes

        assert options.debug is not None
        containers, fallback, _, debug_pods, _ = read_on_nodes(
            cluster, options.debug, scope, verify_on_node, lambda t: verify_container(t, scope, reader),
            seccomp=False, prefix="pss-apparmor", workers=options.workers)
        for i in fallback:
            containers[i]["notes"].append("node inspection failed: read through exec")
        if options.compare_exec:
            told = parallel(lambda t: verify_container(t, scope, reader), scope.targets, options.workers)
            for entry, exec_entry in zip(containers, told):
                mark_exec_disagreement(entry, exec_entry)
    else:
        containers = parallel(lambda t: verify_container(t, scope, reader), scope.targets, options.workers)
    nodes = node_entries(scope)
    if reader.ephemeral:
        scope.notes.append(f"{len(reader.ephemeral)} ephemeral debug container(s) added (they stay in the pods' "
                           "specs, stopped): " + ", ".join(f"{e['namespace']}/{e['pod']}:{e['name']}"
                                                          for e in reader.ephemeral))
    if not scope.targets and not scope.errors:
        scope.notes.append("no containers in scope")
    return build_report("apparmor", scope, containers, nodes, ephemeralContainers=reader.ephemeral,
                        debugPods=debug_pods, nodeInspect=options.node_inspect)


def run(options: VerifyOptions) -> int:
    from ..report.confinement import write_verify

    with options.connection:
        report = build(options.connection.cluster(), options)
    write_verify(report, options.output, options.no_color)
    return model.exit_code_for(report["summary"], len(report["errors"]))
