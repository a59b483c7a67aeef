"""deploy/ (the in-cluster audit) and the Containerfile: the CronJob's own command runs with the
ServiceAccount's in-cluster configuration against the fake API server, each request is checked against the
ClusterRole (as tests/commands/test_rbac.py does for examples/rbac.yaml), every rule must be used, and the
CronJob's pod template must pass restricted with the engine."""
from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest
import yaml

from kubectl_pss import __version__
from kubectl_pss.cli import main
from kubectl_pss.cluster import kubeconfig as kubeconfig_mod
from kubectl_pss.policy import LATEST, Level, evaluate
from tests.commands.test_rbac import allows, attributes, grants
from tests.scenarios import load_mixed_cluster

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"


def documents(name: str) -> list[dict]:
    return [d for d in yaml.safe_load_all((DEPLOY / name).read_text()) if d]


def objects() -> dict[tuple[str, str], dict]:
    kustomization = documents("kustomization.yaml")[0]
    return {(d["kind"], d["metadata"]["name"]): d for f in kustomization["resources"] for d in documents(f)}


OBJECTS = objects()
CRONJOB = OBJECTS[("CronJob", "kubectl-pss")]
ROLE = OBJECTS[("ClusterRole", "kubectl-pss-reporter")]
POD = CRONJOB["spec"]["jobTemplate"]["spec"]["template"]["spec"]


def test_the_kustomization_installs_every_manifest_namespace_first():
    kustomization = documents("kustomization.yaml")[0]
    assert sorted(kustomization["resources"]) == sorted(p.name for p in DEPLOY.glob("*.yaml")
                                                         if p.name != "kustomization.yaml")
    assert documents(kustomization["resources"][0]) == [OBJECTS[("Namespace", "kubectl-pss")]]
    for (kind, name), obj in OBJECTS.items():
        if kind in ("Namespace", "ClusterRole", "ClusterRoleBinding"):
            assert "namespace" not in obj["metadata"], name
        else:
            assert obj["metadata"]["namespace"] == "kubectl-pss", (kind, name)


def test_the_service_account_is_bound_to_the_role():
    binding = OBJECTS[("ClusterRoleBinding", "kubectl-pss-reporter")]
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                                  "name": "kubectl-pss-reporter"}
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "kubectl-pss", "namespace": "kubectl-pss"}]
    assert POD["serviceAccountName"] == "kubectl-pss" and ("ServiceAccount", "kubectl-pss") in OBJECTS


def test_the_cronjob_runs_hourly_never_overlapping_and_bounded():
    spec = CRONJOB["spec"]
    minute, *rest = spec["schedule"].split()
    assert re.fullmatch(r"[0-5]?[0-9]", minute) and rest == ["*", "*", "*", "*"]
    assert spec["concurrencyPolicy"] == "Forbid"
    assert 0 < spec["jobTemplate"]["spec"]["activeDeadlineSeconds"] <= 3600
    [container] = POD["containers"]
    assert container["args"] == ["audit", "-A", "--write-reports", "--yes"]
    assert container["image"] == f"kubectl-pss:{__version__}"
    assert POD["restartPolicy"] == "Never"


