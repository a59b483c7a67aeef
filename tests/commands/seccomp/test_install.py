"""``seccomp install`` end to end: the real CLI and kubernetes client against the fake API server, one debug
pod per node, exec over WebSocket, and each FakeNode's file tree (what it holds before and after).

The plan without ``--yes`` (or with ``--dry-run=client``) creates no pod; ``--yes --dry-run=server`` reads what is
at the target on each node through a debug pod (``chroot /host cat``): it creates (and deletes) debug pods but
never writes."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from kubectl_pss.operations.seccomp_install import INSTALL_SCRIPT, MAX_PROFILE_BYTES
from tests.apiserver.runtime import ExecOutcome, FakeNode
from tests.signals import DNS_1123_LABEL, signal_while_held, start

REPO = Path(__file__).resolve().parents[2]
ROOT = "/var/lib/kubelet/seccomp"
TARGET = f"{ROOT}/profiles/nginx.json"
# first on each node: the kubelet's command line (its --root-dir gives the seccomp root); no kubelet process here
KUBELET = [["chroot", "/host", "pgrep", "-x", "kubelet"], ["chroot", "/host", "cat", "/var/lib/kubelet/config.yaml"]]
PROFILE = json.dumps({"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"],
                      "syscalls": [{"names": ["execve", "exit_group", "read", "write"], "action": "SCMP_ACT_ALLOW"}]},
                     indent=2) + "\n"
OLD = json.dumps({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["execve"], "action": "SCMP_ACT_ALLOW"}]})
STANZA = "seccompProfile:\n  type: Localhost\n  localhostProfile: profiles/nginx.json\n"


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture
def lab(apiserver, make_kubeconfig, tmp_path):
    """node-a and node-b, Ready, nothing at the target (node-b has another profile in the root); debug pods
    go to the context's namespace ops. ``lab.profile``: PROFILE in a file."""
    server, rt = apiserver, apiserver.runtime
    rt.start_delay = 0.02
    server.add_namespace("ops")
    server.fakes = {}
    for name in ("node-a", "node-b"):
        rt.add_node(name)
        server.fakes[name] = FakeNode(files={"/etc/hostname": f"{name}\n"})
        rt.on_node(name, server.fakes[name])
    server.fakes["node-b"].files[f"{ROOT}/audit.json"] = '{"defaultAction": "SCMP_ACT_LOG"}'
    server.kubeconfig_path = make_kubeconfig([server.context("lab", namespace="ops")], "lab", name="lab-config")
    server.profile = tmp_path / "nginx.json"
    server.profile.write_text(PROFILE)
    server.tmp = tmp_path
    return server


def add_node(lab, name, read_only=(), processes=None, **kwargs):
    lab.runtime.add_node(name, **kwargs)
    lab.fakes[name] = FakeNode(files={}, read_only=read_only, processes=processes)
    lab.runtime.on_node(name, lab.fakes[name])


def install(run_cli, lab, *extra, profile=None):
    return run_cli("seccomp", "install", profile or lab.profile, "--path", "profiles/nginx.json",
                   "--kubeconfig", lab.kubeconfig_path, *extra)


def install_json(run_cli, lab, *extra, profile=None):
    code, out, err = install(run_cli, lab, "-o", "json", *extra, profile=profile)
    return code, json.loads(out), err


def statuses(report):
    return {n["node"]: n["status"] for n in report["nodes"]}


def all_pods_gone(lab):
    rt = lab.runtime
    return rt.pods_alive() == [] and sorted(rt.deleted) == sorted(rt.created)


# --- the plan -----------------------------------------------------------------------------------------------------
def test_plan_without_yes_creates_no_pod_and_writes_nothing(run_cli, lab):
    before = {name: dict(fake.files) for name, fake in lab.fakes.items()}
    code, out, err = install(run_cli, lab, "node-a", "node-b")
    assert code == 0 and out == STANZA
    assert {name: fake.files for name, fake in lab.fakes.items()} == before  # nothing written
    assert all(fake.calls == [] for fake in lab.fakes.values())  # nothing run on the nodes
    assert lab.runtime.created == [] and all_pods_gone(lab)  # a debug pod is a change: not without --yes
    assert "plan only (no --yes): nothing is written and no debug pod is created" in err
    assert "node node-a: not-read: reading the node's file takes a privileged debug pod" in err
    assert err.rstrip().endswith("2 node(s): 2 not-read; nothing written: --yes writes")
    assert f"sha256 {sha(PROFILE)}" in err and "lint: 0 error(s), 0 warning(s)" in err


