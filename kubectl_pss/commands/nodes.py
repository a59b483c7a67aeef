"""``kubectl pss nodes [NODE ...] [--node-inspect]``: node readiness for confinement.

Without ``--node-inspect`` (read-only, the API only): each node's kubelet, container runtime, OS image,
kernel and what the Ready condition says about AppArmor; the pods blocked or failing for an AppArmor
or seccomp reason (their status), with the profile they asked for; and every AppArmor and seccomp
Localhost profile a pod or workload template names, with the nodes where it could land.

With ``--node-inspect`` (it creates a privileged pod on each node, always deleted): one short-lived
debug pod per node (``cluster.debugpod.NodeDebugPod``) reads, with fixed argv commands (never a
shell), in the node's root through ``chroot /host`` (falling back to the debug image's own tool on
``/host/...`` paths where the node lacks one):

- ``cat /sys/module/apparmor/parameters/enabled`` and ``cat /sys/kernel/security/apparmor/profiles``;
- ``tar -C SECCOMP_ROOT -cf - .``: every file under the kubelet's seccomp root in one exec (size,
  sha256 and JSON validity are computed here; a symbolic link is read with ``cat``);
- ``pgrep -x kubelet``, ``cat /proc/PID/cmdline`` and ``cat`` of its ``--config`` file
  (``/var/lib/kubelet/config.yaml`` when no kubelet process is found): SeccompDefault.

Then the cross-check: for every referenced profile, its status on each node where a pod naming it
could land (``confinement.nodes``). Exit 0 all good; 1 a referenced profile missing, invalid or
different where it could land, or a pod blocked; 2 errors (a node not inspected, a list forbidden).
"""
from __future__ import annotations

import argparse
import signal
import sys
from dataclasses import dataclass
from typing import Any

from ..confinement import nodes as cn
from ..errors import FatalError
from .common import (
    DebugPodLedger,
    DEFAULT_DEBUG_IMAGE,
    DEFAULT_SECCOMP_ROOT,
    add_connection_flags,
    add_node_inspect_flags,
    add_output_flags,
    connection_args,
    node_inspect_args,
    validate_output,
)



@dataclass
class NodesOptions:
    connection: Any
    nodes: list[str]
    output: str
    no_color: bool
    node_inspect: bool = False
    image: str = DEFAULT_DEBUG_IMAGE
    debug_namespace: str | None = None
    seccomp_root: str = DEFAULT_SECCOMP_ROOT
    pod_timeout: float = 120.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("nodes", nargs="*", metavar="NODE", help="nodes to look at (default: every node)")
    add_node_inspect_flags(parser, "read each node's AppArmor profiles, seccomp root and kubelet SeccompDefault")
    add_output_flags(parser)
    add_connection_flags(parser)


def complete(args: argparse.Namespace) -> NodesOptions:
    inspect = node_inspect_args(args)
    return NodesOptions(
        connection=connection_args(args),
        nodes=list(dict.fromkeys(args.nodes)),
        output=args.output,
        no_color=args.no_color,
        node_inspect=inspect.enabled,
        image=inspect.image,
        debug_namespace=inspect.namespace,
        seccomp_root=inspect.seccomp_root,
        pod_timeout=inspect.pod_timeout,
    )


def validate(options: NodesOptions) -> None:
    validate_output(options.output)


# --- reading the API ------------------------------------------------------------------------------
def read_nodes(cluster: Any, names: list[str], errors: list[dict[str, Any]]) -> list[dict]:
    """Every node, or the named ones (a GET each when listing is forbidden)."""
    from ..cluster.errors import ClusterError, Forbidden, NotFound

    try:
        listed = {(n.get("metadata") or {}).get("name"): n for n in cluster.list_items("/api/v1/nodes")}
    except Forbidden as exc:
        if not names:
            raise FatalError(f"cannot list nodes: {exc}") from None
        listed = {}
        for name in names:
            try:
                listed[name] = cluster.request("GET", f"/api/v1/nodes/{name}").data or {}
            except NotFound:
                pass
            except ClusterError as err:
                errors.append({"node": name, "error": str(err)})
                listed[name] = None  # type: ignore[assignment]
    except ClusterError as exc:
        raise FatalError(f"cannot list nodes: {exc}") from None
    if not names:
        return [listed[k] for k in sorted(listed)]
    out = []
    for name in names:
        if name not in listed:
            errors.append({"node": name, "error": f'nodes "{name}" not found'})
        elif listed[name] is not None:
            out.append(listed[name])
    return out


