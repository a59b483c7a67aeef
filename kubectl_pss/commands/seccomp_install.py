"""``kubectl pss seccomp install PROFILE --path profiles/NAME.json (NODE ... | --all-nodes) [--yes]``.

Copies a seccomp profile into the kubelet's seccomp root (``--seccomp-root``, default
``/var/lib/kubelet/seccomp``) on the chosen nodes, through one short-lived privileged debug pod per
node (``cluster.debugpod.NodeDebugPod``: always deleted, also on Ctrl-C and SIGTERM), then prints the
``seccompProfile`` stanza that names it (``type: Localhost``, ``localhostProfile: PATH``) on stdout.

- The profile is linted first (``seccomp.lint``); lint errors refuse it (exit 1) unless ``--force``.
  It must be the kubelet's JSON (not an SPO object) and at most ``MAX_PROFILE_BYTES``: it travels as
  one argv word of the exec (Linux allows 128 KiB per argument).
- ``--path`` is what a pod names in ``localhostProfile``: relative, no ``..`` (the API server's own
  rule for the field), no empty or ``.`` component, not a directory.
- Without ``--yes`` nothing touches the cluster beyond reading the node list (a debug pod is a change:
  it needs the explicit flag). With ``--yes`` every node is read first: ``chroot /host cat TARGET``
  (hashed here); with ``--dry-run`` too, that is all (a read-only use of the debug pods). With ``--yes``: a file
  with the same sha256 is ``unchanged``; a different one is ``exists-different`` (refused) unless
  ``--overwrite``; else ``INSTALL_SCRIPT`` runs with ``chroot /host sh -c SCRIPT sh CONTENT TARGET DIR``
  (the content and the path are arguments, never part of the script: no quoting, no injection;
  written to a temporary file then renamed: the kubelet never sees half a profile), and the file is
  read back and its sha256 compared.
- Everything runs in the node's root (``chroot /host``), where symbolic links resolve as the kubelet
  sees them; a node without ``sh`` or ``cat`` fails (no fallback to the debug image's tools, whose
  view of ``/host`` would follow absolute links into the debug container instead).
- Nodes not Ready, and nodes of another OS, are skipped with a note.

Exit 0 every node written or unchanged (or, for a plan: would be); 1 a node failed or refused, or
lint errors; 2 bad input (flags, the file, ``--path``, a node that does not exist).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import posixpath
import signal
import sys
from dataclasses import dataclass
from typing import Any

from ..errors import EXIT_FINDINGS, EXIT_OK, FatalError, UsageError
from .common import (
    DEFAULT_DEBUG_IMAGE,
    DebugPodLedger,
    DEFAULT_SECCOMP_ROOT,
    add_connection_flags,
    add_node_inspect_flags,
    connection_args,
    node_inspect_args,
)

MAX_PROFILE_BYTES = 100 * 1024  # one argv word: Linux's MAX_ARG_STRLEN is 128 KiB
OUTPUTS = ("yaml", "json")
POD_PREFIX = "pss-seccomp"
# $1 the profile, $2 the target path, $3 its directory. Written next to the target, then renamed over it
# (mv into a directory would put it inside: refused); the temporary file is removed if anything fails.
INSTALL_SCRIPT = ('umask 022 && mkdir -p -- "$3" || exit 1; '
                  'if [ -d "$2" ]; then printf "%s: is a directory\\n" "$2" >&2; exit 1; fi; '
                  'printf %s "$1" > "$2.tmp.$$" && mv -f -- "$2.tmp.$$" "$2" && exit 0; '
                  'rm -f -- "$2.tmp.$$"; exit 1')

# per-node statuses
WRITTEN, UNCHANGED, EXISTS_DIFFERENT, FAILED, SKIPPED = "written", "unchanged", "exists-different", "failed", "skipped"
WOULD_CREATE, WOULD_OVERWRITE = "would-create", "would-overwrite"


@dataclass
class InstallOptions:
    connection: Any
    profile: str
    path: str
    nodes: list[str]
    all_nodes: bool
    yes: bool = False
    dry_run: bool = False
    overwrite: bool = False
    force: bool = False
    output: str = "yaml"
    image: str = DEFAULT_DEBUG_IMAGE
    debug_namespace: str | None = None
    seccomp_root: str = DEFAULT_SECCOMP_ROOT
    pod_timeout: float = 120.0

    @property
    def plan_only(self) -> bool:
        return self.dry_run or not self.yes

    @property
    def target(self) -> str:
        return posixpath.join(self.seccomp_root, self.path)


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
    parser.add_argument("--yes", action="store_true", help="write (without it: the plan only, nothing written)")
    parser.add_argument("--dry-run", action="store_true", help="the plan only, even with --yes")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace a different file already at the path (refused without it)")
    parser.add_argument("--force", action="store_true", help="install a profile that has lint errors")
    parser.add_argument("-o", "--output", default="yaml", metavar="yaml|json",
                        help="yaml (default): the seccompProfile stanza only; json: the stanza and every node's result")
    add_node_inspect_flags(parser, "", switch=False)
    add_connection_flags(parser)


def complete(args: argparse.Namespace) -> InstallOptions:
    debug = node_inspect_args(args)
    return InstallOptions(
        connection=connection_args(args), profile=args.profile, path=args.path,
        nodes=list(dict.fromkeys(args.nodes)), all_nodes=args.all_nodes, yes=args.yes, dry_run=args.dry_run,
        overwrite=args.overwrite, force=args.force, output=args.output, image=debug.image,
        debug_namespace=debug.namespace, seccomp_root=debug.seccomp_root, pod_timeout=debug.pod_timeout)


def check_path(path: str) -> None:
    """``--path`` as the API server validates ``localhostProfile`` (relative, no ``..``), and a file name."""
    shown = json.dumps(path, ensure_ascii=False)
    hint = "a relative path inside the seccomp root, such as profiles/NAME.json"
    if not path:
        raise UsageError(f"invalid --path {shown}: it must not be empty: {hint}")
    if path.startswith("/"):
        raise UsageError(f"invalid --path {shown}: it must be {hint}, not an absolute path")
    if any(ord(c) < 32 or c == "\x7f" for c in path):
        raise UsageError(f"invalid --path {shown}: control characters are not allowed")
    parts = path.split("/")
    if ".." in parts:
        raise UsageError(f"invalid --path {shown}: '..' would leave the seccomp root: it must be {hint}")
    if parts[-1] in ("", "."):
        raise UsageError(f"invalid --path {shown}: it names a directory, not a file: it must be {hint}")
    if any(p in ("", ".") for p in parts):
        raise UsageError(f"invalid --path {shown}: empty or '.' components are not allowed: it must be {hint}")


def validate(options: InstallOptions) -> None:
    if options.output not in OUTPUTS:
        raise UsageError(f'unable to match a printer suitable for the output format "{options.output}", '
                         "allowed formats are: yaml, json")
    check_path(options.path)
    if options.all_nodes and options.nodes:
        raise UsageError("name nodes or give --all-nodes, not both")
    if not options.all_nodes and not options.nodes:
        raise UsageError("which nodes? name them (NODE ...) or give --all-nodes")


# --- the profile --------------------------------------------------------------------------------------------
@dataclass
class Profile:
    source: str
    text: str
    sha256: str
    size: int
    lint: Any  # seccomp.lint.LintReport

    def as_dict(self, forced: bool) -> dict[str, Any]:
        findings = [f.as_dict() for f in self.lint.findings if f.severity != "note"]
        return {"source": self.source, "size": self.size, "sha256": self.sha256,
                "lint": {"valid": self.lint.valid, "errors": len(self.lint.errors), "warnings": len(self.lint.warnings),
                         "findings": findings},
                "forced": forced and not self.lint.valid}


def load_profile(path: str) -> Profile:
    """Read, size-check, parse and lint the profile; bad input is a UsageError."""
    from ..seccomp import lint as seccomp_lint

    source = "stdin" if path == "-" else path
    try:
        if path == "-":
            data = sys.stdin.buffer.read(MAX_PROFILE_BYTES + 1)
        else:
            with open(path, "rb") as handle:
                data = handle.read(MAX_PROFILE_BYTES + 1)
    except OSError as exc:
        raise UsageError(f'cannot read "{source}": {exc.strerror or exc}') from None
    if len(data) > MAX_PROFILE_BYTES:
        raise UsageError(f"{source}: more than {MAX_PROFILE_BYTES} bytes (100 KiB), the most that can be installed "
                         "(the profile is passed as one command-line argument, and Linux allows 128 KiB per argument): "
                         "make it smaller, e.g. without indentation (jq -c . PROFILE)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{source}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise UsageError(f"{source}: not JSON (the runtime reads a profile as JSON): {exc}") from None
    except RecursionError:
        raise UsageError(f"{source}: not a profile: nested too deeply") from None
    if isinstance(document, dict) and document.get("kind") == "SeccompProfile":
        raise UsageError(f"{source}: a Security Profiles Operator SeccompProfile object: the kubelet reads the bare "
                         "profile (its spec, as JSON); apply the object with kubectl instead, or install its spec")
    report = seccomp_lint.lint(document)
    return Profile(source, text, hashlib.sha256(data).hexdigest(), len(data), report)


# --- per node -----------------------------------------------------------------------------------------------
class NodeFailure(Exception):
    """This node cannot be done (the message says why); ``stop``: nor can any other."""

    def __init__(self, message: str, stop: bool = False):
        super().__init__(message)
        self.stop = stop


def _why(result: Any) -> str:
    from .runtimecheck import last_line

    return last_line(result.stderr_text) or f"exit code {result.exit_code}"


def _missing_tool(result: Any) -> bool:
    return result.exit_code == 127 or "failed to run command" in result.stderr_text


class Installer:
    """One debug pod per node, in turn; creations and deletions are said on stderr and listed."""

    def __init__(self, cluster: Any, options: InstallOptions, profile: Profile):
        self.cluster = cluster
        self.options = options
        self.profile = profile
        self.errors: list[dict[str, Any]] = []
        self.announce = DebugPodLedger(self.errors, "privileged, the node's / at /host")
        self.debug_pods = self.announce.pods
        self.stop: str | None = None  # a refusal that holds for every node (403, no chroot): not tried again

    def install(self, node: dict) -> dict[str, Any]:
        from ..cluster.debugpod import DebugPodError, DebugPodSpec, NodeDebugPod
        from ..cluster.errors import ClusterError, Forbidden
        from ..confinement.nodes import node_summary

        summary = node_summary(node)
        name = summary["name"]
        entry: dict[str, Any] = {"node": name, "status": None, "existing": None, "sha256": None, "reason": None,
                                 "debugPod": None}
        if summary["os"] != "linux":
            return self._done(entry, SKIPPED, f"a {summary['os']} node: no seccomp there")
        if summary["ready"] is not True:
            return self._done(entry, SKIPPED, "the node is not Ready: not tried (a debug pod would not start); "
                                              "run this again for it once it is")
        if self.stop:
            return self._done(entry, FAILED, self.stop)
        if not self.options.yes:  # creating a pod changes the cluster: only with the explicit flag
            return self._done(entry, NOT_READ, "reading the node's file takes a privileged debug pod; "
                                               "--yes --dry-run reads every node without writing")
        spec = DebugPodSpec(image=self.options.image, name_prefix=POD_PREFIX)
        namespace = self.options.debug_namespace or self.cluster.namespace
        try:
            with NodeDebugPod(self.cluster, name, namespace=namespace, spec=spec, on_event=self.announce,
                              start_timeout=self.options.pod_timeout) as pod:
                entry["debugPod"] = f"{pod.namespace}/{pod.name}"
                status, reason = self._on_node(pod, entry)
        except NodeFailure as exc:
            if exc.stop:
                self.stop = f"{exc} (not tried again on the other nodes)"
            return self._done(entry, FAILED, str(exc))
        except DebugPodError as exc:
            if exc.status in (403, 404):  # refused, or no such namespace: the same on every node
                self.stop = f"{exc} (not tried again on the other nodes)"
            return self._done(entry, FAILED, str(exc))
        except Forbidden as exc:
            failed = f"exec into the debug pod is forbidden: {exc}"
            self.stop = f"{failed} (not tried again on the other nodes)"
            return self._done(entry, FAILED, failed)
        except ClusterError as exc:
            return self._done(entry, FAILED, f"{exc}")
        return self._done(entry, status, reason)

    def _done(self, entry: dict[str, Any], status: str, reason: str | None) -> dict[str, Any]:
        entry["status"], entry["reason"] = status, reason
        if status == FAILED:
            self.errors.append({"node": entry["node"], "error": reason})
        print(describe(entry, self.options), file=sys.stderr)
        return entry

    def _read(self, pod: Any) -> bytes | None:
        """The target's bytes on the node, or None when there is no file."""
        from ..cluster.exec import CommandNotFound

        target = self.options.target
        try:
            result = pod.run_on_host(["cat", target])
        except CommandNotFound:
            raise NodeFailure(f"the debug image {self.options.image} has no chroot: use --image with one that has "
                              f"(e.g. {DEFAULT_DEBUG_IMAGE})", stop=True) from None
        if result.exit_code == 0:
            if result.truncated:
                raise NodeFailure(f"{target} on the node is larger than the 8 MiB read: not a profile; "
                                  "look at it, remove it, or choose another --path")
            return result.stdout
        if "no such file" in result.stderr_text.lower():
            return None
        if _missing_tool(result):
            raise NodeFailure(f"the node has no cat in its root (chroot /host cat): {_why(result)}")
        raise NodeFailure(f"reading {target}: {_why(result)}")

    def _on_node(self, pod: Any, entry: dict[str, Any]) -> tuple[str, str | None]:
        options, profile, target = self.options, self.profile, self.options.target
        before = self._read(pod)
        if before is not None:
            entry["existing"] = {"sha256": hashlib.sha256(before).hexdigest(), "size": len(before)}
            if entry["existing"]["sha256"] == profile.sha256:
                entry["sha256"] = profile.sha256
                return UNCHANGED, None
            if not options.overwrite:
                return EXISTS_DIFFERENT, "a different file is there: --overwrite replaces it"
        if options.plan_only:
            return (WOULD_CREATE if before is None else WOULD_OVERWRITE), None
        result = pod.run_on_host(["sh", "-c", INSTALL_SCRIPT, "sh", profile.text, target, posixpath.dirname(target)])
        if result.exit_code != 0:
            if _missing_tool(result):
                raise NodeFailure("the node has no sh in its root (chroot /host sh): cannot write there: "
                                  + _why(result))
            raise NodeFailure(f"writing {target}: {_why(result)}")
        after = self._read(pod)
        if after is None:
            raise NodeFailure(f"{target} is not there after writing it")
        got = hashlib.sha256(after).hexdigest()
        if got != profile.sha256:
            raise NodeFailure(f"{target} read back with sha256 {got}, not the profile's {profile.sha256}")
        entry["sha256"] = got
        return WRITTEN, None


