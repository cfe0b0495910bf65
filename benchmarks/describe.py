"""Benchmark ``describe``: what going through text costs, read back from a describer's output.

Protocol: the descriptions of ``chemtl.data.descriptions.description_table`` (one per compound of
matbench_expt_gap, matbench_expt_is_metal, matbench_mp_gap, matbench_mp_is_metal and
matbench_mp_e_form, joined by compound key) and their seeded split by compound key, the seed
the describer was trained with (its chemtl.json). The held-out compounds are the test side
(``--n-test`` of them, a seeded subset, spellable formulas only). The describer (``--model``,
default the shipped ``composition-t5-small``) describes each one (greedy, or ``--beams N``);
``read_description`` reads the band gap and metal / non-metal back from the text:

- band-gap MAE (eV) against the compound's band gap (unrounded; experimental where measured,
  else DFT), over the descriptions that state one; metal accuracy over all held-out compounds (a
  text that states neither counts as wrong); the read-back rate (both facts stated);
- beside them, on the same split, a chemtl regression head (band gap) and a classification head
  (metal) fine-tuned from ``--head-model`` (default ``composition-small-mp``) through
  ``chemtl.pipelines.finetune`` on ``--n-train`` training compounds (seeded subset) with the
  validation side for early stopping: the cost of going through text is the gap between them;
- the rounding floor: the reference descriptions read back (one decimal) against the same truth;
- text metrics against the reference descriptions: corpus BLEU (sacrebleu, default 13a
  tokenisation) and mean ROUGE-L F1 (rouge-score, no stemming; it lower-cases and splits on
  non-alphanumerics, so "2.1" is the two tokens 2 and 1), as MolT5 reports them; exact match.

Note: ``composition-small-mp`` was pretrained with DFT band-gap and formation-energy labels of the
Materials Project (supervised stage), test compounds included; the heads start with that
advantage over the describer, which never saw a test compound.

Target: every description reads back (read-back rate 1.0). ``--quick`` (a smoke run, no
verdicts) uses the experimental sources only, a small subset and one epoch.

    python benchmarks/describe.py
    python benchmarks/describe.py --model runs/describer --n-test 2000 --n-train 20000
    python benchmarks/describe.py --quick --model DIR --head-model DIR
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

NAME = "describe"
DEFAULT_MODEL = "composition-t5-small"
DEFAULT_HEAD_MODEL = "composition-small-mp"
QUICK = {"n_test": 24, "n_train": 120, "epochs": 1, "patience": 0}
QUICK_SOURCES = ("expt_gap", "expt_is_metal")


def build_parser() -> argparse.ArgumentParser:
    parser = common.Parser(prog="chemtl benchmark describe", description=__doc__.split("\n\n")[0])
    common.add_common_args(parser)
    parser.add_argument("--model", default=DEFAULT_MODEL, metavar="NAME|DIR", help="the describer")
    parser.add_argument(
        "--head-model",
        default=DEFAULT_HEAD_MODEL,
        metavar="NAME|DIR",
        help="the encoder the heads start from",
    )
    parser.add_argument("--n-test", type=int, help="held-out compounds described (default 2000)")
    parser.add_argument("--n-train", type=int, help="training compounds of the heads (default 20000)")
    parser.add_argument("--epochs", type=int, help="head fine-tuning epochs (default 10)")
    parser.add_argument("--patience", type=int, help="head early stopping (default 3; 0: off)")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument(
        "--beams", type=int, default=1, help="beam width of the describer (default 1: greedy)"
    )
    parser.add_argument("--seed", type=int, default=0, help="subset and training seed (default 0)")
    parser.add_argument(
        "--work-dir", metavar="DIR", help="where the head runs go (default build/benchmarks/describe)"
    )
    return parser


def text_metrics(hypotheses: list[str], references: list[str]) -> dict[str, float]:
    """Corpus BLEU (sacrebleu, 0-100), mean ROUGE-L F1 (rouge-score, 0-1) and exact match rate."""
    import sacrebleu
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)
    rouge = [scorer.score(r, h)["rougeL"].fmeasure for h, r in zip(hypotheses, references)]
    return {
        "bleu": float(sacrebleu.corpus_bleu(hypotheses, [references]).score),
        "rouge_l": float(np.mean(rouge)) if rouge else float("nan"),
        "exact_match": float(np.mean([h == r for h, r in zip(hypotheses, references)]))
        if rouge
        else float("nan"),
    }


def read_back_scores(texts: list[str], gaps: np.ndarray, metals: np.ndarray) -> dict[str, Any]:
    """Band-gap MAE over texts stating a gap, metal accuracy over all (unstated: wrong), rates."""
    from chemtl.data.descriptions import read_description

    read = [read_description(t) for t in texts]
    has_gap = np.array([r["band_gap"] is not None for r in read])
    has_metal = np.array([r["metal"] is not None for r in read])
    read_gaps = np.array([r["band_gap"] if r["band_gap"] is not None else np.nan for r in read])
    correct = np.array([r["metal"] is not None and r["metal"] == bool(m) for r, m in zip(read, metals)])
    return {
        "band_gap_mae": float(np.mean(np.abs(read_gaps[has_gap] - gaps[has_gap]))) if has_gap.any() else None,
        "metal_accuracy": float(np.mean(correct)) if len(correct) else None,
        "read_back_rate": float(np.mean(has_gap & has_metal)) if len(read) else None,
        "n": len(texts),
    }


def _heads(table, args, work: Path, log) -> dict[str, Any]:
    """Regression (band gap) and classification (metal) heads from --head-model on the same split."""
    import pandas as pd

    from chemtl.data.dataset import Dataset
    from chemtl.pipelines.finetune import finetune
    from chemtl.training.config import DataConfig, TrainConfig
    from chemtl.transfer import StrategyConfig

    train_cfg = TrainConfig(
        lr=args.lr,
        batch_size=args.batch_size,
        max_epochs=args.epochs,
        patience=args.patience or None,
        seed=args.seed,
        progress_bar=False,
        checkpoint_every_n_steps=1000,
    )
    out: dict[str, Any] = {}
    for task, column in (("regression", "band_gap"), ("classification", "metal")):
        values = table[column].to_numpy()
        ds = Dataset(
            name=f"describe_{column}",
            inputs=table["formula"].tolist(),
            targets=values.astype(np.float64) if task == "regression" else values.astype(np.int64),
            kind="composition",
            task=task,
            info={"classes": ["non-metal", "metal"]} if task == "classification" else {},
            extra={"split": table["split"].tolist()},
        )
        run_dir = work / f"head-{column}"
        log(f"  {task} head on {int((table['split'] == 'train').sum())} training compounds -> {run_dir}")
        result = finetune(
            args.head_model,
            DataConfig(dataset=ds.name, split="shipped", task=task),
            train_cfg,
            StrategyConfig("full"),
            run_dir,
            overwrite=True,
            dataset=ds,
            command=["chemtl", "benchmark", NAME],
        )
        pred = pd.read_csv(run_dir / "predictions.csv")
        test = pred[pred["split"] == "test"]
        if task == "regression":
            out["band_gap_mae"] = float(np.mean(np.abs(test["prediction"] - test["target"])))
        else:
            out["metal_accuracy"] = float(np.mean(test["prediction"] == test["target"]))
        out[f"{column}_train_seconds"] = result.metrics["train_seconds"]
        out[f"{column}_epochs_run"] = result.metrics["epochs_run"]
    return out


def main(argv: list[str] | None = None) -> dict[str, Path]:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    started_iso, started = common.now_iso(), time.perf_counter()
    defaults = QUICK if args.quick else {"n_test": 2000, "n_train": 20000, "epochs": 10, "patience": 3}
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    work = Path(
        args.work_dir or common.REPO_ROOT / "build" / "benchmarks" / (NAME + ("-quick" if args.quick else ""))
    )

    def log(line: str) -> None:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()

    from chemtl.data.descriptions import SOURCES, description_table, load_sources, read_description
    from chemtl.pipelines.describe import describe, load_describer_dir, spellable_rows

    describer = load_describer_dir(args.model)
    split_seed = int(describer.meta.get("split", {}).get("seed", 0))
    roles = QUICK_SOURCES if args.quick else tuple(SOURCES)
    log(f"{NAME}: descriptions from {', '.join(SOURCES[r] for r in roles)} (split seed {split_seed})")
    tables = load_sources({r: SOURCES[r] for r in roles})
    table, n_unspellable = spellable_rows(description_table(tables, seed=split_seed))
    rng = np.random.default_rng(args.seed)
    chosen = []
    for side, n in (("train", args.n_train), ("val", max(args.n_train // 8, 1)), ("test", args.n_test)):
        idx = np.flatnonzero((table["split"] == side).to_numpy())
        chosen.append(np.sort(rng.choice(idx, size=min(n, len(idx)), replace=False)))
    table = table.iloc[np.concatenate(chosen)].reset_index(drop=True)
    test = table[table["split"] == "test"]
    formulas, refs = test["formula"].tolist(), test["description"].tolist()
    gaps, metals = test["band_gap"].to_numpy(dtype=np.float64), test["metal"].to_numpy(dtype=bool)

    log(f"  describing {len(formulas)} held-out compounds with {args.model} (beams {args.beams})")
    t0 = time.perf_counter()
    texts = describe(describer, formulas, beams=args.beams)
    describe_seconds = time.perf_counter() - t0
    scores = read_back_scores(texts, gaps, metals)
    floor = read_back_scores(refs, gaps, metals)
    text = text_metrics(texts, refs)
    heads = _heads(table, args, work, log)

    import rouge_score
    import sacrebleu

    rows = [
        ["describer (read back)", scores["band_gap_mae"], scores["metal_accuracy"], scores["read_back_rate"]],
        ["regression / classification head", heads["band_gap_mae"], heads["metal_accuracy"], None],
        [
            "reference descriptions (rounding floor)",
            floor["band_gap_mae"],
            floor["metal_accuracy"],
            floor["read_back_rate"],
        ],
    ]
    rows = [[r[0], *(common.rounded(v) for v in r[1:])] for r in rows]
    payload = {
        "title": "Describe: composition to text, read back",
        "measured": (
            "A T5 describer's descriptions of held-out compounds (test side of the seeded split by "
            "compound key), with the band gap and metal / non-metal read back from the text, beside "
            "a regression and a classification head fine-tuned on the same split; BLEU and ROUGE-L "
            "against the reference descriptions."
        ),
        "split": {
            "method": "sha256(seed:key) by compound key",
            "seed": split_seed,
            "fractions": [0.8, 0.1, 0.1],
        },
        "seed": args.seed,
        "targets": [
            common.target("read-back rate (band gap and metal stated)", scores["read_back_rate"], 1.0, ">=")
        ],
        "tables": [
            {
                "title": f"held-out compounds ({len(formulas)})",
                "columns": ["model", "band-gap MAE (eV)", "metal accuracy", "read-back rate"],
                "rows": rows,
                "note": "band gap: experimental where measured, else DFT (PBE); one decimal in the text",
            },
            {
                "title": "text metrics against the reference descriptions",
                "columns": ["BLEU", "ROUGE-L F1", "exact match"],
                "rows": [
                    [
                        common.rounded(text["bleu"]),
                        common.rounded(text["rouge_l"]),
                        common.rounded(text["exact_match"]),
                    ]
                ],
                "note": f"sacrebleu {sacrebleu.__version__} corpus BLEU (13a); rouge-score "
                f"{getattr(rouge_score, '__version__', '0.1.2')} ROUGE-L F1, no stemming",
            },
        ],
        "references": [],
        "notes": [
            f"{n_unspellable} compounds dropped: not writable with whole amounts up to 99",
            "the heads' encoder (composition-small-mp) was pretrained on Materials Project DFT band gaps "
            "and formation energies, test compounds included; the describer never saw a test compound",
        ],
        "data": {
            "model": args.model,
            "model_dir": str(describer.path),
            "head_model": args.head_model,
            "sources": [SOURCES[r] for r in roles],
            "n_train": int((table["split"] == "train").sum()),
            "n_val": int((table["split"] == "val").sum()),
            "n_test": len(formulas),
            "beams": args.beams,
            "describer": scores,
            "heads": heads,
            "reference_floor": floor,
            "text": text,
            "describe_seconds": round(describe_seconds, 2),
            "samples": [
                {"formula": f, "description": t, "reference": r, "read_back": read_description(t)}
                for f, t, r in list(zip(formulas, texts, refs))[:10]
            ],
        },
    }
    return common.publish(NAME, payload, args, argv, started, started_iso)


if __name__ == "__main__":
    common.print_paths(main())
