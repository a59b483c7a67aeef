"""The real PyInstaller binary: built by scripts/build-binary.py exactly as for a release (a clean
venv, the project installed non-editable, PyInstaller pinned), installed the way krew installs it
(manifest from scripts/krew-manifest.py), then run from another directory and through kubectl.

The build takes ~45 s on 2 cores (most of it PyInstaller). Environment:
- KUBECTL_PSS_BINARY_ARCHIVE=path/to/kubectl-pss_<v>_<os>_<arch>.tar.gz: test that archive instead
  of building one (a CI matrix job testing what it just built).
- KUBECTL_PSS_SKIP_BINARY=1: skip these tests.
Opt-in: marked ``binary``, which the default run deselects; ``pytest -m binary`` runs them (.ci/run does).
"""
from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

import release_lib

from tests.packaging.conftest import ROOT, load_script
from tests.packaging.krew_rules import install_platform, validate_manifest

pytestmark = [
    pytest.mark.binary,
    pytest.mark.timeout(1200),  # the first test's setup builds the binary (build-binary.py may take up to 900 s)
    pytest.mark.skipif(os.environ.get("KUBECTL_PSS_SKIP_BINARY") == "1", reason="KUBECTL_PSS_SKIP_BINARY=1"),
]


@dataclass
class Installed:
    archive: Path
    manifest: Path
    link: Path  # KREW_ROOT/bin/kubectl-pss, a relative symlink into the store, as krew makes it
    bin_dir: Path
    build_seconds: float | None


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    work = tmp_path_factory.mktemp("binary")
    os_name, arch = release_lib.host_platform()
    version = release_lib.project_version()
    given = os.environ.get("KUBECTL_PSS_BINARY_ARCHIVE")
    seconds = None
    if given:
        archive = Path(given).resolve()
        dist = archive.parent
    else:
        dist = work / "dist"
        started = time.monotonic()
        proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "build-binary.py"), "--dist-dir", str(dist),
                               "--build-dir", str(work / "build")], capture_output=True, text=True, timeout=900)
        seconds = time.monotonic() - started
        if proc.returncode != 0:
            pytest.fail(f"build-binary.py failed ({seconds:.0f} s):\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}")
        archive = dist / release_lib.archive_name(version, os_name, arch)
        print(f"\nbuild-binary.py: {seconds:.1f} s, {archive.stat().st_size / 1e6:.1f} MB", file=sys.stderr)
    manifest = work / "krew" / "pss.yaml"
    code = load_script("krew-manifest").main(["--only-built", "--dist-dir", str(dist), "--output", str(manifest),
                                               "--version", version])
    assert code == 0
    [platform] = [p for p in yaml.safe_load(manifest.read_text())["spec"]["platforms"]
                  if p["selector"]["matchLabels"] == {"os": os_name, "arch": arch}]
    link = install_platform(platform, archive, work / "krew-root", "pss", f"v{version}")
    return Installed(archive, manifest, link, link.parent, seconds)


def run(cmd: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("KUBECTL_PSS_", "LD_LIBRARY_PATH"))}
    environ.update(env)
    return subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, env=environ, timeout=120)


def test_archive_and_manifest_are_krew_valid(installed):
    assert validate_manifest(installed.manifest) == []
    info = release_lib.inspect_archive(installed.archive)
    assert info.problems == []  # no symlinks, nothing krew's extractor refuses
    for name in ("kubectl-pss", "LICENSE", "README.md", "kubectl_complete-pss", "_internal"):
        assert name in info.top_level()
    assert any(n.startswith("_internal/certifi/") and n.endswith(".pem") for n in info.files)  # the CA bundle


def test_package_data_is_bundled(installed):
    """Every data file under kubectl_pss/ (e.g. seccomp/data/*.json) is in the bundle."""
    info = release_lib.inspect_archive(installed.archive)
    package = ROOT / "kubectl_pss"
    data = [p.relative_to(ROOT).as_posix() for p in package.rglob("*")
            if p.is_file() and p.suffix in (".json", ".yaml", ".yml", ".txt") and "__pycache__" not in p.parts]
    missing = [name for name in data if f"_internal/{name}" not in info.files]
    assert not missing


def test_every_command_is_bundled(installed, tmp_path):
    """cli.py imports kubectl_pss.commands.<name> by name: each must be in the binary."""
    from kubectl_pss import cli

    for command in cli.COMMANDS:
        proc = run([str(installed.link), command, "--help"], cwd=tmp_path)
        assert proc.returncode == 0, f"{command}: {proc.stderr}"
        assert f"kubectl pss {command}" in proc.stdout


