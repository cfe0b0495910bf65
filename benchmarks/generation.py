"""Benchmark ``generation``: samples of the shipped generators scored with the field's own metrics.

Each generator (``--models``, default composition-gpt-small and smiles-gpt-small) samples ``--n``
(10,000) outputs at ``--temperature`` (1.0) through ``chemtl.pipelines.generate.generate``; then

- molecules (smiles and selfies models; SELFIES are decoded to SMILES first, a sample that does not
  decode counting invalid): the MOSES metrics of ``chemtl.evaluate.generation.molecule_metrics``
  against the MOSES train set (novelty), and seeded random subsamples of ``--ref-size`` (5,000)
  molecules of the MOSES test and scaffold-test sets (SNN, Frag, Scaf, FCD), beside the MOSES
  CharRNN row as published;
- compositions: ``composition_metrics`` against the inorganic_corpus (novelty) and every labelled
  composition dataset of the registry (in_labelled), beside the random element-frequency baseline
  (``random_composition_baseline`` on the corpus, ``--n`` samples) and a seeded ``--ref-size``
  subsample of the corpus itself (its own SMACT-valid fraction is the target to meet).

The reference sets are subsampled so a run stays near 10 minutes on 2 cores besides the sampling:
FCD and the filters cost about 13 ms a molecule each here. SNN against 5,000 reference molecules
is lower than against MOSES's 176,074 (fewer candidate neighbours), and FCD on 5,000 is biased
upward; ``--ref-size 0`` uses the whole sets (about an hour).

    python benchmarks/generation.py                 # the benchmark
    python benchmarks/generation.py --quick         # a smoke run in seconds: no verdicts
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

NAME = "generation"
MODELS = ("composition-gpt-small", "smiles-gpt-small", "selfies-gpt-small")
KINDS = ("composition", "smiles", "selfies")
QUICK = {"n": 64, "ref_size": 200, "corpus_limit": 3000, "labelled_limit": 500, "train_limit": 5000}
FU_2023 = "Fu et al. 2023 (generated inorganic formulas), as published"
MOLECULE_COLUMNS = (
    "validity", "unique@1000", "unique@10000", "novelty", "IntDiv1", "IntDiv2", "filters",
    "SNN", "Frag", "Scaf", "FCD", "SNN/TestSF", "Frag/TestSF", "Scaf/TestSF", "FCD/TestSF",
)  # fmt: skip
COMPOSITION_COLUMNS = (
    "validity", "uniqueness", "novelty", "in_labelled", "element_set_diversity", "element_set_jaccard",
    "smact_valid", "smact_valid_no_alloys",
)  # fmt: skip
SampleFn = Callable[[str, int, int, "dict[str, float] | None"], list[str]]
PredictFn = Callable[[list[str]], "list[float]"]
CONDITION = "band_gap"
REGRESSOR_MODEL = "composition-small-mp"
REGRESSOR_DATASET = "matbench_expt_gap"


def build_parser() -> argparse.ArgumentParser:
    p = common.Parser(
        prog=f"chemtl benchmark {NAME}",
        description="Samples of the shipped generators scored with the MOSES metrics (molecules) and "
        "validity, novelty and SMACT plausibility (compositions), beside the MOSES CharRNN row and a "
        "random element-frequency baseline.",
    )
    common.add_common_args(p)
    p.add_argument(
        "--models",
        default=",".join(MODELS),
        metavar="LIST",
        help="generators, comma-separated: shipped names or model directories, each optionally "
        "KIND=NAME|DIR (kind composition, smiles or selfies; else read from its chemtl.json) "
        f"(default {','.join(MODELS)})",
    )
    p.add_argument("--n", type=int, default=None, help="samples per generator (default 10000; quick 64)")
    p.add_argument("--temperature", type=float, default=1.0, help="sampling temperature (default 1.0)")
    p.add_argument("--seed", type=int, default=0, help="sampling and subsampling seed (default 0)")
    p.add_argument(
        "--ref-size",
        type=int,
        default=None,
        help="molecules drawn from the MOSES test and scaffold-test sets, and formulas from the corpus "
        "for its own SMACT fraction (default 5000; quick 200; 0 = all)",
    )
    p.add_argument(
        "--no-fcd",
        action="store_true",
        help="leave FCD out (about 13 ms a molecule; always out of a quick run, whose sets are under "
        "512 molecules: fcd_torch's matrix square root of their rank-deficient covariance takes ~12 s)",
    )
    p.add_argument(
        "--condition-n",
        type=int,
        default=None,
        help="samples per band-gap bin for the conditioning measurement (default 1000; quick 16)",
    )
    p.add_argument(
        "--regressor",
        default=None,
        metavar="DIR",
        help=f"the fine-tuned chemtl band-gap model that judges the conditioned samples (default: "
        f"{REGRESSOR_MODEL} fine-tuned here on {REGRESSOR_DATASET} Matbench fold 0, reused once finished)",
    )
    p.add_argument("--no-conditioning", action="store_true", help="leave the conditioning measurement out")
    p.add_argument(
        "--work-dir",
        default=None,
        metavar="DIR",
        help="where the judge regressor is trained (default build/benchmarks/generation[-quick])",
    )
    return p


# ----------------------------------------------------------------------------------------------
# the judge of conditioning


def _work_dir(args: argparse.Namespace) -> Path:
    return Path(
        args.work_dir or common.REPO_ROOT / "build" / "benchmarks" / (NAME + ("-quick" if args.quick else ""))
    )


def _model_conditions(ref: str) -> dict[str, Any]:
    from chemtl.pipelines.modeldir import read_meta

    return read_meta(ref).get("conditions") or {}


def judge_regressor(args: argparse.Namespace, log: Callable[[str], None]) -> tuple[PredictFn, dict[str, Any]]:
    """The band-gap regressor that judges conditioned samples, and what it is: ``--regressor DIR``,
    or composition-small-mp fully fine-tuned on matbench_expt_gap Matbench fold 0 (15 epochs,
    patience 4, the matbench_expt_gap benchmark's settings; 10% of the training rows validate),
    trained in the work directory once and reused while its key matches. Its ``control``: the
    fold-0 test rows (never seen by the default judge) with their labels."""
    import numpy as np

    from chemtl.data import load_dataset
    from chemtl.data.splits import matbench_folds
    from chemtl.pipelines.predict import predict

    ds = load_dataset(REGRESSOR_DATASET)
    test = matbench_folds(ds.inputs)[0].test
    info: dict[str, Any] = {"dataset": REGRESSOR_DATASET, "control_rows": int(len(test))}
    if args.regressor:
        model_dir = args.regressor
        info["model"] = str(model_dir)
        info["note"] = f"given by --regressor; the control rows are {REGRESSOR_DATASET} fold 0's test rows"
    else:
        from chemtl.evaluate.compare import model_fingerprint, strategy_config
        from chemtl.shipped import resolve_model_dir
        from chemtl.training.config import DataConfig, TrainConfig

        base = resolve_model_dir(REGRESSOR_MODEL)
        train_cfg = TrainConfig(
            lr=1e-4, head_lr=1e-3, batch_size=32, max_epochs=2 if args.quick else 15, patience=4,
            seed=args.seed, progress_bar=False, checkpoint_every_n_steps=1000,
        )  # fmt: skip
        data = DataConfig(dataset=REGRESSOR_DATASET, split="matbench", fold=0)
        model_dir = _work_dir(args) / "regressor"
        log(
            f"generation: judge regressor {REGRESSOR_MODEL}/full on {REGRESSOR_DATASET} fold 0 -> {model_dir}"
        )
        done = common.finetune_pinned(
            str(base), model_fingerprint(base), REGRESSOR_DATASET, ds, data, "matbench-fold0",
            train_cfg, strategy_config("full", None), model_dir, False, NAME,
        )  # fmt: skip
        test_metrics = done.metrics.get("test") or {}
        info.update(
            model=f"{REGRESSOR_MODEL} / full, fine-tuned on {REGRESSOR_DATASET} Matbench fold 0",
            run_dir=str(model_dir),
            reused=bool(done.reused),
            test_mae=test_metrics.get("mae"),
            epochs_run=done.metrics.get("epochs_run"),
        )
    labels = np.asarray(ds.targets, dtype=np.float64)[test]
    info["control_inputs"] = [ds.inputs[i] for i in test]
    info["control_labels"] = labels.tolist()

    def predict_fn(inputs: list[str]) -> list[float]:
        if not inputs:
            return []
        return [float(x) for x in predict(str(model_dir), inputs)["prediction"]]

    return predict_fn, info


def measure_conditioning(
    label: str,
    ref: str,
    condition: dict[str, Any],
    unconditioned: list[str],
    args: argparse.Namespace,
    sample_fn: SampleFn,
    predict_fn: PredictFn,
    judge: dict[str, Any],
    log: Callable[[str], None],
) -> dict[str, Any]:
    """Samples per bin of the model's band-gap condition (``bin_values``), the judge's predictions
    on the valid ones, against the same number of unconditioned samples and the judge on real
    held-out compounds of each bin (``conditioning_summary``)."""
    from chemtl.data.conditions import bin_index, bin_values
    from chemtl.evaluate import generation as gen
    from chemtl.seeds import derive_seed

    def judged(samples: list[str]) -> tuple[list[str], list[float]]:
        valid, _ = gen.valid_with_keys(samples)
        return valid, predict_fn(valid)

    edges = condition["edges"]
    values = bin_values(condition)
    predicted, per_bin = {}, {}
    for b, value in enumerate(values):
        seed = derive_seed(args.seed, "condition", b)
        samples = list(sample_fn(ref, args.condition_n, seed, {CONDITION: value}))
        valid, preds = judged(samples)
        predicted[b] = preds
        per_bin[b] = {"value": value, "token": condition["tokens"][b], "seed": seed, "n_samples": len(samples),
                      "n_valid": len(valid), "examples": samples[:8]}  # fmt: skip
        log(
            f"generation: {label} {CONDITION}={value:g} ({condition['tokens'][b]}): {len(valid)} valid judged"
        )
    _, base = judged(unconditioned[: args.condition_n])
    control: dict[int, list[float]] = {b: [] for b in range(len(values))}
    control_preds = predict_fn(judge["control_inputs"])
    for y, p in zip(judge["control_labels"], control_preds):
        control[bin_index(edges, y)].append(p)
    summary = gen.conditioning_summary(edges, predicted, base, control)
    for b, extra in per_bin.items():
        summary["bins"][b].update(extra)
    summary["unconditioned"]["n_samples"] = len(unconditioned[: args.condition_n])
    return summary


# ----------------------------------------------------------------------------------------------
# sampling


def default_sample_fn(temperature: float) -> SampleFn:
    """Sampling through ``chemtl.pipelines.generate.generate`` (its ``text`` column)."""

    def sample(model: str, n: int, seed: int, condition: dict[str, float] | None = None) -> list[str]:
        from chemtl.pipelines.generate import generate

        frame = generate(model, n, temperature=temperature, seed=seed, condition=condition)
        return [str(t) for t in frame["text"]]

    return sample


def parse_models(text: str, resolve: bool) -> list[tuple[str, str, str]]:
    """(label, kind, model) for each entry of ``--models``; ``resolve`` turns shipped names into
    directories and reads a missing kind from the model's chemtl.json."""
    from chemtl.errors import ChemtlError

    out = []
    for entry in (e.strip() for e in text.split(",")):
        if not entry:
            continue
        kind, _, model = entry.rpartition("=")
        if kind and kind not in KINDS:
            raise ChemtlError(f"--models {entry!r}: kind {kind!r} is not one of {', '.join(KINDS)}")
        ref = model
        if resolve:
            from chemtl.pipelines.modeldir import read_meta
            from chemtl.shipped import resolve_model_dir, shipped_models

            path = resolve_model_dir(model)
            if not path.is_dir():
                raise ChemtlError(
                    f"--models {entry!r}: {model!r} is neither a shipped model "
                    f"({', '.join(shipped_models()) or 'none'}) nor a model directory"
                )
            ref = str(path)
            if not kind:
                kind = read_meta(ref).get("kind", "")
        if kind not in KINDS:
            raise ChemtlError(f"--models {entry!r}: say its kind (KIND={model}); its chemtl.json names none")
        out.append((model, kind, ref))
    if not out:
        raise ChemtlError(f"--models {text!r}: no generator given")
    return out


# ----------------------------------------------------------------------------------------------
# reference sets


def _subsample(values: list[str], size: int, seed: int) -> list[str]:
    import numpy as np

    if size <= 0 or size >= len(values):
        return list(values)
    rng = np.random.default_rng(seed)
    return [values[i] for i in sorted(rng.choice(len(values), size=size, replace=False))]


def moses_references(ref_size: int, train_limit: int | None, seed: int) -> dict[str, Any]:
    from chemtl.chem.smiles import canonicalize_smiles
    from chemtl.data import iter_moses

    train = list(itertools.islice(iter_moses("train"), train_limit))
    train_set = set(train)
    test = _subsample(list(iter_moses("test")), ref_size, seed)
    scaffolds = _subsample(list(iter_moses("test_scaffolds")), ref_size, seed + 1)
    probe = train[:1000]  # the file's first rows
    del train
    agree = sum(canonicalize_smiles(s) == s for s in probe) / len(probe)
    return {
        "train": train_set,
        "test": test,
        "test_scaffolds": scaffolds,
        "train_rows": len(train_set),
        "train_canonical_agreement": agree,
    }


def composition_references(corpus_limit: int | None, labelled_limit: int | None) -> dict[str, Any]:
    from chemtl.data import list_datasets, load_dataset
    from chemtl.data.corpus import load_corpus
    from chemtl.evaluate.generation import composition_keys

    corpus = load_corpus(limit=corpus_limit).inputs
    labelled_names = [s.name for s in list_datasets() if s.kind == "composition" and s.task != "unlabelled"]
    labelled: list[str] = []
    for name in labelled_names:
        labelled += load_dataset(name, limit=labelled_limit).inputs
    return {
        "corpus": corpus,
        "corpus_keys": set(composition_keys(corpus)),
        "labelled_keys": set(composition_keys(labelled)),
        "labelled_datasets": labelled_names,
    }


# ----------------------------------------------------------------------------------------------
# the benchmark


def selfies_to_smiles_or_blank(values: list[str]) -> list[str]:
    from chemtl.chem.selfies import selfies_to_smiles
    from chemtl.errors import ChemtlError

    out = []
    for v in values:
        try:
            out.append(selfies_to_smiles(v, canonical=True))
        except ChemtlError:
            out.append("")
    return out


def run(
    args: argparse.Namespace,
    sample_fn: SampleFn,
    log: Callable[[str], None],
    conditions_fn: Callable[[str], dict[str, Any]],
    judge_fn: Callable[..., tuple[PredictFn, dict[str, Any]]],
) -> dict[str, Any]:
    """Sample every generator and score it; returns the ``data`` of the result."""
    from chemtl.evaluate import generation as gen

    models = parse_models(args.models, resolve=args.resolve)
    kinds = {k for _, k, _ in models}
    data: dict[str, Any] = {"models": {}, "settings": vars_of(args)}
    seconds: dict[str, float] = {}
    if kinds & {"smiles", "selfies"}:
        start = time.perf_counter()
        mref = moses_references(args.ref_size, args.train_limit, args.seed)
        seconds["moses_references"] = time.perf_counter() - start
        data["moses"] = {
            "train_rows": mref["train_rows"],
            "test_rows": len(mref["test"]),
            "test_scaffolds_rows": len(mref["test_scaffolds"]),
            "train_canonical_agreement": mref["train_canonical_agreement"],
            "filter_patterns": dict(zip(("mcf", "pains"), gen.filter_patterns())),
        }
    if "composition" in kinds:
        start = time.perf_counter()
        cref = composition_references(args.corpus_limit, args.labelled_limit)
        seconds["composition_references"] = time.perf_counter() - start
        data["compositions"] = {
            "corpus_rows": len(cref["corpus"]),
            "corpus_keys": len(cref["corpus_keys"]),
            "labelled_keys": len(cref["labelled_keys"]),
            "labelled_datasets": cref["labelled_datasets"],
            "smact_version": gen.smact_version(),
        }
    for label, kind, ref in models:
        start = time.perf_counter()
        samples = list(sample_fn(ref, args.n, args.seed, None))
        sampled = time.perf_counter() - start
        log(f"generation: {label} ({kind}) sampled {len(samples)} in {sampled:.1f} s")
        start = time.perf_counter()
        if kind == "composition":
            metrics = gen.composition_metrics(
                samples,
                train=None,
                labelled=None,
                train_keys=cref["corpus_keys"],
                labelled_keys=cref["labelled_keys"],
            )
        else:
            smiles = selfies_to_smiles_or_blank(samples) if kind == "selfies" else samples
            metrics = gen.molecule_metrics(
                smiles,
                train=mref["train"],
                test=mref["test"],
                test_scaffolds=mref["test_scaffolds"],
                train_canonical=True,
                fcd=not args.no_fcd,
            )
        data["models"][label] = {
            "kind": kind,
            "model": ref,
            "metrics": metrics,
            "sample_seconds": round(sampled, 2),
            "metric_seconds": round(time.perf_counter() - start, 2),
            "examples": samples[:10],
            "samples": samples,
        }
    if "composition" in kinds:
        start = time.perf_counter()
        baseline = gen.random_composition_baseline(cref["corpus"], args.n, args.seed)
        data["random_baseline"] = {
            "metrics": gen.composition_metrics(
                baseline,
                train=None,
                labelled=None,
                train_keys=cref["corpus_keys"],
                labelled_keys=cref["labelled_keys"],
            ),
            "examples": baseline[:10],
        }
        own = _subsample(cref["corpus"], args.ref_size, args.seed)
        data["corpus_sample"] = {
            "rows": len(own),
            "metrics": gen.composition_metrics(
                own, train=None, labelled=None, labelled_keys=cref["labelled_keys"]
            ),
        }
        seconds["composition_baselines"] = time.perf_counter() - start
    conditioned = [
        (label, ref, conds[CONDITION])
        for label, kind, ref in models
        if kind == "composition" and CONDITION in (conds := conditions_fn(ref))
    ]
    if args.no_conditioning:
        data["conditioning_note"] = "left out (--no-conditioning)"
    elif not conditioned:
        data["conditioning_note"] = f"no composition generator in this run was conditioned on {CONDITION}"
    else:
        start = time.perf_counter()
        predict_fn, judge = judge_fn(args, log)
        data["conditioning"] = {
            "judge": {k: v for k, v in judge.items() if k not in ("control_inputs", "control_labels")},
            "models": {
                label: measure_conditioning(
                    label,
                    ref,
                    cond,
                    data["models"][label]["samples"],
                    args,
                    sample_fn,
                    predict_fn,
                    judge,
                    log,
                )
                for label, ref, cond in conditioned
            },
        }
        seconds["conditioning"] = time.perf_counter() - start
    for entry in data["models"].values():
        entry.pop("samples", None)
    data["moses_charrnn"] = dict(gen.MOSES_CHARRNN)
    data["seconds"] = {k: round(v, 2) for k, v in seconds.items()}
    return data


def vars_of(args: argparse.Namespace) -> dict[str, Any]:
    keep = (
        "models",
        "n",
        "temperature",
        "seed",
        "ref_size",
        "no_fcd",
        "corpus_limit",
        "labelled_limit",
        "train_limit",
        "condition_n",
        "regressor",
        "no_conditioning",
    )
    return {k: getattr(args, k) for k in keep}


def _targets(data: dict[str, Any]) -> list[dict]:
    charrnn = data["moses_charrnn"]
    out = []
    for label, entry in data["models"].items():
        m, kind = entry["metrics"], entry["kind"]
        if kind in ("smiles", "selfies"):
            goal = 0.95 if kind == "smiles" else 1.0
            out.append(common.target(f"{label}: {kind.upper()} validity", m["validity"], goal, ">="))
            t = common.target(f"{label}: unique@10k", m["unique@10000"], 0.99, ">=")
            if m["n_valid"] < 10000:
                common.withhold(t, f"on {m['n_valid']} valid samples, fewer than 10000")
            out.append(t)
            out.append(
                common.target(
                    f"{label}: novelty vs MOSES train",
                    m.get("novelty"),
                    0.80,
                    ">=",
                    note=f"MOSES CharRNN {charrnn['novelty']}",
                )
            )
            out.append(
                common.target(
                    f"{label}: IntDiv1", m["IntDiv1"], 0.85, ">=", note=f"MOSES CharRNN {charrnn['IntDiv1']}"
                )
            )
        else:
            own = data["corpus_sample"]["metrics"]["smact_valid"]
            out.append(common.target(f"{label}: composition validity", m["validity"], 1.0, ">="))
            out.append(common.target(f"{label}: uniqueness", m["uniqueness"], 0.95, ">="))
            out.append(common.target(f"{label}: novelty vs inorganic_corpus", m.get("novelty"), 0.80, ">="))
            out.append(
                common.target(
                    f"{label}: SMACT-valid fraction (alloys valid) at or above the corpus' own",
                    m["smact_valid"],
                    own,
                    ">=",
                    note=f"corpus sample of {data['corpus_sample']['rows']}; random baseline "
                    f"{common.rounded(data['random_baseline']['metrics']['smact_valid'])}",
                )
            )
    cond = data.get("conditioning")
    name = (
        f"conditioning: median predicted {CONDITION} of --condition {CONDITION}=B samples in bin B, every bin"
    )
    if not cond:
        out.append(common.target(name, None, 1.0, ">=", note=data.get("conditioning_note", "")))
    for label, c in (cond or {}).get("models", {}).items():
        flag = c["all_in_bin"]
        control = [row.get("in_bin") for row in c.get("control", {}).values()]
        out.append(
            common.target(
                f"{label}: {name} (bins in their bin / bins)",
                None if flag is None else c["bins_in_bin"] / len(c["bins"]),
                1.0,
                ">=",
                note=f"judge: {cond['judge']['model']}; the judge puts the median of real held-out compounds "
                f"in their own bin for {sum(1 for f in control if f)} of {len(control)} bins",
            )
        )
    return out


def _fmt(x: Any) -> Any:
    return common.rounded(x) if isinstance(x, float) else x


def _tables(data: dict[str, Any]) -> list[dict]:
    tables = []
    mols = [(label, e) for label, e in data["models"].items() if e["kind"] != "composition"]
    if mols:
        charrnn = data["moses_charrnn"]
        rows = [
            [label, e["kind"], *(_fmt(e["metrics"].get(c)) for c in MOLECULE_COLUMNS)] for label, e in mols
        ]
        rows.append(["MOSES CharRNN (published)", "smiles", *(charrnn.get(c) for c in MOLECULE_COLUMNS)])
        ref = data["moses"]
        tables.append(
            {
                "title": "Molecules: MOSES metrics",
                "columns": ["model", "kind", *MOLECULE_COLUMNS],
                "rows": rows,
                "note": f"Ours: {data['settings']['n']} samples; novelty vs the {ref['train_rows']} MOSES train "
                f"SMILES; SNN, Frag, Scaf, FCD vs {ref['test_rows']} test and {ref['test_scaffolds_rows']} "
                "scaffold-test molecules (seeded subsamples; SNN is lower and FCD higher than against the "
                "full sets). CharRNN: " + charrnn["source"] + ", on the full MOSES test sets.",
            }
        )
    comps = [(label, e) for label, e in data["models"].items() if e["kind"] == "composition"]
    if comps:
        rows = [[label, *(_fmt(e["metrics"].get(c)) for c in COMPOSITION_COLUMNS)] for label, e in comps]
        rows.append(
            [
                "random element-frequency baseline",
                *(_fmt(data["random_baseline"]["metrics"].get(c)) for c in COMPOSITION_COLUMNS),
            ]
        )
        rows.append(
            [
                "inorganic_corpus sample",
                *(_fmt(data["corpus_sample"]["metrics"].get(c)) for c in COMPOSITION_COLUMNS),
            ]
        )
        c = data["compositions"]
        tables.append(
            {
                "title": "Compositions: validity, novelty, diversity, SMACT",
                "columns": ["generator", *COMPOSITION_COLUMNS],
                "rows": rows,
                "note": f"novelty vs the {c['corpus_keys']} reduced formulas of inorganic_corpus; in_labelled: "
                f"the fraction of distinct valid samples among the {c['labelled_keys']} reduced formulas of "
                f"{len(c['labelled_datasets'])} labelled composition datasets; smact {c['smact_version']} "
                "(smact_validity, Pauling test on; no_alloys: all-metal compositions not counted valid). The "
                f"corpus row is a seeded sample of {data['corpus_sample']['rows']} formulas.",
            }
        )
    cond = data.get("conditioning")
    for label, c in (cond or {}).get("models", {}).items():
        edges = c["edges"]
        rows = []
        for b, row in c["bins"].items():
            lo = "-inf" if int(b) == 0 else f"{edges[int(b) - 1]:g}"
            hi = "inf" if int(b) == len(edges) else f"{edges[int(b)]:g}"
            ctl = c.get("control", {}).get(b, {})
            rows.append(
                [f"{row['token']} ({lo}, {hi}]", _fmt(row["value"]), row["n_valid"], _fmt(row["median"]),
                 row.get("median_bin"), _fmt(row.get("fraction_in_bin")), _fmt(row.get("shift")),
                 ctl.get("n"), _fmt(ctl.get("median")), _fmt(ctl.get("fraction_in_bin"))]
            )  # fmt: skip
        u = c["unconditioned"]
        rows.append(
            ["no condition", None, u["n"], _fmt(u["median"]), u["median_bin"], None, None, None, None, None]
        )
        judge = cond["judge"]
        mae = f" (test MAE {_fmt(judge['test_mae'])} eV)" if judge.get("test_mae") is not None else ""
        tables.append(
            {
                "title": f"Conditioning: {label}, {CONDITION} bins judged by a chemtl regressor",
                "columns": [
                    "bin (eV)",
                    "asked",
                    "judged",
                    "median pred",
                    "median's bin",
                    "in bin",
                    "shift vs none",
                    "control n",
                    "control median",
                    "control in bin",
                ],  # fmt: skip
                "rows": rows,
                "note": f"judge: {judge['model']}{mae}; judged: the valid samples of the bin's token; control: "
                f"the judge on the {judge['control_rows']} held-out {judge['dataset']} compounds whose label "
                "lies in the bin (what the judge itself can tell apart).",
            }
        )
    return tables


def main(
    argv: list[str] | None = None,
    sample_fn: SampleFn | None = None,
    conditions_fn: Callable[[str], dict[str, Any]] | None = None,
    judge_fn: Callable[..., tuple[PredictFn, dict[str, Any]]] | None = None,
) -> dict[str, Path]:
    """The benchmark. Stand-ins for tests: ``sample_fn(model, n, seed, condition) -> list[str]``
    replaces the shipped generators' sampling (then ``--models`` entries are passed to it as
    written, each with its KIND=); ``conditions_fn(model)`` the model's kept ``conditions``
    (default: its chemtl.json's; none for a stand-in sampler); ``judge_fn(args, log)`` the judge
    regressor (default ``judge_regressor``)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    started_iso, started = common.now_iso(), time.perf_counter()
    from chemtl.errors import ChemtlError

    if args.n is None:
        args.n = QUICK["n"] if args.quick else 10000
    if args.ref_size is None:
        args.ref_size = QUICK["ref_size"] if args.quick else 5000
    if args.n < 2 or args.ref_size < 0:
        raise ChemtlError(f"--n {args.n} / --ref-size {args.ref_size}: need n >= 2 and ref-size >= 0")
    for key in ("corpus_limit", "labelled_limit", "train_limit"):
        setattr(args, key, QUICK[key] if args.quick else None)
    if args.condition_n is None:
        args.condition_n = 16 if args.quick else 1000
    if args.condition_n < 1:
        raise ChemtlError(f"--condition-n {args.condition_n}: need at least 1 sample per bin")
    if args.quick:
        args.no_fcd = True
    args.resolve = sample_fn is None
    if conditions_fn is None:
        conditions_fn = _model_conditions if sample_fn is None else (lambda model: {})
    sample = sample_fn or default_sample_fn(args.temperature)

    def log(line: str) -> None:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()

    data = run(args, sample, log, conditions_fn, judge_fn or judge_regressor)
    targets = _targets(data)
    charrnn = data["moses_charrnn"]
    notes = [
        "Molecule metrics as MOSES's code computes them (molsets 0.3.1, rewritten with RDKit; molsets is "
        "not imported): Morgan radius-2 1024-bit fingerprints, IntDiv_p = 1 - mean_x (mean_y T^p)^(1/p), "
        "scaffolds with at least two rings, MCF + PAINS filters from molsets' own files.",
        "MOSES's train file is compared as written (RDKit canonical SMILES); here "
        f"{_fmt(data.get('moses', {}).get('train_canonical_agreement'))} of 1000 of its SMILES are unchanged "
        "by this RDKit's canonicaliser."
        if "moses" in data
        else "No molecule generator in this run.",
        "Element-set diversity: element_set_diversity = distinct element sets / valid samples; "
        "element_set_jaccard = mean Jaccard distance between the element sets of all pairs of valid samples.",
        "Random baseline: per sample, the number of elements from the corpus' distribution, the elements "
        "with inclusion probabilities equal to the corpus' per-element fractions (randomised systematic "
        "sampling), the amounts from the corpus' distribution of integer amounts.",
    ]
    if args.no_fcd:
        notes.append("FCD left out of this run (--no-fcd; always in a quick run).")
    if args.quick:
        notes.append("Quick smoke run (tiny samples, truncated reference sets): the numbers say nothing.")
    missed = [t["name"] for t in targets if t["pass"] is False]
    if missed and not args.quick:
        notes.append("Missed: " + "; ".join(missed) + ". Nothing was tuned to the metrics.")
    payload = {
        "title": "Generation: MOSES metrics (molecules), validity, novelty and SMACT (compositions)",
        "measured": (
            f"{args.n} samples per generator at temperature {args.temperature}, seed {args.seed}: MOSES's "
            "metrics for molecules and validity, uniqueness, novelty, element-set diversity and SMACT "
            "plausibility for compositions, beside the published MOSES CharRNN row and a random "
            "element-frequency baseline."
        ),
        "split": "MOSES train (novelty), seeded subsamples of MOSES test / test_scaffolds; inorganic_corpus "
        "(novelty) and the labelled composition datasets",
        "seed": args.seed,
        "targets": targets,
        "tables": _tables(data),
        "references": [
            *(
                {"name": f"MOSES CharRNN {k}", "value": charrnn[k], "source": charrnn["source"]}
                for k in ("validity", "unique@10000", "novelty", "IntDiv1", "filters")
            ),
            {"name": "charge-neutral generated formulas", "value": 0.976, "source": FU_2023},
            {"name": "electronegativity-balanced generated formulas", "value": 0.912, "source": FU_2023},
        ],
        "notes": notes,
        "data": data,
    }
    return common.publish(NAME, payload, args, argv, started, started_iso)


if __name__ == "__main__":
    common.print_paths(main())
