"""Prompt banks: one frozen encoder, many properties.

A bank is a directory holding one base model's weights once and, per task (property), only what
that task trained: its prompt (``prompt``), its per-layer prefixes (``prefix``) or its LoRA adapter
(``lora``), and its head. ``chemtl finetune --bank DIR --task-name NAME`` adds a task
(``finetune_to_bank``); ``chemtl predict --model DIR --task A,B`` predicts several tasks in one call
(``predict_bank``).

Layout (format ``chemtl-bank``, version 1)::

    bank.json                 the index, written last: a bank is what bank.json lists
        {"format": "chemtl-bank", "version": 1, "kind": "composition",
         "base": {"dir": "base", "source": "<--model as given>", "weights_sha256": "<hex>"},
         "tasks": {"<name>": {"dir": "tasks/<name>", "strategy": "prompt", "task": "regression",
                              "target": "<column>", "units": null, "classes": null,
                              "trainable_params": 1234}, ...}}   (in the order they were added)
    base/                     the base model directory as it was given (config.json,
                              model.safetensors, tokenizer files, chemtl.json), copied once
    tasks/<name>/
        head.safetensors      the task's trained head (``classifier``)
        adapter/              prompt, lora: the PEFT adapter (adapter_config.json,
                              adapter_model.safetensors; no head, no base weights)
        prefix_encoder.safetensors   prefix: the prefix table (or its MLP)
        strategy.json         the StrategyConfig
        chemtl.json           the task's meta: target column(s), standardisation (target_mean,
                              target_std in the user's units), classes, units, max_length
        metrics.json, train_config.json, manifest.json   the run record of `chemtl finetune`
    .work/<name>/             the training run while a task trains (``--resume`` continues it);
                              removed once the task is in the bank

Rules: every task of a bank uses the same base weights (the sha256 of the first task's
``model.safetensors``; another base is refused); a task name already in the bank is refused unless
``overwrite``; a task is written into a temporary directory and renamed into place, then bank.json
is replaced atomically, so a killed run leaves the bank as it was.

What prediction shares: the base weights are read from disk once and the inputs tokenized once
(per max_length). prompt and prefix tasks run on that one base module (prompts: one PEFT model
holding every prompt task's virtual tokens, switched with ``set_adapter``; prefixes: a thin
wrapper per task around the same module); lora tasks run on one copy of it holding every lora
task's adapter side by side (PEFT multi-adapter, ``set_adapter``, unmerged). Each task still needs
its own forward pass: a prompt, a prefix or an adapter changes every layer's activations, so no
encoder computation can be shared between tasks.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from chemtl.atomic import replace_dir, usual_modes, write_json
from chemtl.errors import ChemtlError

BANK_FILE = "bank.json"
BANK_FORMAT = "chemtl-bank"
BANK_VERSION = 1
BASE_DIR = "base"
TASKS_DIR = "tasks"
WORK_DIR = ".work"
WEIGHTS = "model.safetensors"
# the run record a task keeps (its model files are the adapter and head instead)
RECORD_FILES = ("chemtl.json", "strategy.json", "metrics.json", "train_config.json", "manifest.json")
TASK_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}")


class BankError(ChemtlError):
    """A bank that cannot take or give what is asked (the message names the value)."""


class UnknownTaskError(BankError):
    """A task name the bank does not hold."""


# ----------------------------------------------------------------------------------------------
# reading


def is_bank(path: str | os.PathLike) -> bool:
    return (Path(path) / BANK_FILE).is_file()


def read_bank(path: str | os.PathLike) -> dict[str, Any]:
    """``bank.json`` of the bank at ``path``, checked for format and version."""
    file = Path(path) / BANK_FILE
    try:
        info = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BankError(f"{file}: unreadable ({exc})") from None
    if not isinstance(info, dict) or info.get("format") != BANK_FORMAT:
        raise BankError(f"{file}: not a chemtl bank index")
    if info.get("version") != BANK_VERSION:
        raise BankError(
            f"{file}: bank format version {info.get('version')!r}; this chemtl reads {BANK_VERSION}"
        )
    return info


def weights_sha256(model_dir: str | os.PathLike) -> str:
    from chemtl.data.files import sha256_file

    path = Path(model_dir) / WEIGHTS
    if not path.is_file():
        raise BankError(f"model directory {str(model_dir)!r} has no {WEIGHTS}; a bank needs one weights file")
    return sha256_file(path)


def check_task_name(name: str) -> str:
    if not isinstance(name, str) or not TASK_NAME.fullmatch(name):
        raise BankError(
            f"task name {name!r}: use a letter, then letters, digits, '_' or '-' (at most 64 characters)"
        )
    return name


def parse_tasks(text: str) -> list[str]:
    """``"band_gap,e_form"`` -> ``["band_gap", "e_form"]`` (each name checked, none twice)."""
    names = [t.strip() for t in text.split(",") if t.strip()]
    if not names:
        raise BankError(f"--task {text!r}: name at least one task")
    for name in names:
        check_task_name(name)
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise BankError(f"--task {text!r}: task {twice[0]!r} is named twice")
    return names


def resolve_tasks(info: dict[str, Any], bank: str | os.PathLike, tasks: list[str] | None) -> list[str]:
    """The tasks to run: ``tasks`` (each must be in the bank) or all of the bank's, in bank order."""
    held = list(info["tasks"])
    if not held:
        raise BankError(f"bank {str(bank)!r} holds no tasks yet")
    if tasks is None:
        return held
    for name in tasks:
        if name not in info["tasks"]:
            raise UnknownTaskError(f"bank {str(bank)!r} has no task {name!r}; it holds {', '.join(held)}")
    return list(tasks)


