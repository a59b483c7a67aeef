"""Seccomp audit records (``type=1326`` / ``SECCOMP``) out of logs, grouped by process.

The kernel writes one such record for each syscall that a seccomp filter answers with an
action that is logged (kernel/seccomp.c, ``seccomp_log``): always for SCMP_ACT_LOG and the
kill actions, for errno/trap/trace/notify only when the filter was loaded with
SECCOMP_FILTER_FLAG_LOG, never for SCMP_ACT_ALLOW (all subject to the
``kernel.seccomp.actions_logged`` sysctl). Its fields are fixed by the kernel::

    auid=.. uid=.. gid=.. ses=.. [subj=..] pid=N comm=C exe=E sig=N arch=HEX syscall=N compat=N ip=0x.. code=0x..

Every record counts, whatever the action in ``code``: a syscall that was killed or refused was
still called by the workload. The actions seen are reported.

Lines come from wherever the records were collected, and everything before the record
is ignored, so these all work: ``/var/log/audit/audit.log`` (``type=SECCOMP msg=audit(..): ..``,
also auditd's enriched format), syslog and ``journalctl -o short`` (``... kernel: audit: type=1326
audit(..): ..`` or ``... audit[PID]: SECCOMP auid=..``), ``dmesg`` (``[12.345] audit: type=1326 ..``),
``journalctl -o json`` (one object a line; MESSAGE a string or an array of bytes), ``-o export``,
``-o verbose`` and ``-o cat``. Other lines are skipped; a record cut short is counted as skipped.

No I/O here: callers pass lines (``str``) and a source name.
"""
from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable

from .tables import arch_for_audit
from .tables import arches as all_arches

# The kernel's field order, from pid= on (audit_log_task + audit_seccomp). comm= and exe= are
# quoted, or hex-encoded without quotes when they hold a space, a quote or a control character.
_FAST = re.compile(
    r"pid=(\d+) comm=(\S+) exe=(\S+) (?:subj=\S+ )?sig=-?\d+ arch=([0-9a-fA-F]+) syscall=(\d+)"
    r"(?: compat=\d+)? ip=0x[0-9a-fA-F]+ code=0x([0-9a-fA-F]+)"
)
# A record of this type, in any of the ways it is written.
_MARKER = re.compile(r"type=(?:1326|SECCOMP)\b|(?:^|[\s:\]])SECCOMP\s+\w+=")
_FIELD = re.compile(r"(?<![\w.-])([a-z]+)=(\"[^\"]*\"|\S+)")
_REQUIRED = ("arch", "syscall", "code")
INCOMPLETE = "incomplete record (cut short, or no arch=, syscall= or code=)"

# SECCOMP_RET_ACTION_FULL values (include/uapi/linux/seccomp.h) -> profile action names.
ACTIONS = {
    0x80000000: "SCMP_ACT_KILL_PROCESS", 0x00000000: "SCMP_ACT_KILL_THREAD", 0x00030000: "SCMP_ACT_TRAP",
    0x00050000: "SCMP_ACT_ERRNO", 0x7FC00000: "SCMP_ACT_NOTIFY", 0x7FF00000: "SCMP_ACT_TRACE",
    0x7FFC0000: "SCMP_ACT_LOG", 0x7FFF0000: "SCMP_ACT_ALLOW",
}


def action_of(code: int) -> str:
    """The seccomp action of a record's ``code=`` (``SCMP_ACT_ERRNO(1)`` for errno 1)."""
    action = ACTIONS.get(code & 0xFFFF0000)
    if action is None:
        return f"unknown action 0x{code:08x}"
    if action in ("SCMP_ACT_ERRNO", "SCMP_ACT_TRACE"):
        return f"{action}({code & 0xFFFF})"
    return action


def decode_value(raw: str | None) -> str | None:
    """An audit field value: ``"text"``, hex-encoded bytes, or ``(null)``."""
    if raw is None or raw == "(null)":
        return None
    if len(raw) >= 2 and raw[0] == '"' and raw[-1] == '"':
        return raw[1:-1]
    if len(raw) % 2 == 0:
        try:
            return bytes.fromhex(raw).decode("utf-8", "replace")
        except ValueError:
            pass
    return raw


@dataclass
class _Group:
    """The records of one process (one pid in one source), kept raw until asked for."""

    source: int
    pid: str | None
    calls: dict[tuple[str, str], int] = field(default_factory=dict)
    # Raw values -> records, in order of first appearance. comm is per thread (a Java process
    # shows its threads' names), exe per process (it changes only with execve).
    comms: dict[str | None, int] = field(default_factory=dict)
    exes: dict[str | None, int] = field(default_factory=dict)
    last_exe: str | None = None


