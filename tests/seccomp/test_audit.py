"""Reading seccomp audit records out of logs: formats, partial lines, selection, the summary's numbers."""
from __future__ import annotations

import pytest

from kubectl_pss.seccomp.audit import INCOMPLETE, AuditScan, Selector, action_of, decode_value

from tests.seccomp import records as r


def scan(lines, source="log"):
    s = AuditScan()
    s.feed(lines, source)
    return s


def names(lines, **selector):
    return scan(lines).select(Selector(**selector)).syscalls


FORMATS = [r.audit_log, r.syslog, r.dmesg, r.dmesg_human, r.journal_short, r.journal_json,
           lambda n, **kw: r.journal_json(n, as_bytes=True, **kw), r.audit_log_enriched,
           lambda n, **kw: "\x1e" + r.journal_json(n, **kw),            # journalctl -o json-seq
           lambda n, **kw: "MESSAGE=audit: type=1326 audit(1700000000.123:9): " + r.body(n, **kw),  # -o export
           lambda n, **kw: r.audit_log(n, subj="cri-containerd.apparmor.d", **kw)]


@pytest.mark.parametrize("fmt", FORMATS, ids=["audit.log", "syslog", "dmesg", "dmesg-T", "journal-short",
                                              "journal-json", "journal-json-bytes", "audit.log-enriched",
                                              "journal-json-seq", "journal-export", "with-subj"])
def test_each_format(fmt):
    lines = [fmt(51), fmt(59), fmt(51)] + r.OTHER_LINES
    s = scan(lines)
    assert s.records["log"] == 3 and s.lines["log"] == 3 + len(r.OTHER_LINES)
    selection = s.select(Selector())
    assert selection.syscalls == {"x86_64": {"getsockname", "execve"}}
    assert selection.used == 3 and not selection.skipped
    [process] = selection.processes
    assert (process.comm, process.exe, process.pids, process.records) == ("http-echo", "/http-echo", {"29064"}, 3)


def test_lines_with_newlines_and_crlf():
    assert names([r.audit_log(51) + "\n", r.syslog(0) + "\r\n"]) == {"x86_64": {"getsockname", "read"}}


def test_other_lines_are_not_records():
    s = scan(r.OTHER_LINES)
    assert s.records["log"] == 0 and not s.skipped
    assert s.select(Selector()).syscalls == {}


@pytest.mark.parametrize("fmt", [r.audit_log, r.syslog, r.journal_short])
def test_partial_lines_are_counted_not_guessed(fmt):
    full = fmt(51)
    # Cut anywhere from the first field to the end of the syscall's number: skipped, counted.
    whole_number = full.index("syscall=51") + len("syscall=51")
    for cut in range(full.index("auid=") + len("auid="), whole_number + 1):
        s = scan([full[:cut], fmt(0)])
        assert s.skipped == {INCOMPLETE: 1}, full[:cut]
        assert s.records["log"] == 2 and s.incomplete_kept == 0
        assert s.select(Selector()).syscalls == {"x86_64": {"read"}}
    # Issue 17 (changed expectation): cut after "syscall=51 " up to the code's value, the call is known
    # whatever its action was: kept, counted as "incomplete, kept".
    for cut in range(whole_number + 1, full.index("code=0x") + len("code=0x") + 1):
        s = scan([full[:cut], fmt(0)])
        assert not s.skipped and s.incomplete_kept == 1, full[:cut]
        assert s.records["log"] == 2
        assert s.select(Selector()).syscalls == {"x86_64": {"read", "getsockname"}}


def test_a_number_cut_short_is_not_taken():
    # "syscall=5" of "syscall=51 compat=0 ...": the record ends there, so its number is not trusted.
    line = r.audit_log(51)
    cut = line[: line.index("syscall=5") + len("syscall=5")]
    assert scan([cut]).skipped == {INCOMPLETE: 1}


def test_journal_json_cut_short():
    s = scan([r.journal_json(51)[:200], r.journal_json(0)])
    assert s.skipped == {INCOMPLETE: 1}
    assert s.select(Selector()).syscalls == {"x86_64": {"read"}}


def test_fields_in_another_order_are_read():
    line = ("type=SECCOMP msg=audit(1700000000.123:1): arch=c000003e syscall=51 pid=1 comm=\"a\" exe=\"/a\" "
            "auid=0 uid=0 gid=0 ses=1 sig=0 ip=0x1 code=0x7ffc0000")
    assert names([line]) == {"x86_64": {"getsockname"}}


def test_hex_encoded_comm_and_exe():
    comm = "my app".encode().hex().upper()
    exe = "/opt/my app/bin".encode().hex().upper()
    s = scan([r.audit_log(51, comm=comm, exe=exe)])
    [process] = s.select(Selector()).processes
    assert (process.comm, process.exe) == ("my app", "/opt/my app/bin")
    assert s.select(Selector(comm="my app")).syscalls == {"x86_64": {"getsockname"}}
    assert s.select(Selector(exe="/opt/my app/bin")).syscalls == {"x86_64": {"getsockname"}}


@pytest.mark.parametrize("raw, value", [('"x"', "x"), ("(null)", None), (None, None), ("6869", "hi"),
                                        ("abc", "abc"), ("zz", "zz"), ('""', "")])