def test_read_only_plan_with_yes_and_dry_run(run_cli, lab):
    before = {name: dict(fake.files) for name, fake in lab.fakes.items()}
    code, out, err = install(run_cli, lab, "node-a", "node-b", "--yes", "--dry-run=server")
    assert code == 0 and out == STANZA
    assert {name: fake.files for name, fake in lab.fakes.items()} == before  # nothing written
    for fake in lab.fakes.values():  # one read-only command per node: cat of the target
        assert fake.calls == KUBELET + [["chroot", "/host", "cat", TARGET]]
    assert len(lab.runtime.created) == 2 and all_pods_gone(lab)  # the plan's debug pods, deleted
    assert "plan only (--dry-run=server): nothing is written; each node is read through a debug pod" in err
    assert "node node-a: would create it (no file there)" in err
    assert err.rstrip().endswith("2 node(s): 2 would-create; nothing written (--dry-run=server)")


def test_plan_json_and_dry_run_with_yes(run_cli, lab):
    lab.fakes["node-b"].files[TARGET] = OLD
    code, report, err = install_json(run_cli, lab, "--all-nodes", "--yes", "--dry-run=server", "--overwrite")
    assert code == 0 and (report["operation"], report["outcome"]) == ("plan", "planned")
    assert statuses(report) == {"node-a": "would-create", "node-b": "would-overwrite"}
    b = report["nodes"][1]
    assert b["existing"] == {"sha256": sha(OLD), "size": len(OLD)} and report["nodes"][0]["existing"] is None
    assert lab.fakes["node-b"].files[TARGET] == OLD and TARGET not in lab.fakes["node-a"].files
    assert not any(call[2] == "sh" for fake in lab.fakes.values() for call in fake.calls)
    assert "nothing written (--dry-run=server)" in err
    assert report["seccompProfile"] == {"type": "Localhost", "localhostProfile": "profiles/nginx.json"}
    assert (report["target"], report["seccompRoot"], report["path"]) == (TARGET, ROOT, "profiles/nginx.json")
    assert report["profile"]["sha256"] == sha(PROFILE) and report["profile"]["size"] == len(PROFILE)
    assert [(p["node"], p["deleted"], p["namespace"]) for p in report["debugPods"]] == [
        ("node-a", True, "ops"), ("node-b", True, "ops")]


# --- writing ------------------------------------------------------------------------------------------------------
def test_install_on_two_nodes(run_cli, lab):
    code, report, err = install_json(run_cli, lab, "node-a", "node-b", "--yes")
    assert code == 0, err
    assert (report["operation"], report["outcome"]) == ("install", "installed")
    assert statuses(report) == {"node-a": "written", "node-b": "written"}
    assert all(n["sha256"] == sha(PROFILE) for n in report["nodes"])
    for name, fake in lab.fakes.items():
        assert fake.files[TARGET] == PROFILE  # byte for byte, the trailing newline too
        # read, write (content and path as arguments of a fixed script), read back
        write = ["chroot", "/host", "sh", "-c", INSTALL_SCRIPT, "sh", PROFILE, TARGET, f"{ROOT}/profiles", "absent", ""]
        assert fake.calls == KUBELET + [["chroot", "/host", "cat", TARGET], write, ["chroot", "/host", "cat", TARGET]]
    assert lab.fakes["node-b"].files[f"{ROOT}/audit.json"]  # the rest of the root is left alone
    assert report["summary"] == {"nodes": 2, "written": 2, "unchanged": 0, "wouldCreate": 0, "wouldOverwrite": 0,
                                 "existsDifferent": 0, "failed": 0, "skipped": 0, "notRead": 0}
    pods = report["debugPods"]
    assert all_pods_gone(lab) and [p["deleted"] for p in pods] == [True, True]
    for p in pods:
        assert p["name"].startswith(f"pss-seccomp-{p['node']}-")
        assert f"created debug pod ops/{p['name']} on node {p['node']}" in err
        assert f"deleted debug pod ops/{p['name']}" in err
    assert "node node-a: written, sha256 verified; a new file" in err


