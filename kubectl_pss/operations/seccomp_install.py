"""``seccomp install``'s work: the profile read, size-checked and linted, then one debug pod per node
(``NodeRunner``) that reads the target, writes it atomically and reads it back.

- The profile must be the kubelet's JSON (not an SPO object) and at most ``MAX_PROFILE_BYTES``: it
  travels as one argv word of the exec (Linux allows 128 KiB per argument).
- Every node is read first: ``chroot /host cat TARGET`` (hashed here). A file with the same sha256 is
  ``unchanged``; a different one is ``exists-different`` (refused) unless overwriting; else
  ``INSTALL_SCRIPT`` runs with ``chroot /host sh -c SCRIPT sh CONTENT TARGET DIR`` (the content and the
  path are arguments, never part of the script: no quoting, no injection; written to a temporary file
  then renamed: the kubelet never sees half a profile), and the file is read back and its sha256 compared.
- Everything runs in the node's root (``chroot /host``), where symbolic links resolve as the kubelet
  sees them; a node without ``sh`` or ``cat`` fails (no fallback to the debug image's tools, whose
  view of ``/host`` would follow absolute links into the debug container instead).
- Nodes not Ready, and nodes of another OS, are skipped.
"""
from __future__ import annotations

import hashlib
import posixpath
import shlex
import sys
from dataclasses import dataclass, field
from typing import Any

from ..cluster.debugpod import DEFAULT_IMAGE
from ..errors import EXIT_FINDINGS, EXIT_OK, FatalError, UsageError
from ..confinement.model import DEFAULT_SECCOMP_ROOT
from .debugpods import DebugPodSettings, NodeFailure, NodeRunner

MAX_PROFILE_BYTES = 100 * 1024  # one argv word: Linux's MAX_ARG_STRLEN is 128 KiB
POD_PREFIX = "pss-seccomp"
# $1 the profile, $2 the target path, $3 its directory, $4 the sha256 of the file read at the target
# ("absent": none was there; empty: no check), $5 where to keep the old file (empty: no file to keep).
# Written next to the target, then renamed over it (mv into a directory would put it inside: refused);
# just before the rename the target is checked against $4 (exit 3 if it changed since it was read) and
# the old file copied to $5 (never overwritten); the temporary file is removed if anything fails.
INSTALL_SCRIPT = ('umask 022 && mkdir -p -- "$3" || exit 1; '
                  'if [ -d "$2" ]; then printf "%s: is a directory\\n" "$2" >&2; exit 1; fi; '
                  't="$2.tmp.$$"; printf %s "$1" > "$t" || { rm -f -- "$t"; exit 1; }; '
                  'if [ "$4" = absent ]; then if [ -e "$2" ]; then rm -f -- "$t"; '
                  'printf "%s: a file appeared there since it was read: not replaced\\n" "$2" >&2; exit 3; fi; '
                  'elif [ -n "$4" ]; then '
                  'command -v sha256sum >/dev/null || { rm -f -- "$t"; printf "no sha256sum on the node: cannot check '
                  '%s before replacing it\\n" "$2" >&2; exit 1; }; '
                  'now=$(sha256sum < "$2") || { rm -f -- "$t"; exit 1; }; '
                  'if [ "${now%% *}" != "$4" ]; then rm -f -- "$t"; '
                  'printf "%s changed since it was read (sha256 now %s): not replaced\\n" "$2" "${now%% *}" >&2; exit 3; fi; '
                  'fi; '
                  'if [ -n "$5" ]; then if [ -e "$5" ]; then rm -f -- "$t"; printf "%s exists: not overwritten\\n" "$5" >&2; '
                  'exit 1; fi; cp -p -- "$2" "$5" || { rm -f -- "$t"; exit 1; }; fi; '
                  'mv -f -- "$t" "$2" && exit 0; rm -f -- "$t"; exit 1')

# per-node statuses
WRITTEN, UNCHANGED, EXISTS_DIFFERENT, FAILED, SKIPPED = "written", "unchanged", "exists-different", "failed", "skipped"
WOULD_CREATE, WOULD_OVERWRITE = "would-create", "would-overwrite"


