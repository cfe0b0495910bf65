"""``chain.toml`` -> a validated list of stages, each mapped onto the configs its verb builds.

A chain config is TOML: a list of ``[[stage]]`` tables, run in order, each with a ``name``
(letters, digits, ``_ . -``; unique), a ``kind`` and that kind's settings::

    [[stage]]
    name = "mlm"
    kind = "pretrain"              # pretrain | supervised | finetune | adapt
    data = "inorganic_corpus"
    max-steps = 4000

    [[stage]]
    name = "gap"
    kind = "finetune"
    init = "stage:mlm"             # a shipped model, a directory, or an earlier stage
    data = "matbench_expt_gap"
    target = "target"

The settings are the flags of the matching verb without their dashes (``max-steps = 4000`` is
``--max-steps 4000``; ``max_steps`` works too), with that verb's defaults: ``pretrain`` and
``supervised`` take `chemtl pretrain`'s flags and defaults (``supervised`` is its
``--supervised`` run: ``data`` is the list of ``DATASET[:TARGET]`` that ``--supervised`` takes),
``finetune`` takes `chemtl finetune`'s, ``adapt`` the fields of ``AdaptConfig`` (part of
``chemtl.pipelines.adapt``; dashes or underscores) plus the training flags, with finetune's
training defaults and the stage's ``seed`` also as ``AdaptConfig.seed`` (an adapt stage runs
the ``full`` strategy: ``adapt``'s default). The differences from the command line:

- ``kind`` is the stage's kind, so the representation (``--kind``) is ``input-kind``;
- the starting model (``--init``, or ``--model`` of finetune/adapt) is ``init``: a shipped model,
  a model directory, or ``"stage:NAME"``, the output of an earlier stage; required by finetune
  and adapt;
- ``model-option`` and ``split-param`` are tables (``model-option = {pooling = "mean"}``); the
  comma lists (``objective``, ``exclude``, ``lora-targets``, supervised ``data``) may be arrays,
  and the repeatable ``condition`` is an array;
- a chain runs every stage in its own process, so ``devices`` and ``num-nodes`` are not keys
  (a DDP stage runs with the verb itself), nor are ``resume``/``overwrite`` (the chain decides);
- file paths are read relative to the working directory, as on the command line.

``load_chain_config`` checks the whole file before anything runs: unknown kinds and keys, values
of the wrong type, missing datasets and files, an ``init`` naming no shipped model, directory or
earlier stage, and every config the stage builds (``TrainConfig``, ``DataConfig``, ...), each a
one-line ``ChainError`` naming the stage and the value.
"""

from __future__ import annotations

import difflib
import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chemtl.errors import ChemtlError

STAGE_KINDS = ("pretrain", "supervised", "finetune", "adapt")
STAGE_PREFIX = "stage:"
_NAME = re.compile(r"[A-Za-z0-9_.-]+")
REQUIRED = object()

# Training flags (`add_train_args`): key -> type. Defaults differ by verb, as on the command line.
TRAIN_TYPES = {
    "lr": "float",
    "head-lr": "float",
    "lr-decay": "float",
    "weight-decay": "float",
    "batch-size": "int",
    "epochs": "int",
    "max-steps": "int",
    "patience": "int",
    "scheduler": "str",
    "warmup-steps": "int",
    "grad-clip": "float",
    "seed": "int",
    "precision": "str",
    "num-workers": "int",
    "progress": "bool",
    "accelerator": "str",
    "checkpoint-every": "int",
    "cycle-epochs": "int",
    "cycle-min-ratio": "float",
    "swa": "bool",
    "swa-start": "float",
    "optimizer": "str",
    "loss": "str",
    "output-gate": "bool",
    "head": "str",
    "features": "str",
}
FINETUNE_TRAIN = {
    "lr": 1e-4,
    "head-lr": 1e-3,
    "lr-decay": 1.0,
    "weight-decay": 0.01,
    "batch-size": 32,
    "epochs": 50,
    "max-steps": None,
    "patience": 10,
    "scheduler": "constant",
    "warmup-steps": 0,
    "grad-clip": 1.0,
    "seed": 0,
    "precision": "32",
    "num-workers": 0,
    "progress": True,
    "accelerator": "cpu",
    "checkpoint-every": 50,
    "cycle-epochs": 2,
    "cycle-min-ratio": 1e-4 / 6e-3,
    "swa": False,
    "swa-start": 0.5,
    "optimizer": "adamw-fused",
    "loss": "mse",
    "output-gate": False,
    "head": "pooled",
    "features": "none",
}
# `chemtl pretrain`'s own defaults (head-lr 0 and patience 0: none)
PRETRAIN_TRAIN = {
    **FINETUNE_TRAIN,
    "lr": 5e-4,
    "head-lr": 0.0,
    "batch-size": 64,
    "epochs": 1,
    "patience": 0,
    "scheduler": "linear",
    "warmup-steps": 100,
    "checkpoint-every": 200,
}

