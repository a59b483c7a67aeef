"""``kubectl pss seccomp profile|lint`` through the real CLI entry: outputs, summary, exit codes, bad input."""
from __future__ import annotations

import gzip
import io
import json
import sys

import pytest
import yaml


from tests.seccomp import records as r

TUTORIAL = sorted(r.HTTP_ECHO_X86_64)


def http_echo_log(fmt=r.syslog, pid=29064) -> str:
    """A run of the tutorial's http-echo under a logging profile: runc's init execs it, then it serves."""
    lines = [r.OTHER_LINES[0], fmt(59, pid=pid, comm='"runc:[2:INIT]"', exe='"/usr/bin/runc"')]
    lines += [fmt(n, pid=pid) for n in r.HTTP_ECHO_X86_64.values() if n != 59]
    lines += [fmt(0, pid=777, comm='"kubelet"', exe='"/usr/bin/kubelet"')] + r.OTHER_LINES[1:3]
    return "\n".join(lines) + "\n"


@pytest.fixture
def audit_file(tmp_path):
    path = tmp_path / "syslog"
    path.write_text(http_echo_log())
    return path


def test_profile_json_and_summary(audit_file, run_cli):
    code, out, err = run_cli("seccomp", "profile", "--from-audit", str(audit_file), "--comm", "http-echo")
    assert code == 0
    assert json.loads(out) == {"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"],
                               "syscalls": [{"names": TUTORIAL, "action": "SCMP_ACT_ALLOW"}]}
    lines = err.splitlines()
    assert lines[0] == f"read 54 lines from {audit_file}: 51 seccomp records (type=1326)"
    assert lines[1] == "actions: SCMP_ACT_LOG 51"
    assert lines[2] == (f"process http-echo (/http-echo), pid 29064 (also seen as runc:[2:INIT]): "
                        f"{len(TUTORIAL)} syscalls on x86_64 (50 records)")
    assert lines[3] == 'skipped 1 record: 1 not selected by --comm "http-echo" (1 process)'
    assert lines[4].startswith(f"profile: {len(TUTORIAL)} syscalls allowed on SCMP_ARCH_X86_64")
    assert "Traceback" not in err


def test_profile_round_trip_lint_accepts(audit_file, tmp_path, run_cli):
    code, out, _ = run_cli("seccomp", "profile", "--from-audit", str(audit_file), "--comm", "http-echo")
    assert code == 0
    profile = tmp_path / "http-echo.json"
    profile.write_text(out)
    code, out, err = run_cli("seccomp", "lint", str(profile), "-o", "json")
    assert code == 0 and err == ""
    data = json.loads(out)
    assert data["profile"] == str(profile) and data["valid"] is True
    assert data["errors"] == [] and data["summary"] == {"errors": 0, "warnings": 0}
    assert {f["severity"] for f in data["findings"]} == {"note"}  # clone, socket: argument filters in RuntimeDefault
    code, out, _ = run_cli("seccomp", "lint", str(profile))
    assert code == 0
    assert out.startswith(f"{profile}: profile valid: 0 errors, 0 warnings, 2 notes\n")
    assert f"SCMP_ARCH_X86_64: {len(TUTORIAL)} of " in out and "syscalls still allowed" in out


def test_profile_spo_yaml(audit_file, run_cli):
    code, out, _ = run_cli("seccomp", "profile", "--from-audit", str(audit_file), "--exe", "/http-echo",
                           "--format", "spo", "-o", "yaml", "-n", "demo")
    assert code == 0
    obj = yaml.safe_load(out)
    assert obj["apiVersion"] == "security-profiles-operator.x-k8s.io/v1beta1" and obj["kind"] == "SeccompProfile"
    assert obj["metadata"] == {"name": "http-echo", "namespace": "demo"}
    assert obj["spec"] == {"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"],
                           "syscalls": [{"action": "SCMP_ACT_ALLOW", "names": TUTORIAL}]}


