"""Scope (issue #16): -l and --exclude-namespace on audit, simulate, label, snapshot and admission-config
--from-cluster; the default scope (the context's namespace, said on stderr); pod selectors on verify-*,
--node/-l on nodes. Checked against the requests the fake API server recorded, through the real client."""
from __future__ import annotations

import importlib
import json
import re
import shlex
from pathlib import Path

import pytest

from kubectl_pss.cluster import inventory as inventory_mod
from tests.apiserver import write_kubeconfig
from tests.commands.test_verify import lab  # noqa: F401 - the verify fixture (nodes, runtime, pods)

# name -> labels; each namespace has one privileged pod (so an audit of it is never "restricted")
NAMESPACES = {"kube-system": {}, "kube-public": {}, "shop": {"team": "blue", "tier": "apps"},
              "web": {"team": "red", "tier": "apps"}, "ops": {"team": "blue"}, "legacy": {"legacy": "yes"}}
PRIVILEGED = {"containers": [{"name": "c", "image": "busybox", "securityContext": {"privileged": True}}]}


@pytest.fixture
def cluster(apiserver, tmp_path):
    for name, labels in NAMESPACES.items():
        apiserver.add_namespace(name, labels)
        apiserver.add_pod(name, f"{name}-pod", PRIVILEGED)
    apiserver.kubeconfig_path = write_kubeconfig(tmp_path / "kubeconfig", [apiserver.context("fake",
                                                                                             namespace="shop")], "fake")
    apiserver.clear_requests()
    return apiserver


def kube(server) -> list[str]:
    return ["--kubeconfig", str(server.kubeconfig_path)]


def listed(server, resource: str = "pods") -> dict[str, str | None]:
    """Every list of ``resource`` requested: path -> its labelSelector."""
    return {r.path: r.query.get("labelSelector") for r in server.requests
            if r.method == "GET" and r.path.endswith(f"/{resource}")}


def touched_namespaces(server) -> set[str]:
    """The namespaces some request was made in (or about)."""
    out = set()
    for r in server.requests:
        parts = r.path.split("/")
        if "namespaces" in parts and len(parts) > parts.index("namespaces") + 1:
            out.add(parts[parts.index("namespaces") + 1])
    return out


def names(report) -> list[str]:
    return [ns["name"] for ns in report["namespaces"]]


# --- the default scope ---------------------------------------------------------------------------
@pytest.mark.parametrize("argv, doing", [(["audit"], "auditing"), (["simulate", "baseline"], "simulating")])
def test_no_scope_flag_reads_the_context_namespace_only_and_says_so(cluster, run_cli, argv, doing):
    code, out, err = run_cli(*argv, "-o", "json", *kube(cluster))
    report = json.loads(out)
    assert names(report) == ["shop"] and err == f'{doing} namespace "shop" only: -A for every namespace\n'
    assert report["cluster"]["scope"] == {"namespaces": ["shop"], "selector": None, "excludeNamespaces": []}
    assert touched_namespaces(cluster) == {"shop"}  # nothing of another namespace was read
    assert set(listed(cluster)) == {"/api/v1/namespaces/shop/pods"}


def test_snapshot_without_scope_dumps_the_context_namespace_and_says_so(cluster, run_cli, tmp_path):
    dump = tmp_path / "dump.json"
    code, _, err = run_cli("snapshot", "-o", dump, *kube(cluster))
    items = json.loads(dump.read_text())["items"]
    assert code == 0 and err.startswith('dumping namespace "shop" only: -A for every namespace\n')
    assert sorted(i["metadata"]["name"] for i in items if i["kind"] == "Namespace") == ["shop"]
    assert items[0]["scope"] == {"namespaces": ["shop"], "selector": None, "excludeNamespaces": []}


def test_all_namespaces_says_nothing_about_scope(cluster, run_cli):
    code, out, err = run_cli("audit", "-A", "-o", "json", *kube(cluster))
    assert err == "" and names(json.loads(out)) == sorted(NAMESPACES)


