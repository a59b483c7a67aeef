"""Seccomp audit lines as the kernel, auditd, syslog, dmesg and journald write them (test data).

Shaped on the Kubernetes seccomp tutorial's record:
audit: type=1326 audit(1571936386.376:4): auid=4294967295 uid=0 gid=0 ses=4294967295 pid=29064
comm="http-echo" exe="/http-echo" sig=0 arch=c000003e syscall=51 compat=0 ip=0x46fe1f code=0x7ffc0000
"""
from __future__ import annotations

import json

X86_64 = "c000003e"
AARCH64 = "c00000b7"
I386 = "40000003"
LOG = "0x7ffc0000"

# The syscalls of the tutorial's http-echo fine-grained profile, by x86_64 number.
HTTP_ECHO_X86_64 = {
    "read": 0, "write": 1, "open": 2, "close": 3, "poll": 7, "mmap": 9, "mprotect": 10, "munmap": 11, "brk": 12,
    "rt_sigaction": 13, "rt_sigprocmask": 14, "rt_sigreturn": 15, "ioctl": 16, "writev": 20, "sched_yield": 24,
    "madvise": 28, "dup2": 33, "nanosleep": 35, "setitimer": 38, "getpid": 39, "socket": 41, "connect": 42,
    "sendto": 44, "recvfrom": 45, "bind": 49, "listen": 50, "getsockname": 51, "setsockopt": 54, "clone": 56,
    "vfork": 58, "execve": 59, "exit": 60, "fcntl": 72, "getuid": 102, "sigaltstack": 131, "arch_prctl": 158,
    "gettid": 186, "futex": 202, "sched_getaffinity": 204, "set_tid_address": 218, "clock_gettime": 228,
    "exit_group": 231, "epoll_wait": 232, "epoll_ctl": 233, "openat": 257, "readlinkat": 267, "pselect6": 270,
    "epoll_pwait": 281, "accept4": 288, "epoll_create1": 291,
}


def body(syscall: int, pid: int = 29064, comm: str = '"http-echo"', exe: str = '"/http-echo"',
         arch: str = X86_64, code: str = LOG, subj: str = "") -> str:
    """The record's fields, from auid= on."""
    subj_field = f" subj={subj}" if subj else ""
    return (f"auid=4294967295 uid=0 gid=0 ses=4294967295{subj_field} pid={pid} comm={comm} exe={exe} "
            f"sig=0 arch={arch} syscall={syscall} compat=0 ip=0x46fe1f code={code}")


def audit_log(syscall: int, serial: int = 456, **kw) -> str:
    """/var/log/audit/audit.log"""
    return f"type=SECCOMP msg=audit(1700000000.123:{serial}): {body(syscall, **kw)}"


def syslog(syscall: int, serial: int = 456, **kw) -> str:
    """/var/log/syslog, /var/log/kern.log, journalctl -o short (kernel printk when auditd is not running)"""
    return f"Nov 14 22:13:20 node-1 kernel: [12345.678901] audit: type=1326 audit(1700000000.123:{serial}): {body(syscall, **kw)}"


def dmesg(syscall: int, serial: int = 456, **kw) -> str:
    return f"[12345.678901] audit: type=1326 audit(1700000000.123:{serial}): {body(syscall, **kw)}"


def dmesg_human(syscall: int, serial: int = 456, **kw) -> str:
    """dmesg -T"""
    return f"[Tue Nov 14 22:13:20 2023] audit: type=1326 audit(1700000000.123:{serial}): {body(syscall, **kw)}"


def journal_short(syscall: int, pid: int = 29064, **kw) -> str:
    """journalctl -o short of a record journald read from the audit socket"""
    return f"Nov 14 22:13:20 node-1 audit[{pid}]: SECCOMP {body(syscall, pid=pid, **kw)}"


def journal_json(syscall: int, serial: int = 456, as_bytes: bool = False, **kw) -> str:
    """journalctl -o json: one object a line; MESSAGE a string, or an array of bytes"""
    message = f"audit: type=1326 audit(1700000000.123:{serial}): {body(syscall, **kw)}"
    entry = {"__CURSOR": "s=6b1f;i=1326", "__REALTIME_TIMESTAMP": "1700000000123000", "_TRANSPORT": "kernel",
             "PRIORITY": "5", "SYSLOG_IDENTIFIER": "kernel", "_HOSTNAME": "node-1",
             "MESSAGE": list(message.encode()) if as_bytes else message}
    return json.dumps(entry)


def audit_log_enriched(syscall: int, serial: int = 456, **kw) -> str:
    """auditd with log_format = ENRICHED: interpreted fields after a group separator (0x1d)"""
    return (f"{audit_log(syscall, serial, **kw)}\x1dAUID=\"unset\" UID=\"root\" GID=\"root\" "
            f"ARCH=x86_64 SYSCALL=getsockname")


OTHER_LINES = [
    "Nov 14 22:13:19 node-1 containerd[812]: time=\"2023-11-14T22:13:19Z\" level=info msg=\"StartContainer\"",
    # A SYSCALL record has arch= and syscall= too, and "1326" in it: not a seccomp record.
    'type=SYSCALL msg=audit(1700000000.100:450): arch=c000003e syscall=59 success=yes exit=0 a0=1 items=2 '
    'ppid=1326 pid=1327 auid=0 uid=0 gid=0 comm="runc" exe="/usr/bin/runc" key=(null)',
    'type=ANOM_ABEND msg=audit(1700000000.101:451): auid=0 uid=0 gid=0 ses=1 pid=1326 comm="x" exe="/x" sig=11 res=1',
    "",
    "   ",
    "\x00\x01binary garbage",
    '{"MESSAGE": "not an audit record", "__CURSOR": "x"}',
    "[12345.000000] eth0: link up",
]
