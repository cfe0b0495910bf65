"""`import chemtl` registers with transformers' Auto classes in any import order, lazily."""

from __future__ import annotations

import subprocess
import sys

import pytest

SAVE = """
import chemtl
from chemtl.models import ChemtlConfig, ChemtlModel
from chemtl.tokenizers import get_tokenizer
model = ChemtlModel(ChemtlConfig.from_size("tiny", "composition"))
model.save_pretrained({d!r})
get_tokenizer("composition").save_pretrained({d!r})
"""

LOAD = {
    "chemtl_first": "import chemtl\nfrom transformers import AutoModel, AutoTokenizer\n",
    "transformers_first": "from transformers import AutoModel, AutoTokenizer\nimport chemtl\n",
}


def _python(code: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-W", "error::RuntimeWarning", "-c", code], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.split()


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    directory = str(tmp_path_factory.mktemp("hook") / "model")
    _python(SAVE.format(d=directory))
    return directory


@pytest.mark.parametrize("order", sorted(LOAD))
def test_auto_classes_load_chemtl_dirs(saved, order):
    code = LOAD[order] + (
        f"m = AutoModel.from_pretrained({saved!r}); t = AutoTokenizer.from_pretrained({saved!r})\n"
        "print(type(m).__name__, type(t).__name__, *t('Fe2O3')['input_ids'])"
    )
    assert _python(code) == ["ChemtlModel", "CompositionTokenizerFast", "2", "30", "12", "3"]


def test_plain_import_transformers_stays_lazy():
    code = "import sys, chemtl, transformers\nprint('torch' in sys.modules, 'transformers.models.auto.modeling_auto' in sys.modules)"
    assert _python(code) == ["False", "False"]