# key -> (type, default); types: str int float bool table, csv (a comma string or an array of
# strings), strs (a string or an array of strings)
_MODEL = {
    "input-kind": ("str", "composition"),
    "size": ("str", "small"),
    "model-option": ("table", {}),
}
KEYS: dict[str, dict[str, tuple[str, Any]]] = {
    "pretrain": {
        "data": ("str", REQUIRED),
        "input-col": ("str", None),
        "limit": ("int", None),
        "buffer-size": ("int", 10_000),
        **_MODEL,
        "tokenizer": ("str", None),
        "objective": ("csv", ["mlm"]),
        "condition": ("strs", []),
        "bins": ("int", 4),
        "mask": ("str", "random"),
        "mask-prob": ("float", 0.15),
        "contrastive-weight": ("float", 1.0),
        "descriptor-weight": ("float", 1.0),
        "temperature": ("float", 0.1),
        "max-length": ("int", 128),
        "val-rows": ("int", 1000),
    },
    "supervised": {
        "data": ("csv", REQUIRED),
        "exclude": ("csv", []),
        **_MODEL,
        "max-length": ("int", 128),
    },
    "finetune": {
        "data": ("str", REQUIRED),
        "target": ("str", None),
        "input-col": ("str", None),
        "input-kind": ("str", None),
        "task": ("str", None),
        "skip-invalid": ("bool", False),
        "max-length": ("int", 256),
        "allow-leakage": ("bool", False),
        "split": ("str", None),
        "split-param": ("table", {}),
        "fold": ("int", None),
        "val-frac": ("float", 0.1),
        "split-seed": ("int", 0),
        "split-file": ("str", None),
        "select": ("str", None),
        "n": ("int", None),
        "strategy": ("str", "full"),
        "trainable-layers": ("int", None),
        "lora-r": ("int", None),
        "lora-alpha": ("float", None),
        "lora-dropout": ("float", None),
        "lora-targets": ("csv", None),
        "num-virtual-tokens": ("int", None),
        "prompt-init": ("str", None),
        "prefix-projection": ("bool", False),
        "prefix-hidden-size": ("int", None),
        "init-seed": ("int", None),
        "element-init": ("str", None),
        "augment": ("str", "none"),
        "jitter": ("float", 0.02),
    },
    "adapt": {},  # AdaptConfig's fields, checked by AdaptConfig itself
}
TRAIN_DEFAULTS = {
    "pretrain": PRETRAIN_TRAIN,
    "supervised": PRETRAIN_TRAIN,
    "finetune": FINETUNE_TRAIN,
    "adapt": FINETUNE_TRAIN,
}
# the verbs' other spellings of a flag, per stage kind
ALIASES = {
    "pretrain": {"corpus": "data"},
    "supervised": {},
    "finetune": {"target-col": "target", "model": "init"},
    "adapt": {"model": "init", "input-kind": "kind"},  # AdaptConfig.kind is the representation
}
# settings that do not change a stage's numbers (left out of its hash)
HASH_FREE = ("progress",)


class ChainError(ChemtlError):
    """A chain config that cannot run, or an output directory that holds another chain."""


