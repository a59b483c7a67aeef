"""Run the real CLI with stdout on a pseudo-terminal of a given width (stderr on a pipe)."""
from __future__ import annotations

import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_in_pty(argv: list[str], columns: int, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """``python -m kubectl_pss ARGV`` with stdout on a pty ``columns`` wide: (exit code, stdout, stderr)."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    attrs = termios.tcgetattr(follower)
    attrs[1] &= ~termios.ONLCR  # keep "\n" as written, no "\r\n"
    termios.tcsetattr(follower, termios.TCSANOW, attrs)
    environ = {**os.environ, "PYTHONPATH": str(ROOT), "TERM": "xterm", **(env or {})}
    environ.pop("COLUMNS", None)
    environ.pop("NO_COLOR", None)
    process = subprocess.Popen([sys.executable, "-m", "kubectl_pss", *argv], stdout=follower,
                               stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, cwd=ROOT, env=environ)
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the child closed its end
            break
        if not chunk:
            break
        chunks.append(chunk)
    err = process.stderr.read() if process.stderr else b""
    code = process.wait()
    os.close(leader)
    return code, b"".join(chunks).decode(), err.decode()
