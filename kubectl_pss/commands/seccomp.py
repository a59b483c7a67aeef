"""``kubectl pss seccomp``: seccomp profiles from what a workload really calls, and a linter.

``profile --from-audit FILE|-``: reads the kernel's seccomp audit records (type=1326) that a
workload left while it ran under a logging profile (defaultAction SCMP_ACT_LOG), maps the
syscall numbers to names per architecture, and writes a profile that allows exactly those
(stdout), with a summary on stderr. Exit 0; 1 if the profile is incomplete (unknown syscall
numbers or architectures) or nothing was found; 2 on bad flags or unreadable input.

``lint PROFILE``: schema, names, useless or dangerous rules, and what the profile changes
compared with Unconfined. Exit 0 no errors (warnings allowed), 1 errors, 2 unreadable input.

``install PROFILE --path profiles/NAME.json (NODE ... | --all-nodes) [--yes]``: copies a profile into
the kubelet's seccomp root on nodes through debug pods (``seccomp_install``).
"""
from __future__ import annotations

import argparse
import gzip
import io
import json
import sys
import zlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, TextIO

from ..errors import EXIT_FINDINGS, EXIT_OK, UsageError
from ..report.color import Palette, color_enabled
from ..report.render import format_table, write_json, write_report, write_yaml
from ..seccomp import audit as seccomp_audit
from ..seccomp import lint as seccomp_lint
from ..seccomp import profile as seccomp_profile
from ..seccomp import tables
from . import seccomp_install
from .common import add_output_flags, validate_output

PROFILE_OUTPUTS = ("json", "yaml")


@dataclass
class ProfileOptions:
    inputs: list[str]
    merge: bool = False
    comm: str | None = None
    exe: str | None = None
    pid: int | None = None
    arches: list[str] = field(default_factory=list)  # as given; resolved by validate
    format: str = "kubelet"
    name: str | None = None
    namespace: str | None = None
    output: str = "json"
    resolved_arches: list[tables.Arch] = field(default_factory=list)


@dataclass
class LintOptions:
    path: str
    output: str = "table"
    no_color: bool = False


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = ("Seccomp profiles from what a workload really calls (its audit records), "
                          "and a linter for seccomp profiles")
    sub = parser.add_subparsers(dest="seccomp_command", metavar="COMMAND", title="commands")

    prof = sub.add_parser(
        "profile", help="write a profile that allows the syscalls seen in seccomp audit records",
        description="Write a seccomp profile allowing exactly the syscalls a workload made, read from the "
                    "kernel's seccomp audit records (type=1326, from a run under defaultAction SCMP_ACT_LOG): "
                    "audit.log, syslog, journalctl -o short/json/export, dmesg; plain or gzip. "
                    "The profile goes to stdout, a summary to stderr.")
    prof.add_argument("--from-audit", action="append", dest="inputs", default=[], metavar="FILE",
                      help="a log with seccomp audit records, or - for stdin; repeatable with --merge")
    prof.add_argument("--merge", action="store_true",
                      help="union several --from-audit inputs (replicas, runs) into one profile")
    who = prof.add_mutually_exclusive_group()
    who.add_argument("--comm", help="only processes with this command name (audit comm=); their pids' records "
                                    "from before exec (the runtime's init) count too")
    who.add_argument("--exe", help="only processes running this executable (audit exe=)")
    who.add_argument("--pid", type=int, help="only this process id (as the node sees it)")
    prof.add_argument("--arch", action="append", dest="arches", default=[], metavar="ARCH",
                      help="architectures the profile lists (x86_64, aarch64, x86, x32, arm, ppc64le, s390x, "
                           "riscv64, ...; repeatable or comma-separated); records of others are skipped. "
                           "Default: those the records show")
    prof.add_argument("--format", default="kubelet",
                      help="kubelet: the JSON file for the kubelet's seccomp root (default); "
                           "spo: a Security Profiles Operator SeccompProfile object")
    prof.add_argument("--name", help="the SeccompProfile's name (--format spo; default: from --comm/--exe)")
    prof.add_argument("-n", "--namespace", help="the SeccompProfile's namespace (--format spo)")
    prof.add_argument("-o", "--output", default="json", help="json (default) or yaml")

    lint = sub.add_parser(
        "lint", help="check a seccomp profile and show what it changes compared with Unconfined",
        description="Check a seccomp profile (the kubelet's JSON, or an SPO SeccompProfile): schema, syscall "
                    "names per architecture, duplicates and conflicts, rules that make it useless, syscalls it "
                    "allows that RuntimeDefault refuses (containerd's and moby's default profiles), and what it "
                    "changes compared with Unconfined. Exit 1 on errors, 2 on unreadable input.")
    lint.add_argument("path", metavar="PROFILE", help="the profile file, or - for stdin")
    add_output_flags(lint)

    install = sub.add_parser(
        "install", help="copy a profile into the kubelet's seccomp root on nodes (debug pods; --yes writes)",
        description="Copy a seccomp profile into the kubelet's seccomp root on the chosen nodes, through a "
                    "short-lived privileged debug pod per node (always deleted), and print the seccompProfile "
                    "stanza that names it. The profile is linted first (errors refuse it unless --force). Without "
                    "--yes (or with --dry-run) only the plan: each node's file is read, nothing is written. A "
                    "different file already there is refused unless --overwrite. Exit 0 every node written or "
                    "unchanged, 1 a node failed or refused (or lint errors), 2 bad input.")
    seccomp_install.add_arguments(install)


