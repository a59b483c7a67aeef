"""Check a seccomp profile (the kubelet's JSON, or an SPO SeccompProfile): schema, syscall names per
architecture, duplicates and conflicts, rules that make it useless, syscalls it allows that
RuntimeDefault refuses (containerd's and moby's default profiles), and what it changes compared with
Unconfined. Exit 1 on errors, 2 on unreadable input.

``kubectl pss seccomp lint PROFILE``: exit 0 when there are no errors (warnings are allowed).
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from typing import Any

from ...errors import EXIT_FINDINGS, EXIT_OK, UsageError
from ...report.envelope import envelope
from ...report.render import TABLE_FORMATS, write_report
from ...report.seccomp import render_lint
from ...seccomp import lint as seccomp_lint
from ..flags import add_output_flags, validate_output

EXAMPLES = """
# Lint a profile (a warning is not an error)
kubectl pss seccomp lint examples/seccomp/nginx.yaml

# From stdin, as JSON
kubectl pss seccomp lint - -o json < profile.json
"""
EXIT_CODES = ((0, 'no errors (warnings are allowed)'), (1, 'lint errors'))


@dataclass
class LintOptions:
    path: str
    output: str = "table"
    no_color: bool = False


HELP = "check a seccomp profile and show what it changes compared with Unconfined"
DESCRIPTION = (__doc__ or "").split("\n\n")[0]  # the first paragraph: --help's description


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", metavar="PROFILE", help="the profile file, or - for stdin")
    add_output_flags(parser)


def complete(args: argparse.Namespace) -> LintOptions:
    return LintOptions(path=args.path, output=args.output, no_color=args.no_color)


def validate(options: LintOptions) -> None:
    validate_output(options.output)


def load_profile(path: str) -> Any:
    """The profile document (JSON, or an SPO SeccompProfile in YAML); UsageError when it is neither."""
    source = "stdin" if path == "-" else path
    try:
        if path == "-":
            text = sys.stdin.buffer.read().decode("utf-8", "replace")
        else:
            with open(path, "rb") as handle:
                text = handle.read().decode("utf-8", "replace")
    except OSError as exc:
        raise UsageError(f'cannot read "{source}": {exc.strerror or exc}') from None
    from ...seccomp.filter import NotJSON, parse_profile_json

    try:
        return parse_profile_json(text)
    except NotJSON as exc:
        json_error = exc
    except ValueError as exc:
        raise UsageError(f"{source}: {exc}") from None
    if "SeccompProfile" in text:  # an SPO object is usually YAML, read as kubectl reads it
        import yaml

        from ...goyaml import load as load_yaml

        try:
            document = load_yaml(text)
        except (yaml.YAMLError, RecursionError):
            document = None
        if isinstance(document, dict) and document.get("kind") == "SeccompProfile":
            return document
    raise UsageError(f"{source}: {json_error}")


def run(options: LintOptions) -> int:
    document = load_profile(options.path)
    report = seccomp_lint.lint(document)
    source = "stdin" if options.path == "-" else options.path
    data = envelope("SeccompLintReport", {"profile": source, **report.as_dict()})
    write_report(data if options.output not in TABLE_FORMATS else report, options.output, sys.stdout,
                 lambda r, out: render_lint(r, source, options.no_color, out))
    return EXIT_FINDINGS if report.errors else EXIT_OK
