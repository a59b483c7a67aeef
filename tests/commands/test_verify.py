"""``verify-apparmor`` and ``verify-seccomp`` end to end: the real CLI, the real kubernetes client and
websocket-client, the fake API server's WebSocket exec endpoint, debug pods and crictl output."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.apiserver import load_recording
from tests.apiserver.runtime import EINVAL, Errno, ExecOutcome, FakeContainer, FakeNode, crictl_inspect_json
from tests.signals import DNS_1123_LABEL, signal_while_held, start

REPO = Path(__file__).resolve().parents[2]
STATUS = load_recording("exec-ws-cat-status")["frames"][1]["payload_text"]  # Seccomp: 2, Seccomp_filters: 1
RD = "cri-containerd.apparmor.d (enforce)\n"
RUNTIME_DEFAULT_FILTER = {
    "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
    "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
    "syscalls": [{"names": ["accept", "accept4", "access", "brk", "close", "exit_group", "openat", "read", "write"],
                  "action": "SCMP_ACT_ALLOW"},
                 {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
                  "args": [{"index": 0, "value": 0, "valueTwo": 0, "op": "SCMP_CMP_EQ"}]}],
}
NGINX_PROFILE = {"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"],
                 "syscalls": [{"names": ["read", "write", "exit_group", "epoll_wait"], "action": "SCMP_ACT_ALLOW"}]}
SECCOMP_ROOT = "/var/lib/kubelet/seccomp"


def status(mode: int) -> str:
    filters = "1" if mode == 2 else "0"
    return STATUS.replace("Seccomp:\t2\nSeccomp_filters:\t1", f"Seccomp:\t{mode}\nSeccomp_filters:\t{filters}")


def box(attr=RD, seccomp=2, **extra):
    files = {"/proc/1/attr/current": attr, "/proc/1/status": status(seccomp)}
    files.update(extra)
    return FakeContainer(files)


def aa(kind, profile=None):
    p = {"type": kind}
    if profile:
        p["localhostProfile"] = profile
    return p


def sc(apparmor=None, seccomp=None, **more):
    out = dict(more)
    if apparmor:
        out["appArmorProfile"] = apparmor
    if seccomp:
        out["seccompProfile"] = seccomp
    return out


@pytest.fixture
def lab(apiserver, make_kubeconfig):
    """node-a containerd with AppArmor, node-b CRI-O with AppArmor (SeccompDefault on), node-c without AppArmor.

    apps: one pod per situation (see each test); locked: exec forbidden; edge: on node-c."""
    server, rt = apiserver, apiserver.runtime
    rt.start_delay = 0.02
    rt.add_node("node-a")
    rt.add_node("node-b", runtime="cri-o://1.28.1", kubelet="v1.29.4",
                taints=[{"key": "dedicated", "value": "infra", "effect": "NoSchedule"}])
    rt.add_node("node-c", apparmor=False, kubelet="v1.24.17", runtime="containerd://1.6.20")
    for ns in ("apps", "locked", "edge", "ops"):
        server.add_namespace(ns)
    add = rt.add_pod
    add("apps", "web", [{"name": "nginx", "securityContext": sc(aa("RuntimeDefault"), aa("RuntimeDefault"))}],
        handlers={"nginx": box()})
    add("apps", "crio-web", [{"name": "app"}], node="node-b", runtime="cri-o",
        pod_security_context=sc(aa("RuntimeDefault")), handlers={"app": box("crio-default (enforce)\n", 2)})
    add("apps", "local", [{"name": "app", "securityContext": sc(aa("Localhost", "k8s-nginx"),
                                                                aa("Localhost", "profiles/nginx.json"))}],
        handlers={"app": box("k8s-nginx (enforce)\n")})
    add("apps", "drift", [{"name": "app", "securityContext": sc(aa("Localhost", "k8s-nginx"),
                                                                aa("Localhost", "profiles/drift.json"))}],
        handlers={"app": box(RD)})
    add("apps", "lax", [{"name": "app", "securityContext": sc(aa("Localhost", "k8s-nginx"), aa("RuntimeDefault"))}],
        handlers={"app": box("k8s-nginx (complain)\n", 0)})
    add("apps", "legacy", [{"name": "app"}], handlers={"app": box("unconfined\n", 2)},
        annotations={"container.apparmor.security.beta.kubernetes.io/app": "runtime/default",
                     "seccomp.security.alpha.kubernetes.io/pod": "unconfined"})
    add("apps", "plain", [{"name": "app"}], handlers={"app": box(RD, 0)})
    add("apps", "distroless", [{"name": "app", "securityContext": sc(aa("RuntimeDefault"), aa("RuntimeDefault"))}],
        handlers={"app": FakeContainer({"/proc/1/attr/current": RD, "/proc/1/status": status(2)}, commands=())})
    # PID 1 is the pause process (containerd's defaults); the exec'd cat is the container's own process
    add("apps", "shared", [{"name": "app", "securityContext": sc(aa("Unconfined"), aa("Unconfined"))}],
        shareProcessNamespace=True,
        handlers={"app": box(RD, 2, **{"/proc/self/attr/current": "unconfined\n", "/proc/self/status": status(0)})})
    add("apps", "blocked", [{"name": "app", "securityContext": sc(aa("Localhost", "k8s-missing"))}], phase="Pending",
        states={"app": {"waiting": {"reason": "Blocked"}}})
    blocked = server._stores["pods"].get("apps", "blocked")
    blocked["status"].update(reason="AppArmor", message="Cannot enforce AppArmor: profile \"k8s-missing\" is not loaded")
    add("apps", "priv", [{"name": "app", "securityContext": {"privileged": True}}],
        handlers={"app": box("unconfined\n", 0)})
    add("locked", "one", [{"name": "a"}, {"name": "b"}], handlers={"a": box(), "b": box()})
    server.forbid("pods/exec", namespace="locked")
    add("edge", "old", [{"name": "app", "securityContext": sc(aa("RuntimeDefault"), aa("RuntimeDefault"))}],
        node="node-c", handlers={"app": FakeContainer({"/proc/1/attr/current": EINVAL, "/proc/1/status": status(2)})})

    def cid(pod, container="app", ns="apps"):
        return rt.container_id(ns, pod, container)

    pids = iter(range(4301, 4400))

    def inspect(pod, seccomp, container="app", ns="apps"):
        """crictl's answer, and the container's process on the node: its /proc as the container shows it
        (the node's truth equals the container's own view here; tests/commands/test_verify_node.py forges)."""
        pid = next(pids)
        handler = rt.exec_handlers.get((ns, pod, container))
        own = "self" if pod == "shared" else "1"
        for path, value in (getattr(handler, "files", None) or {}).items():
            if path.startswith(f"/proc/{own}/"):
                node_files[f"/proc/{pid}/" + path[len(f"/proc/{own}/"):]] = value
        label = (getattr(handler, "files", None) or {}).get(f"/proc/{own}/attr/current")
        profile = label.split(" (")[0] if isinstance(label, str) and "(" in label else None  # what the runtime set
        return {cid(pod, container, ns): crictl_inspect_json(cid(pod, container, ns), container, seccomp=seccomp,
                                                              pid=pid, apparmor_profile=profile)}

    node_files: dict = {}

    node_a = FakeNode(files={f"{SECCOMP_ROOT}/profiles/nginx.json": json.dumps(NGINX_PROFILE),
                             f"{SECCOMP_ROOT}/profiles/drift.json": json.dumps(NGINX_PROFILE)})
    node_files = node_a.files
    for pod, filt in (("local", NGINX_PROFILE), ("drift", RUNTIME_DEFAULT_FILTER), ("lax", None),
                      ("legacy", RUNTIME_DEFAULT_FILTER), ("plain", None), ("distroless", RUNTIME_DEFAULT_FILTER),
                      ("shared", None), ("priv", None)):
        node_a.containers.update(inspect(pod, filt))
    node_a.containers.update(inspect("web", RUNTIME_DEFAULT_FILTER, "nginx"))
    rt.on_node("node-a", node_a)
    node_b, node_c = FakeNode(), FakeNode()
    node_files = node_b.files
    node_b.containers.update(inspect("crio-web", RUNTIME_DEFAULT_FILTER))
    node_files = node_c.files
    node_c.containers.update(inspect("old", RUNTIME_DEFAULT_FILTER, ns="edge"))
    rt.on_node("node-b", node_b)
    rt.on_node("node-c", node_c)
    server.kubeconfig_path = make_kubeconfig([server.context("lab", namespace="apps")], "lab", name="lab-config")
    server.node_a = node_a
    return server


def verify(run_cli, lab, command, *extra):
    code, out, err = run_cli(command, "--kubeconfig", str(lab.kubeconfig_path), "-o", "json", *extra)
    assert out, err
    return code, json.loads(out), err


def by_pod(report):
    return {(c["pod"] if c["namespace"] == "apps" else f"{c['namespace']}/{c['pod']}")
            + ("" if c["container"] == "app" else f"/{c['container']}"): c for c in report["containers"]}


def short(c):
    return (c["verdict"], c["reason"], c["actual"])


def label(profile, mode=None):
    """verify-apparmor's ``actual``: the label as data."""
    return {"profile": profile, "mode": mode}


