"""``compare`` end to end on a tiny model and 60 rows of matbench_expt_gap: files, identical rows
for every strategy, nested subsets, the report, resuming, and the config's refusals."""

from __future__ import annotations

import csv
import html
import json

import numpy as np
import pytest

from chemtl.errors import ChemtlError
from chemtl.evaluate.compare import (
    CompareConfig,
    CompareError,
    compare,
    format_table,
    read_loss_curves,
    subset_rows,
    summary_columns,
)
from chemtl.training.config import DataConfig, TrainConfig

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
FIGURES = ("metric_vs_params.png", "metric_vs_time.png", "learning_curves.png", "loss_curves.png")


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
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


@pytest.fixture(scope="module")
def gap60(tmp_path_factory):
    """The first 60 rows of matbench_expt_gap as a user csv."""
    from chemtl.data import load_dataset

    ds = load_dataset("matbench_expt_gap")
    path = tmp_path_factory.mktemp("data") / "gap60.csv"
    rows = "".join(f"{f},{t!r}\n" for f, t in zip(ds.inputs[:60], ds.targets[:60].tolist()))
    path.write_text("formula,gap\n" + rows)
    return path


def make_config(model, data_path, **overrides):
    values = dict(
        model=str(model),
        data=DataConfig(str(data_path), target_col="gap", split_params={"frac": [0.6, 0.2, 0.2]}),
        strategies=("feature", "scratch"),
        train_sizes=(30,),
        seeds=1,
        train=TrainConfig(max_epochs=2, batch_size=16, patience=None, progress_bar=False),
        throughput_rows=16,
        throughput_repeats=1,
    )
    values.update(overrides)
    return CompareConfig(**values)


@pytest.fixture(scope="module")
def finished(tiny_model, gap60, tmp_path_factory):
    out = tmp_path_factory.mktemp("compare")
    lines: list[str] = []
    result = compare(make_config(tiny_model, gap60), out, log=lines.append)
    return result, out, lines


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_summary_csv_columns_and_rows(finished):
    result, out, lines = finished
    assert result.executed == 2 and not result.failed
    with open(out / "summary.csv", newline="") as handle:
        header = next(csv.reader(handle))
    assert header == summary_columns("regression")
    assert header[:6] == ["strategy", "train_size", "n_runs", "metric", "mean", "std"]
    rows = read_csv(out / "summary.csv")
    assert [(r["strategy"], r["train_size"], r["n_runs"], r["metric"]) for r in rows] == [
        ("feature", "30", "1", "test_mae"),
        ("scratch", "30", "1", "test_mae"),
    ]
    for r in rows:
        metrics = json.loads((out / "runs" / r["strategy"] / "n30" / "seed0" / "metrics.json").read_text())
        assert float(r["mean"]) == pytest.approx(metrics["test"]["mae"], rel=1e-5)
        assert r["std"] == ""  # one run: no spread
        assert int(r["trainable_params"]) == metrics["trainable_params"]
        assert float(r["inference_per_s"]) > 0 and float(r["peak_rss_mb_max"]) > 0
    assert int(rows[0]["trainable_params"]) < int(rows[1]["trainable_params"])  # feature trains the head only
    assert [line.split(":")[0] for line in lines] == [
        "[1/2] feature n=30 seed 0",
        "[2/2] scratch n=30 seed 0",
    ]
    table = format_table(result.rows).splitlines()
    assert table[0].split()[:5] == ["strategy", "n_train", "runs", "test", "MAE"]
    assert [t.split()[0] for t in table[1:]] == ["feature", "scratch"]


def test_every_strategy_sees_identical_rows(finished):
    _, out, _ = finished
    runs = [out / "runs" / s / "n30" / "seed0" for s in ("feature", "scratch")]
    metrics = [json.loads((r / "metrics.json").read_text()) for r in runs]
    assert metrics[0]["split"]["indices_sha256"] == metrics[1]["split"]["indices_sha256"]
    assert [m["n_train"] for m in metrics] == [30, 30]
    preds = [read_csv(r / "predictions.csv") for r in runs]
    assert [(p["input"], p["split"]) for p in preds[0]] == [(p["input"], p["split"]) for p in preds[1]]
    rows = json.loads((out / "splits" / "n30_seed0.rows.json").read_text())
    assert len(rows["train"]) == 30 and len(rows["val"]) == 12 and len(rows["test"]) == 12
    assert not set(rows["train"]) & set(rows["test"])


