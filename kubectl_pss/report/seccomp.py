"""Seccomp renderers: ``seccomp lint``'s table, ``seccomp profile``'s summary of the records read,
``seccomp install``'s lint line, node counts and output."""
from __future__ import annotations

import sys
from collections import Counter
from typing import Any, TextIO

from ..seccomp import audit as seccomp_audit
from ..seccomp.lint_report import LintReport, describe_action
from ..seccomp import tables
from .color import Palette, color_enabled
from .render import format_table, heading, write_json, write_yaml


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def write_scan_summary(scan: seccomp_audit.AuditScan, selection: seccomp_audit.Selection,
             selector: seccomp_audit.Selector, out: TextIO) -> None:
    actions = scan.action_counts()
    for source in scan.sources:
        line = (f"read {_plural(scan.lines[source], 'line')} from {source}: "
                f"{_plural(scan.records[source], 'seccomp record')} (type=1326)")
        out.write(line + "\n")
    if actions:
        out.write("actions: " + ", ".join(f"{action} {n}" for action, n in actions.most_common()) + "\n")
    if scan.incomplete_kept:
        out.write(f"{_plural(scan.incomplete_kept, 'record')} incomplete, kept: cut short after syscall= (no code=); "
                  "the call was made whatever the action, so the profile allows it\n")
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


def render_lint(report: LintReport, source: str, no_color: bool, out: TextIO) -> None:
    palette = Palette(color_enabled(out, no_color))
    styles = {"error": "error", "warning": "warning", "note": "dim"}
    rows = [[palette.paint(f.severity, styles[f.severity]), f.path or "-", f.message] for f in report.findings]
    kind = "SeccompProfile" if report.kind == "spo" else "profile"
    notes = sum(1 for f in report.findings if f.severity == "note")
    verdict = "valid" if report.valid else "invalid"
    out.write(heading(f"{source}: {kind} {verdict}: {_plural(len(report.errors), 'error')}, "
              f"{_plural(len(report.warnings), 'warning')}, {_plural(notes, 'note')}\n"))
    table = format_table(rows, ["severity", "where", "message"], wrap=("message", "where"))
    if table:
        out.write(table + "\n")
    if report.effects:
        out.write(heading("\nCompared with Unconfined (every syscall allowed):\n"))
        for effect in report.effects:
            kept = len(effect.allowed) + len(effect.logged)
            parts = [f"{kept} of {effect.total} syscalls still allowed" + (f" ({len(effect.logged)} logged)" if effect.logged else "")]
            if effect.conditional:
                parts.append(f"{len(effect.conditional)} allowed only with some arguments or capabilities")
            for label, names in sorted(effect.changed.items(), key=lambda kv: -len(kv[1])):
                parts.append(f"{len(names)} now {describe_action(label)}")
            out.write(heading(f"  {effect.arch.scmp}: " + ", ".join(parts) + "\n"))
            if 0 < kept <= 120:
                out.write(heading("    allowed: " + ", ".join(effect.allowed + effect.logged) + "\n"))
        out.write(heading(f"  ({report.effects_note})\n"))
    defaults = tables.runtime_default()
    out.write(heading("RuntimeDefault as judged by: " + "; ".join(p.source for p in defaults.profiles)
              + f". Syscall tables: {tables.table_source()}\n"))


def print_profile_lint(profile: Any) -> None:
    """``seccomp install``: the profile's size, hash and lint counts, and its findings, on stderr."""
    report = profile.lint
    print(f"profile {profile.source}: {profile.size} bytes, sha256 {profile.sha256}; lint: "
          f"{len(report.errors)} error(s), {len(report.warnings)} warning(s)", file=sys.stderr)
    for finding in report.findings:
        if finding.severity != "note":
            print(f"  lint {finding.severity}: {finding}", file=sys.stderr)


def write_install(report: dict[str, Any], output: str, plan_only: bool, dry_run: str,
                  counts: list[tuple[int, str]], stanza: dict[str, Any]) -> None:
    """``seccomp install``'s end: the node counts and notes on stderr; the stanza (yaml) or the report (json)."""
    if report["outcome"] != "refused":
        line = f"{len(report['nodes'])} node(s): " + (", ".join(f"{n} {status}" for n, status in counts)
                                                      or "nothing to do")
        if plan_only:
            line += "; nothing written" + (f" (--dry-run={dry_run})" if dry_run != "none" else ": --yes writes")
        print(line, file=sys.stderr)
    for note in report["notes"]:
        print(f"note: {note}", file=sys.stderr)
    if output == "json":
        write_json(report, sys.stdout)
    elif report["outcome"] != "refused":
        write_yaml(stanza, sys.stdout)