# --- verify-apparmor -----------------------------------------------------------------------------
def test_apparmor_every_verdict(run_cli, lab):
    code, report, err = verify(run_cli, lab, "verify-apparmor")
    assert code == 1 and err == 'verifying namespace "apps" only: -A for every namespace\n'
    c = by_pod(report)
    assert short(c["web/nginx"]) == ("match", None, label("cri-containerd.apparmor.d", "enforce"))
    assert short(c["crio-web"]) == ("match", None, label("crio-default", "enforce"))  # judged by node-b's runtime
    assert short(c["local"]) == ("match", None, label("k8s-nginx", "enforce"))
    assert short(c["drift"]) == ("mismatch", "profile", label("cri-containerd.apparmor.d", "enforce"))
    assert c["drift"]["detail"] == "runs cri-containerd.apparmor.d, expected profile k8s-nginx"
    assert short(c["lax"]) == ("complain", "complain-mode", label("k8s-nginx", "complain"))
    assert short(c["legacy"]) == ("mismatch", "unconfined", label("unconfined"))
    assert c["legacy"]["expected"] == "RuntimeDefault" and c["legacy"]["expectedSource"] == "annotation"
    assert short(c["plain"]) == ("match", None, label("cri-containerd.apparmor.d", "enforce"))
    assert c["plain"]["expected"] is None
    assert short(c["distroless"]) == ("unverifiable", "no-cat", None)
    assert "--debug-image" in c["distroless"]["detail"]
    assert short(c["shared"]) == ("match", None, label("unconfined"))  # /proc/self, not the pause process
    assert short(c["blocked"]) == ("unverifiable", "not-running", None)
    assert "Blocked" in c["blocked"]["detail"] and 'profile "k8s-missing" is not loaded' in c["blocked"]["detail"]
    assert short(c["priv"]) == ("match", None, label("unconfined"))
    assert report["summary"] == {"containers": 11, "match": 6, "mismatch": 2, "complain": 1, "unverifiable": 2}
    assert [(n["name"], n["runtime"], n["apparmor"]) for n in report["nodes"]] == [
        ("node-a", "containerd 1.7.13", "enabled"), ("node-b", "cri-o 1.28.1", "enabled")]
    # argv through exec, never a shell; the blocked container is not exec'd into
    execs = lab.runtime.execs
    assert {tuple(e.argv) for e in execs} == {("cat", "/proc/1/attr/current"), ("cat", "/proc/self/attr/current")}
    assert not [e for e in execs if e.pod == "blocked"]


