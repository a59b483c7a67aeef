"""``kubectl pss admission-config``: the cluster-level PodSecurity setup (the Kubernetes tutorial's
AdmissionConfiguration for ``kube-apiserver --admission-control-config-file``).

* default: print the configuration from flags (tutorial defaults: enforce baseline, audit and warn
  restricted, all at latest, kube-system exempt);
* ``--from-cluster``: propose the strictest enforce default the cluster passes and the smallest
  namespace exemption list that keeps every existing pod and workload admitted, with reasons;
* ``--check FILE``: every problem of an existing file (unknown fields, bad levels and versions,
  exemptions of namespaces that do not exist).

The file it writes is what ``audit``, ``simulate`` and ``label`` read with ``--admission-config``.
"""
from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass, field
from typing import Any

from ..errors import EXIT_ERROR, EXIT_FINDINGS, EXIT_OK, FatalError, UsageError
from ..policy import LATEST, Level, Version
from ..policy.admission import MODES
from ..policy.configcheck import DNS_LABEL, DNS_SUBDOMAIN, check_admission_document
from ..report.admission_config import admission_configuration, configuration_yaml, render_check
from ..report.audit import print_read_errors
from ..report.envelope import envelope, server_info
from ..report.render import write_json, write_yaml
from .flags import (
    add_connection_flags,
    add_namespace_selector_flags,
    add_no_headers_flag,
    connection_args,
    exclude_arg,
    level_version_arg,
    list_arg,
    selector_arg,
)
from ..scope import ALL_NAMESPACES, NamespaceScope

EXAMPLES = """
# An AdmissionConfiguration with the tutorial's defaults
kubectl pss admission-config

# One proposed from what runs in the cluster
kubectl pss admission-config --from-cluster

# One proposed from the namespaces labelled tier=apps only, none of kube-*
kubectl pss admission-config --from-cluster -l tier=apps --exclude-namespace 'kube-*'

# Check a file the API server is given
kubectl pss admission-config --check admission.yaml --offline
"""
EXIT_CODES = ((0, 'written, proposed, or checked without problems'), (1, '--check found problems'))


API_VERSIONS = ("v1", "v1beta1", "v1alpha1")
TUTORIAL_DEFAULTS = {"enforce": (Level.BASELINE, LATEST), "audit": (Level.RESTRICTED, LATEST),
                     "warn": (Level.RESTRICTED, LATEST)}
TUTORIAL_EXEMPT_NAMESPACES = ["kube-system"]


@dataclass
class AdmissionConfigOptions:
    action: str  # generate, from-cluster, check
    defaults: dict[str, tuple[Level, Version]]
    namespaces: list[str] | None  # None: not given (the tutorial's kube-system when generating)
    runtime_classes: list[str]
    usernames: list[str]
    api_version: str
    check_file: str | None
    offline: bool
    connection: Any
    output: str
    no_color: bool
    levels_given: list[str] = field(default_factory=list)
    scope: NamespaceScope = ALL_NAMESPACES  # --from-cluster: -l and --exclude-namespace narrow what is read


def add_arguments(parser: argparse.ArgumentParser) -> None:
    for mode, (level, version) in TUTORIAL_DEFAULTS.items():
        parser.add_argument(f"--{mode}", metavar="L[:V]",
                            help=f"the {mode} default: level and optional version (default {level.value}:{version})")
    parser.add_argument("--exempt-namespace", action="append", default=None, metavar="NS",
                        help="exempt namespace (repeatable, comma-separated; default kube-system; --exempt-namespace= for none)")
    parser.add_argument("--exempt-runtime-class", action="append", default=[], metavar="NAME",
                        help="exempt RuntimeClass (repeatable, comma-separated)")
    parser.add_argument("--exempt-username", action="append", default=[], metavar="USER",
                        help="exempt requesting user (repeatable)")
    parser.add_argument("--api-version", default="v1",
                        help="PodSecurityConfiguration version: v1 (Kubernetes 1.25+, default), v1beta1 (1.23, 1.24), v1alpha1 (1.22)")
    parser.add_argument("--from-cluster", action="store_true",
                        help="propose the strictest defaults the cluster passes and the exemptions it needs, with reasons")
    parser.add_argument("--check", metavar="FILE", help="validate an existing AdmissionConfiguration file")
    add_namespace_selector_flags(parser)
    parser.add_argument("--offline", action="store_true",
                        help="with --check: do not ask the cluster which namespaces exist and which version it runs")
    parser.add_argument("-o", "--output", default=None,
                        help="yaml (default) or json; with --check: table (default) or json")
    parser.add_argument("--no-color", action="store_true", help="never colour the --check table")
    add_no_headers_flag(parser)
    add_connection_flags(parser)


