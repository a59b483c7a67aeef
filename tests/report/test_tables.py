"""Tables that fit: on a terminal (a real pty, 80 and 120 columns) no table line is wider than it, in a
pipe nothing wraps, --no-headers on every table, notes and error counts only on stderr."""
from __future__ import annotations

import re

import pytest

from kubectl_pss.report import render
from kubectl_pss.report.color import Palette
from tests.commands.test_verify import lab  # noqa: F401  (the fixture: nodes, pods, confinement)
from tests.report.ptyrun import run_in_pty
from tests.scenarios import load_mixed_cluster

PALETTE = re.compile("\x1b\\[\\d+m")
SNAPSHOT = ["--snapshot", "examples/kind-cluster.json"]
OFFLINE = [
    ["audit", "-A", *SNAPSHOT],
    ["simulate", "restricted", *SNAPSHOT],
    ["check", "-f", "examples/manifests/"],
    ["audit-log", "examples/audit-events.jsonl", "--suggest-exemptions"],
    ["seccomp", "lint", "examples/seccomp/nginx.yaml"],
]


def visible(line: str) -> int:
    return len(PALETTE.sub("", line))


def widest(out: str) -> int:
    return max(visible(line) for line in out.split("\n"))


def assert_fits(argv: list[str], columns: int) -> str:
    code, out, err = run_in_pty(argv, columns)
    assert code in (0, 1), err
    assert out.strip(), err
    over = [line for line in out.split("\n") if visible(line) > columns]
    assert not over, f"{' '.join(argv)}: {len(over)} line(s) wider than {columns}:\n" + "\n".join(over)
    return out


@pytest.mark.parametrize("columns", [80, 120])
@pytest.mark.parametrize("argv", OFFLINE, ids=[" ".join(a[:2]) for a in OFFLINE])
def test_offline_tables_fit_the_terminal(argv, columns):
    out = assert_fits(argv, columns)
    assert "\x1b[" in out  # a terminal: the palette is on, and its codes do not count as width


@pytest.fixture
def mixed(apiserver):
    load_mixed_cluster(apiserver)
    return apiserver


@pytest.mark.parametrize("columns", [80, 120])
def test_cluster_tables_fit_the_terminal(mixed, columns):
    kubeconfig = ["--kubeconfig", str(mixed.kubeconfig_path)]
    for argv in (["audit", "-A"], ["simulate", "restricted", "-A"],
                 ["label", "-A", "--enforce", "restricted", "--dry-run=client"]):
        assert_fits([*argv, *kubeconfig], columns)


@pytest.mark.parametrize("columns", [80, 120])
def test_node_and_confinement_tables_fit_the_terminal(lab, columns):  # noqa: F811
    kubeconfig = ["--kubeconfig", str(lab.kubeconfig_path)]
    for argv in (["nodes"], ["verify-apparmor", "-A"], ["verify-seccomp", "-A"]):
        assert_fits([*argv, *kubeconfig], columns)


def test_wide_and_pipes_do_not_wrap(run_cli):
    """-o wide on a terminal is the piped table: today's long rows, every pod listed."""
    wide = run_in_pty(["audit", "-A", *SNAPSHOT, "-o", "wide", "--no-color"], 80)[1]
    code, piped, _ = run_cli("audit", "-A", *SNAPSHOT)
    assert code == 0 and wide == piped
    assert widest(piped) > 200  # the REASON: DETAIL cells are whole, on one line each
    row = ('kube-system         (privileged:latest)  (privileged:latest)  (privileged:latest)            8       3'
           '            privileged @v1.29')
    assert row in piped.split("\n")
    fitted = run_in_pty(["audit", "-A", *SNAPSHOT, "--no-color"], 120)[1]
    assert widest(fitted) <= 120 and fitted != piped
    words = lambda text: re.sub(r"\s+", "", text)  # noqa: E731
    assert words('must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"') \
        in words(fitted)  # wrapped, not cut


def test_pod_lists_name_the_first_pod_and_count_the_rest(run_cli, tmp_path):
    import json

    items = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "n"}}]
    for i in range(4):
        items.append({"apiVersion": "v1", "kind": "Pod", "metadata": {
            "name": f"web-{i}", "namespace": "n",
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web", "uid": "u",
                                 "controller": True}]},
            "spec": {"hostNetwork": True, "containers": [{"name": "c", "image": "i"}]}})
    path = tmp_path / "snapshot.json"
    path.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
    code, out, _ = run_cli("audit", "--snapshot", path, "-n", "n")
    assert "web-0 +3 more" in out and "web-1" not in out
    code, out, _ = run_cli("audit", "--snapshot", path, "-n", "n", "-o", "wide")
    assert "web-0, web-1, web-2, web-3" in out


NO_HEADERS = [
    (["audit", "-A", *SNAPSHOT], "NAMESPACE", "kube-system"),
    (["simulate", "restricted", *SNAPSHOT], "NAMESPACE", "kube-system"),
    (["check", "-f", "examples/manifests/"], "SOURCE", "examples/manifests/baseline-pod.yaml"),
    (["audit-log", "examples/audit-events.jsonl"], "NAMESPACE", "ae-demo"),
    (["admission-config", "--check", "GENERATED", "--offline"], None, None),
]


