"""``pretrain``: an unlabelled corpus -> a pretrained encoder directory.

Objectives (``PretrainConfig.objectives``): masked tokens (with the composition amount loss),
NT-Xent between two augmented views, and (SMILES/SELFIES) ``descriptors``: multi-task regression
on RDKit descriptors (``chemtl.data.features.PRETRAIN_DESCRIPTORS``, ChemBERTa-2's MTR, label free)
computed for each batch inside the collate, so any corpus works without a cache; any of the three
alone or summed. The descriptors' mean and std are fitted once, before training, on the held-out
head rows (the ``val_rows`` validation rows) and written to ``descriptor_targets.json`` in the
output directory; ``--resume`` reads them back from there. Or ``causal``: a GPT-2 generator
(``chemtl.models.causal``) trained on next tokens, compositions in the formula-text grammar
(``chemtl.tokenizers.formula_text``; a formula the grammar cannot write is skipped and counted),
optionally with property-bin condition tokens learned from labelled sets
(``chemtl.data.conditions``). Every objective runs on the same engine, stream and checkpoints. The corpus streams through a bounded
shuffle buffer, so memory does not grow with its size; the first rows (``val_rows``, at most a
tenth of the corpus) are held out for the validation loss.

``supervised_pretrain``: the optional intermediate stage, multi-task regression on labelled
sources (band gap and formation energy, ...): one head output per source, targets standardised
per source, rows of one source leave the other targets missing (NaN, skipped by the loss).

Both write a model directory (config.json, model.safetensors, tokenizer, chemtl.json) plus
train_config.json, metrics.json, manifest.json, logs/ and checkpoints/.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from chemtl.errors import ChemtlError, DataError
from chemtl.training.config import DataConfig, ModelConfig, PretrainConfig, TrainConfig

if TYPE_CHECKING:
    from chemtl.data.features import DescriptorTargets

log = logging.getLogger(__name__)

MASK_STRATEGY = {"random": "random", "element-group": "element_group", "span": "span"}
# the ``descriptors`` objective's standardisation, in the output (model) directory
DESCRIPTOR_TARGETS_FILE = "descriptor_targets.json"


@dataclass
class PretrainResult:
    out_dir: Path
    metrics: dict[str, Any] | None
    model: Any = None
    is_global_zero: bool = True


class TruncatingTokenizer:
    """A tokenizer proxy that always truncates to ``max_length`` (collators call it plainly)."""

    def __init__(self, tokenizer: Any, max_length: int) -> None:
        self._tokenizer = tokenizer
        self._max_length = max_length

    def __call__(self, texts, **kwargs):
        kwargs.setdefault("truncation", True)
        kwargs.setdefault("max_length", self._max_length)
        return self._tokenizer(texts, **kwargs)

    def __len__(self) -> int:
        return len(self._tokenizer)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._tokenizer, name)


class PretrainCollate:
    """Corpus strings -> a masked and/or two-view batch, masks drawn from the batch's seed, with
    ``descriptor_labels`` computed for its molecules when ``descriptors`` are given (the
    ``descriptors`` objective).

    A string the tokenizer, the view maker or RDKit cannot read (a corrupt row in a large corpus) is
    dropped from its batch and counted in ``skipped``; it does not stop a long run.
    """

    def __init__(
        self, kind: str, tokenizer: Any, config: PretrainConfig, descriptors: DescriptorTargets | None = None
    ) -> None:
        from chemtl.data.collate import MaskingOptions

        if ("descriptors" in config.objectives) != (descriptors is not None):
            raise ValueError("the descriptors objective needs its DescriptorTargets, and only it")
        self.causal = config.objectives == ("causal",)
        self.kind = kind
        self.tokenizer = TruncatingTokenizer(tokenizer, config.max_length)
        self.config = config
        self.descriptors = descriptors
        self.masking = (
            MaskingOptions(strategy=MASK_STRATEGY[config.mask], rate=config.mask_prob)
            if "mlm" in config.objectives
            else None
        )
        if self.masking is not None:
            self.masking.check_kind(kind)
        self.skipped = 0

    def make(self, seed: int):
        from chemtl.data.collate import (
            CausalLMCollator,
            ContrastiveCollator,
            DescriptorCollator,
            MaskedLMCollator,
        )

        if self.causal:
            return CausalLMCollator(self.tokenizer, seed=seed)
        inner = None
        if "contrastive" in self.config.objectives:
            inner = ContrastiveCollator(self.kind, self.tokenizer, masking=self.masking, seed=seed)
        elif self.masking is not None:
            inner = MaskedLMCollator(self.kind, self.tokenizer, masking=self.masking, seed=seed)
        if self.descriptors is None:
            return inner
        return DescriptorCollator(self.kind, self.tokenizer, self.descriptors, inner)

    def __call__(self, rows: list[str], seed: int = 0) -> dict[str, Any] | None:
        try:
            return self.make(seed)(rows)
        except ChemtlError:
            good = []
            for row in rows:
                try:
                    self.make(seed)([row])
                    good.append(row)
                except ChemtlError:
                    self.skipped += 1
            if len(good) < 2:
                return None
            return self.make(seed)(good)


def _causal_tokenizer(kind: str, tokenizer_dir: str | Path | None, conditions: list[str]):
    """The causal model's tokenizer: the formula-text grammar for compositions, the saved or shipped
    word-level tokenizer for SMILES/SELFIES; the condition tokens after its vocabulary."""
    from chemtl.tokenizers import get_tokenizer, load_tokenizer, tokenizer_class
    from chemtl.tokenizers.formula_text import FormulaTextTokenizer

    if kind == "composition":
        if tokenizer_dir is not None:
            raise ChemtlError("a causal composition model uses the formula-text grammar; drop --tokenizer")
        return FormulaTextTokenizer(conditions)
    base = load_tokenizer(tokenizer_dir) if tokenizer_dir is not None else get_tokenizer(kind)
    clash = [t for t in conditions if t in base.get_vocab()]
    if clash:
        raise ChemtlError(f"condition token {clash[0]!r} is already in the {kind} vocabulary")
    return tokenizer_class(kind)([*base.vocab, *conditions], model_max_length=base.model_max_length)


def descriptor_targets(out: Path, head_rows: list[str], kind: str, *, resume: bool) -> DescriptorTargets:
    """The ``descriptors`` objective's targets: read back from ``out``'s ``DESCRIPTOR_TARGETS_FILE``
    when resuming a run that wrote one (never refitted), else ``PRETRAIN_DESCRIPTORS`` standardised
    with the mean and std of ``head_rows`` (the corpus's held-out head; a row RDKit cannot read
    counts as missing)."""
    from chemtl.data.features import PRETRAIN_DESCRIPTORS, DescriptorTargets, as_smiles

    path = out / DESCRIPTOR_TARGETS_FILE
    if resume and path.is_file():
        saved = DescriptorTargets.load(path)
        if saved.names != PRETRAIN_DESCRIPTORS:
            raise ChemtlError(
                f"{str(path)!r} holds {len(saved.names)} descriptors, not this chemtl's "
                f"{len(PRETRAIN_DESCRIPTORS)} of PRETRAIN_DESCRIPTORS: the run cannot resume"
            )
        return saved
    smiles = []
    for row in head_rows:
        try:
            smiles.append(as_smiles([row], kind)[0])
        except ChemtlError:
            smiles.append("")  # unreadable: all missing
    return DescriptorTargets.fit(smiles, PRETRAIN_DESCRIPTORS)


def _pretraining_model(
    model_cfg: ModelConfig,
    config: PretrainConfig,
    vocab_size: int,
    init_from: str | None,
    tokenizer=None,
    descriptors: DescriptorTargets | None = None,
):
    if config.objectives == ("causal",):
        from chemtl.models.causal import causal_config, causal_model

        if init_from is not None:
            raise ChemtlError("--init is not supported with --objective causal (a generator starts afresh)")
        return causal_model(
            causal_config(tokenizer, model_cfg.size, max_length=config.max_length, **model_cfg.overrides)
        )

    if init_from is not None:
        cls, heads = pretraining_class(config, descriptors)
        return cls.from_pretrained(init_from, use_safetensors=True, **heads)
    return pretraining_skeleton(model_cfg, config, vocab_size, None, descriptors)


def pretraining_class(config: PretrainConfig, descriptors: DescriptorTargets | None = None):
    """The encoder class an (encoder) pretraining run trains, and the head options of its config."""
    from chemtl.models import ChemtlForMaskedLM, ChemtlForPretraining

    own_loss = {"contrastive", "descriptors"} & set(config.objectives)
    heads = {
        "contrastive_temperature": config.temperature,
        "contrastive_loss_weight": config.contrastive_weight,
        "descriptor_dim": 0 if descriptors is None else len(descriptors.names),
        "descriptor_loss_weight": config.descriptor_weight,
    }
    return (ChemtlForPretraining if own_loss else ChemtlForMaskedLM), heads


def pretraining_skeleton(
    model_cfg: ModelConfig,
    config: PretrainConfig,
    vocab_size: int,
    init_from: str | Path | None,
    descriptors: DescriptorTargets | None = None,
):
    """The encoder a pretraining run trains, with random weights (its class and config: from
    ``init_from``'s config when the run started from a model), for a checkpoint's weights."""
    from chemtl.models import ChemtlConfig

    cls, heads = pretraining_class(config, descriptors)
    if init_from is not None:
        cfg = ChemtlConfig.from_pretrained(init_from, **heads)
    else:
        cfg = ChemtlConfig.from_size(
            model_cfg.size, model_cfg.kind, vocab_size, **{**heads, **model_cfg.overrides}
        )
    return cls(cfg)


def pretrain_meta(
    kind: str,
    config: PretrainConfig,
    corpus: str,
    init_from: str | Path | None,
    conditions: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The ``chemtl.json`` of a pretraining run's model directory (``conditions``: a causal run's)."""
    from chemtl.pipelines.modeldir import make_meta

    causal = config.objectives == ("causal",)
    return make_meta(
        kind=kind,
        task="causal" if causal else None,
        objectives=list(config.objectives),
        mask=config.mask if "mlm" in config.objectives else None,
        corpus=corpus,
        max_length=config.max_length,
        source=None if init_from is None else str(init_from),
        **({"descriptor_targets": DESCRIPTOR_TARGETS_FILE} if "descriptors" in config.objectives else {}),
        **(
            {"grammar": "formula_text" if kind == "composition" else None, "conditions": conditions or {}}
            if causal
            else {}
        ),
    )


def _save_and_report(out: Path, model, tokenizer, meta: dict, metrics: dict, manifest: dict) -> None:
    from chemtl.atomic import write_json
    from chemtl.pipelines.modeldir import save_model_dir

    save_model_dir(out, model.save_pretrained, tokenizer, meta)
    write_json(out / "metrics.json", metrics)
    write_json(out / "manifest.json", manifest)


def pretrain(
    corpus: str,
    model: ModelConfig,
    train: TrainConfig,
    config: PretrainConfig,
    out_dir: str | Path,
    *,
    input_col: str | None = None,
    limit: int | None = None,
    init_from: str | Path | None = None,
    tokenizer_dir: str | Path | None = None,
    buffer_size: int = 10_000,
    resume: bool = False,
    overwrite: bool = False,
    command: list[str] | None = None,
) -> PretrainResult:
    """Pretrain an encoder of ``model`` (size, kind) on ``corpus`` (a name or a file).

    ``init_from``: continue from an existing model directory (domain-adaptive pretraining)
    instead of random weights. ``tokenizer_dir``: a saved chemtl tokenizer instead of the shipped
    default of the kind. ``limit``: the first rows of the corpus only.
    """
    from chemtl.pipelines.corpus import open_corpus
    from chemtl.pipelines.modeldir import check_tokenizer, load_model_dir, quiet_transformers
    from chemtl.pipelines.runs import prepare_run_dir
    from chemtl.tokenizers import get_tokenizer, load_tokenizer
    from chemtl.training.data import ResumableLoader, StreamingBatches, eval_loader
    from chemtl.training.distributed import global_rank_from_env
    from chemtl.training.engine import evaluate_loss, fit
    from chemtl.training.manifest import build_manifest, now_iso
    from chemtl.training.module import TaskModule
    from chemtl.training.objectives import ModelLoss
    from chemtl.training.seeding import seed_run

    started = now_iso()
    out = Path(out_dir)
    quiet_transformers()
    seed_run(train.seed, train.deterministic)

    kind = model.kind
    causal = config.objectives == ("causal",)
    conditioned, conditions = [], {}
    if causal:
        from chemtl.data.conditions import build_conditions

        conditioned, conditions = build_conditions(
            config.conditions, config.bins, kind, train.seed, config.condition_repeat
        )
        tokens = [t for c in conditions.values() for t in c["tokens"]]
        tokenizer = _causal_tokenizer(kind, tokenizer_dir, tokens)
    elif init_from is not None:
        source = load_model_dir(init_from)  # a shipped model's name or a directory
        kind, tokenizer, init_from = source.kind, source.tokenizer, source.path
    elif tokenizer_dir is not None:
        tokenizer = load_tokenizer(tokenizer_dir)
    else:
        tokenizer = get_tokenizer(kind)
    if getattr(tokenizer, "kind", kind) != kind:
        raise ChemtlError(
            f"the tokenizer in {str(tokenizer_dir)!r} is for {tokenizer.kind} inputs, not {kind}"
        )
    with_descriptors = "descriptors" in config.objectives
    if with_descriptors and kind == "composition":
        from chemtl.training.config import ConfigError

        raise ConfigError(
            "objective descriptors predicts RDKit descriptors of molecules: it needs --kind smiles or "
            "selfies, not composition"
        )
    corpus_obj = open_corpus(corpus, kind=kind, input_col=input_col, limit=limit)
    if corpus_obj.kind != kind:
        raise DataError(
            f"corpus {corpus!r} holds {corpus_obj.kind} inputs but the model reads {kind} (--kind)"
        )
    if conditioned:
        from dataclasses import replace

        from chemtl.data.conditions import mixed_rows

        info = {**corpus_obj.info, "conditioned_rows": len(conditioned)}
        opened = mixed_rows(corpus_obj.open_rows, corpus_obj.n_rows, conditioned)
        corpus_obj = replace(
            corpus_obj, n_rows=corpus_obj.n_rows + len(conditioned), open_rows=opened, info=info
        )
    n_val = min(config.val_rows, corpus_obj.n_rows // 10)
    n_train = corpus_obj.n_rows - n_val
    if train.batch_size == "auto":
        from chemtl.training.config import ConfigError

        raise ConfigError("batch_size 'auto' is for fine-tuning; pretraining needs a number (--batch-size N)")
    if n_train < 2 * train.batch_size * train.world_size and n_train < 2:
        raise DataError(f"corpus {corpus!r} has {corpus_obj.n_rows} rows, too few to pretrain on")
    val_rows = corpus_obj.head(n_val)
    descriptors = None
    if with_descriptors:
        if n_val < 2:
            raise DataError(
                f"objective descriptors fits its standardisation on the held-out head rows: val_rows "
                f"{config.val_rows} holds out {n_val} of the corpus's {corpus_obj.n_rows} rows (needs >= 2)"
            )
        descriptors = descriptor_targets(out, list(val_rows), kind, resume=resume)
    collate = PretrainCollate(kind, tokenizer, config, descriptors)

    rank0 = global_rank_from_env() == 0
    run_config = {
        "run": "pretrain",
        "corpus": corpus,
        "input_col": input_col,
        "limit": limit,
        "init_from": None if init_from is None else str(init_from),
        "tokenizer_dir": None if tokenizer_dir is None else str(tokenizer_dir),
        "buffer_size": buffer_size,
        "model": model.to_dict(),
        "train": train.to_dict(),
        "pretrain": config.to_dict(),
    }
    net = _pretraining_model(
        model, config, len(tokenizer), None if init_from is None else str(init_from), tokenizer, descriptors
    )
    check_tokenizer(tokenizer, net.config, "pretraining")
    if rank0:
        prepare_run_dir(out, run_config, resume=resume, overwrite=overwrite)
        if descriptors is not None:
            descriptors.save(out / DESCRIPTOR_TARGETS_FILE)
    net.train()
    stream = StreamingBatches(
        corpus_obj.open_rows,
        n_train,
        collate,
        train.batch_size,
        seed=train.seed,
        buffer_size=buffer_size,
        skip_rows=n_val,
    )
    train_loader = ResumableLoader(stream, num_workers=train.num_workers)
    val_loader = eval_loader(val_rows, collate, train.batch_size, seed=train.seed) if n_val >= 2 else None
    from chemtl.transfer import parameter_groups

    # no weight decay on biases, norms and embedding tables (rows of rare tokens would shrink)
    if causal:
        from chemtl.models.causal import causal_parameter_groups

        groups = causal_parameter_groups(net, train.lr, train.weight_decay)
    else:
        groups = parameter_groups(net, train.lr, None, 1.0, train.weight_decay)
    parts = () if causal else ("mlm_loss", "amount_loss", "contrastive_loss", "descriptor_loss")
    module = TaskModule(net, ModelLoss(parts), train, groups)
    result = fit(module, train_loader, val_loader, train, out, resume=resume)
    if not result.is_global_zero:
        return PretrainResult(out, None, net, is_global_zero=False)

    val_loss = evaluate_loss(module, val_loader) if val_loader is not None else None
    net.eval()
    meta = pretrain_meta(kind, config, corpus, init_from, conditions)
    descriptor_record = None
    if descriptors is not None:
        descriptor_record = {
            "file": DESCRIPTOR_TARGETS_FILE,
            "descriptors": len(descriptors.names),
            "fit_rows": descriptors.fit_rows,
            "fit_on": "the held-out head rows (val_rows)",
        }
    metrics = {
        "run": "pretrain",
        "objectives": list(config.objectives),
        "mask": config.mask if "mlm" in config.objectives else None,
        "corpus": corpus,
        "corpus_rows": corpus_obj.n_rows,
        **({"conditioned_rows": len(conditioned)} if causal else {}),
        "n_train": n_train,
        "n_val": n_val,
        "seed": train.seed,
        "val_loss": val_loss,
        "best_val_loss": result.best_val_loss,
        "best_epoch": result.best_epoch,
        "epochs_run": result.epochs_run,
        "global_step": result.global_step,
        "rows_seen": result.global_step * train.batch_size * result.world_size,
        "skipped_rows": collate.skipped,
        **({"descriptor_targets": descriptor_record} if descriptors is not None else {}),
        "total_params": int(sum(p.numel() for p in net.parameters())),
        "train_seconds": result.train_seconds,
        "peak_rss_mb": result.peak_rss_mb,
        "peak_rss_mb_per_rank": result.peak_rss_mb_per_rank,
        "world_size": result.world_size,
    }
    manifest = build_manifest(
        kind="pretrain",
        command=list(sys.argv) if command is None else command,
        started=started,
        finished=now_iso(),
        data=corpus_obj.info,
        split={"method": "head", "val_rows": n_val, "train_rows": n_train},
        model_source=None if init_from is None else str(Path(init_from).resolve()),
        extra={"resumed_from_step": result.resumed_from_step},
    )
    _save_and_report(out, net, tokenizer, meta, metrics, manifest)
    return PretrainResult(out, metrics, net)


def _excluded_keys(exclude: list[str], kind: str) -> tuple[set[str], list[dict]]:
    """Compound keys of every input of the ``exclude`` datasets (registered names or files)."""
    from chemtl.data import load_dataset
    from chemtl.data.keys import compound_keys

    keys: set[str] = set()
    infos = []
    for name in exclude:
        ds = load_dataset(name, kind=kind)
        if ds.kind != kind:
            raise DataError(f"--exclude {name!r} holds {ds.kind} inputs, the sources hold {kind} inputs")
        before = len(keys)
        keys.update(compound_keys(list(ds.inputs), kind))
        infos.append({"dataset": ds.name, "rows": len(ds.inputs), "compounds": len(keys) - before})
    return keys, infos


def _multitask_table(sources: list[DataConfig], kind: str, exclude: list[str] | None = None):
    """Rows of every source, one target column per source, NaN where a row lacks that target.

    Rows whose compound (``chemtl.data.keys.compound_key``: ``Cu1.8S`` is ``Cu9S5``) appears in any
    ``exclude`` dataset are dropped, so a downstream benchmark's test compounds are never seen with
    a label. Returns also what was excluded, per source, for the manifest and model card.
    """
    from chemtl.data.keys import compound_keys
    from chemtl.pipelines.finetune import check_targets, load_data

    excluded, exclude_infos = _excluded_keys(list(exclude or []), kind)
    inputs: list[str] = []
    blocks = []
    names: list[str] = []
    infos = []
    for src in sources:
        ds = load_data(src, kind)
        if ds.task != "regression":
            raise DataError(f"supervised pretraining source {ds.name!r} is {ds.task}, not regression")
        target = src.target_col or ds.info.get("target_col") or "target"
        check_targets(ds, "regression", target)
        names.append(f"{ds.name}:{target}")
        values = np.asarray(ds.targets, dtype=np.float64)
        rows = list(ds.inputs)
        info = dict(ds.info)
        if excluded:
            keep = np.array([k not in excluded for k in compound_keys(rows, kind)], dtype=bool)
            info["excluded_rows"] = int((~keep).sum())
            rows = [r for r, k in zip(rows, keep) if k]
            values = values[keep]
        blocks.append((len(inputs), values))
        inputs += rows
        infos.append(info)
    y = np.full((len(inputs), len(sources)), np.nan)
    for j, (start, values) in enumerate(blocks):
        y[start : start + len(values), j] = values
    return inputs, y, names, infos, exclude_infos


def supervised_pretrain(
    sources: list[DataConfig],
    model: ModelConfig,
    train: TrainConfig,
    out_dir: str | Path,
    *,
    init_from: str | Path | None = None,
    val_frac: float = 0.1,
    exclude: list[str] | None = None,
    resume: bool = False,
    overwrite: bool = False,
    command: list[str] | None = None,
) -> PretrainResult:
    """Multi-task regression on labelled ``sources`` (one head output per source).

    Starts from ``init_from`` (a pretrained directory) or from random weights of ``model``;
    ``val_frac`` of the rows, drawn with the train seed, give the validation loss. Rows whose
    compound appears in an ``exclude`` dataset (e.g. the downstream benchmark) are dropped. The output
    is a fine-tuned model directory (``chemtl predict`` gives one column per source) whose encoder
    ``chemtl finetune --model`` carries on from.
    """
    from chemtl.models import ChemtlConfig, ChemtlForPropertyPrediction
    from chemtl.pipelines.finetune import PropertyCollate, forward_outputs, head_options, to_user_units
    from chemtl.pipelines.modeldir import load_model_dir, make_meta, quiet_transformers, save_model_dir
    from chemtl.pipelines.runs import prepare_run_dir
    from chemtl.tokenizers import get_tokenizer
    from chemtl.training.data import EpochBatches, ResumableLoader, eval_loader
    from chemtl.training.distributed import global_rank_from_env
    from chemtl.training.engine import fit
    from chemtl.training.manifest import build_manifest, indices_sha256, now_iso
    from chemtl.training.module import TaskModule
    from chemtl.training.objectives import ModelLoss
    from chemtl.training.seeding import seed_run
    from chemtl.transfer import StrategyConfig, parameter_groups, save_finetuned

    if not sources:
        raise ChemtlError("supervised pretraining needs at least one labelled source")
    if not 0 < val_frac < 1:
        raise ChemtlError(f"val_frac must be in (0, 1), got {val_frac!r}")
    started = now_iso()
    out = Path(out_dir)
    quiet_transformers()
    seed_run(train.seed, train.deterministic)
    if init_from is not None:
        source = load_model_dir(init_from)  # a shipped model's name or a directory
        kind, tokenizer, init_from = source.kind, source.tokenizer, source.path
    else:
        kind, tokenizer = model.kind, get_tokenizer(model.kind)
    inputs, y, names, infos, exclude_infos = _multitask_table(sources, kind, exclude)
    n = len(inputs)
    perm = np.random.default_rng(train.seed).permutation(n)
    n_val = max(1, round(val_frac * n))
    if n - n_val < 2:
        raise DataError(f"the supervised sources hold {n} rows, too few to train and validate on")
    val_idx, train_idx = np.sort(perm[:n_val]), np.sort(perm[n_val:])
    mean = np.nanmean(y[train_idx], axis=0)
    std = np.nanstd(y[train_idx], axis=0)
    std = np.where(np.isfinite(std) & (std > 0), std, 1.0)
    scaled = (y - mean) / std

    run_config = {
        "run": "supervised_pretrain",
        "sources": [s.to_dict() for s in sources],
        "init_from": None if init_from is None else str(init_from),
        "val_frac": val_frac,
        "exclude": list(exclude or []),
        "model": model.to_dict(),
        "train": train.to_dict(),
    }
    t = len(names)
    heads = head_options(train, "regression", mean, std)
    if init_from is not None:
        net = ChemtlForPropertyPrediction.from_pretrained(
            init_from,
            num_labels=t,
            problem_type="regression",
            use_safetensors=True,
            ignore_mismatched_sizes=True,
            **heads,
        )
    else:
        cfg = ChemtlConfig.from_size(
            model.size,
            kind,
            len(tokenizer),
            num_labels=t,
            problem_type="regression",
            **{**heads, **model.overrides},
        )
        net = ChemtlForPropertyPrediction(cfg)
    net.train()
    if global_rank_from_env() == 0:
        prepare_run_dir(out, run_config, resume=resume, overwrite=overwrite)
    max_length = max(s.max_length for s in sources)
    collate = PropertyCollate(tokenizer, max_length, "regression")
    rows = list(zip(inputs, scaled.tolist()))
    train_loader = ResumableLoader(
        EpochBatches([rows[i] for i in train_idx], collate, train.batch_size, seed=train.seed),
        num_workers=train.num_workers,
    )
    val_loader = eval_loader([rows[i] for i in val_idx], collate, max(train.batch_size, 64), seed=train.seed)
    groups = parameter_groups(net, train.lr, train.head_lr, train.lr_decay, train.weight_decay)
    module = TaskModule(net, ModelLoss(), train, groups)
    result = fit(module, train_loader, val_loader, train, out, resume=resume)
    if not result.is_global_zero:
        return PretrainResult(out, None, net, is_global_zero=False)

    net.eval()
    strategy = StrategyConfig(name="full")
    meta = make_meta(
        kind=kind,
        task="regression",
        target=names[0],
        targets=names,
        target_mean=mean.tolist(),
        target_std=std.tolist(),
        classes=None,
        strategy=strategy.to_dict(),
        source=None if init_from is None else str(init_from),
        max_length=max_length,
        dataset="+".join(s.dataset for s in sources),
        units=[i.get("units") for i in infos],
    )
    val_inputs = [inputs[i] for i in val_idx]
    logits, _ = forward_outputs(net, tokenizer, val_inputs, max_length)
    preds = to_user_units(logits, meta)
    per_target = {}
    for j, name in enumerate(names):
        have = np.isfinite(y[val_idx, j])
        per_target[name] = (
            {"mae": float(np.mean(np.abs(preds[have, j] - y[val_idx, j][have]))), "n": int(have.sum())}
            if have.any()
            else None
        )
    metrics = {
        "run": "supervised_pretrain",
        "targets": names,
        "n_train": int(len(train_idx)),
        "n_val": int(len(val_idx)),
        "excluded": {
            "datasets": exclude_infos,
            "rows": {i["name"]: i.get("excluded_rows", 0) for i in infos},
        },
        "seed": train.seed,
        "val": per_target,
        "best_val_loss": result.best_val_loss,
        "best_epoch": result.best_epoch,
        "epochs_run": result.epochs_run,
        "global_step": result.global_step,
        "total_params": int(sum(p.numel() for p in net.parameters())),
        "train_seconds": result.train_seconds,
        "peak_rss_mb": result.peak_rss_mb,
        "peak_rss_mb_per_rank": result.peak_rss_mb_per_rank,
        "world_size": result.world_size,
    }
    manifest = build_manifest(
        kind="supervised_pretrain",
        command=list(sys.argv) if command is None else command,
        started=started,
        finished=now_iso(),
        data={"sources": infos, "exclude": exclude_infos},
        split={
            "method": "random",
            "seed": train.seed,
            "val_frac": val_frac,
            "sizes": {"train": len(train_idx), "val": len(val_idx)},
            "indices_sha256": indices_sha256(train_idx, val_idx),
        },
        model_source=None if init_from is None else str(Path(init_from).resolve()),
        extra={"resumed_from_step": result.resumed_from_step},
    )
    from chemtl.atomic import write_json

    save_model_dir(out, lambda d: save_finetuned(net, d, strategy), tokenizer, meta)
    write_json(out / "metrics.json", metrics)
    write_json(out / "manifest.json", manifest)
    return PretrainResult(out, metrics, net)
