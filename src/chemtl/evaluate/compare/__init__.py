"""``compare``: every transfer strategy on identical rows and seeds, summarised and reported.

    config = CompareConfig(model="composition-small", data=DataConfig("matbench_expt_gap",
                           split="matbench", fold=0), strategies=("full", "lora", "scratch"),
                           train_sizes=(100, "all"), seeds=(0, 1, 2), train=TrainConfig(max_epochs=20))
    result = compare(config, "runs/gap-compare")
    print(format_table(result.rows)); print(result.recommendation)

How the rows are chosen (the same for every strategy):

- The split comes from ``config.data`` exactly as ``chemtl finetune`` resolves it (method, fold,
  split seed; validation rows carved from the training side with ``val_frac`` when the method has
  none). Each fold in ``config.folds`` is one more replicate, like a seed.
- A training-set size ``n`` takes the first ``n`` rows of a permutation of the split's training
  side drawn from ``derive_seed(seed, "compare-train-subset", fold)``: it depends on the seed and
  the fold only, never on the strategy or the size, so smaller subsets are prefixes of larger
  ones (nested learning curves) and every strategy of a (size, fold, seed) trains on identical
  rows. ``"all"`` is the whole training side (with several folds: the smallest training side of
  them, so every fold trains on as many rows); ``size_cap`` clips every size.
- Validation and test rows are the split's own, the same for every size, strategy and seed; the
  validation rows (early stopping) are not counted in ``n``.
- Run ``(strategy, n, fold, seed)`` is ``finetune(...)`` with ``TrainConfig.seed = seed`` into
  ``out_dir/runs/<strategy>/n<n>/seed<seed>`` (``fold<f>_seed<seed>`` with several folds), on the
  table restricted to its rows (``out_dir/splits/<tag>.json`` is the split it read,
  ``<tag>.rows.json`` the row numbers in the full table).

Resuming: each run directory gets ``compare_run.json`` with a hash of everything that decides its
numbers (model weights, table sha256, the run's rows, data/train/strategy configs). Running the
same compare again skips runs whose ``metrics.json`` exists with a matching hash, resumes an
interrupted one from its checkpoint, and retries failed ones. ``out_dir/compare_config.json``
holds the config; a different config in the same directory is refused unless ``overwrite``
(runs whose hash still matches are reused even then; the others are replaced).

Files written into ``out_dir`` (all atomically):

    compare_config.json   the CompareConfig
    summary.csv           one row per (strategy, train size): see ``SUMMARY_COLUMNS``
    runs.csv              one row per run: scores, cost, epochs, overfitting epoch, status
    compare.json          config, summary rows, runs, recommendation, provenance
    report.html           table, recommendation, figures, provenance (renders offline)
    figures/              metric_vs_params.png, metric_vs_time.png, learning_curves.png, loss_curves.png
    splits/               the rows of each (size, fold, seed)
    runs/...              one ``finetune`` run directory each (checkpoints removed once finished
                          unless ``keep_checkpoints``)

Cost columns: ``trainable_params``/``total_params`` and ``train_seconds`` come from each run's
metrics.json; ``peak_rss_mb`` is the peak resident memory of this process during the run (the peak
is reset before each run through ``/proc/self/clear_refs`` where Linux allows it, so runs do not
inherit an earlier run's peak; imports and the loaded table are part of every figure);
``inference_per_s`` is measured once per strategy on its run at the largest size (first fold and
seed): the saved run directory loaded as ``chemtl predict`` loads it, a forward pass in eval mode
with batch 256 over up to ``throughput_rows`` test inputs (tokenisation included), the median of
``throughput_repeats`` timed passes after one warm-up.

The package, by concept: ``config`` (``CompareConfig``, strategy options, the seed and list
parsers), ``runs`` (weights fingerprints, run hashes, seeded subsets, reuse-or-train), ``probes``
(peak memory, inference timing), ``summary`` (records, mean/std with ``STD_DDOF``, csv and text
table) and ``pipeline`` (``compare`` itself).
"""

from __future__ import annotations

from chemtl.evaluate.compare.config import (
    CONFIG_FILE,
    DEFAULT_STRATEGIES,
    RUN_COLUMNS,
    SUMMARY_COLUMNS,
    TASK_METRICS,
    CompareConfig,
    CompareError,
    default_trainable_layers,
    parse_int_list,
    parse_seeds,
    strategy_config,
)
from chemtl.evaluate.compare.pipeline import compare
from chemtl.evaluate.compare.probes import current_peak_rss_mb, measure_throughput, reset_peak_rss
from chemtl.evaluate.compare.runs import (
    RUN_FILE,
    RUN_FORMAT,
    FinishedRun,
    finished_run,
    hash_json,
    model_fingerprint,
    read_json,
    read_loss_curves,
    reuse_or_train,
    run_hash,
    seeded_subset,
    sha256_file,
    subset_rows,
)
from chemtl.evaluate.compare.summary import (
    STD_DDOF,
    CompareResult,
    RunRecord,
    format_table,
    mean_of,
    mean_std,
    std_of,
    summarise,
    summary_columns,
    write_csv,
)

__all__ = [
    "CONFIG_FILE",
    "DEFAULT_STRATEGIES",
    "RUN_COLUMNS",
    "RUN_FILE",
    "RUN_FORMAT",
    "STD_DDOF",
    "SUMMARY_COLUMNS",
    "TASK_METRICS",
    "CompareConfig",
    "CompareError",
    "CompareResult",
    "FinishedRun",
    "RunRecord",
    "compare",
    "current_peak_rss_mb",
    "finished_run",
    "default_trainable_layers",
    "format_table",
    "hash_json",
    "mean_of",
    "mean_std",
    "measure_throughput",
    "model_fingerprint",
    "parse_int_list",
    "parse_seeds",
    "read_json",
    "read_loss_curves",
    "reset_peak_rss",
    "reuse_or_train",
    "run_hash",
    "seeded_subset",
    "sha256_file",
    "std_of",
    "strategy_config",
    "subset_rows",
    "summarise",
    "summary_columns",
    "write_csv",
]
