"""The comparison report: PNG figures (matplotlib, Agg backend) and one self-contained HTML page.

``write_report(out_dir, rows=..., records=..., recommendation=..., provenance=...)`` writes

    figures/metric_vs_params.png   metric vs trainable parameters at the largest training size,
                                   Pareto points (fewest parameters for the error) marked and labelled
    figures/metric_vs_time.png     the same against training time
    figures/learning_curves.png    metric vs training-set size, pretrained strategies vs scratch,
                                   error bars = standard deviation over seeds/folds; with one
                                   training size there is no curve to draw, so it is a bar chart
                                   (every strategy beside scratch at that size), said so in the page
    figures/loss_curves.png        train and validation loss per epoch, one panel per strategy,
                                   the overfitting epoch marked
    report.html                    the table, the recommendation, the figures (relative links)
                                   and the provenance; no script, no remote resource

Every file is written atomically. Plain inputs (summary-row dicts and ``RunRecord``s), so the
figures can be redrawn from ``compare.json`` without rerunning anything.
"""

from __future__ import annotations

import html
import math
from pathlib import Path
from typing import Any

from chemtl.atomic import atomic_open, write_text
from chemtl.evaluate.frontier import higher_is_better, metric_label, pareto_front

FIGURES = ("metric_vs_params.png", "metric_vs_time.png", "learning_curves.png", "loss_curves.png")
SCRATCH_STYLE = {"color": "black", "linestyle": "--"}