def complete(args: argparse.Namespace) -> AdmissionConfigOptions:
    levels_given = [mode for mode in MODES if getattr(args, mode) is not None]
    defaults: dict[str, tuple[Level, Version]] = {}
    for mode in MODES:
        value = getattr(args, mode)
        if value is None:
            defaults[mode] = TUTORIAL_DEFAULTS[mode]
        else:
            level, version = level_version_arg(value, f"--{mode}")
            defaults[mode] = (level, LATEST if version is None else version)
    if args.check is not None and args.from_cluster:
        raise UsageError("--from-cluster proposes a configuration, --check validates a file: give one of them")
    action = "check" if args.check is not None else ("from-cluster" if args.from_cluster else "generate")
    api_version = args.api_version.removeprefix("pod-security.admission.config.k8s.io/")
    if api_version not in API_VERSIONS:
        raise UsageError(f'invalid --api-version "{args.api_version}": must be one of {", ".join(API_VERSIONS)}')
    output = args.output or ("table" if action == "check" else "yaml")
    allowed = ("table", "wide", "json") if action == "check" else ("yaml", "json")
    if output not in allowed:
        raise UsageError(f'unable to match a printer suitable for the output format "{output}", '
                         f"allowed formats are: {', '.join(allowed)}")
    scope = NamespaceScope(None, selector_arg(args.selector), exclude_arg(args.exclude_namespace))
    if scope != ALL_NAMESPACES and action != "from-cluster":
        raise UsageError("-l and --exclude-namespace choose the namespaces --from-cluster reads")
    return AdmissionConfigOptions(
        action=action, defaults=defaults, scope=scope,
        namespaces=None if args.exempt_namespace is None else list_arg(args.exempt_namespace),
        runtime_classes=list_arg(args.exempt_runtime_class),
        usernames=list(dict.fromkeys(u.strip() for u in args.exempt_username if u.strip())),
        api_version=api_version, check_file=args.check, offline=args.offline,
        connection=connection_args(args),
        output=output, no_color=args.no_color, levels_given=levels_given,
    )


def validate(options: AdmissionConfigOptions) -> None:
    if options.action == "check":
        if options.levels_given or options.namespaces is not None or options.runtime_classes or options.usernames:
            raise UsageError("--check validates a file: the defaults and exemption flags do not apply")
        if options.api_version != "v1":
            raise UsageError("--check reads the version from the file: --api-version does not apply")
    elif options.offline:
        raise UsageError("--offline goes with --check")
    if options.action == "from-cluster" and options.levels_given:
        raise UsageError("--from-cluster proposes the defaults itself: drop --enforce, --audit and --warn")
    for name in options.namespaces or []:
        if not DNS_LABEL.fullmatch(name) or len(name) > 63:
            raise UsageError(f'invalid --exempt-namespace "{name}": not a namespace name (DNS-1123 label)')
    for name in options.runtime_classes:
        if not DNS_SUBDOMAIN.fullmatch(name) or len(name) > 253:
            raise UsageError(f'invalid --exempt-runtime-class "{name}": not a RuntimeClass name (DNS-1123 subdomain)')


def _write(data: Any, options: AdmissionConfigOptions, yaml_text: str | None = None) -> None:
    if options.output == "json":
        write_json(data, sys.stdout)
    elif yaml_text is not None:
        sys.stdout.write(yaml_text)
    else:
        write_yaml(data, sys.stdout)


def _text_defaults(defaults: dict[str, tuple[Level, Version]]) -> dict[str, tuple[str, str]]:
    return {mode: (level.value, str(version)) for mode, (level, version) in defaults.items()}


def run_generate(options: AdmissionConfigOptions) -> int:
    namespaces = TUTORIAL_EXEMPT_NAMESPACES if options.namespaces is None else options.namespaces
    doc = admission_configuration(_text_defaults(options.defaults), options.usernames, options.runtime_classes,
                                  namespaces, options.api_version)
    header = ["PodSecurity admission for the whole cluster: kube-apiserver --admission-control-config-file=<this file>"]
    if options.api_version != "v1":
        header.append(f"pod-security.admission.config.k8s.io/{options.api_version}: for clusters before 1.25 "
                      "(v1 from 1.25, v1beta1 from 1.23, v1alpha1 on 1.22)")
    _write(doc, options, configuration_yaml(doc, header))
    return EXIT_OK


