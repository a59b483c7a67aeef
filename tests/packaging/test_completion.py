"""Shell completion: the __complete protocol, kubectl_complete-pss, and the completion scripts."""
from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kubectl_pss import cli, completion
from kubectl_pss.completion import (
    DEFAULT,
    FILTER_FILE_EXT,
    KEEP_ORDER,
    NO_FILE_COMP,
    complete,
)

ROOT = Path(__file__).resolve().parents[2]
BIN_DIR = Path(sys.executable).parent  # the test venv: kubectl-pss and kubectl_complete-pss live here


def values(words: list[str]) -> list[str]:
    return [v for v, _ in complete(words).candidates]


@pytest.fixture(autouse=True)
def no_cluster(monkeypatch):
    monkeypatch.setenv("KUBECTL_PSS_COMPLETION_NO_CLUSTER", "1")


def test_commands():
    result = complete([""])
    assert [v for v, _ in result.candidates] == list(cli.COMMANDS) + ["help"]
    assert result.directive == NO_FILE_COMP
    assert dict(result.candidates)["check"] == cli.COMMANDS["check"][1]
    assert values(["a"]) == [c for c in cli.COMMANDS if c.startswith("a")]
    assert values(["versi"]) == ["version"]
    assert values([]) == list(cli.COMMANDS) + ["help"]
    assert values(["-"]) == ["--help", "-h", "--version"]
    assert values(["--"]) == ["--help", "--version"]


def test_help_takes_a_command_and_its_sub_command():
    assert values(["h"]) == ["help"]
    assert values(["help", ""]) == list(cli.COMMANDS)
    assert values(["help", "ver"]) == ["verify-apparmor", "verify-seccomp", "version"]
    assert values(["help", "seccomp", ""]) == ["profile", "lint", "install"]
    assert values(["help", "audit", ""]) == [] and values(["help", "seccomp", "lint", ""]) == []


def test_connection_flags_before_the_command():
    assert values(["--context", "prod", "sim"]) == ["simulate"]
    assert values(["--context", "prod", "audit", "--fail"]) == ["--fail-on"]


def test_flag_values_before_the_command(fake_kubectl):
    assert values(["--context", ""]) == ["dev", "prod"]
    assert values(["--kubeconfig", "/k", "-n", "s"]) == ["shop"]
    assert values(["-o", "y"]) == ["yaml"]
    assert complete(["--kubeconfig", ""]).directive == DEFAULT


def test_unknown_command_is_an_error():
    assert complete(["nope", ""]).directive & completion.ERROR


@pytest.mark.parametrize("command", sorted(cli.COMMANDS))
def test_every_long_flag_of_every_command(command):
    parser = completion._command_parser(command)
    expected = {o for a in parser._actions for o in a.option_strings if o.startswith("--")}
    assert set(values([command, "--"])) == expected
    shorts = {o for a in parser._actions for o in a.option_strings if not o.startswith("--")}
    assert shorts <= set(values([command, "-"]))


def test_flags_already_given_are_not_offered_again_unless_repeatable():
    offered = values(["audit", "--fail-on", "baseline", "--output=json", "-n", "a", "--"])
    assert "--fail-on" not in offered and "--output" not in offered
    assert "--namespace" in offered  # -n is repeatable


def test_flags_after_a_complete_command():
    assert "--all-namespaces" in values(["audit", ""])
    assert values(["simulate", "restricted", "--mo"]) == ["--mode"]


@pytest.mark.parametrize(("words", "expected"), [
    (["audit", "--fail-on", ""], ["enforce", "audit", "warn", "baseline", "restricted"]),
    (["audit", "--fail-on", "b"], ["baseline"]),
    (["audit", "--fail-on=r"], ["--fail-on=restricted"]),
    (["check", "--fail-on", "w"], ["warn"]),
    (["simulate", "restricted", "--fail-on", "e"], ["enforce"]),
    (["check", "--level", ""], ["privileged", "baseline", "restricted"]),
    (["simulate", ""], ["privileged", "baseline", "restricted"]),
    (["simulate", "-A", "re"], ["restricted"]),
    (["check", "-o", ""], ["table", "json", "yaml", "wide", "sarif", "junit", "github"]),
    (["audit", "-o", ""], ["table", "json", "yaml", "wide"]),
    (["audit", "--output", "j"], ["json"]),
    (["version", "-o="], ["-o=table", "-o=json", "-o=yaml", "-o=wide"]),
    (["simulate", "restricted", "--mode", ""], ["enforce", "audit", "warn"]),
    (["completion", ""], ["bash", "zsh", "fish"]),
    (["completion", "z"], ["zsh"]),
    (["audit-log", "audit.log", "--fail-on", ""], ["audit", "enforce"]),
])
def test_values(words, expected):
    assert values(words) == expected