def test_yaml_stanza_and_rerun_is_unchanged(run_cli, lab):
    code, out, err = install(run_cli, lab, "--all-nodes", "--yes")
    assert code == 0 and out == STANZA
    assert yaml.safe_load(out) == {"seccompProfile": {"type": "Localhost", "localhostProfile": "profiles/nginx.json"}}
    for fake in lab.fakes.values():
        fake.calls.clear()
    code, report, err = install_json(run_cli, lab, "--all-nodes", "--yes")
    assert code == 0 and statuses(report) == {"node-a": "unchanged", "node-b": "unchanged"}
    assert report["nodes"][0]["existing"] == {"sha256": sha(PROFILE), "size": len(PROFILE)}
    assert all(fake.calls == KUBELET + [["chroot", "/host", "cat", TARGET]] for fake in lab.fakes.values())  # no write
    assert "node node-b: unchanged: the same profile is already there" in err


def test_exists_different_is_refused_without_overwrite(run_cli, lab):
    lab.fakes["node-b"].files[TARGET] = OLD
    code, report, err = install_json(run_cli, lab, "--all-nodes", "--yes")
    assert code == 1 and report["outcome"] == "incomplete"
    assert statuses(report) == {"node-a": "written", "node-b": "exists-different"}
    assert lab.fakes["node-b"].files[TARGET] == OLD and lab.fakes["node-a"].files[TARGET] == PROFILE
    assert report["nodes"][1]["existing"]["sha256"] == sha(OLD)
    assert f"node node-b: exists-different: a different file is there (sha256 {sha(OLD)[:12]}" in err
    assert "--overwrite replaces it" in err and all_pods_gone(lab)
    # the plan says so too (and exits 1: it would be refused)
    code, report, _ = install_json(run_cli, lab, "node-b", "--yes", "--dry-run=server")
    assert code == 1 and statuses(report) == {"node-b": "exists-different"}
    # --overwrite replaces it
    code, report, err = install_json(run_cli, lab, "--all-nodes", "--yes", "--overwrite")
    assert code == 0 and statuses(report) == {"node-a": "unchanged", "node-b": "written"}
    assert lab.fakes["node-b"].files[TARGET] == PROFILE
    assert "node node-b: written, sha256 verified; replaced a different file (sha256" in err


# --- lint ---------------------------------------------------------------------------------------------------------
def test_lint_errors_refuse_the_profile(run_cli, lab):
    bad = lab.tmp / "bad.json"
    bad.write_text(json.dumps({"defaultAction": "SCMP_ACT_ERRNO",
                               "syscalls": [{"names": ["execve", "no_such_call"], "action": "SCMP_ACT_ALLOW"}]}))
    lab.clear_requests()
    code, out, err = install(run_cli, lab, "--all-nodes", "--yes", profile=bad)
    assert code == 1 and out == "" and lab.requests == [] and lab.runtime.created == []
    assert '"no_such_call" is not a syscall' in err
    assert "error: " + str(bad) + ": 1 lint error(s): not installed (--ignore-lint installs it anyway)" in err
    code, report, _ = install_json(run_cli, lab, "--all-nodes", "--yes", profile=bad)
    assert code == 1 and report["outcome"] == "refused" and report["nodes"] == []
    lint = report["profile"]["lint"]
    assert lint["summary"] == {"errors": 1, "warnings": 0} and lint["valid"] is False
    # --ignore-lint installs it all the same, and says so
    code, report, err = install_json(run_cli, lab, "--all-nodes", "--yes", "--ignore-lint", profile=bad)
    assert code == 0 and statuses(report) == {"node-a": "written", "node-b": "written"}
    assert report["profile"]["forced"] is True and "(--ignore-lint)" in report["notes"][0]
    assert lab.fakes["node-a"].files[TARGET] == bad.read_text()


def test_lint_warnings_do_not_refuse(run_cli, lab):
    warned = lab.tmp / "warned.json"
    warned.write_text(json.dumps({"defaultAction": "SCMP_ACT_ERRNO",
                                  "syscalls": [{"names": ["read", "read"], "action": "SCMP_ACT_ALLOW"}]}))
    code, out, err = install(run_cli, lab, "node-a", "--yes", profile=warned)
    assert code == 0 and out == STANZA and "lint warning:" in err


