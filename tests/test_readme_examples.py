"""The README's "Examples" are real: each ``$ kubectl pss ...`` block is run again and what it shows must be
the output, line for line, where ``...`` stands for lines left out."""
from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from kubectl_pss.cli import main

ROOT = Path(__file__).resolve().parents[1]


def examples() -> list[tuple[list[str], list[str]]]:
    text = (ROOT / "README.md").read_text()
    section = text.split("\n## Examples\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```text\n(.*?)```", section, re.S)
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
