"""Run directories: refuse to clobber a finished run, check a resume matches.

A run directory is claimed by ``train_config.json`` (the resolved configs). Starting a run in a
directory that already holds one is refused unless ``resume`` (the configs must match, so a
resumed run is the same run) or ``overwrite`` (the old run files are removed first).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from chemtl.atomic import write_json
from chemtl.errors import ChemtlError
from chemtl.training.config import DataConfig, PretrainConfig, TrainConfig
from chemtl.training.distributed import global_rank_from_env  # noqa: F401 (its former home)

RUN_CONFIG = "train_config.json"
# Fields that may differ between a run and its resumption.
RESUME_FREE = {("train", "progress_bar")}
# Fields added after runs were written, with the value every older run ran with (each config's
# ``_legacy``): an interrupted run whose config lacks one resumes when the new value is that one.
ADDED_FIELDS = {
    (section, name): value
    for section, cls in (("train", TrainConfig), ("data", DataConfig), ("pretrain", PretrainConfig))
    for name, value in cls._legacy.items()
}
_MISSING = object()
RUN_FILES = (
    RUN_CONFIG,
    "metrics.json",
    "predictions.csv",
    "manifest.json",
    "config.json",
    "model.safetensors",
    "chemtl.json",
    "strategy.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "adapter_config.json",
    "adapter_model.safetensors",
    "prefix_encoder.safetensors",
    "fewshot.json",
    "fewshot_head.safetensors",
    "text_tokenizer.json",  # a describer's decoder vocabulary
    "generation_config.json",
    "descriptor_targets.json",  # the descriptors pretraining objective's standardisation
)
RUN_DIRS = ("checkpoints", "logs", "prompt_adapter")


class RunDirError(ChemtlError):
    """An output directory that cannot take this run (already holds another, config differs)."""


def _diff(old: Any, new: Any, path: tuple[str, ...] = ()) -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for key in sorted(set(old) | set(new)):
            if (path + (key,))[:2] in RESUME_FREE or path + (key,) in RESUME_FREE:
                continue
            old_value = old.get(key, _MISSING)
            if old_value is _MISSING:
                old_value = ADDED_FIELDS.get(path + (key,))
            out += _diff(old_value, new.get(key), path + (key,))
        return out
    return [] if old == new else [".".join(path)]


def prepare_run_dir(out_dir: Path, run_config: dict[str, Any], *, resume: bool, overwrite: bool) -> None:
    """Claim ``out_dir`` for a run (rank 0 only; launched ranks find it claimed)."""
    if resume and overwrite:
        raise RunDirError("--resume and --overwrite exclude each other")
    run_config = json.loads(json.dumps(run_config))  # tuples -> lists, as the saved file has them
    existing = out_dir / RUN_CONFIG
    if out_dir.exists() and not out_dir.is_dir():
        raise RunDirError(f"output {str(out_dir)!r} exists and is not a directory")
    if existing.is_file():
        if overwrite:
            for name in RUN_FILES:
                (out_dir / name).unlink(missing_ok=True)
            for name in RUN_DIRS:
                shutil.rmtree(out_dir / name, ignore_errors=True)
        elif resume:
            try:
                old = json.loads(existing.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise RunDirError(f"{existing}: unreadable ({exc}); cannot resume") from None
            changed = _diff(old, run_config)
            if changed:
                raise RunDirError(
                    f"cannot resume the run in {str(out_dir)!r}: option(s) {', '.join(changed)} differ from "
                    "the interrupted run"
                )
            return
        else:
            raise RunDirError(
                f"{str(out_dir)!r} already holds a run; pass --resume to continue it or --overwrite to replace it"
            )
    out_dir.mkdir(parents=True, exist_ok=True)
    write_json(existing, run_config)
