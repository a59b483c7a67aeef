"""``examples/rbac.yaml`` against what the commands really send: each command runs against the fake API
server (which records every request), each request is turned into RBAC attributes the way the API
server does (RequestInfo), and the matching ClusterRole must allow it; every rule must be needed."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest
import yaml

from kubectl_pss.cli import main
from tests.apiserver import RecordedRequest
from tests.apiserver.runtime import FakeContainer, FakeNode, crictl_inspect_json
from tests.scenarios import ADMISSION_CONFIG, PSA, load_mixed_cluster

RBAC = Path(__file__).resolve().parents[2] / "examples" / "rbac.yaml"
BASE = {"kubectl-pss-labeler": "kubectl-pss-reader", "kubectl-pss-verifier": "kubectl-pss-reader",
        "kubectl-pss-node-inspector": "kubectl-pss-verifier"}
STREAMING = {"pods/exec", "pods/attach", "pods/portforward"}
STATUS = "Name:\tsleep\nSeccomp:\t2\nSeccomp_filters:\t1\n"
RD = "cri-containerd.apparmor.d (enforce)\n"
RD_FILTER = {"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"],
             "syscalls": [{"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"}]}


# --- RBAC ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Attributes:
    """What the API server's authorizer sees (k8s.io/apiserver RequestInfo)."""

    verb: str
    group: str | None  # None: a non-resource URL
    resource: str  # "pods", "pods/exec", or the URL path
    namespace: str | None = None
    name: str | None = None


def attributes(request: RecordedRequest) -> list[Attributes]:
    """The authorization checks of one request (two for a WebSocket exec on Kubernetes 1.35+)."""
    parts = [p for p in request.path.split("/") if p]
    if parts[:1] == ["api"] and len(parts) >= 2:
        group, rest = "", parts[2:]
    elif parts[:1] == ["apis"] and len(parts) >= 3:
        group, rest = parts[1], parts[3:]
    else:
        return [Attributes(request.method.lower(), None, request.path)]
    namespace = None
    if rest[:1] == ["namespaces"] and len(rest) >= 3:
        namespace, rest = rest[1], rest[2:]
    resource, name, sub = rest[0], rest[1] if len(rest) > 1 else None, rest[2] if len(rest) > 2 else None
    full = f"{resource}/{sub}" if sub else resource
    verb = {"POST": "create", "PUT": "update", "PATCH": "patch"}.get(request.method)
    if request.method == "GET":
        verb = "get" if name else ("watch" if request.query.get("watch") in ("true", "1") else "list")
    elif request.method == "DELETE":
        verb = "delete" if name else "deletecollection"
    checks = [Attributes(verb, group, full, namespace, name)]
    if full in STREAMING and (request.header("Upgrade") or "").lower() == "websocket":
        checks.append(Attributes("create", group, full, namespace, name))
    return checks


def load_roles() -> dict[str, list[dict]]:
    docs = [d for d in yaml.safe_load_all(RBAC.read_text()) if d]
    assert all(d["apiVersion"] == "rbac.authorization.k8s.io/v1" and d["kind"] == "ClusterRole" for d in docs)
    return {d["metadata"]["name"]: d["rules"] for d in docs}


def allows(rules: list[dict], attrs: Attributes) -> bool:
    for rule in rules:
        if attrs.verb not in rule["verbs"] and "*" not in rule["verbs"]:
            continue
        if attrs.group is None:
            if attrs.resource in rule.get("nonResourceURLs", []):
                return True
            continue
        if attrs.group in rule.get("apiGroups", []) and attrs.resource in rule.get("resources", []):
            return True
    return False


def grants(rules: list[dict]) -> set[tuple[str | None, str, str]]:
    out = set()
    for rule in rules:
        for verb in rule["verbs"]:
            out |= {(None, url, verb) for url in rule.get("nonResourceURLs", [])}
            out |= {(g, r, verb) for g in rule.get("apiGroups", []) for r in rule.get("resources", [])}
    return out


ROLES = load_roles()


def test_the_roles_are_the_four_of_the_readme():
    assert list(ROLES) == ["kubectl-pss-reader", "kubectl-pss-labeler", "kubectl-pss-verifier",
                           "kubectl-pss-node-inspector"]


@pytest.mark.parametrize("role, base", BASE.items())
def test_each_role_adds_to_its_base(role, base):
    assert grants(ROLES[base]) < grants(ROLES[role])