def test_apparmor_table_shows_the_label_as_the_kernel_writes_it(run_cli, lab):
    code, out, _ = run_cli("verify-apparmor", "--kubeconfig", str(lab.kubeconfig_path), "local", "lax", "legacy",
                           "--no-color")
    rows = {line.split()[1]: line for line in out.splitlines() if line.startswith("apps ")}
    assert "  k8s-nginx (enforce)  " in rows["local"]
    assert "  k8s-nginx (complain)  " in rows["lax"]
    assert "  unconfined  " in rows["legacy"] and "{" not in out


def test_verify_and_nodes_server_version_that_fails_is_a_note(run_cli, lab):
    """One GET /version for the envelope's server; when it fails the report still runs, server null, a note."""
    for command, *argv in (("verify-apparmor", "web", "local"), ("verify-seccomp", "web", "local"), ("nodes",)):
        code, report, _ = verify(run_cli, lab, command, *argv)
        assert report["server"] == {"gitVersion": lab.version["gitVersion"], "minor": lab.minor}
        assert [r.path for r in lab.requests].count("/version") == 1
        lab.clear_requests()
        lab.fail("/version", 404)
        failed_code, failed, _ = verify(run_cli, lab, command, *argv)
        assert failed["server"] is None and failed_code == code and failed["errors"] == []
        assert failed["summary"] == report["summary"]
        assert [n for n in failed["notes"] if n.startswith("the server's version could not be read (GET /version)")]
        lab.clear_requests()


