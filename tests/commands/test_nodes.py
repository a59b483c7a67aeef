"""``nodes`` end to end: the real CLI and kubernetes client against the fake API server (nodes, pods,
workloads), debug pods on each node, exec over WebSocket, and what each FakeNode holds (/sys,
the seccomp root, the kubelet's process and config)."""
from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.apiserver.runtime import ExecOutcome, FakeNode, Symlink
from tests.signals import DNS_1123_LABEL, signal_while_held, read_stderr_until, start, wait_held

REPO = Path(__file__).resolve().parents[2]
ROOT = "/var/lib/kubelet/seccomp"
ENABLED = "/sys/module/apparmor/parameters/enabled"
PROFILES = "/sys/kernel/security/apparmor/profiles"
NGINX = json.dumps({"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"],
                    "syscalls": [{"names": ["read", "write", "exit_group"], "action": "SCMP_ACT_ALLOW"}]})
NGINX_OLD = json.dumps({"defaultAction": "SCMP_ACT_ERRNO",
                        "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]})
LOADED = "cri-containerd.apparmor.d (enforce)\n/usr/sbin/ntpd (enforce)\n"
BLOCKED = 'Cannot enforce AppArmor: profile "k8s-nginx" is not loaded'


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def aa(profile):
    return {"appArmorProfile": {"type": "Localhost", "localhostProfile": profile}}


def sc(path):
    return {"seccompProfile": {"type": "Localhost", "localhostProfile": path}}


def kubelet(*flags):
    return ["/usr/bin/kubelet", "--kubeconfig=/etc/kubernetes/kubelet.conf", *flags]


@pytest.fixture
def lab(apiserver, make_kubeconfig):
    """node-a: AppArmor with k8s-nginx loaded, the seccomp profile, SeccompDefault in its config file.
    node-b: AppArmor without k8s-nginx, another nginx.json, --seccomp-default; a pod blocked there.
    node-c (v1.24): no AppArmor in the kernel, no seccomp root, no kubelet process (k3s-like)."""
    server, rt = apiserver, apiserver.runtime
    rt.start_delay = 0.02
    rt.add_node("node-a")["metadata"]["labels"]["pool"] = "a"
    rt.add_node("node-b", runtime="cri-o://1.28.1", kubelet="v1.29.4")
    rt.add_node("node-c", apparmor=False, kubelet="v1.24.17", runtime="containerd://1.6.20")
    for ns in ("apps", "ops"):
        server.add_namespace(ns)
    template = {"metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "nginx", "image": "nginx",
                                         "securityContext": {**aa("k8s-nginx"), **sc("profiles/nginx.json")}}]}}
    server.add({"kind": "Deployment", "metadata": {"name": "web", "namespace": "apps"},
                "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}}, "template": template}})
    # only on pool=a: fine where it lands
    server.add({"kind": "DaemonSet", "metadata": {"name": "agent", "namespace": "apps"},
                "spec": {"selector": {}, "template": {"spec": {"nodeSelector": {"pool": "a"}, "containers": [
                    {"name": "agent", "image": "agent", "securityContext": aa("k8s-agent")}]}}}})
    rt.add_pod("apps", "web-a",
               [{"name": "nginx", "securityContext": {**aa("k8s-nginx"), **sc("profiles/nginx.json")}}], node="node-a")
    rt.add_pod("apps", "blocked", [{"name": "nginx", "securityContext": aa("k8s-nginx")}], node="node-b",
               phase="Pending", states={"nginx": {"waiting": {"reason": "Blocked"}}})
    server._stores["pods"].get("apps", "blocked")["status"].update(reason="AppArmor", message=BLOCKED)
    node_a = FakeNode(files={ENABLED: "Y\n", PROFILES: LOADED + "k8s-nginx (enforce)\nk8s-agent (enforce)\n",
                             f"{ROOT}/profiles/nginx.json": NGINX,
                             f"{ROOT}/audit.json": '{"defaultAction": "SCMP_ACT_LOG"}',
                             "/var/lib/kubelet/config.yaml": "kind: KubeletConfiguration\nseccompDefault: true\n"},
                      processes={1: ["/sbin/init"], 812: kubelet("--config=/var/lib/kubelet/config.yaml")})
    node_b = FakeNode(files={ENABLED: "Y\n", PROFILES: LOADED, f"{ROOT}/profiles/nginx.json": NGINX_OLD,
                             "/etc/kubernetes/kubelet.yaml": "kind: KubeletConfiguration\n"},
                      processes={903: kubelet("--config", "/etc/kubernetes/kubelet.yaml", "--seccomp-default")})
    node_c = FakeNode(files={"/etc/hostname": "node-c\n"}, processes={77: ["/usr/local/bin/k3s", "agent"]})
    for name, fake in (("node-a", node_a), ("node-b", node_b), ("node-c", node_c)):
        rt.on_node(name, fake)
    server.fakes = {"node-a": node_a, "node-b": node_b, "node-c": node_c}
    server.kubeconfig_path = make_kubeconfig([server.context("lab", namespace="ops")], "lab", name="lab-config")
    return server


def nodes(run_cli, lab, *extra):
    code, out, err = run_cli("nodes", "--kubeconfig", str(lab.kubeconfig_path), "-o", "json", *extra)
    return code, json.loads(out), err


def profile(report, kind, name):
    return next(p for p in report["profiles"] if (p["type"], p["profile"]) == (kind, name))


def statuses(entry):
    return {n["node"]: n["status"] for n in entry["nodes"]}


# --- from the API only ---------------------------------------------------------------------------------
def test_api_only(run_cli, lab):
    code, report, err = nodes(run_cli, lab)
    assert code == 1 and err == "" and report["nodeInspect"] is False
    assert lab.runtime.created == [] and lab.runtime.execs == []  # read-only
    a, b, c = report["nodes"]
    assert (a["name"], a["kubeletVersion"], a["runtime"], a["osImage"], a["kernelVersion"], a["apparmor"]) == (
        "node-a", "v1.30.2", "containerd 1.7.13", "Debian GNU/Linux 12 (bookworm)", "6.1.0-28-amd64", "enabled")
    assert (b["runtime"], c["apparmor"], c["readyMessage"]) == ("cri-o 1.28.1", "not reported",
                                                                "kubelet is posting ready status")
    assert a["inspection"] is None
    [blocked] = report["blockedPods"]
    assert blocked == {"namespace": "apps", "pod": "blocked", "node": "node-b", "container": None, "type": "apparmor",
                       "reason": "AppArmor", "message": BLOCKED, "apparmor": "Localhost/k8s-nginx", "seccomp": None}
    web = profile(report, "apparmor", "k8s-nginx")
    # node-b is known from the blocked pod's status; the others are unknown without --node-inspect
    assert statuses(web) == {"node-a": "unknown", "node-b": "missing", "node-c": "unknown"}
    assert web["nodes"][1]["from"] == "pod status" and BLOCKED in web["nodes"][1]["detail"]
    owners = {(r["kind"], r["name"], r["container"]) for r in web["references"]}
    assert owners == {("Deployment", "web", "nginx"), ("Pod", "web-a", "nginx"), ("Pod", "blocked", "nginx")}
    assert statuses(profile(report, "apparmor", "k8s-agent")) == {"node-a": "unknown"}  # nodeSelector pool=a
    assert any("--node-inspect" in n for n in report["notes"])
    assert report["summary"]["blockedPods"] == 1 and report["debugPods"] == []


# --- with debug pods ---------------------------------------------------------------------------------------
def test_node_inspect(run_cli, lab):
    code, report, err = nodes(run_cli, lab, "--node-inspect")
    assert code == 1, err
    by = {n["name"]: n["inspection"] for n in report["nodes"]}
    a, b, c = by["node-a"], by["node-b"], by["node-c"]
    assert [i["status"] for i in (a, b, c)] == ["ok", "ok", "ok"] and report["errors"] == []
    # AppArmor: enabled and disabled nodes, the loaded profiles with their mode
    assert a["apparmor"] == {"enabled": True, "profiles": [
        {"name": "/usr/sbin/ntpd", "mode": "enforce"}, {"name": "cri-containerd.apparmor.d", "mode": "enforce"},
        {"name": "k8s-agent", "mode": "enforce"}, {"name": "k8s-nginx", "mode": "enforce"}]}
    assert c["apparmor"] == {"enabled": False, "profiles": None}
    # the seccomp root: path, size, sha256, valid JSON
    assert a["seccomp"]["files"] == [
        {"path": "audit.json", "size": 33, "sha256": sha('{"defaultAction": "SCMP_ACT_LOG"}'), "validJson": True},
        {"path": "profiles/nginx.json", "size": len(NGINX), "sha256": sha(NGINX), "validJson": True}]
    assert (c["seccomp"]["rootExists"], c["seccomp"]["files"]) == (False, [])
    # SeccompDefault: from the config file, from the flag, and unknown where there is no kubelet process
    assert (a["kubelet"]["seccompDefault"], a["kubelet"]["seccompDefaultSource"], a["kubelet"]["pid"]) == (
        True, "config /var/lib/kubelet/config.yaml", 812)
    assert (b["kubelet"]["seccompDefault"], b["kubelet"]["seccompDefaultSource"]) == (True, "flag --seccomp-default")
    assert b["kubelet"]["config"] == "/etc/kubernetes/kubelet.yaml"
    assert (c["kubelet"]["seccompDefault"], c["kubelet"]["seccompDefaultSource"]) == (None, "unknown")
    assert any("no process named kubelet" in n for n in c["notes"])
    # the cross-check: loaded on one node of two, AppArmor disabled, a file differing by hash
    web = profile(report, "apparmor", "k8s-nginx")
    assert statuses(web) == {"node-a": "loaded", "node-b": "missing", "node-c": "apparmor-disabled"}
    seccomp = profile(report, "seccomp", "profiles/nginx.json")
    assert statuses(seccomp) == {"node-a": "differs", "node-b": "differs", "node-c": "missing"}
    assert {v["sha256"]: v["nodes"] for v in seccomp["variants"]} == {sha(NGINX): ["node-a"],
                                                                      sha(NGINX_OLD): ["node-b"]}
    assert seccomp["path"] == f"{ROOT}/profiles/nginx.json"
    assert profile(report, "apparmor", "k8s-agent")["ok"] is True
    assert report["summary"] == {"nodes": 3, "inspected": 3, "profiles": 3, "profilesWithProblems": 2, "missing": 3,
                                 "invalid": 0, "differs": 1, "unknown": 0, "blockedPods": 1}
    # one debug pod per node, each deleted, and said so
    pods = report["debugPods"]
    assert [(p["node"], p["deleted"], p["namespace"]) for p in pods] == [
        ("node-a", True, "ops"), ("node-b", True, "ops"), ("node-c", True, "ops")]
    assert lab.runtime.pods_alive() == [] and sorted(lab.runtime.deleted) == sorted(lab.runtime.created)
    for p in pods:
        assert p["name"].startswith(f"pss-nodes-{p['node']}-")
        assert f"created debug pod ops/{p['name']} on node {p['node']}" in err
        assert f"deleted debug pod ops/{p['name']}" in err
    # fixed argv in the node's root, never a shell
    # (the kubelet first: its --root-dir says where the seccomp root is)
    assert lab.fakes["node-a"].calls == [
        ["chroot", "/host", "pgrep", "-x", "kubelet"], ["chroot", "/host", "cat", "/proc/812/cmdline"],
        ["chroot", "/host", "cat", "/var/lib/kubelet/config.yaml"],
        ["chroot", "/host", "cat", ENABLED], ["chroot", "/host", "cat", PROFILES],
        ["chroot", "/host", "tar", "-C", ROOT, "-cf", "-", "."]]
    assert ["chroot", "/host", "cat", "/var/lib/kubelet/config.yaml"] in lab.fakes["node-c"].calls
    assert not [e for e in lab.runtime.execs if "sh" in e.argv]


def test_named_node_all_good(run_cli, lab):
    code, report, err = nodes(run_cli, lab, "node-a", "--node-inspect")
    assert code == 0, err
    assert [n["name"] for n in report["nodes"]] == ["node-a"] and report["blockedPods"] == []  # blocked is on node-b
    assert all(p["ok"] and [n["node"] for n in p["nodes"]] == ["node-a"] for p in report["profiles"])
    assert [(p["node"], p["deleted"]) for p in report["debugPods"]] == [("node-a", True)]


def test_seccomp_root_flag_invalid_file_and_symlink(run_cli, lab):
    fake = lab.fakes["node-a"]
    fake.files = {k.replace(ROOT, "/etc/kubelet/seccomp"): v for k, v in fake.files.items()}
    fake.files["/etc/kubelet/seccomp/profiles/nginx.json"] = Symlink("../shared/nginx.json")
    fake.files["/etc/kubelet/seccomp/shared/nginx.json"] = "{not json"
    code, report, _ = nodes(run_cli, lab, "node-a", "--node-inspect", "--seccomp-root", "/etc/kubelet/seccomp")
    files = {f["path"]: f for f in report["nodes"][0]["inspection"]["seccomp"]["files"]}
    link = files["profiles/nginx.json"]
    assert (link["symlink"], link["validJson"], link["sha256"]) == ("../shared/nginx.json", False, sha("{not json"))
    assert link["problem"].startswith("not JSON")
    assert ["chroot", "/host", "cat", "/etc/kubelet/seccomp/shared/nginx.json"] in fake.calls
    seccomp = profile(report, "seccomp", "profiles/nginx.json")
    assert statuses(seccomp) == {"node-a": "invalid"} and seccomp["path"] == "/etc/kubelet/seccomp/profiles/nginx.json"
    assert code == 1


def test_node_without_tools_uses_the_debug_image(run_cli, lab):
    fake = lab.fakes["node-a"]
    fake.host_tools = set()  # a minimal node OS: chroot cannot run cat, tar or pgrep
    code, report, _ = nodes(run_cli, lab, "node-a", "--node-inspect")
    inspection = report["nodes"][0]["inspection"]
    assert code == 0 and inspection["status"] == "ok" and inspection["kubelet"]["seccompDefault"] is True
    assert statuses(profile(report, "seccomp", "profiles/nginx.json")) == {"node-a": "present"}
    assert ["tar", "-C", f"/host{ROOT}", "-cf", "-", "."] in fake.calls
    assert ["cat", "/host/proc/812/cmdline"] in fake.calls
    # each tool is tried once on the node, then only in the image
    assert sum(1 for call in fake.calls if call[:3] == ["chroot", "/host", "cat"]) == 1


def test_debug_image_without_chroot(run_cli, lab):
    fake = lab.fakes["node-a"]
    lab.runtime.on_node("node-a", lambda call: ExecOutcome.command_not_found("chroot") if call.argv[0] == "chroot"
                        else fake(call))
    code, report, _ = nodes(run_cli, lab, "node-a", "--node-inspect")
    assert code == 0 and report["nodes"][0]["inspection"]["status"] == "ok"
    # chroot was tried once, by the first read (the kubelet's, first since its --root-dir gives the seccomp root)
    assert fake.calls[0] == ["pgrep", "-x", "kubelet"] and ["cat", f"/host{ENABLED}"] in fake.calls


# --- bad or partial answers, per node ---------------------------------------------------------------------------
def test_node_without_the_debug_image(run_cli, lab):
    lab.runtime.node_start_state["node-b"] = {"waiting": {"reason": "ErrImagePull", "message": "pull access denied"}}
    code, report, err = nodes(run_cli, lab, "--node-inspect", "--image", "registry.local/tools:1")
    assert code == 2
    by = {n["name"]: n["inspection"] for n in report["nodes"]}
    assert by["node-b"]["status"] == "failed" and "ErrImagePull: pull access denied" in by["node-b"]["error"]
    assert by["node-a"]["status"] == by["node-c"]["status"] == "ok"
    assert statuses(profile(report, "seccomp", "profiles/nginx.json")) == {
        "node-a": "present", "node-b": "unknown", "node-c": "missing"}
    # node-b not inspected: its blocked pod still tells
    assert statuses(profile(report, "apparmor", "k8s-nginx"))["node-b"] == "missing"
    assert 'error: node "node-b": debug pod ops/pss-nodes-node-b-' in err
    assert lab.runtime.pods_alive() == [] and len(lab.runtime.created) == 3 == len(lab.runtime.deleted)


def test_partial_answer(run_cli, lab):
    del lab.fakes["node-b"].files[PROFILES]  # AppArmor on, but securityfs not mounted
    code, report, err = nodes(run_cli, lab, "--node-inspect")
    b = next(n for n in report["nodes"] if n["name"] == "node-b")["inspection"]
    assert b["status"] == "partial" and b["apparmor"] == {"enabled": True, "profiles": None}
    assert "securityfs is not mounted" in b["problems"][0] and b["seccomp"]["files"]  # the rest was read
    web = profile(report, "apparmor", "k8s-nginx")
    assert statuses(web)["node-b"] == "missing" and web["nodes"][1]["from"] == "pod status"  # the blocked pod
    assert code == 2 and f"error: node \"node-b\": reading {PROFILES}" in err


def test_node_whose_kubelet_does_not_answer_is_skipped_with_a_note(run_cli, lab):
    """Issue 17: skipped (a note, not an error) only when the kubelet does not answer (Ready Unknown)."""
    lab.runtime.add_node("node-d", ready=False)
    code, report, err = nodes(run_cli, lab, "--node-inspect")
    assert code == 1 and report["errors"] == []
    d = next(n for n in report["nodes"] if n["name"] == "node-d")
    assert d["ready"] is None or d["ready"] is False
    assert d["inspection"]["status"] == "failed" and "Ready Unknown" in d["inspection"]["error"]
    assert all(p["node"] != "node-d" for p in report["debugPods"])
    assert statuses(profile(report, "apparmor", "k8s-nginx"))["node-d"] == "unknown"
    assert any(n.startswith("node node-d: the node's kubelet does not answer (Ready Unknown)") for n in report["notes"])


def test_node_not_ready_only_for_its_network_is_inspected(run_cli, lab):
    """Ready False for NetworkPluginNotReady still runs hostNetwork pods: the debug pod is one."""
    lab.runtime.add_node("node-d", network_ready=False)
    lab.runtime.on_node("node-d", lab.fakes["node-a"])
    code, report, err = nodes(run_cli, lab, "--node-inspect")
    d = next(n for n in report["nodes"] if n["name"] == "node-d")
    assert d["ready"] is False and d["inspection"]["status"] == "ok", d["inspection"]
    assert [p["deleted"] for p in report["debugPods"] if p["node"] == "node-d"] == [True]
    assert not any("node-d" in n for n in report["notes"])


def test_exec_forbidden(run_cli, lab):
    lab.forbid("pods/exec", namespace="ops")
    code, report, err = nodes(run_cli, lab, "--node-inspect")
    assert code == 2
    errors = {e["node"]: e["message"] for e in report["errors"]}
    assert "exec into the debug pod is forbidden" in errors["node-a"]
    assert "not tried again" in errors["node-b"] and "not tried again" in errors["node-c"]
    assert len(lab.runtime.created) == 1 and lab.runtime.pods_alive() == []  # the first one, deleted
    assert report["profiles"] and report["summary"]["inspected"] == 0


def test_debug_pod_refused_by_pod_security(run_cli, lab):
    lab.runtime.admit = lambda pod: 'violates PodSecurity "baseline:latest": privileged'
    code, report, err = nodes(run_cli, lab, "--node-inspect")
    assert code == 2 and lab.runtime.created == [] and report["debugPods"] == []
    assert err.count("violates PodSecurity") == 3  # said per node, tried once
    assert "not tried again" in report["errors"][1]["message"]


def test_listing_workloads_forbidden_goes_on(run_cli, lab):
    lab.forbid("deployments", namespace="*")
    code, report, err = nodes(run_cli, lab)
    assert code == 2 and any(e.get("resource") == "deployments" for e in report["errors"])
    owners = {r["kind"] for p in report["profiles"] for r in p["references"]}
    assert owners == {"Pod", "DaemonSet"}


# --- clean-up when interrupted -----------------------------------------------------------------------------------
def test_interrupted_deletes_the_debug_pod(run_cli, lab, monkeypatch):
    from kubectl_pss.confinement import nodes as cn

    def interrupt(data):
        raise KeyboardInterrupt

    monkeypatch.setattr(cn, "parse_seccomp_tar", interrupt)
    code, out, err = run_cli("nodes", "--node-inspect", "--kubeconfig", str(lab.kubeconfig_path))
    assert code == 130 and out == "" and err.endswith("error: interrupted\n")
    [(ns, name)] = lab.runtime.created  # the first node's; no other was started
    assert lab.runtime.deleted == [(ns, name)] and lab.runtime.pods_alive() == []
    assert f"created debug pod {ns}/{name}" in err and f"deleted debug pod {ns}/{name}" in err


def test_sigterm_deletes_the_debug_pod(lab):
    """A real process, a real SIGTERM, while its debug pod reads the node."""
    procs = []
    fake = lab.fakes["node-a"]

    def signal_then_answer(call):
        if "tar" in call.argv:
            procs[0].send_signal(signal.SIGTERM)
            import time

            time.sleep(0.2)
        return fake(call)

    lab.runtime.on_node("node-a", signal_then_answer)
    env = {**os.environ, "PYTHONPATH": str(REPO), "NO_COLOR": "1"}
    procs.append(subprocess.Popen([sys.executable, "-m", "kubectl_pss", "nodes", "--node-inspect",
                                   "--kubeconfig", str(lab.kubeconfig_path)], cwd=REPO, env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    out, err = procs[0].communicate(timeout=30)
    assert procs[0].returncode == 128 + signal.SIGTERM, err
    [(ns, name)] = lab.runtime.created
    assert lab.runtime.deleted == [(ns, name)] and lab.runtime.pods_alive() == [] and out == ""
    assert f"deleted debug pod {ns}/{name}" in err


CREATES = "/api/v1/namespaces/ops/pods"


def test_ctrl_c_during_a_slow_create_leaves_no_debug_pod(lab):
    """A slow admission webhook holds the POST; Ctrl-C then. The pod is created after the signal: it is
    deleted once the create has returned, not with a DELETE sent while it was in flight (a 404 then)."""
    held = lab.hold("POST", CREATES, 1.5)
    proc = start("nodes", "--node-inspect", "--kubeconfig", str(lab.kubeconfig_path))
    out, err = signal_while_held(proc, held)
    assert proc.returncode == 130, err
    [(ns, name)] = lab.runtime.created  # created after the signal arrived
    assert lab.runtime.deleted == [(ns, name)] and lab.runtime.pods_alive() == [], err
    [delete] = [r for r in lab.requests if r.method == "DELETE"]
    assert delete.path == f"{CREATES}/{name}"
    assert "waiting up to 40 s for the API server to answer the creation" in err
    assert f"deleted debug pod {ns}/{name}" in err and err.endswith("error: interrupted\n") and out == ""
    # a name the client chose (no generateName), and the run's labels
    [create] = lab.requests_to(CREATES, method="POST")
    metadata = create.json["metadata"]
    assert metadata["name"] == name and "generateName" not in metadata
    assert DNS_1123_LABEL.fullmatch(name) and len(name) <= 63 and name.startswith("pss-nodes-node-a-")
    assert metadata["labels"]["app.kubernetes.io/managed-by"] == "kubectl-pss"
    assert re.fullmatch(r"[0-9]{8}t[0-9]{6}-[0-9a-f]{6}", metadata["labels"]["kubectl-pss/run"])


def test_debug_pod_that_cannot_be_deleted_is_named_on_stderr(lab):
    held = lab.hold("POST", CREATES, 1)
    lab.fail(CREATES + "/", 500, times=1000, methods=["DELETE"])
    proc = start("nodes", "--node-inspect", "--kubeconfig", str(lab.kubeconfig_path))
    out, err = signal_while_held(proc, held)
    assert proc.returncode == 130, err
    [(ns, name)] = lab.runtime.created
    assert lab.runtime.pods_alive() == [f"{ns}/{name}"]  # the server would not delete it
    assert f"debug pod {ns}/{name} may still exist: delete it with: kubectl delete pod -n {ns} {name}\n" in err


def second_ctrl_c(lab, hold_seconds: float) -> tuple[int, str, str]:
    """Ctrl-C while the server holds the debug pod's POST, Ctrl-C again 1 s later: exit code, pod, stderr."""
    held = lab.hold("POST", CREATES, hold_seconds)
    proc = start("nodes", "--node-inspect", "--kubeconfig", str(lab.kubeconfig_path))
    wait_held(proc, held)
    proc.send_signal(signal.SIGINT)
    first = read_stderr_until(proc, "waiting up to")
    time.sleep(1)
    proc.send_signal(signal.SIGINT)
    out, rest = proc.communicate(timeout=60)
    assert held.done.wait(30)
    [(ns, name)] = lab.runtime.created
    return proc.returncode, f"{ns}/{name}", first + rest


def test_second_ctrl_c_still_deletes_a_pod_whose_create_answers_soon(lab):
    """Ctrl-C again while the clean-up waits for the create: a create that answers within a few seconds
    is still followed by the DELETE, and the pod is called deleted only after a GET said 404."""
    code, pod, err = second_ctrl_c(lab, 3)
    assert code == 130, err
    assert lab.runtime.pods_alive() == [], err
    ns, name = pod.split("/")
    assert [r.path for r in lab.requests if r.method == "DELETE"] == [f"{CREATES}/{name}"]
    gets = [r for r in lab.requests if r.method == "GET" and r.path == f"{CREATES}/{name}"]
    assert gets and f"deleted debug pod {pod}\n" in err
    assert "may still exist" not in err and "could not delete" not in err and "activeDeadlineSeconds" not in err


def test_second_ctrl_c_names_a_pod_whose_create_does_not_answer_in_time_once_and_truly(lab):
    """A create still held well after the second Ctrl-C: the pod may appear later. One line says so and how
    to delete it; nothing claims it stops by itself or that it is being deleted."""
    code, pod, err = second_ctrl_c(lab, 9)
    assert code == 130, err
    assert lab.runtime.pods_alive() == [pod], err  # created once the webhook answered, after the exit
    ns, name = pod.split("/")
    line = f"debug pod {pod} may still exist: delete it with: kubectl delete pod -n {ns} {name}"
    assert err.splitlines().count(line) == 1, err
    assert "still deleting" not in err and "could not delete" not in err and "stops by itself" not in err
    assert "activeDeadlineSeconds" not in err and f"deleted debug pod {pod}" not in err


# --- output -----------------------------------------------------------------------------------------------------
def test_table(run_cli, lab):
    code, out, err = run_cli("nodes", "--node-inspect", "--kubeconfig", str(lab.kubeconfig_path), "--no-color")
    lines = out.splitlines()
    assert lines[0] == f"Context lab: 3 node(s), inspected through debug pods (seccomp root {ROOT})"
    header = next(line for line in lines if line.startswith("NODE"))
    assert "APPARMOR PROFILES" in header and "SECCOMP DEFAULT" in header
    row_a = next(line for line in lines if line.startswith("node-a"))
    assert "4 loaded" in row_a and "on (config)" in row_a
    row_c = next(line for line in lines if line.startswith("node-c"))
    assert "disabled" in row_c and "no root" in row_c
    row = next(line for line in lines if line.startswith("apparmor") and "k8s-nginx" in line)
    assert "missing on node-b; no AppArmor on node-c" in row and "Deployment apps/web" in row
    row = next(line for line in lines if line.startswith("seccomp"))
    assert "differs on node-a, node-b" in row and "missing on node-c" in row
    assert "Pods blocked or failing for an AppArmor or seccomp reason:" in out and BLOCKED in out
    assert "2 of 3 profile(s) with problems" in out and "\x1b[" not in out
    assert out.count("debug pod ops/pss-nodes-") == 3 and code == 1


def test_yaml(run_cli, lab):
    import yaml

    code, out, _ = run_cli("nodes", "--kubeconfig", str(lab.kubeconfig_path), "-o", "yaml")
    assert yaml.safe_load(out)["summary"]["blockedPods"] == 1


@pytest.mark.parametrize("argv, message", [
    (["nodes", "--image", "x"], "--image needs --node-inspect"),
    (["nodes", "--seccomp-root", "relative"], "absolute path"),
    (["nodes", "--node-inspect", "--pod-timeout", "soon"], 'invalid --pod-timeout "soon"'),
    (["nodes", "-o", "name"], 'output format "name"'),
])
def test_usage_errors(run_cli, argv, message):
    code, out, err = run_cli(*argv)
    assert code == 2 and out == "" and message in err and err.count("\n") == 1


def test_unknown_node(run_cli, lab):
    code, report, err = nodes(run_cli, lab, "node-a", "nope")
    assert code == 2 and report["errors"] == [{"node": "nope", "message": 'nodes "nope" not found'}]
    assert [n["name"] for n in report["nodes"]] == ["node-a"]


def test_node_names_complete_from_kubectl(tmp_path, monkeypatch):
    from kubectl_pss.completion import complete

    kubectl = tmp_path / "kubectl"
    kubectl.write_text('#!/bin/sh\necho "$*" >> "$0.log"\ncase "$*" in *"get nodes"*) echo "node-b node-a" ;; esac\n')
    kubectl.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.delenv("KUBECTL_PSS_COMPLETION_NO_CLUSTER", raising=False)
    assert [v for v, _ in complete(["nodes", "--context", "prod", ""]).candidates] == ["node-a", "node-b"]
    assert (tmp_path / "kubectl.log").read_text().startswith("--context prod get nodes")
