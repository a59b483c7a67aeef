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

Flags: ``seccompDefault`` (declares nothing, runs a filter: SeccompDefault is on for that node)
and ``noFilter`` (declares RuntimeDefault or Localhost, runs without a filter).
Exit codes as verify-apparmor.
"""
from __future__ import annotations

import argparse
from typing import Any

from ..confinement import model
from ..confinement.seccomp import (
    FLAG_NO_FILTER,
    FLAG_SECCOMP_DEFAULT,
    ProcSeccomp,
    compare_quick_and_full,
    expected_seccomp,
    judge_seccomp_quick,
    parse_proc_status,
    running_as_dict,
)
from ..operations.containers import ContainerReader, Scope, Target, Unverifiable
from .flags import validate_output
from .flags.runtime import add_node_inspect_flags, add_verify_flags, verify_args, VerifyOptions

EXAMPLES = """
# Every running container in the context's namespace
kubectl pss verify-seccomp

# Every namespace, also reading each node's runtime through a debug pod
kubectl pss verify-seccomp -A --node-inspect
"""
EXIT_CODES = ((0, 'every container matches its spec'), (1, 'a mismatch, or a container that could not be verified'))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_verify_flags(parser)
    add_node_inspect_flags(parser, "also read each container's filter with crictl")


def complete(args: argparse.Namespace) -> VerifyOptions:
    return verify_args(args)


def validate(options: VerifyOptions) -> None:
    validate_output(options.output)


# --- quick: /proc/<pid>/status ----------------------------------------------------------------------
def quick(target: Target, scope: Scope, reader: ContainerReader) -> tuple[model.Verdict, ProcSeccomp | None]:
    from ..cluster.exec import last_line
    from ..operations.containers import precheck, proc_pid

    verdict = precheck(target, scope)
    if verdict is not None:
        return verdict, None
    path = f"/proc/{proc_pid(target)}/status"
    try:
        code, out, err = reader.runner(target, proc_pid(target))(["cat", path])
    except Unverifiable as exc:
        return model.unverifiable(target.expected, exc.reason, exc.detail), None
    if code != 0:
        return model.unverifiable(target.expected, model.READ_FAILED,
                                  f"reading {path}: {last_line(err) or f'exit code {code}'}"), None
    try:
        status = parse_proc_status(out)
    except ValueError as exc:
        return model.unverifiable(target.expected, model.UNPARSABLE, f"{path}: {exc}"), None
    return judge_seccomp_quick(target.expected, status, target.ref.privileged), status


def seccomp_default(targets: list[Target], verdicts: list[model.Verdict], node: str) -> str:
    """on/off/unknown: what the node's verified containers that declare nothing and are not privileged show."""
    seen = [v for t, v in zip(targets, verdicts) if t.ref.node == node and t.expected.type == model.UNSET
            and v.verdict == model.MATCH and not t.ref.privileged]
    if any(FLAG_SECCOMP_DEFAULT in v.flags for v in seen):
        return "on"
    return "off" if seen else "unknown"


def on_node(target: Target, scope: Scope, outcome: Any) -> tuple[model.Verdict, ProcSeccomp | None]:
    """The quick verdict from the node: /proc/PID/status of the container's process on the host."""
    from ..operations.containers import precheck
    from ..operations.crictl import from_node

    verdict = precheck(target, scope) or from_node(outcome, target.expected)
    if verdict is not None:
        return verdict, None
    path = f"/proc/{outcome.pid}/status"
    code, out, err = outcome.proc(["cat", path])
    if code != 0:
        return model.unverifiable(target.expected, model.READ_FAILED, f"reading {path} on the node: {err.strip()}"), None
    try:
        status = parse_proc_status(out)
    except ValueError as exc:
        return model.unverifiable(target.expected, model.UNPARSABLE, f"{path}: {exc}"), None
    return judge_seccomp_quick(target.expected, status, target.ref.privileged), status