def run_from_cluster(options: AdmissionConfigOptions) -> int:
    from ..policy.admission import Exemptions
    from ..analysis.proposal import propose_config
    from ..operations.cluster_state import load_live_state
    from ..operations.undofile import utc_now

    with options.connection:
        state = load_live_state(options.connection, options.scope, None)
    version = LATEST if state.server_minor is None else Version(min(state.server_minor, state.registry.max_minor))
    exemptions = Exemptions(frozenset(options.usernames), frozenset(options.runtime_classes), frozenset())
    proposal = propose_config(state.namespaces, state.pods, state.workloads, state.registry, version, exemptions,
                              options.namespaces or [])
    defaults = {mode: (proposal.defaults.mode(mode).level, proposal.defaults.mode(mode).version) for mode in MODES}
    doc = admission_configuration(_text_defaults(defaults), options.usernames, options.runtime_classes,
                                  proposal.exempt_namespaces(), options.api_version)
    notes = [n for n in state.notes if not n.startswith("no --admission-config")] + proposal.notes
    if options.scope != ALL_NAMESPACES:  # the configuration is cluster-wide; what was not read is not covered
        notes.append("only the namespaces in scope were read (-l/--exclude-namespace): the proposal may reject "
                     "pods of the others")
    if options.output == "json":
        write_json(state.report("AdmissionConfigProposal", {
            "config": doc,
            "proposal": {
                "defaults": {mode: {"level": level.value, "version": str(ver), "reason": proposal.reasons[mode]}
                             for mode, (level, ver) in defaults.items()},
                "exemptions": [e.as_dict() for e in proposal.exemptions],
                "governedNamespaces": proposal.governed,
            },
            "cluster": state.cluster_dict(),
            "notes": notes,
        }), sys.stdout)
    else:
        git_version = (state.server_version or {}).get("gitVersion")
        header = [f"Proposed by kubectl pss admission-config --from-cluster on context {state.context or '-'} "
                  f"(server {git_version or 'unknown'}) at {utc_now().strftime('%Y-%m-%dT%H:%M:%SZ')}:",
                  "the strictest enforce default this cluster passes and the smallest namespace exemption list",
                  "that keeps every existing pod and workload admitted.",
                  "kube-apiserver --admission-control-config-file=<this file>"]
        header += [f"note: {note}" for note in notes]
        if state.errors:
            header.append("INCOMPLETE: some objects could not be read (see stderr); the proposal may reject them")
        reasons = {e.namespace: e.reason for e in proposal.exemptions}
        sys.stdout.write(configuration_yaml(doc, header, proposal.reasons, {"namespaces": reasons}))
    print_read_errors(state.errors)
    return EXIT_ERROR if state.errors else EXIT_OK


def _load_document(path: str) -> Any:
    from ..manifests import load_documents

    documents, errors = load_documents([path])
    if errors:
        raise ValueError(str(errors[0]))
    if len(documents) != 1:
        raise ValueError(f"{path}: expected one document, found {len(documents)}")
    return documents[0].data


def run_check(options: AdmissionConfigOptions) -> int:
    from ..cluster.errors import ClusterError, Forbidden
    from ..operations.cluster_state import server_minor

    path = options.check_file
    assert path is not None
    if os.path.isdir(path):
        raise UsageError(f"--check {path}: is a directory, not a file")
    try:
        doc = _load_document(path)
    except ValueError as exc:
        raise UsageError(f"--check {exc}") from None
    notes: list[str] = []
    namespaces: set[str] | None = None
    minor: int | None = None
    version: dict[str, Any] | None = None
    context: str | None = None
    if options.offline:
        notes.append("--offline: namespace existence and the cluster's version were not checked")
    else:
        try:
            cluster = options.connection.cluster()
            context = cluster.context
            version = cluster.server_version()
            minor = server_minor(version)
            try:
                namespaces = {ns["metadata"]["name"] for ns in cluster.list_items("/api/v1/namespaces")}
            except Forbidden as exc:
                notes.append(f"cannot list namespaces ({exc}): their existence was not checked")
        except ClusterError as exc:  # mapped here, not in cli.py, for the hint: the check can run without a cluster
            raise FatalError(f"{exc} (--offline checks the file alone)") from None

    def read_path(relative: str) -> Any:
        return _load_document(os.path.join(os.path.dirname(path), relative))

    result = check_admission_document(doc, read_path=read_path, namespaces=namespaces, server_minor=minor,
                                      context=context)
    report = envelope("AdmissionConfigCheck", {
        "file": path,
        "valid": not result.errors,
        "podSecurityApiVersion": result.pod_security_api_version,
        "problems": [p.as_dict() for p in result.problems],
        "notes": notes,
    }, context=context, server=server_info(version, minor))
    if options.output == "json":
        write_json(report, sys.stdout)
    else:
        render_check(report, sys.stdout, options.no_color)
    return EXIT_FINDINGS if result.problems else EXIT_OK


def run(options: AdmissionConfigOptions) -> int:
    if options.action == "check":
        return run_check(options)
    if options.action == "from-cluster":
        return run_from_cluster(options)
    return run_generate(options)
