"""Fixtures for the training, pipeline and verb tests: tiny models, small tables, a CLI runner.

The model directories are written directly (random weights of the ``tiny`` size), which takes a
fraction of a second; the pretraining tests exercise ``chemtl pretrain`` itself.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from pathlib import Path

import pytest

CATIONS = ["Li", "Na", "K", "Mg", "Ca", "Sr", "Ba", "Ti", "Fe", "Co", "Ni", "Cu", "Zn", "Al", "Ga"]
ANIONS = ["O", "S", "Se", "F", "Cl", "N"]

# The verb runner: `chemtl` from a file (not `python -c`), because a DDP launch re-runs the script
# it was started as.
RUNNER = """\
import os, sys, time
from chemtl.cli import main as m
delay = float(os.environ.get("CHEMTL_TEST_STEP_DELAY", "0"))
if delay:  # slow each step down so that a test can kill the run in the middle
    from chemtl.training.module import TaskModule
    _start = TaskModule.on_train_batch_start
    def _slow(self, batch, batch_idx):
        time.sleep(delay)
        return _start(self, batch, batch_idx)
    TaskModule.on_train_batch_start = _slow
sys.exit(m.main())
"""


def formulas(n: int) -> list[str]:
    """``n`` distinct binary formulas, in a fixed order."""
    out = []
    for (a, x), (i, j) in itertools.product(itertools.product(CATIONS, ANIONS), [(1, 1), (2, 3), (1, 2)]):
        out.append(f"{a}{'' if i == 1 else i}{x}{'' if j == 1 else j}")
        if len(out) == n:
            return out
    raise ValueError(n)


def gap_value(k: int, formula: str) -> float:
    return round(0.5 + (k * 37 % 23) / 7.0 + 0.1 * len(formula), 4)


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("data")
    rows = formulas(60)
    gaps = [gap_value(k, f) for k, f in enumerate(rows)]
    (d / "gap.csv").write_text("formula,gap\n" + "".join(f"{f},{g}\n" for f, g in zip(rows, gaps)))
    median = sorted(gaps)[len(gaps) // 2]
    (d / "metal.csv").write_text(
        "formula,is_metal\n" + "".join(f"{f},{int(g > median)}\n" for f, g in zip(rows, gaps))
    )
    others = formulas(90)[60:]
    (d / "e_form.csv").write_text(
        "formula,e_form\n" + "".join(f"{f},{-0.1 * (k % 13):.2f}\n" for k, f in enumerate(others))
    )
    (d / "corpus.txt").write_text("".join(f"{f}\n" for f in formulas(120)))
    smiles = [("C" * n) + tail for n in range(1, 11) for tail in ("", "O", "N", "Cl", "C(=O)O", "c1ccccc1")]
    (d / "smiles.txt").write_text("".join(f"{s}\n" for s in smiles))
    return d


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    """A random-weight tiny composition encoder saved as a chemtl model directory."""
    import torch

    from chemtl.models import ChemtlConfig, ChemtlForMaskedLM
    from chemtl.pipelines.modeldir import make_meta, save_model_dir
    from chemtl.tokenizers import get_tokenizer

    d = tmp_path_factory.mktemp("tiny-comp")
    torch.manual_seed(0)
    model = ChemtlForMaskedLM(ChemtlConfig.from_size("tiny", "composition"))
    save_model_dir(
        d, model.save_pretrained, get_tokenizer("composition"), make_meta(kind="composition", task=None)
    )
    return d


@pytest.fixture(scope="session")
def runner(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("runner") / "run_chemtl.py"
    path.write_text(RUNNER)
    return path


@pytest.fixture(scope="session")
def run_cli(runner):
    """``run_cli(*args, env=None)``: `chemtl ARGS` in a subprocess -> CompletedProcess."""

    def run(*args, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, str(runner), *map(str, args)],
            capture_output=True,
            text=True,
            env={**os.environ, **(env or {})},
            timeout=timeout,
            check=False,
        )

    return run


@pytest.fixture(scope="session")
def kill_at_checkpoint(runner):
    """``kill_at_checkpoint(args, ckpt, what="no checkpoint appeared")``: `chemtl ARGS` slowed to
    0.25 s a step in a subprocess, SIGKILLed a couple of steps after ``ckpt`` first appears (so the
    kill lands between checkpoints); fails with ``what`` if no checkpoint comes within 240 s."""
    import signal
    import time

    def kill(args, ckpt: Path, what: str = "no checkpoint appeared") -> None:
        proc = subprocess.Popen(
            [sys.executable, str(runner), *map(str, args)],
            env={**os.environ, "CHEMTL_TEST_STEP_DELAY": "0.25"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            deadline = time.monotonic() + 240
            while not ckpt.exists():
                assert proc.poll() is None, proc.stderr.read().decode()
                assert time.monotonic() < deadline, what
                time.sleep(0.05)
            time.sleep(0.6)  # a couple more steps: the kill lands between checkpoints
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        assert proc.returncode == -signal.SIGKILL

    return kill


@pytest.fixture(scope="session")
def cli_main():
    """``cli_main(*args)``: `chemtl ARGS` in this process -> exit status."""
    from chemtl.cli import main as m

    def run(*args) -> int:
        return m.main([str(a) for a in args])

    return run