@dataclass
class InstallRequest:
    """What to install where: ``path`` under the seccomp root on the named nodes (or all)."""

    path: str
    nodes: list[str]
    all_nodes: bool
    yes: bool = False
    dry_run: str = "none"  # kubectl's strategies: client, the plan only; server, each node read through a debug pod
    overwrite: bool = False
    ignore_lint: bool = False
    debug: DebugPodSettings = field(default_factory=DebugPodSettings)

    @property
    def plan_only(self) -> bool:
        return self.dry_run != "none" or not self.yes

    @property
    def reads_nodes(self) -> bool:
        """Whether debug pods read the nodes: a pod is a change, so only with --yes, and not for a client dry run."""
        return self.yes and self.dry_run != "client"

    @property
    def target(self) -> str:
        """The target under ``--seccomp-root``, else under the default root (each node says its own)."""
        return posixpath.join(self.debug.seccomp_root or DEFAULT_SECCOMP_ROOT, self.path)


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
                "lint": {"valid": self.lint.valid, "summary": self.lint.summary, "findings": findings},
                "forced": forced and not self.lint.valid}


def load_profile(path: str) -> Profile:
    """Read, size-check, parse and lint the profile; bad input is a UsageError."""
    from ..seccomp import lint as seccomp_lint
    from ..seccomp.filter import parse_profile_json

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
        document = parse_profile_json(text)
    except ValueError as exc:
        raise UsageError(f"{source}: {exc}") from None
    if isinstance(document, dict) and document.get("kind") == "SeccompProfile":
        raise UsageError(f"{source}: a Security Profiles Operator SeccompProfile object: the kubelet reads the bare "
                         "profile (its spec, as JSON); apply the object with kubectl instead, or install its spec")
    report = seccomp_lint.lint(document)
    return Profile(source, text, hashlib.sha256(data).hexdigest(), len(data), report)


