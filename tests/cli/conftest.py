"""Fixtures of the command-line tests."""

from __future__ import annotations

import pytest

from chemtl.cli import main as cli_main


@pytest.fixture
def chemtl(capsys):
    """`chemtl ARGS` in this process -> (status, out, err)."""

    def run(*argv) -> tuple[int, str, str]:
        code = cli_main.main([str(a) for a in argv])
        out, err = capsys.readouterr()
        return code, out, err

    return run
