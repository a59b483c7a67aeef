"""Fleets (--contexts, --all-contexts): several fake API servers in one test, one unreachable and one answering
401; a merged KUBECONFIG of two files; each context's own connection and server version."""
from __future__ import annotations

import json
import os
import time

import pytest

from tests.apiserver import FakeApiServer, write_kubeconfig

PRIVILEGED = {"containers": [{"name": "c", "image": "nginx", "securityContext": {"privileged": True}}]}
V129 = {"major": "1", "minor": "29", "gitVersion": "v1.29.3"}


@pytest.fixture
def fleet(tmp_path, monkeypatch):
    """alpha (v1.24, a privileged pod) in one kubeconfig file; beta (v1.29, clean), bad (beta's server with a
    token it refuses: 401) and gone (nothing listening) in another; KUBECONFIG is both, colon-separated."""
    alpha = FakeApiServer().start()
    beta = FakeApiServer(version=V129).start()
    gone = FakeApiServer().start()
    gone.stop()
    for server in (alpha, beta):
        server.add_namespace("default")
        server.add_namespace("shop", labels={"pod-security.kubernetes.io/enforce": "baseline"})
    alpha.add_pod("shop", "root", PRIVILEGED)
    beta.add_pod("shop", "web")
    first = write_kubeconfig(tmp_path / "first", [alpha.context("alpha")], "alpha")
    second = write_kubeconfig(tmp_path / "second", [beta.context("beta"), beta.context("bad", token="revoked"),
                                                    gone.context("gone")], "beta")
    monkeypatch.setenv("KUBECONFIG", f"{first}{os.pathsep}{second}")

    class Fleet:
        pass

    f = Fleet()
    f.alpha, f.beta, f.gone, f.first, f.second = alpha, beta, gone, first, second
    yield f
    alpha.stop()
    beta.stop()


def items(out: str) -> dict[str, dict]:
    data = json.loads(out)
    assert (data["apiVersion"], data["kind"]) == ("kubectl-pss/v1", "List")
    return {item["context"]: item for item in data["items"]}


def test_all_contexts_of_a_merged_kubeconfig(run_cli, fleet):
    code, out, err = run_cli("audit", "-A", "--all-contexts", "-o", "json")
    assert code == 2  # two contexts failed
    data = json.loads(out)
    assert [i["context"] for i in data["items"]] == ["alpha", "beta", "bad", "gone"]  # kubeconfig order
    by = items(out)
    alpha, beta = by["alpha"], by["beta"]
    assert (alpha["kind"], alpha["errors"]) == ("AuditReport", [])
    assert {ns["name"]: ns["strictestLevel"] for ns in alpha["namespaces"]} == {"default": "restricted",
                                                                                "shop": "privileged"}
    assert {ns["name"]: ns["strictestLevel"] for ns in beta["namespaces"]} == {"default": "restricted",
                                                                               "shop": "baseline"}
    # a context that could not be read: its errors, no claims
    assert set(by["bad"]) == set(by["gone"]) == {"apiVersion", "kind", "context", "server", "errors"}
    assert "Unauthorized" in by["bad"]["errors"][0]["message"]
    assert "cannot reach" in by["gone"]["errors"][0]["message"]
    assert f'error: context "bad": Unauthorized' in err and 'error: context "gone": cannot reach' in err
    # each context through its own credentials: beta's server saw its own token and bad's refused one
    tokens = {r.header("Authorization") for r in fleet.beta.requests}
    assert tokens == {f"Bearer {fleet.beta.token}", "Bearer revoked"}
    assert {r.header("Authorization") for r in fleet.alpha.requests} == {f"Bearer {fleet.alpha.token}"}


def test_latest_is_each_clusters_own_minor(run_cli, fleet):
    code, out, err = run_cli("simulate", "restricted", "-A", "--contexts", "alpha,beta", "-o", "json")
    assert code == 1, err  # alpha's privileged pod would be rejected
    by = items(out)
    assert (by["alpha"]["policyVersion"], by["alpha"]["server"]["minor"]) == ("v1.24", 24)
    assert (by["beta"]["policyVersion"], by["beta"]["server"]["minor"]) == ("v1.29", 29)
    audit = items(run_cli("audit", "-A", "--contexts", "alpha,beta", "-o", "json")[1])
    assert {ns["evaluatedAt"] for ns in audit["alpha"]["namespaces"]} == {"v1.24"}
    assert {ns["evaluatedAt"] for ns in audit["beta"]["namespaces"]} == {"v1.29"}


