from __future__ import annotations

import numpy as np
import pytest
import torch

from chemtl.errors import ChemtlError
from chemtl.models import ChemtlConfig, ChemtlModel
from chemtl.models.element_tables import ELEMENT_SYMBOLS, element_init_matrix, load_element_table


def test_mat2vec_table_first_row_is_hydrogen():
    table = load_element_table("mat2vec")
    assert table.values.shape == (118, 200)
    assert table.symbols[:3] == ("H", "He", "Li")
    np.testing.assert_allclose(
        table.values[0, :4],
        [0.05714642256498337, -0.22556456923484802, 0.17279915511608124, 0.18337109684944153],
    )
    assert table.symbols == ELEMENT_SYMBOLS


def test_init_matrix_keeps_the_geometry_between_elements():
    # dim >= rank of the 118 centred rows: an exact rotation, scaled
    matrix, present = element_init_matrix("mat2vec", 128, scale=0.02)
    assert present.all() and matrix.shape == (118, 128)
    raw = load_element_table("mat2vec").values
    centred = raw - raw.mean(axis=0)
    gram, expected = matrix @ matrix.T, centred @ centred.T
    np.testing.assert_allclose(gram / gram[0, 0], expected / expected[0, 0], atol=1e-9)
    assert np.sqrt((matrix**2).mean()) == pytest.approx(0.02)


def test_model_element_rows_come_from_mat2vec():
    config = ChemtlConfig.from_size("tiny", "composition", element_init="mat2vec")
    model = ChemtlModel(config)
    weight = model.embeddings.word_embeddings.weight.detach().double()
    matrix, _ = element_init_matrix("mat2vec", 32, scale=config.initializer_range)
    torch.testing.assert_close(weight[5], torch.from_numpy(matrix[0].copy()), atol=1e-7, rtol=0)  # H
    torch.testing.assert_close(weight[5:123], torch.from_numpy(matrix.copy()), atol=1e-7, rtol=0)
    assert torch.equal(weight[0], torch.zeros(32))  # [PAD]
    random = ChemtlModel(ChemtlConfig.from_size("tiny", "composition")).embeddings.word_embeddings.weight
    assert not torch.allclose(random[5:123].double(), weight[5:123])


def test_tables_with_missing_elements_keep_random_rows():
    matrix, present = element_init_matrix("magpie", 32)
    assert present.sum() == 97 and not present[ELEMENT_SYMBOLS.index("Og")]
    assert np.all(matrix[~present] == 0)
    model = ChemtlModel(ChemtlConfig.from_size("tiny", "composition", element_init="magpie"))
    og = model.embeddings.word_embeddings.weight[4 + 118]
    assert og.abs().sum() > 0  # random init kept


def test_unknown_table():
    with pytest.raises(ChemtlError, match="'nope'"):
        load_element_table("nope")