def complete(args: argparse.Namespace) -> ProfileOptions | LintOptions | seccomp_install.InstallOptions:
    if args.seccomp_command is None:
        raise UsageError("must specify a command: profile, lint or install (see kubectl pss seccomp --help)")
    if args.seccomp_command == "install":
        return seccomp_install.complete(args)
    if args.seccomp_command == "lint":
        return LintOptions(path=args.path, output=args.output, no_color=args.no_color)
    arches = [a.strip() for value in args.arches for a in value.split(",") if a.strip()]
    return ProfileOptions(inputs=args.inputs, merge=args.merge, comm=args.comm, exe=args.exe, pid=args.pid,
                          arches=arches, format=args.format, name=args.name, namespace=args.namespace,
                          output=args.output)


def validate(options: ProfileOptions | LintOptions | seccomp_install.InstallOptions) -> None:
    if isinstance(options, seccomp_install.InstallOptions):
        seccomp_install.validate(options)
        return
    if isinstance(options, LintOptions):
        validate_output(options.output)
        return
    if not options.inputs:
        raise UsageError("must specify --from-audit FILE (a log with seccomp audit records, or - for stdin)")
    if options.inputs.count("-") > 1:
        raise UsageError("stdin (-) can only be read once")
    if len(options.inputs) > 1 and not options.merge:
        raise UsageError(f"{len(options.inputs)} --from-audit inputs: add --merge to union them into one profile")
    if options.output not in PROFILE_OUTPUTS:
        raise UsageError(f'unable to match a printer suitable for the output format "{options.output}", '
                         "allowed formats are: json, yaml")
    if options.format not in seccomp_profile.FORMATS:
        raise UsageError(f'invalid --format "{options.format}": use kubelet or spo')
    if options.format != "spo" and (options.name is not None or options.namespace is not None):
        raise UsageError("--name and --namespace only apply to --format spo")
    for value, flag in ((options.name, "--name"), (options.namespace, "--namespace")):
        if value is not None and not seccomp_profile.is_dns_subdomain(value):
            raise UsageError(f'invalid {flag} "{value}": must be a lowercase RFC 1123 name (a-z, 0-9, "-", ".")')
    if options.pid is not None and options.pid <= 0:
        raise UsageError(f"invalid --pid {options.pid}: must be a positive process id")
    if options.comm is not None and not options.comm:
        raise UsageError("--comm must not be empty")
    if options.exe is not None and not options.exe:
        raise UsageError("--exe must not be empty")
    resolved = []
    for text in options.arches:
        arch = tables.parse_arch(text)
        if arch is None:
            raise UsageError(f'unknown --arch "{text}": use one of ' + ", ".join(tables.arches()))
        if arch not in resolved:
            resolved.append(arch)
    options.resolved_arches = resolved


def run(options: ProfileOptions | LintOptions | seccomp_install.InstallOptions) -> int:
    if isinstance(options, seccomp_install.InstallOptions):
        return seccomp_install.run(options)
    if isinstance(options, LintOptions):
        return _run_lint(options)
    return _run_profile(options)


