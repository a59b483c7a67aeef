"""Reasons in PodSecurity messages, matched to the engine's check ids."""
from __future__ import annotations

import ast
import inspect
import sys

import pytest

from kubectl_pss.auditlog.reasons import REASONS, check_id, parse_checks, split_message, split_reasons
from kubectl_pss.policy import Level, evaluate, parse_version
from kubectl_pss.policy.checks import ALL


def _reasons_printed_by(module) -> set[str]:
    """Every first argument of ``Forbidden(...)`` in a check module: a literal, a module constant, or the
    two forms of ``pluralize(...)``."""
    tree = ast.parse(inspect.getsource(module))
    constants = {t.id: n.value.value for n in tree.body if isinstance(n, ast.Assign)
                 for t in n.targets if isinstance(t, ast.Name) and isinstance(n.value, ast.Constant)}
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Forbidden":
            arg = node.args[0]
            if isinstance(arg, ast.Constant):
                found.add(arg.value)
            elif isinstance(arg, ast.Name):
                found.add(constants[arg.id])
            elif isinstance(arg, ast.Call) and getattr(arg.func, "id", None) == "pluralize":
                found.update(a.value for a in arg.args[:2])
            else:
                raise AssertionError(f"{module.__name__}: a Forbidden reason this test cannot read")
    return found


def test_the_reason_table_is_what_the_checks_print():
    printed = {check.id: set().union(*(_reasons_printed_by(sys.modules[r.check.__module__]) for r in check.revisions))
               for check in ALL}
    assert {k: set(v) for k, v in REASONS.items()} == printed


def test_split_keeps_commas_inside_details():
    text = ('host namespaces (hostNetwork=true, hostPID=true), forbidden sysctls (kernel.msgmax, kernel.sem), '
            'hostPath volumes (volumes "a", "b"), privileged (container "x" must not set securityContext.privileged=true)')
    assert split_reasons(text) == [
        ("host namespaces", "hostNetwork=true, hostPID=true"), ("forbidden sysctls", "kernel.msgmax, kernel.sem"),
        ("hostPath volumes", 'volumes "a", "b"'), ("privileged", 'container "x" must not set securityContext.privileged=true')]


def test_split_message_forms():
    assert split_message('would violate PodSecurity "restricted:v1.23": runAsUser=0 (pod must not set runAsUser=0)') \
        == ("restricted:v1.23", "runAsUser=0 (pod must not set runAsUser=0)")
    assert split_message('pods "shell" is forbidden: violates PodSecurity "baseline:latest": privileged (x)') \
        == ("baseline:latest", "privileged (x)")
    assert split_message('admission webhook "x" denied the request: no') is None


@pytest.mark.parametrize("policy, reason, expected", [
    ("baseline:latest", "seccompProfile", "seccompProfile_baseline"),
    ("restricted:latest", "seccompProfile", "seccompProfile_restricted"),
    ("restricted:v1.18", "seccompProfile", "seccompProfile_baseline"),  # restricted's own check starts at v1.19
    ("restricted:v1.34", "procMount", "procMount"),
    ("restricted:v1.35", "procMount", "procMount_restricted"),
    ("restricted:latest", "hostPort", "hostPorts"),
    ("restricted:latest", "something new", None),
])
def test_check_id_follows_the_policys_plan(policy, reason, expected):
    level, version = policy.split(":")
    assert check_id(reason, Level(level), parse_version(version)) == expected


def _pod(spec: dict, annotations: dict | None = None) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "annotations": annotations or {}},
            "spec": spec}


PODS = [
    _pod({"hostNetwork": True, "hostPID": True, "containers": [
        {"name": "a", "securityContext": {"privileged": True, "capabilities": {"add": ["NET_ADMIN", "SYS_TIME"]},
                                          "procMount": "Unmasked", "runAsUser": 0},
         "ports": [{"containerPort": 80, "hostPort": 80}, {"containerPort": 81, "hostPort": 81}]},
        {"name": "b", "securityContext": {"seLinuxOptions": {"type": "spc_t"},
                                          "seccompProfile": {"type": "Unconfined"},
                                          "windowsOptions": {"hostProcess": True}}}],
          "securityContext": {"sysctls": [{"name": "kernel.msgmax", "value": "1"}, {"name": "net.core.x", "value": "2"}]},
          "volumes": [{"name": "h", "hostPath": {"path": "/"}}, {"name": "n", "nfs": {"server": "s", "path": "/"}}]},
         {"container.apparmor.security.beta.kubernetes.io/a": "unconfined"}),
    _pod({"hostIPC": True, "containers": [{"name": "web", "image": "nginx"}],
          "initContainers": [{"name": "init", "securityContext": {"capabilities": {"add": ["CHOWN", "BPF"]}}}]}),
    # capability names are free strings: a ")" or ", " inside quotes is part of the detail
    _pod({"containers": [{"name": "odd", "securityContext": {"capabilities": {"add": ["X), y (Z", "A, B"]}}}]}),
]


@pytest.mark.parametrize("pod", PODS)
@pytest.mark.parametrize("policy", ["baseline:latest", "baseline:v1.0", "restricted:latest", "restricted:v1.23",
                                    "restricted:v1.35"])
def test_the_engines_own_messages_parse_back_to_its_violations(pod, policy):
    level, version = policy.split(":")
    result = evaluate(pod, level, version)
    assert result.violations  # each pod fails each of these policies
    split = split_message(result.denial())
    assert split is not None and split[0] == policy
    parsed = parse_checks(split[1], (Level(level), parse_version(version)))
    assert list(parsed) == [v.as_dict() for v in result.violations]