# --- -l: namespaces by label, sent to the server ---------------------------------------------------
@pytest.mark.parametrize("selector, sent, selected", [
    ("team=blue", "team=blue", ["ops", "shop"]),
    ("team!=blue", "team!=blue", ["kube-public", "kube-system", "legacy", "web"]),  # no team: selected
    ("!team", "!team", ["kube-public", "kube-system", "legacy"]),
    ("team", "team", ["ops", "shop", "web"]),
    ("team in (blue, red),tier", "team in (blue,red),tier", ["shop", "web"]),
    ("team notin (blue)", "team notin (blue)", ["kube-public", "kube-system", "legacy", "web"]),
])
def test_selector_goes_to_the_namespaces_list_and_nothing_else_is_read(cluster, run_cli, selector, sent, selected):
    code, out, err = run_cli("audit", "-l", selector, "-o", "json", *kube(cluster))
    report = json.loads(out)
    assert code == 0 and err == "" and names(report) == selected
    assert listed(cluster, "namespaces") == {"/api/v1/namespaces": sent}
    assert touched_namespaces(cluster) == set(selected)  # per namespace: a small scope
    assert report["cluster"]["scope"] == {"namespaces": None, "selector": sent, "excludeNamespaces": []}


def test_selector_with_named_namespaces_is_their_intersection(cluster, run_cli):
    code, out, err = run_cli("simulate", "baseline", "-n", "shop,web,ops", "-l", "team=blue", "-o", "json",
                             *kube(cluster))
    report = json.loads(out)
    assert names(report) == ["ops", "shop"] and report["errors"] == []  # web: named, not selected: not an error
    assert touched_namespaces(cluster) == {"ops", "shop"}
    # ...but never silently: stderr names what the selector left out
    assert err == ("warning: namespace \"web\" (-n) does not match -l 'team=blue' (or does not exist): "
                   "not audited\n")


@pytest.mark.parametrize("command", [["audit"], ["simulate", "baseline"]])
def test_a_named_namespace_the_selector_drops_does_not_pass_a_gate(cluster, run_cli, command):
    cluster.forbid("pods", namespace="web")
    code, out, err = run_cli(*command, "-n", "web", "-l", "team=blue", "--fail-on", "baseline", "-o", "json",
                             *kube(cluster))
    assert code == 2, err
    assert 'warning: namespace "web" (-n) does not match' in err
    assert "warning: no namespace matched -n web -l 'team=blue'" in err
    assert "--fail-on baseline judged nothing: no namespace in scope" in err
    assert json.loads(out)["namespaces"] == []


def test_a_scope_matching_nothing_is_warned_and_exits_0_without_a_gate(cluster, run_cli):
    code, out, err = run_cli("audit", "-A", "-l", "nosuch=x", "-o", "policyreport", *kube(cluster))
    assert code == 0 and "items: []" in out
    assert err == "warning: no namespace matched -l 'nosuch=x'\n"
    code, out, err = run_cli("audit", "-A", "-l", "nosuch=x", "--fail-on", "enforce", *kube(cluster))
    assert code == 2 and "warning: no namespace matched" in err and "judged nothing" in err


def test_a_snapshot_of_no_namespace_is_warned(cluster, run_cli, tmp_path):
    code, _, err = run_cli("snapshot", "-l", "nosuch=x", "--exclude-namespace", "kube-*", "-o", tmp_path / "d.yaml",
                           *kube(cluster))
    assert code == 0 and err.startswith("warning: no namespace matched -l 'nosuch=x' --exclude-namespace 'kube-*'\n")


@pytest.mark.parametrize("command", [["audit"], ["simulate", "baseline"], ["snapshot", "-o", "dump.yaml"],
                                     ["label", "--enforce", "baseline"]])
def test_named_namespaces_with_exclude_namespace_are_refused_as_label_does(cluster, run_cli, command):
    code, out, err = run_cli(*command, "-n", "shop", "--exclude-namespace", "shop", *kube(cluster))
    assert (code, out) == (2, "")
    assert err == "error: --exclude-namespace narrows -A or -l, not namespaces named\n"
    assert cluster.requests == []