def test_report_html_and_figures(finished):
    result, out, _ = finished
    page = (out / "report.html").read_text(encoding="utf-8")
    for name in FIGURES:
        assert f'src="figures/{name}"' in page
        assert (out / "figures" / name).read_bytes()[:8] == PNG_MAGIC
    assert html.escape(result.recommendation) in page
    assert "http://" not in page and "https://" not in page and "<script" not in page
    assert result.recommendation.startswith("With 30 training rows, ")
    assert "vs scratch" in result.recommendation
    data = json.loads((out / "compare.json").read_text())
    assert data["recommendation"] == result.recommendation
    assert data["provenance"]["dataset_sha256"] and data["provenance"]["train_sizes"] == [30]
    curves = data["runs"][0]["curves"]
    assert curves["epoch"] == [1, 2] and len(curves["val_loss"]) == 2
    assert curves == read_loss_curves(out / "runs" / "feature" / "n30" / "seed0")
    assert not (out / "runs" / "feature" / "n30" / "seed0" / "checkpoints").exists()


def test_resume_skips_finished_runs(finished, tiny_model, gap60, monkeypatch):
    import chemtl.pipelines.finetune as ft

    _, out, _ = finished
    calls = []
    real = ft.finetune

    def counting(*args, **kwargs):
        calls.append((args[3].name, kwargs.get("resume"), kwargs.get("overwrite")))
        return real(*args, **kwargs)

    monkeypatch.setattr(ft, "finetune", counting)
    again = compare(make_config(tiny_model, gap60), out, report=False)
    assert calls == [] and again.executed == 0
    assert [r.status for r in again.records] == ["reused", "reused"]
    assert [r["mean"] for r in again.rows] == pytest.approx([r["mean"] for r in finished[0].rows])

    # an interrupted run (its stamp says running, metrics gone) is resumed; the other is reused
    stamp = out / "runs" / "scratch" / "n30" / "seed0" / "compare_run.json"
    stamp.write_text(json.dumps({**json.loads(stamp.read_text()), "status": "running"}))
    (stamp.parent / "metrics.json").unlink()
    third = compare(make_config(tiny_model, gap60), out, report=False)
    assert calls == [("scratch", True, False)]
    assert [r.status for r in third.records] == ["reused", "trained"]
    assert third.rows[1]["mean"] == pytest.approx(finished[0].rows[1]["mean"], rel=1e-6)

    # other settings in the same directory: refused, naming what changed
    other = make_config(
        tiny_model, gap60, train=TrainConfig(max_epochs=3, batch_size=16, patience=None, progress_bar=False)
    )
    with pytest.raises(CompareError, match=r"train\.max_epochs"):
        compare(other, out, report=False)
    assert len(calls) == 1


def test_subsets_are_nested_and_seeded():
    pool = np.arange(100, 200)
    small, large = subset_rows(pool, 10, 0, None), subset_rows(pool, 40, 0, None)
    assert set(small) < set(large) and len(set(large)) == 40
    assert np.array_equal(small, subset_rows(pool[::-1], 10, 0, None))  # order of the pool is irrelevant
    assert not np.array_equal(small, subset_rows(pool, 10, 1, None))
    assert not np.array_equal(small, subset_rows(pool, 10, 0, 2))
    assert np.array_equal(subset_rows(pool, 100, 3, None), pool)


def test_config_validation_and_json_round_trip(tiny_model, gap60):
    cfg = make_config(tiny_model, gap60, train_sizes=("all", 50, "20"), seeds=3, strategies="full,partial")
    assert cfg.train_sizes == (20, 50, "all") and cfg.seeds == (0, 1, 2)
    assert cfg.strategies == ("full", "partial")
    assert CompareConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    assert cfg.strategy_config("partial", num_layers=4).trainable_layers == 2
    assert cfg.strategy_config("partial", num_layers=1).trainable_layers == 1
    bad = {
        "strategies": (("full", "bogus"), "unknown strategy 'bogus'"),
        "train_sizes": ((1,), "train size 1 must be an integer >= 2 or 'all'"),
        "seeds": (0, "seeds must be a count >= 1"),
        "tolerance": (2, "tolerance must be a fraction in \\[0, 1\\)"),
        "size_cap": (1, "size_cap must be an integer >= 2, got 1"),
        "lora_r": (0, "lora_r must be an integer >= 1, got 0"),
    }
    for field, (value, message) in bad.items():
        with pytest.raises(ChemtlError, match=message):
            make_config(tiny_model, gap60, **{field: value})
    with pytest.raises(ChemtlError, match="strategy repeated"):
        make_config(tiny_model, gap60, strategies=("full", "full"))
    with pytest.raises(ChemtlError, match="unknown CompareConfig field"):
        CompareConfig.from_dict({**cfg.to_dict(), "epochs": 3})


def test_sizes_larger_than_the_training_side_are_refused(tiny_model, gap60, tmp_path):
    with pytest.raises(CompareError, match="train size 500 is larger than the 36 training rows"):
        compare(make_config(tiny_model, gap60, train_sizes=(500,)), tmp_path / "out")
    assert not (tmp_path / "out").exists()  # refused before anything is written
