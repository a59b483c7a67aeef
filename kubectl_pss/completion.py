"""Shell completion in cobra's ``__complete`` protocol (what kubectl speaks to plugins).

kubectl 1.26+ completes ``kubectl pss <TAB>`` by running ``kubectl_complete-pss`` with the words
typed after ``pss``, the last one being the word under completion (``""`` for a new word). The
answer is one candidate per line (``value<TAB>description`` allowed) and a last line
``:<directive>``, a bit set:

    1 error, 2 no space after the word, 4 no file completion, 8 the candidates are file
    extensions to filter on, 16 complete directories only, 32 keep this order.

``kubectl-pss __complete WORDS...`` answers the same way (the scripts of ``kubectl-pss completion
bash|zsh|fish`` call it), and so does the ``kubectl_complete-pss`` console script.

Flags come from each command module's ``add_arguments``: the argparse parser is built, never run.
Cluster values (namespaces for ``-n``, pods for a ``POD`` argument, contexts for ``--context``) are
asked of ``kubectl`` with a 3 s budget rather than of the Python client, whose import alone takes
0.5-0.7 s: kubectl is on PATH whenever ``kubectl pss`` is being completed, and it reads the
kubeconfig, exec credential plugins included, exactly as the user's kubectl does. Set
``KUBECTL_PSS_COMPLETION_NO_CLUSTER=1`` to never call it.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field

ERROR = 1
NO_SPACE = 2
NO_FILE_COMP = 4
FILTER_FILE_EXT = 8
FILTER_DIRS = 16
KEEP_ORDER = 32
DEFAULT = 0

LEVELS = ("privileged", "baseline", "restricted")
SHELLS = ("bash", "zsh", "fish")
MANIFEST_EXTENSIONS = ("yaml", "yml", "json")
CLUSTER_TIMEOUT = 3.0

# Flags whose value is a kind of thing, whatever the command.
_LEVEL_FLAGS = {"--level", "--fail-on"}
_OUTPUT_FLAGS = {"-o", "--output"}
_NAMESPACE_FLAGS = {"-n", "--namespace"}
_MANIFEST_FLAGS = {"-f", "--filename"}


@dataclass
class Completion:
    candidates: list[tuple[str, str]] = field(default_factory=list)  # (value, description)
    directive: int = NO_FILE_COMP

    def lines(self, descriptions: bool = True) -> list[str]:
        out = []
        for value, text in self.candidates:
            text = " ".join(text.split())
            out.append(f"{value}\t{text}" if descriptions and text else value)
        out.append(f":{self.directive}")
        return out


@dataclass
class _State:
    """What the words typed so far say: flag values given, positionals, a flag waiting for a value."""
    values: dict[str, list[str]] = field(default_factory=dict)  # option string -> values
    used: set[int] = field(default_factory=set)  # id() of actions given
    positionals: int = 0
    pending: argparse.Action | None = None
    after_dashdash: bool = False
    switches: set[str] = field(default_factory=set)  # flags without a value given (--insecure-skip-tls-verify)


def _describe(text: str | None) -> str:
    if not text or text == argparse.SUPPRESS:
        return ""
    text = " ".join(text.replace("%(default)s", "").replace("%%", "%").split())
    return text if len(text) <= 100 else text[:99].rsplit(" ", 1)[0] + "…"


def _command_parser(command: str) -> argparse.ArgumentParser:
    from .commands import command_parser

    return command_parser(command)


def _takes_value(action: argparse.Action) -> bool:
    return action.nargs != 0


def _options(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    return {opt: action for action in parser._actions for opt in action.option_strings}


def _scan(words: list[str], options: dict[str, argparse.Action]) -> _State:
    state = _State()
    for word in words:
        if state.pending is not None:
            for opt in state.pending.option_strings:
                state.values.setdefault(opt, []).append(word)
            state.pending = None
            continue
        if word == "--" and not state.after_dashdash:
            state.after_dashdash = True
            continue
        if word.startswith("-") and word != "-" and not state.after_dashdash:
            name, eq, value = word.partition("=")
            action = options.get(name)
            if action is None:
                continue
            state.used.add(id(action))
            if _takes_value(action):
                if eq:
                    for opt in action.option_strings:
                        state.values.setdefault(opt, []).append(value)
                else:
                    state.pending = action
            else:
                state.switches.update(action.option_strings)
            continue
        state.positionals += 1
    return state


# kubectl's connection flags, passed on to the kubectl that lists cluster values (it sees what the command would)
_KUBECTL_FLAGS = ("--kubeconfig", "--context", "--cluster", "--user", "-s", "--server", "--certificate-authority",
                  "--tls-server-name", "--token", "--client-certificate", "--client-key", "--as", "--as-uid")


def _connection_args(state: _State) -> list[str]:
    args = []
    for flag in _KUBECTL_FLAGS:
        values = state.values.get(flag)
        if values and values[-1]:
            args += [flag, values[-1]]
    args += [f"--as-group={group}" for group in state.values.get("--as-group", []) if group]
    if "--insecure-skip-tls-verify" in state.switches:
        args.append("--insecure-skip-tls-verify")
    return args


def _namespace(state: _State) -> str | None:
    for value in reversed(state.values.get("--namespace", []) + state.values.get("-n", [])):
        names = [n for n in value.split(",") if n]
        if names:
            return names[0]
    return None


def _kubectl_words(args: list[str]) -> list[str]:
    """Words printed by ``kubectl ARGS`` (whitespace separated), or none if that is slow or fails."""
    if os.environ.get("KUBECTL_PSS_COMPLETION_NO_CLUSTER"):
        return []
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        return []
    try:
        proc = subprocess.run([kubectl, *args], capture_output=True, text=True, timeout=CLUSTER_TIMEOUT,
                              stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return []
    return proc.stdout.split() if proc.returncode == 0 else []


def _cluster_names(resource: str, state: _State) -> list[str]:
    args = _connection_args(state) + ["get", resource, "-o", "jsonpath={.items[*].metadata.name}",
                                      f"--request-timeout={int(CLUSTER_TIMEOUT)}s"]
    namespace = _namespace(state)
    if resource == "pods" and namespace:
        args += ["--namespace", namespace]
    return sorted(set(_kubectl_words(args)))


def _contexts(state: _State) -> list[str]:
    kubeconfig = state.values.get("--kubeconfig")
    args = ["--kubeconfig", kubeconfig[-1]] if kubeconfig and kubeconfig[-1] else []
    return sorted(set(_kubectl_words(args + ["config", "get-contexts", "-o", "name"])))


def _kubeconfig_names(state: _State, what: str) -> list[str]:
    """``kubectl config get-clusters`` / ``get-users`` (a NAME column)."""
    kubeconfig = state.values.get("--kubeconfig")
    args = ["--kubeconfig", kubeconfig[-1]] if kubeconfig and kubeconfig[-1] else []
    words = _kubectl_words(args + ["config", f"get-{what}"])
    return sorted(set(words[1:] if words[:1] == ["NAME"] else words))


def _policy_versions() -> list[tuple[str, str]]:
    from .policy.registry import NEWEST_MINOR

    return [("latest", f"the newest (v1.{NEWEST_MINOR}) or the cluster's")] + [
        (f"v1.{minor}", "") for minor in range(NEWEST_MINOR, -1, -1)]


def _level_values(current: str) -> Completion:
    """privileged, baseline, restricted; after "LEVEL:", LEVEL:latest and LEVEL:v1.N (label's L[:V])."""
    level, colon, _ = current.partition(":")
    if colon and level in LEVELS:
        return Completion([(f"{level}:{v}", d) for v, d in _policy_versions()], NO_FILE_COMP | KEEP_ORDER)
    return Completion([(lv, "") for lv in LEVELS], NO_FILE_COMP | KEEP_ORDER)


def _values(action: argparse.Action, state: _State, current: str = "") -> Completion:
    """Candidates for the value of ``action`` (a flag's value, or a positional)."""
    from .policy.admission import MODES

    names = set(action.option_strings) or {action.dest}
    dest = action.dest
    metavar = str(action.metavar or "")
    if isinstance(action, argparse._SubParsersAction):
        helps = {a.dest: a.help or "" for a in action._choices_actions}
        return Completion([(name, _describe(helps.get(name))) for name in action.choices], NO_FILE_COMP | KEEP_ORDER)
    if action.choices:
        return Completion([(str(c), "") for c in action.choices])
    if dest == "fail_on" and metavar == "MODE|LEVEL":  # check, audit, simulate (analysis.gate)
        from .analysis.gate import FAIL_ON_VALUES

        return Completion([(v, "") for v in FAIL_ON_VALUES], NO_FILE_COMP | KEEP_ORDER)
    if "|" in metavar and " " not in metavar:  # metavar="none|client|server"
        return Completion([(v, "") for v in metavar.split("|") if v], NO_FILE_COMP | KEEP_ORDER)
    if names & _MANIFEST_FLAGS:
        return Completion([(ext, "") for ext in MANIFEST_EXTENSIONS], FILTER_FILE_EXT)
    if metavar.upper() in ("FILE", "PATH", "PROFILE", "KUBECONFIG"):
        return Completion([], DEFAULT)
    if metavar.upper() == "DIR":
        return Completion([], FILTER_DIRS)
    if names & _LEVEL_FLAGS or dest in ("level", "fail_on") or dest in MODES:
        return _level_values(current)
    if names & _OUTPUT_FLAGS and dest == "output":
        from .report.render import OUTPUT_FORMATS

        formats = getattr(action, "formats", OUTPUT_FORMATS)  # a command's own list (check's CI formats)
        return Completion([(f, "") for f in formats], NO_FILE_COMP | KEEP_ORDER)
    if dest == "policy_version":
        return Completion(_policy_versions(), NO_FILE_COMP | KEEP_ORDER)
    if dest == "mode":
        return Completion([(m, "") for m in MODES], NO_FILE_COMP | KEEP_ORDER)
    if dest == "shell":
        return Completion([(s, "") for s in SHELLS])
    if names & _NAMESPACE_FLAGS or dest in ("namespace", "namespaces") or metavar.upper() == "NS":
        return Completion([(n, "") for n in _cluster_names("namespaces", state)])
    if "--context" in names:
        return Completion([(c, "") for c in _contexts(state)])
    if "--contexts" in names:  # a comma-separated list: complete its last name, after the ones given
        given, _, _last = current.rpartition(",")
        head = f"{given}," if given else ""
        return Completion([(head + c, "") for c in _contexts(state) if c not in given.split(",")], NO_FILE_COMP)
    if "--cluster" in names or "--user" in names:
        what = "clusters" if "--cluster" in names else "users"
        return Completion([(c, "") for c in _kubeconfig_names(state, what)])
    if dest in ("pod", "pods") or metavar.upper() in ("POD", "PODS"):
        return Completion([(p, "") for p in _cluster_names("pods", state)])
    if dest == "nodes" or metavar.upper() == "NODE":
        return Completion([(n, "") for n in _cluster_names("nodes", state)])
    if dest in ("request_timeout", "verbosity", "server", "token", "as_user", "as_group", "as_uid", "tls_server_name",
                "parallel_contexts"):
        return Completion([], NO_FILE_COMP)
    return Completion([], DEFAULT)  # a path or something we know nothing of: the shell's file completion


def _descend(parser: argparse.ArgumentParser, words: list[str]) -> tuple[argparse.ArgumentParser, list[str]]:
    """Follow argparse subcommands (``seccomp profile ...``): the innermost parser and its words."""
    while True:
        sub = next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)
        if sub is None:
            return parser, words
        options = _options(parser)
        pending = False
        for i, word in enumerate(words):
            if pending:
                pending = False
                continue
            if word.startswith("-") and word != "-":
                name, eq, _ = word.partition("=")
                action = options.get(name)
                pending = bool(action is not None and _takes_value(action) and not eq)
                continue
            if word in sub.choices:
                parser, words = sub.choices[word], words[i + 1:]
                break
            return parser, words
        else:
            return parser, words