# --- profile ----------------------------------------------------------------------------------


def _open_text(path: str) -> TextIO:
    """A file or stdin as text lines; gzip (rotated logs) is recognised by its magic number."""
    raw: Any = sys.stdin.buffer if path == "-" else open(path, "rb")
    buffered = raw if hasattr(raw, "peek") else io.BufferedReader(raw)
    if buffered.peek(2)[:2] == b"\x1f\x8b":
        buffered = gzip.GzipFile(fileobj=buffered)
    return io.TextIOWrapper(buffered, encoding="utf-8", errors="replace")


def _read(scan: seccomp_audit.AuditScan, path: str) -> None:
    source = "stdin" if path == "-" else path
    try:
        stream = _open_text(path)
        try:
            scan.feed(stream, source)
        finally:
            if path != "-":
                stream.close()
    except (OSError, EOFError, zlib.error) as exc:  # zlib.error: a corrupt gzip (rotated log)
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc) or type(exc).__name__
        raise UsageError(f'cannot read "{source}": {reason}') from None


def _run_profile(options: ProfileOptions) -> int:
    scan = seccomp_audit.AuditScan()
    for path in options.inputs:
        _read(scan, path)
    selector = seccomp_audit.Selector(
        comm=options.comm, exe=options.exe, pid=options.pid,
        arches=frozenset(a.name for a in options.resolved_arches) if options.resolved_arches else None)
    selection = scan.select(selector)
    _summary(scan, selection, selector, sys.stderr)
    if not selection.names():
        where = " and ".join(scan.sources)
        chosen = f" for {selector.describe()}" if selector.describe() else ""
        print(f"error: no usable seccomp records (type=1326){chosen} in {where}: no profile written", file=sys.stderr)
        return EXIT_FINDINGS
    arch_names = ([a.name for a in options.resolved_arches] if options.resolved_arches else selection.arches())
    name = options.name
    if options.format == "spo" and name is None:
        process = selection.processes[0] if len(selection.processes) == 1 else None
        name = seccomp_profile.default_name(options.comm or (process.comm if process else None), options.exe)
    document = seccomp_profile.build(arch_names, selection.names(), options.format, name, options.namespace)
    if options.output == "yaml":
        write_yaml(document, sys.stdout)
    else:
        write_json(document, sys.stdout)
    architectures = ", ".join(tables.arches()[a].scmp for a in arch_names)
    print(f"profile: {len(selection.names())} syscalls allowed on {architectures}; every other syscall fails "
          "with EPERM (SCMP_ACT_ERRNO)", file=sys.stderr)
    if selection.unknown_numbers or selection.unknown_arches:
        print("warning: the profile is incomplete: it leaves out the syscalls above that could not be named",
              file=sys.stderr)
        return EXIT_FINDINGS
    return EXIT_OK


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _summary(scan: seccomp_audit.AuditScan, selection: seccomp_audit.Selection,
             selector: seccomp_audit.Selector, out: TextIO) -> None:
    actions = scan.action_counts()
    for source in scan.sources:
        line = (f"read {_plural(scan.lines[source], 'line')} from {source}: "
                f"{_plural(scan.records[source], 'seccomp record')} (type=1326)")
        out.write(line + "\n")
    if actions:
        out.write("actions: " + ", ".join(f"{action} {n}" for action, n in actions.most_common()) + "\n")
    for process in sorted(selection.processes, key=lambda p: (-p.records, p.label())):
        pids = sorted(process.pids, key=lambda p: (len(p), p))
        pid_text = ("pid " if len(pids) == 1 else "pids ") + ", ".join(pids[:5])
        if len(pids) > 5:
            pid_text += f" and {len(pids) - 5} more"
        also = f" (also seen as {', '.join(sorted(process.other_comms))})" if process.other_comms else ""
        per_arch = ", ".join(f"{_plural(len(names), 'syscall')} on {arch}" for arch, names in process.syscalls.items())
        out.write(f"process {process.label()}, {pid_text}{also}: {per_arch} ({_plural(process.records, 'record')})\n")
    skipped = Counter(selection.skipped)
    if skipped:
        total = sum(skipped.values())
        parts = []
        for reason, n in skipped.most_common():
            if reason.startswith("not selected"):
                n_proc = selection.not_selected_processes
                reason += f" ({n_proc} {'process' if n_proc == 1 else 'processes'})"
            parts.append(f"{n} {reason}")
        out.write(f"skipped {_plural(total, 'record')}: " + "; ".join(parts) + "\n")
    for (arch, number), n in sorted(selection.unknown_numbers.items()):
        out.write(f"warning: unknown syscall number {number} on {arch} ({_plural(n, 'record')}): not in the tables "
                  f"of libseccomp {tables.libseccomp_version()}; left out of the profile\n")
    for arch_hex, n in sorted(selection.unknown_arches.items()):
        out.write(f"warning: unknown audit architecture arch={arch_hex} ({_plural(n, 'record')}); left out of the profile\n")
    if len(selection.processes) > 1 and not selector.describe():
        out.write(f"note: the profile covers {len(selection.processes)} processes; choose one with --comm, --exe or --pid\n")