def _short(sha: str) -> str:
    return sha[:12]


def describe(entry: dict[str, Any], options: InstallOptions) -> str:
    """One line per node, for stderr."""
    status, existing, reason = entry["status"], entry["existing"], entry["reason"]
    there = (f"sha256 {_short(existing['sha256'])}, {existing['size']} bytes" if existing else "")
    if status == WRITTEN:
        what = f"replaced a different file ({there})" if existing else "a new file"
        text = f"written, sha256 verified; {what}"
    elif status == UNCHANGED:
        text = "unchanged: the same profile is already there"
    elif status == EXISTS_DIFFERENT:
        refused = "would be refused" if options.plan_only else "refused"
        text = f"exists-different: a different file is there ({there}): {refused}; --overwrite replaces it"
    elif status == WOULD_CREATE:
        text = "would create it (no file there)"
    elif status == WOULD_OVERWRITE:
        text = f"would overwrite a different file ({there}; --overwrite)"
    else:
        text = f"{status}: {reason}"
    return f"node {entry['node']}: {text}"


# --- the command --------------------------------------------------------------------------------------------
def stanza(options: InstallOptions) -> dict[str, Any]:
    return {"seccompProfile": {"type": "Localhost", "localhostProfile": options.path}}


NOT_READ = "not-read"
STATUSES = (WRITTEN, UNCHANGED, WOULD_CREATE, WOULD_OVERWRITE, EXISTS_DIFFERENT, FAILED, SKIPPED, NOT_READ)


