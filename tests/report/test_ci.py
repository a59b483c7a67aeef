"""``check -o sarif|junit|github``: SARIF valid against the official OASIS schema, the offending field's line
and column (block and flow style, comments, several documents, Lists, JSON, stdin), JUnit and annotations."""
from __future__ import annotations

import io
import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest

DATA = Path(__file__).resolve().parents[1] / "data"

NAMESPACE = """\
apiVersion: v1
kind: Namespace
metadata:
  name: shop
  labels: {pod-security.kubernetes.io/enforce: baseline, pod-security.kubernetes.io/warn: restricted}
"""
BLOCK_AND_FLOW = """\
# two comment lines
# before the first document
apiVersion: v1
kind: Pod
metadata:
  name: block
  namespace: shop
spec:
  containers:
  - name: app
    image: nginx  # a trailing comment
    securityContext:
      privileged: true
---
kind: Pod
apiVersion: v1
metadata: {name: flow, namespace: shop}
spec: {hostNetwork: true, containers: [{name: c, image: x, securityContext: {privileged: true}}]}
---
""" + NAMESPACE
LIST = """\
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: cm, namespace: shop}
- apiVersion: apps/v1
  kind: Deployment
  metadata: {name: listed, namespace: shop}
  spec:
    template:
      spec:
        volumes:
        - name: data
          emptyDir: {}
        - name: host
          hostPath: {path: /var}
        containers: [{name: c, image: x}]
"""
JSON_POD = """{
  "apiVersion": "v1", "kind": "Pod",
  "metadata": {"name": "json", "namespace": "shop"},
  "spec": {"containers": [{"name": "c", "image": "x",
                           "securityContext": {"privileged": true}}]}
}
"""


def where(text: str, needle: str, occurrence: int = 0, offset: int = 0) -> tuple[int, int]:
    """(line, column) from 1 of the ``occurrence``-th ``needle`` in ``text`` (after ``offset`` lines)."""
    lines = text.split("\n")
    seen = 0
    for number, line in enumerate(lines, 1):
        if needle in line:
            if seen == occurrence:
                return number + offset, line.index(needle) + 1
            seen += 1
    raise AssertionError(f"{needle!r} not in the text")


@pytest.fixture
def bundle(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy" / "pods.yaml").write_text(BLOCK_AND_FLOW)
    (tmp_path / "deploy" / "list.yaml").write_text(LIST)
    (tmp_path / "deploy" / "pod.json").write_text(JSON_POD)
    return tmp_path


def sarif_of(run_cli, *argv):
    code, out, err = run_cli("check", *argv, "-o", "sarif")
    data = json.loads(out)
    schema = json.loads((DATA / "sarif-schema-2.1.0.json").read_text())
    jsonschema.Draft4Validator(schema).validate(data)
    return code, data, err


def places(data):
    """{(object name, check): (uri, line, column, level, modes)}."""
    out = {}
    for result in data["runs"][0]["results"]:
        location = result["locations"][0]
        physical = location["physicalLocation"]
        region = physical.get("region", {})
        name = location["logicalLocations"][0]["name"]
        out[(name, result["ruleId"])] = (physical["artifactLocation"].get("uri"), region.get("startLine"),
                                         region.get("startColumn"), result["level"], result["properties"]["modes"])
    return out


def test_sarif_is_valid_and_points_at_the_offending_field(bundle, run_cli):
    code, data, err = sarif_of(run_cli, "-f", "deploy", "--fail-on", "enforce")
    assert code == 1 and err == ""
    run = data["runs"][0]
    assert data["version"] == "2.1.0" and run["tool"]["driver"]["name"] == "kubectl-pss"
    rules = {rule["id"]: rule for rule in run["tool"]["driver"]["rules"]}
    assert rules["privileged"]["helpUri"] == "https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline"
    assert rules["runAsNonRoot"]["helpUri"].endswith("#restricted")
    assert rules["privileged"]["fullDescription"]["text"] == "no container may set securityContext.privileged=true."
    assert all(run["tool"]["driver"]["rules"][r["ruleIndex"]]["id"] == r["ruleId"] for r in run["results"])
    got = places(data)
    # block style, after comments: the privileged: key itself
    assert got[("block", "privileged")] == ("deploy/pods.yaml", *where(BLOCK_AND_FLOW, "privileged: true"),
                                            "error", ["enforce", "warn"])
    # flow style, second document: the key inside the braces
    assert got[("flow", "hostNamespaces")][:3] == ("deploy/pods.yaml", *where(BLOCK_AND_FLOW, "hostNetwork"))
    assert got[("flow", "privileged")][:3] == ("deploy/pods.yaml", *where(BLOCK_AND_FLOW, "privileged: true}"))
    # a field that must be set but is not in the file: the object's kind: line; warn only: a warning
    assert got[("block", "runAsNonRoot")] == ("deploy/pods.yaml", *where(BLOCK_AND_FLOW, "kind: Pod"), "warning", ["warn"])
    assert got[("flow", "runAsNonRoot")][1:3] == where(BLOCK_AND_FLOW, "kind: Pod", occurrence=1)
    # a List's second item: its hostPath volume entry
    assert got[("listed", "hostPathVolumes")] == ("deploy/list.yaml", *where(LIST, "name: host"), "error", ["enforce"])
    assert got[("listed", "restrictedVolumes")][1:4] == (*where(LIST, "name: host"), "warning")
    assert got[("listed", "allowPrivilegeEscalation")][1:3] == where(LIST, "kind: Deployment")
    # JSON: the key's place in the JSON text
    assert got[("json", "privileged")][:3] == ("deploy/pod.json", *where(JSON_POD, '"privileged"'))
    result = next(r for r in run["results"] if r["ruleId"] == "privileged" and "block" in r["message"]["text"])
    assert result["message"]["text"] == ('privileged: container "app" must not set securityContext.privileged=true '
                                         "(Pod shop/block)")
    assert result["properties"]["policies"] == {"enforce": "baseline:latest", "warn": "restricted:latest"}
    assert "baselineState" not in result


def test_sarif_lines_survive_a_bad_document_before_them(bundle, run_cli):
    text = "kind: [\n---\n" + BLOCK_AND_FLOW
    (bundle / "deploy" / "pods.yaml").write_text(text)
    code, data, err = sarif_of(run_cli, "-f", "deploy/pods.yaml")
    assert code == 2 and "invalid YAML" in err
    assert places(data)[("block", "privileged")][1:3] == where(text, "privileged: true")
    assert data["runs"][0]["invocations"][0]["executionSuccessful"] is False


def test_sarif_from_stdin_has_lines_but_no_file(bundle, run_cli, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(BLOCK_AND_FLOW.encode())))
    code, data, _ = sarif_of(run_cli, "-f", "-")
    location = next(r for r in data["runs"][0]["results"] if r["ruleId"] == "privileged")["locations"][0]
    assert location["physicalLocation"]["artifactLocation"] == {"description": {"text": "standard input"}}
    assert (location["physicalLocation"]["region"]["startLine"],
            location["physicalLocation"]["region"]["startColumn"]) == where(BLOCK_AND_FLOW, "privileged: true")


