"""House rules across commands: bad input is one line on stderr and exit 2 (never an internal error),
``-o json`` stays one document when something fails, commands that need no cluster do not import
``kubernetes``, and escape codes only reach a terminal that takes them."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import yaml

from tests.scenarios import load_mixed_cluster

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
KIND_SNAPSHOT = EXAMPLES / "kind-cluster.json"


def assert_one_line_usage_error(code: int, err: str, *fragments: str) -> None:
    assert code == 2, err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert "internal error" not in err and "Traceback" not in err
    for fragment in fragments:
        assert fragment in err, err


@pytest.fixture
def no_kubeconfig(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)


# --- kubeconfig files that are not what kubectl reads ------------------------------------------------------
SERVER = {"name": "c", "cluster": {"server": "https://127.0.0.1:1"}}
CONTEXT = {"name": "x", "context": {"cluster": "c", "user": "u"}}
BAD_SHAPES = {
    "clusters is a number": ({"clusters": 5}, "clusters must be a list"),
    "a context that is a number": ({"contexts": [{"name": "x", "context": 5}], "current-context": "x",
                                    "clusters": [SERVER]}, "contexts[0].context must be a mapping"),
    "current-context is a list": ({"current-context": ["x"]}, "current-context must be a string"),
    "a context's cluster is a list": ({"contexts": [{"name": "x", "context": {"cluster": ["c"]}}],
                                       "current-context": "x", "clusters": [SERVER]},
                                      "contexts[0].context.cluster must be a string"),
    "server is a number": ({"contexts": [CONTEXT], "current-context": "x",
                            "clusters": [{"name": "c", "cluster": {"server": 5}}]},
                           "clusters[0].cluster.server must be a string"),
    "an entry that is a string": ({"users": ["u"]}, "users[0] must be a mapping"),
}


@pytest.mark.parametrize("case", BAD_SHAPES)
def test_kubeconfig_of_the_wrong_shape_is_one_line(run_cli, tmp_path, case):
    document, message = BAD_SHAPES[case]
    path = tmp_path / "config"
    path.write_text(yaml.safe_dump(document))
    code, out, err = run_cli("audit", "-A", "--kubeconfig", path)
    assert_one_line_usage_error(code, err, f"kubeconfig {path}: {message}")
    assert out == ""
    # version never fails: it says the server is unreachable, and why
    code, out, err = run_cli("version", "--kubeconfig", path)
    assert code == 0 and err == "" and message in out


def test_kubeconfig_that_is_not_text_is_one_line(run_cli, tmp_path):
    path = tmp_path / "config"
    path.write_bytes(b"apiVersion: v1\n\x91\xff\xfe binary\n")
    code, _, err = run_cli("simulate", "restricted", "--kubeconfig", path)
    assert_one_line_usage_error(code, err, f"kubeconfig {path} is not UTF-8 text")
    code, out, err = run_cli("version", "--kubeconfig", path, "-o", "json")
    report = json.loads(out)
    assert code == 0 and report["serverStatus"]["state"] == "notConnected" and report["server"] is None
    assert "is not UTF-8 text" in report["errors"][0]["message"]


def test_kubeconfig_that_is_a_directory_says_so(run_cli, tmp_path):
    code, _, err = run_cli("audit", "--kubeconfig", tmp_path)
    assert_one_line_usage_error(code, err, f"kubeconfig {tmp_path}: is a directory, not a file")


def test_insecure_skip_tls_verify_adds_no_warnings_to_stderr(run_cli, apiserver, tmp_path):
    config = yaml.safe_load(apiserver.kubeconfig_path.read_text())
    cluster = config["clusters"][0]["cluster"]
    cluster.pop("certificate-authority-data")
    cluster["insecure-skip-tls-verify"] = True
    path = tmp_path / "insecure"
    path.write_text(yaml.safe_dump(config))
    load_mixed_cluster(apiserver)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # as a user's Python shows them: on stderr, two lines per request
        code, out, err = run_cli("audit", "-A", "--kubeconfig", path, "-o", "json")
    assert code == 0 and json.loads(out)["namespaces"] and err == ""
    # no urllib3 InsecureRequestWarning per request (kubectl says nothing either)
    assert [str(w.message) for w in caught if "Unverified HTTPS" in str(w.message)] == []


# --- durations ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("flag, value", [("--request-timeout", "2562048h"), ("--request-timeout", "9" * 20),
                                         ("--pod-timeout", "2562048h")])
def test_durations_beyond_what_go_and_sockets_take_are_bad_input(run_cli, apiserver, flag, value):
    command = ["audit", "-A"] if flag == "--request-timeout" else ["nodes"]
    code, out, err = run_cli(*command, "--kubeconfig", apiserver.kubeconfig_path, flag, value)
    assert_one_line_usage_error(code, err, f'invalid {flag} "{value}"')
    assert out == "" and apiserver.requests == []


# --- manifests and admission configurations ----------------------------------------------------------------
def test_check_deeply_nested_json_is_a_load_error(run_cli, tmp_path):
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000)
    code, out, err = run_cli("check", "-f", path, "-o", "json")
    assert code == 2 and "internal error" not in err
    assert json.loads(out)["errors"] == [{"message": "invalid JSON: nested too deeply", "source": str(path),
                                          "document": 0}]


def _admission_config(tmp_path: Path, name: str, plugins) -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump({"apiVersion": "apiserver.config.k8s.io/v1", "kind": "AdmissionConfiguration",
                                    "plugins": plugins}))
    return path


def test_admission_config_file_of_the_wrong_shape_is_one_line(run_cli, tmp_path):
    cases = [
        (_admission_config(tmp_path, "number.yaml", 5), "plugins must be a list"),
        (_admission_config(tmp_path, "list-path.yaml", [{"name": "PodSecurity", "path": ["x"]}]),
         "the PodSecurity plugin's path must be a string"),
        # a path naming the file itself: followed once, then refused (was: RecursionError)
        (_admission_config(tmp_path, "self.yaml", [{"name": "PodSecurity", "path": "self.yaml"}]),
         "must name a PodSecurityConfiguration, not another AdmissionConfiguration"),
        (tmp_path, f"{tmp_path}: is a directory, not a file"),
    ]
    for path, message in cases:
        code, out, err = run_cli("audit", "--snapshot", KIND_SNAPSHOT, "--admission-config", path)
        assert_one_line_usage_error(code, err, "--admission-config: ", message)
        assert out == ""


def test_admission_config_path_to_a_pod_security_configuration_is_followed(run_cli, tmp_path):
    (tmp_path / "psc.yaml").write_text(yaml.safe_dump({
        "apiVersion": "pod-security.admission.config.k8s.io/v1", "kind": "PodSecurityConfiguration",
        "defaults": {"enforce": "baseline"}}))
    path = _admission_config(tmp_path, "admission.yaml", [{"name": "PodSecurity", "path": "psc.yaml"}])
    code, out, err = run_cli("audit", "--snapshot", KIND_SNAPSHOT, "--admission-config", path, "-o", "json")
    assert code == 0, err
    default = {ns["name"]: ns for ns in json.loads(out)["namespaces"]}["default"]
    assert default["labels"]["enforce"] == {"level": "baseline", "version": "latest", "source": "default"}


def test_admission_config_from_cluster_and_check_conflict(run_cli, tmp_path):
    code, out, err = run_cli("admission-config", "--from-cluster", "--check", KIND_SNAPSHOT, "--offline")
    assert_one_line_usage_error(code, err, "--from-cluster", "--check")
    assert out == ""


# --- snapshots that cannot stand for a cluster --------------------------------------------------------------
NAMESPACE = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "n"}}


def _pod(spec=None, **metadata) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "n", **metadata},
            "spec": {"containers": [{"name": "c", "image": "i"}]} if spec is None else spec}


MALFORMED = {
    "containers is a number": (_pod({"containers": 5}), "Pod n/p: pod spec has a field of the wrong type"),
    "spec is a list": (_pod([]), "Pod n/p: spec is not an object"),
    "ports is a number": (_pod({"containers": [{"name": "c", "image": "i", "ports": 5}]}),
                          "Pod n/p: pod spec has a field of the wrong type"),
    "ownerReferences is a number": (_pod(ownerReferences=5), "Pod p: metadata.ownerReferences is not a list"),
    "an owner's uid is a list": (_pod(ownerReferences=[{"kind": "ReplicaSet", "name": "r", "uid": ["u"],
                                                        "controller": True}]),
                                 "Pod p: metadata.ownerReferences is not a list"),
    "a namespace name that is a list": ({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ["n"]}},
                                        "a Namespace's metadata.name is not a string"),
}


@pytest.mark.parametrize("case", MALFORMED)
@pytest.mark.parametrize("command", [["audit"], ["simulate", "restricted"]])
def test_malformed_snapshot_objects_are_one_line(run_cli, tmp_path, case, command):
    obj, message = MALFORMED[case]
    path = tmp_path / "snapshot.json"
    path.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": [NAMESPACE, obj]}))
    code, out, err = run_cli(*command, "--snapshot", path, "-o", "json")
    assert_one_line_usage_error(code, err, "--snapshot: ", message)
    assert out == ""


def test_snapshot_from_stdin_twice_is_refused(run_cli):
    code, out, err = run_cli("audit", "--snapshot", "-", "--snapshot", "-")
    assert_one_line_usage_error(code, err, "stdin (-) can only be read once")


# --- -o json is one document when a list fails ---------------------------------------------------------------
@pytest.mark.parametrize("command", ["verify-apparmor", "verify-seccomp"])
def test_verify_json_is_one_document_when_the_pod_list_fails(run_cli, apiserver, monkeypatch, command):
    import kubectl_pss.cluster.client as client

    monkeypatch.setattr(client, "BACKOFF", (0.0,) * 5)
    load_mixed_cluster(apiserver)
    apiserver.fail("/api/v1/pods", 500, times=100)
    code, out, err = run_cli(command, "-A", "--kubeconfig", apiserver.kubeconfig_path, "-o", "json")
    assert code == 2
    report = json.loads(out)  # the report, with the error in it (was: nothing on stdout)
    assert [e["namespace"] for e in report["errors"]] == [None]
    assert "Internal error occurred" in report["errors"][0]["message"]
    assert err.count("\n") == 1 and "Internal error occurred" in err


# --- no kubernetes import where no cluster is involved --------------------------------------------------------
NO_CLUSTER = [
    ["check", "-f", str(EXAMPLES / "manifests")],
    ["seccomp", "lint", str(EXAMPLES / "seccomp" / "nginx.yaml")],
    ["seccomp", "profile", "--from-audit", os.devnull],
    ["audit", "--snapshot", str(KIND_SNAPSHOT)],
    ["simulate", "restricted", "--snapshot", str(KIND_SNAPSHOT), "-o", "json"],
    ["completion", "bash"],
    ["admission-config", "--check", str(KIND_SNAPSHOT), "--offline"],
    ["version", "--client"],
    ["audit-log", str(EXAMPLES / "audit-events.jsonl"), "--suggest-exemptions"],
    ["--help"],
]


def test_commands_without_a_cluster_do_not_import_kubernetes(tmp_path):
    code = ("import json, sys\nfrom kubectl_pss.cli import main\n"
            f"for argv in {NO_CLUSTER!r}:\n"
            "    main(argv)\n"
            "    if 'kubernetes' in sys.modules:\n"
            "        print('IMPORTED BY', json.dumps(argv), file=sys.stderr); sys.exit(3)\n")
    env = {k: v for k, v in os.environ.items() if k not in ("KUBECONFIG", "KUBERNETES_SERVICE_HOST")}
    env["HOME"] = str(tmp_path)
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr[-2000:]


# --- escape codes --------------------------------------------------------------------------------------------
def test_progress_lines_need_a_terminal_that_takes_escape_codes(monkeypatch, fake_terminal):
    from kubectl_pss.operations.progress import progress_printer

    terminal = fake_terminal()
    monkeypatch.setenv("TERM", "dumb")
    assert progress_printer() is None
    monkeypatch.setenv("TERM", "xterm-256color")
    show = progress_printer()
    assert show is not None
    show("pods: 3")
    assert terminal.written == ["\r\x1b[Kpods: 3"]


def test_corrupt_gzip_audit_log_is_one_line_exit_2(tmp_path, run_cli):
    bad = tmp_path / "audit.log.gz"
    bad.write_bytes(b"\x1f\x8b\x08\x00garbagegarbage")
    code, out, err = run_cli("seccomp", "profile", "--from-audit", bad)
    assert code == 2 and out == "" and err.count("\n") == 1 and err.startswith(f'error: cannot read "{bad}"')


@pytest.mark.parametrize("name, content", [(None, None), ("empty.yaml", ""), ("comments.yaml", "# nothing\n---\n")])
def test_check_with_no_objects_is_an_error(tmp_path, run_cli, name, content):
    path = tmp_path
    if name is not None:
        path = tmp_path / name
        path.write_text(content)
    code, out, err = run_cli("check", "-f", path, "-o", "json")
    assert code == 2 and json.loads(out)["results"] == []
    assert err == f"error: {path}: no Kubernetes objects found\n"