def test_the_resolver_reads_paths_like_the_api_server():
    def req(method, path, **headers):
        return RecordedRequest(method, path, {}, headers, b"")

    assert attributes(req("GET", "/api/v1/namespaces")) == [Attributes("list", "", "namespaces")]
    assert attributes(req("GET", "/api/v1/namespaces/prod")) == [Attributes("get", "", "namespaces", None, "prod")]
    assert attributes(req("PATCH", "/api/v1/namespaces/prod")) == [Attributes("patch", "", "namespaces", None, "prod")]
    assert attributes(req("GET", "/apis/apps/v1/namespaces/a/deployments")) == [
        Attributes("list", "apps", "deployments", "a")]
    assert attributes(req("DELETE", "/api/v1/namespaces/a/pods/p")) == [Attributes("delete", "", "pods", "a", "p")]
    assert attributes(req("GET", "/api/v1/namespaces/a/pods/p/exec", Upgrade="websocket")) == [
        Attributes("get", "", "pods/exec", "a", "p"), Attributes("create", "", "pods/exec", "a", "p")]
    assert attributes(req("GET", "/version")) == [Attributes("get", None, "/version")]


# --- the commands, as each role's user runs them ------------------------------------------------------
def run(*argv) -> int:
    return main([str(a) for a in argv])


@pytest.fixture
def cluster(apiserver, tmp_path):
    """The mixed cluster of the audit tests, plus running pods with exec handlers and their nodes."""
    load_mixed_cluster(apiserver)
    rt = apiserver.runtime
    rt.start_delay = 0.01
    rt.add_node("node-a")
    rt.add_node("node-b")
    apiserver.add_namespace("apps")
    rt.add_pod("apps", "web", [{"name": "nginx"}], handlers={"nginx": FakeContainer({
        "/proc/1/attr/current": RD, "/proc/1/status": STATUS})})
    rt.add_pod("apps", "distroless", [{"name": "app"}], node="node-b", handlers={"app": FakeContainer({
        "/proc/1/attr/current": RD, "/proc/1/status": STATUS}, commands=())})
    for node, pod, container in (("node-a", "web", "nginx"), ("node-b", "distroless", "app")):
        cid = rt.container_id("apps", pod, container)
        rt.on_node(node, FakeNode({cid: crictl_inspect_json(cid, container, seccomp=RD_FILTER)}))
    apiserver.admission = tmp_path / "admission.yaml"
    apiserver.admission.write_text(ADMISSION_CONFIG)
    apiserver.tmp = tmp_path
    return apiserver


@dataclass
class Scenario:
    role: str
    argv: Callable  # (cluster) -> argv after the command's connection flags are added
    setup: Callable | None = None  # (cluster) -> None: e.g. refuse a list, to exercise a fallback


def forbid(resource: str, verbs: list[str]) -> Callable:
    return lambda server: server.forbid(resource, namespace="*", verbs=verbs)


def undo_round_trip(server) -> list[str]:
    undo = server.tmp / "undo.json"
    assert run("label", "good", "--enforce", "baseline", "--yes", "--undo-file", undo,
               "--kubeconfig", server.kubeconfig_path) == 0
    return ["label", "--undo", undo, "--yes", "--undo-file", server.tmp / "redo.json"]


def seccomp_profile(server) -> Path:
    path = server.tmp / "profile.json"
    path.write_text('{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["execve"], '
                    '"action": "SCMP_ACT_ALLOW"}]}')
    return path


