"""The action of a seccomp audit record's ``code=``: SECCOMP_RET_ACTION_FULL is the top 16 bits
(KILL_PROCESS is 0x80000000, KILL_THREAD 0x00000000), SECCOMP_RET_DATA the low 16 bits, so an errno
or trace value can be above 255 (include/uapi/linux/seccomp.h)."""
from __future__ import annotations

import pytest

from kubectl_pss.seccomp.audit import AuditScan, action_of
from tests.seccomp import records as r


@pytest.mark.parametrize("code, action", [
    (0x80000000, "SCMP_ACT_KILL_PROCESS"),
    (0x00000000, "SCMP_ACT_KILL_THREAD"),
    (0x00050100, "SCMP_ACT_ERRNO(256)"),
    (0x0005FFFF, "SCMP_ACT_ERRNO(65535)"),
    (0x7FF00400, "SCMP_ACT_TRACE(1024)"),
])
def test_action_of_full_action_and_sixteen_bits_of_data(code, action):
    assert action_of(code) == action


def reordered(syscall: int, code: str) -> str:
    """A record whose fields are not in the kernel's order (read by the slow path)."""
    return (f"type=SECCOMP msg=audit(1700000000.123:9): code={code} arch={r.X86_64} syscall={syscall} "
            f'pid=4242 comm="worker" exe="/worker" sig=0')


def test_counts_from_both_readers():
    scan = AuditScan()
    scan.feed([r.audit_log(0, code="0x80000000"), r.audit_log(1, code="0x0"), r.audit_log(2, code="0x50200"),
               reordered(3, "0x80000000"), reordered(4, "0x0"), reordered(5, "0x7ff00101")], "log")
    assert scan.action_counts() == {"SCMP_ACT_KILL_PROCESS": 2, "SCMP_ACT_KILL_THREAD": 2,
                                    "SCMP_ACT_ERRNO(512)": 1, "SCMP_ACT_TRACE(257)": 1}


def test_profile_summary_names_the_actions(tmp_path, run_cli):
    log = tmp_path / "audit.log"
    log.write_text("\n".join([r.audit_log(0, code="0x80000000"), r.audit_log(1, code="0x0"),
                              r.audit_log(1, code="0x0"), r.audit_log(2, code="0x50100")]) + "\n")
    code, _, err = run_cli("seccomp", "profile", "--from-audit", log)
    assert code == 0, err
    [line] = [x for x in err.splitlines() if x.startswith("actions: ")]
    assert line == "actions: SCMP_ACT_KILL_THREAD 2, SCMP_ACT_KILL_PROCESS 1, SCMP_ACT_ERRNO(256) 1"