# --- lint -------------------------------------------------------------------------------------


def _load_profile(path: str) -> Any:
    source = "stdin" if path == "-" else path
    try:
        if path == "-":
            text = sys.stdin.buffer.read().decode("utf-8", "replace")
        else:
            with open(path, "rb") as handle:
                text = handle.read().decode("utf-8", "replace")
    except OSError as exc:
        raise UsageError(f'cannot read "{source}": {exc.strerror or exc}') from None
    try:
        return json.loads(text)
    except ValueError as exc:
        json_error = exc
    except RecursionError:
        raise UsageError(f"{source}: not a profile: nested too deeply") from None
    if "SeccompProfile" in text:  # an SPO object is usually YAML, read as kubectl reads it
        import yaml

        from ..goyaml import load as load_yaml

        try:
            document = load_yaml(text)
        except (yaml.YAMLError, RecursionError):
            document = None
        if isinstance(document, dict) and document.get("kind") == "SeccompProfile":
            return document
    raise UsageError(f"{source}: not JSON (the runtime reads a profile as JSON): {json_error}")


def _run_lint(options: LintOptions) -> int:
    document = _load_profile(options.path)
    report = seccomp_lint.lint(document)
    source = "stdin" if options.path == "-" else options.path
    data = {"profile": source, **report.as_dict()}
    write_report(data if options.output != "table" else report, options.output, sys.stdout,
                 lambda r, out: _render_lint(r, source, options, out))
    return EXIT_FINDINGS if report.errors else EXIT_OK


def _render_lint(report: seccomp_lint.LintReport, source: str, options: LintOptions, out: TextIO) -> None:
    palette = Palette(color_enabled(out, options.no_color))
    styles = {"error": "error", "warning": "baseline", "note": "dim"}
    rows = [[palette.paint(f.severity, styles[f.severity]), f.path or "-", f.message] for f in report.findings]
    kind = "SeccompProfile" if report.kind == "spo" else "profile"
    notes = sum(1 for f in report.findings if f.severity == "note")
    verdict = "valid" if report.valid else "invalid"
    out.write(f"{source}: {kind} {verdict}: {_plural(len(report.errors), 'error')}, "
              f"{_plural(len(report.warnings), 'warning')}, {_plural(notes, 'note')}\n")
    table = format_table(rows, ["severity", "where", "message"])
    if table:
        out.write(table + "\n")
    if report.effects:
        out.write("\nCompared with Unconfined (every syscall allowed):\n")
        for effect in report.effects:
            kept = len(effect.allowed) + len(effect.logged)
            parts = [f"{kept} of {effect.total} syscalls still allowed" + (f" ({len(effect.logged)} logged)" if effect.logged else "")]
            if effect.conditional:
                parts.append(f"{len(effect.conditional)} allowed only with some arguments or capabilities")
            for label, names in sorted(effect.changed.items(), key=lambda kv: -len(kv[1])):
                parts.append(f"{len(names)} now {seccomp_lint.describe_action(label)}")
            out.write(f"  {effect.arch.scmp}: " + ", ".join(parts) + "\n")
            if 0 < kept <= 120:
                out.write("    allowed: " + ", ".join(effect.allowed + effect.logged) + "\n")
        out.write(f"  ({report.effects_note})\n")
    defaults = tables.runtime_default()
    out.write("RuntimeDefault as judged by: " + "; ".join(p.source for p in defaults.profiles)
              + f". Syscall tables: {tables.table_source()}\n")
