"""Copy a seccomp profile into the kubelet's seccomp root on the chosen nodes, through a short-lived
privileged debug pod per node (always deleted), and print the seccompProfile stanza that names it. The
profile is linted first (errors refuse it unless --ignore-lint). Without --yes only the plan: the node
list is read, no debug pod is created and nothing is written. --yes --dry-run=server reads each node's
file through its debug pod and writes nothing; --yes writes. A different file already there is refused
unless --overwrite.

``kubectl pss seccomp install PROFILE --path profiles/NAME.json (NODE ... | --all-nodes) [--yes]``.

Copies a seccomp profile into the kubelet's seccomp root (``--seccomp-root``, default
``/var/lib/kubelet/seccomp``) on the chosen nodes, through one short-lived privileged debug pod per
node (always deleted, also on Ctrl-C and SIGTERM), then prints the ``seccompProfile`` stanza that
names it (``type: Localhost``, ``localhostProfile: PATH``) on stdout. The work is
``operations.seccomp_install``.

- The profile is linted first (``seccomp.lint``); lint errors refuse it (exit 1) unless ``--ignore-lint``.
- ``--path`` is what a pod names in ``localhostProfile``: the Localhost path rule
  (``confinement.seccomp.localhost_problem``), and written canonically (no empty or ``.`` component).
- Without ``--yes`` (or with ``--dry-run=client``, or ``--dry-run`` alone) nothing touches the cluster
  beyond reading the node list (a debug pod is a change: it needs the explicit flag). With ``--yes``
  every node is read first; with ``--yes --dry-run=server`` that is all (a read-only use of the debug
  pods). A different file is refused unless ``--overwrite``.

Exit 0 every node written or unchanged (or, for a plan: would be); 1 a node failed or refused, or
lint errors; 2 bad input (flags, the file, ``--path``, a node that does not exist).
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass

from ...errors import EXIT_FINDINGS, UsageError
from ...operations.connection import Connection
from ...operations.seccomp_install import InstallRequest
from ..flags import add_connection_flags, add_dry_run_flag, connection_args, dry_run_arg
from ..flags.runtime import add_node_inspect_flags, node_inspect_args

EXAMPLES = """
# The plan: the node list is read; no debug pod, nothing written
kubectl pss seccomp install examples/seccomp/nginx.yaml --path profiles/nginx.json --all-nodes

# Read what each node has, through debug pods, and write nothing
kubectl pss seccomp install examples/seccomp/nginx.yaml --path profiles/nginx.json --all-nodes --yes --dry-run=server

