"""The profile linter: schema, names, duplicates, useless and dangerous rules, the change from Unconfined."""
from __future__ import annotations

import pytest

from kubectl_pss.seccomp import profile as seccomp_profile
from kubectl_pss.seccomp.lint import lint
from kubectl_pss.seccomp.lint_report import describe_action

from tests.seccomp.records import HTTP_ECHO_X86_64

BASE_NAMES = ["execve", "exit_group", "read", "write"]


def prof(names=None, default="SCMP_ACT_ERRNO", arches=("SCMP_ARCH_X86_64",), **extra):
    rules = extra.pop("syscalls", [{"names": list(names if names is not None else BASE_NAMES), "action": "SCMP_ACT_ALLOW"}])
    return {"defaultAction": default, "architectures": arches if isinstance(arches, str) else list(arches),
            "syscalls": rules, **extra}


def codes(report, severity=None):
    return sorted({(f.code, f.path) for f in report.findings if severity is None or f.severity == severity})


def by_code(report, code):
    return [f for f in report.findings if f.code == code]


def test_built_profile_round_trips_clean():
    body = seccomp_profile.build(["x86_64"], HTTP_ECHO_X86_64)
    report = lint(body)
    assert report.valid and report.errors == [] and report.warnings == []
    # RuntimeDefault filters clone and socket by their arguments: noted, not an error.
    names = sorted(HTTP_ECHO_X86_64)
    assert [(f.severity, f.path) for f in report.findings] == [
        ("note", f"syscalls[0].names[{names.index('clone')}]"), ("note", f"syscalls[0].names[{names.index('socket')}]")]
    assert [f.message.split(",")[0] for f in report.findings] == ['allows "clone"', 'allows "socket"']
    [effect] = report.effects
    assert effect.arch.scmp == "SCMP_ARCH_X86_64"
    assert effect.allowed == sorted(HTTP_ECHO_X86_64)
    assert set(effect.changed) == {"SCMP_ACT_ERRNO(1)"}
    assert effect.total == len(effect.allowed) + len(effect.changed["SCMP_ACT_ERRNO(1)"]) > 300


def test_spo_object_is_linted_by_its_spec():
    obj = seccomp_profile.build(["x86_64", "aarch64"], ["execve", "read", "opne"], "spo", "web", "apps")
    report = lint(obj)
    assert report.kind == "spo"
    assert codes(report, "error") == [("unknown-syscall", "spec.syscalls[0].names[1]")]
    assert [e.arch.name for e in report.effects] == ["x86_64", "aarch64"]
    assert codes(lint({"kind": "SeccompProfile"}), "error") == [("schema", "spec")]


