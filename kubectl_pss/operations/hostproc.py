"""Reading containers' ``/proc/PID/...`` on the node (host PID namespace), for many PIDs in one exec:
a fixed script run as ``chroot /host sh -c PROC_SCRIPT sh MARKER PID...``. The PIDs are arguments,
never part of the script; ``MARKER`` is random per exec, so a file's content cannot forge a section.
"""
from __future__ import annotations

import re
import secrets
from typing import Any

PROC_FILES = ("attr/current", "attr/apparmor/current", "status")
PROC_SCRIPT = (
    'm=$1; shift; for p in "$@"; do for f in attr/current attr/apparmor/current status; do '
    'printf "\\n%s %s %s\\n" "$m" "$p" "$f"; cat "/proc/$p/$f" 2>&1; printf "\\n%s rc %s\\n" "$m" "$?"; '
    'done; done'
)

Read = tuple[int, str, str]  # (exit code, stdout, stderr) as a RunFn answers


def parse_proc_output(text: str, marker: str) -> dict[tuple[int, str], Read]:
    """PROC_SCRIPT's output: (pid, file) -> (exit code, content, error text). On failure cat's message
    (merged into the content by 2>&1) is the error text."""
    out: dict[tuple[int, str], Read] = {}
    m = re.escape(marker)
    for found in re.finditer(rf"\n{m} (\d+) (\S+)\n(.*?)\n{m} rc (\d+)\n", text, re.DOTALL):
        pid, name, body, rc = int(found[1]), found[2], found[3], int(found[4])
        if name in PROC_FILES:
            out[(pid, name)] = (rc, body, "") if rc == 0 else (rc, "", body)
    return out


def read_host_proc(pod: Any, pids: list[int]) -> dict[tuple[int, str], Read]:
    """Every PROC_FILES of ``pids`` on the node, in one exec. Raises ValueError when the node cannot
    run the script (no sh in its root)."""
    pids = sorted({p for p in pids if isinstance(p, int) and p > 0})
    if not pids:
        return {}
    marker = "@@pss-" + secrets.token_hex(8)
    result = pod.run_on_host(["sh", "-c", PROC_SCRIPT, "sh", marker, *map(str, pids)])
    if result.command_missing:
        raise ValueError(f"the node has no sh in its root (chroot /host sh): {result.why()}")
    if result.truncated:
        raise ValueError("the node's /proc answer was larger than the 8 MiB read")
    return parse_proc_output(result.stdout_text, marker)


def reader_of(reads: dict[tuple[int, str], Read], pid: int) -> Any:
    """A RunFn (``cat PATH`` -> (code, out, err)) over one PID's batched reads, for the judges that take one."""
    prefix = f"/proc/{pid}/"

    def run(argv: list[str]) -> Read:
        path = argv[-1]
        got = reads.get((pid, path[len(prefix):])) if path.startswith(prefix) else None
        if got is None:
            return 1, "", f"cat: {path}: not read from the node"
        return got

    return run
