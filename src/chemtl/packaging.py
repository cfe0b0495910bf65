"""Packaging a finished pretraining run as a shipped model: its files, a model card, a loss curve.

``python -m chemtl.packaging RUN_DIR OUT_DIR NAME COMMAND [NOTES.md]`` (the Makefile's
``pretrained`` target) copies the run's model files into ``chemtl/resources/models/NAME`` and
writes ``README.md`` (the model card) and ``loss_curve.png`` beside them. Loading shipped models
is ``chemtl.pretrained``'s job; this module only writes them.
"""

from __future__ import annotations

import os
from pathlib import Path

from chemtl.errors import ChemtlError

# Files of a run directory that a shipped model keeps (checkpoints and logs stay behind).
SHIPPED_FILES = (
    "config.json",
    "model.safetensors",
    "chemtl.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "metrics.json",
    "manifest.json",
    "train_config.json",
)
# Files a shipped model keeps when its run has them: a describer's decoder vocabulary and its
# generation defaults (chemtl.pipelines.describe).
OPTIONAL_FILES = ("text_tokenizer.json", "generation_config.json")


def _loss_curve(log_csv: Path, png: Path) -> dict[str, float | int | None]:
    """Plot the training loss per step (and validation loss where logged); return the last values."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    from chemtl.atomic import atomic_open

    log = pd.read_csv(log_csv)
    train = log.dropna(subset=["train_loss_step"]) if "train_loss_step" in log else log.iloc[0:0]
    val_col = next((c for c in ("val_loss", "val_loss_epoch") if c in log), None)
    val = log.dropna(subset=[val_col]) if val_col else log.iloc[0:0]
    fig, ax = plt.subplots(figsize=(6, 3.5), dpi=110)
    if len(train):
        smooth = train["train_loss_step"].rolling(50, min_periods=1).mean()
        ax.plot(train["step"], train["train_loss_step"], color="0.8", lw=0.6, label="train (per step)")
        ax.plot(train["step"], smooth, color="C0", label="train (50-step mean)")
    if len(val):
        ax.plot(val["step"], val[val_col], "o-", color="C3", label="validation")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.legend()
    fig.tight_layout()
    with atomic_open(png, "wb") as handle:
        fig.savefig(handle, format="png")
    plt.close(fig)
    last_train = float(train["train_loss_step"].tail(50).mean()) if len(train) else None
    return {
        "final_train_loss_50": last_train,
        "final_val_loss": float(val[val_col].iloc[-1]) if len(val) else None,
    }


def _source_rows(run_config: dict, metrics: dict, data: dict) -> tuple[str, list[tuple[str, str]]]:
    """What the model learned from: a one-line description and the card's rows about its data."""
    if run_config.get("run") == "describe":
        return "trained to describe compositions in words (T5, composition to text)", [
            (
                "descriptions",
                f"{data.get('rows')} compounds of "
                + ", ".join(f"`{s.get('name')}`" for s in (data.get("sources") or {}).values())
                + f" (split seed {data.get('split_seed')}; test compounds never trained on)",
            ),
            (
                "rows trained / validated / steps / epochs",
                f"{metrics.get('n_train')} / {metrics.get('n_val')} / {metrics.get('global_step')} / "
                f"{metrics.get('epochs_run')}",
            ),
            ("text vocabulary", f"{metrics.get('text_vocab_size')} words"),
        ]
    if run_config.get("run") != "supervised_pretrain":
        objectives = " + ".join(metrics.get("objectives") or ["mlm"])
        how = f"pretrained with {objectives} ({metrics.get('mask', '-')} masking)"
        if metrics.get("objectives") == ["causal"]:
            how = "trained on next-token prediction (causal language model)"
        return how, [
            (
                "corpus",
                f"{data.get('name')} ("
                + ("streamed, rows not counted" if data.get("rows") is None else f"{data['rows']} rows")
                + f"; sha256 `{data.get('sha256')}`)",
            ),
            (
                "rows seen / steps / epochs",
                f"{metrics.get('rows_seen')} / {metrics.get('global_step')} / {metrics.get('epochs_run')}",
            ),
        ]
    sources = data.get("sources", [])
    rows = [
        (
            "initialised from",
            f"`{Path(run_config['init_from']).name}`" if run_config.get("init_from") else "random weights",
        ),
    ]
    for info, target in zip(sources, metrics.get("targets", [])):
        dropped = info.get("excluded_rows")
        rows.append(
            (
                f"source `{target}`",
                f"{info.get('rows')} rows, sha256 `{info.get('sha256')}`"
                + ("" if dropped is None else f"; {dropped} rows excluded"),
            )
        )
    excluded = data.get("exclude") or []
    rows.append(
        (
            "excluded compounds",
            "; ".join(
                f"every compound of `{e['dataset']}` ({e['compounds']} compounds in {e['rows']} rows, matched "
                "by reduced composition, so `Cu1.8S` is `Cu9S5`)"
                for e in excluded
            )
            or "none: compounds of downstream test sets may have been seen with a label",
        )
    )
    rows.append(
        (
            "rows trained / validated / steps / epochs",
            f"{metrics.get('n_train')} / {metrics.get('n_val')} / {metrics.get('global_step')} / "
            f"{metrics.get('epochs_run')}",
        )
    )
    for target, val in (metrics.get("val") or {}).items():
        if val:
            rows.append((f"validation MAE `{target}`", f"{val['mae']:.4f} ({val['n']} rows)"))
    return "trained by supervised multi-task regression (an intermediate stage)", rows


