"""`--devices 2`: two DDP processes on the CPU (gloo) finish a run whose model loads."""

from __future__ import annotations

import json

import pandas as pd


def test_two_process_ddp_finetune(tiny_model, data_dir, tmp_path, run_cli):
    out = tmp_path / "ddp"
    proc = run_cli(
        "finetune",
        "--model",
        tiny_model,
        "--data",
        data_dir / "gap.csv",
        "--target",
        "gap",
        "--epochs",
        "2",
        "--batch-size",
        "8",
        "--devices",
        "2",
        "--split-param",
        "frac=0.6,0.2,0.2",
        "--no-progress",
        "--out",
        out,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["world_size"] == 2 and len(metrics["peak_rss_mb_per_rank"]) == 2
    assert metrics["global_step"] == 2 * 3  # 36 rows over 2 ranks, batches of 8: 3 steps per epoch

    from chemtl.pipelines.predict import predict
    from chemtl.transfer import load_finetuned

    model, config = load_finetuned(out)
    assert config.name == "full" and type(model).__name__ == "ChemtlForPropertyPrediction"
    table = pd.read_csv(out / "predictions.csv", keep_default_na=False)  # "NaN" is sodium nitride
    again = predict(out, list(table.input))
    assert (abs(again.prediction - table.prediction) < 1e-6).all()


def test_two_process_ddp_streaming_pretrain(data_dir, tmp_path, run_cli):
    out = tmp_path / "pt"
    proc = run_cli(
        "pretrain",
        "--corpus",
        data_dir / "smiles.txt",
        "--kind",
        "smiles",
        "--size",
        "tiny",
        "--epochs",
        "1",
        "--batch-size",
        "8",
        "--val-rows",
        "6",
        "--warmup-steps",
        "0",
        "--devices",
        "2",
        "--no-progress",
        "--out",
        out,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    metrics = json.loads((out / "metrics.json").read_text())
    # 60 rows, 6 held out: 27 per rank, 3 full batches of 8 each (the partial batch is dropped)
    assert (metrics["world_size"], metrics["n_train"], metrics["global_step"]) == (2, 54, 3)

    from transformers import AutoModel

    import chemtl  # noqa: F401  (registers the Auto classes)
    from chemtl.models import register_auto_classes

    register_auto_classes()
    assert type(AutoModel.from_pretrained(out)).__name__ == "ChemtlModel"
