"""``kubectl pss check``: output contract, exit codes and bad input, through the real CLI entry."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kubectl_pss.cli import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "manifests"

PRIVILEGED_POD = """\
apiVersion: v1
kind: Pod
metadata: {name: x, namespace: ns1}
spec:
  containers:
  - name: c
    image: busybox
    securityContext: {privileged: true}
"""


def defaults_note(*namespaces: str) -> str:
    """The note of namespaces whose labels no input gives (judged at the defaults)."""
    names = ", ".join(f'"{n}"' for n in namespaces)
    return f"note: namespace(s) {names}: its live labels are not known: judged at the defaults; --cluster-labels reads them\n"


def test_json_contract_with_level(tmp_path, run_cli):
    (tmp_path / "pod.yaml").write_text(PRIVILEGED_POD)
    code, out, err = run_cli("check", "-f", str(tmp_path / "pod.yaml"), "--level", "baseline", "-o", "json")
    assert code == 1 and err == defaults_note("ns1")
    data = json.loads(out)
    assert data["results"] == [{
        "source": str(tmp_path / "pod.yaml"), "document": 0, "kind": "Pod", "namespace": "ns1", "name": "x",
        "level": "baseline", "version": "latest", "allowed": False,
        "violations": [{"check": "privileged", "reason": "privileged",
                        "detail": 'container "c" must not set securityContext.privileged=true'}],
        "admission": {"namespace": "ns1", "labels": "defaults", "exempt": None,
                      **{mode: {"level": "privileged", "version": "latest", "allowed": True, "violations": []}
                         for mode in ("enforce", "audit", "warn")}},
        "baselined": False,
    }]
    assert data["errors"] == [] and data["skipped"] == []
    assert data["gate"] == {"failOn": "baseline", "failed": 1, "baseline": None}


def test_without_level_reports_strictest_and_next_level_violations(run_cli):
    code, out, _ = run_cli("check", "-f", str(EXAMPLES), "-o", "json")
    assert code == 0
    by_name = {r["name"]: r for r in json.loads(out)["results"]}
    assert by_name["web"]["strictestLevel"] == "restricted" and by_name["web"]["nextLevel"] is None
    assert by_name["web"]["level"] is None
    assert by_name["web"]["violations"] == []
    assert by_name["debug-shell"]["strictestLevel"] == "baseline"
    assert by_name["debug-shell"]["nextLevel"] == "restricted"
    assert by_name["debug-shell"]["level"] is None
    assert [v["check"] for v in by_name["debug-shell"]["violations"]] == [
        "allowPrivilegeEscalation", "capabilities_restricted", "runAsNonRoot", "seccompProfile_restricted"]
    assert by_name["node-agent"]["strictestLevel"] == "privileged"
    assert [v["check"] for v in by_name["node-agent"]["violations"]] == [
        "capabilities_baseline", "hostNamespaces", "hostPathVolumes", "hostPorts", "privileged"]
    assert by_name["nightly-backup"]["kind"] == "CronJob" and by_name["nightly-backup"]["strictestLevel"] == "baseline"
    assert by_name["db"]["strictestLevel"] == "privileged"
    assert by_name["migrate"]["strictestLevel"] == "restricted"
    skipped = {(s["kind"], s["name"]) for s in json.loads(out)["skipped"]}
    assert skipped == {("ConfigMap", "node-agent-config"), ("Service", "db")}


def test_example_restricted_deployment_relies_on_volume_defaulting(run_cli):
    code, out, _ = run_cli("check", "-f", str(EXAMPLES / "restricted-deployment.yaml"), "--level", "restricted", "-o", "json")
    assert code == 0 and json.loads(out)["results"][0]["allowed"] is True


def test_yaml_output_and_version_flag(tmp_path, run_cli):
    import yaml

    (tmp_path / "pod.yaml").write_text(PRIVILEGED_POD)
    code, out, _ = run_cli("check", "-f", str(tmp_path), "--level", "restricted", "--version", "v1.7", "-o", "yaml")
    data = yaml.safe_load(out)
    assert code == 1
    assert data["results"][0]["version"] == "v1.7"
    assert [v["check"] for v in data["results"][0]["violations"]] == ["privileged", "runAsNonRoot"]


def test_table_output_has_no_colour_when_not_a_tty(run_cli):
    code, out, _ = run_cli("check", "-f", str(EXAMPLES), "--level", "baseline")
    assert code == 1
    assert "\x1b[" not in out
    assert "DaemonSet/node-agent" in out and "denied" in out
    assert out.rstrip().splitlines()[-1].startswith("6 object(s) checked at baseline:latest (evaluated as v1.37), 2 denied")


def test_colour_on_a_tty_unless_no_color(monkeypatch):
    from kubectl_pss.report.color import color_enabled

    class Tty:
        def isatty(self):
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    assert color_enabled(Tty())
    assert not color_enabled(Tty(), no_color=True)
    monkeypatch.setenv("NO_COLOR", "")
    assert not color_enabled(Tty())
    monkeypatch.delenv("NO_COLOR")
    monkeypatch.setenv("TERM", "dumb")
    assert not color_enabled(Tty())


def test_stdin_and_list_and_multidoc(run_cli, monkeypatch):
    import io

    docs = PRIVILEGED_POD + "---\n" + json.dumps({"kind": "PodList", "items": [
        {"kind": "Pod", "metadata": {"name": "on"}, "spec": {"containers": [{"name": "no", "image": "x"}]}}]})
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(docs.encode())))
    code, out, _ = run_cli("check", "-f", "-", "--level", "restricted", "-o", "json")
    results = json.loads(out)["results"]
    assert [(r["source"], r["document"], r["name"]) for r in results] == [("<stdin>", 0, "x"), ("<stdin>", 1, "on")]
    assert 'container "no"' in results[1]["violations"][0]["detail"]  # YAML 1.1 "no" stays a string
    assert code == 1


def test_yaml_yes_and_on_are_booleans_as_kubectl_reads_them(tmp_path, run_cli):
    # kubectl (sigs.k8s.io/yaml on go-yaml v2) sends name: yes as JSON true, which the API server
    # refuses for a string field: such an object gets no verdict. Quoted, they stay names.
    (tmp_path / "p.yaml").write_text("kind: Pod\nmetadata: {name: yes}\nspec:\n  containers:\n  - name: on\n    image: x\n"
                                     "    securityContext: {privileged: true}\n---\n"
                                     "kind: Pod\nmetadata: {name: 'yes'}\nspec:\n  containers:\n  - name: \"on\"\n    image: x\n"
                                     "    securityContext: {privileged: true}\n")
    code, out, err = run_cli("check", "-f", str(tmp_path / "p.yaml"), "--level", "baseline", "-o", "json")
    assert code == 2
    assert err == defaults_note("default") + (f"error: {tmp_path / 'p.yaml'} (document 0): Pod True: metadata.name: expected string, got boolean "
                   "(and 1 more)\n")
    result, = json.loads(out)["results"]
    assert result["name"] == "yes" and result["document"] == 1
    assert result["violations"][0]["detail"] == 'container "on" must not set securityContext.privileged=true'


@pytest.mark.parametrize("content, message", [
    (b"kind: Pod\nmetadata: [\n", "invalid YAML"),
    (b"\x00\x01\x02binary", "not a text file"),
    (b"- just\n- a list\n", "document is not a mapping"),
    (b"metadata: {name: x}\n", "object has no kind"),
    (b'{"kind": "Pod", "spec": {"containers": [{"name": "c", "ports": 5}]}}', "Pod None: spec.containers[0].ports: expected array, got number"),
])
def test_bad_input_one_line_exit_2_and_other_files_still_reported(tmp_path, run_cli, content, message):
    (tmp_path / "a-bad.yaml").write_bytes(content)
    (tmp_path / "b-good.yaml").write_text(PRIVILEGED_POD)
    code, out, err = run_cli("check", "-f", str(tmp_path), "--level", "baseline", "-o", "json")
    assert code == 2
    note, *lines = err.strip().splitlines(keepends=True)
    assert note == defaults_note("ns1")
    assert len(lines) == 1 and lines[0].startswith(f"error: {tmp_path / 'a-bad.yaml'}") and message in lines[0]
    assert [r["name"] for r in json.loads(out)["results"]] == ["x"]


def test_invalid_json_names_document(tmp_path, run_cli):
    (tmp_path / "x.json").write_text('{"kind": "Pod"}\n{"kind": ')
    code, _, err = run_cli("check", "-f", str(tmp_path / "x.json"), "--level", "baseline")
    assert code == 2
    assert err.startswith(defaults_note("default") + f"error: {tmp_path / 'x.json'} (document 1): invalid JSON")


@pytest.mark.parametrize("argv, message", [
    (["check", "-f", "/nonexistent/x.yaml"], "/nonexistent/x.yaml: no such file or directory"),
    (["check", "-f", "x", "--level", "strict"], 'invalid --level "strict": must be one of privileged, baseline, restricted'),
    (["check", "-f", "x", "--version", "1.25"], 'invalid --version "1.25": must be "latest" or "v1.x"'),
    (["check", "-f", "x", "-o", "xml"], 'output format "xml"'),
    (["check"], "must specify -f PATH"),  # not "one of -f and -k": there is no -k (review of issue 12)
    (["check", "--bogus"], "unrecognized arguments: --bogus"),
    (["frobnicate"], 'unknown command "frobnicate"'),
])
def test_usage_errors_exit_2_with_one_line(run_cli, argv, message):
    code, out, err = run_cli(*argv)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("error: ") and message in err
    assert "Traceback" not in err


def run_process(*argv: str, **env: str) -> subprocess.CompletedProcess:
    environment = dict(os.environ, **env)
    return subprocess.run([sys.executable, "-m", "kubectl_pss", *argv], capture_output=True, text=True,
                          cwd=ROOT, env=environment, timeout=60)


def test_process_exit_codes_and_streams():
    ok = run_process("check", "-f", "examples/manifests/restricted-deployment.yaml", "--level", "restricted", "-o", "json")
    assert ok.returncode == 0 and json.loads(ok.stdout)["results"][0]["allowed"] is True
    assert ok.stderr == defaults_note("shop")
    denied = run_process("check", "-f", "examples/manifests", "--level", "restricted")
    assert denied.returncode == 1
    bad = run_process("check", "-f", "missing.yaml")
    assert bad.returncode == 2 and bad.stderr.strip() == "error: missing.yaml: no such file or directory"


def test_help_and_version_do_not_import_kubernetes_or_tabulate(tmp_path):
    code = (
        "import sys\n"
        "from kubectl_pss.cli import main\n"
        "main(['--help']); main(['version']); main(['version', '-o', 'json'])\n"
        "print('MODULES', 'kubernetes' in sys.modules, 'tabulate' in sys.modules)\n"
    )
    # no kubeconfig (version asks a server when there is one): the same result on any machine
    env = {k: v for k, v in os.environ.items() if k not in ("KUBECONFIG", "KUBERNETES_SERVICE_HOST")}
    env["HOME"] = str(tmp_path)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60,
                          env=env)
    assert proc.returncode == 0, proc.stderr
    assert "MODULES False False" in proc.stdout
    assert "Commands:" in proc.stdout and "check" in proc.stdout


def test_flags_before_the_command_are_accepted(run_cli):
    code, out, _ = run_cli("-o", "json", "check", "-f", str(EXAMPLES / "baseline-pod.yaml"))
    assert code == 0 and json.loads(out)["results"][0]["strictestLevel"] == "baseline"


def test_version_command(run_cli, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))  # no kubeconfig: no server to ask (tests/commands/test_version.py)
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    code, out, _ = run_cli("version", "-o", "json")
    assert code == 0 and json.loads(out)["newestPolicyVersion"] == "v1.37"
    code, out, _ = run_cli("--version")
    assert code == 0 and out.startswith("kubectl-pss v")


def test_unexpected_errors_are_one_line_unless_debugging(run_cli, monkeypatch):
    import kubectl_pss.commands.version as version_command

    def boom(options):
        raise RuntimeError("boom")

    monkeypatch.setattr(version_command, "run", boom)
    monkeypatch.delenv("KUBECTL_PSS_DEBUG", raising=False)
    code, out, err = run_cli("version")
    assert code == 2 and out == ""
    assert err == "error: internal error: RuntimeError: boom (a bug in kubectl-pss; KUBECTL_PSS_DEBUG=1 shows the traceback)\n"
    monkeypatch.setenv("KUBECTL_PSS_DEBUG", "1")
    with pytest.raises(RuntimeError):
        main(["version"])


def test_flags_before_the_command_go_behind_its_sub_commands():
    from kubectl_pss.cli import _split_command

    assert _split_command(["--context", "x", "seccomp", "install", "p.json", "--path", "a.json", "n1"]) == (
        "seccomp", ["install", "p.json", "--path", "a.json", "n1", "--context", "x"])
    assert _split_command(["-o", "json", "check", "-f", "a", "--", "-b"]) == ("check", ["-f", "a", "-o", "json", "--", "-b"])


def test_double_dash_before_the_command():
    from kubectl_pss.cli import _split_command

    assert _split_command(["--", "audit", "-A"]) == ("audit", ["-A"])
    assert _split_command(["-o", "json", "--", "version"]) == ("version", ["-o", "json"])
    assert _split_command(["--"]) == (None, [])


def test_level_takes_l_colon_v_as_label_does(tmp_path, run_cli):
    """(review of issue 12) --level restricted:v1.7 means --level restricted --version v1.7; both, differing: 2."""
    (tmp_path / "pod.yaml").write_text(PRIVILEGED_POD)
    code, out, err = run_cli("check", "-f", str(tmp_path), "--level", "restricted:v1.7", "-o", "json")
    assert code == 1, err
    assert json.loads(out)["results"][0]["version"] == "v1.7"
    code, out, _ = run_cli("check", "-f", str(tmp_path), "--level", "restricted:v1.7", "--version", "v1.7", "-o", "json")
    assert code == 1 and json.loads(out)["results"][0]["version"] == "v1.7"
    code, out, err = run_cli("check", "-f", str(tmp_path), "--level", "restricted:v1.7", "--version", "v1.8")
    assert code == 2 and out == "" and err.count("\n") == 1
    assert 'error: --level "restricted:v1.7" and --version "v1.8" name different versions' in err
    code, _, err = run_cli("check", "-f", str(tmp_path), "--level", "restricted:1.7")
    assert code == 2 and 'invalid --level "restricted:1.7": must be "latest" or "v1.x"' in err