# --- bad input: exit 2, one line, nothing asked of the cluster ------------------------------------------------------
@pytest.mark.parametrize("path, message", [
    ("/var/lib/kubelet/seccomp/x.json", "not an absolute path"),
    ("../x.json", "'..' would leave the seccomp root"),
    ("profiles/../../etc/passwd", "'..' would leave the seccomp root"),
    ("", "must not be empty"),
    ("profiles/", "names a directory"),
    (".", "names a directory"),
    ("profiles//x.json", "empty or '.' components"),
    ("./x.json", "empty or '.' components"),
    ("x\n.json", "control characters"),
])
def test_bad_path(run_cli, lab, path, message):
    lab.clear_requests()
    code, out, err = run_cli("seccomp", "install", lab.profile, "--path", path, "--all-nodes", "--yes",
                             "--kubeconfig", lab.kubeconfig_path)
    assert code == 2 and out == "" and message in err and err.count("\n") == 1
    assert err.startswith("error: invalid --path")
    assert lab.requests == []


def test_bad_input(run_cli, lab):
    big = lab.tmp / "big.json"
    big.write_text(json.dumps({"defaultAction": "SCMP_ACT_ERRNO", "pad": "x" * MAX_PROFILE_BYTES}))
    spo = lab.tmp / "spo.json"
    spo.write_text(json.dumps({"kind": "SeccompProfile", "spec": {"defaultAction": "SCMP_ACT_ERRNO"}}))
    notjson = lab.tmp / "notjson.json"
    notjson.write_text("defaultAction: SCMP_ACT_ERRNO\n")
    cases = [
        ([big, "node-a"], "more than 102400 bytes (100 KiB)"),
        ([spo, "node-a"], "Security Profiles Operator SeccompProfile"),
        ([notjson, "node-a"], "not JSON"),
        ([lab.tmp / "missing.json", "node-a"], 'cannot read'),
        ([lab.profile], "name them (NODE ...) or give --all-nodes"),
        ([lab.profile, "node-a", "--all-nodes"], "not both"),
        ([lab.profile, "node-a", "-o", "table"], 'output format "table"'),
        ([lab.profile, "node-a", "--seccomp-root", "relative"], "absolute path"),
        ([lab.profile, "nope", "node-a", "--yes"], 'nodes "nope" not found: nothing was done'),
    ]
    for argv, message in cases:
        lab.runtime.created.clear()
        code, out, err = run_cli("seccomp", "install", "--path", "profiles/nginx.json", *argv,
                                 "--kubeconfig", lab.kubeconfig_path)
        assert (code, out) == (2, ""), (argv, err)
        assert message in err and err.strip().splitlines()[-1].startswith("error: ") and lab.runtime.created == [], argv
    assert run_cli("seccomp", "install", lab.profile, "node-a")[0] == 2  # --path is required


# --- per-node failures ----------------------------------------------------------------------------------------------
def test_a_failing_node_among_good_ones(run_cli, lab):
    add_node(lab, "node-c", read_only=(ROOT,))
    code, report, err = install_json(run_cli, lab, "--all-nodes", "--yes")
    assert code == 1 and report["outcome"] == "incomplete"
    assert statuses(report) == {"node-a": "written", "node-b": "written", "node-c": "failed"}
    c = report["nodes"][2]
    assert c["reason"] == f"writing {TARGET}: sh: can't create {TARGET}.tmp.4242: Read-only file system"
    assert report["errors"] == [{"node": "node-c", "message": c["reason"]}]
    assert TARGET not in lab.fakes["node-c"].files and lab.fakes["node-a"].files[TARGET] == PROFILE
    assert f"node node-c: failed: writing {TARGET}" in err and all_pods_gone(lab) and len(lab.runtime.created) == 3


def test_a_debug_pod_that_does_not_start_and_a_bad_read_back(run_cli, lab):
    lab.runtime.node_start_state["node-a"] = {"waiting": {"reason": "ErrImagePull", "message": "pull access denied"}}
    fake = lab.fakes["node-b"]

    def corrupt_after_write(call):
        outcome = fake(call)
        if call.argv[2:3] == ["sh"]:
            fake.files[TARGET] = PROFILE.replace("read", "kill")
        return outcome

    lab.runtime.on_node("node-b", corrupt_after_write)
    code, report, err = install_json(run_cli, lab, "--all-nodes", "--yes", "--image", "registry.local/tools:1")
    assert code == 1 and statuses(report) == {"node-a": "failed", "node-b": "failed"}
    a, b = report["nodes"]
    assert "ErrImagePull: pull access denied" in a["reason"]
    assert b["reason"].startswith(f"{TARGET} read back with sha256 ")
    assert b["reason"].endswith(f"not the profile's {sha(PROFILE)}")
    assert all_pods_gone(lab)