def test_exit_code_is_the_worst_of_the_contexts(run_cli, fleet):
    assert run_cli("audit", "-A", "--contexts", "beta,alpha", "--fail-on", "baseline")[0] == 1  # alpha's pod
    fleet.alpha.delete("pods", "shop", "root")
    assert run_cli("audit", "-A", "--contexts", "beta,alpha", "--fail-on", "baseline")[0] == 0
    assert run_cli("audit", "-A", "--contexts", "beta,alpha,gone", "--fail-on", "baseline")[0] == 2


def test_one_context_named_is_a_plain_report(run_cli, fleet):
    code, out, err = run_cli("audit", "-A", "--contexts", "beta", "-o", "yaml")
    assert code == 0, err
    import yaml

    report = yaml.safe_load(out)
    assert (report["kind"], report["context"]) == ("AuditReport", "beta")


def test_table_has_a_context_column_and_a_roll_up(run_cli, fleet):
    code, out, err = run_cli("audit", "-A", "--contexts", "alpha,beta,gone")
    assert code == 2
    lines = out.splitlines()
    headers = [line for line in lines if line.startswith("CONTEXT ")]
    assert headers and all(line.split()[:2] == ["CONTEXT", "NAMESPACE"] for line in headers[:-1])
    rows = {tuple(line.split()[:2]) for line in lines}
    assert {("alpha", "default"), ("alpha", "shop"), ("beta", "default"), ("beta", "shop")} <= rows
    roll_up = lines[lines.index("Contexts:") + 1:]
    assert roll_up[0].split() == ["CONTEXT", "SERVER", "READ", "SUMMARY"]
    assert [row.split()[:3] for row in roll_up[1:4]] == [["alpha", "v1.24.0-alpha.1+lab", "ok"],
                                                          ["beta", "v1.29.3", "ok"], ["gone", "-", "failed"]]
    assert "1 privileged-only" in roll_up[1] and "1 baseline, 0 privileged-only" in roll_up[2]


def test_version_reports_an_unreachable_context_and_exits_0(run_cli, fleet):
    code, out, err = run_cli("version", "--all-contexts", "-o", "json")
    assert code == 0, err
    by = items(out)
    assert {name: item["serverStatus"]["state"] for name, item in by.items()} == {
        "alpha": "ok", "beta": "ok", "bad": "noVersion", "gone": "unreachable"}
    assert (by["alpha"]["serverStatus"]["latest"], by["beta"]["serverStatus"]["latest"]) == ("v1.24", "v1.29")
    code, out, err = run_cli("version", "--all-contexts")
    assert code == 0 and "unreachable: cannot reach" in out


def test_nodes_over_contexts(run_cli, fleet):
    fleet.alpha.runtime.add_node("node-a")
    code, out, err = run_cli("nodes", "--contexts", "alpha,beta", "-o", "json")
    assert code == 0, err
    by = items(out)
    assert [n["name"] for n in by["alpha"]["nodes"]] == ["node-a"] and by["beta"]["nodes"] == []
    code, out, err = run_cli("nodes", "--contexts", "alpha,beta", "--node-inspect")
    assert (code, out) == (2, "")
    assert "--node-inspect runs debug pods on one cluster at a time" in err


def test_snapshot_writes_one_file_per_context(run_cli, fleet, tmp_path):
    code, out, err = run_cli("snapshot", "-A", "--all-contexts", "--output-file", tmp_path / "dump-{context}.json")
    assert code == 2  # bad and gone
    assert sorted(p.name for p in tmp_path.glob("dump-*")) == ["dump-alpha.json", "dump-beta.json"]
    alpha = json.loads((tmp_path / "dump-alpha.json").read_text())
    assert {i["metadata"]["name"] for i in alpha["items"] if i.get("kind") == "Pod"} == {"root"}
    assert f'context "alpha": wrote {tmp_path / "dump-alpha.json"}' in err
    assert 'error: context "gone": cannot reach' in err
    # audited back, each dump is its own cluster
    code, out, _ = run_cli("audit", "--snapshot", tmp_path / "dump-beta.json", "-o", "json")
    assert json.loads(out)["server"]["minor"] == 29
    info = next(i for i in alpha["items"] if i.get("kind") == "ClusterInfo")
    assert info["context"] == "alpha"
    # the fleet's dumps read together would be one cluster that does not exist: refused, never merged
    for command in (["audit"], ["simulate", "restricted"]):
        code, out, err = run_cli(*command, "--snapshot", tmp_path, "-o", "json")
        assert (code, out) == (2, "")
        assert "are dumps of different clusters: read one cluster's files at a time" in err and err.count("\n") == 1


