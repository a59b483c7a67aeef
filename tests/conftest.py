"""Shared fixtures: ``apiserver`` (a started FakeApiServer with a kubeconfig) and ``make_kubeconfig``."""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator

import pytest

from tests.apiserver import FakeApiServer, KubeContext, write_kubeconfig


@pytest.fixture
def apiserver(tmp_path: Path) -> Iterator[FakeApiServer]:
    """A started HTTPS FakeApiServer; ``apiserver.kubeconfig_path`` is a kubeconfig with one
    context "fake" (bearer token, CA data) as current-context."""
    server = FakeApiServer().start()
    server.kubeconfig_path = write_kubeconfig(tmp_path / "kubeconfig", [server.context("fake")], "fake")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def mixed_cluster(apiserver: FakeApiServer, tmp_path: Path) -> FakeApiServer:
    """``apiserver`` holding tests/scenarios.py's mixed cluster; ``mixed_cluster.admission_config`` is the
    scenarios' AdmissionConfiguration written to a file (the API server's own defaults and exemptions)."""
    from tests.scenarios import ADMISSION_CONFIG, load_mixed_cluster

    load_mixed_cluster(apiserver)
    apiserver.admission_config = tmp_path / "admission.yaml"
    apiserver.admission_config.write_text(ADMISSION_CONFIG)
    return apiserver


@pytest.fixture
def make_kubeconfig(tmp_path: Path) -> Callable[..., Path]:
    """``make_kubeconfig([ctx, ...], current_context=None, name="kubeconfig") -> Path`` in tmp_path.

    Contexts are KubeContext objects (``server.context("name", namespace=...)``)."""
    def make(contexts: list[KubeContext], current_context: str | None = None, name: str = "kubeconfig") -> Path:
        return write_kubeconfig(tmp_path / name, contexts, current_context)

    return make


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, str, str]]:
    """``run_cli(*argv) -> (exit code, stdout, stderr)``: the real CLI (``kubectl_pss.cli.main``) in process.
    Every ``-o json|yaml`` report it prints is checked against its kind's schema (docs/schema/), every
    ``-o policyreport`` report against its CRD (tests/data/crds)."""
    from kubectl_pss.cli import main
    from tests.report.crds import crd_errors, policyreport_output
    from tests.report.schemas import API_VERSION, report_of, schema_errors

    def run(*argv: object) -> tuple[int, str, str]:
        code = main([str(a) for a in argv])
        out, err = capsys.readouterr()
        report = report_of(tuple(map(str, argv)), out)
        if isinstance(report, dict) and report.get("apiVersion") == API_VERSION:
            problems = schema_errors(report)
            assert not problems, f"{report.get('kind')} does not match its schema:\n" + "\n".join(problems[:20])
        for item in policyreport_output(tuple(map(str, argv)), out) or ():  # -o policyreport: the CRDs' schemas
            problems = crd_errors(item)
            assert not problems, f"{item.get('kind')} does not match its CRD:\n" + "\n".join(problems[:20])
        return code, out, err

    return run


class FakeTerminal:
    """A stderr that is a terminal: what is drawn on it (progress lines) is kept in ``written``."""

    def __init__(self) -> None:
        self.written: list[str] = []

    def isatty(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self.written.append(text)
        return len(text)

    def flush(self) -> None:
        pass


@pytest.fixture
def fake_terminal(monkeypatch: pytest.MonkeyPatch) -> Callable[[], FakeTerminal]:
    """Call it in the test to make sys.stderr a FakeTerminal until the test ends (TERM is the test's to set).
    Installed by the call, not the fixture: pytest sets its own capture back on sys.stderr after setup."""
    def install() -> FakeTerminal:
        terminal = FakeTerminal()
        monkeypatch.setattr("sys.stderr", terminal)
        return terminal

    return install