# --- --exclude-namespace ---------------------------------------------------------------------------
def test_excluded_namespaces_are_neither_read_nor_reported(cluster, run_cli):
    code, out, err = run_cli("audit", "-A", "--exclude-namespace", "kube-*", "--exclude-namespace", "legacy",
                             "-o", "json", *kube(cluster))
    report = json.loads(out)
    assert code == 0 and names(report) == ["ops", "shop", "web"]
    assert touched_namespaces(cluster) == {"ops", "shop", "web"}
    assert report["cluster"]["scope"]["excludeNamespaces"] == ["kube-*", "legacy"]


def test_a_large_scope_is_read_cluster_wide_and_the_excluded_dropped(cluster, run_cli, monkeypatch):
    monkeypatch.setattr(inventory_mod, "PER_NAMESPACE_THRESHOLD", 2)
    code, out, _ = run_cli("audit", "-A", "--exclude-namespace", "kube-*,legacy", "-o", "json", *kube(cluster))
    report = json.loads(out)
    assert names(report) == ["ops", "shop", "web"] and all(ns["pods"] == 1 for ns in report["namespaces"])
    assert set(listed(cluster)) == {"/api/v1/pods"}


def test_a_small_scope_is_read_per_namespace_a_large_one_cluster_wide(cluster, run_cli, monkeypatch):
    monkeypatch.setattr(inventory_mod, "PER_NAMESPACE_THRESHOLD", 2)
    run_cli("audit", "-l", "team=blue", "-o", "json", *kube(cluster))
    assert set(listed(cluster)) == {"/api/v1/namespaces/ops/pods", "/api/v1/namespaces/shop/pods"}
    cluster.clear_requests()
    run_cli("audit", "-l", "team", "-o", "json", *kube(cluster))  # three namespaces: more than 2
    assert set(listed(cluster)) == {"/api/v1/pods"}


def test_an_excluded_namespace_is_not_reported_as_clean_even_if_named(cluster, run_cli):
    code, out, err = run_cli("audit", "-n", "shop,kube-system", "--exclude-namespace", "kube-*", "-o", "json",
                             *kube(cluster))
    assert (code, out) == (2, "") and "--exclude-namespace narrows -A or -l" in err  # refused: not read at all
    assert "kube-system" not in touched_namespaces(cluster)


def test_a_namespace_in_scope_whose_list_failed_is_incomplete(cluster, run_cli):
    cluster.forbid("pods", namespace="ops")
    code, out, err = run_cli("audit", "-l", "team=blue", "-o", "json", *kube(cluster))
    ns = {n["name"]: n for n in json.loads(out)["namespaces"]}
    assert code == 2 and ns["ops"]["complete"] is False and ns["ops"]["strictestLevel"] is None
    assert ns["shop"]["complete"] is True


def test_snapshot_with_a_selector_and_excludes_then_audited(cluster, run_cli, tmp_path):
    dump = tmp_path / "dump.json"
    code, _, err = run_cli("snapshot", "-l", "tier", "--exclude-namespace", "web", "-o", dump, *kube(cluster))
    assert code == 0 and listed(cluster, "namespaces") == {"/api/v1/namespaces": "tier"}
    assert touched_namespaces(cluster) == {"shop"}
    code, out, _ = run_cli("audit", "--snapshot", dump, "-o", "json")
    report = json.loads(out)
    assert names(report) == ["shop"]
    assert ("the snapshot holds part of the cluster: it was dumped with -l 'tier' --exclude-namespace 'web'"
            in report["notes"])


def test_snapshot_files_are_narrowed_client_side(cluster, run_cli, tmp_path):
    dump = tmp_path / "dump.json"
    run_cli("snapshot", "-A", "-o", dump, *kube(cluster))
    code, out, _ = run_cli("audit", "--snapshot", dump, "-l", "team in (blue,red)", "--exclude-namespace", "o*",
                           "-o", "json")
    report = json.loads(out)
    assert names(report) == ["shop", "web"] and not any("holds part" in note for note in report["notes"])
    assert report["cluster"]["scope"] == {"namespaces": None, "selector": "team in (blue,red)",
                                          "excludeNamespaces": ["o*"]}