def test_decode_value(raw, value):
    assert decode_value(raw) == value


def test_comm_selects_the_pids_including_records_before_exec():
    lines = [
        r.audit_log(59, comm='"runc:[2:INIT]"', exe='"/usr/bin/runc"'),   # runc's init, before exec
        r.audit_log(51),                                                  # the workload, same pid
        r.audit_log(0, pid=4242, comm='"sidecar"', exe='"/sidecar"'),
        r.audit_log(1, pid=4243, comm='"http-echo"', exe='"/http-echo"'),  # a second replica process
    ]
    s = scan(lines)
    by_comm = s.select(Selector(comm="http-echo"))
    assert by_comm.syscalls == {"x86_64": {"execve", "getsockname", "write"}}
    assert by_comm.skipped == {'not selected by --comm "http-echo"': 1}
    assert by_comm.not_selected_processes == 1
    [process] = by_comm.processes
    assert process.pids == {"29064", "4243"} and process.other_comms == {"runc:[2:INIT]"}
    assert s.select(Selector(exe="/sidecar")).syscalls == {"x86_64": {"read"}}
    assert s.select(Selector(pid=29064)).syscalls == {"x86_64": {"execve", "getsockname"}}
    assert s.select(Selector(comm="nothing")).syscalls == {}


def test_architectures_are_kept_apart_and_filtered():
    lines = [r.audit_log(51), r.audit_log(63, arch=r.AARCH64), r.audit_log(11, arch=r.I386),
             r.audit_log(0x40000000 + 520)]
    s = scan(lines)
    selection = s.select(Selector())
    assert selection.syscalls == {"x86_64": {"getsockname"}, "x86": {"execve"}, "x32": {"execve"},
                                  "aarch64": {"read"}}
    assert selection.arches() == ["x86_64", "x86", "x32", "aarch64"]
    only = s.select(Selector(arches=frozenset({"x86_64"})))
    assert only.syscalls == {"x86_64": {"getsockname"}}
    assert sum(only.skipped.values()) == 3


def test_unknown_numbers_and_arches_are_reported():
    s = scan([r.audit_log(51), r.audit_log(9999), r.audit_log(9999), r.audit_log(1, arch="deadbeef")])
    selection = s.select(Selector())
    assert selection.syscalls == {"x86_64": {"getsockname"}}
    assert selection.unknown_numbers == {("x86_64", 9999): 2}
    assert selection.unknown_arches == {"deadbeef": 1}
    assert selection.skipped == {"unknown syscall number": 2, "unknown architecture (arch=deadbeef)": 1}


def test_actions_are_counted_from_code():
    lines = [r.audit_log(51), r.audit_log(0, code="0x50001"), r.audit_log(1, code="0x80000000"),
             r.audit_log(2, code="0x0")]
    s = scan(lines)
    assert s.action_counts() == {"SCMP_ACT_LOG": 1, "SCMP_ACT_ERRNO(1)": 1, "SCMP_ACT_KILL_PROCESS": 1,
                                 "SCMP_ACT_KILL_THREAD": 1}
    # Every record counts, whatever its action: the workload made the call.
    assert s.select(Selector()).syscalls == {"x86_64": {"getsockname", "read", "write", "open"}}


@pytest.mark.parametrize("code, action", [(0x7FFC0000, "SCMP_ACT_LOG"), (0x7FFF0000, "SCMP_ACT_ALLOW"),
                                          (0x00050026, "SCMP_ACT_ERRNO(38)"), (0x00030000, "SCMP_ACT_TRAP"),
                                          (0x7FF00005, "SCMP_ACT_TRACE(5)"), (0x7FC00000, "SCMP_ACT_NOTIFY"),
                                          (0x12340000, "unknown action 0x12340000")])
def test_action_of(code, action):
    assert action_of(code) == action


def test_merged_sources_keep_their_processes_apart():
    s = AuditScan()
    s.feed([r.audit_log(59, comm='"runc:[2:INIT]"'), r.audit_log(51)], "node-1")
    # The same pid on another node is another process: its runc init is not selected by comm.
    s.feed([r.audit_log(0, comm='"runc:[2:INIT]"'), r.audit_log(1, pid=5, comm='"http-echo"')], "node-2")
    selection = s.select(Selector(comm="http-echo"))
    assert selection.syscalls == {"x86_64": {"execve", "getsockname", "write"}}
    assert s.records == {"node-1": 2, "node-2": 2}


def test_thread_names_belong_to_their_process():
    # comm is per thread: a JVM's records carry its threads' names (hex: they hold spaces), under one pid.
    lines = [r.audit_log(n, pid=900, comm=comm, exe='"/usr/bin/java"')
             for n, comm in [(0, '"java"'), (1, "GC Thread#0".encode().hex().upper()), (3, '"java"'),
                             (9, "C2 CompilerThre".encode().hex().upper())]]
    selection = scan(lines).select(Selector(comm="java"))
    [process] = selection.processes
    assert (process.comm, process.exe) == ("java", "/usr/bin/java")
    assert process.other_comms == {"GC Thread#0", "C2 CompilerThre"}
    assert selection.syscalls == {"x86_64": {"read", "write", "close", "mmap"}}
