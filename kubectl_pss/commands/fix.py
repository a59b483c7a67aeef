"""``kubectl pss fix``: make manifests or live workloads pass a Pod Security level, safely.

``-f PATH... --level L``: only the safe fixes are applied (allowPrivilegeEscalation: false,
capabilities.drop: [ALL], pod-level runAsNonRoot: true and seccompProfile RuntimeDefault), never a
combination the API server rejects; everything else is a decision, reported with its check, reason
and hint (``--allow NAME,...`` applies the named ones). The engine judges every object after the
edits. Output: the fixed manifests (default), ``--in-place``, ``-o diff`` or ``-o json`` (FixReport).

``KIND/NAME... -n NS --level L``: the strategic-merge patch per object (``-o patch``); ``--yes``
applies it after a server dry run without PodSecurity warnings, with an undo file. ``--undo FILE``
plans the way back from that file (an object changed since is refused unless ``--force``); ``--yes``
restores it, writing its own undo file (a redo).

Exit 0 when every object passes the level after fixing, 1 when some still fail, 2 bad input.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass

from ..errors import EXIT_ERROR, EXIT_FINDINGS, EXIT_OK, UsageError
from ..fix import ALLOW_NAMES
from ..policy import LATEST, Level, Version
from ..policy.registry import NEWEST_MINOR
from .flags import (add_connection_flags, add_dry_run_flag, connection_args, dry_run_arg, level_arg, validate_output,
                    version_arg)

EXAMPLES = """
# The fixed manifests on stdout (all documents, unchanged ones byte-identical)
kubectl pss fix -f deploy/ --level restricted

# What would change, as a diff; then write it
kubectl pss fix -f web.yaml --level restricted -o diff
kubectl pss fix -f web.yaml --level restricted --in-place

# A live Deployment: the patch first, then apply it (server dry run, undo file)
kubectl pss fix deployment/web -n shop --level restricted -o patch
kubectl pss fix deployment/web -n shop --level restricted --yes

