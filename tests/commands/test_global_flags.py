"""kubectl's global flags on every cluster command: ``--kubeconfig``, ``--context``, ``--cluster``, ``--user``,
``-n``, ``-A``, ``--request-timeout``, ``-o`` and ``-v``, end to end through the real CLI and client."""
from __future__ import annotations

import argparse
import importlib
import json
import re

import pytest
import yaml

from kubectl_pss.commands import COMMANDS
from tests.apiserver import FakeApiServer, KubeContext
from tests.apiserver.runtime import FakeContainer
from tests.scenarios import ADMISSION_CONFIG, load_mixed_cluster

OFFLINE_COMMANDS = ("check", "seccomp", "completion")
CLUSTER_COMMANDS = tuple(c for c in COMMANDS if c not in OFFLINE_COMMANDS)
CONNECTION = {"--kubeconfig", "--context", "--cluster", "--user", "--request-timeout", "-v", "--v"}
SCOPE = {"-n", "--namespace", "-A", "--all-namespaces"}
OUTPUT = {"-o", "--output"}
# where a global flag means something else, or nothing: snapshot's -o is the FILE it writes (its format
# follows the extension); admission-config always covers the whole cluster (no -n/-A)
# (nodes are cluster-scoped: no -n/-A either)
NOT_GLOBAL = {"snapshot": OUTPUT, "admission-config": SCOPE, "version": SCOPE, "nodes": SCOPE,
              "fix": {"-A", "--all-namespaces"}}  # fix names its objects (KIND/NAME -n NS)
REQUEST_LINE = re.compile(r"^I\d{4} [\d:.]+ +\d+ \w+\.py:\d+\] (GET|PATCH|POST|DELETE) (\S+) (\d{3}) [A-Za-z ]+"
                          r"( \([\w.]+\))? in \d+ milliseconds$")


def parser_of(command: str) -> argparse.ArgumentParser:
    module = importlib.import_module(f"kubectl_pss.commands.{COMMANDS[command][0]}")
    parser = argparse.ArgumentParser()
    module.add_arguments(parser)
    return parser


def test_the_cluster_commands():
    assert {"audit", "simulate", "label", "admission-config", "snapshot", "verify-apparmor", "verify-seccomp",
            "version"} <= set(CLUSTER_COMMANDS)


@pytest.mark.parametrize("command", CLUSTER_COMMANDS)
def test_every_cluster_command_takes_kubectls_flags(command):
    flags = {s for action in parser_of(command)._actions for s in action.option_strings}
    wanted = CONNECTION | SCOPE | OUTPUT
    assert wanted - NOT_GLOBAL.get(command, set()) <= flags


@pytest.fixture
def two(apiserver, tmp_path):
    """east (apiserver) and west, the same small cluster on each; the kubeconfig's current context is
    east with alice (east's token); bob holds west's token."""
    west = FakeApiServer().start()
    for server in (apiserver, west):
        load_mixed_cluster(server)
        rt = server.runtime
        rt.add_node("node-a")
        rt.add_pod("good", "probe", [{"name": "app"}],
                   handlers={"app": FakeContainer({"/proc/1/attr/current": "cri-containerd.apparmor.d (enforce)\n",
                                                   "/proc/1/status": "Seccomp:\t2\nSeccomp_filters:\t1\n"})})
    config = {
        "apiVersion": "v1", "kind": "Config", "current-context": "east",
        "clusters": [KubeContext("east", apiserver.url, ca_pem=apiserver.ca_pem).cluster_entry(),
                     KubeContext("west", west.url, ca_pem=west.ca_pem).cluster_entry()],
        "users": [{"name": "alice", "user": {"token": apiserver.token}}, {"name": "bob", "user": {"token": west.token}}],
        "contexts": [{"name": "east", "context": {"cluster": "east", "user": "alice", "namespace": "good"}}],
    }
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(config))
    admission = tmp_path / "admission.yaml"
    admission.write_text(ADMISSION_CONFIG)

    class Two:
        pass

    t = Two()
    t.east, t.west, t.kubeconfig, t.admission, t.tmp = apiserver, west, path, admission, tmp_path
    yield t
    west.stop()


def invocation(command: str, t) -> list[str]:
    """A run of ``command`` that reads the cluster (and changes nothing)."""
    return {
        "audit": ["audit", "-A"],
        "simulate": ["simulate", "restricted", "-n", "good"],
        "label": ["label", "-n", "default", "--enforce", "baseline", "--dry-run=server"],
        "admission-config --from-cluster": ["admission-config", "--from-cluster"],
        "admission-config --check": ["admission-config", "--check", str(t.admission)],
        "snapshot": ["snapshot", "-o", str(t.tmp / "dump.json"), "--overwrite"],
        "verify-apparmor": ["verify-apparmor", "-n", "good", "probe"],
        "verify-seccomp": ["verify-seccomp", "-A"],
        "version": ["version"],
    }[command]


INVOCATIONS = ("audit", "simulate", "label", "admission-config --from-cluster", "admission-config --check",
               "snapshot", "verify-apparmor", "verify-seccomp", "version")