# --- label never patches outside its scope --------------------------------------------------------
def patched(server) -> set[str]:
    return {r.path.rsplit("/", 1)[1] for r in server.requests
            if r.method == "PATCH" and r.query.get("dryRun") is None}


def test_label_all_but_the_excluded(cluster, run_cli, tmp_path):
    code, out, err = run_cli("label", "-A", "--exclude-namespace", "kube-*", "--warn", "restricted", "--yes",
                             "--undo-file", tmp_path / "undo.json", "-o", "json", *kube(cluster))
    report = json.loads(out)
    assert code == 0 and patched(cluster) == {"shop", "web", "ops", "legacy"}
    assert report["cluster"]["scope"]["excludeNamespaces"] == ["kube-*"]


def test_label_by_selector_minus_excludes(cluster, run_cli, tmp_path):
    code, out, _ = run_cli("label", "-l", "team in (blue,red)", "--exclude-namespace", "web", "--warn", "baseline",
                           "--yes", "--undo-file", tmp_path / "undo.json", "-o", "json", *kube(cluster))
    assert code == 0 and patched(cluster) == {"shop", "ops"} and names(json.loads(out)) == ["ops", "shop"]
    assert listed(cluster, "namespaces") == {"/api/v1/namespaces": "team in (blue,red)"}


def test_label_with_nothing_left_after_the_excludes_changes_nothing(cluster, run_cli, tmp_path):
    code, out, _ = run_cli("label", "-l", "team=red", "--exclude-namespace", "w*", "--warn", "baseline", "--yes",
                           "--undo-file", tmp_path / "undo.json", "-o", "json", *kube(cluster))
    assert patched(cluster) == set() and json.loads(out)["namespaces"] == []
    assert "no namespace matches" in json.loads(out)["notes"][0]


# --- admission-config --from-cluster ------------------------------------------------------------------
def test_admission_config_from_the_selected_namespaces_says_the_others_are_not_covered(cluster, run_cli):
    code, out, _ = run_cli("admission-config", "--from-cluster", "-l", "tier=apps", "--exclude-namespace", "web",
                           "-o", "json", *kube(cluster))
    report = json.loads(out)
    assert listed(cluster, "namespaces") == {"/api/v1/namespaces": "tier=apps"}
    assert touched_namespaces(cluster) == {"shop"} and report["proposal"]["governedNamespaces"] == ["shop"]
    assert any("only the namespaces in scope were read" in note for note in report["notes"])


# --- bad input -------------------------------------------------------------------------------------
@pytest.mark.parametrize("argv, message", [
    (["audit", "-l", "team in (blue"], 'invalid -l "team in (blue": '),
    (["audit", "-l", "a=b,"], 'invalid -l "a=b,": '),
    (["simulate", "baseline", "-l", "x>y"], "needs an integer value"),
    (["snapshot", "-o", "-", "-l", ""], "invalid -l: empty selector"),
    (["label", "-l", "!a=b", "--warn", "baseline"], 'invalid -l "!a=b": '),
    (["audit", "--exclude-namespace", "kube-*"], "--exclude-namespace narrows -A or -l"),
    (["audit", "-A", "--exclude-namespace", "Kube/*"], 'invalid --exclude-namespace "Kube/*"'),
    (["label", "shop", "--exclude-namespace", "x", "--warn", "baseline"], "--exclude-namespace narrows -A or -l"),
    (["admission-config", "-l", "a=b"], "-l and --exclude-namespace choose the namespaces --from-cluster reads"),
    (["verify-apparmor", "-n", "apps", "web", "-l", "a=b"], "name cannot be provided when a selector is specified"),
    (["verify-seccomp", "-A", "--field-selector", "spec.nodeName"], 'invalid --field-selector "spec.nodeName"'),
    (["nodes", "node-a", "-l", "pool=gpu"], "name cannot be provided when a selector is specified"),
    (["nodes", "-l", "pool in ()"], "the set of values cannot be empty"),
])
def test_bad_scope_flags_are_one_line_and_exit_2(cluster, run_cli, argv, message):
    code, out, err = run_cli(*argv, *kube(cluster))
    assert (code, out) == (2, "") and message in err and err.count("\n") == 1 and err.startswith("error: ")
    assert cluster.requests == []  # parsed before anything is asked


