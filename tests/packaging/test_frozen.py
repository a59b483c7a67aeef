"""kubectl_pss.frozen: child processes of the PyInstaller binary get the user's LD_LIBRARY_PATH."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from kubectl_pss.frozen import restore_environment

BUNDLE = "/opt/kubectl-pss/_internal"


@pytest.mark.parametrize(("before", "after"), [
    # PyInstaller prepends its bundle and keeps the user's value in _ORIG.
    ({"LD_LIBRARY_PATH": f"{BUNDLE}:/usr/local/lib", "LD_LIBRARY_PATH_ORIG": "/usr/local/lib"},
     {"LD_LIBRARY_PATH": "/usr/local/lib"}),
    # The user had none: PyInstaller sets only its bundle, and no _ORIG.
    ({"LD_LIBRARY_PATH": BUNDLE}, {}),
    ({"LD_LIBRARY_PATH": BUNDLE + "/"}, {}),
    # An _ORIG that is empty is restored as empty (the user had set it so).
    ({"LD_LIBRARY_PATH": f"{BUNDLE}:", "LD_LIBRARY_PATH_ORIG": ""}, {"LD_LIBRARY_PATH": ""}),
    # Not ours (a bootloader that did not touch it): left alone.
    ({"LD_LIBRARY_PATH": "/usr/local/lib"}, {"LD_LIBRARY_PATH": "/usr/local/lib"}),
    ({}, {}),
    ({"LIBPATH": BUNDLE, "OTHER": "x"}, {"OTHER": "x"}),
])
def test_restore_environment(before, after):
    env = dict(before)
    restore_environment(env, bundle_dir=BUNDLE)
    assert env == after


FAKE_KUBECTL = """#!/bin/sh
echo "LD_LIBRARY_PATH=${LD_LIBRARY_PATH-<unset>}" >> "$KUBECTL_LOG"
echo "ns1 ns2"
"""


@pytest.mark.parametrize(("user_value", "expected"), [(None, "<unset>"), ("/usr/local/lib", "/usr/local/lib")])
def test_entry_restores_it_for_child_processes(tmp_path, user_value, expected):
    """cli.entry as a frozen binary runs it: a child (here kubectl, spawned by namespace completion)
    sees the user's value, not the bundle's."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "kubectl").write_text(FAKE_KUBECTL)
    (bin_dir / "kubectl").chmod(0o755)
    log = tmp_path / "log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LD_LIBRARY_PATH", "KUBECTL_PSS_"))}
    env.update(PATH=f"{bin_dir}{os.pathsep}{env['PATH']}", KUBECTL_LOG=str(log),
               LD_LIBRARY_PATH=BUNDLE + (f":{user_value}" if user_value else ""))
    if user_value is not None:
        env["LD_LIBRARY_PATH_ORIG"] = user_value
    program = textwrap.dedent(f"""
        import sys
        sys.frozen = True
        sys._MEIPASS = {BUNDLE!r}
        sys.argv = ["kubectl-pss", "__completeNoDesc", "audit", "-n", ""]
        from kubectl_pss.cli import entry
        entry()
    """)
    proc = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, env=env,
                          cwd=Path(__file__).resolve().parents[2])
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["ns1", "ns2", ":4"]
    assert log.read_text().splitlines() == [f"LD_LIBRARY_PATH={expected}"]