def test_a_node_without_sh_and_a_target_that_is_a_directory(run_cli, lab):
    lab.fakes["node-a"].host_tools.discard("sh")
    lab.runtime.on_node("node-b", lambda call: ExecOutcome(stderr="cat: read error: Is a directory\n", exit_code=1)
                        if call.argv[2:3] == ["cat"] else lab.fakes["node-b"](call))
    code, report, err = install_json(run_cli, lab, "--all-nodes", "--yes")
    assert code == 1 and statuses(report) == {"node-a": "failed", "node-b": "failed"}
    a, b = report["nodes"]
    assert a["reason"].startswith("the node has no sh in its root (chroot /host sh): cannot write there")
    assert b["reason"] == f"reading {TARGET}: cat: read error: Is a directory"


def test_not_ready_and_windows_nodes_are_skipped(run_cli, lab):
    """Issue 17's one rule: a kubelet that does not answer (Ready Unknown) and Windows are skipped."""
    add_node(lab, "node-c", ready=False)
    add_node(lab, "win-1", os="windows")
    code, report, err = install_json(run_cli, lab, "--all-nodes", "--yes")
    assert code == 0 and report["outcome"] == "installed"
    assert statuses(report) == {"node-a": "written", "node-b": "written", "node-c": "skipped", "win-1": "skipped"}
    assert "Ready Unknown" in report["nodes"][2]["reason"] and "windows" in report["nodes"][3]["reason"]
    assert {p["node"] for p in report["debugPods"]} == {"node-a", "node-b"}
    assert lab.fakes["node-c"].calls == [] and "node node-c: skipped: the node's kubelet does not answer" in err


def test_node_not_ready_only_for_its_network_gets_the_profile(run_cli, lab):
    add_node(lab, "node-c", network_ready=False)
    code, report, err = install_json(run_cli, lab, "--all-nodes", "--yes")
    assert code == 0 and statuses(report)["node-c"] == "written"
    assert lab.fakes["node-c"].files[TARGET] == PROFILE and all_pods_gone(lab)


def test_k0s_kubelet_root_dir_is_where_the_profile_goes(run_cli, lab):
    """No --seccomp-root: the kubelet's --root-dir says where its Localhost profiles are."""
    k0s = "/var/lib/k0s/kubelet/seccomp/profiles/nginx.json"
    add_node(lab, "node-c", processes={77: ["/usr/local/bin/kubelet", "--root-dir=/var/lib/k0s/kubelet"]})
    code, report, err = install_json(run_cli, lab, "node-c", "--yes")
    assert code == 0, err
    [entry] = report["nodes"]
    assert entry["status"] == "written" and entry["target"] == k0s
    assert entry["seccompRootSource"] == "kubelet --root-dir"
    assert lab.fakes["node-c"].files[k0s] == PROFILE and TARGET not in lab.fakes["node-c"].files


def test_debug_pods_refused_everywhere(run_cli, lab):
    lab.runtime.admit = lambda pod: 'violates PodSecurity "baseline:latest": privileged'
    code, report, err = install_json(run_cli, lab, "--all-nodes", "--yes")
    assert code == 1 and statuses(report) == {"node-a": "failed", "node-b": "failed"}
    assert "violates PodSecurity" in report["nodes"][0]["reason"]
    assert "not tried again" in report["nodes"][1]["reason"] and lab.runtime.created == []


# --- clean-up when interrupted ---------------------------------------------------------------------------------------
def test_interrupted_deletes_the_debug_pod(run_cli, lab, monkeypatch):
    from kubectl_pss.operations import seccomp_install

    def interrupt(self, pod, target):
        raise KeyboardInterrupt

    monkeypatch.setattr(seccomp_install.Installer, "_read", interrupt)
    code, out, err = install(run_cli, lab, "--all-nodes", "--yes")
    assert code == 130 and out == "" and err.endswith("error: interrupted\n")
    [(ns, name)] = lab.runtime.created  # the first node's; no other was started
    assert lab.runtime.deleted == [(ns, name)] and lab.runtime.pods_alive() == []
    assert f"created debug pod {ns}/{name}" in err and f"deleted debug pod {ns}/{name}" in err
    assert all(TARGET not in fake.files for fake in lab.fakes.values())


