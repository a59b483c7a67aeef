"""``run_cli``: the real CLI in-process, its exit code and captured output (until tests/ has one shared fixture)."""
from __future__ import annotations

from typing import Callable

import pytest

from kubectl_pss.cli import main


@pytest.fixture
def run_cli(capsys) -> Callable[..., tuple[int, str, str]]:
    def run(*argv: str) -> tuple[int, str, str]:
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return run
