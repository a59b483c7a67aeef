"""The seccomp format read back: profile files and runtime-spec filters, and how two differ (pure)."""
from __future__ import annotations

import json

import pytest

from kubectl_pss.seccomp.filter import (
    NotJSON,
    compare_filters,
    filter_from_profile,
    filter_from_spec,
    parse_profile_json,
    profile_problem,
)

RUNTIME_DEFAULT_SPEC = {
    "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
    "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
    "syscalls": [{"names": ["accept", "read", "write", "exit_group", "openat"], "action": "SCMP_ACT_ALLOW"},
                 {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
                  "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_EQ"}]},
                 {"names": ["clone"], "action": "SCMP_ACT_ALLOW",
                  "args": [{"index": 0, "value": 2114060288, "op": "SCMP_CMP_MASKED_EQ"}]}],
}
LOCAL_PROFILE = {"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"],
                 "syscalls": [{"names": ["read", "write", "exit_group"], "action": "SCMP_ACT_ALLOW"}]}


def test_filter_from_spec_counts_allowed_names():
    f = filter_from_spec(RUNTIME_DEFAULT_SPEC)
    assert f.default_action == "SCMP_ACT_ERRNO" and len(f.allowed) == 7
    assert f.architectures == ("SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32")
    assert f.as_dict() == {"defaultAction": "SCMP_ACT_ERRNO", "architectures": list(f.architectures),
                           "allowedSyscalls": 7}
    assert filter_from_spec(None) is None


def test_profile_file_formats():
    old = filter_from_profile(json.dumps({"defaultAction": "SCMP_ACT_ERRNO",
                                          "syscalls": [{"name": "read", "action": "SCMP_ACT_ALLOW"}]}))
    assert old.allowed == {"read"}
    archmap = filter_from_profile(json.dumps({"defaultAction": "SCMP_ACT_ERRNO", "archMap": [
        {"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86"]}], "syscalls": [
        {"names": ["bpf"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}}]}))
    assert archmap.architectures == ("SCMP_ARCH_X86_64", "SCMP_ARCH_X86") and archmap.conditional
    for bad in ("{", "[]", '{"syscalls": []}'):
        with pytest.raises(ValueError):
            filter_from_profile(bad)


def test_compare_filters():
    running = filter_from_spec(LOCAL_PROFILE)
    assert compare_filters(running, filter_from_profile(json.dumps(LOCAL_PROFILE))) == []
    changed = dict(LOCAL_PROFILE, defaultAction="SCMP_ACT_LOG",
                   syscalls=[{"names": ["read", "ptrace"], "action": "SCMP_ACT_ALLOW"}])
    diffs = compare_filters(running, filter_from_profile(json.dumps(changed)))
    assert diffs == ["defaultAction SCMP_ACT_ERRNO instead of SCMP_ACT_LOG",
                     "2 syscalls allowed that the file does not allow: exit_group, write",
                     "1 syscalls of the file not allowed: ptrace"]


def test_parse_profile_json():
    assert parse_profile_json(b'{"defaultAction": "SCMP_ACT_ERRNO"}') == {"defaultAction": "SCMP_ACT_ERRNO"}
    with pytest.raises(NotJSON, match=r"^not JSON \(the runtime reads a profile as JSON\): "):
        parse_profile_json("defaultAction: SCMP_ACT_ERRNO")
    with pytest.raises(ValueError, match="nested too deeply") as info:
        parse_profile_json("[" * 100000 + "]" * 100000)
    assert not isinstance(info.value, NotJSON)


@pytest.mark.parametrize("data, problem", [
    ({"defaultAction": "SCMP_ACT_ERRNO"}, None), ([], "not a JSON object"), ({"syscalls": []}, "no defaultAction"),
    ({"defaultAction": ""}, "no defaultAction"), ({"defaultAction": 1}, "no defaultAction"),
])
def test_profile_problem(data, problem):
    assert profile_problem(data) == problem