@pytest.mark.parametrize("document, expected", [
    ([], [("schema", "")]),
    ({}, [("schema", "defaultAction")]),
    ({"defaultAction": "DENY"}, [("schema", "defaultAction")]),
    (prof(default="SCMP_ACT_ALLOW", defaultErrnoRet=1),
     [("dangerous", "defaultAction"), ("schema", "defaultErrnoRet"), ("useless", "defaultAction")]),
    (prof(defaultErrnoRet=-1), [("schema", "defaultErrnoRet")]),
    (prof(arches=["SCMP_ARCH_X86_64", "SCMP_ARCH_SPARC"]), [("schema", "architectures[1]")]),
    (prof(arches="SCMP_ARCH_X86_64"), [("schema", "architectures")]),
    (prof(flags=["SECCOMP_FILTER_FLAG_NOPE"]), [("schema", "flags[0]")]),
    (prof(listenerPath=3), [("schema", "listenerPath")]),
    (prof(syscalls={"names": ["read"]}), [("schema", "syscalls"), ("useless", "")]),
    (prof(syscalls=["read"]), [("schema", "syscalls[0]"), ("useless", "")]),
    (prof(syscalls=[{"names": ["read", "execve"]}]), [("schema", "syscalls[0].action"), ("useless", "")]),
    (prof(syscalls=[{"names": "read", "action": "SCMP_ACT_ALLOW"}]), [("schema", "syscalls[0].names"), ("useless", "")]),
    (prof(syscalls=[{"names": ["execve", 3, ""], "action": "SCMP_ACT_ALLOW"}]),
     [("schema", "syscalls[0].names[1]"), ("schema", "syscalls[0].names[2]")]),
    (prof(syscalls=[{"action": "SCMP_ACT_ALLOW"}]), [("schema", "syscalls[0]"), ("useless", "")]),
    (prof(syscalls=[{"name": "execve", "names": ["read"], "action": "SCMP_ACT_ALLOW"}]), [("schema", "syscalls[0]")]),
    (prof(syscalls=[{"names": ["execve"], "action": "SCMP_ACT_ALLOW", "errnoRet": 1}]), [("schema", "syscalls[0].errnoRet")]),
    (prof(syscalls=[{"names": ["execve"], "action": "SCMP_ACT_ALLOW"},
                    {"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"},
                                                                             {"index": 0, "value": -1, "op": "EQ"},
                                                                             {"index": 1, "op": "SCMP_CMP_NE"}, 5]}]),
     [("schema", "syscalls[1].args[0].index"), ("schema", "syscalls[1].args[1].op"),
      ("schema", "syscalls[1].args[1].value"), ("schema", "syscalls[1].args[2].value"), ("schema", "syscalls[1].args[3]")]),
    (prof(syscalls=[{"names": ["execve"], "action": "SCMP_ACT_ALLOW", "includes": []}]), [("schema", "syscalls[0].includes")]),
])
def test_schema_errors(document, expected):
    report = lint(document)
    assert not report.valid
    assert codes(report, "error") == sorted(expected)


def test_schema_warnings_do_not_fail():
    document = prof(extra=1, syscalls=[{"names": ["execve", "read"], "action": "SCMP_ACT_ALLOW", "comment": "x", "note": 1},
                                       {"name": "write", "action": "SCMP_ACT_ALLOW"}])
    document["architectures"].append("SCMP_ARCH_X86_64")
    report = lint(document)
    assert report.valid
    assert codes(report, "warning") == [("duplicate", "architectures[1]"), ("schema", "extra"),
                                        ("schema", "syscalls[0].note"), ("schema", "syscalls[1].name")]


def test_arch_map_counts_as_architectures():
    document = prof(arches=[], archMap=[{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]}])
    report = lint(document)
    assert report.valid and report.architectures == ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]
    assert [e.arch.name for e in report.effects] == ["x86_64", "x86", "x32"]


def test_unknown_names():
    report = lint(prof(BASE_NAMES + ["opne", "breakpoint"], arches=["SCMP_ARCH_X86_64", "SCMP_ARCH_AARCH64"]))
    assert codes(report, "error") == [("unknown-syscall", "syscalls[0].names[4]")]
    assert "not a syscall on any architecture" in by_code(report, "unknown-syscall")[0].message
    # breakpoint is an ARM syscall: it does nothing on the architectures listed.
    [warning] = by_code(report, "unknown-on-arch")
    assert warning.path == "syscalls[0].names[5]" and "only on arm" in warning.message
    # A name that exists on one listed architecture is fine (open: x86_64, not aarch64).
    assert lint(prof(BASE_NAMES + ["open"], arches=["SCMP_ARCH_X86_64", "SCMP_ARCH_AARCH64"])).findings == []


def test_duplicates_and_conflicts():
    report = lint(prof(syscalls=[
        {"names": BASE_NAMES + ["read"], "action": "SCMP_ACT_ALLOW"},
        {"names": ["write"], "action": "SCMP_ACT_ALLOW"},
        {"names": ["exit_group"], "action": "SCMP_ACT_KILL"},
        {"names": ["read"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 3, "op": "SCMP_CMP_EQ"}]},
    ]))
    assert codes(report, "warning") == [("duplicate", "syscalls[0].names[4]"), ("duplicate", "syscalls[1].names[0]")]
    [conflict] = by_code(report, "conflict")
    assert conflict.severity == "error" and conflict.path == "syscalls[2].names[0]"
    assert "SCMP_ACT_KILL here but SCMP_ACT_ALLOW at syscalls[0].names[1]" in conflict.message