def test_version_from_another_directory(installed, tmp_path):
    proc = run([str(installed.link), "--version"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"kubectl-pss v{release_lib.project_version()} ")
    proc = run([str(installed.link), "version", "-o", "json"], cwd=tmp_path)
    assert json.loads(proc.stdout)["version"] == f"v{release_lib.project_version()}"


def test_check_examples(installed, tmp_path):
    proc = run([str(installed.link), "check", "-f", str(ROOT / "examples")], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert re.search(r"^\d+ object\(s\) checked at version latest \(evaluated as v1\.\d+\)", proc.stdout, re.M)
    proc = run([str(installed.link), "check", "-f", str(ROOT / "examples"), "-o", "yaml"], cwd=tmp_path)
    assert yaml.safe_load(proc.stdout)["results"]  # PyYAML inside the binary


def test_fix_round_trips_inside_the_binary(installed, tmp_path):
    """fix edits with ruamel.yaml (imported lazily): the binary must carry it."""
    example = ROOT / "examples" / "fix" / "web.yaml"
    proc = run([str(installed.link), "fix", "-f", str(example), "--level", "restricted"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("# The shop's web tier") and "allowPrivilegeEscalation: false" in proc.stdout


def test_help_starts_fast(installed, tmp_path):
    times = []
    for _ in range(7):
        start = time.perf_counter()
        proc = run([str(installed.link), "--help"], cwd=tmp_path)
        times.append(time.perf_counter() - start)
        assert proc.returncode == 0
    median = statistics.median(times)
    print(f"\n--help median {median * 1000:.0f} ms", file=sys.stderr)
    assert median < 0.2


def test_kubectl_finds_the_plugin(installed, kubectl, tmp_path):
    path = os.pathsep.join([str(installed.bin_dir), str(Path(kubectl).parent), "/usr/bin", "/bin"])
    kubeconfig = str(tmp_path / "no-kubeconfig")
    proc = run([kubectl, "pss", "version"], cwd=tmp_path, PATH=path, KUBECONFIG=kubeconfig)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"kubectl-pss v{release_lib.project_version()} ")
    proc = run([kubectl, "plugin", "list"], cwd=tmp_path, PATH=path, KUBECONFIG=kubeconfig)
    assert str(installed.link) in proc.stdout.splitlines(), proc.stdout + proc.stderr


def test_kubectl_completes_through_the_helper(installed, kubectl, tmp_path):
    """The README's step: link kubectl_complete-pss next to krew's kubectl-pss link."""
    helper = installed.link.resolve().parent / "kubectl_complete-pss"
    link = installed.bin_dir / "kubectl_complete-pss"
    if not link.exists():
        os.symlink(os.path.relpath(helper, installed.bin_dir), link)
    path = os.pathsep.join([str(installed.bin_dir), str(Path(kubectl).parent), "/usr/bin", "/bin"])
    proc = run([kubectl, "__complete", "pss", "sim"], cwd=tmp_path, PATH=path,
               KUBECONFIG=str(tmp_path / "no-kubeconfig"))
    assert proc.returncode == 0, proc.stderr
    assert [line.split("\t")[0] for line in proc.stdout.splitlines()] == ["simulate", ":4"]
    proc = run([kubectl, "__completeNoDesc", "pss", "audit", "--fail-on", ""], cwd=tmp_path, PATH=path,
               KUBECONFIG=str(tmp_path / "no-kubeconfig"))
    assert proc.stdout.splitlines() == ["enforce", "audit", "warn", "baseline", "restricted", ":36"]


EXEC_PLUGIN = """#!/bin/sh
echo "LD_LIBRARY_PATH=${{LD_LIBRARY_PATH-<unset>}}" >> {log}
printf '{{"apiVersion": "client.authentication.k8s.io/v1beta1", "kind": "ExecCredential", "status": {{"token": "{token}"}}}}\\n'
"""


@pytest.mark.parametrize("user_value", [None, "/usr/local/lib"])
def test_audit_with_an_exec_credential_plugin(installed, tmp_path, user_value):
    """audit -A against the test API server, authenticating through an exec plugin that records the
    LD_LIBRARY_PATH it was given: the user's, never the bundle's."""
    apiserver = pytest.importorskip("tests.apiserver")
    if not hasattr(apiserver, "FakeApiServer"):
        pytest.skip("tests.apiserver has no FakeApiServer")
    log = tmp_path / "exec.log"
    with apiserver.FakeApiServer() as server:
        server.add_namespace("shop", labels={"pod-security.kubernetes.io/enforce": "baseline"})
        server.add_pod("shop", "web")
        plugin = tmp_path / "credential-plugin"
        plugin.write_text(EXEC_PLUGIN.format(log=log, token=server.token))
        plugin.chmod(0o755)
        context = apiserver.KubeContext(
            name="fake", server=server.url, ca_pem=server.ca_pem,
            exec={"apiVersion": "client.authentication.k8s.io/v1beta1", "command": str(plugin),
                  "interactiveMode": "Never"})
        kubeconfig = apiserver.write_kubeconfig(tmp_path / "kubeconfig", [context], "fake")
        env = {} if user_value is None else {"LD_LIBRARY_PATH": user_value}
        proc = run([str(installed.link), "audit", "-A", "--kubeconfig", str(kubeconfig), "-o", "json"],
                   cwd=tmp_path, **env)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert [ns["name"] for ns in report["namespaces"]] == ["shop"]
    assert log.read_text().splitlines()[0] == f"LD_LIBRARY_PATH={user_value or '<unset>'}"