def _camel(status: str) -> str:
    head, *rest = status.split("-")
    return head + "".join(w.capitalize() for w in rest)


def summarize(entries: list[dict[str, Any]]) -> dict[str, int]:
    """``{"nodes", "written", "unchanged", "wouldCreate", "wouldOverwrite", "existsDifferent", "failed",
    "skipped"}``."""
    counts = {"nodes": len(entries)}
    for status in STATUSES:
        counts[_camel(status)] = sum(1 for e in entries if e["status"] == status)
    return counts


def exit_code(report: dict[str, Any]) -> int:
    """1 when a node failed or refused, a debug pod could not be deleted, or the profile was refused."""
    summary = report["summary"]
    bad = summary["failed"] or summary["existsDifferent"] or report["errors"] or report["outcome"] == "refused"
    return EXIT_FINDINGS if bad else EXIT_OK


def _read_nodes(cluster: Any, options: InstallOptions) -> list[dict]:
    from .nodes import read_nodes

    problems: list[dict[str, Any]] = []
    found = read_nodes(cluster, [] if options.all_nodes else options.nodes, problems)
    if problems:
        raise FatalError("; ".join(p["error"] for p in problems) + ": nothing was done")
    return found


def build(cluster: Any, options: InstallOptions, profile: Profile, report: dict[str, Any]) -> None:
    installer = Installer(cluster, options, profile)
    report["context"] = cluster.context
    report["debugPods"] = installer.debug_pods
    report["errors"] = installer.errors
    nodes = _read_nodes(cluster, options)
    names = ", ".join(n["metadata"]["name"] for n in nodes) or "none"
    print(f"target {options.target} on {len(nodes)} node(s): {names}", file=sys.stderr)
    if options.plan_only and options.yes:
        print("plan only (--dry-run): nothing is written; each node is read through a debug pod to see what is there",
              file=sys.stderr)
    elif options.plan_only:
        print("plan only (no --yes): nothing is written and no debug pod is created, so the nodes' files are not "
              "read; --yes --dry-run reads them, --yes writes", file=sys.stderr)
    entries = report["nodes"]
    try:
        for node in nodes:
            entries.append(installer.install(node))
    finally:
        left = installer.announce.left_behind_note()
        if left:
            report["notes"].append(left)


