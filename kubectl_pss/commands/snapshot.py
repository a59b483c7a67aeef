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
from ..scope import NamespaceScope
from .flags import add_connection_flags, add_scope_flags, connection_args, namespace_scope_arg

EXAMPLES = """
# Dump the whole cluster for offline use, then audit the dump
kubectl pss snapshot -A --output-file cluster.json
kubectl pss audit --snapshot cluster.json

# Two namespaces, as YAML
kubectl pss snapshot -n shop -n web --output-file shop.yaml
"""
EXIT_CODES = ((0, 'the dump is complete'),)


FORMAT_WORDS = ("table", "json", "yaml", "wide", "name")


@dataclass
class SnapshotOptions:
    connection: Connection
    scope: NamespaceScope  # -n/-A/-l/--exclude-namespace (nothing: the context's namespace)
    path: str
    overwrite: bool


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--output-file", "-o", dest="path", required=True, metavar="FILE",
                        help="where to write the dump (.json, .yaml/.yml, or - for stdout); -o FILE is the same, "
                             "but never a format word")
    parser.add_argument("--overwrite", action="store_true", help="replace FILE if it exists")
    add_scope_flags(parser, namespace_selector=True)
    add_connection_flags(parser)


def complete(args: argparse.Namespace) -> SnapshotOptions:
    return SnapshotOptions(connection_args(args), namespace_scope_arg(args), args.path, args.overwrite)


def validate(options: SnapshotOptions) -> None:
    if options.path in FORMAT_WORDS:  # -o json: another command's output format, not a file to create
        raise UsageError(f'-o "{options.path}": snapshot writes a dump to a file, not an output format: '
                         f"give --output-file FILE (.json or .yaml), or --output-file - for stdout")
    if options.path != "-" and os.path.exists(options.path) and not options.overwrite:
        raise UsageError(f"{options.path} exists: pass --overwrite to replace it")
    if options.path != "-" and not os.path.isdir(os.path.dirname(os.path.abspath(options.path))):
        raise UsageError(f"{options.path}: no such directory")


def run(options: SnapshotOptions) -> int:
    from ..operations.snapshot import dump_cluster
    from ..scope import default_scope_note

    with options.connection:
        cluster = options.connection.cluster()
        scope = options.scope.named([cluster.namespace]) if options.scope.is_default else options.scope
        document, errors = dump_cluster(cluster, scope)
    if options.scope.is_default:
        print(default_scope_note("dumping", cluster.namespace), file=sys.stderr)
    yaml_out = options.path.lower().endswith((".yaml", ".yml"))
    stream = sys.stdout if options.path == "-" else open(options.path, "w", encoding="utf-8")
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
    summary = ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items()))
    print(f"wrote {options.path}: {summary}", file=sys.stderr)
    for error in errors:
        where = f'namespace "{error.namespace}"' if error.namespace else "cluster"
        print(f"error: {where}: {error.resource}: {error.message}", file=sys.stderr)
    return EXIT_ERROR if errors else EXIT_OK
