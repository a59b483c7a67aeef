"""``kubectl pss snapshot --output-file FILE``: dump what audit and simulate read, to hand to someone without access.

Namespaces, pods and every workload kind PSA reads, as one ``List`` with the server's
/version object; secrets are never read. ``managedFields`` are dropped.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass

from ..errors import EXIT_ERROR, EXIT_OK, UsageError
from ..operations.connection import Connection
from ..operations.fleet import output_file_for
from ..scope import NamespaceScope
from .flags import add_connection_flags, add_scope_flags, connection_args, namespace_scope_arg
from .flags.fleet import add_fleet_flags, Fleet, fleet_args

EXAMPLES = """
# Dump the whole cluster for offline use, then audit the dump
kubectl pss snapshot -A --output-file cluster.json
kubectl pss audit --snapshot cluster.json

# Two namespaces, as YAML
kubectl pss snapshot -n shop -n web --output-file shop.yaml

# Every context of the kubeconfig, one file each (cluster-prod.json, cluster-staging.json, ...)
kubectl pss snapshot --all-contexts --output-file 'cluster-{context}.json'
"""
EXIT_CODES = ((0, 'the dump is complete'),)


FORMAT_WORDS = ("table", "json", "yaml", "wide", "name")


@dataclass
class SnapshotOptions:
    connection: Connection
    scope: NamespaceScope  # -n/-A/-l/--exclude-namespace (nothing: the context's namespace)
    path: str  # a file, or a pattern with {context}
    overwrite: bool
    fleet: Fleet | None = None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--output-file", "-o", dest="path", required=True, metavar="FILE",
                        help="where to write the dump (.json, .yaml/.yml, or - for stdout); -o FILE is the same, "
                             "but never a format word; {context} in it is the context's name (required with "
                             "several contexts: one file each)")
    parser.add_argument("--overwrite", action="store_true", help="replace FILE if it exists")
    add_scope_flags(parser, namespace_selector=True)
    add_connection_flags(parser)
    add_fleet_flags(parser)


def complete(args: argparse.Namespace) -> SnapshotOptions:
    connection = connection_args(args)
    return SnapshotOptions(connection, namespace_scope_arg(args), args.path, args.overwrite,
                           fleet_args(args, connection))


def validate(options: SnapshotOptions) -> None:
    if options.path in FORMAT_WORDS:  # -o json: another command's output format, not a file to create
        raise UsageError(f'-o "{options.path}": snapshot writes a dump to a file, not an output format: '
                         f"give --output-file FILE (.json or .yaml), or --output-file - for stdout")
    paths = [options.path] if options.fleet is None else \
        [output_file_for(options.path, name, several=True) for name in options.fleet.contexts]
    if len(set(paths)) < len(paths):
        raise UsageError(f'--output-file "{options.path}": two contexts would write the same file (their names '
                         "differ only in characters made _)")
    for path in paths:
        if "{context}" in path:
            continue  # known once connected
        if path != "-" and os.path.exists(path) and not options.overwrite:
            raise UsageError(f"{path} exists: pass --overwrite to replace it")
        if path != "-" and not os.path.isdir(os.path.dirname(os.path.abspath(path))):
            raise UsageError(f"{path}: no such directory")


@dataclass
class Dumped:
    path: str
    counts: dict[str, int]
    errors: list


def dump_to(connection: Connection, options: SnapshotOptions, several: bool) -> Dumped:
    """Read the cluster and write its dump where ``--output-file`` says (its {context} filled in)."""
    from ..operations.snapshot import dump_cluster
    from ..scope import default_scope_note

    with connection:
        cluster = connection.cluster()
        scope = options.scope.named([cluster.namespace]) if options.scope.is_default else options.scope
        document, errors = dump_cluster(cluster, scope)
    if options.scope.is_default:
        print(default_scope_note("dumping", cluster.namespace), file=sys.stderr)
    path = output_file_for(options.path, cluster.context, several)
    yaml_out = path.lower().endswith((".yaml", ".yml"))
    try:
        stream = sys.stdout if path == "-" else open(path, "w" if options.overwrite else "x", encoding="utf-8")
    except FileExistsError:
        raise UsageError(f"{path} exists: pass --overwrite to replace it") from None
    try:
        if yaml_out:
            from ..goyaml import dump as dump_yaml  # read back (and by kubectl) as written

            dump_yaml(document, stream, sort_keys=False, allow_unicode=True)
        else:
            json.dump(document, stream, ensure_ascii=False, separators=(",", ":"))
            stream.write("\n")
    finally:
        if stream is not sys.stdout:
            stream.close()
    counts: dict[str, int] = {}
    for item in document["items"]:
        counts[item.get("kind", "Version")] = counts.get(item.get("kind", "Version"), 0) + 1
    return Dumped(path, counts, errors)


def _say(dumped: Dumped, prefix: str = "") -> None:
    summary = ", ".join(f"{n} {kind}" for kind, n in sorted(dumped.counts.items()))
    print(f"{prefix}wrote {dumped.path}: {summary}", file=sys.stderr)
    for error in dumped.errors:
        where = f'namespace "{error.namespace}"' if error.namespace else "cluster"
        print(f"error: {prefix}{where}: {error.resource}: {error.message}", file=sys.stderr)


def run(options: SnapshotOptions) -> int:
    if options.fleet is not None:
        from ..operations.fleet import fleet_exit_code, run_fleet

        results = run_fleet(options.connection, options.fleet.contexts, options.fleet.parallel,
                            lambda conn: dump_to(conn, options, several=True))
        for r in results:
            if r.error is not None:
                print(f'error: context "{r.context}": {r.error}', file=sys.stderr)
            else:
                _say(r.result, f'context "{r.context}": ')
        return fleet_exit_code(results, lambda d: EXIT_ERROR if d.errors else EXIT_OK)
    dumped = dump_to(options.connection, options, several=False)
    _say(dumped)
    return EXIT_ERROR if dumped.errors else EXIT_OK