def test_apparmor_all_match_exit_0(run_cli, lab):
    code, report, err = verify(run_cli, lab, "verify-apparmor", "web", "local", "crio-web")
    assert code == 0 and report["summary"]["match"] == 3 and report["errors"] == []


def test_apparmor_container_flag(run_cli, lab):
    code, report, _ = verify(run_cli, lab, "verify-apparmor", "-n", "locked", "-c", "b")
    assert [c["container"] for c in report["containers"]] == ["b"]


def test_apparmor_exec_forbidden(run_cli, lab):
    code, report, _ = verify(run_cli, lab, "verify-apparmor", "-n", "locked")
    assert code == 1
    assert [short(c)[:2] for c in report["containers"]] == [("unverifiable", "exec-forbidden")] * 2
    assert 'cannot create resource "pods/exec"' in report["containers"][0]["detail"]
    # one at a time, the namespace is not asked again after the first 403
    lab.clear_requests()
    verify(run_cli, lab, "verify-apparmor", "-n", "locked", "--parallel", "1")
    assert len([r for r in lab.requests if r.path.endswith("/exec")]) == 1


def test_apparmor_node_without_apparmor(run_cli, lab):
    code, report, _ = verify(run_cli, lab, "verify-apparmor", "-n", "edge")
    [c] = report["containers"]
    assert (c["verdict"], c["reason"]) == ("unverifiable", "apparmor-disabled")
    assert "Invalid argument" in c["detail"] and "/proc/1/attr/apparmor/current does not exist" in c["detail"]
    assert report["nodes"] == [{"name": "node-c", "kubeletVersion": "v1.24.17", "containerRuntime": "containerd://1.6.20",
                                "os": "linux", "apparmor": "not reported", "ready": True,
                                "runtime": "containerd 1.6.20"}]
    assert [tuple(e.argv) for e in lab.runtime.execs] == [("cat", "/proc/1/attr/current"),
                                                         ("cat", "/proc/1/attr/apparmor/current")]


@pytest.mark.parametrize("files", [{}, {"/proc/1/attr/current": Errno("Input/output error")}])
def test_apparmor_failed_read_on_an_apparmor_node_is_read_failed_not_apparmor_disabled(run_cli, lab, files):
    lab.runtime.on_exec("apps", "web", "nginx", FakeContainer(files))
    code, report, _ = verify(run_cli, lab, "verify-apparmor", "web")
    [c] = report["containers"]
    assert code == 1 and (c["verdict"], c["reason"]) == ("unverifiable", "read-failed")
    assert ("No such file or directory" if not files else "read error: Input/output error") in c["detail"]
    assert "not enabled" not in c["detail"]