def read_workloads(cluster: Any, errors: list[dict[str, Any]]) -> list[dict]:
    """Pods and workloads of every namespace, slimmed to what the cross-check reads."""
    from ..cluster.errors import ClusterError
    from ..cluster.inventory import FATAL, fetch_inventory

    try:
        inventory = fetch_inventory(cluster, None, transform=cn.placement_view)
    except FATAL as exc:
        raise FatalError(str(exc)) from None
    except ClusterError as exc:
        errors.append({"resource": "namespaces", "error": f"cannot read pods and workloads: {exc}"})
        return []
    for e in inventory.errors:
        if e.resource == "version":
            continue
        errors.append({"namespace": e.namespace, "resource": e.resource, "error": e.message})
    return [obj for objs in inventory.objects.values() for obj in objs]


# --- reading a node ---------------------------------------------------------------------------------
class HostPath(str):
    """An argv word that is a path on the node (prefixed with the host mount when run in the debug
    container instead of ``chroot /host``)."""


class HostReader:
    """Runs fixed argv commands on a node through a NodeDebugPod: ``chroot /host TOOL ...`` (the
    node's own tools, symbolic links resolved in the node's root); where the node has no such tool,
    the debug image's TOOL on ``/host/...`` paths (remembered per tool)."""

    def __init__(self, pod: Any):
        self.pod = pod
        self.in_container: set[str] = set()
        self.no_chroot = False  # the debug image has no chroot: its own tools for everything

    def run(self, tool: str, *args: str) -> Any:
        from ..cluster.exec import CommandNotFound

        if tool not in self.in_container and not self.no_chroot:
            try:
                result = self.pod.run_on_host([tool, *map(str, args)])
            except CommandNotFound:
                self.no_chroot = True
            else:
                if not (result.exit_code == 127 or "failed to run command" in result.stderr_text):
                    return result
                self.in_container.add(tool)
        root = self.pod.spec.host_root.rstrip("/")
        return self.pod.run([tool, *(root + a if isinstance(a, HostPath) else str(a) for a in args)])


def _why(result: Any) -> str:
    from .runtimecheck import last_line

    return last_line(result.stderr_text) or f"exit code {result.exit_code}"


def _no_such_file(result: Any) -> bool:
    return "no such file" in result.stderr_text.lower()


