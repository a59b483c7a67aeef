"""kubectl's habits on the whole command line (``cli.py`` and every command's parser): long flags only spelled
in full, ``help CMD``, cobra's suggestion for an unknown command, Examples and exit codes in every ``--help``."""
from __future__ import annotations

import argparse
import re
import shlex
from pathlib import Path

import pytest

from kubectl_pss import commands
from kubectl_pss.commands import COMMANDS, command_parser

ROOT = Path(__file__).resolve().parents[1]
KIND = str(ROOT / "examples" / "kind-cluster.json")


def every_parser() -> list[tuple[str, argparse.ArgumentParser]]:
    """Every command's parser and every sub-command's (``seccomp install``), by the name typed."""
    out = []

    def walk(name: str, parser: argparse.ArgumentParser) -> None:
        out.append((name, parser))
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub_name, sub in action.choices.items():
                    walk(f"{name} {sub_name}", sub)

    for name in COMMANDS:
        walk(name, command_parser(name))
    return out


PARSERS = every_parser()


def test_the_walk_reaches_the_sub_commands():
    names = [name for name, _ in PARSERS]
    assert set(COMMANDS) <= set(names)
    assert {"seccomp profile", "seccomp lint", "seccomp install"} <= set(names)


# --- no abbreviated long flags ------------------------------------------------------------------------------------
def test_server_is_not_server_version(run_cli):
    # --server is kubectl's -s (the API server's address), never --server-version cut short
    code, out, err = run_cli("audit", "--server", "https://x", "--snapshot", KIND)
    assert (code, out) == (2, "")
    assert err == "error: --snapshot reads a dump: --server does not apply\n"
    code, out, err = run_cli("audit", "--server-vers", "v1.30", "--snapshot", KIND)
    assert (code, out) == (2, "")
    assert err == "error: unrecognized arguments: --server-vers v1.30\n"


@pytest.mark.parametrize("name, parser", PARSERS, ids=[name for name, _ in PARSERS])
def test_no_parser_takes_a_prefix_of_a_long_flag(name, parser):
    """Each long flag cut short by one letter (``--server-versio``) is unknown to the parser that has it."""
    longs = [opt for action in parser._actions for opt in action.option_strings if opt.startswith("--")]
    assert longs, name
    for opt in longs:
        prefix = opt[:-1]
        if prefix in parser._option_string_actions or len(prefix) < 3:
            continue
        assert _flag_of(parser, prefix) is None, (name, opt)
        assert _flag_of(parser, opt) is parser._option_string_actions[opt]  # the full spelling still works


def _flag_of(parser: argparse.ArgumentParser, word: str) -> argparse.Action | None:
    """The action argparse reads ``word`` as (argparse's own lookup, abbreviations included), or None."""
    found = parser._parse_optional(word)
    if isinstance(found, list):  # Python 3.12+: every match
        found = found[0] if len(found) == 1 else None
    return None if found is None else found[0]


# --- help -------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name, parser", PARSERS, ids=[name for name, _ in PARSERS])
def test_every_help_has_examples_and_exit_codes(name, parser):
    text = parser.format_help()
    assert "\nExamples:\n" in text and "\nExit codes:\n" in text, name
    codes = text.split("\nExit codes:\n", 1)[1]
    assert [line.split()[0] for line in codes.strip("\n").split("\n")][:1] == ["0"], name
    assert "\n  2    bad input" in codes, name


@pytest.mark.parametrize("name, parser", PARSERS, ids=[name for name, _ in PARSERS])
def test_every_example_is_a_command_line_its_parser_takes(name, parser):
    """An example is ``# what`` then the line: it names this command and parses (flags and values real)."""
    examples = parser.format_help().split("\nExamples:\n", 1)[1].split("\nExit codes:\n", 1)[0]
    lines = [line.strip() for line in examples.split("\n") if line.strip() and not line.strip().startswith("#")]
    assert lines, name
    for line in lines:
        line = line.replace("source <(", "").rstrip(")")  # the shell around it: source <(...), a | b, < file
        words = shlex.split(next(part for part in re.split(r" \| | < ", line) if "pss" in part))
        if words[0] == "kubectl-pss":
            words = ["kubectl", "pss"] + words[1:]
        assert words[:2] == ["kubectl", "pss"], line
        top = words[2]
        assert words[2:2 + len(name.split())] == name.split() or (top == "audit" and name == "snapshot"), line
        command_parser(top).parse_args(words[3:])  # raises UsageError on a flag the command does not have