# The way back: the plan from the undo file, then restore (refused if the object changed since)
kubectl pss fix --undo kubectl-pss-undo-kind-20261207T181133Z.json
kubectl pss fix --undo kubectl-pss-undo-kind-20261207T181133Z.json --yes
"""
EXIT_CODES = ((0, 'every object passes the level after fixing'), (1, 'some object still fails: its decisions are listed'))

MANIFEST_OUTPUTS = ("yaml", "json", "diff")
LIVE_OUTPUTS = ("patch", "json")


@dataclass
class FixOptions:
    paths: list[str]
    objects: list[tuple[str, str]]  # (kind, name) of live objects
    from_audit_json: str | None
    namespace: str | None
    level: Level
    version: Version = LATEST
    allow: frozenset[str] = frozenset()
    in_place: bool = False
    output: str = "yaml"
    yes: bool = False
    dry_run: str = "none"  # kubectl's --dry-run: client (the plan), server (the server's dry run, no change)
    undo_file: str | None = None
    connection: object | None = None
    undo: object | None = None  # the FixUndoFile of --undo
    force: bool = False


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("objects", nargs="*", metavar="KIND/NAME", help="live workloads to fix (with -n NS)")
    parser.add_argument("-f", "--filename", action="append", dest="paths", default=[], metavar="PATH",
                        help="manifest file, directory (recursive *.yaml, *.yml, *.json) or - for stdin; repeatable")
    parser.add_argument("--level", help="baseline or restricted: the level every object must pass")
    parser.add_argument("--version", dest="policy_version", default="latest",
                        help=f'policy version "v1.N" or "latest" (= v1.{NEWEST_MINOR}; default latest)')
    parser.add_argument("--allow", action="append", default=[], metavar="NAME[,NAME]",
                        help="decisions taken: also fix these (" + ", ".join(ALLOW_NAMES) + ")")
    parser.add_argument("--in-place", action="store_true", help="rewrite the files instead of printing them")
    parser.add_argument("-o", "--output", default=None, metavar="yaml|json|diff|patch",
                        help="manifests: yaml (default), json (FixReport) or diff; live objects: patch (default) or json")
    parser.add_argument("-n", "--namespace", metavar="NS", help="the namespace of the live objects")
    parser.add_argument("--from-audit-json", metavar="FILE",
                        help="fix every owner listed in an `audit -o json` or `simulate -o json` report")
    parser.add_argument("-y", "--yes", action="store_true", help="apply the patches (server dry run first)")
    parser.add_argument("--undo-file", metavar="FILE", help="where to write the undo file of --yes")
    parser.add_argument("--undo", metavar="FILE", help="restore what an earlier fix --yes changed (its undo file)")
    parser.add_argument("--force", action="store_true",
                        help="with --undo: restore objects changed since, or on another context or API server")
    add_dry_run_flag(parser, "client: the patches only, even with --yes; server: also the server's dry run of "
                             "each (dryRun=All), nothing changed")
    add_connection_flags(parser)


def _allow(values: list[str]) -> frozenset[str]:
    names = [n.strip() for value in values for n in value.split(",") if n.strip()]
    unknown = [n for n in names if n not in ALLOW_NAMES]
    if unknown:
        raise UsageError(f'--allow: unknown decision "{unknown[0]}" (one of {", ".join(ALLOW_NAMES)})')
    return frozenset(ALLOW_NAMES[n] for n in names)


def _object_arg(text: str) -> tuple[str, str]:
    kind, slash, name = text.partition("/")
    if not slash or not kind or not name:
        raise UsageError(f'invalid object "{text}": use KIND/NAME (deployment/web)')
    return kind, name


def _complete_undo(args: argparse.Namespace) -> FixOptions:
    from ..operations.fix_undo import read_fix_undo
    from ..operations.undofile import UndoFileError

    if args.objects or args.paths or args.from_audit_json or args.namespace or args.level or args.allow \
            or args.in_place or args.policy_version != "latest":
        raise UsageError("--undo restores the objects its file names: drop KIND/NAME, -f, -n, --from-audit-json, "
                         "--level, --version, --allow and --in-place")
    if args.output not in (None, *LIVE_OUTPUTS):
        validate_output(args.output, LIVE_OUTPUTS)
    try:
        undo = read_fix_undo(args.undo)
    except UndoFileError as exc:
        raise UsageError(f"--undo: {exc}") from None
    return FixOptions(paths=[], objects=[], from_audit_json=None, namespace=None, level=Level.RESTRICTED,
                      output=args.output or "patch", yes=args.yes, dry_run=dry_run_arg(args.dry_run),
                      undo_file=args.undo_file, connection=connection_args(args), undo=undo, force=args.force)


def complete(args: argparse.Namespace) -> FixOptions:
    if args.undo is not None:
        return _complete_undo(args)
    if args.force:
        raise UsageError("--force only applies to --undo")
    if args.level is None:
        raise UsageError("--level is required: baseline or restricted")
    level = level_arg(args.level)
    if level is Level.PRIVILEGED:
        raise UsageError("--level privileged: every object passes it, nothing to fix (use baseline or restricted)")
    live = bool(args.objects or args.from_audit_json)
    return FixOptions(
        paths=args.paths, objects=[_object_arg(o) for o in args.objects], from_audit_json=args.from_audit_json,
        namespace=args.namespace, level=level, version=version_arg(args.policy_version), allow=_allow(args.allow),
        in_place=args.in_place, output=args.output or ("patch" if live else "yaml"), yes=args.yes,
        dry_run=dry_run_arg(args.dry_run), undo_file=args.undo_file, connection=connection_args(args) if live else None,
    )


def validate(options: FixOptions) -> None:
    if options.undo is not None:
        return
    live = bool(options.objects or options.from_audit_json)
    if live and options.paths:
        raise UsageError("fix either manifests (-f) or live objects (KIND/NAME or --from-audit-json), not both")
    if not live and not options.paths:
        raise UsageError("nothing to fix: give -f PATH, KIND/NAME... -n NS or --from-audit-json FILE")
    if live:
        if options.output not in LIVE_OUTPUTS:
            validate_output(options.output, LIVE_OUTPUTS)
        if options.objects and not options.namespace:
            raise UsageError("KIND/NAME needs -n NS")
        if options.in_place:
            raise UsageError("--in-place rewrites files: live objects are patched with --yes")
        return
    if options.output not in MANIFEST_OUTPUTS:
        validate_output(options.output, MANIFEST_OUTPUTS)
    if options.yes or options.undo_file or options.dry_run != "none":
        raise UsageError("--yes, --dry-run and --undo-file patch live objects: manifests are rewritten with --in-place")
    if options.paths.count("-") > 1:
        raise UsageError("stdin (-) can only be read once")
    if options.in_place and "-" in options.paths:
        raise UsageError("--in-place cannot rewrite stdin")


def _request(options: FixOptions) -> dict:
    return {"level": options.level.value, "version": str(options.version),
            "allow": sorted(k for k, v in ALLOW_NAMES.items() if v in options.allow)}


def _run_manifests(options: FixOptions) -> int:
    from ..operations.fix import fix_sources, write_in_place
    from ..report.fix import fix_report, print_decisions, write_diff, write_json, write_texts

    run = fix_sources(options.paths, options.level, options.version, options.allow)
    objects = [o.as_dict() for s in run.sources for o in s.fixed.objects]
    errors = run.all_errors
    if options.in_place:
        for source in run.sources:
            try:
                write_in_place(source)
            except OSError as exc:
                print(f"error: {source.source}: not written: {exc.strerror or exc}", file=sys.stderr)
                return EXIT_ERROR
    if options.output == "json":
        report = fix_report(_request(options), objects,
                            [{"message": str(e), "source": e.source, "document": e.index} for e in errors])
        write_json(report, sys.stdout)
    elif options.output == "diff":
        write_diff([(s.source, s.before, s.fixed.text) for s in run.sources], sys.stdout)
    elif not options.in_place:
        write_texts([s.fixed.text for s in run.sources], sys.stdout)
    if options.output != "json":
        print_decisions(objects, sys.stderr)
    for error in errors:
        print(f"error: {error}", file=sys.stderr)
    if errors:
        return EXIT_ERROR
    return EXIT_OK if all(o["allowed"] for o in objects) else EXIT_FINDINGS


def run(options: FixOptions) -> int:
    if options.undo is not None:
        from ..operations.fix_undo import run_undo

        return run_undo(options)
    if options.paths:
        return _run_manifests(options)
    from ..operations.fix_live import run_live

    return run_live(options)