def test_apparmor_debug_image_reads_through_an_ephemeral_container(run_cli, lab):
    code, report, _ = verify(run_cli, lab, "verify-apparmor", "distroless", "--debug-image", "busybox:1.36")
    [c] = report["containers"]
    assert short(c) == ("match", None, label("cri-containerd.apparmor.d", "enforce"))
    [eph] = report["ephemeralContainers"]
    assert (eph["pod"], eph["target"]) == ("distroless", "app") and eph["name"].startswith("pss-probe-app-")
    spec = lab.get_object("pods", "apps", "distroless")["spec"]["ephemeralContainers"]
    assert [(e["name"], e["image"], e["targetContainerName"]) for e in spec] == [(eph["name"], "busybox:1.36", "app")]
    assert any("ephemeral debug container" in n for n in report["notes"]) and code == 0


def test_apparmor_vanished_pod(run_cli, lab):
    # listed, then gone before its exec: the first exec (pod "blocked" has none; "crio-web" sorts first) deletes it
    def delete_ghost(call):
        lab.delete("pods", "apps", "web")
        return box()(call)

    lab.runtime.on_exec("apps", "crio-web", "app", delete_ghost)
    code, report, _ = verify(run_cli, lab, "verify-apparmor", "--parallel", "1")
    c = by_pod(report)["web/nginx"]
    assert (c["verdict"], c["reason"]) == ("unverifiable", "pod-gone") and 'pods "web" not found' in c["detail"]


def test_apparmor_missing_named_pod_is_an_error(run_cli, lab):
    code, out, err = run_cli("verify-apparmor", "nope", "web", "--kubeconfig", str(lab.kubeconfig_path),
                             "-o", "json")
    report = json.loads(out)
    assert code == 2 and report["errors"] == [{"namespace": "apps", "pod": "nope", "message": 'pods "nope" not found'}]
    assert err == 'error: pod "apps/nope": pods "nope" not found\n'
    assert by_pod(report)["web/nginx"]["verdict"] == "match"


def test_apparmor_nodes_forbidden_still_judges(run_cli, lab):
    lab.forbid("nodes")
    lab.forbid("nodes", verbs=["get"])
    code, report, _ = verify(run_cli, lab, "verify-apparmor", "web", "crio-web")
    c = by_pod(report)
    assert c["web/nginx"]["verdict"] == "match" and "containerd default" in c["web/nginx"]["notes"][-1]
    assert report["nodes"][0]["apparmor"] == "unknown" and any("forbidden" in n for n in report["notes"])


def test_apparmor_table(run_cli, lab):
    code, out, err = run_cli("verify-apparmor", "--kubeconfig", str(lab.kubeconfig_path), "--no-color")
    lines = out.splitlines()
    assert lines[0] == "Context lab: AppArmor of 11 container(s)" and "\x1b[" not in out
    assert any(line.startswith("NODE") and "APPARMOR" in line for line in lines)
    row = next(line for line in lines if line.startswith("apps") and " drift " in line)
    assert "mismatch" in row and "runs cri-containerd.apparmor.d, expected profile k8s-nginx" in row
    assert "6 match, 2 mismatch, 1 complain, 2 unverifiable" in out


@pytest.mark.parametrize("argv, message", [
    (["verify-apparmor", "-A", "web"], "by name across all namespaces"),
    (["verify-apparmor", "-A", "-n", "x"], "-A or -n, not both"),
    (["verify-apparmor", "web", "-n", "a,b"], "give -n once"),
    (["verify-apparmor", "-o", "name"], 'output format "name"'),
    (["verify-seccomp", "--image", "x"], "--image needs --node-inspect"),
    (["verify-seccomp", "--node-inspect", "--pod-timeout", "soon"], 'invalid --pod-timeout "soon"'),
    (["verify-seccomp", "--seccomp-root", "relative"], "absolute path"),
])
def test_usage_errors(run_cli, argv, message):
    code, out, err = run_cli(*argv)
    assert code == 2 and out == "" and message in err and err.count("\n") == 1