def test_sarif_baseline_state(bundle, run_cli):
    run_cli("check", "-f", "deploy/pods.yaml", "--write-baseline", "baseline.yaml")
    text = BLOCK_AND_FLOW.replace("name: block", "name: block2")
    (bundle / "deploy" / "pods.yaml").write_text(text)
    code, data, _ = sarif_of(run_cli, "-f", "deploy/pods.yaml", "--baseline", "baseline.yaml", "--fail-on", "enforce")
    states = {(r["locations"][0]["logicalLocations"][0]["name"], r["ruleId"]): r["baselineState"]
              for r in data["runs"][0]["results"]}
    assert states[("flow", "privileged")] == "unchanged" and states[("block2", "privileged")] == "new"
    assert code == 1


def test_junit_one_suite_per_file_one_case_per_object_a_failure_per_mode(bundle, run_cli):
    code, out, _ = run_cli("check", "-f", "deploy", "--fail-on", "enforce", "-o", "junit")
    assert code == 1 and out.startswith('<?xml version="1.0" encoding="UTF-8"?>\n')
    root = ET.fromstring(out)
    suites = {suite.get("name"): suite for suite in root.findall("testsuite")}
    assert set(suites) == {"deploy/list.yaml", "deploy/pod.json", "deploy/pods.yaml"}
    cases = {case.get("name"): case for case in suites["deploy/pods.yaml"].findall("testcase")}
    assert set(cases) == {"Pod shop/block", "Pod shop/flow"}
    failures = {f.get("type"): f for f in cases["Pod shop/block"].findall("failure")}
    assert set(failures) == {"enforce", "warn"}
    assert failures["enforce"].get("message") == ('enforce: violates PodSecurity "baseline:latest": privileged '
                                                  '(container "app" must not set securityContext.privileged=true)')
    assert suites["deploy/pods.yaml"].get("tests") == "2" and suites["deploy/pods.yaml"].get("failures") == "4"
    assert root.get("tests") == "4"


def test_github_annotations(bundle, run_cli):
    code, out, _ = run_cli("check", "-f", "deploy/pods.yaml", "-o", "github")
    lines = out.splitlines()
    line, column = where(BLOCK_AND_FLOW, "privileged: true")
    assert (f"::error file=deploy/pods.yaml,line={line},col={column},title=PodSecurity privileged::privileged: "
            'container "app" must not set securityContext.privileged=true (Pod shop/block; violates enforce '
            "baseline:latest, warn restricted:latest)") in lines
    assert any(l.startswith("::warning file=deploy/pods.yaml,") and "title=PodSecurity runAsNonRoot" in l for l in lines)
    assert code == 0  # no --fail-on: annotations only


