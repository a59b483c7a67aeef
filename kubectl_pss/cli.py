"""The kubectl-pss command line: parses flags and dispatches to one command module; the one place
that turns errors into exit codes and one-line messages.

Only the chosen command's module is imported, so ``--help`` and ``version`` stay fast
(no ``kubernetes`` import, no tabulate).

Exit codes: a command's own (0, 1 findings, 2 errors); 2 for bad input (UsageError), a FatalError or a
ClusterError the command did not handle itself (``error: ...``, one line); 128+N after signal N
while a debug pod existed (Terminated); 130 on Ctrl-C.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys

from . import commands
from .errors import EXIT_ERROR, FatalError

# The command table lives with the commands (completion reads it too); re-exported here.
COMMANDS = commands.COMMANDS
_VALUE_FLAGS = commands.VALUE_FLAGS


def _split_command(argv: list[str]) -> tuple[str | None, list[str]]:
    """Find the command name; flags given before it are moved behind it (kubectl pss --context x audit)."""
    before: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":  # the end of the flags: the command comes next
            if i + 1 < len(argv):
                return argv[i + 1], before + argv[i + 2:]
            break
        if not arg.startswith("-") or arg == "-":
            rest = argv[i + 1:]
            # Behind everything the command takes (a sub-command like "seccomp install" too), before any "--".
            cut = rest.index("--") if "--" in rest else len(rest)
            return arg, rest[:cut] + before + rest[cut:]
        before.append(arg)
        if arg in _VALUE_FLAGS and "=" not in arg and i + 1 < len(argv):
            before.append(argv[i + 1])
            i += 1
        i += 1
    return None, before


TOP_EXAMPLES = """
# Audit the bundled example cluster (a snapshot: no cluster needed)
kubectl pss audit --snapshot examples/kind-cluster.json

# What enforcing restricted on every namespace would reject
kubectl pss simulate restricted --snapshot examples/kind-cluster.json

# A command's flags, examples and exit codes
kubectl pss help label
"""
TOP_EXIT_CODES = ((0, "success; a command's own meaning of 0 and 1 is in its --help"),
                  (1, "findings (the command's --help says which)"))


def _top_parser() -> argparse.ArgumentParser:
    width = max(map(len, COMMANDS))
    parser = commands.Parser(
        prog="kubectl pss",
        description="What the Pod Security Standards would do to your cluster, before anything breaks.",
        epilog="Commands:\n" + "\n".join(f"  {name:<{width}}  {text}" for name, (_, text) in COMMANDS.items())
        + "\n\nUse 'kubectl pss help COMMAND' (or 'kubectl pss COMMAND --help') for a command's flags.\n\n"
        + commands.help_epilog(TOP_EXAMPLES, TOP_EXIT_CODES),
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    parser.add_argument("command", nargs="?", help=argparse.SUPPRESS)
    return parser


def _unknown_command(command: str) -> int:
    """cobra's message, with its suggestions (tab-indented as cobra's: written past the stream that escapes
    control characters, with the typed word escaped here)."""
    import json

    from .report.render import terminal_safe

    message = f'error: unknown command {terminal_safe(json.dumps(command, ensure_ascii=False))} for "kubectl pss"\n'
    suggestions = commands.closest_command(command)
    if suggestions:
        message += "\nDid you mean this?\n" + "".join(f"\t{name}\n" for name in suggestions)
    getattr(sys.stderr, "raw_stream", sys.stderr).write(message)
    return EXIT_ERROR


def run(argv: list[str]) -> int:
    if argv and argv[0] in ("__complete", "__completeNoDesc"):  # cobra's completion protocol (completion.py)
        from .completion import run_complete

        return run_complete(argv[1:], descriptions=argv[0] == "__complete")
    command, rest = _split_command(argv)
    if command == "help":  # kubectl pss help [COMMAND [SUBCOMMAND]]: that command's --help
        words = [word for word in rest if not word.startswith("-")]
        if not words:
            _top_parser().print_help()
            return 0
        command, rest = words[0], words[1:] + ["--help"]
    if command is None:
        args = _top_parser().parse_args(rest)
        if args.version:
            command, rest = "version", ["--client"]
        else:
            _top_parser().print_help()
            return 0 if not rest else EXIT_ERROR
    if command not in COMMANDS:
        return _unknown_command(command)
    module = importlib.import_module(f".commands.{COMMANDS[command][0]}", __package__)
    parser = commands.command_parser(command)
    args = parser.parse_args(rest)
    from .report.render import palette_in_use, set_table_layout

    set_table_layout(getattr(args, "output", None), getattr(args, "no_headers", False))
    palette_in_use(False)  # a new run: nothing painted yet
    options = module.complete(args)
    module.validate(options)
    return module.run(options)


def _cluster_error(exc: BaseException, kind: str = "ClusterError") -> bool:
    """A ClusterError (or Terminated), without importing the cluster layer when none can have been raised."""
    errors = sys.modules.get("kubectl_pss.cluster.errors")
    return errors is not None and isinstance(exc, getattr(errors, kind))


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``kubectl-pss`` executable.

    Diagnostics go through TerminalSafeStream: errors, warnings and notes quote names and messages
    from the cluster and from manifests, whose control characters must not reach the terminal.
    """
    from .report.render import TerminalSafeStream

    stderr = sys.stderr
    sys.stderr = TerminalSafeStream(stderr)
    try:
        return _main(argv)
    finally:
        sys.stderr = stderr


def _main(argv: list[str] | None) -> int:
    try:
        code = run(sys.argv[1:] if argv is None else argv)
    except FatalError as exc:
        print(f"error: {exc}", file=sys.stderr)
        code = exc.exit_code
    except SystemExit as exc:  # argparse's --help
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else EXIT_ERROR)
    except KeyboardInterrupt as exc:
        if _cluster_error(exc, "Terminated"):  # SIGTERM/SIGHUP while a debug pod existed
            print("error: terminated", file=sys.stderr)
            code = 128 + exc.signum  # type: ignore[attr-defined]
        else:
            print("error: interrupted", file=sys.stderr)
            code = 130
    except BrokenPipeError:
        # The reader went away (| head): say nothing, like other CLIs.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 1
    except OSError as exc:  # a file we were told to write or read, outside the commands' own checks
        print(f"error: {exc.filename or ''}{': ' if exc.filename else ''}{exc.strerror or exc}", file=sys.stderr)
        code = EXIT_ERROR
    except Exception as exc:
        if _cluster_error(exc):  # no kubeconfig, unknown context, server unreachable, forbidden...
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_ERROR
        # a bug: one line, not a traceback, unless asked for
        if os.environ.get("KUBECTL_PSS_DEBUG"):
            raise
        print(f"error: internal error: {type(exc).__name__}: {exc} (a bug in kubectl-pss; "
              "KUBECTL_PSS_DEBUG=1 shows the traceback)", file=sys.stderr)
        code = EXIT_ERROR
    return code


def entry() -> None:
    """Console-script entry: run, flush, and skip interpreter teardown (saves ~150 ms)."""
    if getattr(sys, "frozen", False):  # the PyInstaller binary: child processes get the user's LD_LIBRARY_PATH
        from .frozen import restore_environment

        restore_environment()
    code = main()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:
        code = code or 1
    os._exit(code)
