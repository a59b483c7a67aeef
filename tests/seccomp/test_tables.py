"""The shipped syscall tables and RuntimeDefault data: coverage, well-known numbers, lookups."""
from __future__ import annotations

import pytest

from kubectl_pss.seccomp import tables
from kubectl_pss.seccomp.tables import X32_SYSCALL_BIT, arch_for_audit, parse_arch

from tests.seccomp.records import HTTP_ECHO_X86_64


def test_the_architectures_asked_for_are_covered():
    names = set(tables.arches())
    assert {"x86_64", "x86", "x32", "aarch64", "arm", "ppc64le", "s390x", "riscv64"} <= names
    assert tables.arches()["x86_64"].scmp == "SCMP_ARCH_X86_64"
    assert tables.arches()["x86_64"].audit == 0xC000003E
    assert tables.arches()["aarch64"].audit == 0xC00000B7
    assert tables.arches()["x86"].audit == 0x40000003
    # Tables are complete, not a sample.
    assert all(len(arch.by_number) > 300 for arch in tables.arches().values())


def test_source_and_version_are_recorded():
    assert tables.table_source().startswith("libseccomp ")
    assert tables.libseccomp_version().count(".") == 2


@pytest.mark.parametrize("audit, number, arch, name", [
    (0xC000003E, 0, "x86_64", "read"),
    (0xC000003E, 51, "x86_64", "getsockname"),
    (0xC000003E, 59, "x86_64", "execve"),
    (0xC000003E, 435, "x86_64", "clone3"),
    (0xC000003E, X32_SYSCALL_BIT + 520, "x32", "execve"),   # x32 has its own execve
    (0xC000003E, X32_SYSCALL_BIT + 0, "x32", "read"),
    (0xC00000B7, 63, "aarch64", "read"),
    (0xC00000B7, 221, "aarch64", "execve"),
    (0x40000003, 11, "x86", "execve"),
    (0x40000003, 102, "x86", "socketcall"),
    (0x40000028, 11, "arm", "execve"),
    (0x40000028, 0x0F0005, "arm", "set_tls"),               # ARM private syscall
    (0xC0000015, 11, "ppc64le", "execve"),
    (0x80000016, 11, "s390x", "execve"),
    (0xC00000F3, 221, "riscv64", "execve"),
    (0x00000008, 4011, "mips", "execve"),                   # o32 numbers start at 4000
])
def test_well_known_numbers(audit, number, arch, name):
    found = arch_for_audit(audit, number)
    assert found is not None and found.name == arch
    assert found.resolve(number) == name


def test_unknown_numbers_and_arches_are_not_guessed():
    assert arch_for_audit(0xC000003E, 0).resolve(9999) is None
    assert arch_for_audit(0xC000003E, 0).resolve(X32_SYSCALL_BIT + 1) is None  # x86_64 has no x32 numbers
    assert arch_for_audit(0xDEADBEEF, 1) is None
    # x32 and MIPS numbers without their offset are not real syscall numbers.
    assert tables.arches()["x32"].resolve(59) is None
    assert tables.arches()["mips"].resolve(11) is None


def test_http_echo_numbers_match_the_table():
    x86_64 = tables.arches()["x86_64"]
    assert {name: number for name, number in HTTP_ECHO_X86_64.items()
            if x86_64.resolve(number) != name} == {}


@pytest.mark.parametrize("text, name", [
    ("x86_64", "x86_64"), ("amd64", "x86_64"), ("SCMP_ARCH_X86_64", "x86_64"), ("scmp_arch_x86_64", "x86_64"),
    ("c000003e", "x86_64"), ("0xc00000b7", "aarch64"), ("arm64", "aarch64"), ("i386", "x86"), ("386", "x86"),
    ("x32", "x32"), ("ppc64el", "ppc64le"), ("riscv64", "riscv64"),
])
def test_parse_arch(text, name):
    assert parse_arch(text).name == name


@pytest.mark.parametrize("text", ["", "sparc", "SCMP_ARCH_SPARC", "deadbeef", "zzzzzzzz"])
def test_parse_arch_unknown(text):
    assert parse_arch(text) is None


def test_runtime_default_data():
    defaults = tables.runtime_default()
    runtimes = {p.runtime: p for p in defaults.profiles}
    assert set(runtimes) == {"containerd", "moby"}
    for profile in runtimes.values():
        assert "seccomp" in profile.source
        assert profile.allow["read"] == [{}]
        assert "kexec_load" not in profile.allow
        assert profile.allow["mount"] == [{"caps": ["CAP_SYS_ADMIN"]}]
        assert {"minKernel": "4.8"} in profile.allow["ptrace"]
        assert all(c.get("args") for c in profile.allow["socket"])
        assert "clone3" in profile.enosys
        # Every name in the runtimes' profiles is a syscall the tables know.
        assert set(profile.allow) <= tables.all_names()
    assert "CAP_SYS_CHROOT" in defaults.default_capabilities and "CAP_SYS_ADMIN" not in defaults.default_capabilities
