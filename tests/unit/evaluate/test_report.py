"""The comparison report from fixed numbers (no training): figures, page, loss-curve reading."""

from __future__ import annotations

from chemtl.evaluate.compare import RunRecord, read_loss_curves, summary_columns
from chemtl.evaluate.report import (
    FIGURES,
    learning_figure,
    learning_figure_kind,
    split_summary_columns,
    write_report,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def row(strategy, size, mean, std, params, seconds, metric="test_roc_auc"):
    return {
        "strategy": strategy,
        "train_size": size,
        "n_runs": 2,
        "metric": metric,
        "mean": mean,
        "std": std,
        "trainable_params": params,
        "total_params": 10_000,
        "train_seconds_mean": seconds,
        "peak_rss_mb_max": 500.0,
        "inference_per_s": 1234.5,
        "epochs_mean": 4.0,
        "overfit_runs": 1,
    }


def record(strategy, size, seed, overfit):
    curves = {"epoch": [1, 2, 3, 4], "train_loss": [1.0, 0.8, 0.6, 0.5], "val_loss": [0.9, 0.7, 0.75, None]}
    metrics = {"test": {"roc_auc": 0.8}, "trainable_params": 10, "epochs_run": 4, "train_seconds": 1.0}
    return RunRecord(
        strategy, size, None, seed, f"runs/{strategy}/n{size}/seed{seed}", "trained", metrics,
        overfit_epoch=overfit, curves=curves,
    )  # fmt: skip


def test_write_report_from_fixed_numbers(tmp_path):
    rows = [
        row("full", 50, 0.70, 0.02, 10_000, 9.0),
        row("lora", 50, 0.72, None, 800, 6.0),
        row("scratch", 50, 0.60, 0.05, 10_000, 9.0),
        row("full", 200, 0.80, 0.01, 10_000, 30.0),
        row("lora", 200, 0.81, 0.01, 800, 20.0),
        row("scratch", 200, 0.70, 0.02, 10_000, 30.0),
    ]
    records = [
        record(s, n, k, 2 if k == 0 else None)
        for s in ("full", "lora", "scratch")
        for n in (50, 200)
        for k in (0, 1)
    ]
    records.append(RunRecord("prompt", 200, None, 0, "runs/prompt/n200/seed0", "failed", error="Boom: <bad>"))
    text = "Use lora & keep <this> escaped."
    paths = write_report(
        tmp_path,
        rows=rows,
        records=records,
        recommendation=text,
        provenance={"dataset": "toy", "model": "tiny", "seeds": [0, 1], "versions": {"torch": "x"}},
        summary_columns=summary_columns("classification"),
    )
    for name in FIGURES:
        data = (tmp_path / "figures" / name).read_bytes()
        assert data[:8] == PNG_MAGIC and len(data) > 5_000
    page = paths["report_html"].read_text(encoding="utf-8")
    assert "Use lora &amp; keep &lt;this&gt; escaped." in page
    assert "Boom: &lt;bad&gt;" in page  # failed runs listed, escaped
    assert "<th>accuracy mean</th>" in page and "<td>lora</td>" in page
    # the summary in two tables that fit the page (scores, then cost), each scrollable if not
    assert "<h3>Scores</h3>" in page and "<h3>Cost</h3>" in page
    assert page.count('<div class="wide"><table>') == 3  # scores, cost, runs
    assert "Learning curves: pretrained vs scratch over training-set sizes" in page
    assert "no learning curve" not in page
    assert page.count("<img ") == 4
    assert sorted(p.name for p in (tmp_path / "figures").iterdir()) == sorted(FIGURES)
    assert not list(tmp_path.rglob("*.tmp"))


def test_write_report_without_finished_runs(tmp_path):
    paths = write_report(
        tmp_path, rows=[], records=[], recommendation="nothing", provenance={}, summary_columns=["strategy"]
    )
    for name in FIGURES:
        assert (tmp_path / "figures" / name).read_bytes()[:8] == PNG_MAGIC
    assert "nothing" in paths["report_html"].read_text(encoding="utf-8")


def test_read_loss_curves_from_the_engine_csv(tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "metrics.csv").write_text(
        "epoch,step,train_loss_epoch,train_loss_step,val_loss\n"
        "0,0,,1.5,\n0,1,,1.1,\n0,1,,,0.9\n0,1,1.3,,\n"
        "1,2,,0.9,\n1,3,,0.7,\n1,3,,,0.8\n1,3,0.8,,\n"
        "2,4,,0.6,\n"  # an interrupted epoch: no epoch values yet
        "1,3,,,0.85\n"  # a resumed run logged epoch 1 again: the last value wins
    )
    assert read_loss_curves(tmp_path) == {
        "epoch": [1, 2],
        "train_loss": [1.3, 0.8],
        "val_loss": [0.9, 0.85],
    }
    assert read_loss_curves(tmp_path / "missing") == {"epoch": [], "train_loss": [], "val_loss": []}


def test_summary_columns_split_into_scores_and_cost():
    score, cost = split_summary_columns(summary_columns("regression"))
    assert score == [
        "strategy", "train_size", "n_runs", "metric", "mean", "std",
        "rmse_mean", "rmse_std", "r2_mean", "r2_std",
    ]  # fmt: skip
    assert cost == [
        "strategy", "train_size", "trainable_params", "total_params", "train_seconds_mean",
        "peak_rss_mb_max", "inference_per_s", "epochs_mean", "overfit_runs",
    ]  # fmt: skip


def test_one_training_size_draws_bars_not_a_column_of_dots(tmp_path):
    import matplotlib.pyplot as plt
    from matplotlib.container import BarContainer

    rows = [
        row("full", 200, 0.80, 0.01, 10_000, 30.0),
        row("lora", 200, 0.81, None, 800, 20.0),
        row("scratch", 200, 0.70, 0.02, 10_000, 30.0),
    ]
    assert learning_figure_kind(rows) == "bars"
    fig = learning_figure(rows)
    ax = fig.axes[0]
    [bars] = [c for c in ax.containers if isinstance(c, BarContainer)]
    assert [round(b.get_height(), 2) for b in bars] == [0.80, 0.81, 0.70]  # scratch last
    assert [t.get_text() for t in ax.get_xticklabels()] == ["full", "lora", "scratch\n(no pretraining)"]
    assert not [line for line in ax.lines if line.get_marker() not in (None, "None", "", "_")]  # no dots
    assert ax.get_title() == "Pretrained strategies vs scratch at 200 training rows (one size)"
    plt.close(fig)

    paths = write_report(
        tmp_path, rows=rows, records=[], recommendation="r", provenance={},
        summary_columns=summary_columns("classification"),
    )  # fmt: skip
    page = paths["report_html"].read_text(encoding="utf-8")
    assert "Pretrained strategies vs scratch at the one training size (bars)" in page
    assert "One training size, so there is no learning curve" in page
    assert (tmp_path / "figures" / "learning_curves.png").read_bytes()[:8] == PNG_MAGIC

    several = [*rows, row("full", 50, 0.7, 0.02, 10_000, 9.0)]
    assert learning_figure_kind(several) == "curves"
    fig = learning_figure(several)
    assert not [c for c in fig.axes[0].containers if isinstance(c, BarContainer)]
    plt.close(fig)
    assert learning_figure_kind([]) == "none"
