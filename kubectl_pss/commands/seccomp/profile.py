"""Write a seccomp profile allowing exactly the syscalls a workload made, read from the kernel's seccomp
audit records (type=1326, from a run under defaultAction SCMP_ACT_LOG): audit.log, syslog, journalctl -o
short/json/export, dmesg; plain or gzip. The profile goes to stdout, a summary to stderr.

``kubectl pss seccomp profile --from-audit FILE|-``: a profile from what a workload really calls.

Reads the kernel's seccomp audit records (type=1326) that a workload left while it ran under a
logging profile (defaultAction SCMP_ACT_LOG), maps the syscall numbers to names per architecture,
and writes a profile that allows exactly those (stdout), with a summary on stderr. Exit 0; 1 if the
profile is incomplete (unknown syscall numbers or architectures) or nothing was found; 2 on bad flags
or unreadable input.
"""
from __future__ import annotations

import argparse
import gzip
import io
import sys
import zlib
from dataclasses import dataclass, field
from typing import Any, TextIO

from ...errors import EXIT_FINDINGS, EXIT_OK, UsageError
from ...report.render import write_json, write_yaml
from ...report.seccomp import write_scan_summary
from ...seccomp import audit as seccomp_audit
from ...seccomp import profile as seccomp_profile
from ...seccomp import tables

EXAMPLES = """
# A profile from the kernel's audit records of one process name
kubectl pss seccomp profile --from-audit /var/log/audit/audit.log --comm nginx

# As a SeccompProfile object of the security-profiles-operator
kubectl pss seccomp profile --from-audit audit.log --pid 4242 --format spo --name nginx
"""
EXIT_CODES = ((0, 'the profile was written'), (1, 'it is incomplete (syscalls that could not be named) or no record matched'))


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


HELP = "write a profile that allows the syscalls seen in seccomp audit records"
DESCRIPTION = (__doc__ or "").split("\n\n")[0]  # the first paragraph: --help's description


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--from-audit", action="append", dest="inputs", default=[], metavar="FILE",
                      help="a log with seccomp audit records, or - for stdin; repeatable with --merge")
    parser.add_argument("--merge", action="store_true",
                      help="union several --from-audit inputs (replicas, runs) into one profile")
    who = parser.add_mutually_exclusive_group()
    who.add_argument("--comm", help="only processes with this command name (audit comm=); their pids' records "
                                    "from before exec (the runtime's init) count too")
    who.add_argument("--exe", help="only processes running this executable (audit exe=)")
    who.add_argument("--pid", type=int, help="only this process id (as the node sees it)")
    parser.add_argument("--arch", action="append", dest="arches", default=[], metavar="ARCH",
                      help="architectures the profile lists (x86_64, aarch64, x86, x32, arm, ppc64le, s390x, "
                           "riscv64, ...; repeatable or comma-separated); records of others are skipped. "
                           "Default: those the records show")
    parser.add_argument("--format", default="kubelet",
                      help="kubelet: the JSON file for the kubelet's seccomp root (default); "
                           "spo: a Security Profiles Operator SeccompProfile object")
    parser.add_argument("--name", help="the SeccompProfile's name (--format spo; default: from --comm/--exe)")
    parser.add_argument("-n", "--namespace", help="the SeccompProfile's namespace (--format spo)")
    parser.add_argument("-o", "--output", default="json", help="json (default) or yaml")


def complete(args: argparse.Namespace) -> ProfileOptions:
    arches = [a.strip() for value in args.arches for a in value.split(",") if a.strip()]
    return ProfileOptions(inputs=args.inputs, merge=args.merge, comm=args.comm, exe=args.exe, pid=args.pid,
                          arches=arches, format=args.format, name=args.name, namespace=args.namespace,
                          output=args.output)


def validate(options: ProfileOptions) -> None:
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


def run(options: ProfileOptions) -> int:
    scan = seccomp_audit.AuditScan()
    for path in options.inputs:
        _read(scan, path)
    selector = seccomp_audit.Selector(
        comm=options.comm, exe=options.exe, pid=options.pid,
        arches=frozenset(a.name for a in options.resolved_arches) if options.resolved_arches else None)
    selection = scan.select(selector)
    write_scan_summary(scan, selection, selector, sys.stderr)
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
