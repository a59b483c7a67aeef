"""One connection per run (kubectl's Factory): an exec credential plugin runs once per command.

The kubeconfig's user is an exec credential plugin that counts its runs in a file; each command
below used to connect twice (audit without -n, label, simulate --server-dry-run).
"""
from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from tests.apiserver import KubeContext
from tests.scenarios import load_mixed_cluster


@pytest.fixture
def counted(apiserver, make_kubeconfig, tmp_path, monkeypatch):
    """A kubeconfig whose credentials come from a plugin that counts its runs; returns (kubeconfig, runs)."""
    monkeypatch.chdir(tmp_path)  # label's undo file
    load_mixed_cluster(apiserver)
    counter = tmp_path / "plugin-runs"
    script = tmp_path / "plugin.py"
    script.write_text(textwrap.dedent(f"""
        import json, pathlib
        calls = pathlib.Path({str(counter)!r})
        calls.write_text(str(int(calls.read_text()) + 1 if calls.exists() else 1))
        print(json.dumps({{"apiVersion": "client.authentication.k8s.io/v1beta1", "kind": "ExecCredential",
                          "status": {{"token": {apiserver.token!r}}}}}))
    """))
    plugin = {"apiVersion": "client.authentication.k8s.io/v1beta1", "command": sys.executable,
              "args": [str(script)], "interactiveMode": "Never"}
    path = make_kubeconfig([KubeContext("exec", apiserver.url, ca_pem=apiserver.ca_pem, namespace="default",
                                        exec=plugin)], "exec")

    def runs() -> int:
        return int(counter.read_text()) if counter.exists() else 0

    return str(path), runs


@pytest.mark.parametrize("argv", [
    ["audit"],
    ["audit", "-A"],
    ["simulate", "restricted", "--server-dry-run"],
    ["label", "default", "--enforce", "baseline", "--dry-run=server"],
    ["label", "-l", "kubernetes.io/metadata.name=default", "--enforce", "baseline", "--dry-run=server"],
    ["label", "default", "--enforce", "baseline", "--yes"],
    ["nodes"],
    ["verify-apparmor", "-A"],
    ["version"],
], ids=lambda argv: " ".join(argv))
def test_the_exec_credential_plugin_runs_once_per_command(run_cli, counted, argv):
    kubeconfig, runs = counted
    code, out, err = run_cli(*argv, "--kubeconfig", kubeconfig, "-o", "json")
    assert "error: " not in err.replace("error: namespace", ""), err
    assert runs() == 1, f"the exec credential plugin ran {runs()} times: {err}"
