"""Opening a pretraining corpus: a SMILES corpus read as SELFIES for --kind selfies."""

from __future__ import annotations

import itertools

import pytest

from chemtl.chem.selfies import selfies_to_smiles, smiles_to_selfies
from chemtl.data import iter_moses
from chemtl.errors import DataError
from chemtl.pipelines.corpus import Corpus, as_selfies, open_corpus


def test_moses_as_selfies_encodes_each_row_as_it_streams():
    smiles = list(itertools.islice(iter_moses("train"), 5))
    corpus = open_corpus("moses", kind="selfies", limit=5)
    assert (corpus.name, corpus.kind, corpus.n_rows) == ("moses", "selfies", 5)
    assert corpus.info["converted"] == "smiles_to_selfies"
    rows = corpus.head(5)
    assert rows == [smiles_to_selfies(s) for s in smiles]
    # each decodes back to the molecule it came from
    assert [selfies_to_smiles(r, canonical=True) for r in rows] == [
        selfies_to_smiles(smiles_to_selfies(s), canonical=True) for s in smiles
    ]


def test_a_row_selfies_cannot_encode_is_dropped():
    corpus = Corpus("x", "smiles", 3, lambda: iter(["CCO", "C*C", "c1ccccc1"]))
    assert as_selfies(corpus).head(3) == ["[C][C][O]", "[C][=C][C][=C][C][=C][Ring1][=Branch1]"]


def test_a_composition_corpus_is_not_read_as_selfies():
    with pytest.raises(DataError, match=r"^corpus 'inorganic_corpus' holds composition inputs, not selfies$"):
        open_corpus("inorganic_corpus", kind="selfies")
