"""``kubectl pss nodes [NODE ...] [--node-inspect]``: node readiness for confinement.

Without ``--node-inspect`` (read-only, the API only): each node's kubelet, container runtime, OS image,
kernel and what the Ready condition says about AppArmor; the pods blocked or failing for an AppArmor
or seccomp reason (their status), with the profile they asked for; and every AppArmor and seccomp
Localhost profile a pod or workload template names, with the nodes where it could land.

With ``--node-inspect`` (it creates a privileged pod on each node, always deleted): one short-lived
debug pod per node reads the node's AppArmor profiles, seccomp root and kubelet SeccompDefault
(``operations.nodes``).

Then the cross-check: for every referenced profile, its status on each node where a pod naming it
could land (``confinement.nodes``). Exit 0 all good; 1 a referenced profile missing, invalid or
different where it could land, or a pod blocked; 2 errors (a node not inspected, a list forbidden).
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from typing import Any

from ..confinement import nodes as cn
from ..errors import UsageError
from ..operations.connection import Connection
from ..operations.debugpods import DebugPodSettings
from .flags import (SELECTOR_SYNTAX, add_connection_flags, add_output_flags, connection_args, list_arg, selector_arg,
                    validate_output)
from .flags.fleet import add_fleet_flags, Fleet, fleet_args
from .flags.runtime import add_node_inspect_flags, node_inspect_args

EXAMPLES = """
# Every node: kubelet, runtime, AppArmor, and the Localhost profiles pods name
kubectl pss nodes

# Two nodes, with their loaded profiles and seccomp root (debug pods)
kubectl pss nodes node-a node-b --node-inspect

# The nodes of one pool (a node label selector, sent to the server)
kubectl pss nodes -l pool=gpu
"""
EXIT_CODES = ((0, 'every profile pods name is where they could land'), (1, 'a profile missing, invalid or different where it could land, or a blocked pod'))


@dataclass
class NodesOptions:
    connection: Connection
    nodes: list[str]
    selector: str | None  # -l: the nodes whose labels match (with no NODE named)
    output: str
    no_color: bool
    node_inspect: bool = False
    debug: DebugPodSettings = field(default_factory=DebugPodSettings)
    fleet: Fleet | None = None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("nodes", nargs="*", metavar="NODE", help="nodes to look at (default: every node)")
    parser.add_argument("--node", action="append", default=[], metavar="NODE",
                        help="a node to look at, like NODE (repeatable, or comma-separated)")
    parser.add_argument("-l", "--selector", metavar="SELECTOR",
                        help=f"the nodes whose labels match ({SELECTOR_SYNTAX}); sent to the server")
    add_node_inspect_flags(parser, "read each node's AppArmor profiles, seccomp root and kubelet SeccompDefault")
    add_output_flags(parser)
    add_connection_flags(parser)
    add_fleet_flags(parser)


def complete(args: argparse.Namespace) -> NodesOptions:
    node_inspect, debug = node_inspect_args(args)
    connection = connection_args(args)
    fleet = fleet_args(args, connection)
    if fleet is not None and node_inspect:  # debug pods are deleted on a signal by the main thread, one cluster's
        raise UsageError("--node-inspect runs debug pods on one cluster at a time: give one --context")
    names = list_arg(args.nodes + args.node)
    selector = selector_arg(args.selector)
    if names and selector is not None:
        raise UsageError("name cannot be provided when a selector is specified")
    return NodesOptions(connection=connection, nodes=names, selector=None if selector is None else str(selector),
                        output=args.output, no_color=args.no_color, node_inspect=node_inspect, debug=debug,
                        fleet=fleet)


def validate(options: NodesOptions) -> None:
    validate_output(options.output)


def build(cluster: Any, options: NodesOptions) -> dict[str, Any]:
    from ..confinement.pods import is_finished
    from ..operations.nodes import inspect_nodes, read_nodes, read_workloads
    from ..report.envelope import envelope

    errors: list[dict[str, Any]] = []
    notes: list[str] = []
    from ..confinement.model import DEFAULT_SECCOMP_ROOT

    seccomp_root = options.debug.seccomp_root or DEFAULT_SECCOMP_ROOT  # each inspected node says its own
    node_objects = read_nodes(cluster, options.nodes, errors, options.selector)
    linux = [n for n in node_objects if cn.node_os(n) == "linux"]
    others = [n for n in node_objects if cn.node_os(n) != "linux"]
    if others:
        notes.append("nodes of another OS have neither AppArmor nor seccomp and are left out: "
                     + ", ".join(sorted(n["metadata"]["name"] for n in others)))
    in_scope = {n["metadata"]["name"] for n in linux}
    objects, server = read_workloads(cluster, errors, notes)
    blocked = [b for obj in objects if obj.get("kind") == "Pod" for b in cn.blocked_containers(obj)
               if b.node in in_scope or (b.node is None and not options.nodes and options.selector is None)]
    refs = [r for obj in objects if not (obj.get("kind") == "Pod" and is_finished(obj)) for r in cn.references(obj)]
    inspections: dict[str, cn.NodeInspection] = {}
    debug_pods: list[dict[str, Any]] = []
    if options.node_inspect:
        inspections, debug_pods = inspect_nodes(cluster, linux, options.debug, errors, notes)
    elif refs:
        notes.append("whether each node has the profiles is unknown without --node-inspect (it runs a privileged "
                     "debug pod on each node); pod statuses tell where a pod was already blocked")
    profiles = cn.cross_check(refs, linux, inspections, blocked, seccomp_root)
    nodes = []
    for node in node_objects:
        entry = cn.node_summary(node)
        inspection = inspections.get(entry["name"])
        entry["inspection"] = inspection.as_dict() if inspection is not None else None
        nodes.append(entry)
    if not refs:
        notes.append("no pod or workload template names an AppArmor or seccomp Localhost profile")
    summary = cn.summarize(profiles, blocked, len(node_objects), sum(1 for i in inspections.values() if not i.failed))
    return envelope("NodesReport", {
        "selection": {"nodes": options.nodes or None, "labelSelector": options.selector},
        "nodeInspect": options.node_inspect, "seccompRoot": seccomp_root, "nodes": nodes, "profiles": profiles,
        "blockedPods": [b.as_dict() for b in blocked], "summary": summary, "debugPods": debug_pods, "notes": notes,
    }, context=cluster.context, server=server, errors=errors)


def run(options: NodesOptions) -> int:
    from ..report.confinement import print_errors
    from ..report.nodes import render_nodes
    from ..report.render import write_report

    if options.fleet is not None:
        from ..operations.fleet import fleet_exit_code, run_fleet
        from ..report.fleet import write_fleet

        results = run_fleet(options.connection, options.fleet.contexts, options.fleet.parallel,
                            lambda conn: build(conn.cluster(), options))
        write_fleet(results, "NodesReport", options.output, sys.stdout,
                    lambda r, out: render_nodes(r, out, options.no_color), summary_line, print_errors)
        return fleet_exit_code(results, lambda r: cn.exit_code(r["summary"], len(r["errors"])))
    with options.connection:
        report = build(options.connection.cluster(), options)
    write_report(report, options.output, sys.stdout, lambda r, out: render_nodes(r, out, options.no_color))
    print_errors(report)
    return cn.exit_code(report["summary"], len(report["errors"]))


def summary_line(report: dict[str, Any]) -> str:
    s = report["summary"]
    return (f"{s['nodes']} node(s), {s['inspected']} inspected; {s['profiles']} profile(s) named, "
            f"{s['profilesWithProblems']} with problems; {s['blockedPods']} blocked pod(s)")
