"""``kubectl pss version``: the plugin, the policy versions, and the server when one is configured."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kubectl_pss import __version__
from kubectl_pss.commands import version as version_mod
from kubectl_pss.policy.registry import NEWEST_MINOR
from tests.apiserver import write_kubeconfig
from tests.apiserver.server import FOREVER

REPO = Path(__file__).resolve().parents[2]
CLIENT_LINE = f"kubectl-pss v{__version__} (Pod Security policy versions v1.0 to v1.{NEWEST_MINOR})"


@pytest.fixture(autouse=True)
def no_kubeconfig(tmp_path, monkeypatch):
    """No ~/.kube/config, KUBECONFIG or in-cluster environment unless a test sets one."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for var in ("KUBECONFIG", "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT"):
        monkeypatch.delenv(var, raising=False)
    return home


def test_client_never_contacts_the_server(run_cli, apiserver):
    code, out, err = run_cli("version", "--client", "--kubeconfig", apiserver.kubeconfig_path)
    assert (code, out, err) == (0, CLIENT_LINE + "\n", "")
    code, out, _ = run_cli("version", "--client", "-o", "json", "--kubeconfig", apiserver.kubeconfig_path)
    assert json.loads(out) == {"apiVersion": "kubectl-pss/v1", "kind": "VersionReport", "context": None, "server": None,
                               "errors": [], "version": f"v{__version__}", "newestPolicyVersion": f"v1.{NEWEST_MINOR}",
                               "serverStatus": None}
    code, out, _ = run_cli("--version")  # the top-level flag is the client's version
    assert out == CLIENT_LINE + "\n"
    assert apiserver.requests == []


def test_the_servers_version_and_what_latest_means_there(run_cli, apiserver):
    code, out, err = run_cli("version", "--kubeconfig", apiserver.kubeconfig_path)
    assert code == 0 and err == ""
    assert out.splitlines() == [CLIENT_LINE, f'Server: v1.24.0-alpha.1+lab at {apiserver.url} (context "fake"); '
                                             "latest means v1.24 there"]
    code, out, _ = run_cli("version", "--kubeconfig", apiserver.kubeconfig_path, "-o", "json")
    report = json.loads(out)
    assert report["context"] == "fake" and report["errors"] == []
    assert report["server"] == {"gitVersion": "v1.24.0-alpha.1+lab", "minor": 24}
    assert report["serverStatus"] == {"state": "ok", "url": apiserver.url, "latest": "v1.24",
                                      "latestEvaluatedAs": "v1.24"}
    assert [(r.method, r.path) for r in apiserver.requests] == [("GET", "/version")] * 2


def test_a_server_newer_than_the_engine(run_cli, apiserver):
    apiserver.version = {"major": "1", "minor": "40+", "gitVersion": "v1.40.1-gke.100"}
    code, out, _ = run_cli("version", "--kubeconfig", apiserver.kubeconfig_path)
    assert out.splitlines()[1].endswith(f"latest means v1.40 there, evaluated as v1.{NEWEST_MINOR} "
                                        "(the newest policy this plugin knows)")
    code, out, _ = run_cli("version", "--kubeconfig", apiserver.kubeconfig_path, "-o", "yaml")
    assert f"latestEvaluatedAs: v1.{NEWEST_MINOR}" in out and "minor: 40" in out


def test_the_kubeconfig_from_home_and_env_is_used(run_cli, apiserver, no_kubeconfig, monkeypatch):
    write_kubeconfig(no_kubeconfig / ".kube" / "config", [apiserver.context("home")], "home")
    code, out, _ = run_cli("version")
    assert '(context "home")' in out
    monkeypatch.setenv("KUBECONFIG", str(apiserver.kubeconfig_path))
    code, out, _ = run_cli("version", "-o", "json")
    assert json.loads(out)["context"] == "fake"