def test_useless_profiles():
    everything = lint(prof(default="SCMP_ACT_ALLOW"))
    assert [(f.severity, f.code) for f in everything.findings if f.code == "useless"] == [("error", "useless")]
    assert "the same as Unconfined" in by_code(everything, "useless")[0].message
    # A default that allows also allows what RuntimeDefault refuses: listed together.
    dangerous = [f for f in everything.findings if f.code == "dangerous" and f.severity == "error"]
    assert len(dangerous) == 1 and "kexec_load" in dangerous[0].message and "mount" in dangerous[0].message
    nothing = lint(prof(syscalls=[]))
    assert codes(nothing, "error") == [("useless", "")]
    recording = lint(prof(default="SCMP_ACT_LOG", syscalls=[{"names": ["kexec_load"], "action": "SCMP_ACT_ERRNO"}]))
    assert ("useless", "defaultAction") in codes(recording, "warning")


def test_denylist_profile_is_not_useless():
    report = lint(prof(default="SCMP_ACT_ALLOW", syscalls=[{"names": ["ptrace"], "action": "SCMP_ACT_ERRNO"}]))
    assert "useless" not in {f.code for f in report.findings}
    assert by_code(report, "dangerous")  # still allows mount, bpf, ...


@pytest.mark.parametrize("name", ["mount", "kexec_load", "bpf", "unshare", "setns", "init_module", "keyctl",
                                  "add_key", "userfaultfd", "pivot_root", "umount2", "open_by_handle_at"])
def test_dangerous_syscalls_are_errors(name):
    report = lint(prof(BASE_NAMES + [name]))
    [finding] = by_code(report, "dangerous")
    assert finding.severity == "error" and finding.path == "syscalls[0].names[4]"
    assert f'allows "{name}"' in finding.message
    assert "containerd v" in finding.message and "moby v" in finding.message  # the source is named
    assert not report.valid


def test_dangerous_message_names_the_capability():
    [finding] = by_code(lint(prof(BASE_NAMES + ["mount"])), "dangerous")
    assert "refuses unless the container has CAP_SYS_ADMIN" in finding.message
    [finding] = by_code(lint(prof(BASE_NAMES + ["kexec_load"])), "dangerous")
    assert "always refuses" in finding.message


def test_runtime_default_nuances():
    # clone3: RuntimeDefault answers ENOSYS (libc falls back to clone): a warning.
    [clone3] = lint(prof(BASE_NAMES + ["clone3"])).findings
    assert clone3.severity == "warning" and "ENOSYS" in clone3.message
    # io_uring: containerd 1.7 allows it, moby 26 does not: a warning naming both.
    [uring] = lint(prof(BASE_NAMES + ["io_uring_setup"])).findings
    assert uring.severity == "warning" and "differs by runtime" in uring.message
    # ptrace: RuntimeDefault allows it on kernels >= 4.8: a note, not an error.
    [ptrace] = lint(prof(BASE_NAMES + ["ptrace"])).findings
    assert ptrace.severity == "note" and "kernels >= 4.8" in ptrace.message
    # chroot needs CAP_SYS_CHROOT, which containers have by default.
    assert lint(prof(BASE_NAMES + ["chroot"])).findings == []


def test_conditional_rules_are_not_dangerous():
    report = lint(prof(syscalls=[
        {"names": BASE_NAMES, "action": "SCMP_ACT_ALLOW"},
        {"names": ["mount"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
        {"names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_EQ"}]},
    ]))
    assert report.findings == []
    [effect] = report.effects
    assert effect.conditional == ["mount", "personality"]


def test_missing_execve_is_a_warning():
    report = lint(prof(["read", "write", "exit_group"]))
    assert report.valid and codes(report) == [("no-execve", "")]