# Write it on two nodes, replacing a different file already there
kubectl pss seccomp install examples/seccomp/nginx.yaml --path profiles/nginx.json node-a node-b --yes --overwrite
"""
EXIT_CODES = ((0, 'every node written or unchanged (a plan: would be)'), (1, 'a node failed or refused, or lint errors (--ignore-lint installs anyway)'))


OUTPUTS = ("yaml", "json")
HELP = "copy a profile into the kubelet's seccomp root on nodes (debug pods; --yes writes)"
DESCRIPTION = (__doc__ or "").split("\n\n")[0]  # the first paragraph: --help's description


@dataclass
class InstallOptions:
    connection: Connection
    profile: str  # the file, or - for stdin
    request: InstallRequest
    output: str = "yaml"


def _intermixed(cls: type) -> type:
    """``cls`` parsing positionals wherever they are (``PROFILE --path P NODE NODE``): argparse alone
    takes PROFILE and NODE... in one go and calls later words unrecognized."""

    class Intermixed(cls):  # type: ignore[misc, valid-type]
        _intermixing = False

        def parse_known_args(self, args=None, namespace=None):  # type: ignore[override]
            if self._intermixing:
                return super().parse_known_args(args, namespace)
            self._intermixing = True
            try:
                return self.parse_known_intermixed_args(args, namespace)
            finally:
                self._intermixing = False

    Intermixed.__name__ = Intermixed.__qualname__ = f"Intermixed{cls.__name__}"
    return Intermixed


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.__class__ = _intermixed(type(parser))
    parser.add_argument("profile", metavar="PROFILE", help="the profile (the kubelet's JSON), or - for stdin")
    parser.add_argument("nodes", nargs="*", metavar="NODE", help="the nodes to install it on (or --all-nodes)")
    parser.add_argument("--path", required=True, metavar="profiles/NAME.json",
                        help="where under the seccomp root: what pods name in localhostProfile")
    parser.add_argument("--all-nodes", action="store_true", help="every node")
    parser.add_argument("-y", "--yes", action="store_true",
                        help="create the debug pods and write (without it: the plan only; no debug pod, nothing written)")
    add_dry_run_flag(parser, "the plan only, even with --yes: client (or --dry-run alone) creates no debug pod; "
                             "server (with --yes) reads each node's file through its debug pod")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace a different file already at the path (refused without it)")
    parser.add_argument("--ignore-lint", action="store_true", help="install a profile that has lint errors")
    parser.add_argument("-o", "--output", default="yaml", metavar="yaml|json",
                        help="yaml (default): the seccompProfile stanza only; json: the stanza and every node's result")
    add_node_inspect_flags(parser, "", switch=False)
    add_connection_flags(parser)


def complete(args: argparse.Namespace) -> InstallOptions:
    _, debug = node_inspect_args(args)
    request = InstallRequest(path=args.path, nodes=list(dict.fromkeys(args.nodes)), all_nodes=args.all_nodes,
                             yes=args.yes, dry_run=dry_run_arg(args.dry_run), overwrite=args.overwrite,
                             ignore_lint=args.ignore_lint,
                             debug=debug)
    return InstallOptions(connection=connection_args(args), profile=args.profile, request=request, output=args.output)


def check_path(path: str) -> None:
    """``--path``: the Localhost path rule (what the API server accepts in ``localhostProfile``), a file
    name, and the canonical spelling (no empty or ``.`` component), so that the stanza printed names
    exactly the file written."""
    from ...confinement.seccomp import localhost_problem

    shown = json.dumps(path, ensure_ascii=False)
    hint = "a relative path inside the seccomp root, such as profiles/NAME.json"
    problem = localhost_problem(path)
    if problem is not None:
        raise UsageError(f"invalid --path {shown}: {problem}: it must be {hint}")
    if any(ord(c) < 32 or c == "\x7f" for c in path):
        raise UsageError(f"invalid --path {shown}: control characters are not allowed")
    parts = path.split("/")
    if parts[-1] in ("", "."):
        raise UsageError(f"invalid --path {shown}: it names a directory, not a file: it must be {hint}")
    if any(p in ("", ".") for p in parts):
        raise UsageError(f"invalid --path {shown}: empty or '.' components are not allowed: it must be {hint}")


def validate(options: InstallOptions) -> None:
    if options.output not in OUTPUTS:
        raise UsageError(f'unable to match a printer suitable for the output format "{options.output}", '
                         "allowed formats are: yaml, json")
    request = options.request
    check_path(request.path)
    if request.all_nodes and request.nodes:
        raise UsageError("name nodes or give --all-nodes, not both")
    if not request.all_nodes and not request.nodes:
        raise UsageError("which nodes? name them (NODE ...) or give --all-nodes")


def run(options: InstallOptions) -> int:
    from ...operations import seccomp_install as op
    from ...report.seccomp import print_profile_lint, write_install

    request = options.request
    profile = op.load_profile(options.profile)
    print_profile_lint(profile)
    report = op.new_report(request, profile)

    def finish() -> None:
        op.conclude(report, request)
        write_install(report, options.output, request.plan_only, request.dry_run, op.status_counts(report["summary"]),
                      op.stanza(request.path))

    if not profile.lint.valid:
        if not request.ignore_lint:
            report["outcome"] = "refused"
            report["errors"].append({"message": f"{profile.source}: {len(profile.lint.errors)} lint error(s): "
                                              "not installed (--ignore-lint installs it anyway)"})
            print(f"error: {report['errors'][0]['message']}", file=sys.stderr)
            finish()
            return EXIT_FINDINGS
        report["notes"].append(f"installing a profile with {len(profile.lint.errors)} lint error(s) (--ignore-lint): the "
                               "runtime may refuse it, and pods that name it would not start")
    with options.connection:
        op.install(options.connection.cluster(), request, profile, report)
    finish()
    return op.exit_code(report)
