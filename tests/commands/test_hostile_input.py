"""Hostile and odd input (issue 12, items 6-9) through the real CLI entry and readers.

6: YAML read as kubectl reads it everywhere objects and configs are read (the resolver's table is in
tests/test_goyaml.py); 7: fields of the wrong type get no verdict; 8: control characters from
cluster or manifest data never reach the terminal raw; 9: unreadable directories, FIFOs, huge inputs,
huge integers and deep nesting are per-item errors.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from kubectl_pss.confinement.nodes import parse_kubelet_config
from kubectl_pss.manifests import load_admission_config

from tests.commands.test_check import defaults_note

NOTE = defaults_note("default")  # no input names these namespaces' labels


# --- everywhere a Kubernetes object or config is read from YAML ------------------------------------------
HOSTILE_POD = """\
apiVersion: v1
kind: Pod
metadata: {name: sneaky, namespace: default}
spec:
  hostNetwork: on
  hostPID: Y
  containers:
  - name: c
    image: busybox
    securityContext: {privileged: yes}
"""



def test_check_privileged_yes_hostnetwork_on_hostpid_y_fail_baseline(tmp_path, run_cli):
    path = tmp_path / "pod.yaml"
    path.write_text(HOSTILE_POD)
    code, out, err = run_cli("check", "-f", path, "--level", "baseline", "-o", "json")
    assert code == 1, err
    result, = json.loads(out)["results"]
    assert result["allowed"] is False
    assert {v["check"] for v in result["violations"]} == {"hostNamespaces", "privileged"}
    assert any('hostNetwork=true, hostPID=true' in v["detail"] for v in result["violations"])


def test_snapshot_in_yaml_is_read_as_kubectl_reads_it(tmp_path, run_cli):
    path = tmp_path / "snapshot.yaml"
    path.write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: default}\n---\n" + HOSTILE_POD)
    code, out, err = run_cli("audit", "--snapshot", path, "-o", "json")
    assert code == 0, err
    namespace, = json.loads(out)["namespaces"]
    assert namespace["strictestLevel"] == "privileged"


def test_admission_config_yes_is_no_namespace_name(tmp_path):
    # kube-apiserver decodes namespaces: [yes] as [true] into a []string: an error, not a namespace "yes".
    path = tmp_path / "psc.yaml"
    path.write_text("apiVersion: pod-security.admission.config.k8s.io/v1\nkind: PodSecurityConfiguration\n"
                    "defaults: {enforce: baseline}\nexemptions: {namespaces: [yes]}\n")
    with pytest.raises(ValueError, match=r"exemptions.namespaces\[0\]"):
        load_admission_config(str(path))


def test_spo_seccomp_profile_is_read_as_kubectl_reads_it(tmp_path, run_cli):
    path = tmp_path / "spo.yaml"
    path.write_text("apiVersion: security-profiles-operator.x-k8s.io/v1beta1\nkind: SeccompProfile\n"
                    "metadata: {name: p}\nspec:\n  defaultAction: SCMP_ACT_ERRNO\n  syscalls:\n"
                    "  - action: SCMP_ACT_ALLOW\n    names: [read, on]\n")
    code, out, err = run_cli("seccomp", "lint", path, "-o", "json")
    findings = json.loads(out)["findings"]
    assert code == 1 and any(f["severity"] == "error" and "names[1]" in (f["path"] or "") for f in findings), findings


def test_kubelet_config_seccomp_default_yes_is_true():
    assert parse_kubelet_config("kind: KubeletConfiguration\nseccompDefault: yes\n")["seccompDefault"] is True
    assert parse_kubelet_config("kind: KubeletConfiguration\nfeatureGates: {SeccompDefault: on}\n")["featureGates"] == \
        {"SeccompDefault": True}




# --- 7: fields of the wrong type get no verdict -------------------------------------------------------------
def _pod_doc(name: str, spec: str) -> str:
    return f"apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}, namespace: default}}\nspec:\n{spec}"


WRONG_TYPES = [
    ("containers: \"x\"", "  containers: \"x\"\n", 'Pod p1: spec.containers: expected array, got string'),
    ("containers: [null]", "  containers: [null]\n", "Pod p2: spec.containers[0]: expected object, got null"),
    ("privileged: \"true\"", "  containers:\n  - name: c\n    image: i\n    securityContext: {privileged: \"true\"}\n",
     "Pod p3: spec.containers[0].securityContext.privileged: expected boolean, got string"),
    ("hostPort: \"80\"", "  containers:\n  - name: c\n    image: i\n    ports: [{containerPort: 80, hostPort: \"80\"}]\n",
     "Pod p4: spec.containers[0].ports[0].hostPort: expected integer, got string"),
    ("hostPort beyond int32", "  containers:\n  - name: c\n    image: i\n    ports: [{containerPort: 80, hostPort: 4294967376}]\n",
     "Pod p5: spec.containers[0].ports[0].hostPort: 4294967376 is out of the int32 range"),
    ("runAsUser: 0.5", "  securityContext: {runAsUser: 0.5}\n  containers: [{name: c, image: i}]\n",
     "Pod p6: spec.securityContext.runAsUser: expected integer, got 0.5"),
    ("capabilities.add: a string", "  containers:\n  - name: c\n    image: i\n    securityContext: {capabilities: {add: SYS_ADMIN}}\n",
     "Pod p7: spec.containers[0].securityContext.capabilities.add: expected array, got string"),
    ("hostPath: a string", "  containers: [{name: c, image: i}]\n  volumes: [{name: v, hostPath: /etc}]\n",
     "Pod p8: spec.volumes[0].hostPath: expected object, got string"),
]


def test_check_objects_with_wrong_types_are_errors_and_the_rest_is_reported(tmp_path, run_cli):
    good = _pod_doc("ok", "  hostPID: true\n  containers: [{name: c, image: i}]\n")
    docs = [good] + [_pod_doc(f"p{i + 1}", spec) for i, (_, spec, _) in enumerate(WRONG_TYPES)]
    path = tmp_path / "pods.yaml"
    path.write_text("---\n".join(docs))
    code, out, err = run_cli("check", "-f", path, "--level", "baseline", "-o", "json")
    assert code == 2
    assert err.splitlines() == [NOTE.strip()] + [f"error: {path} (document {i + 1}): {message}" for i, (_, _, message) in enumerate(WRONG_TYPES)]
    result, = json.loads(out)["results"]
    assert (result["name"], result["allowed"]) == ("ok", False)


def test_check_workload_template_with_a_wrong_type_is_an_error(tmp_path, run_cli):
    path = tmp_path / "deploy.json"
    path.write_text(json.dumps({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
                                "spec": {"template": {"spec": {"hostNetwork": "true", "containers": [{"name": "c"}]}}}}))
    code, out, err = run_cli("check", "-f", path, "-o", "json")
    assert code == 2 and json.loads(out)["results"] == []
    assert err == f"error: {path} (document 0): Deployment d: spec.template.spec.hostNetwork: expected boolean, got string\n"


def test_integral_json_numbers_are_integers_as_kubectl_sends_them(tmp_path, run_cli):
    path = tmp_path / "pod.json"
    path.write_text(json.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                                "spec": {"securityContext": {"runAsUser": 0.0}, "containers": [{"name": "c"}]}}))
    code, out, err = run_cli("check", "-f", path, "-o", "json")
    assert code == 0 and err == NOTE
    assert json.loads(out)["results"][0]["name"] == "p"


def test_cluster_objects_with_wrong_types_are_errors_of_their_namespace(apiserver, run_cli):
    apiserver.add_namespace("good")
    apiserver.add_namespace("odd")
    apiserver.add_pod("good", "fine")
    apiserver.add_pod("odd", "fine-too")
    apiserver.add_pod("odd", "liar", {"containers": [{"name": "c", "image": "i", "securityContext": {"privileged": "true"}}]})
    code, out, err = run_cli("audit", "-A", "--kubeconfig", apiserver.kubeconfig_path, "-o", "json")
    report = json.loads(out)
    assert code == 2, err
    assert [(e["namespace"], e["resource"], e["message"]) for e in report["errors"]] == [
        ("odd", "pods", "Pod liar: spec.containers[0].securityContext.privileged: expected boolean, got string")]
    pods = {ns["name"]: ns["pods"] for ns in report["namespaces"]}
    assert pods["good"] == 1 and pods["odd"] is None  # the liar has no verdict; odd's count is unknown (review of 12)


def test_snapshot_objects_with_wrong_types_are_errors_of_their_namespace(tmp_path, run_cli):
    path = tmp_path / "snapshot.json"
    pod = {"apiVersion": "v1", "kind": "Pod", "spec": {"containers": [{"name": "c", "image": "i"}]}}
    path.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "n"}},
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "m"}},
        {**pod, "metadata": {"name": "ok", "namespace": "m"}},
        {**pod, "metadata": {"name": "p", "namespace": "n"}, "spec": {"hostPID": "yes", **pod["spec"]}}]}))
    code, out, err = run_cli("audit", "--snapshot", path, "-o", "json")
    report = json.loads(out)
    assert code == 2, err
    assert report["errors"] == [{"namespace": "n", "resource": "pods",
                                 "message": "Pod p: spec.hostPID: expected boolean, got string"}]
    assert {ns["name"]: ns["pods"] for ns in report["namespaces"]} == {"m": 1, "n": None}  # n: unknown, not 0


# --- 8: control characters never reach the terminal raw --------------------------------------------------------
RAW = ("\x1b", "\x07", "\x9b", "\u202e")


def assert_no_raw_controls(text: str) -> None:
    assert not any(ch in text for ch in RAW), repr(text)


def test_audit_table_shows_hostile_pod_and_container_names_escaped(apiserver, run_cli):
    apiserver.add_namespace("apps")
    apiserver.add_pod("apps", "evil\x1b]0;owned\x07", {"hostPID": True, "containers": [
        {"name": "c\x1b[2J\u202e", "image": "i", "securityContext": {"privileged": True}}]})
    code, out, err = run_cli("audit", "-A", "--kubeconfig", apiserver.kubeconfig_path)
    assert code == 0, err
    assert_no_raw_controls(out + err)
    assert "evil\\x1b]0;owned\\x07" in out and 'container "c\\x1b[2J\\u202e"' in out
    # JSON was already safe: the same names, as JSON escapes
    code, out, _ = run_cli("audit", "-A", "--kubeconfig", apiserver.kubeconfig_path, "-o", "json")
    assert "evil\\u001b]0;owned\\u0007" in out and "\x1b" not in out


def test_verify_apparmor_table_escapes_names_proc_contents_and_kubelet_messages(apiserver, make_kubeconfig, run_cli):
    from tests.apiserver.runtime import FakeNode
    from tests.commands.test_verify import box

    rt = apiserver.runtime
    rt.start_delay = 0.02
    rt.add_node("node-a")
    apiserver.add_namespace("apps")
    rt.add_pod("apps", "evil\x1b]8;;http://x\x07", [{"name": "app", "securityContext": {
        "appArmorProfile": {"type": "RuntimeDefault"}}}])
    rt.add_pod("apps", "image", [{"name": "app", "securityContext": {
        "appArmorProfile": {"type": "RuntimeDefault"}}}], handlers={"app": box("\x1b[2Jk8s-\u202eevil (enforce)\n")})
    rt.add_pod("apps", "blocked", [{"name": "app", "securityContext": {
        "appArmorProfile": {"type": "Localhost", "localhostProfile": "k8s-missing"}}}],
        phase="Pending", states={"app": {"waiting": {"reason": "Blocked"}}})
    apiserver._stores["pods"].get("apps", "blocked")["status"].update(
        reason="AppArmor", message="profile \x1b[8mhidden\x1b[0m is not loaded")
    rt.on_node("node-a", FakeNode({}))
    kubeconfig = make_kubeconfig([apiserver.context("lab", namespace="apps")], "lab")
    code, out, err = run_cli("verify-apparmor", "--kubeconfig", kubeconfig, "--no-color")
    assert_no_raw_controls(out + err)
    assert "evil\\x1b]8;;http://x\\x07" in out
    assert "\\x1b[2Jk8s-\\u202eevil" in out
    assert "profile \\x1b[8mhidden\\x1b[0m is not loaded" in out


def test_check_table_and_error_lines_escape_manifest_strings(tmp_path, run_cli):
    path = tmp_path / "pod.yaml"
    path.write_text('kind: Pod\nmetadata: {name: "p\\e]0;t\\a"}\nspec:\n  containers:\n'
                    '  - {name: "c\\e[1;1H\\u202e", image: i, securityContext: {privileged: true}}\n---\n'
                    'kind: Pod\nmetadata: {name: "q\\e[2J"}\nspec: {hostPID: "\\e[2J"}\n')
    code, out, err = run_cli("check", "-f", path, "--level", "baseline")
    assert code == 2
    assert_no_raw_controls(out + err)
    assert "Pod/p\\x1b]0;t\\x07" in out and 'container "c\\x1b[1;1H\\u202e" must not set' in out
    assert err == NOTE + f"error: {path} (document 1): Pod q\\x1b[2J: spec.hostPID: expected boolean, got string\n"


def test_painted_cells_keep_their_colours_and_lose_everything_else():
    from kubectl_pss.report.color import Palette
    from kubectl_pss.report.render import format_table, terminal_safe

    palette = Palette(True)
    table = format_table([[palette.paint("privileged\x1b]0;x\x07", "privileged"), "n\x1b[2J\x9b"]], ["a", "b"])
    assert "\x1b[31mprivileged\\x1b]0;x\\x07\x1b[0m" in table and "n\\x1b[2J\\x9b" in table
    assert terminal_safe("line\nnext\r", keep_newlines=True) == "line\nnext\\x0d"
    assert terminal_safe("\u2066x\u2069\u202a") == "\\u2066x\\u2069\\u202a"


# --- 9: unreadable directories, non-regular files, huge inputs, huge numbers, deep nesting ---------------------
GOOD_POD = "apiVersion: v1\nkind: Pod\nmetadata: {name: NAME}\nspec:\n  containers: [{name: c, image: i}]\n"


def good_pod(name: str) -> str:
    return GOOD_POD.replace("NAME", name)


def check_subprocess(*args: str, cwd: Path, stdin: str | None = None) -> "subprocess.CompletedProcess[str]":
    """check in its own process, bounded: on a FIFO or a device the old code blocked or read forever."""
    import resource
    import subprocess
    import sys

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))

    root = Path(__file__).resolve().parents[2]
    return subprocess.run([sys.executable, "-m", "kubectl_pss", "check", *args, "-o", "json"], cwd=cwd, text=True,
                          input=stdin if stdin is not None else "", capture_output=True, timeout=30,
                          preexec_fn=limit, env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin", "HOME": str(cwd)})


def test_unreadable_subdirectory_is_an_error_and_the_rest_is_read(tmp_path, run_cli, monkeypatch):
    import os

    (tmp_path / "a.yaml").write_text(good_pod("a"))
    (tmp_path / "locked").mkdir()
    (tmp_path / "locked" / "hidden.yaml").write_text(good_pod("hidden"))
    (tmp_path / "z").mkdir()
    (tmp_path / "z" / "z.yaml").write_text(good_pod("z"))
    real_scandir = os.scandir

    def scandir(path="."):  # root reads every directory: deny one as a non-root user would be denied
        if os.fspath(path) == str(tmp_path / "locked"):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    code, out, err = run_cli("check", "-f", tmp_path, "-o", "json")
    assert code == 2
    assert err == NOTE + f"error: {tmp_path / 'locked'}: cannot read directory: permission denied\n"
    assert [r["name"] for r in json.loads(out)["results"]] == ["a", "z"]


def test_fifos_and_devices_are_skipped_with_an_error(tmp_path):
    import os

    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "a.yaml").write_text(good_pod("a"))
    os.mkfifo(tmp_path / "dir" / "pipe.yaml")
    os.mkfifo(tmp_path / "named.json")
    proc = check_subprocess("-f", "dir", "-f", "named.json", "-f", "/dev/zero", "-f", "-", cwd=tmp_path,
                            stdin=good_pod("from-stdin"))
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.splitlines() == [NOTE.strip(),
        "error: dir/pipe.yaml: a FIFO, not a regular file: skipped",
        "error: named.json: a FIFO, not a regular file: skipped",
        "error: /dev/zero: a character device, not a regular file: skipped"]
    assert [r["name"] for r in json.loads(proc.stdout)["results"]] == ["a", "from-stdin"]


def test_an_input_over_256_mib_is_not_read(tmp_path, run_cli):
    big = tmp_path / "big.yaml"
    with open(big, "wb") as handle:
        handle.truncate(256 * 1024 * 1024 + 1)  # sparse: no disk, and no memory if it is not read
    (tmp_path / "ok.yaml").write_text(good_pod("ok"))
    code, out, err = run_cli("check", "-f", big, "-f", tmp_path / "ok.yaml", "-o", "json")
    assert code == 2 and err == NOTE + f"error: {big}: larger than 256 MiB: not read\n"
    assert [r["name"] for r in json.loads(out)["results"]] == ["ok"]


HUGE = "1" + "0" * 5000


def test_json_integer_over_4300_digits_is_an_error_of_its_document(tmp_path, run_cli):
    path = tmp_path / "pods.json"
    pod = {"apiVersion": "v1", "kind": "Pod", "spec": {"containers": [{"name": "c"}]}}
    path.write_text(json.dumps({**pod, "metadata": {"name": "a"}}) + '\n{"kind": "Pod", "x": ' + HUGE + '}\n'
                    + json.dumps({**pod, "metadata": {"name": "b"}}))
    code, out, err = run_cli("check", "-f", path, "-o", "json")
    assert code == 2 and err == NOTE + f"error: {path} (document 1): invalid JSON: an integer has too many digits\n"
    assert [(r["document"], r["name"]) for r in json.loads(out)["results"]] == [(0, "a"), (2, "b")]


def test_yaml_integer_over_4300_digits_is_a_string_as_go_reads_it(tmp_path, run_cli):
    # go-yaml v2: ParseFloat fails with ErrRange, so the scalar stays a string; in runAsUser a wrong type
    path = tmp_path / "pods.yaml"
    path.write_text(good_pod("a") + "---\n" + good_pod("b").replace("spec:\n", f"spec:\n  securityContext: {{runAsUser: {HUGE}}}\n")
                    + "---\n" + good_pod("c") + f"---\nkind: ConfigMap\nmetadata: {{name: big}}\ndata: {{n: {HUGE}}}\n")
    code, out, err = run_cli("check", "-f", path, "-o", "json")
    assert code == 2
    assert err == NOTE + f"error: {path} (document 1): Pod b: spec.securityContext.runAsUser: expected integer, got string\n"
    report = json.loads(out)
    assert [r["name"] for r in report["results"]] == ["a", "c"] and report["skipped"][0]["name"] == "big"


@pytest.mark.parametrize("suffix", ["json", "yaml"])
def test_nesting_5000_deep_is_an_error_of_its_document(tmp_path, run_cli, suffix):
    path = tmp_path / f"pods.{suffix}"
    deep = "[" * 5000 + "]" * 5000
    if suffix == "json":
        pod = {"apiVersion": "v1", "kind": "Pod", "spec": {"containers": [{"name": "c"}]}}
        text = "\n".join([json.dumps({**pod, "metadata": {"name": "a"}}), deep, json.dumps({**pod, "metadata": {"name": "b"}})])
        message = "invalid JSON: nested too deeply"
    else:
        text = good_pod("a") + "---\n" + deep + "\n---\n" + good_pod("b")
        message = "invalid YAML: exceeded maximum nesting depth at line 7 column"
    path.write_text(text)
    code, out, err = run_cli("check", "-f", path, "-o", "json")
    assert code == 2 and err.startswith(NOTE + f"error: {path} (document 1): {message}") and err.count("\n") == 2, err
    assert [(r["document"], r["name"]) for r in json.loads(out)["results"]] == [(0, "a"), (2, "b")]


def test_a_bad_yaml_document_does_not_hide_the_next_ones(tmp_path, run_cli):
    path = tmp_path / "pods.yaml"
    path.write_text(good_pod("a") + "---\nkind: Pod\nmetadata: [\n---\n" + good_pod("b") + "---\nv: .inf\n---\n" + good_pod("c"))
    code, out, err = run_cli("check", "-f", path, "-o", "json")
    assert code == 2
    note, *lines = err.splitlines()
    assert note == NOTE.strip() and len(lines) == 2 and lines[0].startswith(f"error: {path} (document 1): invalid YAML: ")
    assert lines[1].startswith(f"error: {path} (document 3): invalid YAML: the value .inf cannot be represented in JSON")
    assert [(r["document"], r["name"]) for r in json.loads(out)["results"]] == [(0, "a"), (2, "b"), (4, "c")]


def test_lines_around_tables_escape_snapshot_data_too(tmp_path, run_cli):
    path = tmp_path / "snapshot.json"
    path.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "n"}},
            {"apiVersion": "v1", "kind": "Evil\x1b]0;owned\x07", "metadata": {"name": "x"}},
        {"apiVersion": "kubectl-pss/v1", "kind": "ClusterInfo",  # what it holds: no pods, no workloads
         "lists": ["namespaces", "pods", "replicationcontrollers", "replicasets", "deployments", "statefulsets",
                   "daemonsets", "jobs", "cronjobs"]}]}))
    code, out, err = run_cli("audit", "--snapshot", path)
    assert code == 0, err
    assert_no_raw_controls(out + err)
    assert "ignored objects of other kinds: 1 Evil\\x1b]0;owned\\x07" in err


def test_yaml_written_by_the_tool_reads_back_as_written(apiserver, tmp_path, run_cli):
    # PyYAML's YAML 1.1 rules leave y, n, 0o17, 08 and 1e3 plain; kubectl would read them as true, false, 15, 8.0, 1000.0
    apiserver.add_namespace("apps", labels={"team": "y", "cost": "08"})
    apiserver.add_pod("apps", "n", {"containers": [{"name": "1e3", "image": "i"}]})
    apiserver._stores["pods"].get("apps", "n")["metadata"]["annotations"] = {
        "container.apparmor.security.beta.kubernetes.io/1e3": "0o17"}
    dump = tmp_path / "snapshot.yaml"
    code, _, err = run_cli("snapshot", "-A", "-o", dump, "--kubeconfig", apiserver.kubeconfig_path)
    assert code == 0, err
    text = dump.read_text()
    assert "team: 'y'" in text and "name: '1e3'" in text and ": '0o17'" in text
    code, out, err = run_cli("audit", "--snapshot", dump, "-o", "yaml")
    assert code == 0, err
    assert "name: 'n'" in out  # -o yaml is for kubectl-reading tools too
    from kubectl_pss.goyaml import load

    finding, = load(out)["namespaces"][0]["findings"]
    assert finding["pods"] == ["n"] and '"container.apparmor.security.beta.kubernetes.io/1e3="0o17""' in \
        finding["violations"][0]["detail"]


def test_json_nan_and_infinity_are_errors_of_their_document(tmp_path, run_cli):
    path = tmp_path / "pods.json"
    pod = {"apiVersion": "v1", "kind": "Pod", "spec": {"containers": [{"name": "c"}]}}
    path.write_text('{"kind": "Pod", "spec": {"securityContext": {"runAsUser": NaN}}}\n'
                    + json.dumps({**pod, "metadata": {"name": "b"}}))
    code, out, err = run_cli("check", "-f", path, "-o", "json")
    assert code == 2 and err == NOTE + f"error: {path} (document 0): invalid JSON: NaN is not a JSON number\n"
    assert [(r["document"], r["name"]) for r in json.loads(out)["results"]] == [(1, "b")]


def test_admission_config_comments_stay_comments(apiserver, make_kubeconfig, run_cli):
    # the context's name goes into the header: a newline in it must not start YAML content
    apiserver.add_namespace("apps")
    kubeconfig = make_kubeconfig([apiserver.context("lab\nkind: Evil\x1b[2J")], "lab\nkind: Evil\x1b[2J")
    code, out, err = run_cli("admission-config", "--from-cluster", "--kubeconfig", kubeconfig)
    assert code == 0, err
    assert_no_raw_controls(out)
    assert not any(line.startswith("kind: Evil") for line in out.splitlines())
    assert "on context lab kind: Evil\\x1b[2J" in out


def test_data_that_looks_like_our_colours_is_escaped_when_nothing_is_painted(tmp_path, run_cli):
    """With --no-color (or a pipe) the palette writes no colour, so an ESC in a name is never ours."""
    path = tmp_path / "pod.yaml"
    path.write_text('kind: Pod\nmetadata: {name: "x\\e[32m restricted \\e[0m"}\n'
                    'spec:\n  containers:\n  - {name: c, image: i, securityContext: {privileged: true}}\n')
    code, out, err = run_cli("check", "-f", path, "--level", "baseline", "--no-color")
    assert code == 1, err
    assert_no_raw_controls(out + err)
    assert "Pod/x\\x1b[32m restricted \\x1b[0m" in out