# --- verify-seccomp ----------------------------------------------------------------------------------
def test_seccomp_quick(run_cli, lab):
    code, report, err = verify(run_cli, lab, "verify-seccomp")
    assert code == 1 and err == 'verifying namespace "apps" only: -A for every namespace\n'
    assert report["debugPods"] == [] and lab.runtime.created == []
    c = by_pod(report)
    assert short(c["web/nginx"]) == ("match", None, {"mode": "filter", "filters": 1})
    assert (c["crio-web"]["verdict"], c["crio-web"]["flags"]) == ("match", ["seccompDefault"])
    assert (c["plain"]["verdict"], c["plain"]["flags"]) == ("match", [])
    assert short(c["lax"]) == ("mismatch", "no-filter", {"mode": "disabled", "filters": 0})
    assert c["lax"]["flags"] == ["noFilter"]
    assert short(c["legacy"]) == ("mismatch", "filtered", {"mode": "filter", "filters": 1})
    assert c["legacy"]["expectedSource"] == "pod annotation"
    assert short(c["shared"]) == ("match", None, {"mode": "disabled", "filters": 0})  # not the pause process's 2
    assert short(c["priv"])[0] == "match" and short(c["distroless"])[:2] == ("unverifiable", "no-cat")
    assert short(c["blocked"])[:2] == ("unverifiable", "not-running")
    # SeccompDefault on some nodes only
    assert {n["name"]: n["seccompDefault"] for n in report["nodes"]} == {"node-a": "off", "node-b": "on"}
    assert report["flags"] == {"seccompDefault": 1, "noFilter": 1}
    assert {tuple(e.argv) for e in lab.runtime.execs} == {("cat", "/proc/1/status"), ("cat", "/proc/self/status")}