def build(cluster: Any, options: VerifyOptions) -> dict[str, Any]:
    from ..operations.containers import build_report, container_entry, load_scope, node_entries, parallel, precheck

    scope = load_scope(cluster, options.selection, expected_seccomp)
    reader = ContainerReader(cluster, options.debug_image)
    debug_pods: list[dict[str, Any]] = []
    kubelets: dict[str, Any] = {}
    source = "node" if options.node_inspect else "exec"
    if options.node_inspect:
        from ..operations.crictl import mark_exec_disagreement, read_on_nodes

        assert options.debug is not None
        quick_results, fallback, full, debug_pods, kubelets = read_on_nodes(
            cluster, options.debug, scope, on_node, lambda t: quick(t, scope, reader),
            seccomp=True, prefix="pss-seccomp", workers=options.workers)
    else:
        fallback = []
        full = {}
        quick_results = parallel(lambda t: quick(t, scope, reader), scope.targets, options.workers)
    verdicts = [v for v, _ in quick_results]
    containers = [container_entry(t, v, quick=s.as_dict() if s else None, filter=None,
                                  actualSource=None if precheck(t, scope) is not None else
                                  "exec" if i in fallback else source,
                                  **({"actual": s.as_dict()} if s and v.actual else {}))
                  for i, (t, (v, s)) in enumerate(zip(scope.targets, quick_results))]
    for i in fallback:
        containers[i]["notes"].append("node inspection failed: quick verdict only")
    for index, outcome in full.items():
        entry = containers[index]
        if outcome.verdict is None or verdicts[index].verdict == model.UNVERIFIABLE:
            continue
        note = compare_quick_and_full(quick_results[index][1], outcome.running)
        if note:
            outcome.verdict.notes.append(note)
        verdicts[index] = outcome.verdict
        containers[index] = container_entry(scope.targets[index], outcome.verdict, quick=entry["quick"],
                                            actual=running_as_dict(outcome.running),
                                            filter=outcome.running.as_dict() if outcome.running else None,
                                            actualSource="node")
    if options.node_inspect and options.compare_exec:
        told = parallel(lambda t: quick(t, scope, reader), scope.targets, options.workers)
        for entry, target, (verdict, status) in zip(containers, scope.targets, told):
            if status is not None and entry["quick"] is not None and status.as_dict() != entry["quick"]:
                mark_exec_disagreement({**entry, "actual": entry["quick"]} | {"flags": entry["flags"],
                                                                              "notes": entry["notes"]},
                                       {"verdict": verdict.verdict, "actual": status.as_dict()})
    nodes = node_entries(scope)
    for entry in nodes:
        entry["seccompDefault"] = seccomp_default(scope.targets, verdicts, entry["name"])
        kubelet = kubelets.get(entry["name"]) if options.node_inspect else None
        if kubelet is not None:  # the kubelet's own flags/config say, rather than what its containers show
            if kubelet.seccomp_default is not None:
                entry["seccompDefault"] = "on" if kubelet.seccomp_default else "off"
            entry["seccompDefaultSource"] = kubelet.seccomp_default_source
            entry["seccompRoot"], entry["seccompRootSource"] = kubelet.seccomp_root, kubelet.seccomp_root_source
        else:
            entry["seccompDefaultSource"] = "inferred from its containers"
    if not scope.targets and not scope.errors:
        scope.notes.append("no containers in scope")
    flagged = {flag: sum(1 for c in containers if flag in c["flags"]) for flag in (FLAG_SECCOMP_DEFAULT, FLAG_NO_FILTER)}
    return build_report("seccomp", scope, containers, nodes, flags=flagged, debugPods=debug_pods,
                        ephemeralContainers=reader.ephemeral, nodeInspect=options.node_inspect)


def run(options: VerifyOptions) -> int:
    from ..report.confinement import write_verify

    with options.connection:
        report = build(options.connection.cluster(), options)
    write_verify(report, options.output, options.no_color)
    return model.exit_code_for(report["summary"], len(report["errors"]))