def _finite(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> Path:
    plt = _pyplot()
    fig.tight_layout()
    with atomic_open(path, "wb") as handle:
        fig.savefig(handle, format="png", dpi=110)
    plt.close(fig)
    return path


def _colours(strategies: list[str]) -> dict[str, Any]:
    plt = _pyplot()
    cmap = plt.get_cmap("tab10")
    out, k = {}, 0
    for name in strategies:
        if name == "scratch":
            out[name] = "black"
        else:
            out[name] = cmap(k % 10)
            k += 1
    return out


def _plain(value: float, _pos: Any = None) -> str:
    """20, 500, 2k, 50k, 1.5M: short tick labels that do not collide on a log axis."""
    if value >= 1e6:
        return f"{value / 1e6:g}M"
    if value >= 1e3:
        return f"{value / 1e3:g}k"
    return f"{value:g}"


def _plain_log_axis(ax) -> None:
    """A log x axis labelled 20, 50, 100, 2k (not 2x10^1)."""
    from matplotlib.ticker import FuncFormatter, LogLocator

    ax.set_xscale("log")
    ax.xaxis.set_major_locator(LogLocator(base=10))
    ax.xaxis.set_minor_locator(LogLocator(base=10, subs=(2.0, 5.0)))
    ax.xaxis.set_major_formatter(FuncFormatter(_plain))
    ax.xaxis.set_minor_formatter(FuncFormatter(_plain))


def _empty(ax, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="grey")
    ax.set_xticks([])
    ax.set_yticks([])


def plot_frontier(
    rows: list[dict[str, Any]], cost_key: str, cost_label: str, path: str | Path, log_x: bool = True
) -> Path:
    """Metric (mean ± std) against a cost column at the largest training size; the Pareto points
    (no other strategy both cheaper and better) ringed, joined and labelled."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.6))
    usable = [r for r in rows if _finite(r.get("mean"))]
    if usable:
        top = max(int(r["train_size"]) for r in usable)
        here = [r for r in usable if int(r["train_size"]) == top and _finite(r.get(cost_key))]
    else:
        top, here = 0, []
    if not here:
        _empty(ax, "no finished runs")
        return _save(fig, Path(path))
    metric = here[0]["metric"]
    higher = higher_is_better(metric)
    colours = _colours([r["strategy"] for r in here])
    points = [(float(r[cost_key]), -r["mean"] if higher else r["mean"]) for r in here]
    front = pareto_front(points)
    for i, r in enumerate(here):
        x, y = float(r[cost_key]), r["mean"]
        err = r["std"] if _finite(r.get("std")) else None
        ax.errorbar(x, y, yerr=err, fmt="o", color=colours[r["strategy"]], capsize=3, markersize=7)
        ax.annotate(
            r["strategy"] + (" (Pareto)" if i in front else ""),
            (x, y),
            textcoords="offset points",
            xytext=(6, 6),
            fontsize=9,
            fontweight="bold" if i in front else "normal",
        )
    fx = [float(here[i][cost_key]) for i in front]
    fy = [here[i]["mean"] for i in front]
    ax.plot(fx, fy, color="crimson", linewidth=1, zorder=0, label="Pareto front")
    ax.scatter(fx, fy, s=220, facecolors="none", edgecolors="crimson", linewidths=1.5, zorder=3)
    if log_x and all(float(r[cost_key]) > 0 for r in here):
        _plain_log_axis(ax)
    ax.margins(x=0.2, y=0.15)
    ax.set_xlabel(cost_label)
    ax.set_ylabel(f"{metric_label(metric)} ({'higher' if higher else 'lower'} is better)")
    ax.set_title(f"{metric_label(metric)} vs {cost_label.split(' (')[0]} ({top:,} training rows)")
    ax.legend(loc="best", fontsize=8)
    ax.grid(alpha=0.3)
    return _save(fig, Path(path))


def learning_figure_kind(rows: list[dict[str, Any]]) -> str:
    """``"curves"`` (several training sizes), ``"bars"`` (one size: no curve to draw) or
    ``"none"`` (no finished run)."""
    sizes = {int(r["train_size"]) for r in rows if _finite(r.get("mean"))}
    return "none" if not sizes else "bars" if len(sizes) == 1 else "curves"


def learning_figure(rows: list[dict[str, Any]]):
    """The learning-curve figure (not saved): metric vs training-set size per strategy (scratch
    dashed black), error bars = std; with one training size a bar chart of every strategy at that
    size, scratch black, instead of a column of dots."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.6))
    usable = [r for r in rows if _finite(r.get("mean"))]
    kind = learning_figure_kind(rows)
    if kind == "none":
        _empty(ax, "no finished runs")
        return fig
    metric = usable[0]["metric"]
    names = list(dict.fromkeys(r["strategy"] for r in usable))
    colours = _colours(names)
    ylabel = f"{metric_label(metric)} ({'higher' if higher_is_better(metric) else 'lower'} is better)"
    if kind == "bars":
        size = int(usable[0]["train_size"])
        order = [n for n in names if n != "scratch"] + [n for n in names if n == "scratch"]
        means = [next(r["mean"] for r in usable if r["strategy"] == n) for n in order]
        errs = [next(r.get("std") for r in usable if r["strategy"] == n) for n in order]
        ax.bar(
            range(len(order)),
            means,
            yerr=[e if _finite(e) else 0.0 for e in errs],
            color=[colours[n] for n in order],
            capsize=4,
        )
        ax.set_xticks(range(len(order)))
        ax.set_xticklabels([n + ("\n(no pretraining)" if n == "scratch" else "") for n in order])
        ax.set_ylabel(ylabel)
        ax.set_title(f"Pretrained strategies vs scratch at {size:,} training rows (one size)")
        ax.grid(alpha=0.3, axis="y")
        return fig
    for name in names:
        pts = sorted((int(r["train_size"]), r["mean"], r.get("std")) for r in usable if r["strategy"] == name)
        xs = [p[0] for p in pts]
        ys = [p[1] for p in pts]
        errs = [p[2] if _finite(p[2]) else 0.0 for p in pts]
        style = SCRATCH_STYLE if name == "scratch" else {"color": colours[name], "linestyle": "-"}
        ax.errorbar(
            xs,
            ys,
            yerr=errs,
            marker="o",
            capsize=3,
            label=name + (" (no pretraining)" if name == "scratch" else ""),
            **style,
        )
    sizes = sorted({int(r["train_size"]) for r in usable})
    ax.set_xscale("log")
    ax.set_xticks(sizes)
    ax.set_xticklabels([f"{s:,}" for s in sizes])
    ax.minorticks_off()
    ax.set_xlabel("training rows")
    ax.set_ylabel(ylabel)
    ax.set_title("Learning curves: pretrained strategies vs scratch")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return fig


def plot_learning_curves(rows: list[dict[str, Any]], path: str | Path) -> Path:
    """``learning_figure(rows)`` saved to ``path``."""
    return _save(learning_figure(rows), Path(path))


def plot_loss_curves(records: list[Any], path: str | Path) -> Path:
    """Per strategy, train (solid) and validation (dashed) loss per epoch of its runs at the
    largest training size; each run's overfitting epoch marked with a red x and a dotted line."""
    plt = _pyplot()
    from matplotlib.ticker import MaxNLocator

    finished = [r for r in records if r.ok and r.curves and r.curves.get("epoch")]
    names = list(dict.fromkeys(r.strategy for r in finished))
    if not names:
        fig, ax = plt.subplots(figsize=(6.4, 3))
        _empty(ax, "no loss curves")
        return _save(fig, Path(path))
    top = max(r.train_size for r in finished)
    cols = min(3, len(names))
    nrows = math.ceil(len(names) / cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(4.2 * cols, 3.2 * nrows), squeeze=False)
    for ax in axes.flat[len(names) :]:
        ax.set_visible(False)
    for ax, name in zip(axes.flat, names):
        runs = [r for r in finished if r.strategy == name and r.train_size == top]
        marked = False
        for j, r in enumerate(runs):
            c = r.curves
            ep = c["epoch"]
            tr = [math.nan if v is None else v for v in c["train_loss"]]
            va = [math.nan if v is None else v for v in c["val_loss"]]
            first = j == 0
            ax.plot(ep, tr, color="tab:blue", alpha=0.9 if first else 0.4, label="train" if first else None)
            ax.plot(
                ep,
                va,
                color="tab:orange",
                linestyle="--",
                alpha=0.9 if first else 0.4,
                label="validation" if first else None,
            )
            e = r.overfit_epoch
            if e is not None and e in ep:
                v = va[ep.index(e)]
                ax.axvline(e, color="crimson", linestyle=":", linewidth=1)
                ax.plot(
                    [e],
                    [v],
                    "x",
                    color="crimson",
                    markersize=9,
                    mew=2,
                    label=None if marked else "overfitting",
                )
                marked = True
        reps = len(runs)
        ax.set_title(f"{name} ({top:,} rows, {reps} run{'s' if reps != 1 else ''})", fontsize=10)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    return _save(fig, Path(path))


# ----------------------------------------------------------------------------------------------
# html

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:.85em;margin:.5em 0;max-width:100%}
.wide{overflow-x:auto;max-width:100%}
th,td{border:1px solid #ccc;padding:.25em .5em;text-align:right}th{background:#f3f3f3}
td:first-child,th:first-child{text-align:left}
.rec{background:#f6f9ff;border-left:4px solid #3a6fd8;padding:.6em 1em}
figure{display:inline-block;margin:.5em}img{max-width:100%;border:1px solid #eee}
dl{display:grid;grid-template-columns:max-content auto;gap:.2em 1em;font-size:.85em}dt{font-weight:600}
.fail{color:#a00}
"""


def _cell(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if not math.isfinite(value):
            return "–"
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"
    return str(value)


# The summary's columns in two tables that fit the page: the scores, then the cost.
SCORE_KEYS = ("strategy", "train_size", "n_runs", "metric")
COST_COLUMNS = (
    "strategy",
    "train_size",
    "trainable_params",
    "total_params",
    "train_seconds_mean",
    "peak_rss_mb_max",
    "inference_per_s",
    "epochs_mean",
    "overfit_runs",
)


def split_summary_columns(columns: list[str]) -> tuple[list[str], list[str]]:
    """(score columns, cost columns) of the summary: strategy and size lead both; every column
    appears in one of them."""
    cost = [c for c in columns if c in COST_COLUMNS]
    score = [c for c in columns if c not in COST_COLUMNS or c in ("strategy", "train_size")]
    return score, cost


def _header(name: str) -> str:
    """A column name that can wrap: underscores become spaces."""
    return name.replace("_", " ")


def _table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    head = "".join(f"<th>{html.escape(_header(c))}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_cell(r.get(c)))}</td>" for c in columns) + "</tr>" for r in rows
    )
    return f'<div class="wide"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def _provenance(prov: dict[str, Any]) -> str:
    items = []
    for key, value in prov.items():
        if isinstance(value, dict):
            text = "; ".join(f"{k}: {v}" for k, v in value.items())
        elif isinstance(value, list):
            text = ", ".join(map(str, value))
        else:
            text = "–" if value is None else str(value)
        items.append(f"<dt>{html.escape(key)}</dt><dd>{html.escape(text)}</dd>")
    return "<dl>" + "".join(items) + "</dl>"


def render_html(
    *,
    rows: list[dict[str, Any]],
    records: list[Any],
    recommendation: str,
    provenance: dict[str, Any],
    summary_columns: list[str],
    figures: dict[str, str],
    tolerance: float = 0.02,
    figure_notes: list[str] | None = None,
) -> str:
    """The report page; ``figures`` maps a caption to a path relative to the page;
    ``figure_notes`` are sentences printed above the figures."""
    metric = rows[0]["metric"] if rows else "metric"
    title = f"chemtl compare: {provenance.get('dataset', '')} with {provenance.get('model', '')}"
    run_cols = ["strategy", "train_size", "fold", "seed", "status"]
    score_keys = list(dict.fromkeys(k for r in records for k in r.to_row() if k.startswith("test_")))
    run_cols += score_keys + [
        "trainable_params",
        "train_seconds",
        "peak_rss_mb",
        "epochs_run",
        "best_epoch",
        "overfit_epoch",
        "inference_per_s",
        "run_dir",
    ]
    run_rows = [r.to_row() for r in records]
    score_cols, cost_cols = split_summary_columns(summary_columns)
    notes_html = "".join(f"<p>{html.escape(n)}</p>" for n in figure_notes or [])
    failed = [r for r in records if r.status == "failed"]
    figs = "".join(
        f'<figure><img src="{html.escape(src)}" alt="{html.escape(cap)}" width="640">'
        f"<figcaption>{html.escape(cap)}</figcaption></figure>"
        for cap, src in figures.items()
    )
    fail_html = (
        "<h2>Failed runs</h2><ul>"
        + "".join(
            f'<li class="fail">{html.escape(f"{r.strategy} n={r.train_size} seed {r.seed}: {r.error}")}</li>'
            for r in failed
        )
        + "</ul><p>Run the same compare again to retry them; finished runs are reused.</p>"
        if failed
        else ""
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>{CSS}</style></head><body>
<h1>{html.escape(title)}</h1>
<h2>Recommendation</h2>
<p class="rec">{html.escape(recommendation)}</p>
<h2>Summary ({html.escape(metric_label(metric))}, mean and sample standard deviation over seeds/folds)</h2>
<h3>Scores</h3>
{_table(rows, score_cols)}
<h3>Cost</h3>
{_table(rows, cost_cols)}
<p>Within-tolerance margin for the recommendation: {tolerance * 100:g}% of the best mean.
Cheapest = fewest trainable parameters, then least training time. Overfitting epoch = the epoch
of the lowest validation loss, when the epochs after it keep a higher validation loss and a lower
training loss (the gap between them widens).</p>
<h2>Figures</h2>
{notes_html}
{figs}
{fail_html}
<h2>Runs</h2>
{_table(run_rows, run_cols)}
<h2>Provenance</h2>
{_provenance(provenance)}
</body></html>
"""


def write_report(
    out_dir: str | Path,
    *,
    rows: list[dict[str, Any]],
    records: list[Any],
    recommendation: str,
    provenance: dict[str, Any],
    summary_columns: list[str],
    tolerance: float = 0.02,
) -> dict[str, Path]:
    """Write the four figures and report.html into ``out_dir``; returns their paths."""
    out = Path(out_dir)
    fig_dir = out / "figures"
    fig_dir.mkdir(parents=True, exist_ok=True)
    paths = {
        "metric_vs_params": plot_frontier(
            rows, "trainable_params", "trainable parameters (log scale)", fig_dir / FIGURES[0]
        ),
        "metric_vs_time": plot_frontier(
            rows, "train_seconds_mean", "training time (s, log scale)", fig_dir / FIGURES[1]
        ),
        "learning_curves": plot_learning_curves(rows, fig_dir / FIGURES[2]),
        "loss_curves": plot_loss_curves(records, fig_dir / FIGURES[3]),
    }
    kind = learning_figure_kind(rows)
    learning_caption = (
        "Pretrained strategies vs scratch at the one training size (bars)"
        if kind == "bars"
        else "Learning curves: pretrained vs scratch over training-set sizes"
    )
    captions = {
        "Metric vs trainable parameters (Pareto points ringed)": "figures/" + FIGURES[0],
        "Metric vs training time (the accuracy/compute frontier)": "figures/" + FIGURES[1],
        learning_caption: "figures/" + FIGURES[2],
        "Train and validation loss per strategy (overfitting marked)": "figures/" + FIGURES[3],
    }
    notes = []
    if kind == "bars":
        notes.append(
            "One training size, so there is no learning curve: the learning-curve figure is a bar chart "
            "of every strategy beside scratch at that size. Give several --train-sizes for curves."
        )
    page = render_html(
        rows=rows,
        records=records,
        recommendation=recommendation,
        provenance=provenance,
        summary_columns=summary_columns,
        figures=captions,
        tolerance=tolerance,
        figure_notes=notes,
    )
    paths["report_html"] = out / "report.html"
    write_text(paths["report_html"], page)
    return paths


__all__ = [
    "FIGURES",
    "learning_figure",
    "learning_figure_kind",
    "plot_frontier",
    "plot_learning_curves",
    "plot_loss_curves",
    "render_html",
    "split_summary_columns",
    "write_report",
]
