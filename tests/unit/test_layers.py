"""The import graph runs one way: low layers never import the layers built on them.

Every ``import`` in a module counts, the ones inside functions too (read from the source's AST).
"""

from __future__ import annotations

import ast
from pathlib import Path

import chemtl

SRC = Path(chemtl.__file__).parent


def imported(path: Path) -> set[str]:
    """The modules ``path`` imports (``from a.b import c`` -> ``a.b``, ``a.b.c``)."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            out.add(node.module)
            out |= {f"{node.module}.{alias.name}" for alias in node.names}
    return out


def offenders(package: str, forbidden: tuple[str, ...]) -> list[str]:
    return sorted(
        f"{path.relative_to(SRC).as_posix()} imports {name}"
        for path in (SRC / package).rglob("*.py")
        for name in imported(path)
        if name.startswith(forbidden)
    )


def test_training_does_not_import_the_verbs():
    assert offenders("training", ("chemtl.pipelines", "chemtl.cli", "chemtl.evaluate")) == []


def test_transfer_methods_do_not_import_the_verbs():
    assert offenders("transfer", ("chemtl.pipelines", "chemtl.cli")) == []


def test_data_does_not_import_models():
    assert offenders("data", ("chemtl.models", "chemtl.pipelines", "chemtl.training")) == []


def test_shipped_names_sit_below_loading_and_packaging():
    assert not {n for n in imported(SRC / "shipped.py") if n.startswith("chemtl")}
    modeldir = imported(SRC / "pipelines" / "modeldir.py")
    assert "chemtl.pretrained" not in modeldir and "chemtl.packaging" not in modeldir
    assert "chemtl.shipped" in modeldir
    packaging = imported(SRC / "packaging.py")
    assert not packaging & {"chemtl.pretrained", "chemtl.pipelines.modeldir"}


def test_the_moved_names_are_imported_from_their_new_homes():
    engine = imported(SRC / "training" / "engine.py")
    assert "chemtl.training.distributed.global_rank_from_env" in engine
    masking = imported(SRC / "data" / "masking.py")
    assert "chemtl.chem.composition.ELEMENT_SYMBOLS" in masking
