"""Nodes: reading them from the API (one 403 fallback), the pods and workloads placed on them, and
what a debug pod reads on a node (AppArmor, the seccomp root, the kubelet's SeccompDefault).

On a node, fixed argv commands (never a shell) run in the node's root through ``chroot /host``,
falling back to the debug image's own tool on ``/host/...`` paths where the node lacks one:

- ``cat /sys/module/apparmor/parameters/enabled`` and ``cat /sys/kernel/security/apparmor/profiles``;
- ``tar -C SECCOMP_ROOT -cf - .``: every file under the kubelet's seccomp root in one exec (size,
  sha256 and JSON validity are computed here; a symbolic link is read with ``cat``);
- ``pgrep -x kubelet``, ``cat /proc/PID/cmdline`` and ``cat`` of its ``--config`` file
  (``/var/lib/kubelet/config.yaml`` when no kubelet process is found): SeccompDefault.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..confinement import nodes as cn
from ..confinement.pods import NodeFacts, node_facts
from ..errors import FatalError
from .debugpods import DebugPodSettings, NodeFailure, NodeRunner


# --- reading the API ------------------------------------------------------------------------------
@dataclass
class NodeList:
    """Nodes read from the API: ``found`` by name; named nodes that failed (``failed``, by name)."""

    found: dict[str, dict] = field(default_factory=dict)
    failed: dict[str, Exception] = field(default_factory=dict)


def fetch_nodes(cluster: Any, names: list[str], selector: str | None = None) -> NodeList:
    """Every node (``names`` empty; those ``selector`` picks, asked of the server) or the named ones: one
    list, or a GET each when listing nodes is forbidden. A failed list (a forbidden one with no names to
    GET) raises ClusterError."""
    from ..cluster.errors import ClusterError, Forbidden, NotFound

    nodes = NodeList()
    try:
        nodes.found = {(n.get("metadata") or {}).get("name"): n
                       for n in cluster.list_items("/api/v1/nodes", label_selector=selector)}
    except Forbidden:
        if not names:
            raise
        for name in names:
            try:
                nodes.found[name] = cluster.request("GET", f"/api/v1/nodes/{name}").data or {}
            except NotFound:
                pass
            except ClusterError as err:
                nodes.failed[name] = err
    return nodes


def read_nodes(cluster: Any, names: list[str], errors: list[dict[str, Any]],
               selector: str | None = None) -> list[dict]:
    """Every node (those ``selector`` picks) by name, or the named ones in their order; a named node missing
    or unreadable is an error."""
    from ..cluster.errors import ClusterError

    try:
        nodes = fetch_nodes(cluster, names, selector)
    except ClusterError as exc:
        raise FatalError(f"cannot list nodes: {exc}") from None
    errors += [{"node": name, "message": str(err)} for name, err in nodes.failed.items()]
    if not names:
        return [nodes.found[k] for k in sorted(nodes.found)]
    errors += [{"node": name, "message": f'nodes "{name}" not found'} for name in names
               if name not in nodes.found and name not in nodes.failed]
    return [nodes.found[name] for name in names if name in nodes.found]


def node_facts_of(cluster: Any, names: list[str], notes: list[str]) -> dict[str, NodeFacts]:
    """Facts of these nodes (runtime, OS, AppArmor); what cannot be read is unknown, with a note."""
    from ..cluster.errors import ClusterError, Forbidden

    if not names:
        return {}
    try:
        nodes = fetch_nodes(cluster, names)
    except ClusterError as exc:
        notes.append(f"cannot read nodes: {exc}")
        nodes = NodeList()
    if any(isinstance(err, Forbidden) for err in nodes.failed.values()):
        notes.append("reading nodes is forbidden: their container runtime (and its default AppArmor profile "
                     "name) is unknown")
    return {name: node_facts(nodes.found.get(name), name) for name in names}


def read_workloads(cluster: Any, errors: list[dict[str, Any]],
                   notes: list[str]) -> tuple[list[dict], dict[str, Any] | None]:
    """Pods and workloads of every namespace, slimmed to what the cross-check reads, and the envelope's
    ``server`` from the same read's /version (its failure a note)."""
    from ..cluster.errors import ClusterError
    from ..cluster.inventory import FATAL, fetch_inventory
    from .connection import server_of, version_unread

    from .progress import progress_printer

    progress = progress_printer()
    try:
        inventory = fetch_inventory(cluster, None, transform=cn.placement_view, progress=progress)
    except FATAL:
        raise
    except ClusterError as exc:
        errors.append({"resource": "namespaces", "message": f"cannot read pods and workloads: {exc}"})
        return [], None
    finally:
        if progress is not None:
            progress("")
    notes.extend(inventory.notes)
    for e in inventory.errors:
        if e.resource == "version":
            notes.append(version_unread(e.message))
            continue
        errors.append({"namespace": e.namespace, "resource": e.resource, "message": e.message})
    return [obj for objs in inventory.objects.values() for obj in objs], server_of(inventory.server_version)