# ----------------------------------------------------------------------------------------------
# adding a task


def _check_target(bank: Path) -> dict[str, Any] | None:
    """The bank's index, or None for a new bank (``bank`` missing, empty, or holding only what an
    interrupted first task left); anything else is refused."""
    if is_bank(bank):
        return read_bank(bank)
    if bank.exists() and not bank.is_dir():
        raise BankError(f"bank {str(bank)!r} exists and is not a directory")
    if bank.is_dir():
        foreign = sorted(p.name for p in bank.iterdir() if p.name not in (WORK_DIR, BASE_DIR, TASKS_DIR))
        foreign = [n for n in foreign if not n.startswith(".tmp-")]
        if foreign:
            raise BankError(
                f"{str(bank)!r} exists and is not a bank (no {BANK_FILE}; it holds {foreign[0]!r}); "
                "choose a new directory"
            )
    return None


def check_can_add(
    bank: str | os.PathLike, model_dir: str | os.PathLike, task_name: str, strategy, *, overwrite: bool
) -> tuple[dict[str, Any] | None, str]:
    """Refuse, before any training, what ``add_task`` would refuse: a strategy that trains the
    encoder, a bad task name, another base model, a task already in the bank (without
    ``overwrite``). Returns (the bank's index or None for a new bank, the model's weights hash)."""
    from chemtl.pipelines.modeldir import load_model_dir
    from chemtl.transfer import STRATEGIES

    if not STRATEGIES[strategy.name].bankable:
        raise BankError(
            f"--bank needs strategy prompt, prefix or lora, not {strategy.name!r}: a bank shares one "
            "frozen encoder between its tasks"
        )
    check_task_name(task_name)
    path = Path(bank)
    info = _check_target(path)
    source = load_model_dir(model_dir)
    sha = weights_sha256(source.path)
    if info is not None:
        base = info["base"]
        if sha != base["weights_sha256"]:
            raise BankError(
                f"model {str(model_dir)!r} (weights sha256 {sha[:12]}) is not the base of bank {str(bank)!r} "
                f"({base['source']!r}, sha256 {base['weights_sha256'][:12]}); a bank holds tasks of one base model"
            )
        if info.get("kind") != source.kind:
            raise BankError(
                f"bank {str(bank)!r} reads {info.get('kind')} inputs, model {str(model_dir)!r} {source.kind}"
            )
        if task_name in info["tasks"] and not overwrite:
            raise BankError(
                f"task {task_name!r} is already in bank {str(bank)!r}; pass --overwrite to replace it"
            )
    return info, sha


