"""The house's dependency rules, read from the code's own imports (README "Layout")."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "kubectl_pss"
MAX_LINES = 500
DOMAIN = ("policy", "analysis", "auditlog", "confinement", "seccomp", "fix")


def modules() -> dict[str, Path]:
    """Every module by dotted name relative to the package ("commands.audit", "cli", ...)."""
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def imports(name: str, path: Path) -> set[str]:
    """The package's modules ``name`` imports (at the top or inside functions), dotted as in ``modules``."""
    is_package = path.name == "__init__.py"
    here = name.split(".") if name else []
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = here if is_package else here[:-1]
                base = base[:len(base) - (node.level - 1)]
                target = base + (node.module.split(".") if node.module else [])
            elif node.module and node.module.split(".")[0] == "kubectl_pss":
                target = node.module.split(".")[1:]
            else:
                continue
            found.add(".".join(target))
            found.update(".".join(target + [alias.name]) for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(".".join(a.name.split(".")[1:]) for a in node.names if a.name.startswith("kubectl_pss."))
    known = modules()
    return {m for m in found if m in known and m != name}


def top(module: str) -> str:
    return module.split(".")[0]


def command_of(module: str) -> str | None:
    """The command a module belongs to ("commands.seccomp.lint" -> "seccomp"); None for commands.flags."""
    parts = module.split(".")
    if parts[0] != "commands" or len(parts) < 2 or parts[1] == "flags":
        return None
    return parts[1]


ALL = modules()
EDGES = {name: imports(name, path) for name, path in ALL.items()}


def test_the_import_reader_sees_imports_of_every_kind():
    assert "commands.flags" in EDGES["commands.audit"]  # from .flags import ...
    assert "operations.cluster_state" in EDGES["commands.audit"]  # from ..operations.cluster_state import ...
    assert "commands.seccomp.install" in EDGES["commands.seccomp"]  # from . import install
    assert "cluster.client" in EDGES["operations.connection"]  # inside a function


def test_no_command_imports_another_command():
    wrong = [(m, i) for m, deps in EDGES.items() for i in deps
             if command_of(m) and command_of(i) and command_of(i) != command_of(m)]
    assert wrong == []


@pytest.mark.parametrize("layer, forbidden", [
    ("operations", ("commands", "cli", "completion")),
    ("cluster", ("commands", "operations", "report", "cli", "completion") + DOMAIN),
    ("analysis", ("commands", "operations", "cluster", "report", "confinement", "seccomp", "auditlog", "cli")),
    ("auditlog", ("commands", "operations", "cluster", "report", "confinement", "seccomp", "cli")),
    ("confinement", ("commands", "operations", "cluster", "report", "analysis", "cli")),
    ("seccomp", ("commands", "operations", "cluster", "report", "analysis", "confinement", "policy", "cli")),
    ("report", ("commands", "operations", "cluster", "cli")),
    ("fix", ("commands", "operations", "cluster", "report", "analysis", "confinement", "seccomp", "auditlog", "cli")),
])
def test_layer_imports_nothing_forbidden(layer, forbidden):
    wrong = sorted((m, i) for m, deps in EDGES.items() if top(m) == layer for i in deps
                   if i in forbidden or top(i) in forbidden)
    assert wrong == []


def test_policy_imports_only_policy():
    wrong = sorted((m, i) for m, deps in EDGES.items() if top(m) == "policy" for i in deps if top(i) != "policy")
    assert wrong == []


def test_no_module_is_over_the_line_limit():
    long = {name: n for name, path in ALL.items() if (n := len(path.read_text().splitlines())) > MAX_LINES}
    assert long == {}


def test_label_does_not_reach_into_the_debug_pod_module_for_its_signal_handling():
    for module in ("commands.label", "operations.labels"):
        assert "cluster.debugpod" not in EDGES[module]
        assert "cluster.signals" in EDGES[module]