# --- reading a node through its debug pod ----------------------------------------------------------
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
                if not result.command_missing:
                    return result
                self.in_container.add(tool)
        root = self.pod.spec.host_root.rstrip("/")
        return self.pod.run([tool, *(root + a if isinstance(a, HostPath) else str(a) for a in args)])


def _no_such_file(result: Any) -> bool:
    return "no such file" in result.stderr_text.lower()


def read_node(reader: HostReader, inspection: cn.NodeInspection, kubelet_version: str | None,
              given_root: str | None = None) -> None:
    """Fill ``inspection`` from the node. Exec errors that end the node (forbidden, pod gone) propagate;
    a read that fails on its own is a ``problem`` and the other reads go on."""
    from ..cluster.exec import CommandNotFound, ExecFailed

    def attempt(what: str, fn: Any) -> None:
        try:
            fn()
        except (CommandNotFound, ExecFailed) as exc:  # other ClusterErrors end the node: the caller's
            inspection.problems.append(f"{what}: {exc}")

    def parsed(path: str, parse: Any, text: str) -> Any:
        """``parse(text)``, or None with a problem when ``path``'s content is not what it should be."""
        try:
            return parse(text)
        except ValueError as exc:
            inspection.problems.append(f"{path}: {exc}")
            return None

    def apparmor() -> None:
        result = reader.run("cat", HostPath(cn.APPARMOR_ENABLED_PATH))
        if result.exit_code != 0:
            if _no_such_file(result):
                inspection.apparmor_enabled = False
                inspection.notes.append(f"no AppArmor in the kernel ({cn.APPARMOR_ENABLED_PATH} does not exist)")
            else:
                inspection.problems.append(f"reading {cn.APPARMOR_ENABLED_PATH}: {result.why()}")
            return
        inspection.apparmor_enabled = parsed(cn.APPARMOR_ENABLED_PATH, cn.parse_apparmor_enabled, result.stdout_text)
        if not inspection.apparmor_enabled:  # False, or None: unreadable (a problem)
            return
        result = reader.run("cat", HostPath(cn.APPARMOR_PROFILES_PATH))
        if result.exit_code != 0:
            hint = " (securityfs is not mounted on the node)" if _no_such_file(result) else ""
            inspection.problems.append(f"reading {cn.APPARMOR_PROFILES_PATH}: {result.why()}{hint}")
            return
        inspection.apparmor_profiles = parsed(cn.APPARMOR_PROFILES_PATH, cn.parse_apparmor_profiles,
                                              result.stdout_text)

    def seccomp() -> None:
        root = inspection.seccomp_root
        result = reader.run("tar", "-C", HostPath(root), "-cf", "-", ".")
        if result.exit_code != 0:
            if _no_such_file(result):
                inspection.seccomp_root_exists = False
                inspection.seccomp_files = []
            else:
                inspection.problems.append(f"reading the seccomp root {root}: {result.why()}")
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
                resolved.append(cn.SeccompFile(f.path, symlink=f.symlink, unread=f"reading {target}: {got.why()}"))
        inspection.seccomp_files = resolved

    read_kubelet(reader, inspection, kubelet_version, given_root)
    attempt("AppArmor", apparmor)
    attempt("seccomp root", seccomp)