def _with_prefix(completion: Completion, current: str, prefix: str = "") -> Completion:
    if completion.directive & (FILTER_FILE_EXT | FILTER_DIRS):
        return completion
    completion.candidates = [(prefix + v, d) for v, d in completion.candidates if (prefix + v).startswith(current)]
    return completion


def _flags(parser: argparse.ArgumentParser, state: _State, current: str) -> Completion:
    out: list[tuple[str, str]] = []
    for action in parser._actions:
        if not action.option_strings or action.help == argparse.SUPPRESS:
            continue
        repeatable = isinstance(action, (argparse._AppendAction, argparse._CountAction))
        if id(action) in state.used and not repeatable:
            continue
        for opt in action.option_strings:
            if current.startswith("--") and not opt.startswith("--"):
                continue
            if opt.startswith(current):
                out.append((opt, _describe(action.help)))
    return Completion(out, NO_FILE_COMP)


def _top_level(current: str) -> Completion:
    from . import commands as cli

    if current.startswith("-"):
        flags = [("--help", "help for kubectl pss"), ("-h", "help for kubectl pss"),
                 ("--version", "print the version and exit")]
        return _with_prefix(Completion([f for f in flags if not (current.startswith("--") and f[0] == "-h")]), current)
    return _with_prefix(Completion([(name, text) for name, (_, text) in cli.COMMANDS.items()]
                                   + [("help", "Help about any command")]), current)