def test_seccomp_node_inspect(run_cli, lab):
    code, report, err = verify(run_cli, lab, "verify-seccomp", "--node-inspect")
    assert code == 1
    c = by_pod(report)
    web = c["web/nginx"]
    assert short(web) == ("match", None, {"mode": "filter", "filters": None})  # the runtime spec counts no filters
    _, table, _ = run_cli("verify-seccomp", "--node-inspect", "--kubeconfig", str(lab.kubeconfig_path))
    assert "SCMP_ACT_ERRNO, 10 syscalls allowed (SCMP_ARCH_X86_64, SCMP_ARCH_X86, SCMP_ARCH_X32)" in table
    assert web["filter"] == {"defaultAction": "SCMP_ACT_ERRNO", "allowedSyscalls": 10,
                             "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]}
    assert web["quick"] == {"mode": "filter", "filters": 1}
    assert short(c["local"])[:2] == ("match", None)  # Localhost: the file under the seccomp root is the same
    assert short(c["drift"])[:2] == ("mismatch", "differs")
    assert c["drift"]["detail"] == (
        "the running filter differs from the profile file: 7 syscalls allowed that the file does not allow: accept, "
        "accept4, access, brk, close (+2 more); 1 syscalls of the file not allowed: epoll_wait; architectures "
        "SCMP_ARCH_X86_64, SCMP_ARCH_X86, SCMP_ARCH_X32 instead of SCMP_ARCH_X86_64")
    # crictl: unconfined, no linux.seccomp
    assert short(c["lax"]) == ("mismatch", "no-filter", {"mode": "disabled", "filters": None})
    assert short(c["legacy"])[:2] == ("mismatch", "filtered")
    assert (c["crio-web"]["verdict"], c["crio-web"]["flags"]) == ("match", ["seccompDefault"])
    assert short(c["distroless"])[:2] == ("match", None)  # crictl needs no cat in the image
    assert short(c["blocked"])[:2] == ("unverifiable", "not-running")
    # one debug pod per node involved, each deleted, and said so
    pods = report["debugPods"]
    assert [(p["node"], p["deleted"]) for p in pods] == [("node-a", True), ("node-b", True)]
    assert all(p["namespace"] == "apps" and p["name"].startswith(f"pss-seccomp-{p['node']}-") for p in pods)
    assert lab.runtime.pods_alive() == [] and sorted(lab.runtime.deleted) == sorted(lab.runtime.created)
    for p in pods:
        assert f"created debug pod apps/{p['name']} on node {p['node']}" in err
        assert f"deleted debug pod apps/{p['name']}\n" in err
    crictl = [call for call in lab.node_a.calls if "crictl" in call]
    assert crictl[0][:5] == ["chroot", "/host", "crictl", "inspect", "-o"]
    assert ["chroot", "/host", "cat", f"{SECCOMP_ROOT}/profiles/nginx.json"] in lab.node_a.calls


def test_seccomp_debug_pod_shape(run_cli, lab):
    verify(run_cli, lab, "verify-seccomp", "crio-web", "--node-inspect", "--image", "registry.local/crictl:1",
           "--debug-namespace", "ops")
    [create] = [r for r in lab.requests if r.method == "POST"]
    pod = create.json
    assert create.path == "/api/v1/namespaces/ops/pods"
    spec = pod["spec"]
    assert (spec["nodeName"], spec["hostPID"], spec["tolerations"]) == ("node-b", True, [{"operator": "Exists"}])
    assert spec["containers"][0]["image"] == "registry.local/crictl:1"
    assert spec["containers"][0]["securityContext"] == {"privileged": True}
    assert spec["volumes"] == [{"name": "host-root", "hostPath": {"path": "/"}}]


def test_seccomp_localhost_file_missing(run_cli, lab):
    del lab.node_a.files[f"{SECCOMP_ROOT}/profiles/nginx.json"]
    _, report, _ = verify(run_cli, lab, "verify-seccomp", "local", "--node-inspect")
    [c] = report["containers"]
    assert (c["verdict"], c["reason"]) == ("unverifiable", "profile-file-missing")
    assert "/var/lib/kubelet/seccomp/profiles/nginx.json is not on the node" in c["detail"]


def test_seccomp_debug_pod_rejected_by_pod_security(run_cli, lab):
    lab.runtime.admit = lambda pod: 'violates PodSecurity "baseline:latest": privileged'
    code, report, err = verify(run_cli, lab, "verify-seccomp", "web", "--node-inspect")
    assert code == 2 and report["debugPods"] == [] and lab.runtime.created == []
    assert report["containers"][0]["verdict"] == "match"  # the quick verdict stays
    assert "node inspection failed: quick verdict only" in report["containers"][0]["notes"]
    assert 'error: node "node-a": cannot create debug pod apps/pss-seccomp-node-a-' in err
    assert "violates PodSecurity" in err


def test_seccomp_debug_pod_refusal_is_not_tried_again_on_other_nodes(run_cli, lab):
    """The one stop rule of the debug-pod runner: a 403 creating the pod holds for every node."""
    refused = []

    def admit(pod):
        refused.append(pod["spec"]["nodeName"])
        return 'violates PodSecurity "baseline:latest": privileged'

    lab.runtime.admit = admit
    code, report, err = verify(run_cli, lab, "verify-seccomp", "-A", "--node-inspect")
    assert code == 2 and refused == ["node-a"] and lab.runtime.created == []
    errors = {e["node"]: e["message"] for e in report["errors"]}
    assert "violates PodSecurity" in errors["node-a"] and "not tried again" not in errors["node-a"]
    assert errors["node-b"].endswith("(not tried again on the other nodes)") and "violates PodSecurity" in errors["node-b"]


def test_seccomp_debug_pod_never_starts(run_cli, lab):
    lab.runtime.start_state = {"waiting": {"reason": "ErrImagePull", "message": "pull access denied"}}
    code, report, err = verify(run_cli, lab, "verify-seccomp", "web", "--node-inspect", "--image", "nope:1")
    assert code == 2 and "ErrImagePull: pull access denied" in err
    assert lab.runtime.pods_alive() == [] and report["debugPods"][0]["deleted"] is True


def test_seccomp_node_without_crictl(run_cli, lab):
    lab.node_a.crictl = False
    code, report, err = verify(run_cli, lab, "verify-seccomp", "web", "plain", "--node-inspect")
    assert code == 2 and "no crictl on the node" in err and lab.runtime.pods_alive() == []
    assert [c["verdict"] for c in report["containers"]] == ["match", "match"]


def test_seccomp_interrupted_deletes_the_debug_pod(run_cli, lab, monkeypatch):
    import kubectl_pss.operations.crictl as crictl

    def interrupt(text):
        raise KeyboardInterrupt

    monkeypatch.setattr(crictl, "parse_crictl_inspect", interrupt)
    code, out, err = run_cli("verify-seccomp", "--node-inspect", "--kubeconfig", str(lab.kubeconfig_path))
    assert code == 130 and out == "" and err.endswith("error: interrupted\n")
    [(ns, name)] = lab.runtime.created
    assert lab.runtime.deleted == [(ns, name)] and lab.runtime.pods_alive() == []
    assert f"created debug pod {ns}/{name}" in err and f"deleted debug pod {ns}/{name}" in err


@pytest.mark.parametrize("sig, code", [(signal.SIGTERM, 128 + signal.SIGTERM), (signal.SIGINT, 130)])
def test_seccomp_signal_deletes_the_debug_pod(lab, sig, code):
    """A real process, a real signal, while its debug pod runs crictl."""
    procs = []

    def signal_then_answer(call):
        if "crictl" in call.argv:
            procs[0].send_signal(sig)
            time.sleep(0.2)
        return lab.node_a(call)

    lab.runtime.on_node("node-a", signal_then_answer)
    env = {**os.environ, "PYTHONPATH": str(REPO), "NO_COLOR": "1"}
    procs.append(subprocess.Popen([sys.executable, "-m", "kubectl_pss", "verify-seccomp", "web", "--node-inspect",
                                   "--kubeconfig", str(lab.kubeconfig_path)], cwd=REPO, env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    out, err = procs[0].communicate(timeout=30)
    assert procs[0].returncode == code, err
    [(ns, name)] = lab.runtime.created
    assert lab.runtime.deleted == [(ns, name)] and lab.runtime.pods_alive() == []
    assert f"created debug pod {ns}/{name}" in err and f"deleted debug pod {ns}/{name}" in err and out == ""


@pytest.mark.parametrize("sig, code", [(signal.SIGTERM, 128 + signal.SIGTERM), (signal.SIGINT, 130)])
def test_seccomp_signal_during_a_slow_create_leaves_no_debug_pod(lab, sig, code):
    """A slow admission webhook holds the debug pod's POST; the signal comes then, the pod after it."""
    held = lab.hold("POST", "/api/v1/namespaces/apps/pods", 1.5)
    proc = start("verify-seccomp", "web", "--node-inspect", "--kubeconfig", str(lab.kubeconfig_path))
    out, err = signal_while_held(proc, held, sig)
    assert proc.returncode == code, err
    [(ns, name)] = lab.runtime.created
    assert lab.runtime.deleted == [(ns, name)] and lab.runtime.pods_alive() == [], err
    assert f"deleted debug pod {ns}/{name}" in err and out == ""
    [create] = lab.requests_to("/api/v1/namespaces/apps/pods", method="POST")
    assert create.json["metadata"]["name"] == name and DNS_1123_LABEL.fullmatch(name) and len(name) <= 63
    assert create.json["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "kubectl-pss"
    assert create.json["metadata"]["labels"]["kubectl-pss/run"]


def test_apparmor_stream_cut_without_status_is_unparsable(run_cli, lab):
    # no status on the error channel counts as success (as in kubectl); an empty label is not one
    lab.runtime.on_exec("apps", "web", "nginx", lambda call: ExecOutcome(drop=True))
    _, report, _ = verify(run_cli, lab, "verify-apparmor", "web")
    assert short(report["containers"][0])[:2] == ("unverifiable", "unparsable")


def test_verify_counts_containers_on_a_terminal(lab, monkeypatch, capsys, fake_terminal):
    from kubectl_pss.cli import main

    terminal = fake_terminal()
    monkeypatch.setenv("TERM", "xterm")
    main(["verify-apparmor", "web", "local", "crio-web", "--kubeconfig", str(lab.kubeconfig_path), "-o", "json"])
    counts = [w.split("\x1b[K")[1] for w in terminal.written if w.startswith("\r\x1b[Kcontainers checked")]
    assert counts[-1] == "containers checked: 3/3" and sorted(counts) == counts
    assert terminal.written[-1] == "\r\x1b[K"  # the line is cleared before the report
    assert json.loads(capsys.readouterr().out)["summary"]["match"] == 3