def test_sigterm_deletes_the_debug_pod(lab):
    """A real process, a real SIGTERM, while its debug pod writes the profile."""
    procs = []
    fake = lab.fakes["node-a"]

    def signal_then_answer(call):
        if call.argv[2:3] == ["sh"]:
            procs[0].send_signal(signal.SIGTERM)
            import time

            time.sleep(0.2)
        return fake(call)

    lab.runtime.on_node("node-a", signal_then_answer)
    env = {**os.environ, "PYTHONPATH": str(REPO), "NO_COLOR": "1"}
    procs.append(subprocess.Popen([sys.executable, "-m", "kubectl_pss", "seccomp", "install", str(lab.profile),
                                   "--path", "profiles/nginx.json", "--all-nodes", "--yes",
                                   "--kubeconfig", str(lab.kubeconfig_path)], cwd=REPO, env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    out, err = procs[0].communicate(timeout=30)
    assert procs[0].returncode == 128 + signal.SIGTERM, err
    [(ns, name)] = lab.runtime.created
    assert lab.runtime.deleted == [(ns, name)] and lab.runtime.pods_alive() == [] and out == ""
    assert f"deleted debug pod {ns}/{name}" in err and "error: terminated" in err


def test_ctrl_c_during_a_slow_create_leaves_no_debug_pod(lab):
    """A slow admission webhook holds the debug pod's POST; Ctrl-C then: the pod the server creates after
    it is deleted, and nothing was written."""
    held = lab.hold("POST", "/api/v1/namespaces/ops/pods", 1.5)
    proc = start("seccomp", "install", str(lab.profile), "--path", "profiles/nginx.json", "--all-nodes", "--yes",
                 "--kubeconfig", str(lab.kubeconfig_path))
    out, err = signal_while_held(proc, held)
    assert proc.returncode == 130, err
    [(ns, name)] = lab.runtime.created
    assert lab.runtime.deleted == [(ns, name)] and lab.runtime.pods_alive() == [], err
    assert f"deleted debug pod {ns}/{name}" in err and "error: interrupted" in err
    [create] = lab.requests_to("/api/v1/namespaces/ops/pods", method="POST")
    labels = create.json["metadata"]["labels"]
    assert create.json["metadata"]["name"] == name and DNS_1123_LABEL.fullmatch(name) and len(name) <= 63
    assert labels["app.kubernetes.io/managed-by"] == "kubectl-pss" and labels["kubectl-pss/run"]
    assert all(TARGET not in fake.files for fake in lab.fakes.values()) and lab.runtime.execs == []


# --- the script itself, run by a real sh -----------------------------------------------------------------------------
@pytest.mark.skipif(shutil.which("sh") is None, reason="no sh")
def test_the_install_script_in_a_real_shell(tmp_path):
    """The content and the path are arguments, never code: quotes, $(...), backquotes, %, backslashes and
    newlines are written as they are; the file appears whole (rename), mode 0644, no temporary file left."""
    content = '{"comment": "$(touch pwned) `touch pwned2` \'; rm -rf x; \\\\n %s %d \\"q\\""}\n\n'
    target = tmp_path / "root" / "profiles" / "x.json"

    def sh(text, path, directory):
        return subprocess.run(["sh", "-c", INSTALL_SCRIPT, "sh", text, str(path), str(directory)], cwd=tmp_path,
                              capture_output=True, text=True)

    result = sh(content, target, target.parent)
    assert result.returncode == 0, result.stderr
    assert target.read_text() == content and (target.stat().st_mode & 0o777) == 0o644
    assert sorted(p.name for p in target.parent.iterdir()) == ["x.json"] and not list(tmp_path.glob("pwned*"))
    assert sh("{}", target, target.parent).returncode == 0 and target.read_text() == "{}"  # replaced
    # failures: a directory at the target, a file where a directory should be; nothing left behind
    (target.parent / "d.json").mkdir()
    result = sh("{}", target.parent / "d.json", target.parent)
    assert result.returncode == 1 and "is a directory" in result.stderr
    assert list((target.parent / "d.json").iterdir()) == []
    result = sh("{}", target / "y.json", target)
    assert result.returncode == 1 and sorted(p.name for p in target.parent.iterdir()) == ["d.json", "x.json"]


def test_dry_run_alone_is_client_even_with_yes(run_cli, lab):
    """kubectl's values: --dry-run alone is --dry-run=client (with kubectl's warning): the plan, no debug pod."""
    before = {name: dict(fake.files) for name, fake in lab.fakes.items()}
    for given in (["--dry-run"], ["--dry-run=client"]):
        code, out, err = install(run_cli, lab, "node-a", "node-b", "-y", *given)
        assert code == 0 and out == STANZA
        assert lab.runtime.created == [] and all(fake.calls == [] for fake in lab.fakes.values())
        assert {name: fake.files for name, fake in lab.fakes.items()} == before
        assert "plan only (--dry-run=client): nothing is written and no debug pod is created" in err
        assert err.rstrip().endswith("2 node(s): 2 not-read; nothing written (--dry-run=client)")
        assert ("warning: --dry-run is deprecated and can be replaced with --dry-run=client." in err) == (
            given == ["--dry-run"])


def test_short_yes_writes(run_cli, lab):
    code, out, err = install(run_cli, lab, "node-a", "-y")
    assert code == 0 and out == STANZA, err
    assert lab.fakes["node-a"].files[TARGET] == PROFILE and TARGET not in lab.fakes["node-b"].files


def test_force_is_not_the_lint_override(run_cli, lab):
    """--force means "act despite findings" elsewhere; here the override is --ignore-lint."""
    code, out, err = install(run_cli, lab, "node-a", "--yes", "--force")
    assert (code, out) == (2, "") and err == "error: unrecognized arguments: --force\n"
    assert lab.runtime.created == []


# --- --overwrite keeps the way back (review of issue 12) ---------------------------------------------------------
def test_overwrite_keeps_the_old_file_on_the_node_and_says_how_to_restore(run_cli, lab):
    lab.fakes["node-b"].files[TARGET] = OLD
    code, report, err = install_json(run_cli, lab, "node-b", "--yes", "--overwrite")
    assert code == 0 and statuses(report) == {"node-b": "written"}
    files = lab.fakes["node-b"].files
    [backup] = [path for path in files if path.startswith(TARGET + ".kubectl-pss-") and path.endswith(".bak")]
    assert files[backup] == OLD and files[TARGET] == PROFILE
    entry = report["nodes"][0]
    assert entry["backup"] == backup and entry["restore"] == f"chroot /host mv -f -- {backup} {TARGET}"
    assert f"the old file is kept as {backup} (restore it from a debug pod on the node: " in err


def test_a_file_changed_between_read_and_write_is_not_replaced(run_cli, lab):
    lab.fakes["node-b"].files[TARGET] = OLD
    node = lab.fakes["node-b"]

    def meanwhile(call):  # someone else writes the target after our read, before our write
        if call.argv[:3] == ["chroot", "/host", "sh"]:
            node.files[TARGET] = "theirs"
        return node(call)

    lab.runtime.on_node("node-b", meanwhile)
    code, report, err = install_json(run_cli, lab, "node-b", "--yes", "--overwrite")
    assert code == 1 and statuses(report) == {"node-b": "failed"}
    assert node.files[TARGET] == "theirs" and "changed on the node while installing: not replaced" in err
    assert not any(path.endswith(".bak") for path in node.files)


@pytest.mark.skipif(shutil.which("sh") is None or shutil.which("sha256sum") is None, reason="no sh or sha256sum")
def test_the_install_script_checks_and_backs_up_in_a_real_shell(tmp_path):
    target = tmp_path / "x.json"
    target.write_text("old")
    backup = tmp_path / "x.json.bak"

    def sh(expected, keep):
        return subprocess.run(["sh", "-c", INSTALL_SCRIPT, "sh", "new", str(target), str(tmp_path), expected, keep],
                              capture_output=True, text=True)

    result = sh(sha("other"), str(backup))  # changed since it was read
    assert result.returncode == 3 and "changed since it was read" in result.stderr
    assert target.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["x.json"]
    result = sh("absent", "")  # it appeared since it was read (as absent)
    assert result.returncode == 3 and target.read_text() == "old"
    result = sh(sha("old"), str(backup))
    assert result.returncode == 0, result.stderr
    assert target.read_text() == "new" and backup.read_text() == "old"
    target.write_text("newer")
    result = sh(sha("newer"), str(backup))  # a backup is never overwritten
    assert result.returncode == 1 and backup.read_text() == "old" and target.read_text() == "newer"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.json", "x.json.bak"]