@pytest.mark.parametrize("command", INVOCATIONS)
def test_cluster_and_user_reach_the_other_server(run_cli, two, command):
    code, out, err = run_cli(*invocation(command, two), "--kubeconfig", two.kubeconfig,
                             "--cluster", "west", "--user", "bob")
    assert code in (0, 1), err
    assert two.east.requests == []
    assert two.west.requests and {r.header("Authorization") for r in two.west.requests} == {f"Bearer {two.west.token}"}


@pytest.mark.parametrize("command", INVOCATIONS)
def test_the_context_is_used_without_overrides(run_cli, two, command):
    code, _, err = run_cli(*invocation(command, two), "--kubeconfig", two.kubeconfig)
    assert code in (0, 1), err
    assert two.west.requests == [] and two.east.requests


@pytest.mark.parametrize("command", [c for c in INVOCATIONS if c != "version"])
@pytest.mark.parametrize("flag, value, message", [
    ("--cluster", "north", 'cluster "north" does not exist in kubeconfig'),
    ("--user", "mallory", 'user "mallory" does not exist in kubeconfig'),
])
def test_unknown_cluster_or_user_is_one_line_exit_2(run_cli, two, command, flag, value, message):
    code, out, err = run_cli(*invocation(command, two), "--kubeconfig", two.kubeconfig, flag, value)
    assert code == 2 and out == ""
    assert err.startswith("error: ") and message in err and err.count("\n") == 1
    assert two.east.requests == [] and two.west.requests == []


@pytest.mark.parametrize("command", INVOCATIONS)
def test_v6_logs_requests_on_stderr_and_never_the_token(run_cli, two, command):
    argv = invocation(command, two)
    json_output = command not in ("snapshot", "label")
    code, out, err = run_cli(*argv, "--kubeconfig", two.kubeconfig, "-v=6",
                             *(["-o", "json"] if json_output else []))
    assert code in (0, 1), err
    if json_output:
        json.loads(out)  # stdout is the report alone
    logged = [REQUEST_LINE.match(line) for line in err.splitlines() if "milliseconds" in line]
    assert logged and all(logged)
    assert len([m for m in logged if m.group(2).startswith("https://")]) == len(two.east.requests) - len(
        two.east.runtime.execs)
    assert two.east.token not in out + err
    assert "Config loaded from file:  " in err


def test_v6_logs_the_exec_upgrade(run_cli, two):
    code, _, err = run_cli("verify-apparmor", "-n", "good", "probe", "--kubeconfig", two.kubeconfig,
                           "-v", "6")
    assert code == 0, err
    assert re.search(r"\] GET wss://127\.0\.0\.1:\d+/api/v1/namespaces/good/pods/probe/exec\?command=cat&\S+ "
                     r"101 Switching Protocols \(v4\.channel\.k8s\.io\) in \d+ milliseconds$", err, re.M)


def test_v_before_the_command_name(run_cli, two):
    code, out, err = run_cli("-v", "6", "--kubeconfig", two.kubeconfig, "audit", "-n", "good", "-o", "json")
    assert code == 0 and json.loads(out)["namespaces"][0]["name"] == "good"
    assert "/api/v1/namespaces/good/pods?limit=500 200 OK" in err


@pytest.mark.parametrize("value", ["x", "-1"])
def test_bad_verbosity_is_a_usage_error(run_cli, value):
    code, out, err = run_cli("audit", f"-v={value}")
    assert code == 2 and out == "" and "invalid -v" in err and err.count("\n") == 1


def test_label_takes_namespaces_with_n_too(run_cli, two):
    by_flag = run_cli("label", "-n", "default,good", "--enforce", "baseline", "--dry-run=client",
                      "--kubeconfig", two.kubeconfig, "-o", "json")
    by_name = run_cli("label", "default", "good", "--enforce", "baseline", "--dry-run=client",
                      "--kubeconfig", two.kubeconfig, "-o", "json")
    assert by_flag[0] == by_name[0]
    names = lambda result: [ns["name"] for ns in json.loads(result[1])["namespaces"]]  # noqa: E731
    assert names(by_flag) == names(by_name) == ["default", "good"]


def test_namespace_flag_overrides_the_contexts_namespace(run_cli, two):
    code, out, _ = run_cli("audit", "--kubeconfig", two.kubeconfig, "-o", "json")
    assert [ns["name"] for ns in json.loads(out)["namespaces"]] == ["good"]  # the context's
    code, out, _ = run_cli("audit", "--kubeconfig", two.kubeconfig, "--namespace", "prod", "-o", "json")
    assert [ns["name"] for ns in json.loads(out)["namespaces"]] == ["prod"]


def test_request_timeout_reaches_the_client(run_cli, two):
    two.east.stall_once("/version", 2.0)
    code, out, err = run_cli("audit", "-A", "--kubeconfig", two.kubeconfig, "--request-timeout", "300ms")
    assert code == 2 and "timed out" in err and err.count("\n") == 1