@dataclass(frozen=True)
class Selector:
    """Which processes to keep: by comm, by exe path or by pid (at most one; none keeps all).

    A process keeps its pid across execve, so selecting by comm or exe keeps every record of the
    pids that show that comm or exe, including those the container runtime's init made in them
    before it executed the workload (``comm="runc:[2:INIT]"``): they belong in the profile too.
    """

    comm: str | None = None
    exe: str | None = None
    pid: int | None = None
    arches: frozenset[str] | None = None  # libseccomp names; None keeps every architecture

    def describe(self) -> str:
        if self.comm is not None:
            return f'--comm "{self.comm}"'
        if self.exe is not None:
            return f'--exe "{self.exe}"'
        if self.pid is not None:
            return f"--pid {self.pid}"
        return ""


@dataclass
class Process:
    """What one process (or several with the same command) was seen to call."""

    comm: str | None
    exe: str | None
    pids: set[str]
    other_comms: set[str]
    syscalls: dict[str, set[str]]  # arch name -> syscall names
    records: int

    def label(self) -> str:
        text = self.comm if self.comm is not None else "?"
        if self.exe is not None:
            text += f" ({self.exe})"
        return text


@dataclass
class Selection:
    """The records a profile is built from, and what was left out and why."""

    syscalls: dict[str, set[str]]  # arch name -> syscall names, architectures in table order
    processes: list[Process]
    used: int
    skipped: Counter  # reason -> records
    unknown_numbers: dict[tuple[str, int], int]  # (arch name, number) -> records
    unknown_arches: dict[str, int]  # audit arch hex -> records
    not_selected_processes: int

    def arches(self) -> list[str]:
        return [name for name, names in self.syscalls.items() if names]

    def names(self) -> list[str]:
        return sorted({name for names in self.syscalls.values() for name in names})