def read_node(reader: HostReader, inspection: cn.NodeInspection, kubelet_version: str | None) -> None:
    """Fill ``inspection`` from the node. Exec errors that end the node (forbidden, pod gone) propagate;
    a read that fails on its own is a ``problem`` and the other reads go on."""
    from ..cluster.exec import CommandNotFound, ExecFailed

    def attempt(what: str, fn: Any) -> None:
        try:
            fn()
        except (CommandNotFound, ExecFailed) as exc:  # other ClusterErrors end the node: the caller's
            inspection.problems.append(f"{what}: {exc}")

    def apparmor() -> None:
        result = reader.run("cat", HostPath(cn.APPARMOR_ENABLED_PATH))
        if result.exit_code != 0:
            if _no_such_file(result):
                inspection.apparmor_enabled = False
                inspection.notes.append(f"no AppArmor in the kernel ({cn.APPARMOR_ENABLED_PATH} does not exist)")
            else:
                inspection.problems.append(f"reading {cn.APPARMOR_ENABLED_PATH}: {_why(result)}")
            return
        try:
            inspection.apparmor_enabled = cn.parse_apparmor_enabled(result.stdout_text)
        except ValueError as exc:
            inspection.problems.append(f"{cn.APPARMOR_ENABLED_PATH}: {exc}")
            return
        if not inspection.apparmor_enabled:
            return
        result = reader.run("cat", HostPath(cn.APPARMOR_PROFILES_PATH))
        if result.exit_code != 0:
            hint = " (securityfs is not mounted on the node)" if _no_such_file(result) else ""
            inspection.problems.append(f"reading {cn.APPARMOR_PROFILES_PATH}: {_why(result)}{hint}")
            return
        try:
            inspection.apparmor_profiles = cn.parse_apparmor_profiles(result.stdout_text)
        except ValueError as exc:
            inspection.problems.append(f"{cn.APPARMOR_PROFILES_PATH}: {exc}")

    def seccomp() -> None:
        root = inspection.seccomp_root
        result = reader.run("tar", "-C", HostPath(root), "-cf", "-", ".")
        if result.exit_code != 0:
            if _no_such_file(result):
                inspection.seccomp_root_exists = False
                inspection.seccomp_files = []
            else:
                inspection.problems.append(f"reading the seccomp root {root}: {_why(result)}")
            return
        if result.truncated:
            inspection.problems.append(f"the seccomp root {root} is larger than the 8 MiB read: not checked")
            return
        try:
            files = cn.parse_seccomp_tar(result.stdout)
        except ValueError as exc:
            inspection.problems.append(f"reading the seccomp root {root}: {exc}")
            return
        inspection.seccomp_root_exists = True
        resolved = []
        for f in files:
            if f.symlink is None:
                resolved.append(f)
                continue
            target = cn.symlink_target(root, f.path, f.symlink)
            got = reader.run("cat", HostPath(target))
            if got.exit_code == 0:
                resolved.append(cn.seccomp_file(f.path, got.stdout, f.symlink))
            elif _no_such_file(got):
                inspection.notes.append(f"{root}/{f.path} is a dangling symbolic link to {f.symlink}")
            else:
                resolved.append(cn.SeccompFile(f.path, symlink=f.symlink, unread=f"reading {target}: {_why(got)}"))
        inspection.seccomp_files = resolved

    state: dict[str, Any] = {"flags": None, "config": None, "path": None, "config_failed": False}

    def kubelet() -> None:
        result = reader.run("pgrep", "-x", "kubelet")
        pids = [w for w in result.stdout_text.split() if w.isdigit()]
        if result.exit_code not in (0, 1) or (result.exit_code == 0 and not pids):
            inspection.problems.append(f"finding the kubelet process: {_why(result)}")
        elif not pids:
            inspection.notes.append("no process named kubelet (k3s, k0s and rke2 run it inside another process): "
                                    f"its flags were not read; trying {cn.DEFAULT_KUBELET_CONFIG}")
        else:
            inspection.kubelet["pid"] = int(pids[0])
            cmdline = f"/proc/{pids[0]}/cmdline"
            got = reader.run("cat", HostPath(cmdline))
            if got.exit_code != 0:
                inspection.problems.append(f"reading {cmdline}: {_why(got)}")
            else:
                flags = state["flags"] = cn.parse_kubelet_cmdline(got.stdout)
                inspection.kubelet["flags"] = {"seccompDefault": flags.seccomp_default, "config": flags.config,
                                               "configDir": flags.config_dir, "featureGates": flags.feature_gates}
        flags = state["flags"]
        path = flags.config if flags is not None else (None if pids else cn.DEFAULT_KUBELET_CONFIG)
        inspection.kubelet["config"] = path
        if path is None:
            if flags is not None:
                inspection.notes.append("the kubelet runs without --config: flags and defaults only")
            return
        if not path.startswith("/"):
            inspection.notes.append(f"the kubelet's --config {path} is relative: not read")
            return
        got = reader.run("cat", HostPath(path))
        if got.exit_code != 0:
            if _no_such_file(got):
                inspection.notes.append(f"no kubelet config file {path}")
            else:
                state["config_failed"] = True
                inspection.problems.append(f"reading the kubelet config {path}: {_why(got)}")
            return
        try:
            state["config"] = cn.parse_kubelet_config(got.stdout_text)
            state["path"] = path
        except ValueError as exc:
            state["config_failed"] = True
            inspection.problems.append(f"the kubelet config {path}: {exc}")

    attempt("AppArmor", apparmor)
    attempt("seccomp root", seccomp)
    attempt("kubelet", kubelet)
    flags = state["flags"]
    if state["config_failed"] and (flags is None or flags.seccomp_default is None):
        value, source, notes = None, "unknown", []  # the file that would say was not read (a problem above)
    else:
        value, source, notes = cn.seccomp_default(kubelet_version, flags, state["config"], state["path"])
    inspection.seccomp_default, inspection.seccomp_default_source = value, source
    inspection.notes += notes