# --- per node -----------------------------------------------------------------------------------------------
class Installer:
    """One debug pod per node, in turn (``NodeRunner``): read the target, then write it and read it back."""

    def __init__(self, cluster: Any, request: InstallRequest, profile: Profile):
        self.request = request
        self.profile = profile
        self.errors: list[dict[str, Any]] = []
        self.runner = NodeRunner(cluster, request.debug, prefix=POD_PREFIX, what="privileged, the node's / at /host",
                                 errors=self.errors, failed="")

    @property
    def debug_pods(self) -> list[dict]:
        return self.runner.debug_pods

    def install(self, node: dict) -> dict[str, Any]:
        from ..confinement.nodes.host import node_summary

        summary = node_summary(node)
        name = summary["name"]
        entry: dict[str, Any] = {"node": name, "status": None, "existing": None, "sha256": None, "reason": None,
                                 "debugPod": None}
        if summary["os"] != "linux":
            return self._done(entry, SKIPPED, f"a {summary['os']} node: no seccomp there")
        skipped = self.runner.skipped(node)
        if skipped:
            return self._done(entry, SKIPPED, f"{skipped}; run this again for it once it answers")
        if self.runner.stop:
            return self._done(entry, FAILED, self.runner.stop)
        if not self.request.reads_nodes:  # creating a pod changes the cluster: only with the explicit flag
            return self._done(entry, NOT_READ, "reading the node's file takes a privileged debug pod; "
                                               "--yes --dry-run=server reads every node without writing")

        def on_node(pod: Any) -> tuple[str, str | None]:
            entry["debugPod"] = f"{pod.namespace}/{pod.name}"
            return self._on_node(pod, entry)

        try:
            status, reason = self.runner.run(name, on_node)
        except NodeFailure as exc:
            return self._done(entry, FAILED, str(exc))
        return self._done(entry, status, reason)

    def _done(self, entry: dict[str, Any], status: str, reason: str | None) -> dict[str, Any]:
        entry["status"], entry["reason"] = status, reason
        if status == FAILED:
            self.errors.append({"node": entry["node"], "message": reason})
        print(describe(entry, self.request.plan_only), file=sys.stderr)
        return entry

    def _node_target(self, pod: Any, entry: dict[str, Any]) -> str:
        """The path on this node: under ``--seccomp-root``, else under the kubelet's ``<--root-dir>/seccomp``."""
        from ..confinement.nodes import NodeInspection, seccomp_root_of
        from .nodes import HostReader, read_kubelet

        if self.request.debug.seccomp_root:
            root, source = seccomp_root_of(None, self.request.debug.seccomp_root)
        else:
            inspection = NodeInspection()
            read_kubelet(HostReader(pod), inspection, None, None)
            root, source = inspection.seccomp_root, inspection.seccomp_root_source
        entry["target"], entry["seccompRootSource"] = posixpath.join(root, self.request.path), source
        return entry["target"]

    def _read(self, pod: Any, target: str) -> bytes | None:
        """The target's bytes on the node, or None when there is no file."""
        from ..cluster.exec import CommandNotFound

        try:
            result = pod.run_on_host(["cat", target])
        except CommandNotFound:
            raise NodeFailure(f"the debug image {self.request.debug.image} has no chroot: use --image with one that "
                              f"has (e.g. {DEFAULT_IMAGE})", stop=True) from None
        if result.exit_code == 0:
            if result.truncated:
                raise NodeFailure(f"{target} on the node is larger than the 8 MiB read: not a profile; "
                                  "look at it, remove it, or choose another --path")
            return result.stdout
        if "no such file" in result.stderr_text.lower():
            return None
        if result.command_missing:
            raise NodeFailure(f"the node has no cat in its root (chroot /host cat): {result.why()}")
        raise NodeFailure(f"reading {target}: {result.why()}")

    def _on_node(self, pod: Any, entry: dict[str, Any]) -> tuple[str, str | None]:
        request, profile = self.request, self.profile
        target = self._node_target(pod, entry)
        before = self._read(pod, target)
        if before is not None:
            entry["existing"] = {"sha256": hashlib.sha256(before).hexdigest(), "size": len(before)}
            if entry["existing"]["sha256"] == profile.sha256:
                entry["sha256"] = profile.sha256
                return UNCHANGED, None
            if not request.overwrite:
                return EXISTS_DIFFERENT, "a different file is there: --overwrite replaces it"
        if request.plan_only:
            return (WOULD_CREATE if before is None else WOULD_OVERWRITE), None
        expected = "absent" if before is None else entry["existing"]["sha256"]
        backup = "" if before is None else f"{target}.kubectl-pss-{_utc_stamp()}.bak"
        result = pod.run_on_host(["sh", "-c", INSTALL_SCRIPT, "sh", profile.text, target, posixpath.dirname(target),
                                  expected, backup])
        if result.exit_code != 0:
            if result.exit_code == 3:  # someone else wrote it between our read and our rename
                raise NodeFailure(f"{target} changed on the node while installing: not replaced ({result.why()})")
            if result.command_missing:
                raise NodeFailure("the node has no sh in its root (chroot /host sh): cannot write there: "
                                  + result.why())
            raise NodeFailure(f"writing {target}: {result.why()}")
        after = self._read(pod, target)
        if after is None:
            raise NodeFailure(f"{target} is not there after writing it")
        got = hashlib.sha256(after).hexdigest()
        if got != profile.sha256:
            raise NodeFailure(f"{target} read back with sha256 {got}, not the profile's {profile.sha256}")
        entry["sha256"] = got
        if backup:  # the way back: the old file, next to the target on the node
            entry["backup"] = backup
            entry["restore"] = shlex.join(["chroot", "/host", "mv", "-f", "--", backup, target])
        return WRITTEN, None


def _utc_stamp() -> str:
    from datetime import datetime, timezone

    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def _short(sha: str) -> str:
    return sha[:12]


def describe(entry: dict[str, Any], plan_only: bool) -> str:
    """One line per node, for stderr."""
    status, existing, reason = entry["status"], entry["existing"], entry["reason"]
    there = (f"sha256 {_short(existing['sha256'])}, {existing['size']} bytes" if existing else "")
    if status == WRITTEN:
        what = f"replaced a different file ({there})" if existing else "a new file"
        if entry.get("backup"):
            what += (f"; the old file is kept as {entry['backup']} (restore it from a debug pod on the node: "
                     f"{entry['restore']})")
        text = f"written, sha256 verified; {what}"
    elif status == UNCHANGED:
        text = "unchanged: the same profile is already there"
    elif status == EXISTS_DIFFERENT:
        refused = "would be refused" if plan_only else "refused"
        text = f"exists-different: a different file is there ({there}): {refused}; --overwrite replaces it"
    elif status == WOULD_CREATE:
        text = "would create it (no file there)"
    elif status == WOULD_OVERWRITE:
        text = f"would overwrite a different file ({there}; --overwrite)"
    else:
        text = f"{status}: {reason}"
    return f"node {entry['node']}: {text}"