SCENARIOS = {
    # reader
    "audit -A": Scenario("kubectl-pss-reader", lambda s: ["audit", "-A"]),
    "audit (context namespace)": Scenario("kubectl-pss-reader", lambda s: ["audit"]),
    "audit -n, namespaces not listable": Scenario("kubectl-pss-reader", lambda s: ["audit", "-n", "prod,good"],
                                                  forbid("namespaces", ["list"])),
    "audit -A, pods not listable cluster-wide": Scenario("kubectl-pss-reader", lambda s: ["audit", "-A"],
                                                         lambda s: s.forbid("pods", verbs=["list"])),
    "simulate": Scenario("kubectl-pss-reader", lambda s: ["simulate", "restricted", "-A"]),
    "simulate -n": Scenario("kubectl-pss-reader", lambda s: ["simulate", "baseline", "-n", "good"]),
    "snapshot": Scenario("kubectl-pss-reader", lambda s: ["snapshot", "-A", "-o", s.tmp / "dump.json"]),
    "admission-config --from-cluster": Scenario("kubectl-pss-reader", lambda s: ["admission-config", "--from-cluster"]),
    "admission-config --check": Scenario("kubectl-pss-reader", lambda s: ["admission-config", "--check", s.admission]),
    "version": Scenario("kubectl-pss-reader", lambda s: ["version"]),
    # labeler
    "label --dry-run=server": Scenario("kubectl-pss-labeler",
                                       lambda s: ["label", "-A", "--enforce", "baseline", "--dry-run=server"]),
    "label --yes": Scenario("kubectl-pss-labeler", lambda s: ["label", "good", "--enforce", "restricted", "--yes",
                                                              "--undo-file", s.tmp / "u1.json"]),
    "label -l --stage --yes": Scenario("kubectl-pss-labeler", lambda s: [
        "label", "-l", f"{PSA}enforce", "--enforce", "restricted", "--stage", "--yes", "--undo-file",
        s.tmp / "u2.json"]),
    "label --undo": Scenario("kubectl-pss-labeler", undo_round_trip),
    "simulate --server-dry-run": Scenario("kubectl-pss-labeler",
                                          lambda s: ["simulate", "restricted", "-A", "--server-dry-run"]),
    # verifier
    "verify-apparmor -A": Scenario("kubectl-pss-verifier", lambda s: ["verify-apparmor", "-A"]),
    "verify-apparmor POD": Scenario("kubectl-pss-verifier", lambda s: ["verify-apparmor", "-n", "apps", "web"]),
    "verify-apparmor --debug-image": Scenario("kubectl-pss-verifier", lambda s: [
        "verify-apparmor", "-n", "apps", "distroless", "--debug-image", "busybox:1.36"]),
    "verify-seccomp -A": Scenario("kubectl-pss-verifier", lambda s: ["verify-seccomp", "-A"]),
    "verify-seccomp, nodes not listable": Scenario("kubectl-pss-verifier", lambda s: ["verify-seccomp", "-n", "apps"],
                                                   forbid("nodes", ["list"])),
    "nodes": Scenario("kubectl-pss-verifier", lambda s: ["nodes"]),
    # node inspector
    "verify-seccomp --node-inspect": Scenario("kubectl-pss-node-inspector", lambda s: [
        "verify-seccomp", "-n", "apps", "--node-inspect", "--debug-namespace", "apps"]),
    "nodes --node-inspect": Scenario("kubectl-pss-node-inspector", lambda s: [
        "nodes", "--node-inspect", "--debug-namespace", "apps"]),
    "seccomp install --yes": Scenario("kubectl-pss-node-inspector", lambda s: [
        "seccomp", "install", seccomp_profile(s), "--path", "profiles/p.json", "--all-nodes", "--yes",
        "--debug-namespace", "apps"]),
}


def requests_of(cluster, scenario: Scenario) -> list[RecordedRequest]:
    if scenario.setup is not None:
        scenario.setup(cluster)
    argv = scenario.argv(cluster)
    cluster.clear_requests()
    code = run(*argv, "--kubeconfig", cluster.kubeconfig_path)
    assert code in (0, 1, 2), argv  # 2: the refused lists of the fallback scenarios
    assert cluster.requests, f"{argv}: no request"
    return list(cluster.requests)


@pytest.mark.parametrize("name", SCENARIOS)
def test_every_request_is_allowed_by_the_commands_role(cluster, capsys, name):
    scenario = SCENARIOS[name]
    rules = ROLES[scenario.role]
    denied = [f"{r.method} {r.path} -> {a}" for r in requests_of(cluster, scenario) for a in attributes(r)
              if not allows(rules, a)]
    assert denied == [], f"{scenario.role} lacks rules for:\n" + "\n".join(denied)


def test_every_rule_is_needed(cluster, capsys):
    """Each (group, resource, verb) a role grants is requested by one of its commands or its base's."""
    used: dict[str, set] = {role: set() for role in ROLES}
    for name, scenario in SCENARIOS.items():
        cluster.allow_all()
        for request in requests_of(cluster, scenario):
            for a in attributes(request):
                used[scenario.role].add((a.group, a.resource, a.verb))
    capsys.readouterr()
    for role in ROLES:
        reach, base = set(used[role]), BASE.get(role)
        while base:
            reach |= used[base]
            base = BASE.get(base)
        assert grants(ROLES[role]) - reach == set(), role


def test_check_and_seccomp_need_no_cluster(cluster, capsys, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", str(cluster.kubeconfig_path))
    examples = Path(__file__).resolve().parents[2] / "examples" / "manifests"
    assert run("check", "-f", examples) == 0
    assert run("seccomp", "lint", examples.parent / "seccomp" / "nginx.yaml") == 0
    assert cluster.requests == []