def complete(words: list[str]) -> Completion:
    """Complete the last of ``words`` (the words after ``kubectl pss``)."""
    from . import commands as cli

    if not words:
        words = [""]
    *done, current = words
    # The command is the first word that is neither a flag nor a flag's value (as cli._split_command).
    command = None
    before: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(done):
        word = done[i]
        if command is None:
            if word == "--":
                return Completion([], NO_FILE_COMP)
            if word.startswith("-") and word != "-":
                before.append(word)
                if word in cli.VALUE_FLAGS and i + 1 < len(done):
                    before.append(done[i + 1])
                    i += 1
            else:
                command = word
        else:
            rest.append(word)
        i += 1
    if command is None:
        if before and before[-1] in cli.VALUE_FLAGS and done and done[-1] == before[-1]:
            # The value of a flag given before the command (kubectl pss --context <TAB>).
            from .commands.flags import add_connection_flags, add_output_flags, add_scope_flags

            common = argparse.ArgumentParser(add_help=False)
            add_connection_flags(common)
            add_scope_flags(common, all_by_default=True)
            add_output_flags(common)
            state = _scan(before, _options(common))
            if state.pending is not None:
                return _with_prefix(_values(state.pending, state, current), current)
            return Completion([], DEFAULT)
        return _top_level(current)
    if command == "help":  # kubectl pss help COMMAND [SUBCOMMAND]: complete as the command's own words
        if not rest:
            return _with_prefix(Completion([(name, text) for name, (_, text) in cli.COMMANDS.items()]), current)
        command, more = rest[0], rest[1:]
        if command not in cli.COMMANDS or more:
            return Completion([], NO_FILE_COMP)
        parser = _command_parser(command)
        sub = next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)
        return _with_prefix(Completion([(name, "") for name in (sub.choices if sub else [])]), current)
    if command not in cli.COMMANDS:
        return Completion([], ERROR)
    parser, rest = _descend(_command_parser(command), rest)
    options = _options(parser)
    state = _scan(before + rest, options)
    if state.pending is not None:
        return _with_prefix(_values(state.pending, state, current), current)
    if current.startswith("-") and not state.after_dashdash:
        name, eq, value = current.partition("=")
        if eq:
            action = options.get(name)
            if action is None or not _takes_value(action):
                return Completion([], NO_FILE_COMP)
            return _with_prefix(_values(action, state, value), current, prefix=name + "=")
        return _flags(parser, state, current)
    positionals = [a for a in parser._actions if not a.option_strings]
    if state.positionals < len(positionals):
        return _with_prefix(_values(positionals[state.positionals], state, current), current)
    if positionals and positionals[-1].nargs in ("*", "+", argparse.REMAINDER):
        return _with_prefix(_values(positionals[-1], state, current), current)
    if not current:
        # No argument left to give: offer the flags.
        return _flags(parser, state, current)
    return Completion([], NO_FILE_COMP)


def run_complete(words: list[str], descriptions: bool = True) -> int:
    """Print the answer to ``__complete WORDS`` (always exit 0, as cobra does)."""
    try:
        result = complete(words)
    except Exception as exc:  # a completion must never print a traceback into the user's prompt
        print(f"kubectl-pss: completion failed: {exc}", file=sys.stderr)
        result = Completion([], ERROR)
    sys.stdout.write("\n".join(result.lines(descriptions)) + "\n")
    return 0


def kubectl_complete_entry() -> None:
    """The ``kubectl_complete-pss`` console script: kubectl's plugin completion hook."""
    code = run_complete(sys.argv[1:])
    sys.stdout.flush()
    os._exit(code)
