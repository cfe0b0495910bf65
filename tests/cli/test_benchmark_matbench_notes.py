"""`chemtl benchmark matbench_expt_gap`: the note on each model's supervised stage comes from its files."""

from __future__ import annotations

import json

from chemtl.cli.benchmark import benchmarks_dir, load_benchmark


def test_supervised_stage_note_reads_the_models_metrics(tmp_path):
    bench = load_benchmark("matbench_expt_gap", benchmarks_dir())
    stage, plain = tmp_path / "stage-model", tmp_path / "mlm-model"
    stage.mkdir(), plain.mkdir()
    (stage / "metrics.json").write_text(json.dumps({
        "run": "supervised_pretrain", "targets": ["a:target", "b:target"], "n_train": 120, "epochs_run": 1,
        "excluded": {"rows": {"a": 5, "b": 0}}, "val": {"a:target": {"mae": 0.25, "n": 9}, "b:target": {"mae": 0.125, "n": 3}},
    }))  # fmt: skip
    (plain / "metrics.json").write_text(json.dumps({"run": "pretrain"}))
    assert bench.supervised_stage_notes([str(stage), str(plain), str(tmp_path / "absent")]) == [
        "stage-model: supervised stage on a:target, b:target (120 training rows, 1 epoch(s)); rows excluded as "
        "compounds of matbench_expt_gap: a 5, b 0; validation MAE a:target 0.2500, b:target 0.1250."
    ]
