"""``label`` against the fake API server: what must never be applied or overwritten, and selectors."""
from __future__ import annotations

import io
import json

import pytest

from tests.scenarios import RESTRICTED_SPEC

PSA = "pod-security.kubernetes.io/"


@pytest.fixture(autouse=True)
def in_tmp(tmp_path, monkeypatch):
    """Default undo files land in the working directory: keep them out of the repository."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def cluster(mixed_cluster):
    mixed_cluster.add_namespace("team", {"team": "blue"})
    mixed_cluster.add_pod("team", "web", RESTRICTED_SPEC)
    return mixed_cluster


@pytest.fixture
def label(run_cli, cluster):
    def run(*argv: str) -> tuple[int, str, str]:
        return run_cli("label", *argv, "--kubeconfig", str(cluster.kubeconfig_path))

    return run


def applied_patches(cluster) -> list:
    return [r for r in cluster.requests if r.method == "PATCH" and r.query.get("dryRun") != "All"]


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


# --- the confirmation: only y/yes applies -------------------------------------------------------
@pytest.mark.parametrize("answer", ["\n", "", "  \n"], ids=["empty line", "EOF", "blank"])
def test_confirmation_without_yes_applies_nothing(label, cluster, monkeypatch, tmp_path, answer):
    monkeypatch.setattr("sys.stdin", FakeTTY(answer))
    code, out, err = label("team", "--enforce", "baseline")
    assert "[y/N]" in err and "not applied" in err
    assert code == 1 and applied_patches(cluster) == []
    assert PSA + "enforce" not in cluster.namespace("team")["metadata"]["labels"]
    assert list(tmp_path.glob("kubectl-pss-undo-*")) == []  # the working directory (in_tmp)


# --- the undo file is never overwritten, not even one that appears after the plan ----------------
def test_undo_file_appearing_after_the_plan_is_not_overwritten(label, cluster, tmp_path):
    undo_path = tmp_path / "undo.json"
    theirs = '{"someone": "else"}\n'

    def appears_during_the_server_dry_run(ns, old, new):
        undo_path.write_text(theirs)  # after validate() checked the path, before the first real patch
        return []

    cluster.namespace_patch_warnings = appears_during_the_server_dry_run
    code, out, err = label("team", "--enforce", "baseline", "--yes", "--undo-file", str(undo_path))
    assert [r.query.get("dryRun") for r in cluster.requests if r.method == "PATCH"] == ["All"]
    assert undo_path.read_text() == theirs
    assert code == 2 and err.startswith(f"error: cannot write the undo file {undo_path}", err.index("error:"))
    assert "error:" not in err[:err.index("error:")] and "note:" not in out.lower()
    assert "nothing was changed" in err and "Traceback" not in err
    assert PSA + "enforce" not in cluster.namespace("team")["metadata"]["labels"]


# --- selectors: k!=v selects namespaces without the key, as Kubernetes does ------------------------
def test_not_equal_selector_selects_namespaces_without_the_key(label, cluster):
    cluster.add_namespace("red", {"team": "red"})
    code, out, err = label("-l", "team!=blue", "--enforce", "baseline", "--dry-run=client", "-o", "json")
    assert code == 1, err  # some selected namespaces run pods that baseline refuses
    names = [ns["name"] for ns in json.loads(out)["namespaces"]]
    assert names == ["batch", "default", "good", "kube-system", "prod", "red", "sandbox"]


# --- the exempt-namespace warning counts a -version label as set ---------------------------------
def test_exempt_warning_when_the_only_label_is_a_version_label(label, cluster, tmp_path):
    """Undo restores kube-system (exempt) to only enforce-version=v1.30: its enforce level comes from the
    defaults (baseline), and the server warns that baseline:v1.30 is ignored (upstream
    exemptNamespaceWarning: a mode is named when its level label or its version label is set)."""
    undo = tmp_path / "kube-system-undo.json"
    undo.write_text(json.dumps({
        "kind": "KubectlPssLabelUndo", "version": 1, "context": "fake", "server": cluster.url,
        "createdAt": "2026-12-01T00:00:00Z", "command": "kubectl pss label kube-system",
        "namespaces": [{"name": "kube-system", "previous": {PSA + "enforce-version": "v1.30"},
                        "applied": {PSA + "enforce-version": None}, "resourceVersion": None}]}))
    expected = ['namespace "kube-system" is exempt from Pod Security, and the policy (enforce=baseline:v1.30) '
                "will be ignored"]
    cluster.namespace_patch_warnings = lambda ns, old, new: expected if ns == "kube-system" else []
    code, out, err = label("--undo", str(undo), "--dry-run=server", "--admission-config",
                           str(cluster.admission_config), "-o", "json")
    [ns] = json.loads(out)["namespaces"]
    assert ns["name"] == "kube-system" and ns["exempt"] is True
    assert ns["patch"] == {PSA + "enforce-version": "v1.30"}
    assert ns["server"]["expected"] == expected and ns["server"]["agrees"] is True
    assert "dry run and kubectl-pss differ" not in err