def needs(command: str):
    """The test completes ``command``: it fails, never skips, when the command is gone from the table."""
    def wrap(test):
        @functools.wraps(test)
        def run(*args, **kwargs):
            assert command in cli.COMMANDS, f"no {command} command in cli.COMMANDS"
            return test(*args, **kwargs)

        return run

    return wrap


@needs("label")
def test_label_values(fake_kubectl):
    assert values(["label", "--enforce", ""]) == ["privileged", "baseline", "restricted"]
    assert values(["label", "--warn=base"]) == ["--warn=baseline"]
    got = values(["label", "--audit", "restricted:v1.3"])
    assert "restricted:v1.3" in got and "restricted:v1.30" in got and all(v.startswith("restricted:v1.3") for v in got)
    assert values(["label", "--enforce", "restricted:"])[:2] == ["restricted:latest", "restricted:v1.37"]
    assert values(["label", "--dry-run", ""]) == ["none", "client", "server"]
    assert values(["label", ""]) == ["default", "kube-system", "shop"]  # NS... positionals
    assert values(["label", "shop", "s"]) == ["shop"]
    assert complete(["label", "--undo", ""]).directive == DEFAULT


@needs("seccomp")
def test_subcommands():
    assert values(["seccomp", ""]) == ["profile", "lint", "install"]
    assert "--from-audit" in values(["seccomp", "profile", "--"])
    assert "--from-audit" not in values(["seccomp", "lint", "--"])
    assert complete(["seccomp", "lint", ""]).directive == DEFAULT  # PROFILE: a file
    assert complete(["seccomp", "profile", "--from-audit", ""]).directive == DEFAULT
    assert complete(["seccomp", "install", ""]).directive == DEFAULT  # PROFILE: a file
    assert values(["seccomp", "install", "p.json", "-o", ""]) == ["yaml", "json"]
    flags = values(["seccomp", "install", "--"])
    assert "--all-nodes" in flags and "--node-inspect" not in flags


@needs("snapshot")
def test_an_output_flag_that_takes_a_file():
    assert complete(["snapshot", "-o", ""]).directive == DEFAULT


def test_levels_keep_their_order():
    assert complete(["audit", "--fail-on", ""]).directive == NO_FILE_COMP | KEEP_ORDER


def test_policy_versions():
    from kubectl_pss.policy.registry import NEWEST_MINOR

    got = values(["check", "--version", ""])
    assert got[:2] == ["latest", f"v1.{NEWEST_MINOR}"] and got[-1] == "v1.0"
    assert values(["check", "--version", f"v1.{NEWEST_MINOR}"]) == [f"v1.{NEWEST_MINOR}"]


def test_manifests_and_paths_use_the_shells_file_completion():
    result = complete(["check", "-f", ""])
    assert result.directive == FILTER_FILE_EXT and [v for v, _ in result.candidates] == ["yaml", "yml", "json"]
    assert complete(["audit", "--admission-config", ""]).directive == DEFAULT
    assert complete(["audit", "--kubeconfig", ""]).directive == DEFAULT
    assert complete(["--kubeconfig", ""]).directive == DEFAULT