class NodeInspector:
    """One debug pod per node, in turn; creations and deletions are said on stderr and listed."""

    def __init__(self, cluster: Any, options: NodesOptions, errors: list[dict[str, Any]]):
        self.cluster = cluster
        self.options = options
        self.errors = errors
        self.announce = DebugPodLedger(errors, "privileged, hostPID")
        self.debug_pods = self.announce.pods
        self.stop: str | None = None  # a refusal that holds for every node (403): not tried again

    def inspect(self, node: dict) -> cn.NodeInspection:
        from ..cluster.debugpod import DebugPodError, DebugPodSpec, NodeDebugPod
        from ..cluster.errors import ClusterError, Forbidden

        summary = cn.node_summary(node)
        name = summary["name"]
        inspection = cn.NodeInspection(seccomp_root=self.options.seccomp_root)
        if self.stop:
            inspection.failed = self.stop
        elif summary["ready"] is not True:
            inspection.failed = "the node is not Ready: not inspected (a debug pod would not start)"
        else:
            spec = DebugPodSpec(image=self.options.image, name_prefix="pss-nodes")
            namespace = self.options.debug_namespace or self.cluster.namespace
            try:
                with NodeDebugPod(self.cluster, name, namespace=namespace, spec=spec, on_event=self.announce,
                                  start_timeout=self.options.pod_timeout) as pod:
                    read_node(HostReader(pod), inspection, summary["kubeletVersion"])
            except DebugPodError as exc:
                inspection.failed = str(exc)
                if exc.status in (403, 404):  # refused, or no such namespace: the same on every node
                    self.stop = f"{exc} (not tried again on the other nodes)"
            except Forbidden as exc:
                inspection.failed = f"exec into the debug pod is forbidden: {exc}"
                self.stop = f"{inspection.failed} (not tried again on the other nodes)"
            except ClusterError as exc:
                inspection.failed = f"node inspection failed: {exc}"
        if inspection.failed:
            self.errors.append({"node": name, "error": inspection.failed})
        for problem in inspection.problems:
            self.errors.append({"node": name, "error": problem})
        return inspection


# --- the report ------------------------------------------------------------------------------------
def build(cluster: Any, options: NodesOptions) -> dict[str, Any]:
    from ..confinement.pods import is_finished

    errors: list[dict[str, Any]] = []
    notes: list[str] = []
    node_objects = read_nodes(cluster, options.nodes, errors)
    linux = [n for n in node_objects if cn.node_os(n) == "linux"]
    others = [n for n in node_objects if cn.node_os(n) != "linux"]
    if others:
        notes.append("nodes of another OS have neither AppArmor nor seccomp and are left out: "
                     + ", ".join(sorted(n["metadata"]["name"] for n in others)))
    in_scope = {n["metadata"]["name"] for n in linux}
    objects = read_workloads(cluster, errors)
    blocked = [b for obj in objects if obj.get("kind") == "Pod" for b in cn.blocked_containers(obj)
               if b.node in in_scope or (b.node is None and not options.nodes)]
    refs = [r for obj in objects if not (obj.get("kind") == "Pod" and is_finished(obj)) for r in cn.references(obj)]
    inspections: dict[str, cn.NodeInspection] = {}
    debug_pods: list[dict[str, Any]] = []
    if options.node_inspect:
        inspector = NodeInspector(cluster, options, errors)
        debug_pods = inspector.debug_pods
        try:
            for node in linux:
                inspections[node["metadata"]["name"]] = inspector.inspect(node)
        finally:
            left = inspector.announce.left_behind_note()
            if left:
                notes.append(left)
    elif refs:
        notes.append("whether each node has the profiles is unknown without --node-inspect (it runs a privileged "
                     "debug pod on each node); pod statuses tell where a pod was already blocked")
    profiles = cn.cross_check(refs, linux, inspections, blocked, options.seccomp_root)
    nodes = []
    for node in node_objects:
        entry = cn.node_summary(node)
        inspection = inspections.get(entry["name"])
        entry["inspection"] = inspection.as_dict() if inspection is not None else None
        nodes.append(entry)
    if not refs:
        notes.append("no pod or workload template names an AppArmor or seccomp Localhost profile")
    summary = cn.summarize(profiles, blocked, len(node_objects), sum(1 for i in inspections.values() if not i.failed))
    return {"context": cluster.context, "nodeInspect": options.node_inspect, "seccompRoot": options.seccomp_root,
            "nodes": nodes, "profiles": profiles, "blockedPods": [b.as_dict() for b in blocked], "summary": summary,
            "debugPods": debug_pods, "errors": errors, "notes": notes}


def run(options: NodesOptions) -> int:
    from ..cluster.client import connect
    from ..cluster.debugpod import Terminated
    from ..cluster.errors import ClusterError
    from ..report.nodes import render_nodes
    from ..report.render import write_report
    from .runtimecheck import print_errors

    try:
        with connect(options.connection) as cluster:
            report = build(cluster, options)
    except Terminated as exc:
        print("error: terminated", file=sys.stderr)
        return 128 + int(exc.signum or signal.SIGTERM)
    except ClusterError as exc:
        raise FatalError(str(exc)) from None
    write_report(report, options.output, sys.stdout, lambda r, out: render_nodes(r, out, options.no_color))
    print_errors(report)
    return cn.exit_code(report["summary"], len(report["errors"]))