def test_snapshot_of_several_contexts_needs_a_pattern(run_cli, fleet, tmp_path):
    for target in (tmp_path / "one.json", "-"):
        code, out, err = run_cli("snapshot", "--contexts", "alpha,beta", "--output-file", target)
        assert (code, out) == (2, "")
        assert err.startswith(f'error: --output-file "{target}": with several contexts, give a pattern with '
                              "{context}")
    (tmp_path / "d-beta.json").write_text("{}")
    code, out, err = run_cli("snapshot", "-A", "--contexts", "alpha,beta", "--output-file", tmp_path / "d-{context}.json")
    assert (code, err) == (2, f"error: {tmp_path / 'd-beta.json'} exists: pass --overwrite to replace it\n")
    assert not (tmp_path / "d-alpha.json").exists() and fleet.alpha.requests == []


def test_contexts_overlap(run_cli, fleet):
    """Each context waits 1.5 s for its namespaces: three at once take ~1.5 s, one at a time 4.5 s."""
    third = FakeApiServer().start()
    try:
        third.add_namespace("default")
        path = write_kubeconfig(fleet.first.parent / "third", [third.context("third")], "third")
        os.environ["KUBECONFIG"] += os.pathsep + str(path)
        for server in (fleet.alpha, fleet.beta, third):
            server.hold("GET", "/api/v1/namespaces", 1.5)
        started = time.monotonic()
        code, _, err = run_cli("audit", "-A", "--contexts", "alpha,beta,third", "--parallel-contexts", "3")
        elapsed = time.monotonic() - started
        assert code == 0, err
        assert elapsed < 3.5, elapsed
    finally:
        third.stop()


def test_impersonation_applies_to_every_context(run_cli, fleet):
    code, out, err = run_cli("audit", "-A", "--contexts", "alpha,beta", "--as", "jane", "--as-group", "dev")
    assert code == 0, err
    for server in (fleet.alpha, fleet.beta):
        assert server.requests and all(r.header_values("Impersonate-User") == ["jane"] and
                                       r.header_values("Impersonate-Group") == ["dev"] for r in server.requests)


@pytest.mark.parametrize("argv, message", [
    (["audit", "--contexts", "alpha,nope"], '--contexts: context "nope" not found in the kubeconfig '
                                            "(contexts: alpha, beta, bad, gone)"),
    (["audit", "--contexts", "alpha,beta", "--all-contexts"], "--contexts and --all-contexts: give one of them"),
    (["audit", "--all-contexts", "--context", "alpha"], "--context names one context: use --contexts A,B for several"),
    (["audit", "--all-contexts", "--token", "t"], "--token names one cluster or one user: it does not apply to "
                                                  "several contexts (each uses its own kubeconfig entries)"),
    (["simulate", "baseline", "--all-contexts", "-s", "https://x"], "--server names one cluster or one user: it does "
                                                                    "not apply to several contexts (each uses its "
                                                                    "own kubeconfig entries)"),
    (["audit", "--all-contexts", "--parallel-contexts", "0"], 'invalid --parallel-contexts "0": it must be at least 1'),
    (["audit", "--parallel-contexts", "2"], "--parallel-contexts goes with --contexts or --all-contexts"),
    (["audit", "--snapshot", "examples/kind-cluster.json", "--all-contexts"],
     "--snapshot reads a dump: --contexts and --all-contexts do not apply"),
    (["version", "--client", "--all-contexts"], "--client asks no server: --contexts and --all-contexts do not apply"),
])
def test_bad_fleet_flags_are_one_line(run_cli, fleet, argv, message):
    code, out, err = run_cli(*argv)
    assert (code, out, err) == (2, "", f"error: {message}\n")
    assert fleet.alpha.requests == [] and fleet.beta.requests == []


def test_progress_is_a_line_per_context_on_a_terminal(fleet, monkeypatch, capsys, fake_terminal):
    from kubectl_pss.cli import main

    terminal = fake_terminal()
    monkeypatch.setenv("TERM", "xterm")
    assert main(["audit", "-A", "--contexts", "alpha,gone", "--parallel-contexts", "1", "-o", "json"]) == 2
    drawn = "".join(terminal.written)
    frames = [w for w in terminal.written if "\x1b[K" in w]
    last = frames[-1].split("\x1b[K")[1:]
    assert last[0].split() == ["alpha", "done"] and last[1].startswith("gone   failed: cannot reach")
    assert "\x1b[2F" in drawn  # redrawn in place: up two lines
    assert any("alpha  namespaces: 2" in f for f in frames)  # what the worker read, on its own line
    assert json.loads(capsys.readouterr().out)["kind"] == "List"


def test_no_progress_off_a_terminal(run_cli, fleet):
    code, out, err = run_cli("audit", "-A", "--contexts", "alpha,gone", "-o", "json")
    assert code == 2
    assert "\x1b" not in err and "\r" not in err
    assert [line for line in err.splitlines() if not line.startswith("note: ")] == [
        line for line in err.splitlines() if line.startswith("error: ")]