def _legacy_settings() -> dict[str, Any]:
    """Settings added after chains were first recorded, dashed, with the value older chains ran
    with: the TrainConfig, DataConfig and PretrainConfig ``_legacy`` fields among the stage keys,
    and ``element-init`` None. A stage's record leaves them out at those values, so a chain finished
    before a key existed is still the same chain."""
    from chemtl.training.config import DataConfig, PretrainConfig, TrainConfig

    legacy = {
        key: table[key.replace("-", "_")]
        for table, keys in (
            (TrainConfig._legacy, TRAIN_TYPES),
            (DataConfig._legacy, KEYS["finetune"]),
            (PretrainConfig._legacy, KEYS["pretrain"]),
        )
        for key in keys
        if key.replace("-", "_") in table
    }
    legacy["element-init"] = None
    return legacy


@dataclass(frozen=True)
class Stage:
    """One stage: ``settings`` holds every key of its kind (defaults filled in), dashed names."""

    index: int  # 1-based
    name: str
    kind: str
    init: str | None
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def dir_name(self) -> str:
        return f"{self.index:02d}-{self.name}"

    @property
    def init_stage(self) -> str | None:
        """The earlier stage ``init`` names (``stage:NAME``), else None."""
        if self.init is not None and self.init.startswith(STAGE_PREFIX):
            return self.init[len(STAGE_PREFIX) :]
        return None

    def record(self) -> dict[str, Any]:
        """What decides the stage's numbers, as JSON (``chain.json`` keeps it; its hash is the
        stage's identity)."""
        legacy = _legacy_settings()
        return {
            "kind": self.kind,
            "init": self.init,
            "settings": {
                k: v
                for k, v in self.settings.items()
                if k not in HASH_FREE and not (k in legacy and v == legacy[k])
            },
        }


@dataclass(frozen=True)
class ChainConfig:
    stages: tuple[Stage, ...]
    source: str = "<config>"
    description: str | None = None

    def stage(self, name: str) -> Stage:
        return next(s for s in self.stages if s.name == name)


# ----------------------------------------------------------------------------------------------
# parsing


def _where(index: int, name: Any) -> str:
    return f"stage {name!r}" if isinstance(name, str) and name else f"stage {index}"


def _coerce(where: str, key: str, kind: str, value: Any) -> Any:
    def bad(what: str) -> ChainError:
        return ChainError(f"{where}: {key} must be {what}, got {value!r}")

    if kind == "str":
        if not isinstance(value, str):
            raise bad("a string")
        return value
    if kind == "int":
        if not isinstance(value, int) or isinstance(value, bool):
            raise bad("an integer")
        return value
    if kind == "float":
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise bad("a number")
        return float(value)
    if kind == "bool":
        if not isinstance(value, bool):
            raise bad("true or false")
        return value
    if kind == "table":
        if not isinstance(value, dict):
            raise bad("a table")
        return {str(k).replace("-", "_"): v for k, v in value.items()}
    if kind in ("csv", "strs"):
        if isinstance(value, str):
            items = value.split(",") if kind == "csv" else [value]
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            items = value
        else:
            raise bad("a string or an array of strings")
        return [v.strip() for v in items if v.strip()]
    raise AssertionError(kind)  # pragma: no cover