def test_effects_compared_with_unconfined():
    report = lint(prof(syscalls=[
        {"names": BASE_NAMES, "action": "SCMP_ACT_ALLOW"},
        {"names": ["getpid"], "action": "SCMP_ACT_LOG"},
        {"names": ["kill"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38},
        {"names": ["tkill"], "action": "SCMP_ACT_KILL_PROCESS"},
    ], defaultErrnoRet=13))
    [effect] = report.effects
    assert effect.allowed == sorted(BASE_NAMES) and effect.logged == ["getpid"]
    assert effect.changed["SCMP_ACT_ERRNO(38)"] == ["kill"] and effect.changed["SCMP_ACT_KILL_PROCESS"] == ["tkill"]
    assert "kill" not in effect.changed["SCMP_ACT_ERRNO(13)"] and "getuid" in effect.changed["SCMP_ACT_ERRNO(13)"]
    assert describe_action("SCMP_ACT_ERRNO(13)") == "fail with EACCES"
    assert describe_action("SCMP_ACT_ERRNO(99)") == "fail with errno 99"
    assert describe_action("SCMP_ACT_KILL_PROCESS") == "kill the process"
    no_arches = lint(prof(arches=[]))
    assert [e.arch.name for e in no_arches.effects] == ["x86_64", "aarch64"]
    assert "no architectures listed" in no_arches.effects_note


def test_report_as_dict_contract():
    data = lint(prof(BASE_NAMES + ["mount"])).as_dict()
    assert set(data) == {"format", "valid", "summary", "findings", "architectures", "unconfinedComparison", "sources"}
    assert data["valid"] is False and data["summary"]["errors"] == 1 and data["format"] == "kubelet"
    assert data["findings"][0] == {"severity": "error", "code": "dangerous", "path": "syscalls[0].names[4]",
                                   "message": data["findings"][0]["message"]}
    [arch] = data["unconfinedComparison"]["architectures"]
    assert arch["architecture"] == "SCMP_ARCH_X86_64" and arch["allowed"] == sorted(BASE_NAMES + ["mount"])
    assert data["sources"]["syscallTables"].startswith("libseccomp ")
    assert len(data["sources"]["runtimeDefault"]) == 2


def test_moby_style_profile_is_valid():
    """The shapes of moby's default.json: archMap repeating architectures (one entry per native one,
    subArchitectures null), includes/excludes on caps, arches and minKernel, MASKED_EQ with valueTwo left out."""
    document = {
        "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
        "archMap": [
            {"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]},
            {"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": ["SCMP_ARCH_ARM"]},
            {"architecture": "SCMP_ARCH_MIPS64", "subArchitectures": ["SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64N32"]},
            {"architecture": "SCMP_ARCH_MIPS64N32", "subArchitectures": ["SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64"]},
            {"architecture": "SCMP_ARCH_RISCV64", "subArchitectures": None},
        ],
        "syscalls": [
            {"names": ["execve", "read", "write", "exit_group"], "action": "SCMP_ACT_ALLOW"},
            {"names": ["ptrace"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "4.8"}},
            {"names": ["sync_file_range2", "swapcontext"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["ppc64le"]}},
            {"names": ["sync_file_range2", "breakpoint"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["arm", "arm64"]}},
            {"names": ["mount", "clone"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
            {"names": ["clone"], "action": "SCMP_ACT_ALLOW", "excludes": {"caps": ["CAP_SYS_ADMIN"], "arches": ["s390x"]},
             "args": [{"index": 0, "value": 2114060288, "op": "SCMP_CMP_MASKED_EQ"}]},
            {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38, "excludes": {"caps": ["CAP_SYS_ADMIN"]}},
        ],
    }
    report = lint(document)
    assert report.valid and report.warnings == []
    assert [(f.severity, f.path) for f in report.findings] == [("note", "syscalls[1].names[0]")]  # ptrace
    assert report.architectures[:3] == ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]