def test_spo_round_trip_yaml_lint(audit_file, tmp_path, run_cli):
    _, out, _ = run_cli("seccomp", "profile", "--from-audit", str(audit_file), "--pid", "29064",
                        "--format", "spo", "-o", "yaml", "--name", "echo")
    path = tmp_path / "echo.yaml"
    path.write_text(out)
    code, out, _ = run_cli("seccomp", "lint", str(path), "-o", "yaml")
    assert code == 0
    data = yaml.safe_load(out)
    assert data["format"] == "spo" and data["valid"] is True


def test_profile_without_selector_covers_all_processes(audit_file, run_cli):
    code, out, err = run_cli("seccomp", "profile", "--from-audit", str(audit_file))
    assert code == 0
    assert json.loads(out)["syscalls"][0]["names"] == TUTORIAL  # kubelet's read is in it already
    assert "note: the profile covers 2 processes; choose one with --comm, --exe or --pid" in err


@pytest.mark.parametrize("fmt", [r.audit_log, r.dmesg, r.journal_short, r.journal_json])
def test_profile_from_each_format(fmt, tmp_path, run_cli):
    path = tmp_path / "log"
    path.write_text(http_echo_log(fmt))
    code, out, _ = run_cli("seccomp", "profile", "--from-audit", str(path), "--comm", "http-echo")
    assert code == 0 and json.loads(out)["syscalls"][0]["names"] == TUTORIAL


def test_profile_from_stdin_and_gzip(tmp_path, run_cli, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(http_echo_log().encode())))
    code, out, err = run_cli("seccomp", "profile", "--from-audit", "-", "--comm", "http-echo")
    assert code == 0 and json.loads(out)["syscalls"][0]["names"] == TUTORIAL
    assert err.startswith("read 54 lines from stdin:")
    path = tmp_path / "syslog.1.gz"
    path.write_bytes(gzip.compress(http_echo_log().encode()))
    code, out, _ = run_cli("seccomp", "profile", "--from-audit", str(path), "--comm", "http-echo")
    assert code == 0 and json.loads(out)["syscalls"][0]["names"] == TUTORIAL


def test_merge_unions_replicas_and_architectures(tmp_path, run_cli):
    a, b = tmp_path / "node-a.log", tmp_path / "node-b.log"
    a.write_text("\n".join([r.audit_log(59), r.audit_log(0), r.audit_log(1)]))
    b.write_text("\n".join([r.journal_short(221, arch=r.AARCH64), r.journal_short(63, arch=r.AARCH64),
                            r.journal_short(3, pid=5)]))
    code, out, err = run_cli("seccomp", "profile", "--from-audit", str(a), "--from-audit", str(b), "--merge",
                             "--comm", "http-echo")
    assert code == 0
    profile = json.loads(out)
    assert profile["architectures"] == ["SCMP_ARCH_X86_64", "SCMP_ARCH_AARCH64"]
    assert profile["syscalls"][0]["names"] == ["close", "execve", "read", "write"]
    assert f"read 3 lines from {a}" in err and f"read 3 lines from {b}" in err


def test_arch_flag_chooses_the_architectures(tmp_path, run_cli):
    path = tmp_path / "log"
    path.write_text("\n".join([r.audit_log(59), r.audit_log(11, arch=r.I386)]))
    code, out, err = run_cli("seccomp", "profile", "--from-audit", str(path), "--arch", "amd64,x32",
                             "--arch", "SCMP_ARCH_X86")
    assert code == 0
    assert json.loads(out)["architectures"] == ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]
    code, out, err = run_cli("seccomp", "profile", "--from-audit", str(path), "--arch", "x86_64")
    assert code == 0 and json.loads(out)["architectures"] == ["SCMP_ARCH_X86_64"]
    assert "1 architecture x86 not chosen by --arch" in err