def read_kubelet(reader: HostReader, inspection: cn.NodeInspection, kubelet_version: str | None,
                 given_root: str | None) -> None:
    """The kubelet's flags and config on the node: SeccompDefault, and the seccomp root
    (``<--root-dir>/seccomp`` unless ``given_root``) with where it came from."""
    from ..cluster.exec import CommandNotFound, ExecFailed

    state: dict[str, Any] = {"flags": None, "config": None, "path": None, "config_failed": False}

    def kubelet() -> None:
        result = reader.run("pgrep", "-x", "kubelet")
        pids = [w for w in result.stdout_text.split() if w.isdigit()]
        if result.exit_code not in (0, 1) or (result.exit_code == 0 and not pids):
            inspection.problems.append(f"finding the kubelet process: {result.why()}")
        elif not pids:
            inspection.notes.append("no process named kubelet (k3s, k0s and rke2 run it inside another process): "
                                    f"its flags were not read; trying {cn.DEFAULT_KUBELET_CONFIG}")
        else:
            inspection.kubelet["pid"] = int(pids[0])
            cmdline = f"/proc/{pids[0]}/cmdline"
            got = reader.run("cat", HostPath(cmdline))
            if got.exit_code != 0:
                inspection.problems.append(f"reading {cmdline}: {got.why()}")
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
                inspection.problems.append(f"reading the kubelet config {path}: {got.why()}")
            return
        try:
            state["config"] = cn.parse_kubelet_config(got.stdout_text)
            state["path"] = path
        except ValueError as exc:
            state["config_failed"] = True
            inspection.problems.append(f"the kubelet config {path}: {exc}")

    try:
        kubelet()
    except (CommandNotFound, ExecFailed) as exc:  # other ClusterErrors end the node: the caller's
        inspection.problems.append(f"kubelet: {exc}")
    flags = state["flags"]
    inspection.seccomp_root, inspection.seccomp_root_source = cn.seccomp_root_of(flags, given_root)
    if state["config_failed"] and (flags is None or flags.seccomp_default is None):
        value, source, notes = None, "unknown", []  # the file that would say was not read (a problem above)
    else:
        value, source, notes = cn.seccomp_default(kubelet_version, flags, state["config"], state["path"])
    inspection.seccomp_default, inspection.seccomp_default_source = value, source
    inspection.notes += notes


def inspect_nodes(cluster: Any, nodes: list[dict], settings: DebugPodSettings, errors: list[dict[str, Any]],
                  notes: list[str]) -> tuple[dict[str, cn.NodeInspection], list[dict]]:
    """One debug pod per node (``--parallel`` at once): each node's inspection, and the debug pods made."""
    runner = NodeRunner(cluster, settings, prefix="pss-nodes", what="privileged, hostPID", errors=errors)
    inspections: dict[str, cn.NodeInspection] = {}
    try:
        done = runner.map(nodes, lambda node: _inspect(runner, node), lambda node: node["metadata"]["name"])
        for node, inspection in zip(nodes, done):
            inspections[node["metadata"]["name"]] = inspection
            skipped = runner.skipped(node)
            if skipped:
                notes.append(f"node {node['metadata']['name']}: {skipped}")
    finally:
        left = runner.left_behind_note()
        if left:
            notes.append(left)
    return inspections, runner.debug_pods


def _inspect(runner: NodeRunner, node: dict) -> cn.NodeInspection:
    summary = cn.node_summary(node)
    name = summary["name"]
    inspection = cn.NodeInspection(seccomp_root=runner.settings.seccomp_root or cn.seccomp_root_of(None, None)[0])
    skipped = runner.skipped(node)
    if skipped:
        inspection.failed = skipped
        return inspection  # a note, not an error: nothing failed
    if runner.stop:
        inspection.failed = runner.stop
    else:
        try:
            runner.run(name, lambda pod: read_node(HostReader(pod), inspection, summary["kubeletVersion"],
                                                   runner.settings.seccomp_root))
        except NodeFailure as exc:
            inspection.failed = str(exc)
    if inspection.failed:
        runner.ledger.errors.append({"node": name, "message": inspection.failed})
    for problem in inspection.problems:
        runner.ledger.errors.append({"node": name, "message": problem})
    return inspection
