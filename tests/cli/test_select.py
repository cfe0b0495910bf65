"""`chemtl select` end to end with a shipped model: columns kept, K distinct compounds, errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from chemtl.cli.main import main
from chemtl.data.keys import compound_keys

FORMULAS = [
    f"{a}{b}" for a in ("Li", "Na", "K", "Mg", "Ca", "Sr", "Ba", "Zn") for b in ("O", "S", "Se", "F", "Cl")
]  # 40 compounds


@pytest.fixture(scope="module")
def pool(tmp_path_factory):
    path = tmp_path_factory.mktemp("select") / "pool.csv"
    rows = ["id,name,formula,note"] + [f"{i},c{i},{f},n{i % 3}" for i, f in enumerate(FORMULAS)]
    rows.append("40,dup,Li2O2,again")  # the first compound (LiO) spelled again: counted once
    path.write_text("\n".join(rows) + "\n")
    return path


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_kmeans_selection_keeps_every_column_and_picks_k_distinct_compounds(pool, tmp_path, capsys):
    out = tmp_path / "chosen.csv"
    code, stdout, err = run(
        capsys, "select", "--model", "composition-small", "--data", pool, "--n", 6, "--out", out
    )
    assert code == 0, err
    assert stdout == f"selected 6 of 40 compounds (kmeans, seed 0) -> {out}\n"
    assert err == "note: 1 row(s) repeat a compound of an earlier row; one row per compound was a candidate\n"
    table = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert list(table.columns) == ["formula", "id", "name", "note", "selection_rank", "cluster"]
    assert table["selection_rank"].tolist() == ["1", "2", "3", "4", "5", "6"]
    assert table["cluster"].tolist() == ["0", "1", "2", "3", "4", "5"]
    assert len(set(compound_keys(table["formula"].tolist(), "composition"))) == 6
    # each row is as in the pool
    source = pd.read_csv(pool, dtype=str, keep_default_na=False).set_index("id")
    for _, row in table.iterrows():
        assert source.loc[row["id"], "formula"] == row["formula"]
        assert source.loc[row["id"], "note"] == row["note"]
    # exactly what k-means on the model's embeddings of the 40 candidates picks
    from chemtl.pipelines.predict import embed
    from chemtl.transfer.fewshot.support import kmeans_select

    picked = kmeans_select(embed("composition-small", FORMULAS), 6, seed=0)
    assert table["formula"].tolist() == [FORMULAS[i] for i in picked]


def test_random_selection(pool, tmp_path, capsys):
    out = tmp_path / "random.csv"
    code, stdout, _ = run(
        capsys,
        "select",
        "--model",
        "composition-small",
        "--data",
        pool,
        "--n",
        4,
        "--method",
        "random",
        "--seed",
        3,
        "--out",
        out,
    )
    assert code == 0
    table = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert list(table.columns) == ["formula", "id", "name", "note", "selection_rank"]
    picked = np.random.default_rng(3).choice(40, size=4, replace=False)
    assert table["formula"].tolist() == [FORMULAS[i] for i in picked]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("--n", "41"),
            "error: cannot select 41 compounds from {pool}: it holds 40 distinct compounds (41 rows)\n",
        ),
        (("--n", "0"), "error: --n must be an integer >= 1, got 0\n"),
    ],
)
def test_errors_are_one_line_and_write_nothing(pool, tmp_path, capsys, args, message):
    out = tmp_path / "none.csv"
    code, _, err = run(capsys, "select", "--model", "composition-small", "--data", pool, *args, "--out", out)
    assert code == 2
    assert err == message.format(pool=pool)
    assert not out.exists()


def test_a_smiles_pool_is_refused_by_a_composition_model(tmp_path, capsys):
    f = tmp_path / "mols.csv"
    f.write_text("smiles\nCCO\nCCN\nCCC\n")
    code, _, err = run(
        capsys, "select", "--model", "composition-small", "--data", f, "--n", 2, "--out", tmp_path / "o.csv"
    )
    assert code == 2
    assert err == (
        f"error: {f} holds smiles inputs but the model reads composition inputs "
        "(pass --kind composition if the column really holds composition strings)\n"
    )
