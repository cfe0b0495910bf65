"""`chemtl fewshot {predict,train,evaluate}`: flags, help examples, one-line errors without output."""

from __future__ import annotations

import shlex

import pytest

from chemtl.cli.fewshot import parse_shots
from chemtl.cli.main import build_parser, main
from chemtl.errors import ChemtlError

METALS = ["Cu", "Fe", "Ni", "Al", "Zn", "Ag", "Au", "Co"]
INSULATORS = ["NaCl", "MgO", "SiO2", "Al2O3", "CaF2", "KBr", "LiF", "ZnO"]


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def write(path, header: str, rows: list[str]):
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


@pytest.fixture
def files(tmp_path):
    """A two-class support (4 metals, 4 insulators), a composition query and a SMILES query."""
    support = write(
        tmp_path / "support.csv",
        "formula,label",
        [f"{f},metal" for f in METALS[:4]] + [f"{f},insulator" for f in INSULATORS[:4]],
    )
    query = write(tmp_path / "query.csv", "id,formula", [f"q{i},{f}" for i, f in enumerate(METALS[4:])])
    smiles = write(tmp_path / "mol.csv", "id,smiles", ["m1,CCO", "m2,c1ccccc1"])
    return tmp_path, support, query, smiles


def help_examples(capsys, *argv: str) -> list[list[str]]:
    with pytest.raises(SystemExit) as info:
        main([*argv, "--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out.split("\nexamples:\n", 1)[1].replace("\\\n", " ")
    return [shlex.split(line)[1:] for line in text.splitlines() if line.strip()]


def test_flags_parse():
    parser = build_parser()
    a = parser.parse_args(
        "fewshot predict --model composition-small --support s.csv --query q.csv --target-col y "
        "--method knn --task regression --out p.csv".split()
    )
    assert (a.model, a.support, a.query, a.target, a.method, a.task, a.out) == (
        "composition-small", "s.csv", "q.csv", "y", "knn", "regression", "p.csv",
    )  # fmt: skip
    assert a.func.__name__ == "run_predict"
    t = parser.parse_args(
        "fewshot train --model smiles-small --tasks moleculeace_tasks --ways 2 --shots 3 --queries 4 "
        "--episodes 7 --train-encoder --epochs 2 --seed 5 --resume --out runs/p".split()
    )
    assert (t.ways, t.shots, t.queries, t.episodes, t.train_encoder, t.epochs, t.seed, t.resume, t.overwrite) == (
        2, 3, 4, 7, True, 2, 5, True, False,
    )  # fmt: skip
    assert t.func.__name__ == "run_train"
    t = parser.parse_args("fewshot train --model m --tasks d --no-train-encoder --overwrite --out o".split())
    assert (t.ways, t.shots, t.queries, t.episodes, t.train_encoder, t.overwrite) == (
        5,
        5,
        10,
        200,
        False,
        True,
    )
    e = parser.parse_args(
        "fewshot evaluate --model m --tasks composition_tasks --shots 1,5 --episodes 3 --support kmeans "
        "--seed 2 --methods protonet,rf --side train --out ev".split()
    )
    assert (e.shots, e.episodes, e.support, e.seed, e.methods, e.side, e.out) == (
        "1,5", 3, "kmeans", 2, "protonet,rf", "train", "ev",
    )  # fmt: skip
    e = parser.parse_args("fewshot evaluate --model m --tasks t --out ev".split())
    assert (e.shots, e.episodes, e.support, e.side, e.methods) == ("1,5,10,16", 200, "random", "test", None)
    assert parse_shots("1,5,10,16") == (1, 5, 10, 16)


@pytest.mark.parametrize("text", ["1,x", "0,5", "5,5", ""])
def test_bad_shots_are_refused(text):
    with pytest.raises(ChemtlError, match=f"--shots {text!r}"):
        parse_shots(text)


def test_bad_support_choice_is_a_usage_error(capsys):
    code = None
    with pytest.raises(SystemExit) as info:
        main("fewshot evaluate --model m --tasks t --support biased --out ev".split())
    code = info.value.code
    err = capsys.readouterr().err
    assert code == 2 and "invalid choice: 'biased'" in err and len(err.strip().splitlines()) == 1


def test_each_action_shows_examples_of_the_verb(capsys):
    verb = help_examples(capsys, "fewshot")
    for action in ("predict", "train", "evaluate"):
        own = help_examples(capsys, "fewshot", action)
        assert own and all(line in verb for line in own)
        assert any(line[:2] == ["fewshot", action] for line in own)
    for line in verb:
        build_parser().parse_args(line)


def test_support_with_one_class(capsys, files):
    root, _, query, _ = files
    one = write(root / "one.csv", "formula,label", [f"{f},metal" for f in METALS[:3]])
    out = root / "p.csv"
    code, stdout, err = run(
        capsys, "fewshot", "predict", "--model", "composition-small", "--support", one, "--query", query,
        "--target", "label", "--out", out,
    )  # fmt: skip
    assert code == 2 and stdout == ""
    assert err == (
        "error: support 'one.csv': column 'label' holds one class ('metal'); few-shot classification needs "
        "examples of at least two classes\n"
    )
    assert not out.exists()


def test_label_column_missing_from_the_support(capsys, files):
    root, support, query, _ = files
    out = root / "p.csv"
    code, stdout, err = run(
        capsys, "fewshot", "predict", "--model", "composition-small", "--support", support, "--query", query,
        "--target", "activity", "--out", out,
    )  # fmt: skip
    assert code == 2 and stdout == ""
    assert err == f"error: {support}: no column 'activity'; the columns are 'formula', 'label'\n"
    assert not out.exists()


def test_query_of_another_kind_than_the_model(capsys, files):
    root, support, _, smiles = files
    out = root / "p.csv"
    code, stdout, err = run(
        capsys, "fewshot", "predict", "--model", "composition-small", "--support", support, "--query", smiles,
        "--target", "label", "--out", out,
    )  # fmt: skip
    assert code == 2 and stdout == ""
    assert err == (
        f"error: {smiles} holds smiles inputs but the model reads composition inputs "
        "(pass --kind composition if the column really holds composition strings)\n"
    )
    assert not out.exists()


def test_support_of_another_kind_than_the_model(capsys, files):
    root, _, query, smiles = files
    mol_support = write(root / "mols.csv", "smiles,label", ["CCO,a", "CCC,b"])
    out = root / "p.csv"
    code, stdout, err = run(
        capsys, "fewshot", "predict", "--model", "composition-small", "--support", mol_support, "--query", query,
        "--target", "label", "--out", out,
    )  # fmt: skip
    assert code == 2 and stdout == ""
    assert err.startswith(f"error: {mol_support} holds smiles inputs but the model reads composition inputs")
    assert len(err.splitlines()) == 1 and not out.exists()


def _collection(root, name: str, sizes: dict[str, tuple[int, int]]):
    """A folder of tasks: task -> (metals, insulators) rows."""
    folder = root / name
    folder.mkdir()
    for task, (n_metal, n_ins) in sizes.items():
        write(
            folder / f"{task}.csv",
            "formula,label",
            [f"{f},metal" for f in METALS[:n_metal]] + [f"{f},insulator" for f in INSULATORS[:n_ins]],
        )
    return folder


def test_k_larger_than_a_class_has(capsys, tmp_path):
    folder = _collection(tmp_path, "coll", {"metals": (8, 8)})
    out = tmp_path / "ev"
    code, stdout, err = run(
        capsys, "fewshot", "evaluate", "--model", "composition-small", "--tasks", folder, "--target", "label",
        "--shots", "16", "--episodes", "2", "--out", out,
    )  # fmt: skip
    assert code == 2 and stdout == ""
    assert err.startswith("error: ") and "16" in err and len(err.splitlines()) == 1
    assert not out.exists()


def test_task_collection_whose_tasks_are_all_too_small(capsys, tmp_path):
    folder = _collection(tmp_path, "small", {"a": (3, 3), "b": (2, 4)})
    out = tmp_path / "ev"
    code, stdout, err = run(
        capsys, "fewshot", "evaluate", "--model", "composition-small", "--tasks", folder, "--target", "label",
        "--shots", "5", "--episodes", "2", "--out", out,
    )  # fmt: skip
    assert code == 2 and stdout == ""
    assert err.startswith("error: ") and "5" in err and len(err.splitlines()) == 1
    assert not out.exists()


def test_collection_of_another_kind_than_the_model(capsys, tmp_path):
    folder = tmp_path / "mols"
    folder.mkdir()
    write(folder / "t.csv", "smiles,label", [f"{'C' * (i + 1)}O,{'ab'[i % 2]}" for i in range(8)])
    out = tmp_path / "ev"
    code, stdout, err = run(
        capsys, "fewshot", "evaluate", "--model", "composition-small", "--tasks", folder, "--target", "label",
        "--shots", "1", "--episodes", "2", "--out", out,
    )  # fmt: skip
    assert code == 2 and stdout == ""
    assert err == (
        "error: task collection 'mols' holds smiles inputs but the model 'composition-small' reads "
        "composition inputs\n"
    )
    assert not out.exists()