def test_help_command_is_the_command_help(run_cli):
    code, out, err = run_cli("help", "label")
    assert code == 0 and err == ""
    assert out == command_parser("label").format_help()
    code, out, _ = run_cli("help", "seccomp", "install")
    assert code == 0 and out.startswith("usage: kubectl pss seccomp install ") and "--ignore-lint" in out


def test_help_alone_is_the_top_help(run_cli):
    code, out, err = run_cli("help")
    assert code == 0 and err == ""
    assert out == run_cli("--help")[1]
    assert "kubectl pss help COMMAND" in out and "\nExamples:\n" in out and "\nExit codes:\n" in out


def test_help_of_an_unknown_command(run_cli):
    code, out, err = run_cli("help", "audt")
    assert (code, out) == (2, "")
    assert err == 'error: unknown command "audt" for "kubectl pss"\n\nDid you mean this?\n\taudit\n'


# --- unknown commands -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("typed, suggested", [
    ("audt", ["audit"]), ("AUDIT", ["audit", "audit-log"]), ("simualte", ["simulate"]), ("verify", ["verify-apparmor", "verify-seccomp"]),
    ("node", ["nodes"]), ("lable", ["label"]),
])
def test_an_unknown_command_suggests_the_closest(run_cli, typed, suggested):
    code, out, err = run_cli(typed)
    assert (code, out) == (2, "")
    assert err == (f'error: unknown command "{typed}" for "kubectl pss"\n\nDid you mean this?\n'
                   + "".join(f"\t{name}\n" for name in suggested))


def test_no_suggestion_for_a_word_far_from_every_command(run_cli):
    code, out, err = run_cli("frobnicate")
    assert (code, out, err) == (2, "", 'error: unknown command "frobnicate" for "kubectl pss"\n')


def test_an_unknown_command_is_shown_escaped(run_cli):
    code, _, err = run_cli("a\x1b[31mx")
    assert code == 2 and "\x1b" not in err and err.startswith('error: unknown command "a\\u001b[31mx"')


# --- one word for one meaning -------------------------------------------------------------------------------------
def test_one_flag_word_for_one_meaning():
    having = {flag: {name for name, parser in PARSERS if flag in parser._option_string_actions}
              for flag in ("--force", "--ignore-lint", "--yes", "--overwrite", "--dry-run")}
    assert having["--force"] == {"label", "fix"}  # act despite findings (both: --undo restores objects changed since); seccomp install's lint override is --ignore-lint
    assert having["--ignore-lint"] == {"seccomp install"}
    assert having["--yes"] == {"label", "seccomp install", "fix", "audit"} == having["--dry-run"]
    assert having["--overwrite"] == {"snapshot", "seccomp install"}
    for name, parser in PARSERS:
        flags = parser._option_string_actions
        if "--yes" in flags:
            assert flags["-y"] is flags["--yes"], name
        if "--dry-run" in flags:  # kubectl's values, and --dry-run alone
            assert flags["--dry-run"].metavar == "none|client|server" and parser.bare_values["--dry-run"], name
        if "--overwrite" in flags:
            assert "replace" in flags["--overwrite"].help, name


def test_seccomp_install_help_says_once_what_runs_without_yes(run_cli):
    _, out, _ = run_cli("help", "seccomp", "install")
    text = " ".join(out.split())
    assert "Without --yes only the plan: the node list is read, no debug pod is created and nothing is written." in text
    assert "--yes --dry-run=server reads each node's file through its debug pod and writes nothing; --yes writes." in text
    assert "each node's file is read, nothing is written" not in text  # what it used to claim for the plan