def package_model(
    run_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    name: str,
    command: str,
    notes: str | os.PathLike | None = None,
) -> Path:
    """Copy a pretraining run's model files to ``out_dir`` with a model card and a loss curve.

    ``command`` is the exact command line that regenerates the run (it goes in the card);
    ``notes`` a markdown file whose text is appended to the card (measurements about the model).
    """
    import json
    import shutil

    from chemtl.atomic import write_text

    run, out = Path(run_dir), Path(out_dir)
    missing = [f for f in SHIPPED_FILES if not (run / f).is_file()]
    if missing:
        raise ChemtlError(f"{run}: not a finished pretraining run (missing {', '.join(missing)})")
    if notes is not None and not Path(notes).is_file():
        raise ChemtlError(f"model card notes {str(notes)!r} is not a file")
    out.mkdir(parents=True, exist_ok=True)
    for f in SHIPPED_FILES:
        shutil.copyfile(run / f, out / f)
    for f in OPTIONAL_FILES:
        if (run / f).is_file():
            shutil.copyfile(run / f, out / f)
    curve = _loss_curve(run / "logs" / "metrics.csv", out / "loss_curve.png")
    metrics = json.loads((run / "metrics.json").read_text())
    manifest = json.loads((run / "manifest.json").read_text())
    config = json.loads((run / "train_config.json").read_text())
    meta = json.loads((run / "chemtl.json").read_text())
    size_mb = (out / "model.safetensors").stat().st_size / 1e6
    resumed = ""
    if manifest.get("resumed_from_step"):
        resumed = f" (resumed from step {manifest['resumed_from_step']} after an interruption)"
    machine = manifest.get("machine", {})
    how, data_rows = _source_rows(config, metrics, manifest.get("data", {}))
    candidates = (curve["final_val_loss"], metrics.get("val_loss"), metrics.get("best_val_loss"))
    val_loss = next((v for v in candidates if v is not None), None)
    rows = [
        *data_rows,
        ("final training loss (mean of last 50 steps)", curve["final_train_loss_50"]),
        ("final validation loss", val_loss),
        ("parameters", f"{metrics.get('total_params')} ({size_mb:.1f} MB of safetensors)"),
        ("wall time (training)", f"{metrics.get('train_seconds')} s{resumed}"),
        ("peak RSS", f"{metrics.get('peak_rss_mb')} MB"),
        ("machine", f"{machine.get('cpu_count')} CPU cores, {machine.get('platform')}"),
        ("versions", ", ".join(f"{k} {v}" for k, v in manifest.get("versions", {}).items())),
        ("git commit", manifest.get("git_commit")),
    ]
    causal = meta.get("task") == "causal"
    for cname, c in (meta.get("conditions") or {}).items() if causal else ():
        src = c["source"]
        rows.insert(
            len(data_rows),
            (
                f"condition `{cname}`",
                f"{len(c['tokens'])} quantile bins of `{src['dataset']}:{src['column']}` ({src['rows']} rows), "
                f"edges {', '.join(f'{e:.4g}' for e in c['edges'])}",
            ),
        )
    table = "\n".join(f"| {label} | {value} |" for label, value in rows)
    extra = "" if notes is None else "\n" + Path(notes).read_text().strip() + "\n"
    what, use = "encoder", f'`chemtl.load_model("{name}")` or `--model {name}` on any verb'
    if causal:
        what = "generator (Hugging Face GPT-2)"
        use = f'`chemtl generate --model {name}` or `chemtl.load_model("{name}")` (a `GPT2LMHeadModel`)'
    elif meta.get("task") == "describe":
        what, use = "describer", f"`chemtl describe --model {name} FORMULA...`"
    card = f"""# {name}

A chemtl {meta.get("kind", config["model"]["kind"])} {what}, size `{config["model"]["size"]}`, {how}.
Load it offline with {use}.

| | |
|---|---|
{table}

![loss curve](loss_curve.png)
{extra}
Regenerate (also part of `make pretrained`):

    {command}

The full resolved configuration is in `train_config.json`, the run's provenance in
`manifest.json`, its numbers in `metrics.json`.
"""
    write_text(out / "README.md", card)
    return out


def main(argv: list[str] | None = None) -> int:
    """``python -m chemtl.packaging RUN_DIR OUT_DIR NAME COMMAND [NOTES.md]``: package a run."""
    import sys

    args = sys.argv[1:] if argv is None else argv
    if len(args) not in (4, 5):
        sys.stderr.write("usage: python -m chemtl.packaging RUN_DIR OUT_DIR NAME COMMAND [NOTES.md]\n")
        return 2
    print(package_model(*args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