# --- the run ------------------------------------------------------------------------------------------------
NOT_READ = "not-read"
STATUSES = (WRITTEN, UNCHANGED, WOULD_CREATE, WOULD_OVERWRITE, EXISTS_DIFFERENT, FAILED, SKIPPED, NOT_READ)


def stanza(path: str) -> dict[str, Any]:
    """What a pod names to run under the installed profile."""
    return {"seccompProfile": {"type": "Localhost", "localhostProfile": path}}


def _camel(status: str) -> str:
    head, *rest = status.split("-")
    return head + "".join(w.capitalize() for w in rest)


def summarize(entries: list[dict[str, Any]]) -> dict[str, int]:
    """``{"nodes", "written", "unchanged", "wouldCreate", "wouldOverwrite", "existsDifferent", "failed",
    "skipped", "notRead"}``."""
    counts = {"nodes": len(entries)}
    for status in STATUSES:
        counts[_camel(status)] = sum(1 for e in entries if e["status"] == status)
    return counts


def status_counts(summary: dict[str, int]) -> list[tuple[int, str]]:
    """(count, status) of the statuses that some node has, in their order."""
    return [(summary[_camel(s)], s) for s in STATUSES if summary[_camel(s)]]


def exit_code(report: dict[str, Any]) -> int:
    """1 when a node failed or refused, a debug pod could not be deleted, or the profile was refused."""
    summary = report["summary"]
    bad = summary["failed"] or summary["existsDifferent"] or report["errors"] or report["outcome"] == "refused"
    return EXIT_FINDINGS if bad else EXIT_OK


def new_report(request: InstallRequest, profile: Profile) -> dict[str, Any]:
    """The ``-o json`` report before any node is done."""
    from ..report.envelope import envelope

    return envelope("SeccompInstallReport", {
        **stanza(request.path), "operation": "plan" if request.plan_only else "install", "outcome": None,
        "profile": profile.as_dict(request.ignore_lint), "seccompRoot": request.debug.seccomp_root or DEFAULT_SECCOMP_ROOT,
        "path": request.path,
        "target": request.target, "overwrite": request.overwrite, "nodes": [], "summary": summarize([]),
        "debugPods": [], "notes": []})


def install(cluster: Any, request: InstallRequest, profile: Profile, report: dict[str, Any]) -> None:
    """Every chosen node in turn, into ``report`` (also when interrupted)."""
    from .nodes import read_nodes

    installer = Installer(cluster, request, profile)
    report["context"] = cluster.context
    report["debugPods"] = installer.debug_pods
    report["errors"] = installer.errors
    problems: list[dict[str, Any]] = []
    nodes = read_nodes(cluster, [] if request.all_nodes else request.nodes, problems)
    if problems:
        raise FatalError("; ".join(p["message"] for p in problems) + ": nothing was done")
    names = ", ".join(n["metadata"]["name"] for n in nodes) or "none"
    print(f"target {request.target} on {len(nodes)} node(s): {names}", file=sys.stderr)
    if request.plan_only and request.reads_nodes:
        print("plan only (--dry-run=server): nothing is written; each node is read through a debug pod to see what "
              "is there", file=sys.stderr)
    elif request.plan_only:
        why = "--dry-run=client" if request.yes else "no --yes"
        print(f"plan only ({why}): nothing is written and no debug pod is created, so the nodes' files are not "
              "read; --yes --dry-run=server reads them, --yes writes", file=sys.stderr)
    entries = report["nodes"]
    try:
        entries += installer.runner.map(nodes, installer.install, lambda node: node["metadata"]["name"])
    finally:
        left = installer.runner.left_behind_note()
        if left:
            report["notes"].append(left)


def conclude(report: dict[str, Any], request: InstallRequest) -> None:
    """The summary and the outcome, once every node is done."""
    report["summary"] = summarize(report["nodes"])
    if report["outcome"] is None:
        if request.plan_only:
            report["outcome"] = "planned"
        else:
            report["outcome"] = "incomplete" if exit_code(report) else "installed"