def test_write_reports_writes_each_clusters_own_reports(run_cli, fleet):
    fleet.alpha.reports.install()
    fleet.beta.reports.install()
    code, out, err = run_cli("audit", "-A", "--contexts", "alpha,beta", "--write-reports", "--yes")
    assert code == 0, err
    # each cluster holds its own namespaces' reports, judged on its own pods
    alpha = fleet.alpha.reports.get("policyreports", "shop", "kubectl-pss")
    beta = fleet.beta.reports.get("policyreports", "shop", "kubectl-pss")
    assert alpha["summary"]["fail"] >= 1 and beta["summary"]["fail"] == 0
    assert [r.path for r in fleet.alpha.requests if r.method == "POST"] == [
        "/apis/wgpolicyk8s.io/v1alpha2/namespaces/default/policyreports",
        "/apis/wgpolicyk8s.io/v1alpha2/namespaces/shop/policyreports"]
    assert out.index('Context "alpha":') < out.index('Context "beta":') < out.index("Contexts:")
    assert "policyreport kubectl-pss -n shop: created" in out


def test_write_reports_plan_in_a_fleet_writes_nothing_and_a_failed_context_fails_alone(run_cli, fleet):
    fleet.alpha.reports.install()
    code, out, err = run_cli("audit", "-A", "--contexts", "alpha,gone", "--write-reports")
    assert code == 2
    assert not [r for r in fleet.alpha.requests if r.method != "GET"]
    assert "plan (nothing is changed without --yes):" in out and 'error: context "gone": cannot reach' in err


def test_policyreport_output_is_one_clusters(run_cli, fleet):
    code, out, err = run_cli("audit", "-A", "--contexts", "alpha,beta", "-o", "policyreport")
    assert (code, out) == (2, "")
    assert err.startswith("error: -o policyreport prints one cluster's reports") and err.count("\n") == 1


def test_the_gate_is_judged_in_each_context(run_cli, fleet, tmp_path):
    code, out, err = run_cli("audit", "-A", "--contexts", "alpha,beta", "--fail-on", "baseline", "-o", "json")
    assert code == 1, err  # alpha's privileged pod cannot pass baseline; beta is clean
    by = items(out)
    assert by["alpha"]["gate"]["failedNamespaces"] == ["shop"] and by["beta"]["gate"]["failedNamespaces"] == []
    for command in (["audit", "-A"], ["simulate", "restricted", "-A"]):
        code, out, err = run_cli(*command, "--contexts", "alpha,beta", "--write-baseline", tmp_path / "b.yaml")
        assert (code, out) == (2, "")
        assert err == "error: --write-baseline records one cluster's violations: give one --context\n"
        assert not (tmp_path / "b.yaml").exists()


def test_each_contexts_diagnostics_on_stderr_say_which_context_they_belong_to(run_cli, fleet):
    fleet.beta.add_pod("shop", "root", PRIVILEGED)
    fleet.beta.inject("/api/v1/namespaces/default/pods", 403, times=10**9)
    code, out, err = run_cli("audit", "-n", "default,shop", "--contexts", "alpha,beta", "--fail-on", "enforce")
    assert code == 2, err
    lines = err.splitlines()
    assert 'context "alpha": --fail-on enforce: 1 namespace(s) fail: shop' in lines
    assert 'context "beta": --fail-on enforce: 1 namespace(s) fail: shop' in lines
    assert any(line.startswith('context "beta": error: namespace "default": pods: ') for line in lines), err
    assert 'context "alpha": note: no --admission-config: assuming Kubernetes\' defaults (privileged:latest, ' \
           'no exemptions)' in lines
    assert not any(line.startswith(("error:", "warning:", "note:", "--fail-on")) for line in lines), err
    code, _, err = run_cli("audit", "--contexts", "alpha,beta")  # the default scope's note, per context
    scoped = sorted(line for line in err.splitlines() if "auditing" in line)  # contexts run side by side
    assert scoped == [f'context "{c}": auditing namespace "default" only: -A for every namespace'
                      for c in ("alpha", "beta")]


def test_a_failed_report_write_in_a_fleet_names_its_context(run_cli, fleet):
    fleet.alpha.reports.install()
    fleet.beta.reports.install()
    fleet.beta.forbid("policyreports", namespace="shop", verbs=["create"])
    code, out, err = run_cli("audit", "-A", "--contexts", "alpha,beta", "--write-reports", "--yes")
    assert code == 2
    [line] = [line for line in err.splitlines() if "policyreports" in line]
    assert line.startswith('context "beta": error: create policyreport kubectl-pss -n shop: '), err
    assert fleet.alpha.reports.get("policyreports", "shop", "kubectl-pss") is not None