@pytest.mark.parametrize("argv, header, row", NO_HEADERS, ids=[a[0] for a, _, _ in NO_HEADERS])
def test_no_headers(run_cli, argv, header, row, tmp_path):
    if header is None:  # every command with a table takes the flag
        generated = tmp_path / "admission.yaml"
        generated.write_text(run_cli("admission-config")[1])
        code, out, err = run_cli(*[str(generated) if a == "GENERATED" else a for a in argv], "--no-headers")
        assert code in (0, 1) and "unrecognized arguments" not in err
        return
    code, with_headers, _ = run_cli(*argv)
    code, out, _ = run_cli(*argv, "--no-headers")
    assert any(line.startswith(header) for line in with_headers.split("\n"))
    assert not any(line.startswith(header) for line in out.split("\n"))
    assert any(line.startswith(row) for line in out.split("\n"))
    assert "Cluster " not in out and "Simulating" not in out and "object(s) checked" not in out  # captions go too


def test_no_headers_on_the_cluster_commands(mixed, lab):  # noqa: F811
    for server, argv in ((mixed, ["label", "-A", "--enforce", "restricted", "--dry-run=client"]),
                         (lab, ["nodes"]), (lab, ["verify-apparmor", "-A"]), (lab, ["verify-seccomp", "-A"])):
        code, out, err = run_in_pty([*argv, "--kubeconfig", str(server.kubeconfig_path), "--no-headers"], 120)
        assert code in (0, 1), err
        assert out.strip() and not any(line.startswith(("NAMESPACE", "NODE")) for line in out.split("\n")), out


def test_notes_and_error_counts_only_on_stderr(run_cli, mixed, tmp_path):
    for argv in (["audit", "-A", *SNAPSHOT], ["simulate", "restricted", *SNAPSHOT],
                 ["label", "-A", "--enforce", "restricted", "--dry-run=client", "--kubeconfig",
                  str(mixed.kubeconfig_path)]):
        code, out, err = run_cli(*argv)
        assert "note:" not in out.lower() and "note: no --admission-config" in err, argv
    broken = tmp_path / "broken.yaml"
    broken.write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec: {hostPID: yes-please}\n")
    code, out, err = run_cli("check", "-f", broken)
    assert "error(s)" not in out and "error:" in err


def test_roll_up_and_footnote_of_audit(run_cli):
    code, out, _ = run_cli("audit", "-A", *SNAPSHOT)
    lines = out.rstrip("\n").split("\n")
    assert lines[-1] == "5 namespace(s): 2 restricted-ready, 2 baseline, 1 privileged-only"
    footnote = lines.index("(values in parentheses are cluster defaults, not labels)")
    assert lines[footnote - 1].startswith("local-path-storage ")  # right under the table it explains
    assert "VIOLATES ENFORCE" in next(line for line in lines if line.startswith("NAMESPACE "))


def test_roll_up_counts_violations_and_unread_namespaces():
    from kubectl_pss.report.audit import roll_up

    ns = lambda level, violates=False, complete=True: {  # noqa: E731
        "strictestLevel": level, "violatesEnforce": violates, "complete": complete}
    line = roll_up([ns("restricted"), ns("baseline", True), ns("privileged", True), ns(None, complete=False)])
    assert line == ("4 namespace(s): 1 restricted-ready, 1 baseline, 1 privileged-only; "
                    "2 violate their own enforce label; 1 not fully read")


def test_a_failed_level_is_never_green():
    palette = Palette(True)
    assert palette.failed_level("restricted") == "\x1b[33mrestricted\x1b[0m"  # fails restricted: baseline
    assert palette.failed_level("baseline") == "\x1b[31mbaseline\x1b[0m"
    assert palette.level("restricted") == palette.paint("restricted", "good") == "\x1b[32mrestricted\x1b[0m"


def test_wrapping_comes_after_escaping(monkeypatch):
    """Hostile cells wrap with their escapes visible and counted: no line wider than asked, no raw control."""
    monkeypatch.setattr(render, "table_width", lambda: 40)
    palette = Palette(True)
    hostile = "evil\x1b]0;owned\x07" * 6
    table = render.format_table([["ns", palette.paint("privileged " + hostile, "error"), "a b c d e f g h i j " * 4]],
                                ["namespace", "level", "reason: detail"], wrap=("reason: detail",))
    lines = table.split("\n")
    assert max(visible(line) for line in lines) <= 40
    assert "\x07" not in table and "\x1b]" not in table
    assert all(line.count("\x1b[31m") == line.count("\x1b[0m") for line in lines)  # colour closed on each line
    cell = render.wrap_cell(palette.paint(hostile, "error"), 12)
    assert max(visible(line) for line in cell.split("\n")) <= 12
    assert PALETTE.sub("", cell).replace("\n", "") == render.terminal_safe(hostile)  # wrapped, nothing cut

def test_no_wrapping_without_a_terminal(monkeypatch):
    monkeypatch.setattr(render, "table_width", lambda: None)
    table = render.format_table([["x" * 300]], ["reason: detail"], wrap=("reason: detail",))
    assert table.split("\n")[1] == "x" * 300