def test_unknown_numbers_are_reported_and_exit_1(tmp_path, run_cli):
    path = tmp_path / "log"
    path.write_text("\n".join([r.audit_log(59), r.audit_log(4095), r.audit_log(1, arch="deadbeef")]))
    code, out, err = run_cli("seccomp", "profile", "--from-audit", str(path))
    assert code == 1
    assert json.loads(out)["syscalls"][0]["names"] == ["execve"]
    assert "warning: unknown syscall number 4095 on x86_64 (1 record)" in err
    assert "warning: unknown audit architecture arch=deadbeef (1 record)" in err


def test_no_records_is_exit_1_without_output(tmp_path, run_cli):
    path = tmp_path / "log"
    path.write_text("\n".join(r.OTHER_LINES))
    code, out, err = run_cli("seccomp", "profile", "--from-audit", str(path))
    assert code == 1 and out == ""
    assert err.splitlines()[-1] == f"error: no usable seccomp records (type=1326) in {path}: no profile written"
    code, out, err = run_cli("seccomp", "profile", "--from-audit", str(path), "--comm", "x")
    assert code == 1 and out == "" and 'for --comm "x"' in err


def test_partial_and_binary_input_is_tolerated(tmp_path, run_cli):
    path = tmp_path / "log"
    full = r.audit_log(51)
    path.write_bytes(b"\xff\xfe\x00garbage\n" + (full[:120] + "\n" + r.audit_log(59) + "\n" + full[:150]).encode())
    code, out, err = run_cli("seccomp", "profile", "--from-audit", str(path))
    assert code == 0 and json.loads(out)["syscalls"][0]["names"] == ["execve"]
    assert "skipped 2 records: 2 incomplete record (cut short, or no arch=, syscall= or code=)" in err


@pytest.mark.parametrize("argv, message", [
    ([], "must specify a command: profile, lint or install (see kubectl pss seccomp --help)"),
    (["nope"], "argument COMMAND: invalid choice: 'nope' (choose from 'profile', 'lint', 'install')"),
    (["install"], "the following arguments are required: --path"),
    (["profile"], "must specify --from-audit FILE (a log with seccomp audit records, or - for stdin)"),
    (["profile", "--from-audit", "a", "--from-audit", "b"], "2 --from-audit inputs: add --merge to union them into one profile"),
    (["profile", "--from-audit", "-", "--from-audit", "-", "--merge"], "stdin (-) can only be read once"),
    (["profile", "--from-audit", "a", "-o", "table"],
     'unable to match a printer suitable for the output format "table", allowed formats are: json, yaml'),
    (["profile", "--from-audit", "a", "--format", "oci"], 'invalid --format "oci": use kubelet or spo'),
    (["profile", "--from-audit", "a", "--name", "x"], "--name and --namespace only apply to --format spo"),
    (["profile", "--from-audit", "a", "--format", "spo", "--name", "Bad_Name"],
     'invalid --name "Bad_Name": must be a lowercase RFC 1123 name (a-z, 0-9, "-", ".")'),
    (["profile", "--from-audit", "a", "--arch", "sparc"], 'unknown --arch "sparc": use one of x86_64, x86, x32'),
    (["profile", "--from-audit", "a", "--pid", "x"], "argument --pid: invalid int value: 'x'"),
    (["profile", "--from-audit", "a", "--pid", "0"], "invalid --pid 0: must be a positive process id"),
    (["profile", "--from-audit", "a", "--comm", "x", "--pid", "1"], "argument --pid: not allowed with argument --comm"),
    (["lint"], "the following arguments are required: PROFILE"),
    (["lint", "p.json", "-o", "xml"], 'unable to match a printer suitable for the output format "xml"'),
])
def test_usage_errors(run_cli, argv, message):
    code, out, err = run_cli("seccomp", *argv)
    assert code == 2 and out == ""
    assert err.startswith(f"error: {message}") and err.count("\n") == 1