def test_protocol_output(capsys):
    assert cli.main(["__complete", "c"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1] == f":{NO_FILE_COMP}"
    expected = [c for c in cli.COMMANDS if c.startswith("c")]
    assert lines[:-1] == [f"{c}\t{cli.COMMANDS[c][1]}" for c in expected]
    assert cli.main(["__completeNoDesc", "c"]) == 0
    assert capsys.readouterr().out.splitlines() == expected + [":4"]


def test_a_broken_command_module_never_prints_a_traceback(monkeypatch, capsys):
    monkeypatch.setitem(cli.COMMANDS, "broken", ("does_not_exist", "x"))
    assert cli.main(["__complete", "broken", ""]) == 0
    captured = capsys.readouterr()
    assert captured.out.splitlines() == [":1"]
    assert "Traceback" not in captured.err


# Cluster values come from kubectl: a fake one records what it was asked.
FAKE_KUBECTL = """#!/bin/sh
printf '%s\\n' "$*" >> "$KUBECTL_LOG"
printf '%s\\n' "LD_LIBRARY_PATH=${LD_LIBRARY_PATH-<unset>}" >> "$KUBECTL_LOG"
case "$*" in
  *"get namespaces"*) echo "kube-system shop default" ;;
  *"get pods"*) echo "web-1 web-0" ;;
  *"config get-contexts"*) printf 'prod\\ndev\\n' ;;
  *"config get-clusters"*) printf 'NAME\\nkind-west\\nkind-east\\n' ;;
  *"config get-users"*) printf 'NAME\\nbob\\nalice\\n' ;;
esac
"""


@pytest.fixture
def fake_kubectl(tmp_path, monkeypatch) -> Path:
    bin_dir = tmp_path / "fakebin"
    bin_dir.mkdir()
    script = bin_dir / "kubectl"
    script.write_text(FAKE_KUBECTL)
    script.chmod(0o755)
    log = tmp_path / "kubectl.log"
    monkeypatch.setenv("KUBECTL_LOG", str(log))
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.delenv("KUBECTL_PSS_COMPLETION_NO_CLUSTER")
    return log


def test_namespaces_from_kubectl(fake_kubectl):
    assert values(["audit", "-n", ""]) == ["default", "kube-system", "shop"]
    assert values(["audit", "--context", "prod", "--kubeconfig=/k", "--namespace", "s"]) == ["shop"]
    calls = [line for line in fake_kubectl.read_text().splitlines() if not line.startswith("LD_")]
    assert calls[0] == "get namespaces -o jsonpath={.items[*].metadata.name} --request-timeout=3s"
    assert calls[1].startswith("--kubeconfig /k --context prod get namespaces")


def test_excluded_namespaces_complete_as_namespaces(fake_kubectl):
    assert values(["simulate", "baseline", "-A", "--exclude-namespace", "k"]) == ["kube-system"]
    assert values(["label", "-A", "--exclude-namespace", ""]) == ["default", "kube-system", "shop"]


def test_pods_and_contexts_from_kubectl(fake_kubectl):
    state = completion._State(values={"-n": ["shop"], "--context": ["prod"]})
    assert completion._cluster_names("pods", state) == ["web-0", "web-1"]
    assert values(["audit", "--kubeconfig", "/k", "--context", ""]) == ["dev", "prod"]
    calls = [line for line in fake_kubectl.read_text().splitlines() if not line.startswith("LD_")]
    assert calls[0].startswith("--context prod get pods") and calls[0].endswith("--namespace shop")
    assert calls[1] == "--kubeconfig /k config get-contexts -o name"


def test_clusters_and_users_from_kubectl(fake_kubectl):
    assert values(["audit", "--kubeconfig", "/k", "--cluster", ""]) == ["kind-east", "kind-west"]
    assert values(["--user", ""]) == ["alice", "bob"]  # before the command, too
    assert values(["audit", "--cluster", "kind-west", "--user", "bob", "-n", ""]) == ["default", "kube-system", "shop"]
    assert values(["audit", "-v", ""]) == []
    calls = [line for line in fake_kubectl.read_text().splitlines() if not line.startswith("LD_")]
    assert calls[:2] == ["--kubeconfig /k config get-clusters", "config get-users"]
    assert calls[2].startswith("--cluster kind-west --user bob get namespaces")


def test_no_cluster_calls_when_disabled(fake_kubectl, monkeypatch):
    monkeypatch.setenv("KUBECTL_PSS_COMPLETION_NO_CLUSTER", "1")
    assert values(["audit", "-n", ""]) == []
    assert not fake_kubectl.exists()


def test_a_slow_kubectl_is_abandoned(fake_kubectl, tmp_path, monkeypatch):
    slow = tmp_path / "fakebin" / "kubectl"
    slow.write_text("#!/bin/sh\nsleep 5\necho late\n")
    monkeypatch.setattr(completion, "CLUSTER_TIMEOUT", 0.3)
    assert values(["audit", "-n", ""]) == []


# The console scripts and the shell scripts, as a user runs them.
def _installed(name: str) -> Path:
    path = BIN_DIR / name
    if not path.exists():
        pytest.skip(f"{name} is not installed next to {sys.executable} (pip install -e .)")
    return path


def test_kubectl_complete_console_script():
    proc = subprocess.run([str(_installed("kubectl_complete-pss")), "simulate", "--level"], capture_output=True,
                          text=True, env=dict(os.environ, KUBECTL_PSS_COMPLETION_NO_CLUSTER="1"))
    assert proc.returncode == 0
    assert proc.stdout.splitlines()[-1] == ":4"
    proc = subprocess.run([str(_installed("kubectl_complete-pss")), "simulate", ""], capture_output=True, text=True)
    assert proc.stdout.splitlines() == ["privileged", "baseline", "restricted", ":36"]


def test_kubectl_calls_the_plugin_completion(kubectl, tmp_path):
    """kubectl 1.26+ runs kubectl_complete-pss for `kubectl pss <TAB>`."""
    _installed("kubectl_complete-pss")
    env = dict(os.environ, PATH=f"{BIN_DIR}{os.pathsep}{Path(kubectl).parent}{os.pathsep}/usr/bin:/bin",
               KUBECONFIG=str(tmp_path / "none"), KUBECTL_PSS_COMPLETION_NO_CLUSTER="1")
    proc = subprocess.run([kubectl, "__complete", "pss", ""], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert [line.split("\t")[0] for line in lines[:-1]] == list(cli.COMMANDS) + ["help"]
    assert lines[-1] == ":4"
    proc = subprocess.run([kubectl, "__completeNoDesc", "pss", "audit", "--fail-on", "r"], capture_output=True,
                          text=True, env=env, cwd=tmp_path)
    assert "restricted" in proc.stdout.splitlines()


def test_completion_command_prints_each_script(capsys):
    for shell in ("bash", "zsh", "fish"):
        assert cli.main(["completion", shell]) == 0
        script = capsys.readouterr().out
        assert "__complete" in script and "kubectl-pss" in script
    assert cli.main(["completion", "powershell"]) == 2


def _bash_complete(line: str) -> list[str]:
    script = subprocess.run([str(_installed("kubectl-pss")), "completion", "bash"], capture_output=True,
                            text=True, check=True).stdout
    driver = script + f"""
COMP_LINE={line!r}
COMP_POINT=${{#COMP_LINE}}
__kubectl_pss_complete
printf '%s\\n' "${{COMPREPLY[@]}}"
"""
    env = dict(os.environ, PATH=f"{BIN_DIR}{os.pathsep}{os.environ['PATH']}", KUBECTL_PSS_COMPLETION_NO_CLUSTER="1")
    proc = subprocess.run(["bash", "--norc", "--noprofile", "-c", driver], capture_output=True, text=True, env=env,
                          cwd=ROOT / "examples")
    assert proc.returncode == 0, proc.stderr
    return [line for line in proc.stdout.splitlines() if line]


@pytest.mark.skipif(shutil.which("bash") is None, reason="no bash")
def test_bash_script():
    assert _bash_complete("kubectl-pss ") == list(cli.COMMANDS) + ["help"]
    assert _bash_complete("kubectl-pss sim") == ["simulate"]
    assert _bash_complete("kubectl-pss simulate ") == ["privileged", "baseline", "restricted"]
    assert _bash_complete("kubectl-pss check -o j") == ["json", "junit"]  # check also prints JUnit
    # After "=", bash replaces only what follows it.
    assert _bash_complete("kubectl-pss check --output=y") == ["yaml"]
    # -f: manifests and directories only.
    assert sorted(_bash_complete("kubectl-pss check -f ")) == sorted(
        p.name for p in (ROOT / "examples").iterdir() if p.suffix in (".yaml", ".yml", ".json") or p.is_dir())


@pytest.mark.skipif(shutil.which("fish") is None, reason="no fish shell")
def test_fish_script():
    script = subprocess.run([str(_installed("kubectl-pss")), "completion", "fish"], capture_output=True, text=True,
                            check=True).stdout
    env = dict(os.environ, PATH=f"{BIN_DIR}{os.pathsep}{os.environ['PATH']}", KUBECTL_PSS_COMPLETION_NO_CLUSTER="1")
    proc = subprocess.run(["fish", "--no-config", "-c", script + "\ncomplete -C 'kubectl-pss simulate '"],
                          capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    assert [line.split("\t")[0] for line in proc.stdout.splitlines()] == ["baseline", "privileged", "restricted"]


@pytest.mark.skipif(shutil.which("zsh") is None, reason="no zsh")
def test_zsh_script_parses(tmp_path):
    script = subprocess.run([str(_installed("kubectl-pss")), "completion", "zsh"], capture_output=True, text=True,
                            check=True).stdout
    path = tmp_path / "_kubectl-pss"
    path.write_text(script)
    proc = subprocess.run(["zsh", "-n", str(path)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_fleet_and_connection_flags(fake_kubectl):
    flags = values(["audit", "--"])
    for flag in ("--contexts", "--all-contexts", "--parallel-contexts", "--as", "--as-group", "--as-uid", "--token",
                 "--server", "--certificate-authority", "--client-certificate", "--client-key",
                 "--insecure-skip-tls-verify", "--tls-server-name"):
        assert flag in flags, flag
    assert "-s" in values(["version", "-"])
    assert values(["audit", "--contexts", ""]) == ["dev", "prod"]
    assert values(["audit", "--contexts", "prod,"]) == ["prod,dev"]  # the names given are not offered again
    assert values(["snapshot", "--contexts", "dev,p"]) == ["dev,prod"]
    for flag in ("--as", "--as-group", "--token", "--server", "--tls-server-name", "--parallel-contexts"):
        assert complete(["audit", flag, ""]).directive == completion.NO_FILE_COMP, flag
    assert complete(["audit", "--certificate-authority", ""]).directive == completion.DEFAULT  # a file
    # the kubectl that lists namespaces sees the same identity
    assert values(["audit", "--as", "jane", "--as-group", "dev", "--insecure-skip-tls-verify", "-n", "s"]) == ["shop"]
    calls = [line for line in fake_kubectl.read_text().splitlines() if not line.startswith("LD_")]
    assert calls[-1].startswith("--as jane --as-group=dev --insecure-skip-tls-verify get namespaces")
