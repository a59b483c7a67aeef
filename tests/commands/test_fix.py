"""``kubectl pss fix -f``: the real CLI on files: stdout is what --in-place writes, exit codes, the
FixReport validated against its schema, the README's before/after example."""
from __future__ import annotations

import json
import re
import shlex
import shutil
from pathlib import Path

import jsonschema
import pytest

from kubectl_pss.policy import apply_manifest_defaults, evaluate, iter_items
from kubectl_pss.manifests import load_documents

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "docs" / "schema" / "FixReport.json").read_text())
EXAMPLE = ROOT / "examples" / "fix" / "web.yaml"

BROKEN = """\
apiVersion: v1
kind: Pod
metadata: {name: root}
spec:
  securityContext: {runAsUser: 0}
  containers: [{name: c, image: x}]
"""


def validate(report: dict) -> None:
    jsonschema.validate(report, SCHEMA, cls=jsonschema.Draft202012Validator)


def test_stdout_is_exactly_what_in_place_writes(run_cli, tmp_path):
    path = tmp_path / "web.yaml"
    shutil.copy(EXAMPLE, path)
    code, out, err = run_cli("fix", "-f", path, "--level", "restricted")
    assert (code, err) == (0, "")
    assert path.read_text() == EXAMPLE.read_text()  # without --in-place nothing is written
    code, out2, err = run_cli("fix", "-f", path, "--level", "restricted", "--in-place")
    assert (code, out2, err) == (0, "", "")
    assert path.read_text() == out != EXAMPLE.read_text()
    # proof from the outside: the written file passes restricted, and fixing it again changes nothing
    docs, errors = load_documents([str(path)])
    assert not errors
    for doc in docs:
        for obj in iter_items(doc.data):
            if obj["kind"] == "Deployment":
                assert evaluate(apply_manifest_defaults(obj), "restricted").allowed
    code, out3, _ = run_cli("fix", "-f", path, "--level", "restricted", "-o", "diff")
    assert (code, out3) == (0, "")


def test_json_report_follows_the_schema_and_exit_1_lists_the_decisions(run_cli, tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text(EXAMPLE.read_text() + "---\n" + BROKEN)
    code, out, err = run_cli("fix", "-f", path, "--level", "restricted", "-o", "json")
    assert code == 1, err
    report = json.loads(out)
    validate(report)
    assert (report["apiVersion"], report["kind"], report["context"], report["server"]) == (
        "kubectl-pss/v1", "FixReport", None, None)
    web, root = report["objects"]
    assert (web["name"], web["levelBefore"], web["levelAfter"], web["allowed"]) == ("web", "baseline", "restricted", True)
    assert {"path": "spec.template.spec.containers[1].securityContext.allowPrivilegeEscalation",
            "from": True, "to": False} in web["changes"]
    assert (root["name"], root["document"], root["allowed"]) == ("root", 2, False)
    assert [d["check"] for d in root["needsDecision"]] == ["runAsUser"]
    assert report["summary"] == {"objects": 2, "changed": 2, "fixed": 1, "passing": 1, "needsDecision": 1,
                                 "changes": 10}
    code, out, err = run_cli("fix", "-f", path, "--level", "restricted")
    assert code == 1 and "needs a decision:" in err and "runAsUser" in err and "needs a decision" not in out


@pytest.mark.parametrize("argv, message", [
    (["fix", "-f", "x.yaml"], "--level is required"),
    (["fix", "-f", "x.yaml", "--level", "privileged"], "nothing to fix"),
    (["fix", "--level", "restricted"], "nothing to fix"),
    (["fix", "-f", "x.yaml", "--level", "restricted", "--allow", "hostpath"], 'unknown decision "hostpath"'),
    (["fix", "-f", "x.yaml", "--level", "restricted", "-o", "patch"], 'output format "patch", allowed formats are: yaml, json, diff'),
    (["fix", "-f", "-", "--level", "restricted", "--in-place"], "cannot rewrite stdin"),
    (["fix", "deployment/web", "--level", "restricted"], "needs -n NS"),
    (["fix", "web", "-n", "x", "--level", "restricted"], "KIND/NAME"),
])
def test_bad_input_is_one_line_and_exit_2(run_cli, argv, message):
    code, out, err = run_cli(*argv)
    assert code == 2 and message in err and out == "" and "Traceback" not in err


def test_unreadable_documents_are_errors_exit_2_and_the_rest_is_fixed(run_cli, tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text("kind: Pod\nspec: {containers: [{name: c, image: x}]}\n---\nkind: [\n")
    code, out, err = run_cli("fix", "-f", path, "--level", "restricted", "-o", "json")
    report = json.loads(out)
    validate(report)
    assert code == 2 and report["errors"][0]["document"] == 1 and report["objects"][0]["allowed"]


def test_the_readme_example_is_the_real_output(run_cli, monkeypatch):
    text = (ROOT / "README.md").read_text()
    section = text.split("\n### `fix`", 1)[1].split("\n### ", 1)[0]
    [block] = re.findall(r"```text\n(.*?)```", section, re.S)
    command, _, shown = block.partition("\n")
    monkeypatch.chdir(ROOT)
    code, out, err = run_cli(*shlex.split(command)[3:])
    assert (code, out) == (0, shown)
