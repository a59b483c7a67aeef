"""One module per subcommand, each in kubectl's Complete/Validate/Run shape.

Every module defines ``add_arguments(parser)``, ``complete(args) -> Options``,
``validate(options)`` (raises UsageError: exit 2) and ``run(options) -> exit code``, and for its
``--help`` ``EXAMPLES`` (``# what`` lines, each followed by a command line) and ``EXIT_CODES``.
"""
from __future__ import annotations

import argparse
import importlib
from typing import Any, NoReturn

from ..errors import UsageError

# name -> (module under kubectl_pss.commands, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "audit": ("audit", "Every namespace's Pod Security labels and the strictest level its pods and workloads pass"),
    "simulate": ("simulate", "What enforcing a Pod Security level on namespaces would reject, grouped by workload"),
    "label": ("label", "Set Pod Security labels safely: the plan, a server dry run, staged apply, an undo file"),
    "audit-log": ("audit_log", "What PodSecurity really audited, denied and exempted, from the API server's audit log"),
    "admission-config": ("admission_config", "Write, propose (--from-cluster) or check (--check) the PodSecurity AdmissionConfiguration"),
    "check": ("check", "Evaluate manifests offline against the Pod Security Standards"),
    "fix": ("fix", "Make manifests or live workloads pass a level: only safe fixes, the rest reported as decisions"),
    "snapshot": ("snapshot", "Dump namespaces, pods and workloads to a file that audit and simulate read offline"),
    "seccomp": ("seccomp", "Seccomp profiles from what a workload really calls (audit records), and a profile linter"),
    "verify-apparmor": ("verify_apparmor", "The AppArmor profile each running container really has, against its spec"),
    "verify-seccomp": ("verify_seccomp", "The seccomp filter each running container really has, against its spec"),
    "nodes": ("nodes", "Which AppArmor and seccomp profiles each node really has, against the ones pods name"),
    "version": ("version", "Print the plugin version, the newest policy version it knows, and the server's version"),
    "completion": ("completion", "Print a shell completion script for kubectl-pss: bash, zsh or fish"),
}

# Flags that take a value, so that flags given before the command name can be moved after it.
VALUE_FLAGS = {"--kubeconfig", "--context", "--cluster", "--user", "--request-timeout", "-v", "--v", "-n", "--namespace",
               "-o", "--output", "-s", "--server", "--certificate-authority", "--tls-server-name", "--token",
               "--client-certificate", "--client-key", "--as", "--as-group", "--as-uid", "--contexts",
               "--parallel-contexts"}

# Every command's exit codes: its own 0 and 1 (see the module's EXIT_CODES), and these.
COMMON_EXIT_CODES = (
    (2, "bad input (flags, files), or an error reading the cluster: one line on stderr"),
    (130, "interrupted (Ctrl-C); 128+N after signal N while a debug pod existed (it is deleted first)"),
)


class Parser(argparse.ArgumentParser):
    """kubectl's habits: long flags only spelled in full (no ``--server`` for ``--server-version``),
    a bad flag is one line and exit 2 (UsageError), and a flag in ``bare_values`` may be given
    without its value (``--dry-run`` is ``--dry-run=unchanged``, as pflag's NoOptDefVal)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["allow_abbrev"] = False
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        raise UsageError(message)

    def parse_known_args(self, args: Any = None, namespace: Any = None) -> Any:
        bare: dict[str, str] = getattr(self, "bare_values", {})
        if args is not None and bare:
            args = list(args)
            end = args.index("--") if "--" in args else len(args)
            args = [f"{a}={bare[a]}" if i < end and a in bare else a for i, a in enumerate(args)]
        return super().parse_known_args(args, namespace)


def help_epilog(examples: str, exit_codes: tuple[tuple[int, str], ...]) -> str:
    """The end of a command's ``--help``: its examples (``# what`` then the command line) and exit codes."""
    given = {code for code, _ in exit_codes}
    codes = exit_codes + tuple(entry for entry in COMMON_EXIT_CODES if entry[0] not in given)
    return ("Examples:\n" + "\n".join(f"  {line}" if line else "" for line in examples.strip("\n").split("\n"))
            + "\n\nExit codes:\n" + "\n".join(f"  {code:<3}  {text}" for code, text in codes))


def command_parser(name: str) -> Parser:
    """The parser of command ``name`` (built, not run): cli parses with it, completion reads its flags."""
    module = importlib.import_module(f"{__name__}.{COMMANDS[name][0]}")
    parser = Parser(prog=f"kubectl pss {name}", description=COMMANDS[name][1],
                    epilog=help_epilog(module.EXAMPLES, module.EXIT_CODES))
    module.add_arguments(parser)
    return parser


def closest_command(word: str) -> list[str]:
    """cobra's suggestions for an unknown command: names within 2 edits, or that start with ``word``."""
    return [name for name in COMMANDS
            if _distance(word.lower(), name) <= 2 or (word and name.startswith(word.lower()))]


def _distance(a: str, b: str) -> int:
    """Levenshtein distance."""
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ca != cb))
    return row[-1]