# --- verify-*: pod selectors, sent to the server -------------------------------------------------------
@pytest.mark.parametrize("command", ["verify-apparmor", "verify-seccomp"])
def test_verify_sends_the_pod_selectors_and_checks_only_what_they_pick(lab, run_cli, command):  # noqa: F811
    code, out, err = run_cli(command, "-n", "apps", "--field-selector", "spec.nodeName=node-b", "-l", "!skip",
                             "-o", "json", "--kubeconfig", str(lab.kubeconfig_path))
    report = json.loads(out)
    pod_lists = [r for r in lab.requests if r.method == "GET" and r.path.endswith("/pods")]
    assert [(r.path, r.query.get("fieldSelector"), r.query.get("labelSelector")) for r in pod_lists] == [
        ("/api/v1/namespaces/apps/pods", "spec.nodeName=node-b", "!skip")]
    assert report["containers"] and {c["node"] for c in report["containers"]} == {"node-b"}
    assert report["selection"] == {"namespaces": ["apps"], "pods": [], "labelSelector": "!skip",
                                   "fieldSelector": "spec.nodeName=node-b"}


def test_verify_label_selector_that_picks_nothing_checks_nothing(lab, run_cli):  # noqa: F811
    code, out, _ = run_cli("verify-apparmor", "-A", "-l", "app=none", "-o", "json",
                           "--kubeconfig", str(lab.kubeconfig_path))
    report = json.loads(out)
    assert code == 0 and report["containers"] == [] and "no containers in scope" in report["notes"]
    assert report["selection"] == {"namespaces": None, "pods": [], "labelSelector": "app=none", "fieldSelector": None}
    assert [r.query.get("labelSelector") for r in lab.requests if r.path == "/api/v1/pods"] == ["app=none"]


# --- nodes: --node and -l ---------------------------------------------------------------------------
def test_nodes_by_label_selector_and_by_name(lab, run_cli):  # noqa: F811
    lab.clear_requests()
    code, out, _ = run_cli("nodes", "-l", "kubernetes.io/hostname in (node-a,node-c)", "-o", "json",
                           "--kubeconfig", str(lab.kubeconfig_path))
    report = json.loads(out)
    assert [n["name"] for n in report["nodes"]] == ["node-a", "node-c"]
    assert report["selection"] == {"nodes": None, "labelSelector": "kubernetes.io/hostname in (node-a,node-c)"}
    assert [r.query.get("labelSelector") for r in lab.requests if r.path == "/api/v1/nodes"] == [
        "kubernetes.io/hostname in (node-a,node-c)"]
    code, out, _ = run_cli("nodes", "--node", "node-c", "--node", "node-b", "-o", "json",
                           "--kubeconfig", str(lab.kubeconfig_path))
    report = json.loads(out)
    assert [n["name"] for n in report["nodes"]] == ["node-c", "node-b"]
    assert report["selection"] == {"nodes": ["node-c", "node-b"], "labelSelector": None}


# --- the README's examples ---------------------------------------------------------------------------
def readme_scope_lines() -> list[list[str]]:
    text = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    scope = text.split("\n### Scope: which namespaces, pods and nodes\n", 1)[1].split("\n### ", 1)[0]
    return [shlex.split(line) for block in re.findall(r"```sh\n(.*?)```", scope, re.S) for line in block.split("\n")
            if line.startswith("kubectl pss ")]


@pytest.mark.parametrize("argv", readme_scope_lines(), ids=lambda argv: " ".join(argv[2:4]))
def test_the_readme_scope_examples_are_taken_as_written(argv):
    from kubectl_pss.commands import COMMANDS, command_parser

    module = importlib.import_module(f"kubectl_pss.commands.{COMMANDS[argv[2]][0]}")
    module.validate(module.complete(command_parser(argv[2]).parse_args(argv[3:])))  # UsageError if not


def test_the_readme_has_scope_examples():
    assert [argv[2] for argv in readme_scope_lines()] == ["audit", "simulate", "verify-seccomp", "nodes"]