def add_task(
    bank: str | os.PathLike,
    model_dir: str | os.PathLike,
    task_name: str,
    model,
    strategy,
    run_dir: str | os.PathLike,
    *,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Put the trained ``model`` (as ``apply_strategy`` returned it, trained by a `chemtl
    finetune` run in ``run_dir`` from ``model_dir``) into ``bank`` as ``task_name``; the bank is
    created from ``model_dir`` when it does not exist yet. Returns the new index."""
    from chemtl.pipelines.modeldir import load_model_dir, make_meta, save_model_dir
    from chemtl.transfer import STRATEGIES

    path = Path(bank)
    info, sha = check_can_add(path, model_dir, task_name, strategy, overwrite=overwrite)
    path.mkdir(parents=True, exist_ok=True)
    source = load_model_dir(model_dir)
    if info is None:  # a new bank: the base model's files, as they are
        base_tmp = Path(tempfile.mkdtemp(prefix=".tmp-base-", dir=path))

        def copy_weights(d: Path) -> None:
            for name in ("config.json", WEIGHTS):
                shutil.copyfile(source.path / name, d / name)

        save_model_dir(
            base_tmp, copy_weights, source.tokenizer, source.meta or make_meta(kind=source.kind, task=None)
        )
        usual_modes(base_tmp)  # mkdtemp makes 0700
        replace_dir(base_tmp, path / BASE_DIR)
        info = {
            "format": BANK_FORMAT,
            "version": BANK_VERSION,
            "kind": source.kind,
            "base": {"dir": BASE_DIR, "source": str(model_dir), "weights_sha256": sha},
            "tasks": {},
        }
    run = Path(run_dir)
    meta = json.loads((run / "chemtl.json").read_text(encoding="utf-8"))
    metrics = json.loads((run / "metrics.json").read_text(encoding="utf-8"))
    (path / TASKS_DIR).mkdir(exist_ok=True)
    task_tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{task_name}-", dir=path / TASKS_DIR))
    try:
        STRATEGIES[strategy.name].save_adapter(model, task_tmp)
        for name in RECORD_FILES:
            shutil.copyfile(run / name, task_tmp / name)
        usual_modes(task_tmp)  # mkdtemp makes 0700; safetensors writes 0600
        replace_dir(task_tmp, path / TASKS_DIR / task_name)
    finally:
        shutil.rmtree(task_tmp, ignore_errors=True)
    tasks = dict(info["tasks"])
    tasks.pop(task_name, None)  # a replaced task moves to the end, as a new one
    tasks[task_name] = {
        "dir": f"{TASKS_DIR}/{task_name}",
        "strategy": strategy.name,
        "task": meta["task"],
        "target": meta.get("target"),
        "units": meta.get("units"),
        "classes": meta.get("classes"),
        "trainable_params": metrics.get("trainable_params"),
    }
    info = {**info, "tasks": tasks}
    write_json(path / BANK_FILE, info)
    return info


@dataclass
class BankResult:
    """What ``finetune_to_bank`` returns (``metrics`` None on launched DDP ranks other than 0)."""

    bank: Path
    task: str
    metrics: dict[str, Any] | None
    run_dir: Path
    info: dict[str, Any] | None = None


def finetune_to_bank(
    model_dir: str | os.PathLike,
    data,
    train,
    strategy,
    bank: str | os.PathLike,
    task_name: str,
    *,
    out_dir: str | os.PathLike | None = None,
    resume: bool = False,
    overwrite: bool = False,
    dataset=None,
    command: list[str] | None = None,
) -> BankResult:
    """Fine-tune ``model_dir`` on ``data`` with ``strategy`` (prompt, prefix or lora) and add the
    result to ``bank`` as ``task_name``. The run trains in ``out_dir`` (kept: a plain fine-tuned
    model directory) or, without one, in ``bank/.work/<task_name>`` (removed once the task is in).
    ``overwrite`` replaces the task in the bank (and a stale run in the run directory)."""
    from chemtl.pipelines.finetune import finetune

    bank_path = Path(bank)
    if train.loss == "robust-l1" or train.output_gate:
        what = "--output-gate" if train.output_gate else "--loss robust-l1"
        raise BankError(
            f"{what} adds head outputs that a bank's task heads do not hold; use it without --bank"
        )
    if train.head != "pooled":
        raise BankError(
            f"--head {train.head} reads every token's hidden state; a bank's task heads read the pooled "
            "embedding: use it without --bank"
        )
    if train.features != "none":
        raise BankError(
            f"--features {train.features} widens the head with molecule features that a bank's task "
            "heads do not read: use it without --bank"
        )
    check_can_add(bank_path, model_dir, task_name, strategy, overwrite=overwrite)
    work = out_dir is None
    run_dir = bank_path / WORK_DIR / task_name if work else Path(out_dir)
    result = finetune(
        model_dir,
        data,
        train,
        strategy,
        run_dir,
        resume=resume,
        overwrite=overwrite,
        dataset=dataset,
        command=command,
    )
    if not result.is_global_zero:
        return BankResult(bank_path, task_name, None, run_dir)
    info = add_task(bank_path, model_dir, task_name, result.model, strategy, run_dir, overwrite=overwrite)
    if work:
        shutil.rmtree(run_dir, ignore_errors=True)
        try:
            (bank_path / WORK_DIR).rmdir()
        except OSError:
            pass  # another task's run is still there
    return BankResult(bank_path, task_name, result.metrics, run_dir, info)


# ----------------------------------------------------------------------------------------------
# using a bank


@dataclass
class LoadedBank:
    """A bank read back for prediction: the shared base, each task's head, adapters and meta."""

    path: Path
    info: dict[str, Any]
    tokenizer: Any
    config: Any
    tasks: list[str]
    meta: dict[str, dict[str, Any]] = field(default_factory=dict)
    heads: dict[str, Any] = field(default_factory=dict)
    modules: dict[str, Any] = field(default_factory=dict)  # task -> chemtl.transfer.base.TaskAdapters

    @property
    def kind(self) -> str:
        return self.info["kind"]

    def module(self, task: str):
        return self.modules[task].module(task)

    def outputs(
        self, inputs: list[str], *, batch_size: int = 256, max_length: int | None = None
    ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Per task: (head outputs (N, num_labels), pooled embeddings (N, d)) in eval mode. The
        inputs are tokenized once per max_length (a task's own unless ``max_length``)."""
        import torch

        from chemtl.pipelines.finetune import PropertyCollate

        encoded: dict[int, list[dict[str, Any]]] = {}
        out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        with torch.no_grad():
            for task in self.tasks:
                length = max_length or self.meta[task].get("max_length", 256)
                if length not in encoded:
                    collate = PropertyCollate(self.tokenizer, length, None)
                    encoded[length] = [
                        collate.encode(inputs[i : i + batch_size]) for i in range(0, len(inputs), batch_size)
                    ]
                module, head = self.module(task), self.heads[task]
                logits, pooled = [], []
                for batch in encoded[length]:
                    p = module(**batch, return_dict=True).pooler_output
                    pooled.append(p.float())
                    logits.append(head(p).float())
                d, k = self.config.hidden_size, self.heads[task].out.out_features
                out[task] = (
                    torch.cat(logits).numpy() if logits else np.zeros((0, k), dtype=np.float32),
                    torch.cat(pooled).numpy() if pooled else np.zeros((0, d), dtype=np.float32),
                )
        return out


def load_bank(bank: str | os.PathLike, tasks: list[str] | None = None) -> LoadedBank:
    """Read ``bank`` for ``tasks`` (default all): the base weights once, each task's head, and
    each method's adapters on the shared base (see the module docstring)."""
    from chemtl.models import ChemtlForPropertyPrediction
    from chemtl.pipelines.modeldir import load_model_dir, quiet_transformers
    from chemtl.transfer import STRATEGIES, StrategyConfig
    from chemtl.transfer.base import load_head

    quiet_transformers()
    path = Path(bank)
    info = read_bank(path)
    names = resolve_tasks(info, bank, tasks)
    base_dir = path / info["base"]["dir"]
    loaded = load_model_dir(base_dir)
    base = ChemtlForPropertyPrediction.from_pretrained(
        base_dir, num_labels=1, problem_type="regression", use_safetensors=True, ignore_mismatched_sizes=True
    ).eval()  # its own classifier is never used: each task has its head
    result = LoadedBank(path, info, loaded.tokenizer, base.config, names)
    groups: dict[str, dict[str, tuple[Path, Any]]] = {}
    for name in names:
        task_dir = path / info["tasks"][name]["dir"]
        if not task_dir.is_dir():
            raise BankError(f"bank {str(bank)!r}: task {name!r} has no directory {str(task_dir)!r}")
        meta = json.loads((task_dir / "chemtl.json").read_text(encoding="utf-8"))
        config = StrategyConfig.load(task_dir / "strategy.json")
        num_labels = len(meta["classes"]) if meta["task"] == "classification" else len(meta["targets"])
        result.meta[name] = meta
        result.heads[name] = load_head(base.config, num_labels, task_dir)
        groups.setdefault(config.name, {})[name] = (task_dir, config)
    # prompt and prefix leave the base module as it is; lora puts its layers into it: its own copy
    for method, members in groups.items():
        module = copy.deepcopy(base) if method == "lora" and len(groups) > 1 else base
        adapters = STRATEGIES[method].attach(module, members)
        for name in members:
            result.modules[name] = adapters
    return result


def predict_bank(
    bank: str | os.PathLike,
    inputs: list[str],
    *,
    tasks: list[str] | None = None,
    batch_size: int = 256,
    max_length: int | None = None,
):
    """A DataFrame: ``input``, then per task ``prediction_<task>`` in the user's units (class labels
    for classification, then ``prob_<task>_<class>`` per class), tasks in the order asked."""
    import pandas as pd

    from chemtl.pipelines.finetune import softmax, to_user_units

    loaded = load_bank(bank, tasks)
    outputs = loaded.outputs(list(inputs), batch_size=batch_size, max_length=max_length)
    table: dict[str, Any] = {"input": list(inputs)}
    for task in loaded.tasks:
        logits, _ = outputs[task]
        meta = loaded.meta[task]
        if meta["task"] == "regression":
            values = to_user_units(logits, meta)
            targets = meta.get("targets") or [meta.get("target")]
            if len(targets) == 1:
                table[f"prediction_{task}"] = values[:, 0]
            else:
                for j, target in enumerate(targets):
                    table[f"prediction_{task}_{target}"] = values[:, j]
        else:
            proba = softmax(logits.astype(np.float64))
            classes = meta["classes"]
            table[f"prediction_{task}"] = [classes[i] for i in proba.argmax(axis=1)]
            for j, name in enumerate(classes):
                table[f"prob_{task}_{name}"] = proba[:, j]
    return pd.DataFrame(table)


def bank_embeddings(
    bank: str | os.PathLike,
    inputs: list[str],
    *,
    tasks: list[str] | None = None,
    batch_size: int = 256,
    max_length: int | None = None,
) -> dict[str, np.ndarray]:
    """Per task, the (N, d) pooled embeddings of ``inputs`` under that task's prompt / prefix /
    adapter (the input its head reads)."""
    loaded = load_bank(bank, tasks)
    outputs = loaded.outputs(list(inputs), batch_size=batch_size, max_length=max_length)
    return {task: outputs[task][1] for task in loaded.tasks}