def test_an_unreachable_server_is_a_line_not_an_error(run_cli, apiserver):
    apiserver.stop()
    code, out, err = run_cli("version", "--kubeconfig", apiserver.kubeconfig_path)
    assert code == 0 and err == ""
    assert out.splitlines()[0] == CLIENT_LINE
    assert out.splitlines()[1].startswith(f"Server: unreachable (cannot reach the Kubernetes API server at "
                                          f"{apiserver.url}") and "connection refused" in out
    code, out, err = run_cli("version", "--kubeconfig", apiserver.kubeconfig_path, "-o", "json")
    report = json.loads(out)
    assert code == 0 and err == "" and report["serverStatus"]["state"] == "unreachable" and report["server"] is None
    assert "connection refused" in report["errors"][0]["message"]


@pytest.mark.parametrize("flag, value, message", [
    ("--context", "nope", 'context "nope" not found'),
    ("--cluster", "nope", 'cluster "nope" does not exist'),
    ("--user", "nope", 'user "nope" does not exist'),
])
def test_a_bad_kubeconfig_choice_is_reported_too(run_cli, apiserver, flag, value, message):
    code, out, err = run_cli("version", "--kubeconfig", apiserver.kubeconfig_path, flag, value)
    assert code == 0 and err == "" and message in out
    assert out.splitlines()[1].startswith("Server: not connected: the kubeconfig cannot be used (")


def test_a_slow_server_is_given_up_on(run_cli, apiserver):
    apiserver.stall_once("/version", 3.0)
    started = time.monotonic()
    code, out, _ = run_cli("version", "--kubeconfig", apiserver.kubeconfig_path, "--request-timeout", "0.3s")
    assert code == 0 and "Server: unreachable (" in out and "timed out" in out
    assert time.monotonic() - started < 2.5


def test_the_default_timeout_is_short():
    import argparse

    parser = argparse.ArgumentParser()
    version_mod.add_arguments(parser)
    assert version_mod.complete(parser.parse_args([])).connection.options.request_timeout == version_mod.SERVER_TIMEOUT == 5.0
    assert version_mod.complete(parser.parse_args(["--request-timeout", "1m"])).connection.options.request_timeout == 60.0


def test_without_a_kubeconfig_it_says_so_and_stays_fast(run_cli):
    code, out, err = run_cli("version")
    assert code == 0 and err == ""
    assert out.splitlines() == [CLIENT_LINE, "Server: not configured (no kubeconfig: KUBECONFIG, ~/.kube/config "
                                             "or --kubeconfig)"]
    code, out, _ = run_cli("version", "-o", "json")
    assert json.loads(out)["server"] is None


def test_without_a_kubeconfig_kubernetes_is_never_imported(tmp_path):
    code = ("import sys; from kubectl_pss.cli import main; rc = main(['version']); "
            "print('IMPORTED' if 'kubernetes' in sys.modules else 'NOT IMPORTED')")
    env = {k: v for k, v in os.environ.items() if k not in ("KUBECONFIG", "KUBERNETES_SERVICE_HOST")}
    env["HOME"] = str(tmp_path)
    for extra in ({}, {"KUBECONFIG": str(tmp_path / "missing")}):
        proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, env={**env, **extra}, capture_output=True,
                              text=True, timeout=60, check=True)
        assert proc.stdout.splitlines()[-1] == "NOT IMPORTED" and proc.stderr == ""
        assert "Server: not configured" in proc.stdout


def test_a_server_that_answers_html_was_reached_not_unreachable(run_cli, apiserver):
    apiserver.inject("/version", "html", times=FOREVER)
    code, out, err = run_cli("version", "--kubeconfig", apiserver.kubeconfig_path)
    assert code == 0 and err == ""
    assert out.splitlines()[1] == (f"Server: reached at {apiserver.url}, but it did not give its version (the server "
                                   "answered /version with text/html, not JSON: is a proxy in the way?)")
    assert "unreachable" not in out
    code, out, _ = run_cli("version", "--kubeconfig", apiserver.kubeconfig_path, "-o", "json")
    report = json.loads(out)
    assert report["serverStatus"] == {"state": "noVersion", "url": apiserver.url, "latest": None,
                                      "latestEvaluatedAs": None}
    assert report["server"] is None and report["context"] == "fake"
    assert "with text/html" in report["errors"][0]["message"]
