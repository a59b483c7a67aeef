"""Check a seccomp profile: its schema, its syscall names, rules that make it useless or
dangerous, and what it changes compared with running Unconfined.

The profile is the OCI runtime spec's ``LinuxSeccomp`` as the kubelet passes it on to the
runtime (what ``kubectl pss seccomp profile`` writes), or a Security Profiles Operator
``SeccompProfile`` object, whose ``spec`` is checked.

"Dangerous" means allowing a syscall that the container runtimes' default profiles
(RuntimeDefault) refuse to a container with the default capabilities: containerd's
``contrib/seccomp/seccomp_default.go`` and moby's ``profiles/seccomp/default.json``, at the
versions named in ``data/runtime_default.json`` (see ``scripts/gen-syscall-tables.py``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .lint_report import ERROR, NOTE, WARNING, ArchEffect, Finding, LintReport, errno_label
from .runtime_verdict import runtime_verdict
from .tables import Arch, all_names, arch_by_scmp, arches, libseccomp_version, runtime_default

ACTIONS = ("SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP", "SCMP_ACT_ERRNO",
           "SCMP_ACT_TRACE", "SCMP_ACT_ALLOW", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY")
ALLOWING = ("SCMP_ACT_ALLOW", "SCMP_ACT_LOG")
OPS = ("SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ")
FLAGS = ("SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
         "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV")
TOP_KEYS = ("defaultAction", "defaultErrnoRet", "architectures", "archMap", "flags", "listenerPath",
            "listenerMetadata", "syscalls")
SPO_KEYS = TOP_KEYS + ("baseProfileName", "disabled")
RULE_KEYS = ("names", "name", "action", "errnoRet", "args", "comment", "includes", "excludes")
ARG_KEYS = ("index", "value", "valueTwo", "op")
CONDITION_KEYS = ("caps", "arches", "minKernel")
UINT64_MAX = 2**64 - 1
# Architectures an effect is shown for when the profile lists none (the runtime then uses the node's).
FALLBACK_ARCHES = ("x86_64", "aarch64")

@dataclass
class _Rule:
    index: int
    names: list[tuple[int, str]]  # (position in names, name)
    action: str | None
    errno: int | None
    conditional: bool  # args, or includes/excludes on capabilities
    gated: bool = False  # includes/excludes of any kind (capabilities, architectures, kernel version)
    arch_gated: bool = False  # includes.arches: meant for some architectures only


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class _Linter:
    def __init__(self, kind: str, prefix: str) -> None:
        self.report = LintReport(kind)
        self.prefix = prefix
        self.where: dict[str, str] = {}  # name -> path of its first unconditional rule

    def add(self, severity: str, code: str, path: str, message: str) -> None:
        full = f"{self.prefix}{path}" if path else self.prefix.rstrip(".")
        self.report.findings.append(Finding(severity, code, full, message))

    # -- schema ---------------------------------------------------------------------------

    def lint(self, profile: Any) -> LintReport:
        if not isinstance(profile, dict):
            self.add(ERROR, "schema", "", f"a profile is a JSON object, not {_type_name(profile)}")
            return self.report
        known = SPO_KEYS if self.report.kind == "spo" else TOP_KEYS
        for key in profile:
            if key not in known:
                self.add(WARNING, "schema", str(key), "unknown field, ignored by the runtime")
        default = self._action(profile, "defaultAction", "defaultAction", required=True)
        default_errno = None
        if "defaultErrnoRet" in profile:
            default_errno = profile["defaultErrnoRet"]
            if not _is_int(default_errno) or default_errno < 0:
                self.add(ERROR, "schema", "defaultErrnoRet", "must be a non-negative integer")
                default_errno = None
            elif default not in ("SCMP_ACT_ERRNO", "SCMP_ACT_TRACE"):
                self.add(ERROR, "schema", "defaultErrnoRet", f"only applies to SCMP_ACT_ERRNO or SCMP_ACT_TRACE, not {default}")
        listed = self._architectures(profile)
        self._flags(profile)
        for key in ("listenerPath", "listenerMetadata"):
            if key in profile and not isinstance(profile[key], str):
                self.add(ERROR, "schema", key, "must be a string")
        rules = self._rules(profile)
        self._semantics(default, default_errno, listed, rules)
        rank = {ERROR: 0, WARNING: 1, NOTE: 2}
        self.report.findings.sort(key=lambda f: rank[f.severity])
        return self.report

    def _action(self, obj: dict, key: str, path: str, required: bool) -> str | None:
        if key not in obj:
            if required:
                self.add(ERROR, "schema", path, "is required")
            return None
        value = obj[key]
        if not isinstance(value, str) or value not in ACTIONS:
            self.add(ERROR, "schema", path, f"{_show(value)} is not a seccomp action ({', '.join(ACTIONS)})")
            return None
        return value

    def _architectures(self, profile: dict) -> list[Arch]:
        listed: list[Arch] = []

        def take(value: Any, path: str, in_map: bool = False) -> None:
            if not isinstance(value, str):
                self.add(ERROR, "schema", path, f"must be an architecture name (SCMP_ARCH_...), not {_type_name(value)}")
                return
            arch = arch_by_scmp(value)
            if arch is None:
                self.add(ERROR, "schema", path, f'unknown architecture "{value}" (known: '
                         + ", ".join(a.scmp for a in arches().values()) + ")")
            elif arch not in listed:
                listed.append(arch)
            elif not in_map:  # archMap repeats architectures by design: one entry per native one
                self.add(WARNING, "duplicate", path, f"{value} is listed twice")

        if "architectures" in profile:
            value = profile["architectures"]
            if not isinstance(value, list):
                self.add(ERROR, "schema", "architectures", "must be a list")
            else:
                for i, item in enumerate(value):
                    take(item, f"architectures[{i}]")
        if "archMap" in profile:
            value = profile["archMap"]
            if not isinstance(value, list):
                self.add(ERROR, "schema", "archMap", "must be a list")
            else:
                for i, entry in enumerate(value):
                    path = f"archMap[{i}]"
                    if not isinstance(entry, dict) or "architecture" not in entry:
                        self.add(ERROR, "schema", path, "must be an object with architecture and subArchitectures")
                        continue
                    take(entry["architecture"], f"{path}.architecture", True)
                    subs = entry.get("subArchitectures") or []
                    if not isinstance(subs, list):
                        self.add(ERROR, "schema", f"{path}.subArchitectures", "must be a list")
                        continue
                    for j, sub in enumerate(subs):
                        take(sub, f"{path}.subArchitectures[{j}]", True)
        self.report.architectures = [a.scmp for a in listed]
        return listed

    def _flags(self, profile: dict) -> None:
        if "flags" not in profile:
            return
        flags = profile["flags"]
        if not isinstance(flags, list):
            self.add(ERROR, "schema", "flags", "must be a list")
            return
        for i, flag in enumerate(flags):
            if flag not in FLAGS:
                self.add(ERROR, "schema", f"flags[{i}]", f"{_show(flag)} is not a seccomp filter flag ({', '.join(FLAGS)})")

    def _rules(self, profile: dict) -> list[_Rule]:
        if "syscalls" not in profile:
            return []
        syscalls = profile["syscalls"]
        if syscalls is None:
            return []
        if not isinstance(syscalls, list):
            self.add(ERROR, "schema", "syscalls", "must be a list")
            return []
        rules = []
        for i, entry in enumerate(syscalls):
            rule = self._rule(entry, i)
            if rule is not None:
                rules.append(rule)
        return rules

    def _rule(self, entry: Any, i: int) -> _Rule | None:
        path = f"syscalls[{i}]"
        if not isinstance(entry, dict):
            self.add(ERROR, "schema", path, f"must be an object, not {_type_name(entry)}")
            return None
        for key in entry:
            if key not in RULE_KEYS:
                self.add(WARNING, "schema", f"{path}.{key}", "unknown field, ignored by the runtime")
        names: list[tuple[int, str]] = []
        if "name" in entry and "names" in entry:
            self.add(ERROR, "schema", path, "has both name and names: use names")
        if "names" in entry:
            value = entry["names"]
            if not isinstance(value, list):
                self.add(ERROR, "schema", f"{path}.names", "must be a list of syscall names")
            else:
                if not value:
                    self.add(WARNING, "schema", f"{path}.names", "is empty: the rule does nothing")
                for j, name in enumerate(value):
                    if not isinstance(name, str) or not name:
                        self.add(ERROR, "schema", f"{path}.names[{j}]", f"{_show(name)} is not a syscall name")
                    else:
                        names.append((j, name))
        elif "name" in entry:
            value = entry["name"]
            self.add(WARNING, "schema", f"{path}.name", "is the old single-name form: use names: [...]")
            if not isinstance(value, str) or not value:
                self.add(ERROR, "schema", f"{path}.name", f"{_show(value)} is not a syscall name")
            else:
                names.append((-1, value))
        else:
            self.add(ERROR, "schema", path, "has no names")
        action = self._action(entry, "action", f"{path}.action", required=True)
        errno = None
        if "errnoRet" in entry:
            errno = entry["errnoRet"]
            if not _is_int(errno) or errno < 0:
                self.add(ERROR, "schema", f"{path}.errnoRet", "must be a non-negative integer")
                errno = None
            elif action is not None and action not in ("SCMP_ACT_ERRNO", "SCMP_ACT_TRACE"):
                self.add(ERROR, "schema", f"{path}.errnoRet", f"only applies to SCMP_ACT_ERRNO or SCMP_ACT_TRACE, not {action}")
        has_args = self._args(entry, path)
        capability_condition = gated = arch_gated = False
        for key in ("includes", "excludes"):
            if key not in entry or entry[key] is None:
                continue
            cond = entry[key]
            if not isinstance(cond, dict):
                self.add(ERROR, "schema", f"{path}.{key}", "must be an object (caps, arches, minKernel)")
                continue
            for ckey in cond:
                if ckey not in CONDITION_KEYS:
                    self.add(WARNING, "schema", f"{path}.{key}.{ckey}", "unknown field, ignored by the runtime")
            gated = gated or any(cond.get(k) for k in CONDITION_KEYS)
            capability_condition = capability_condition or bool(cond.get("caps"))
            arch_gated = arch_gated or (key == "includes" and bool(cond.get("arches")))
        return _Rule(i, names, action, errno, has_args or capability_condition, gated, arch_gated)

    def _args(self, entry: dict, path: str) -> bool:
        if "args" not in entry or entry["args"] is None:
            return False
        args = entry["args"]
        if not isinstance(args, list):
            self.add(ERROR, "schema", f"{path}.args", "must be a list")
            return False
        indexes = []
        for k, arg in enumerate(args):
            apath = f"{path}.args[{k}]"
            if not isinstance(arg, dict):
                self.add(ERROR, "schema", apath, f"must be an object (index, value, valueTwo, op), not {_type_name(arg)}")
                continue
            for key in arg:
                if key not in ARG_KEYS:
                    self.add(WARNING, "schema", f"{apath}.{key}", "unknown field, ignored by the runtime")
            index = arg.get("index")
            if not _is_int(index) or not 0 <= index <= 5:
                self.add(ERROR, "schema", f"{apath}.index", f"{_show(index)}: must be an argument index from 0 to 5")
            else:
                indexes.append(index)
            for key in ("value", "valueTwo"):
                if key in arg and (not _is_int(arg[key]) or not 0 <= arg[key] <= UINT64_MAX):
                    self.add(ERROR, "schema", f"{apath}.{key}", f"{_show(arg[key])}: must be an unsigned 64-bit integer")
            if "value" not in arg:
                self.add(ERROR, "schema", f"{apath}.value", "is required")
            op = arg.get("op")
            if op not in OPS:
                self.add(ERROR, "schema", f"{apath}.op", f"{_show(op)} is not a comparison ({', '.join(OPS)})")
        if len(indexes) != len(set(indexes)):
            self.add(WARNING, "duplicate", f"{path}.args", "compares one argument twice (libseccomp ANDs them)")
        return bool(args)

    # -- meaning --------------------------------------------------------------------------

    def _semantics(self, default: str | None, default_errno: int | None,
                   listed: list[Arch], rules: list[_Rule]) -> None:
        targets = listed or [arches()[name] for name in FALLBACK_ARCHES]
        self._names(rules, listed)
        unconditional, conditional = self._effective(rules)
        if default is None:
            return
        self._usefulness(default, rules, unconditional, conditional)
        self._dangerous(default, unconditional, conditional, targets)
        if default not in ALLOWING and unconditional.get("execve") not in ALLOWING and "execve" not in conditional:
            self.add(WARNING, "no-execve", "", "does not allow execve: the runtime loads the profile before it "
                     "executes the container's process, which would then fail to start")
        self._effects(default, default_errno, unconditional, conditional, targets, bool(listed))

    def _names(self, rules: list[_Rule], listed: list[Arch]) -> None:
        known = all_names()
        listed_names = frozenset().union(*(a.names for a in listed)) if listed else known
        seen: dict[str, tuple[str, str | None]] = {}  # name -> (first path, action) of unconditional rules
        for rule in rules:
            in_rule: set[str] = set()
            for j, name in rule.names:
                path = f"syscalls[{rule.index}]." + (f"names[{j}]" if j >= 0 else "name")
                if name not in known:
                    self.add(ERROR, "unknown-syscall", path,
                             f'"{name}" is not a syscall on any architecture (libseccomp {libseccomp_version()})')
                elif name not in listed_names and not rule.arch_gated:
                    others = ", ".join(a.name for a in arches().values() if name in a.names)
                    self.add(WARNING, "unknown-on-arch", path, f'"{name}" is not a syscall on '
                             + ", ".join(a.name for a in listed) + f" (only on {others}): the rule does nothing there")
                if name in in_rule:
                    self.add(WARNING, "duplicate", path, f'"{name}" is listed twice in this rule')
                    continue
                in_rule.add(name)
                if rule.conditional or rule.gated or rule.action is None:
                    continue
                if name in seen:
                    first, action = seen[name]
                    if action != rule.action:
                        self.add(ERROR, "conflict", path, f'"{name}" is {rule.action} here but {action} at {first}'
                                 " (the runtime refuses to load conflicting rules)")
                    else:
                        self.add(WARNING, "duplicate", path, f'"{name}" is already listed at {first}')
                else:
                    seen[name] = (f"{self.prefix}{path}", rule.action)

    def _effective(self, rules: list[_Rule]) -> tuple[dict[str, str], set[str]]:
        """name -> action of its first unconditional rule; names with only conditional rules."""
        unconditional: dict[str, str] = {}
        conditional: set[str] = set()
        for rule in rules:
            if rule.action is None:
                continue
            for j, name in rule.names:
                if rule.conditional:
                    conditional.add(name)
                elif name not in unconditional:
                    unconditional[name] = errno_label(rule.action, rule.errno)
                    self.where[name] = f"syscalls[{rule.index}]." + (f"names[{j}]" if j >= 0 else "name")
        return unconditional, conditional - set(unconditional)

    def _usefulness(self, default: str, rules: list[_Rule], unconditional: dict[str, str], conditional: set[str]) -> None:
        def allows(label: str) -> bool:
            return label in ALLOWING

        if default in ALLOWING:
            if all(rule.action in ALLOWING for rule in rules if rule.action is not None):
                self.add(ERROR, "useless", "defaultAction",
                         f"{default} with only allowing rules allows every syscall: the same as Unconfined"
                         + (" (with logging)" if default == "SCMP_ACT_LOG" else ""))
            elif default == "SCMP_ACT_LOG":
                self.add(WARNING, "useless", "defaultAction", "SCMP_ACT_LOG allows every syscall not listed "
                         "(and logs it): a profile to record with, not to confine")
        elif not any(allows(label) for label in unconditional.values()) and not conditional:
            self.add(ERROR, "useless", "", f"allows no syscall ({default} for all): no container can start with it")

    def _dangerous(self, default: str, unconditional: dict[str, str], conditional: set[str], targets: list[Arch]) -> None:
        defaults = runtime_default()
        # Only real syscalls of the listed architectures: the others were reported already.
        candidates = set().union(*(a.names for a in targets))
        if default in ALLOWING:
            allowed = sorted(n for n in candidates if n not in conditional and unconditional.get(n, default) in ALLOWING)
        else:
            allowed = sorted(n for n, label in unconditional.items() if label in ALLOWING and n in candidates)
        by_severity: dict[str, list[tuple[str, str]]] = {}
        for name in allowed:
            verdict = runtime_verdict(name, defaults.profiles, defaults.default_capabilities)
            if verdict is not None:
                by_severity.setdefault(verdict[0], []).append((name, verdict[1]))
        if default in ALLOWING:  # every syscall not denied: one finding per severity
            for severity, items in by_severity.items():
                names = ", ".join(n for n, _ in items)
                self.add(severity, "dangerous" if severity != NOTE else "runtime-default",
                         "defaultAction", f"{default} allows {len(items)} syscall(s) that RuntimeDefault "
                         f"{'refuses' if severity != NOTE else 'restricts'}: {names}")
            return
        for severity, items in by_severity.items():
            for name, message in items:
                self.add(severity, "dangerous" if severity != NOTE else "runtime-default", self.where.get(name, ""), message)

    def _effects(self, default: str, default_errno: int | None, unconditional: dict[str, str],
                 conditional: set[str], targets: list[Arch], listed: bool) -> None:
        default_label = errno_label(default, default_errno)
        for arch in targets:
            allowed, logged, cond = [], [], []
            changed: dict[str, list[str]] = {}
            for name in sorted(arch.names):
                label = unconditional.get(name)
                if label is None and name in conditional:
                    cond.append(name)
                    continue
                label = label or default_label
                if label == "SCMP_ACT_ALLOW":
                    allowed.append(name)
                elif label == "SCMP_ACT_LOG":
                    logged.append(name)
                else:
                    changed.setdefault(label, []).append(name)
            self.report.effects.append(ArchEffect(arch, allowed, logged, cond, changed))
        if listed:
            self.report.effects_note = ("syscalls of architectures not listed (other than the node's own, which the "
                                        "runtime always adds) kill the process (libseccomp's bad-architecture action)")
        else:
            self.report.effects_note = ("no architectures listed: the runtime applies the profile to the node's own "
                                        "architecture only; shown for " + " and ".join(FALLBACK_ARCHES))


def _type_name(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", int: "a number",
            float: "a number", type(None): "null"}.get(type(value), type(value).__name__)


def _show(value: Any) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if _is_int(value) or isinstance(value, float):
        return repr(value)
    return _type_name(value)


def lint(document: Any) -> LintReport:
    """Lint a profile (a ``LinuxSeccomp`` mapping) or a ``SeccompProfile`` object (its spec)."""
    if isinstance(document, dict) and document.get("kind") == "SeccompProfile":
        linter = _Linter("spo", "spec.")
        spec = document.get("spec")
        if spec is None:
            linter.add(ERROR, "schema", "", "is required")
            return linter.report
        return linter.lint(spec)
    return _Linter("kubelet", "").lint(document)