def _settings(where: str, kind: str, table: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    """``init`` and the kind's full settings from a stage table (minus name and kind)."""
    spec = {**KEYS[kind], **{k: (t, TRAIN_DEFAULTS[kind][k]) for k, t in TRAIN_TYPES.items()}}
    given: dict[str, Any] = {}
    init = None
    for raw, value in table.items():
        key = ALIASES[kind].get(raw.replace("_", "-"), raw.replace("_", "-"))
        if key in given or (key == "init" and init is not None):
            raise ChainError(f"{where}: {raw!r} given twice (as {key!r})")
        if key == "init":
            if not isinstance(value, str) or not value:
                raise ChainError(
                    f"{where}: init must be a model name, a directory or stage:NAME, got {value!r}"
                )
            init = value
        elif key in spec or kind == "adapt":
            given[key] = value
        else:
            close = difflib.get_close_matches(key, list(spec) + ["init"], n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            if key in ("devices", "num-nodes"):
                hint = " (a chain runs each stage in one process; run a DDP stage with its verb)"
            elif key in ("resume", "overwrite"):
                hint = " (the chain resumes by itself; pass --overwrite to `chemtl chain`)"
            raise ChainError(f"{where}: unknown key {raw!r} for a {kind} stage{hint}")
    out: dict[str, Any] = {}
    for key, (typ, default) in spec.items():
        if key in given:
            out[key] = _coerce(where, key, typ, given.pop(key))
        elif default is REQUIRED:
            raise ChainError(f"{where}: a {kind} stage needs {key!r}")
        else:
            out[key] = json.loads(json.dumps(default))  # a fresh copy
    out.update(given)  # adapt: AdaptConfig's fields, checked when its config is built
    return init, out


def parse_chain(data: dict[str, Any], source: str = "<config>") -> ChainConfig:
    """A parsed TOML document -> a ``ChainConfig`` (keys and types checked; see
    ``check_chain`` for what needs the data and models)."""
    unknown = sorted(set(data) - {"stage", "description"})
    if unknown:
        raise ChainError(f"{source}: unknown top-level key {unknown[0]!r} (a chain is [[stage]] tables)")
    tables = data.get("stage")
    if not isinstance(tables, list) or not tables or not all(isinstance(t, dict) for t in tables):
        raise ChainError(f"{source}: no [[stage]] tables; a chain lists its stages as [[stage]]")
    description = data.get("description")
    if description is not None and not isinstance(description, str):
        raise ChainError(f"{source}: description must be a string, got {description!r}")
    stages: list[Stage] = []
    seen: set[str] = set()
    for index, table in enumerate(tables, start=1):
        table = dict(table)
        name, kind = table.pop("name", None), table.pop("kind", None)
        where = _where(index, name)
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise ChainError(f"{where}: name must be letters, digits, '_', '.' or '-', got {name!r}")
        if name in seen:
            raise ChainError(f"{where}: name {name!r} is used by an earlier stage")
        seen.add(name)
        if kind not in STAGE_KINDS:
            raise ChainError(f"{where}: kind {kind!r} is not one of {', '.join(STAGE_KINDS)}")
        init, settings = _settings(where, kind, table)
        stages.append(Stage(index, name, kind, init, settings))
    return ChainConfig(tuple(stages), source, description)


def load_chain_config(path: str | Path, *, check: bool = True) -> ChainConfig:
    """Read and check the chain config at ``path`` (``check``: also its data, models and the
    configs each stage builds, ``check_chain``)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ChainError(f"chain config {str(path)!r} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ChainError(f"chain config {str(path)!r} cannot be read ({exc})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ChainError(f"chain config {str(path)!r} is not valid TOML ({exc})") from None
    config = parse_chain(data, str(path))
    if check:
        check_chain(config)
    return config


# ----------------------------------------------------------------------------------------------
# checks that look at the data and models


def _check_dataset(where: str, key: str, value: str) -> None:
    from chemtl.data.registry import get_spec, is_registered

    if is_registered(value) or Path(value).exists():
        return
    try:
        get_spec(value)  # its message names the closest datasets
    except ChemtlError as exc:
        raise ChainError(f"{where}: {key}: {exc}") from None
    raise ChainError(
        f"{where}: {key} {value!r} is neither a registered dataset nor a file"
    )  # pragma: no cover


def _check_path(where: str, key: str, value: str | None) -> None:
    if value is not None and not Path(value).exists():
        raise ChainError(f"{where}: {key} {value!r} does not exist")


def _check_init(config: ChainConfig, stage: Stage) -> None:
    where = _where(stage.index, stage.name)
    if stage.init is None:
        if stage.kind in ("finetune", "adapt"):
            raise ChainError(f"{where}: a {stage.kind} stage needs init (a model, a directory or stage:NAME)")
        return
    earlier = [s.name for s in config.stages[: stage.index - 1]]
    named = stage.init_stage
    if named is not None:
        if named not in earlier:
            listed = ", ".join(earlier) if earlier else "none"
            raise ChainError(
                f"{where}: init {stage.init!r} names no earlier stage (earlier stages: {listed})"
            )
        return
    from chemtl.shipped import shipped_models

    shipped = shipped_models("chemtl")  # the encoders a stage can start from
    if stage.init in shipped or Path(stage.init).is_dir():
        return
    raise ChainError(
        f"{where}: init {stage.init!r} is neither a shipped model ({', '.join(shipped)}), a directory, "
        "nor stage:NAME of an earlier stage"
    )


def check_chain(config: ChainConfig) -> None:
    """Everything that can be checked before a stage runs: models, datasets, files, configs."""
    for stage in config.stages:
        where = _where(stage.index, stage.name)
        _check_init(config, stage)
        s = stage.settings
        if stage.kind == "pretrain":
            _check_dataset(where, "data", s["data"])
            _check_path(where, "tokenizer", s["tokenizer"])
            from chemtl.data.conditions import parse_condition_spec

            for spec in s["condition"]:
                try:
                    _, dataset, _ = parse_condition_spec(spec)
                except ChemtlError as exc:
                    raise ChainError(f"{where}: {exc}") from None
                _check_dataset(where, "condition", dataset)
        elif stage.kind == "supervised":
            for item in s["data"]:
                _check_dataset(where, "data", item.partition(":")[0])
            for item in s["exclude"]:
                _check_dataset(where, "exclude", item)
        elif stage.kind == "finetune":
            _check_dataset(where, "data", s["data"])
            _check_path(where, "split-file", s["split-file"])
        elif stage.kind == "adapt":
            for key in ("source", "target"):
                if isinstance(s.get(key), str):
                    _check_dataset(where, key, s[key])
        build_call(stage, Path("<out>"))  # every config the stage builds is valid


# ----------------------------------------------------------------------------------------------
# stage -> the library call its verb makes


def _train_config(s: dict[str, Any]):
    """``chemtl.cli.finetune.train_config_from_args`` for settings."""
    from chemtl.training.config import TrainConfig

    return TrainConfig(
        lr=s["lr"],
        head_lr=s["head-lr"] if s["head-lr"] else None,
        lr_decay=s["lr-decay"],
        weight_decay=s["weight-decay"],
        batch_size=s["batch-size"],
        max_epochs=s["epochs"],
        max_steps=s["max-steps"],
        patience=s["patience"] if s["patience"] else None,
        seed=s["seed"],
        accelerator=s["accelerator"],
        precision=s["precision"],
        num_workers=s["num-workers"],
        scheduler=s["scheduler"],
        warmup_steps=s["warmup-steps"],
        grad_clip=s["grad-clip"] if s["grad-clip"] else None,
        checkpoint_every_n_steps=s["checkpoint-every"],
        progress_bar=s["progress"],
        cycle_epochs=s["cycle-epochs"],
        cycle_min_ratio=s["cycle-min-ratio"],
        swa=s["swa"],
        swa_start=s["swa-start"],
        optimizer=s["optimizer"],
        loss=s["loss"],
        output_gate=s["output-gate"],
        head=s["head"],
        features=s["features"],
    )


def _strategy_config(s: dict[str, Any]):
    """``chemtl.cli.finetune.strategy_config_from_args`` for settings."""
    from chemtl.transfer import StrategyConfig

    options = {
        "trainable_layers": s["trainable-layers"],
        "lora_r": s["lora-r"],
        "lora_alpha": s["lora-alpha"],
        "lora_dropout": s["lora-dropout"],
        "lora_target_modules": tuple(s["lora-targets"]) if s["lora-targets"] else None,
        "num_virtual_tokens": s["num-virtual-tokens"],
        "prompt_init": s["prompt-init"],
        "prefix_projection": s["prefix-projection"] or None,
        "prefix_hidden_size": s["prefix-hidden-size"],
        "init_seed": s["init-seed"],
        "element_init": s["element-init"],
    }
    given = {k: v for k, v in options.items() if v is not None}
    if "lora_alpha" in given and float(given["lora_alpha"]).is_integer():
        given["lora_alpha"] = int(given["lora_alpha"])
    return StrategyConfig(name=s["strategy"], **given)


def _model_config(s: dict[str, Any]):
    from chemtl.training.config import ModelConfig

    return ModelConfig(size=s["size"], kind=s["input-kind"], overrides=dict(s["model-option"]))


def adapt_module():
    """``chemtl.pipelines.adapt``, or None when this build has no ``adapt``."""
    import importlib

    try:
        return importlib.import_module("chemtl.pipelines.adapt")
    except ModuleNotFoundError as exc:
        if exc.name in ("chemtl.pipelines.adapt",):
            return None
        raise


def resolve_init(config: ChainConfig, stage: Stage, stages_dir: Path) -> str | None:
    """``init`` as the verb takes it: ``stage:NAME`` -> that stage's run directory."""
    named = stage.init_stage
    if named is None:
        return stage.init
    return str(stages_dir / config.stage(named).dir_name)


def build_call(stage: Stage, stages_dir: Path, init: str | None = None) -> dict[str, Any]:
    """The library call the stage's verb makes, without its output directory and resume flags:
    ``{"run": "pretrain" | "supervised_pretrain" | "finetune" | "adapt", **keyword arguments}``.
    ``init``: the resolved starting model (a stage's run directory for ``stage:NAME``); by
    default ``stage.init`` itself. Config errors become ``ChainError`` naming the stage."""
    where = _where(stage.index, stage.name)
    init = stage.init if init is None else init
    s = stage.settings
    try:
        train = _train_config(s)
        if stage.kind == "pretrain":
            from chemtl.training.config import PretrainConfig

            return {
                "run": "pretrain",
                "corpus": s["data"],
                "model": _model_config(s),
                "train": train,
                "config": PretrainConfig(
                    objectives=tuple(s["objective"]),
                    mask=s["mask"],
                    mask_prob=s["mask-prob"],
                    contrastive_weight=s["contrastive-weight"],
                    descriptor_weight=s["descriptor-weight"],
                    temperature=s["temperature"],
                    max_length=s["max-length"],
                    val_rows=s["val-rows"],
                    conditions=tuple(s["condition"]),
                    bins=s["bins"],
                ),
                "input_col": s["input-col"],
                "limit": s["limit"],
                "init_from": init,
                "tokenizer_dir": s["tokenizer"],
                "buffer_size": s["buffer-size"],
            }
        if stage.kind == "supervised":
            from chemtl.training.config import DataConfig

            sources = []
            for item in s["data"]:
                name, _, target = item.partition(":")
                sources.append(
                    DataConfig(
                        dataset=name,
                        target_col=target or None,
                        max_length=s["max-length"],
                        split_seed=s["seed"],
                    )
                )
            return {
                "run": "supervised_pretrain",
                "sources": sources,
                "model": _model_config(s),
                "train": train,
                "init_from": init,
                "val_frac": 0.1,
                "exclude": list(s["exclude"]) or None,
            }
        if stage.kind == "finetune":
            from chemtl.training.config import DataConfig

            params = dict(s["split-param"])
            if s["allow-leakage"]:
                params["allow_leakage"] = True
            data = DataConfig(
                dataset=s["data"],
                input_col=s["input-col"],
                target_col=s["target"],
                kind=s["input-kind"],
                task=s["task"],
                split=s["split"] or "auto",
                split_params=params,
                fold=s["fold"],
                val_frac=s["val-frac"],
                split_seed=s["split-seed"],
                split_file=s["split-file"],
                max_length=s["max-length"],
                skip_invalid=s["skip-invalid"],
                select=s["select"],
                select_n=s["n"],
                augment=s["augment"],
                jitter=s["jitter"],
            )
            return {
                "run": "finetune",
                "model_dir": init,
                "data": data,
                "train": train,
                "strategy": _strategy_config(s),
            }
        module = adapt_module()
        if module is None or not hasattr(module, "AdaptConfig"):
            raise ChainError(f"{where}: adapt is not available in this build")
        import dataclasses

        fields = {k.replace("-", "_"): v for k, v in s.items() if k not in TRAIN_TYPES}
        if "seed" in {f.name for f in dataclasses.fields(module.AdaptConfig)}:
            fields.setdefault("seed", s["seed"])  # one seed, as on the command line
        return {
            "run": "adapt",
            "model_dir": init,
            "config": module.AdaptConfig.from_dict(fields),
            "train": train,
        }
    except ChainError:
        raise
    except ChemtlError as exc:
        raise ChainError(f"{where}: {exc}") from None


def plain(value: Any) -> Any:
    """Configs, tuples and paths -> JSON values (for records, hashes and comparisons)."""
    if hasattr(value, "to_dict"):
        return plain(value.to_dict())
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value