class AuditScan:
    """Feed it lines (``feed``), then ask for a ``Selection`` of processes (``select``)."""

    def __init__(self) -> None:
        self.sources: list[str] = []
        self.lines: Counter = Counter()  # source -> lines read
        self.records: Counter = Counter()  # source -> seccomp records found
        self.skipped: Counter = Counter()  # reason -> records, before selection
        self.actions: Counter = Counter()  # raw code (hex) -> records
        self.incomplete_kept = 0  # records cut short after syscall= (no code=): the call was made, so kept
        self._groups: dict[tuple[int, str | None], _Group] = {}

    # -- reading -------------------------------------------------------------------------

    def feed(self, lines: Iterable[str], source: str) -> None:
        """Read the records of one input (a file, stdin)."""
        index = len(self.sources)
        self.sources.append(source)
        groups, actions = self._groups, self.actions
        fast = _FAST.search
        count = records = 0
        for line in lines:
            count += 1
            if "1326" not in line and "SECCOMP" not in line:
                if '"MESSAGE":[' not in line:
                    continue
            first = line[:1]
            if first == "{" or first == "\x1e":
                text = _journal_message(line)
                if text is None:
                    if _MARKER.search(line) is not None:  # a journal entry cut short
                        self.skipped[INCOMPLETE] += 1
                        records += 1
                    continue
                line = text
            m = fast(line)
            if m is None:
                fields = self._slow(line)
                if fields is None:
                    continue
                if fields is False:  # a record, cut short
                    records += 1
                    continue
                pid, comm, exe, arch, nr, code = fields
            else:
                pid, comm, exe, arch, nr, code = m.groups()
            records += 1
            group = groups.get((index, pid))
            if group is None:
                group = groups[(index, pid)] = _Group(index, pid)
            calls = group.calls
            call = (arch, nr)
            calls[call] = calls.get(call, 0) + 1
            comms = group.comms
            comms[comm] = comms.get(comm, 0) + 1
            if exe != group.last_exe:
                group.exes[exe] = 0
                group.last_exe = exe
            if code is not None:
                actions[code] = actions.get(code, 0) + 1
        self.lines[source] += count
        self.records[source] += records

    def _slow(self, line: str) -> tuple[str | None, str | None, str | None, str, str, str | None] | None | bool:
        """Fields in another order; False for a record cut short (counted as skipped); None for no record."""
        if _MARKER.search(line) is None:
            return None
        fields: dict[str, str] = {}
        for key, value in _FIELD.findall(line):
            fields.setdefault(key, value)
        if self._cut_after_syscall(line, fields):  # which call was made is known, whatever the action was
            self.incomplete_kept += 1
            return fields.get("pid"), fields.get("comm"), fields.get("exe"), fields["arch"], fields["syscall"], None
        missing = [key for key in _REQUIRED if key not in fields]
        if missing or not re.fullmatch(r"[0-9a-fA-F]+", fields["arch"]) or not fields["syscall"].isdigit():
            self.skipped[INCOMPLETE] += 1
            return False
        code = fields["code"]
        code = code[2:] if code[:2] in ("0x", "0X") else ""  # the kernel writes code=0x%x
        if not re.fullmatch(r"[0-9a-fA-F]+", code):
            self.skipped[INCOMPLETE] += 1
            return False
        return fields.get("pid"), fields.get("comm"), fields.get("exe"), fields["arch"], fields["syscall"], code

    def _cut_after_syscall(self, line: str, fields: dict[str, str]) -> bool:
        """A record with arch= and a whole syscall= (something follows its digits) but cut before or in code=."""
        if re.fullmatch(r"0[xX][0-9a-fA-F]+", fields.get("code", "")) or "arch" not in fields or "syscall" not in fields:
            return False
        if not re.fullmatch(r"[0-9a-fA-F]+", fields["arch"]) or not fields["syscall"].isdigit():
            return False
        return re.search(r"(?<![\w.-])syscall=\d+[ \t]", line) is not None  # not a number cut at the line's end

    # -- selecting -----------------------------------------------------------------------

    def action_counts(self) -> Counter:
        """Records per seccomp action (``SCMP_ACT_LOG``: 120, ...)."""
        counts: Counter = Counter()
        for code, n in self.actions.items():
            counts[action_of(int(code, 16))] += n
        return counts

    def select(self, selector: Selector) -> Selection:
        skipped: Counter = Counter(self.skipped)
        unknown_numbers: Counter = Counter()
        unknown_arches: Counter = Counter()
        by_arch: dict[str, set[str]] = {}
        processes: dict[tuple[str | None, str | None], Process] = {}
        used = 0
        not_selected = 0
        for group in self._groups.values():
            comms = [decode_value(c) for c in group.comms]
            exes = [decode_value(e) for e in group.exes]
            n_records = sum(group.calls.values())
            if not _selected(selector, group, comms, exes):
                skipped[f"not selected by {selector.describe()}"] += n_records
                not_selected += 1
                continue
            # Named by its most frequent comm (the later one on a tie: what runc's init became) and its last exe.
            best = 0
            comm = None
            for raw, n in group.comms.items():
                if n >= best:
                    best, comm = n, decode_value(raw)
            exe = decode_value(group.last_exe)
            process = processes.get((comm, exe))
            if process is None:
                process = processes[(comm, exe)] = Process(comm, exe, set(), set(), {}, 0)
            process.pids.add(group.pid or "?")
            process.other_comms.update(c for c in comms if c is not None and c != comm)
            for (arch_hex, nr_text), n in group.calls.items():
                nr = int(nr_text)
                arch = arch_for_audit(int(arch_hex, 16), nr)
                if arch is None:
                    unknown_arches[arch_hex.lower()] += n
                    skipped[f"unknown architecture (arch={arch_hex.lower()})"] += n
                    continue
                if selector.arches is not None and arch.name not in selector.arches:
                    skipped[f"architecture {arch.name} not chosen by --arch"] += n
                    continue
                name = arch.resolve(nr)
                if name is None:
                    unknown_numbers[(arch.name, nr)] += n
                    skipped["unknown syscall number"] += n
                    continue
                by_arch.setdefault(arch.name, set()).add(name)
                process.syscalls.setdefault(arch.name, set()).add(name)
                process.records += n
                used += n
        ordered = {name: by_arch[name] for name in all_arches() if name in by_arch}
        return Selection(ordered, [p for p in processes.values() if p.records], used, skipped,
                         dict(unknown_numbers), dict(unknown_arches), not_selected)


def _selected(selector: Selector, group: _Group, comms: list[str | None], exes: list[str | None]) -> bool:
    if selector.comm is not None:
        return selector.comm in comms
    if selector.exe is not None:
        return selector.exe in exes
    if selector.pid is not None:
        return group.pid == str(selector.pid)
    return True


def _journal_message(line: str) -> str | None:
    """The MESSAGE of a ``journalctl -o json`` (or ``json-seq``) line; None if it has none."""
    try:
        entry = json.loads(line.lstrip("\x1e"))
    except (ValueError, RecursionError):
        return None
    if not isinstance(entry, dict):
        return None
    message = entry.get("MESSAGE")
    if isinstance(message, list):  # journald writes non-UTF-8 or binary messages as byte arrays
        try:
            return bytes(message).decode("utf-8", "replace")
        except (TypeError, ValueError):
            return None
    return message if isinstance(message, str) else None
