"""The README's examples are real: in its tour each ``$ kubectl pss ...`` block is run again and what it shows
must be the output, line for line, where ``...`` stands for lines left out; each command line of a ``sh`` block
(the steps that take a live cluster, the quick start) is one its command's parser takes."""
from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from kubectl_pss.cli import main
from kubectl_pss.commands import COMMANDS, command_parser

ROOT = Path(__file__).resolve().parents[1]


TOUR = "\n## Tour: the kind cluster, step by step\n"


def section(heading: str) -> str:
    return (ROOT / "README.md").read_text().split(heading, 1)[1].split("\n## ", 1)[0]


def examples() -> list[tuple[list[str], list[str]]]:
    blocks = re.findall(r"```text\n(.*?)```", section(TOUR), re.S)
    out = []
    for block in blocks:
        lines = block.rstrip("\n").split("\n")
        assert lines[0].startswith("$ kubectl pss "), lines[0]
        out.append((shlex.split(lines[0])[3:], lines[1:]))
    return out


EXAMPLES = examples()


def test_the_examples_section_has_the_five_commands():
    assert [argv[0] for argv, _ in EXAMPLES] == ["audit", "simulate", "check", "seccomp", "audit-log"]


@pytest.mark.parametrize("argv, shown", EXAMPLES, ids=[" ".join(a) for a, _ in EXAMPLES])
def test_the_shown_output_is_the_real_output(argv, shown, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    main(argv)
    real = [line.rstrip() for line in capsys.readouterr().out.rstrip("\n").split("\n")]
    segments: list[list[str]] = [[]]
    for line in shown:
        if line == "...":
            segments.append([])
        else:
            segments[-1].append(line)
    at = 0
    for i, segment in enumerate(segments):
        if not segment:
            continue
        found = next((j for j in range(at, len(real) - len(segment) + 1) if real[j:j + len(segment)] == segment), None)
        assert found is not None, f"not in the real output (after line {at}):\n" + "\n".join(segment)
        if i == 0:
            assert found == 0, "the output starts otherwise"
        at = found + len(segment)
    if segments[-1]:
        assert at == len(real), "the real output goes on: end the block with ..."


def command_lines(text: str) -> list[list[str]]:
    """The ``kubectl pss`` command lines of the ``sh`` blocks of ``text`` (each a ``&&`` chain's last part)."""
    lines = [line for block in re.findall(r"```sh\n(.*?)```", text, re.S) for line in block.strip().split("\n")]
    return [shlex.split(line.split(" && ")[-1]) for line in lines if "kubectl pss " in line]


def test_the_tour_goes_audit_simulate_stage_enforce_verify():
    steps = re.findall(r"^### \d\. (.+?):", section(TOUR), re.M)
    assert steps == ["audit", "simulate", "label --stage", "label --enforce", "verify"]
    lines = command_lines(section(TOUR))
    assert [argv[2] for argv in lines] == ["label", "label", "label", "verify-apparmor", "verify-seccomp"]
    assert all("--stage" in argv for argv in lines[:2]) and "--stage" not in lines[2]


@pytest.mark.parametrize("argv", command_lines(section(TOUR)) + command_lines(section("\n## Quick start\n")),
                         ids=lambda argv: " ".join(argv[2:]))
def test_every_command_line_shown_is_one_its_parser_takes(argv):
    assert argv[:2] == ["kubectl", "pss"]
    command_parser(argv[2]).parse_args(argv[3:])  # UsageError on a flag or value it does not take


def test_the_quick_start_is_two_commands_and_ci_runs_the_second():
    blocks = re.findall(r"```sh\n(.*?)```", section("\n## Quick start\n"), re.S)
    assert len(blocks) == 2 and all(block.count("\n") == 1 for block in blocks)
    setup, tests = (block.strip() for block in blocks)
    assert setup.endswith("kubectl pss audit --snapshot examples/kind-cluster.json")
    assert 'export PATH="$PWD/.venv/bin:$PATH"' in setup  # what makes kubectl find kubectl-pss
    ci = (ROOT / ".ci" / "run").read_text().replace("--quiet --disable-pip-version-check", "-q")
    ci_lines = [line for line in ci.split("\n") if line and not line.startswith(("#", " "))]
    assert tests.split(" && ") == ci_lines[2:5], "the README's test command is .ci/run's first steps"


# The commands' other words, just enough for their flags to be checked (validation comes before any cluster use).
ARGS = {"simulate": ["baseline"], "label": ["x", "--enforce", "baseline"], "audit-log": ["examples/audit-events.jsonl"],
        "check": ["-f", "examples/manifests"], "seccomp lint": ["examples/seccomp/nginx.yaml"],
        "admission-config --check": ["x", "--offline"], "seccomp profile": ["--from-audit", "/dev/null"],
        "seccomp install": ["x", "--path", "profiles/a.json", "--all-nodes"], "completion": ["bash"],
        "snapshot": [], "fix": ["-f", "examples/manifests", "--level", "restricted"]}


def output_rows() -> dict[str, list[str]]:
    """The README's ``-o`` table: command -> the formats it lists (none: ``[]``)."""
    table = (ROOT / "README.md").read_text().split("| command | `-o` | default |\n", 1)[1].split("\n\n", 1)[0]
    rows = {}
    for row in table.split("\n")[1:]:
        commands, formats, _ = row.strip("|").split(" | ")
        listed = [] if formats.startswith("none") else re.findall(r"`(\w+)`", formats.split(" (")[0])
        for command in re.findall(r"`([^`]+)`", commands):
            rows[command] = listed
    return rows


def test_the_output_table_names_every_command():
    names = set(output_rows()) - {"admission-config --check"}
    assert names == {name for name in COMMANDS if name != "seccomp"} | {"seccomp profile", "seccomp lint",
                                                                          "seccomp install"}


@pytest.mark.parametrize("command, formats", output_rows().items())
def test_the_output_table_is_what_each_command_takes(command, formats, run_cli, monkeypatch):
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("KUBECONFIG", str(ROOT / "nonexistent-kubeconfig"))
    argv = command.split() + ARGS.get(command, [])
    code, out, err = run_cli(*argv, "-o", "bogus")
    assert (code, out) == (2, "")
    if formats:
        assert err == (f'error: unable to match a printer suitable for the output format "bogus", '
                       f"allowed formats are: {', '.join(formats)}\n")
    else:  # no format: -o json is refused, not taken as a file name
        code, out, err = run_cli(*argv, "-o", "json")
        assert (code, out) == (2, "") and err.startswith("error: ")


def test_the_tours_label_steps_do_what_it_says_on_the_kind_cluster(apiserver, run_cli, tmp_path, monkeypatch):
    """The tour's live steps, as written, against the fake API server holding the kind snapshot's objects: the
    staged step sets audit and warn only; enforcing refuses kube-system and enforces the other namespaces."""
    import json

    monkeypatch.chdir(tmp_path)  # the undo files
    for item in json.loads((ROOT / "examples" / "kind-cluster.json").read_text())["items"]:
        if item.get("kind") in ("Namespace", "Pod", "DaemonSet", "Deployment", "ReplicaSet"):
            apiserver.add(item)
    psa = "pod-security.kubernetes.io/"
    names = ["default", "kube-node-lease", "kube-public", "kube-system", "local-path-storage"]

    def labels() -> dict[str, dict[str, str]]:
        return {n: {k[len(psa):]: v for k, v in (apiserver.namespace(n)["metadata"].get("labels") or {}).items()
                    if k.startswith(psa)} for n in names}

    stage_plan, stage, enforce = (argv[2:] + ["--kubeconfig", str(apiserver.kubeconfig_path)]
                                  for argv in command_lines(section(TOUR))[:3])
    code, _, err = run_cli(*stage_plan)
    assert code == 0, err
    assert labels() == {n: {} for n in names}  # a dry run
    code, _, err = run_cli(*stage)
    assert code == 0, err
    staged = {"audit": "baseline", "audit-version": "latest", "warn": "baseline", "warn-version": "latest"}
    assert labels() == {n: staged for n in names}
    assert len(list(tmp_path.glob("kubectl-pss-undo-*.json"))) == 1  # "an undo file is written"
    code, _, err = run_cli(*enforce)
    assert code == 1, err  # kube-system refused
    assert labels() == {n: {**staged, **({} if n == "kube-system" else {"enforce": "baseline"})} for n in names}


def test_release_engineering_lives_in_docs_releasing():
    readme = (ROOT / "README.md").read_text()
    releasing = (ROOT / "docs" / "releasing.md").read_text()
    for text in ("scripts/build-binary.py", "one-folder, stripped (**the default**)", "krew-manifest.py",
                 "| linux/arm64 | `ubuntu-24.04-arm`"):
        assert text in releasing and text not in readme, text
    assert "](docs/releasing.md)" in readme
    assert readme.index("\n## Quick start\n") < readme.index(TOUR) < readme.index("\n## Install\n") \
        < readme.index("\n## Commands\n")  # for users first: start, tour, then the reference


def test_the_fix_section_shows_the_way_back_with_lines_fix_takes():
    lines = command_lines(section("\n### `fix`: from findings to fixes\n"))
    assert any(argv[2:4] == ["fix", "--undo"] for argv in lines)
    for argv in lines:
        command_parser(argv[2]).parse_args(argv[3:])


def test_the_fleet_examples_are_command_lines_their_parsers_take():
    text = (ROOT / "README.md").read_text().split("\n### Fleets: every context at once\n", 1)[1].split("\n### ", 1)[0]
    lines = command_lines(text)
    assert [argv[2] for argv in lines] == ["audit", "simulate", "version", "nodes", "snapshot"]
    for argv in lines:
        args = command_parser(argv[2]).parse_args(argv[3:])
        assert args.all_contexts or args.contexts, argv


IN_CI = "\n## In CI\n"


def test_the_in_ci_example_is_the_real_output(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    [block] = re.findall(r"```text\n(.*?)```", section(IN_CI), re.S)
    lines = block.rstrip("\n").split("\n")
    code = main(shlex.split(lines[0])[3:])
    real = capsys.readouterr().out.rstrip("\n").split("\n")
    shown = [line for line in lines[1:] if line != "..."]
    assert code == 1 and real[:len(shown)] == shown and len(real) > len(shown)


def test_the_in_ci_jobs_run_command_lines_check_takes():
    """Every ``kubectl pss``/``kubectl-pss`` line of the section's sh and yaml blocks parses, with -o sarif in the
    GitHub job and -o junit in the GitLab job; the baseline shown is one check reads."""
    from kubectl_pss.analysis.gate import parse_baseline
    from kubectl_pss.goyaml import load

    text = section(IN_CI)
    blocks = re.findall(r"```(?:sh|yaml)\n(.*?)```", text, re.S)
    found = []
    for block in blocks:
        for line in block.split("\n"):
            line = line.split("run: ", 1)[-1].lstrip(" -").split(" > ")[0]
            if line.startswith(("kubectl pss ", "kubectl-pss ")):
                argv = shlex.split(line)[2 if line.startswith("kubectl pss") else 1:]
                command_parser(argv[0]).parse_args(argv[1:])
                found.append(argv)
    assert [a for a in found if "sarif" in a] and [a for a in found if "junit" in a]
    assert all(a[0] == "check" and "--fail-on" in a for a in found)
    baseline = next(load(b) for b in blocks if b.startswith("apiVersion: kubectl-pss/v1"))
    assert parse_baseline(baseline, "check", "README").entries
    helm = re.search(r"`(helm template [^`]*)`", text).group(1).split(" | ")[1].split()
    command_parser(helm[1]).parse_args(helm[2:])
