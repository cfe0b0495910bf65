"""`chemtl fewshot predict` and `evaluate` end to end with the shipped composition-small."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from chemtl.cli.main import main

METALS = ["Cu", "Fe", "Ni", "Al", "Zn", "Ag", "Au", "Co", "Pt", "Pd"]
INSULATORS = ["NaCl", "MgO", "SiO2", "Al2O3", "CaF2", "KBr", "LiF", "ZnO", "BaO", "SrF2"]
QUERY = ["Ti", "MgCl2", "Cr", "CaO", "V"]


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def write(path, header: str, rows: list[str]):
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def read(path) -> tuple[list[str], list[dict[str, str]]]:
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames), list(reader)


@pytest.fixture
def query(tmp_path):
    """A query with an id before and a note after the formula column."""
    return write(tmp_path / "query.csv", "id,formula,note", [f"q{i},{f},n{i}" for i, f in enumerate(QUERY)])


def test_predict_classification_keeps_the_query_columns(capsys, tmp_path, query):
    support = write(
        tmp_path / "support.csv",
        "formula,label",
        [f"{f},metal" for f in METALS[:5]] + [f"{f},insulator" for f in INSULATORS[:5]],
    )
    out = tmp_path / "pred.csv"
    code, stdout, err = run(
        capsys, "fewshot", "predict", "--model", "composition-small", "--support", support, "--query", query,
        "--target", "label", "--method", "protonet", "--out", out,
    )  # fmt: skip
    assert code == 0, err
    assert stdout == f"5 predictions -> {out}\n"
    columns, rows = read(out)
    assert columns == ["id", "formula", "note", "prediction", "prob_insulator", "prob_metal"]
    assert [(r["id"], r["formula"], r["note"]) for r in rows] == [
        (f"q{i}", f, f"n{i}") for i, f in enumerate(QUERY)
    ]
    for r in rows:
        p = np.array([float(r["prob_insulator"]), float(r["prob_metal"])])
        assert p.sum() == pytest.approx(1.0, abs=1e-6)  # float32 probabilities, 10 digits written
        assert r["prediction"] == ("insulator", "metal")[int(p.argmax())]

    # a prototypical network: each row takes the class of the nearest mean
    # support embedding (squared Euclidean distance, as the model embeds them)
    from chemtl.pipelines.metatrain import embed_with

    xs = embed_with("composition-small", METALS[:5] + INSULATORS[:5])
    xq = embed_with("composition-small", QUERY)
    protos = np.stack([xs[5:].mean(axis=0), xs[:5].mean(axis=0)])  # insulator, metal
    nearest = ((xq[:, None, :] - protos[None]) ** 2).sum(axis=-1).argmin(axis=1)
    assert [r["prediction"] for r in rows] == [("insulator", "metal")[i] for i in nearest]


def test_the_default_method_is_the_benchmarks_best_a_random_forest(capsys, tmp_path, query):
    from chemtl.pipelines.fewshot import DEFAULT_METHOD

    assert DEFAULT_METHOD == {"classification": "rf", "regression": "rf"}
    support = write(
        tmp_path / "support.csv",
        "formula,label",
        [f"{f},metal" for f in METALS[:5]] + [f"{f},insulator" for f in INSULATORS[:5]],
    )
    outs = []
    for extra in ((), ("--method", "rf")):
        out = tmp_path / f"pred{len(extra)}.csv"
        code, _, err = run(
            capsys, "fewshot", "predict", "--model", "composition-small", "--support", support,
            "--query", query, "--target", "label", *extra, "--out", out,
        )  # fmt: skip
        assert code == 0, err
        outs.append(out.read_text())
    assert outs[0] == outs[1]


def test_predict_takes_the_other_column_of_a_two_column_support(capsys, tmp_path, query):
    support = write(
        tmp_path / "support.csv",
        "formula,kind",
        [f"{f},metal" for f in METALS[:2]] + ["NaCl,salt", "KBr,salt"],
    )
    out = tmp_path / "pred.csv"
    code, _, err = run(
        capsys, "fewshot", "predict", "--model", "composition-small", "--support", support, "--query", query,
        "--out", out,
    )  # fmt: skip
    assert code == 0, err
    assert read(out)[0] == ["id", "formula", "note", "prediction", "prob_metal", "prob_salt"]


def test_predict_integer_labels_are_classes(capsys, tmp_path, query):
    support = write(
        tmp_path / "support.csv",
        "formula,target",
        [f"{f},{i % 3}" for i, f in enumerate(METALS[:6] + INSULATORS[:3])],
    )
    out = tmp_path / "pred.csv"
    code, _, err = run(
        capsys, "fewshot", "predict", "--model", "composition-small", "--support", support, "--query", query,
        "--out", out,
    )  # fmt: skip
    assert code == 0, err
    columns, rows = read(out)
    assert columns == ["id", "formula", "note", "prediction", "prob_0", "prob_1", "prob_2"]
    assert len(rows) == 5 and {r["prediction"] for r in rows} <= {"0", "1", "2"}


def test_predict_regression_gives_a_std(capsys, tmp_path, query):
    support = write(
        tmp_path / "support.csv",
        "formula,gap",
        [f"{f},{0.5 * i + 0.25}" for i, f in enumerate(METALS[:4] + INSULATORS[:4])],
    )
    out = tmp_path / "pred.csv"
    code, _, err = run(
        capsys, "fewshot", "predict", "--model", "composition-small", "--support", support, "--query", query,
        "--target", "gap", "--out", out,
    )  # fmt: skip
    assert code == 0, err
    columns, rows = read(out)
    assert columns == ["id", "formula", "note", "prediction", "std"]
    assert len(rows) == 5
    assert all(np.isfinite(float(r["prediction"])) and float(r["std"]) > 0 for r in rows)


def test_task_override_makes_integer_labels_a_regression(capsys, tmp_path, query):
    support = write(
        tmp_path / "support.csv", "formula,target", [f"{f},{i}" for i, f in enumerate(METALS[:6])]
    )
    out = tmp_path / "pred.csv"
    code, _, err = run(
        capsys, "fewshot", "predict", "--model", "composition-small", "--support", support, "--query", query,
        "--task", "regression", "--method", "knn", "--out", out,
    )  # fmt: skip
    assert code == 0, err
    columns, rows = read(out)
    assert columns == ["id", "formula", "note", "prediction", "std"]
    assert all(r["std"] == "" for r in rows)  # knn has no predictive std


def test_evaluate_on_a_user_collection(capsys, tmp_path):
    folder = tmp_path / "tasks"
    folder.mkdir()
    for name, (a, b) in {"first": (0, 8), "second": (2, 10)}.items():
        write(
            folder / f"{name}.csv",
            "formula,label",
            [f"{f},metal" for f in METALS[a:b]] + [f"{f},insulator" for f in INSULATORS[a:b]],
        )
    out = tmp_path / "ev"
    code, stdout, err = run(
        capsys, "fewshot", "evaluate", "--model", "composition-small", "--tasks", folder, "--target", "label",
        "--task", "classification", "--shots", "1,2", "--episodes", "4", "--methods", "protonet,knn",
        "--seed", "3", "--out", out,
    )  # fmt: skip
    assert code == 0, err
    assert stdout.splitlines()[-1] == (
        f"16 episode results -> {out / 'episodes.csv'}; summary -> {out / 'summary.json'}"
    )
    columns, rows = read(out / "episodes.csv")
    assert columns[:9] == [
        "method", "shots", "task", "episode", "support", "n_way", "n_support", "n_query", "skipped_classes",
    ]  # fmt: skip
    assert {"accuracy", "delta_auprc"} <= set(columns)
    assert len(rows) == 2 * 2 * 4  # methods x K x episodes
    # round robin over the two tasks, both methods on every episode
    assert [(r["method"], r["shots"], r["task"], r["episode"]) for r in rows] == [
        (m, str(k), ("first", "second")[i % 2], str(i))
        for k in (1, 2)
        for i in range(4)
        for m in ("protonet", "knn")
    ]
    for r in rows:
        k = int(r["shots"])
        assert (r["n_way"], int(r["n_support"]), r["support"]) == ("2", 2 * k, "random")
        assert int(r["n_query"]) == 16 - 2 * k
        assert 0.0 <= float(r["accuracy"]) <= 1.0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["info"]["tasks"] == ["first", "second"] and summary["info"]["shots"] == [1, 2]
    assert summary["info"]["methods"] == ["protonet", "knn"] and summary["info"]["seed"] == 3
    rows_s = summary["summary"]
    assert sorted((r["metric"], r["method"], r["shots"]) for r in rows_s) == sorted(
        (metric, m, k) for metric in ("accuracy", "delta_auprc") for m in ("protonet", "knn") for k in (1, 2)
    )
    assert all(r["n_episodes"] == 4 and r["n_tasks"] == 2 for r in rows_s)
    columns_s, rows_csv = read(out / "summary.csv")
    assert columns_s[0] == "metric" and len(rows_csv) == 8

    # the same seed gives the same episodes and numbers
    again = tmp_path / "ev2"
    code, _, err = run(
        capsys, "fewshot", "evaluate", "--model", "composition-small", "--tasks", folder, "--target", "label",
        "--task", "classification", "--shots", "1,2", "--episodes", "4", "--methods", "protonet,knn",
        "--seed", "3", "--out", again,
    )  # fmt: skip
    assert code == 0, err
    assert (again / "episodes.csv").read_text() == (out / "episodes.csv").read_text()


def test_train_then_predict_and_evaluate_with_the_meta_trained_model(capsys, tmp_path, query):
    folder = tmp_path / "tasks"
    folder.mkdir()
    for name, (a, b) in {"first": (0, 8), "second": (2, 10)}.items():
        write(
            folder / f"{name}.csv",
            "formula,label",
            [f"{f},metal" for f in METALS[a:b]] + [f"{f},insulator" for f in INSULATORS[a:b]],
        )
    model = tmp_path / "proto"
    code, stdout, err = run(
        capsys, "fewshot", "train", "--model", "composition-small", "--tasks", folder, "--target", "label",
        "--task", "classification", "--ways", "2", "--shots", "2", "--queries", "2", "--episodes", "2",
        "--projection-dim", "16", "--no-progress", "--out", model,
    )  # fmt: skip
    assert code == 0, err
    assert stdout.splitlines()[0] == f"meta-trained on 'tasks' -> {model}"
    assert (model / "fewshot.json").is_file() and (model / "config.json").is_file()
    support = write(
        tmp_path / "support.csv",
        "formula,label",
        [f"{f},metal" for f in METALS[:3]] + [f"{f},insulator" for f in INSULATORS[:3]],
    )
    out = tmp_path / "pred.csv"
    code, _, err = run(
        capsys, "fewshot", "predict", "--model", model, "--support", support, "--query", query,
        "--target", "label", "--out", out,
    )  # fmt: skip
    assert code == 0, err
    columns, rows = read(out)
    assert (
        columns == ["id", "formula", "note", "prediction", "prob_insulator", "prob_metal"] and len(rows) == 5
    )
    # the meta-trained embeddings (projection applied): 16 numbers per input
    from chemtl.pipelines.metatrain import embed_with

    assert embed_with(str(model), QUERY).shape == (5, 16)
    code, _, err = run(
        capsys, "fewshot", "evaluate", "--model", model, "--tasks", folder, "--target", "label",
        "--task", "classification", "--shots", "1", "--episodes", "2", "--methods", "protonet", "--out",
        tmp_path / "ev",
    )  # fmt: skip
    assert code == 0, err
    assert len(read(tmp_path / "ev" / "episodes.csv")[1]) == 2


def test_support_augmentation_adds_randomised_smiles_to_the_support():
    from chemtl.chem.smiles import randomize_smiles
    from chemtl.data.tasks import FewShotTask
    from chemtl.pipelines.fewshot import run_episodes, task_augmented_embeddings
    from chemtl.pipelines.metatrain import embed_with
    from chemtl.transfer.fewshot.episodes import sample_episodes

    smiles = ("CCO", "CCCO", "CCCCO", "OCC(O)CO", "c1ccccc1", "Cc1ccccc1", "CCc1ccccc1", "Oc1ccccc1")
    task = FewShotTask(
        name="toy", kind="smiles", task="classification", inputs=smiles,
        labels=np.array([0, 0, 0, 0, 1, 1, 1, 1]), classes=("alcohol", "aromatic"), side="all", info={},
    )  # fmt: skip
    aug = task_augmented_embeddings("smiles-small", [task], 2, seed=5)["toy"]
    assert aug.shape[:2] == (2, 8)
    direct = embed_with("smiles-small", [randomize_smiles(s, 2, 5 + i)[1] for i, s in enumerate(smiles)])
    assert np.allclose(aug[1], direct, atol=1e-5)
    emb = {"m": {"toy": embed_with("smiles-small", list(smiles))}}
    episodes = sample_episodes([task], 1, 3, seed=0)
    plain, augmented = (
        run_episodes([task], episodes, [("protonet", "protonet", "m")], shots=1, support="random",
                     embeddings=emb, augmented=a)
        for a in (None, {"m": {"toy": aug}})
    )  # fmt: skip
    assert [r["augment"] for r in plain] == [0, 0, 0] and [r["augment"] for r in augmented] == [2, 2, 2]
    assert [r["n_support"] for r in augmented] == [2, 2, 2]  # the drawn support, before augmentation
    # ProtoNet on the augmented support: prototypes are the means over each molecule and its variants
    ep = episodes[0]
    x = emb["m"]["toy"]
    protos = np.stack([np.mean([x[j], *aug[:, j]], axis=0) for j in ep.support])  # K=1: one row per class
    q = x[ep.query]
    pred = ((q[:, None, :] - protos[None]) ** 2).sum(axis=-1).argmin(axis=1)
    acc = float((pred == ep.query_labels(task)).mean())
    assert augmented[0]["accuracy"] == pytest.approx(acc)
