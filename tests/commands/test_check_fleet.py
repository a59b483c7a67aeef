"""``check --cluster-labels`` over a fleet (--contexts/--all-contexts): the same bundle judged against each
cluster's live namespace labels; one report per context (a List, SARIF runs, JUnit suites)."""
from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET

import pytest

from tests.apiserver import FakeApiServer, write_kubeconfig
from tests.report.test_ci import sarif_of

PSA = "pod-security.kubernetes.io/"
BUNDLE = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - {name: web, image: nginx:1.27}
"""


@pytest.fixture
def prod(tmp_path, monkeypatch):
    """eu enforces baseline on shop (the bundle passes), us enforces restricted (it does not); gone is not
    there. KUBECONFIG names all three."""
    eu, us, gone = FakeApiServer().start(), FakeApiServer().start(), FakeApiServer().start()
    gone.stop()
    eu.add_namespace("shop", {PSA + "enforce": "baseline"})
    us.add_namespace("shop", {PSA + "enforce": "restricted"})
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", [eu.context("eu"), us.context("us"),
                                                           gone.context("gone")], "eu")
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    (tmp_path / "bundle.yaml").write_text(BUNDLE)
    yield tmp_path / "bundle.yaml"
    eu.stop()
    us.stop()


def test_each_context_judges_the_bundle_at_its_own_labels(run_cli, prod):
    code, out, err = run_cli("check", "-f", prod, "--cluster-labels", "--contexts", "eu,us", "--fail-on", "enforce",
                             "-o", "json")
    assert code == 1, err  # us would reject the Deployment's pods
    data = json.loads(out)
    assert (data["kind"], [i["context"] for i in data["items"]]) == ("List", ["eu", "us"])
    eu, us = ({r["name"]: r for r in item["results"]}["web"]["admission"] for item in data["items"])
    assert (eu["enforce"]["level"], eu["enforce"]["allowed"]) == ("baseline", True)
    assert (us["enforce"]["level"], us["enforce"]["allowed"]) == ("restricted", False)
    assert [i["gate"]["failed"] for i in data["items"]] == [0, 1]
    notes = sorted(line for line in err.splitlines() if "latest is" in line)  # each context's own, named
    assert [line.split(": note: ")[0] for line in notes] == ['context "eu"', 'context "us"']


def test_a_context_that_cannot_be_read_fails_alone_and_is_never_clean(run_cli, prod):
    code, out, err = run_cli("check", "-f", prod, "--cluster-labels", "--contexts", "eu,gone", "--fail-on",
                             "enforce", "-o", "json")
    assert code == 2
    items = {i["context"]: i for i in json.loads(out)["items"]}
    assert items["eu"]["gate"]["failed"] == 0 and "results" not in items["gone"]
    assert "cannot reach" in items["gone"]["errors"][0]["message"]
    assert 'error: context "gone": cannot reach' in err


def test_sarif_has_a_run_per_context_each_its_own_analysis(run_cli, prod):
    code, data, err = sarif_of(run_cli, "-f", prod, "--cluster-labels", "--contexts", "eu,us,gone",
                               "--fail-on", "enforce")
    assert code == 2
    runs = data["runs"]
    assert [r["automationDetails"]["id"] for r in runs] == ["kubectl-pss/eu/", "kubectl-pss/us/", "kubectl-pss/gone/"]
    eu, us, gone = runs
    assert [r["level"] for r in us["results"] if r["ruleId"] == "runAsNonRoot"] == ["error"]
    assert all(r["level"] != "error" for r in eu["results"])  # eu enforces baseline: the bundle passes it
    assert gone["invocations"][0]["executionSuccessful"] is False and gone["results"] == []


def test_junit_has_a_suite_per_context_and_file(run_cli, prod):
    code, out, _ = run_cli("check", "-f", prod, "--cluster-labels", "--contexts", "eu,us", "--fail-on", "enforce",
                           "-o", "junit")
    assert code == 1
    root = ET.fromstring(out.split("\n", 1)[1])
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert set(suites) == {f"eu: {prod}", f"us: {prod}"}
    assert suites[f"us: {prod}"].find("testcase/failure").get("type") == "enforce"
    assert suites[f"eu: {prod}"].find("testcase/failure[@type='enforce']") is None


def test_stdin_is_read_once_for_every_context(run_cli, prod, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(BUNDLE.encode())))
    code, out, err = run_cli("check", "-f", "-", "--cluster-labels", "--all-contexts", "-o", "json")
    items = {i["context"]: i for i in json.loads(out)["items"]}
    assert [r["name"] for r in items["eu"]["results"]] == [r["name"] for r in items["us"]["results"]] == ["web"]


def test_table_has_the_context_column_and_a_roll_up(run_cli, prod):
    code, out, err = run_cli("check", "-f", prod, "--cluster-labels", "--contexts", "eu,us", "--fail-on", "enforce")
    assert code == 1
    assert "CONTEXT" in out and "Contexts:" in out
    roll_up = out.split("Contexts:", 1)[1]
    assert "1 object(s), 0 failing the gate" in roll_up and "1 object(s), 1 failing the gate" in roll_up


@pytest.mark.parametrize("argv, message", [
    (["--contexts", "eu,us"], "--contexts needs --cluster-labels (check reads no cluster without it)"),
    (["--all-contexts"], "--all-contexts needs --cluster-labels (check reads no cluster without it)"),
    (["--cluster-labels", "--contexts", "eu,us", "--write-baseline", "b.yaml"],
     "--write-baseline records one cluster's violations: give one --context"),
])
def test_bad_fleet_flags_are_one_line(run_cli, prod, argv, message):
    code, out, err = run_cli("check", "-f", prod, *argv)
    assert (code, out) == (2, "") and err == f"error: {message}\n"
