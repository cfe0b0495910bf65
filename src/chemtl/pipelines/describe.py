"""``train_describer``: descriptions of compositions -> a T5 describer directory; ``describe``:
formulas -> descriptions.

Training data: ``chemtl.data.descriptions.description_table`` (one description per compound of
the labelled composition sets, each compound on one side of a seeded split by compound key), or
any table with ``formula``, ``description`` and ``split`` columns. Formulas the encoder cannot
spell (``chemtl.models.seq2seq.formula_tokens``: reduced amounts not whole up to 99) are skipped
and counted. The text vocabulary is learned from the training descriptions; the model is a
``T5ForConditionalGeneration`` (``chemtl.models.seq2seq``) trained with teacher forcing
(``model(input_ids, attention_mask, labels).loss``) on the training engine, as every chemtl run:
seeded, resumable from ``checkpoints/last.ckpt`` (``resume=True``), early stopping on the
validation loss with the best weights restored, curves in ``logs/metrics.csv``.

The run directory is the model directory::

    config.json, model.safetensors, generation_config.json   the T5 (model_type "t5")
    tokenizer.json, tokenizer_config.json, special_tokens_map.json   chemtl's composition tokenizer
    text_tokenizer.json   the decoder's word-level vocabulary (Hugging Face tokenizers)
    chemtl.json           task "describe", the id layout (text_vocab_size = encoder id offset),
                          max_target_length, size, split
    train_config.json, metrics.json, manifest.json, logs/, checkpoints/
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from chemtl.errors import ChemtlError, DataError
from chemtl.training.config import TrainConfig

DESCRIBER_TYPES = ("t5",)
DEFAULT_VAL_ROWS = 1000
DEFAULT_MAX_TARGET_LENGTH = 48
LABEL_PAD = -100  # ignored by the loss


@dataclass
class DescribeResult:
    out_dir: Path
    metrics: dict[str, Any] | None
    model: Any = None
    is_global_zero: bool = True


@dataclass
class LoadedDescriber:
    path: Path
    model: Any
    text_tokenizer: Any
    meta: dict[str, Any]

    @property
    def offset(self) -> int:
        return int(self.meta["text_vocab_size"])


class DescribeCollate:
    """(encoder ids, label ids) rows -> ``input_ids``, ``attention_mask``, ``labels`` (-100 pads)."""

    def __call__(self, rows: list[tuple[list[int], list[int]]], seed: int = 0) -> dict[str, Any]:
        import torch

        width = max(len(r[0]) for r in rows)
        depth = max(len(r[1]) for r in rows)
        ids = torch.zeros((len(rows), width), dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        labels = torch.full((len(rows), depth), LABEL_PAD, dtype=torch.long)
        for i, (enc, lab) in enumerate(rows):
            ids[i, : len(enc)] = torch.tensor(enc)
            mask[i, : len(enc)] = 1
            labels[i, : len(lab)] = torch.tensor(lab)
        return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def spellable_rows(table) -> tuple[Any, int]:
    """The rows of ``table`` whose formula the encoder can spell, and how many were dropped."""
    from chemtl.models.seq2seq import FormulaSpellingError, formula_tokens

    keep = []
    for formula in table["formula"]:
        try:
            formula_tokens(formula)
            keep.append(True)
        except FormulaSpellingError:
            keep.append(False)
    keep = np.asarray(keep, dtype=bool)
    return table[keep].reset_index(drop=True), int((~keep).sum())


def _check_table(table) -> None:
    missing = [c for c in ("formula", "description", "split") if c not in table.columns]
    if missing:
        raise DataError(f"description table has no column(s) {', '.join(missing)}")
    bad = sorted(set(table["split"]) - {"train", "val", "test"})
    if bad:
        raise DataError(
            f"description table split value(s) {', '.join(map(repr, bad))} are not train/val/test"
        )


def train_describer(
    out_dir: str | Path,
    train: TrainConfig,
    *,
    size: str = "small",
    split_seed: int = 0,
    table=None,
    limit: int | None = None,
    val_rows: int = DEFAULT_VAL_ROWS,
    max_target_length: int = DEFAULT_MAX_TARGET_LENGTH,
    resume: bool = False,
    overwrite: bool = False,
    command: list[str] | None = None,
) -> DescribeResult:
    """Train a describer into ``out_dir`` (see the module docstring).

    ``table``: a DataFrame with ``formula``, ``description``, ``split``; None builds
    ``description_table(seed=split_seed)`` from the five registered sources. ``limit``: train on
    that many training rows (a seeded subset, ``split_seed``); ``val_rows``: at most that many
    validation rows (likewise). Test rows are never read.
    """
    import torch

    from chemtl.atomic import write_json
    from chemtl.data.files import sha256_strings
    from chemtl.models.seq2seq import (
        SIZES,
        build_text_tokenizer,
        encode_texts,
        encoder_ids,
        new_describer,
    )
    from chemtl.pipelines.modeldir import quiet_transformers
    from chemtl.pipelines.runs import prepare_run_dir
    from chemtl.training.data import EpochBatches, ResumableLoader, eval_loader
    from chemtl.training.distributed import global_rank_from_env
    from chemtl.training.engine import fit
    from chemtl.training.manifest import build_manifest, now_iso
    from chemtl.training.module import TaskModule
    from chemtl.training.objectives import ModelLoss
    from chemtl.training.seeding import seed_run

    started = now_iso()
    out = Path(out_dir)
    if size not in SIZES:
        raise ChemtlError(f"describer size {size!r} is not one of {', '.join(SIZES)}")
    if limit is not None and (not isinstance(limit, int) or limit < 1):
        raise ChemtlError(f"limit must be an integer >= 1, got {limit!r}")
    quiet_transformers()
    seed_run(train.seed, train.deterministic)

    # 1. data: descriptions, spellable formulas, the split's train and val sides
    sources: dict[str, Any] | None = None
    if table is None:
        from chemtl.data.descriptions import SOURCES, description_table, load_sources

        tables = load_sources()
        sources = {role: tables[role].info for role in SOURCES}
        table = description_table(tables, seed=split_seed)
    _check_table(table)
    table, n_unspellable = spellable_rows(table)
    rng = np.random.default_rng(split_seed)
    train_idx = np.flatnonzero((table["split"] == "train").to_numpy())
    val_idx = np.flatnonzero((table["split"] == "val").to_numpy())
    if limit is not None and limit < len(train_idx):
        train_idx = np.sort(rng.choice(train_idx, size=limit, replace=False))
    if val_rows < len(val_idx):
        val_idx = np.sort(rng.choice(val_idx, size=val_rows, replace=False)) if val_rows else val_idx[:0]
    if len(train_idx) == 0:
        raise DataError("the description table has no training rows")
    if train.patience is not None and len(val_idx) == 0:
        raise DataError("the description table has no validation rows; pass patience=None (--patience 0)")
    formulas = table["formula"].tolist()
    texts = table["description"].tolist()

    # 2. vocabulary and model
    text_tok = build_text_tokenizer(texts[i] for i in train_idx)
    offset = text_tok.get_vocab_size()
    model = new_describer(offset, size)
    labels = encode_texts(text_tok, texts)
    longest = max(len(labels[i]) for i in train_idx)
    if longest > max_target_length:
        raise DataError(
            f"a training description has {longest} tokens with [SEP], more than max_target_length "
            f"{max_target_length}"
        )

    def rows(idx):
        return [(encoder_ids(formulas[i], offset), labels[i]) for i in idx]

    train_rows, val_list = rows(train_idx), rows(val_idx)

    # 3. claim the run directory
    rank0 = global_rank_from_env() == 0
    run_config = {
        "run": "describe",
        "model": {"type": "t5", "size": size, "kind": "composition"},
        "data": {
            "source": "description_table" if sources is not None else "table",
            "split_seed": split_seed,
            "limit": limit,
            "val_rows": val_rows,
            "max_target_length": max_target_length,
            "table_sha256": sha256_strings(
                f"{f}\t{t}\t{s}" for f, t, s in zip(formulas, texts, table["split"])
            ),
        },
        "train": train.to_dict(),
    }
    if rank0:
        prepare_run_dir(out, run_config, resume=resume, overwrite=overwrite)

    # 4. train
    collate = DescribeCollate()
    train_loader = ResumableLoader(
        EpochBatches(train_rows, collate, train.batch_size, seed=train.seed), num_workers=train.num_workers
    )
    val_loader = (
        eval_loader(val_list, collate, max(train.batch_size, 64), seed=train.seed) if val_list else None
    )
    module = TaskModule(model, ModelLoss(), train)
    result = fit(module, train_loader, val_loader, train, out, resume=resume)
    if not result.is_global_zero:
        return DescribeResult(out, None, model, is_global_zero=False)
    model.eval()

    # 5. the model directory
    save_describer(
        out, model, text_tok, size=size, split_seed=split_seed, max_target_length=max_target_length
    )
    metrics = {
        "task": "describe",
        "size": size,
        "seed": train.seed,
        "split_seed": split_seed,
        "n_train": int(len(train_idx)),
        "n_val": int(len(val_idx)),
        "n_unspellable": n_unspellable,
        "text_vocab_size": offset,
        "total_params": int(sum(p.numel() for p in model.parameters())),
        **result.metrics(),
    }
    write_json(out / "metrics.json", metrics)
    data_info: dict[str, Any] = {"name": "descriptions", "rows": len(table), **run_config["data"]}
    if sources is not None:
        data_info["sources"] = sources
    manifest = build_manifest(
        kind="describe",
        command=list(sys.argv) if command is None else command,
        started=started,
        finished=now_iso(),
        data=data_info,
        split=run_config["data"] | {"sizes": {"train": int(len(train_idx)), "val": int(len(val_idx))}},
        extra={"resumed_from_step": result.resumed_from_step, "torch_threads": torch.get_num_threads()},
    )
    write_json(out / "manifest.json", manifest)
    return DescribeResult(out, metrics, model)


# ----------------------------------------------------------------------------------------------
# writing a describer, reading it back, describing


def save_describer(
    out_dir: str | Path,
    model,
    text_tokenizer,
    *,
    size: str,
    split_seed: int = 0,
    max_target_length: int = DEFAULT_MAX_TARGET_LENGTH,
) -> Path:
    """Write ``model`` (a describer T5) and its tokenizers into ``out_dir`` atomically
    (``chemtl.pipelines.modeldir.save_model_dir``), with the chemtl.json a describer needs."""
    from chemtl.models.seq2seq import TEXT_TOKENIZER_FILE, encoder_vocab_size
    from chemtl.pipelines.modeldir import make_meta, save_model_dir
    from chemtl.tokenizers import get_tokenizer

    meta = make_meta(
        kind="composition",
        task="describe",
        model_type="t5",
        size=size,
        text_vocab_size=text_tokenizer.get_vocab_size(),
        encoder_vocab_size=encoder_vocab_size(),
        encoder="element and whole-amount tokens of the reduced formula (chemtl.models.seq2seq)",
        max_target_length=max_target_length,
        split={"method": "sha256(seed:key)", "seed": split_seed, "fractions": [0.8, 0.1, 0.1]},
    )

    def save_weights(d: Path) -> None:
        model.save_pretrained(d)
        text_tokenizer.save(str(d / TEXT_TOKENIZER_FILE))

    return save_model_dir(out_dir, save_weights, get_tokenizer("composition"), meta)


def load_describer_dir(path) -> LoadedDescriber:
    """A describer directory (or shipped name): safetensors weights, model_type "t5", a chemtl.json
    with task "describe" and its text tokenizer; anything else is a one-line error naming it."""
    from chemtl.models.seq2seq import TEXT_TOKENIZER_FILE, load_describer, load_text_tokenizer
    from chemtl.pipelines.modeldir import quiet_transformers, read_meta, read_model_config
    from chemtl.training.checkpoint import ModelDirError

    d, _ = read_model_config(path, DESCRIBER_TYPES, "a describer (a T5 trained by `chemtl describe --train`)")
    meta = read_meta(d)
    if meta.get("task") != "describe" or "text_vocab_size" not in meta:
        raise ModelDirError(
            f"model directory {str(d)!r} holds a T5 that chemtl did not train as a describer "
            "(its chemtl.json has no task 'describe')"
        )
    if not (d / TEXT_TOKENIZER_FILE).is_file():
        raise ModelDirError(f"model directory {str(d)!r} has no {TEXT_TOKENIZER_FILE}")
    quiet_transformers()
    model = load_describer(d).eval()
    return LoadedDescriber(d, model, load_text_tokenizer(d / TEXT_TOKENIZER_FILE), meta)


def check_formulas(formulas: list[str]) -> None:
    """Refuse the first formula the describer cannot read (message names it and its position)."""
    from chemtl.models.seq2seq import formula_tokens

    for i, formula in enumerate(formulas, start=1):
        try:
            formula_tokens(formula)
        except ChemtlError as exc:
            raise type(exc)(f"formula {i}: {exc}") from None


def describe(
    model_dir,
    formulas: list[str],
    beams: int = 1,
    sample: bool = False,
    seed: int = 0,
    batch_size: int = 64,
) -> list[str]:
    """One description per formula, in order: greedy (``beams=1``), beam search (``beams=N``) or
    sampling (``sample=True``, seeded by ``seed``; the same seed gives the same texts)."""
    import torch

    from chemtl.models.seq2seq import TEXT_UNK_ID, decode_texts, encoder_ids, encoder_token_ids
    from chemtl.training.data import eval_loader
    from chemtl.training.seeding import derive_seed

    if not isinstance(beams, int) or isinstance(beams, bool) or beams < 1:
        raise ChemtlError(f"beams must be an integer >= 1, got {beams!r}")
    formulas = list(formulas)
    check_formulas(formulas)
    loaded = load_describer_dir(model_dir) if not isinstance(model_dir, LoadedDescriber) else model_dir
    offset = loaded.offset
    rows = [(encoder_ids(f, offset), [0]) for f in formulas]
    suppress = [TEXT_UNK_ID, *encoder_token_ids(offset)]
    out: list[str] = []
    state = torch.random.get_rng_state()
    try:
        with torch.no_grad():
            for j, batch in enumerate(eval_loader(rows, DescribeCollate(), batch_size)):
                if sample:
                    torch.manual_seed(derive_seed(seed, "describe", j))
                ids = loaded.model.generate(
                    input_ids=batch["input_ids"],
                    attention_mask=batch["attention_mask"],
                    num_beams=beams,
                    do_sample=sample,
                    max_new_tokens=int(loaded.meta.get("max_target_length", DEFAULT_MAX_TARGET_LENGTH)),
                    suppress_tokens=suppress,
                )
                out += decode_texts(loaded.text_tokenizer, ids.tolist())
    finally:
        torch.random.set_rng_state(state)
    return out


__all__ = [
    "DescribeResult",
    "LoadedDescriber",
    "check_formulas",
    "describe",
    "load_describer_dir",
    "save_describer",
    "train_describer",
]
