"""`domain_gap_report` and `chemtl domain-gap` on tiny data with a tiny random encoder: the
report's numbers are the library's on the model's embeddings, the files are complete, the bad
inputs are one-line errors."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from chemtl.evaluate.domain_gap import domain_gap
from chemtl.pipelines.domain_gap import DomainGapReportError, domain_gap_report
from chemtl.pipelines.predict import embed

from .conftest import formulas


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def report(tiny_model, data_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("gap") / "report"
    return out, domain_gap_report(
        tiny_model, data_dir / "gap.csv", data_dir / "e_form.csv", out, seed=0, n_permutations=20
    )


def test_report_holds_the_library_numbers_on_the_model_embeddings(report, tiny_model, data_dir):
    out, result = report
    assert sorted(p.name for p in out.iterdir()) == ["domain_gap.json", "domains.png"]
    assert json.loads((out / "domain_gap.json").read_text()) == result
    source, target = formulas(60), formulas(90)[60:]
    emb = embed(tiny_model, source + target)
    expected = domain_gap(emb[:60], emb[60:], seed=0, n_permutations=20)
    for key in ("mmd", "a_distance", "nn_shift", "n_source", "n_target"):
        assert result[key] == expected[key], key  # one batch, the same rows: the same floats
    assert (result["n_source"], result["n_target"]) == (60, 30)
    assert result["source"] == {
        "data": str(data_dir / "gap.csv"),
        "name": "gap",
        "source": "file",
        "sha256": sha256(data_dir / "gap.csv"),
        "rows": 60,
        "distinct": 60,
        "used": 60,
        "label_col": None,
    }
    assert result["target"]["sha256"] == sha256(data_dir / "e_form.csv")
    assert (result["target"]["rows"], result["target"]["used"]) == (30, 30)
    assert (result["model"], result["model_kind"], result["seed"], result["limit"]) == (
        str(tiny_model),
        "composition",
        0,
        None,
    )
    assert result["settings"]["n_permutations"] == 20
    assert result["versions"]["numpy"] == np.__version__
    assert (out / "domains.png").read_bytes()[:4] == b"\x89PNG"


def test_an_existing_report_is_refused_unless_overwrite(report, tiny_model, data_dir):
    out, first = report
    with pytest.raises(DomainGapReportError, match="already holds a domain-gap report; pass --overwrite"):
        domain_gap_report(tiny_model, data_dir / "gap.csv", data_dir / "e_form.csv", out)
    again = domain_gap_report(
        tiny_model, data_dir / "gap.csv", data_dir / "e_form.csv", out, n_permutations=20, overwrite=True
    )
    for key in ("mmd", "a_distance", "nn_shift"):
        assert again[key] == first[key]  # the same seed gives the same numbers


def test_limit_draws_a_seeded_subsample_per_side(tiny_model, data_dir, tmp_path):
    result = domain_gap_report(
        tiny_model,
        data_dir / "gap.csv",
        data_dir / "e_form.csv",
        tmp_path / "r",
        limit=12,
        seed=5,
        n_permutations=0,
    )
    rng = np.random.default_rng(5)
    source = [formulas(60)[i] for i in np.sort(rng.choice(60, size=12, replace=False))]
    target = [formulas(90)[60:][i] for i in np.sort(rng.choice(30, size=12, replace=False))]
    emb = embed(tiny_model, source + target)
    expected = domain_gap(emb[:12], emb[12:], seed=5, n_permutations=0)
    assert (result["n_source"], result["n_target"], result["source"]["used"], result["source"]["rows"]) == (
        12,
        12,
        12,
        60,
    )
    assert result["mmd"]["p_value"] is None
    for key in ("mmd", "a_distance", "nn_shift"):
        assert result[key] == expected[key], key


def write(path, header, rows):
    path.write_text(header + "\n" + "".join(f"{r}\n" for r in rows))
    return path


def test_bad_inputs_are_one_line_errors_and_write_nothing(tiny_model, data_dir, tmp_path):
    source = data_dir / "gap.csv"
    smiles = write(tmp_path / "mols.csv", "smiles", ["CCO", "CCN", "c1ccccc1", "CC(=O)O", "CCCl", "CCC"])
    smiles2 = write(tmp_path / "mols2.csv", "smiles", ["CO", "CN", "CCCC", "OCCO", "CCBr", "CCCCO"])
    empty = write(tmp_path / "empty.csv", "formula", [])
    same = write(tmp_path / "same.csv", "formula", ["Fe4O6", "Na2Cl2", "MgO", "LiF", "CaS", "NaCl"])
    base = write(tmp_path / "base.csv", "formula", ["Fe2O3", "NaCl", "MgO", "LiF", "CaS"])
    out = tmp_path / "out"
    cases = [
        (
            source,
            smiles,
            f"source {str(source)!r} holds composition inputs but target {str(smiles)!r} holds smiles",
        ),
        (smiles, smiles2, f"model {str(tiny_model)!r} reads composition inputs"),
        (source, empty, f"{empty}: no data rows"),
        (base, same, f"target {str(same)!r} holds the same set of compounds as source {str(base)!r}"),
        (source, source, f"target {str(source)!r} holds the same set of compounds"),
    ]
    for src, tgt, message in cases:
        with pytest.raises(Exception) as info:
            domain_gap_report(tiny_model, src, tgt, out)
        assert message in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(DomainGapReportError, match="limit must be an integer of at least 5"):
        domain_gap_report(tiny_model, source, base, out, limit=2)
    with pytest.raises(Exception, match="'nope'"):
        domain_gap_report(tiny_model, source, base, out, target_col="nope")
    assert not out.exists()


def test_the_verb_prints_the_numbers_and_refuses_in_one_line(
    cli_main, tiny_model, data_dir, tmp_path, capsys
):
    out = tmp_path / "gap"
    args = ["domain-gap", "--model", tiny_model, "--source", data_dir / "gap.csv"]
    args += ["--target", data_dir / "e_form.csv", "--limit", "20", "--permutations", "9", "--out", out]
    assert cli_main(*args) == 0
    printed = capsys.readouterr().out
    report = json.loads((out / "domain_gap.json").read_text())
    mmd, a = report["mmd"], report["a_distance"]
    assert printed.splitlines()[0] == "source gap: 20 inputs; target e_form: 20 inputs"
    assert f"{mmd['mmd2']:.4g}, permutation p-value {mmd['p_value']:.4g}" in printed
    assert f"proxy A-distance: {a['a_distance']:.3f}" in printed
    assert report["mmd"]["p_value"] * 10 == pytest.approx(round(report["mmd"]["p_value"] * 10))
    assert cli_main(*args) == 2
    err = capsys.readouterr().err
    assert err == f"error: {str(out)!r} already holds a domain-gap report; pass --overwrite to replace it\n"
    assert cli_main(*args, "--overwrite") == 0
    capsys.readouterr()
    assert cli_main(*args[:-2], "--permutations", "-1", "--out", tmp_path / "x") == 2
    assert capsys.readouterr().err == "error: --permutations must be 0 or more, got -1\n"
    assert not (tmp_path / "x").exists()
