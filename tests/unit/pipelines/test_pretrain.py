"""The ``descriptors`` objective's standardisation: fitted on the head rows, reused on resume."""

from __future__ import annotations

import json

import numpy as np
import pytest

from chemtl.data.features import (
    PRETRAIN_DESCRIPTORS,
    DescriptorTargets,
    FeatureScaling,
    rdkit_descriptor_matrix,
)
from chemtl.errors import ChemtlError
from chemtl.pipelines.pretrain import DESCRIPTOR_TARGETS_FILE, descriptor_targets

HEAD = ["CCO", "c1ccccc1", "CC(=O)Oc1ccccc1C(=O)O"]


def test_fitted_on_the_head_rows_and_read_back_on_resume(tmp_path):
    fitted = descriptor_targets(tmp_path, HEAD, "smiles", resume=False)
    raw = rdkit_descriptor_matrix(HEAD, PRETRAIN_DESCRIPTORS)
    assert fitted.names == PRETRAIN_DESCRIPTORS and fitted.fit_rows == 3
    column = PRETRAIN_DESCRIPTORS.index("MolWt")
    assert fitted.scaling.mean[column] == np.mean(raw[:, column]) and fitted.scaling.std[column] == np.std(
        raw[:, column]
    )
    # SELFIES rows are read through SMILES; an unreadable one counts as missing
    selfies = descriptor_targets(
        tmp_path, ["[C][C][O]", "[C][=C][C][=C][C][=C][Ring1][=Branch1]", "[Xx]"], "selfies", resume=False
    )
    assert np.array_equal(
        selfies.scaling.mean, descriptor_targets(tmp_path, HEAD[:2], "smiles", resume=False).scaling.mean
    )
    # a resumed run reads the saved statistics back, whatever rows it is given
    saved = DescriptorTargets(fitted.names, FeatureScaling(fitted.scaling.mean + 1.0, fitted.scaling.std), 3)
    saved.save(tmp_path / DESCRIPTOR_TARGETS_FILE)
    resumed = descriptor_targets(tmp_path, ["C"], "smiles", resume=True)
    assert np.array_equal(resumed.scaling.mean, fitted.scaling.mean + 1.0)
    assert np.array_equal(
        descriptor_targets(tmp_path, HEAD, "smiles", resume=False).scaling.mean, fitted.scaling.mean
    )
    # a file of another descriptor set cannot resume
    data = json.loads((tmp_path / DESCRIPTOR_TARGETS_FILE).read_text())
    data.update(names=["MolWt"], mean=[1.0], std=[1.0])
    (tmp_path / DESCRIPTOR_TARGETS_FILE).write_text(json.dumps(data))
    with pytest.raises(ChemtlError) as info:
        descriptor_targets(tmp_path, HEAD, "smiles", resume=True)
    assert str(info.value) == (
        f"{str(tmp_path / DESCRIPTOR_TARGETS_FILE)!r} holds 1 descriptors, not this chemtl's 178 of "
        "PRETRAIN_DESCRIPTORS: the run cannot resume"
    )