def _new_report(options: InstallOptions, profile: Profile) -> dict[str, Any]:
    return {**stanza(options), "operation": "plan" if options.plan_only else "install", "outcome": None,
            "context": None, "profile": profile.as_dict(options.force), "seccompRoot": options.seccomp_root,
            "path": options.path, "target": options.target, "overwrite": options.overwrite, "nodes": [],
            "summary": summarize([]), "debugPods": [], "errors": [], "notes": []}


def _print_lint(profile: Profile) -> None:
    report = profile.lint
    print(f"profile {profile.source}: {profile.size} bytes, sha256 {profile.sha256}; lint: "
          f"{len(report.errors)} error(s), {len(report.warnings)} warning(s)", file=sys.stderr)
    for finding in report.findings:
        if finding.severity != "note":
            print(f"  lint {finding.severity}: {finding}", file=sys.stderr)


def _finish(report: dict[str, Any], options: InstallOptions) -> None:
    from ..report.render import write_json, write_yaml

    entries = report["nodes"]
    report["summary"] = summary = summarize(entries)
    if report["outcome"] is None:
        if options.plan_only:
            report["outcome"] = "planned"
        else:
            report["outcome"] = "incomplete" if exit_code(report) else "installed"
    if report["outcome"] != "refused":
        parts = [f"{summary[_camel(s)]} {s}" for s in STATUSES if summary[_camel(s)]]
        line = f"{len(entries)} node(s): " + (", ".join(parts) or "nothing to do")
        if options.plan_only:
            line += "; nothing written" + (" (--dry-run)" if options.dry_run else ": --yes writes")
        print(line, file=sys.stderr)
    for note in report["notes"]:
        print(f"note: {note}", file=sys.stderr)
    if options.output == "json":
        write_json(report, sys.stdout)
    elif report["outcome"] != "refused":
        write_yaml(stanza(options), sys.stdout)


def run(options: InstallOptions) -> int:
    from ..cluster.client import connect
    from ..cluster.debugpod import Terminated
    from ..cluster.errors import ClusterError

    profile = load_profile(options.profile)
    _print_lint(profile)
    report = _new_report(options, profile)
    if not profile.lint.valid:
        if not options.force:
            report["outcome"] = "refused"
            report["errors"].append({"error": f"{profile.source}: {len(profile.lint.errors)} lint error(s): "
                                              "not installed (--force installs it anyway)"})
            print(f"error: {report['errors'][0]['error']}", file=sys.stderr)
            _finish(report, options)
            return EXIT_FINDINGS
        report["notes"].append(f"installing a profile with {len(profile.lint.errors)} lint error(s) (--force): the "
                               "runtime may refuse it, and pods that name it would not start")
    try:
        with connect(options.connection) as cluster:
            build(cluster, options, profile, report)
    except Terminated as exc:
        print("error: terminated", file=sys.stderr)
        return 128 + int(exc.signum or signal.SIGTERM)
    except ClusterError as exc:
        raise FatalError(str(exc)) from None
    _finish(report, options)
    return exit_code(report)