def test_junit_known_violations_pass_and_exempt_objects_are_skipped(bundle, run_cli):
    config = bundle / "admission.yaml"
    config.write_text("apiVersion: pod-security.admission.config.k8s.io/v1\nkind: PodSecurityConfiguration\n"
                      "exemptions: {namespaces: [other]}\n")
    (bundle / "deploy" / "other.yaml").write_text(JSON_POD.replace('"shop"', '"other"'))
    run_cli("check", "-f", "deploy/pods.yaml", "--write-baseline", "baseline.yaml")
    code, out, _ = run_cli("check", "-f", "deploy/pods.yaml", "-f", "deploy/other.yaml", "--baseline", "baseline.yaml",
                           "--admission-config", config, "--fail-on", "enforce", "-o", "junit")
    root = ET.fromstring(out)
    assert code == 0 and root.get("failures") == "0" and root.get("skipped") == "1" and root.get("tests") == "3"
    skipped = root.find("testsuite[@name='deploy/other.yaml']/testcase/skipped")
    assert skipped.get("message").startswith('exempt: namespace "other" is exempt')


GATED = """\
apiVersion: v1
kind: Namespace
metadata:
  name: shop
  labels: {pod-security.kubernetes.io/enforce: restricted, pod-security.kubernetes.io/warn: baseline}
---
apiVersion: v1
kind: Pod
metadata: {name: root, namespace: shop}
spec: {containers: [{name: c, image: x}]}
"""


@pytest.mark.parametrize("fail_on, code", [("enforce", 1), ("warn", 0), ("audit", 0), ("baseline", 0),
                                           ("restricted", 1)])
@pytest.mark.parametrize("output", ["sarif", "junit", "github"])
def test_every_ci_format_fails_exactly_when_the_gate_fails(bundle, run_cli, fail_on, code, output):
    """A pod that passes baseline in a namespace enforcing restricted: what each format calls a failure (SARIF
    error, JUnit failure of the gate, ::error) is what the exit code says."""
    (bundle / "gated.yaml").write_text(GATED)
    got, out, _ = run_cli("check", "-f", "gated.yaml", "--fail-on", fail_on, "-o", output)
    assert got == code
    if output == "sarif":
        failed = any(r["level"] == "error" for r in json.loads(out)["runs"][0]["results"])
    elif output == "junit":
        gate = fail_on if fail_on in ("enforce", "audit", "warn") else f"fail-on {fail_on}"
        failed = bool(ET.fromstring(out).findall(f".//failure[@type='{gate}']"))
    else:
        failed = any(line.startswith("::error ") for line in out.splitlines())
    assert failed == bool(code)


def test_junit_fails_a_level_gate(run_cli):
    code, out, _ = run_cli("check", "-f", "examples/ci/app.yaml", "--fail-on", "restricted", "-o", "junit")
    root = ET.fromstring(out)
    failures = root.findall(".//failure[@type='fail-on restricted']")
    assert code == 1 and root.get("failures") != "0" and failures
    assert failures[0].get("message").startswith("--fail-on restricted: cannot pass restricted: ")


def test_sarif_from_stdin_named_by_stdin_name(bundle, run_cli, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(BLOCK_AND_FLOW.encode())))
    code, data, err = sarif_of(run_cli, "-f", "-", "--stdin-name", "chart/templates/all.yaml")
    location = next(r for r in data["runs"][0]["results"] if r["ruleId"] == "privileged")["locations"][0]
    assert location["physicalLocation"]["artifactLocation"] == {"uri": "chart/templates/all.yaml"}
    assert err == ""
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(BLOCK_AND_FLOW.encode())))
    code, data, err = sarif_of(run_cli, "-f", "-")
    assert err.startswith("warning: -f - without --stdin-name PATH: the SARIF results from stdin have no file")
    code, out, err = run_cli("check", "-f", "deploy/pods.yaml", "--stdin-name", "x.yaml")
    assert (code, out, err) == (2, "", "error: --stdin-name names what -f - reads: give -f -\n")


def test_sarif_uri_of_a_file_outside_the_working_directory_is_absolute(bundle, run_cli, monkeypatch):
    (bundle / "work").mkdir()
    monkeypatch.chdir(bundle / "work")
    code, data, _ = sarif_of(run_cli, "-f", str(bundle / "deploy" / "pods.yaml"))
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in data["runs"][0]["results"]}
    assert uris == {(bundle / "deploy" / "pods.yaml").as_uri()} and all(u.startswith("file:///") for u in uris)