def test_unreadable_inputs(tmp_path, run_cli):
    code, out, err = run_cli("seccomp", "profile", "--from-audit", str(tmp_path / "missing"))
    assert (code, out) == (2, "") and err == f'error: cannot read "{tmp_path / "missing"}": No such file or directory\n'
    code, out, err = run_cli("seccomp", "profile", "--from-audit", str(tmp_path))
    assert (code, out) == (2, "") and err == f'error: cannot read "{tmp_path}": Is a directory\n'
    broken = tmp_path / "cut.gz"
    broken.write_bytes(gzip.compress(http_echo_log().encode())[:100])
    code, out, err = run_cli("seccomp", "profile", "--from-audit", str(broken))
    assert (code, out) == (2, "") and err.startswith(f'error: cannot read "{broken}": ') and err.count("\n") == 1


def test_lint_exit_codes(tmp_path, run_cli):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"],
                               "syscalls": [{"names": ["execve", "mount", "opne"], "action": "SCMP_ACT_ALLOW"}]}))
    code, out, err = run_cli("seccomp", "lint", str(bad), "--no-color")
    assert code == 1 and err == ""
    assert out.startswith(f"{bad}: profile invalid: 2 errors, 0 warnings, 0 notes\n")
    assert 'allows "mount", which RuntimeDefault refuses unless the container has CAP_SYS_ADMIN' in out
    assert '"opne" is not a syscall on any architecture' in out
    assert "RuntimeDefault as judged by: containerd v" in out

    for content, message in [("{not json", "not JSON (the runtime reads a profile as JSON)"),
                             ("defaultAction: SCMP_ACT_ERRNO\n", "not JSON (the runtime reads a profile as JSON)")]:
        path = tmp_path / "p.txt"
        path.write_text(content)
        code, out, err = run_cli("seccomp", "lint", str(path))
        assert (code, out) == (2, "") and err.startswith(f"error: {path}: {message}") and err.count("\n") == 1
    code, out, err = run_cli("seccomp", "lint", str(tmp_path / "none.json"))
    assert (code, out) == (2, "") and "No such file or directory" in err

    wrong_shape = tmp_path / "list.json"
    wrong_shape.write_text("[1, 2]")
    code, out, _ = run_cli("seccomp", "lint", str(wrong_shape), "-o", "json")
    assert code == 1 and json.loads(out)["findings"][0]["message"] == "a profile is a JSON object, not a list"


def test_lint_stdin(run_cli, monkeypatch):
    profile = {"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["execve", "read"], "action": "SCMP_ACT_ALLOW"}]}
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(json.dumps(profile).encode())))
    code, out, _ = run_cli("seccomp", "lint", "-", "-o", "json")
    assert code == 0
    data = json.loads(out)
    assert data["profile"] == "stdin" and "no architectures listed" in data["unconfinedComparison"]["note"]


def test_help(run_cli):
    code, out, _ = run_cli("seccomp", "--help")
    assert code == 0 and "profile" in out and "lint" in out
    code, out, _ = run_cli("seccomp", "profile", "--help")
    assert code == 0 and "--from-audit" in out and "--merge" in out
    code, out, _ = run_cli("--help")
    assert "seccomp" in out


def test_record_cut_short_after_syscall_is_kept(tmp_path, run_cli):
    """Issue 17: arch= and a whole syscall= say which call was made, whatever its action: in the profile."""
    path = tmp_path / "log"
    cut = r.audit_log(59)
    kept = cut[:cut.index(" ip=")]  # ... arch=c000003e syscall=59 compat=0
    torn = r.audit_log(257)
    torn = torn[:torn.index("syscall=") + len("syscall=2")]  # the number itself cut: 2 of 257, not kept
    path.write_text("\n".join([r.audit_log(51), kept, torn]) + "\n")
    code, out, err = run_cli("seccomp", "profile", "--from-audit", str(path))
    assert code == 0, err
    names = {n for rule in json.loads(out)["syscalls"] for n in rule["names"]}
    assert {"execve", "getsockname"} <= names and "open" not in names and "openat" not in names
    assert "1 record incomplete, kept: cut short after syscall=" in err
    assert "skipped 1 record: 1 incomplete record" in err
