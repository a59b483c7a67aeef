"""Real signals to a real ``python -m kubectl_pss`` process, sent while the fake API server holds one of its
requests (``FakeApiServer.hold()``): Ctrl-C with a PATCH or a pod POST in flight."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DNS_1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")


def start(*argv: str, cwd: Path | str = REPO) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO), "NO_COLOR": "1"}
    return subprocess.Popen([sys.executable, "-m", "kubectl_pss", *argv], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_held(proc: subprocess.Popen, held, timeout: float = 30) -> None:
    """Until the server holds the request (or fail, with the process's output)."""
    if not held.arrived.wait(timeout):
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"the request was never sent:\n{out}\n{err}")


def signal_while_held(proc: subprocess.Popen, held, sig: int = signal.SIGINT,
                      timeout: float = 60) -> tuple[str, str]:
    """Send ``sig`` while ``held`` is in flight; the output once the process ended and the server is
    through with the request (so that what it did late is there to see)."""
    wait_held(proc, held)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=timeout)
    assert held.done.wait(timeout)
    return out, err


def read_stderr_until(proc: subprocess.Popen, text: str) -> str:
    """stderr line by line until a line contains ``text`` (or the end)."""
    assert proc.stderr is not None
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if text in line:
            break
    return "".join(seen)