def test_the_cronjob_passes_restricted_and_so_does_its_namespace():
    result = evaluate(CRONJOB, Level.RESTRICTED, LATEST)
    assert result.allowed, result.violations
    labels = OBJECTS[("Namespace", "kubectl-pss")]["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    # the check above can fail: the same template without its container securityContext does not pass
    loose = copy.deepcopy(CRONJOB)
    del loose["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["securityContext"]
    assert {v.check for v in evaluate(loose, Level.RESTRICTED, LATEST).violations} == {
        "allowPrivilegeEscalation", "capabilities_restricted"}


def test_the_role_has_no_wildcards():
    for rule in ROLE["rules"]:
        for key in ("apiGroups", "resources", "verbs", "nonResourceURLs"):
            assert "*" not in rule.get(key, []), rule


@pytest.fixture
def in_cluster(apiserver, tmp_path, monkeypatch):
    """The CronJob's pod: no kubeconfig, the ServiceAccount's token and CA, KUBERNETES_SERVICE_HOST/PORT."""
    sa = tmp_path / "serviceaccount"
    sa.mkdir()
    (sa / "token").write_text(apiserver.token)
    (sa / "ca.crt").write_bytes(apiserver.ca_pem)
    (sa / "namespace").write_text("kubectl-pss")
    monkeypatch.setattr(kubeconfig_mod, "SERVICE_ACCOUNT_DIR", str(sa))
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.kube/config
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", str(apiserver.port))
    load_mixed_cluster(apiserver)
    apiserver.reports.install("wgpolicyk8s.io")
    return apiserver


def run_cronjob(server, capsys) -> tuple[int, list]:
    server.clear_requests()
    code = main(POD["containers"][0]["args"])
    capsys.readouterr()
    return code, list(server.requests)


def test_the_cronjob_command_in_cluster_needs_exactly_the_roles_rules(in_cluster, capsys):
    used = set()
    requests = []
    in_cluster.reports.put("policyreports", {  # a managed report by another name: stale, deleted
        "apiVersion": "wgpolicyk8s.io/v1alpha2", "kind": "PolicyReport",
        "metadata": {"name": "pss-old", "namespace": "good", "labels": {"app.kubernetes.io/managed-by": "kubectl-pss"}}})
    code, first = run_cronjob(in_cluster, capsys)  # creates every namespace's report
    assert code == 0 and any(r.method == "POST" for r in first)
    assert first[0].header("Authorization").lower() == f"bearer {in_cluster.token}"  # the in-cluster token
    in_cluster.inject("/api/v1/pods", 503, times=10**9, exact=True)
    code, second = run_cronjob(in_cluster, capsys)  # updates them; writes the cluster report (pods unread)
    code_again, third = run_cronjob(in_cluster, capsys)  # updates the cluster report too
    assert (code, code_again) == (2, 2)
    in_cluster._faults.clear()
    code, fourth = run_cronjob(in_cluster, capsys)  # deletes the stale cluster report
    assert code == 0 and any(r.method == "DELETE" for r in fourth)
    for request in first + second + third + fourth:
        for attrs in attributes(request):
            assert allows(ROLE["rules"], attrs), f"{request.method} {request.path} -> {attrs}"
            used.add((attrs.group, attrs.resource, attrs.verb))
        requests.append(request)
    assert grants(ROLE["rules"]) - used == set()
    assert all(r.reply is None or r.reply.status < 400 or r.path == "/api/v1/pods" for r in requests)


def test_the_containerfile_builds_from_the_wheel_and_runs_as_non_root():
    text = (ROOT / "Containerfile").read_text()
    instructions = [line.split(None, 1) for line in text.splitlines() if line and not line.startswith("#")]
    froms = [rest for op, rest in instructions if op == "FROM"]
    assert len(froms) == 2 and all(f.startswith("python:3.11-slim") for f in froms)
    assert any(op == "RUN" and "pip wheel" in rest for op, rest in instructions)
    [user] = [rest for op, rest in instructions if op == "USER"]
    uid = user.split(":")[0]
    assert uid.isdigit() and int(uid) != 0  # numeric: the kubelet can check runAsNonRoot
    assert int(uid) == POD["securityContext"]["runAsUser"]
    assert ["ENTRYPOINT", '["kubectl-pss"]'] in instructions
    assert f"kubectl-pss:{__version__}" in text


def test_the_readmes_continuous_audit_commands_are_ones_the_parser_takes():
    from kubectl_pss.commands import command_parser
    from tests.test_readme_examples import command_lines, section

    text = section("\n## Continuous audit\n")
    lines = command_lines(text)
    assert len(lines) == 4
    for argv in lines:
        assert argv[:3] == ["kubectl", "pss", "audit"]
        command_parser("audit").parse_args(argv[3:])
    assert "kubectl-pss audit -A --write-reports --yes" in text
    assert " ".join(POD["containers"][0]["args"]) == "audit -A --write-reports --yes"


def enabled_admission_config(tmp_path: Path) -> dict[tuple[str, str], dict]:
    """deploy/ rendered by ``kubectl kustomize`` with its commented admission-config lines uncommented."""
    import shutil
    import subprocess

    copy_ = tmp_path / "deploy"
    shutil.copytree(DEPLOY, copy_)
    text = (copy_ / "kustomization.yaml").read_text()
    optional = [line for line in text.splitlines() if line.startswith("# - ") or line == "# patches:"]
    assert len(optional) == 3, text
    for line in optional:
        text = text.replace(line, line[2:])
    (copy_ / "kustomization.yaml").write_text(text)
    proc = subprocess.run(["kubectl", "kustomize", str(copy_)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(proc.stdout) if d}


@pytest.mark.skipif(__import__("shutil").which("kubectl") is None, reason="kubectl kustomize renders deploy/")
def test_the_optional_admission_config_mounts_the_configmap_and_passes_it(in_cluster, tmp_path, capsys):
    from kubectl_pss.manifests import load_admission_config

    rendered = enabled_admission_config(tmp_path)
    assert set(rendered) == set(OBJECTS) | {("ConfigMap", "kubectl-pss-admission")}
    assert {k: v for k, v in rendered.items() if k[0] in ("ClusterRole", "ClusterRoleBinding")} == {
        k: v for k, v in OBJECTS.items() if k[0] in ("ClusterRole", "ClusterRoleBinding")}  # RBAC unchanged
    cronjob = rendered[("CronJob", "kubectl-pss")]
    assert evaluate(cronjob, Level.RESTRICTED, LATEST).allowed  # still passes restricted
    pod = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    [container] = pod["containers"]
    args = container["args"]
    assert args[:4] == ["audit", "-A", "--write-reports", "--yes"] and args[4] == "--admission-config"
    [volume] = [v for v in pod["volumes"] if "configMap" in v]
    [mount] = [m for m in container["volumeMounts"] if m["name"] == volume["name"]]
    assert volume["configMap"]["name"] == "kubectl-pss-admission" and mount["readOnly"] is True
    [key] = rendered[("ConfigMap", "kubectl-pss-admission")]["data"]
    assert args[5] == f"{mount['mountPath']}/{key}"
    assert {m["mountPath"] for m in container["volumeMounts"]} == {"/tmp", mount["mountPath"]}  # /tmp kept
    # the command, with the ConfigMap's file where the kubelet would mount it: its exemptions and defaults hold
    mounted = tmp_path / "mounted"
    mounted.mkdir()
    (mounted / key).write_text(rendered[("ConfigMap", "kubectl-pss-admission")]["data"][key])
    config, warnings = load_admission_config(str(mounted / key))
    assert warnings == [] and config.exemptions.namespace_exempt("kube-system")
    in_cluster.clear_requests()
    assert main([*args[:5], str(mounted / key)]) == 0
    capsys.readouterr()
    for request in in_cluster.requests:
        for attrs in attributes(request):
            assert allows(ROLE["rules"], attrs), f"{request.method} {request.path} -> {attrs}"
    system = in_cluster.reports.get("policyreports", "kube-system", "kubectl-pss")
    assert system["summary"]["skip"] >= 1 and system["summary"]["fail"] == 0  # exempt, as the API server has it
