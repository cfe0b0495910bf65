"""A chemtl model directory: what it holds, how it is written (atomically) and read (safely).

Layout::

    config.json             Hugging Face config (model_type "chemtl"; "gpt2" for a causal
                            generator, whose chemtl.json says "task": "causal"; "t5" for a
                            describer, which only `chemtl describe` reads: see ``MODEL_TYPES``)
    model.safetensors       the weights; never a pickle
    tokenizer.json, tokenizer_config.json, special_tokens_map.json
    chemtl.json             what the model carries: kind, task, target column(s) and the
                            standardisation of regression targets (mean, std in the user's
                            units), class names, transfer strategy, source model, max_length

A pretraining run writes exactly these; a fine-tuning run adds its report files beside them
(metrics.json, predictions.csv, manifest.json, train_config.json, logs/, checkpoints/), so the run
directory is itself a model directory.

Reading refuses, before anything is unpickled or trained: a directory without safetensors weights,
with a pickle-format file anywhere in it but ``checkpoints/`` (``check_weights_dir`` states the
rule), with a truncated or damaged safetensors file, and a tokenizer that does not fit the model
(kind or vocabulary size).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chemtl.atomic import fsync_tree, replace_dir, usual_modes, write_json
from chemtl.errors import ChemtlError
from chemtl.shipped import resolve_model_dir, shipped_models
from chemtl.training.checkpoint import ModelDirError, check_weights_dir

META_FILE = "chemtl.json"
META_FORMAT = "chemtl-model"
META_VERSION = 1


class TokenizerMismatchError(ChemtlError):
    """A tokenizer whose kind or vocabulary does not fit the model it is used with."""


@dataclass
class LoadedModel:
    """A model directory read back: its config, tokenizer and ``chemtl.json`` (``meta``)."""

    path: Path
    config: Any
    tokenizer: Any
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return self.config.kind

    @property
    def task(self) -> str | None:
        return self.meta.get("task")


def quiet_transformers() -> None:
    """Keep transformers' load reports (new head weights, ...) off the terminal."""
    import transformers

    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()


def check_tokenizer(tokenizer: Any, config: Any, where: str) -> None:
    """Refuse a tokenizer whose kind or vocabulary size differs from the model's."""
    tok_kind = getattr(tokenizer, "kind", None)
    if tok_kind != config.kind:
        raise TokenizerMismatchError(
            f"{where}: the tokenizer is for {tok_kind!r} inputs but the model for {config.kind!r} inputs"
        )
    if len(tokenizer) != config.vocab_size:
        raise TokenizerMismatchError(
            f"{where}: the tokenizer has {len(tokenizer)} tokens but the model's vocabulary has "
            f"{config.vocab_size}"
        )


def read_meta(path: str | os.PathLike) -> dict[str, Any]:
    file = Path(path) / META_FILE
    if not file.is_file():
        return {}
    try:
        meta = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelDirError(f"{file}: unreadable ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != META_FORMAT:
        raise ModelDirError(f"{file}: not a chemtl model description")
    return meta


CAUSAL_MODEL_TYPE = "gpt2"  # transformers' GPT2Config.model_type

# The config.json ``model_type``s chemtl reads, and what each one is (said when a verb is given a
# type it does not take). Each verb names the types it accepts: the encoder verbs ``ENCODER_TYPES``
# (``load_model_dir``), `chemtl generate` ``"gpt2"`` (``load_model_dir(causal=True)``), `chemtl
# describe` ``"t5"`` (``chemtl.pipelines.describe``).
MODEL_TYPES = {
    "chemtl": "a chemtl encoder",
    CAUSAL_MODEL_TYPE: "a causal generator (GPT-2) for `chemtl generate`",
    "t5": "a describer: a T5 for `chemtl describe`",
}
ENCODER_TYPES = ("chemtl",)


class WrongModelKindError(ModelDirError):
    """A model of the wrong kind for the verb: an encoder where a generator is needed, or back."""


def is_causal_dir(path: str | os.PathLike) -> bool:
    """True for a causal generator's directory (config.json model_type gpt2, chemtl.json task
    causal); reads only those two files."""
    d = resolve_model_dir(path)
    try:
        raw = json.loads((d / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return raw.get("model_type") == CAUSAL_MODEL_TYPE and read_meta(d).get("task") == "causal"


def read_model_config(
    path: str | os.PathLike, accept: tuple[str, ...] = ENCODER_TYPES, wanted: str = "a chemtl encoder"
) -> tuple[Path, dict[str, Any]]:
    """A model directory (or shipped model name) and its raw config.json, refused (one line, naming
    the directory and its type) unless its weights are safetensors and its ``model_type`` is one of
    ``accept``; ``wanted`` says what the verb needs."""
    d = resolve_model_dir(path)  # a shipped model's name, or a directory
    if not d.exists():
        shipped = ", ".join(shipped_models()) or "none"
        raise ModelDirError(
            f"model directory {str(d)!r} does not exist and is not a shipped model (shipped: {shipped})"
        )
    check_weights_dir(d)
    try:
        raw = json.loads((d / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelDirError(f"{d / 'config.json'}: unreadable ({exc})") from None
    model_type = raw.get("model_type") if isinstance(raw, dict) else None
    if model_type not in accept:
        what = MODEL_TYPES.get(model_type) if isinstance(model_type, str) else None
        raise ModelDirError(
            f"model directory {str(d)!r} holds a {model_type!r} model{f' ({what})' if what else ''}, "
            f"not {wanted}"
        )
    return d, raw


def load_model_dir(
    path: str | os.PathLike, tokenizer: Any | None = None, *, causal: bool = False
) -> LoadedModel:
    """Read a model directory (or shipped model name)'s config, tokenizer and meta; weights are
    checked, not loaded.

    ``tokenizer`` replaces the directory's own (it must still fit the model). ``causal``: the verb
    needs a causal generator (``chemtl generate``); without it the directory must hold a chemtl
    encoder. Either way a model of the other kind is a one-line ``WrongModelKindError``; a describer
    (T5) is refused by name.
    """
    from chemtl.models import ChemtlConfig

    wanted = "a causal generator" if causal else "a chemtl encoder"
    d, raw = read_model_config(path, ENCODER_TYPES + (CAUSAL_MODEL_TYPE,), wanted)
    model_type = raw.get("model_type")
    meta = read_meta(d)
    is_causal = model_type == CAUSAL_MODEL_TYPE and meta.get("task") == "causal"
    if causal and not is_causal:
        what = "a chemtl encoder" if model_type == ChemtlConfig.model_type else f"a {model_type!r} model"
        raise WrongModelKindError(
            f"model {os.fspath(path)!r} is {what}, not a causal generator; chemtl generate needs a model "
            "trained with `chemtl pretrain --objective causal`"
        )
    if is_causal and not causal:
        raise WrongModelKindError(
            f"model {os.fspath(path)!r} is a causal generator (GPT-2), not an encoder; use it with "
            "chemtl generate"
        )
    if is_causal:
        from transformers import GPT2Config

        config = GPT2Config.from_pretrained(d)
    elif model_type != ChemtlConfig.model_type:
        raise ModelDirError(f"model directory {str(d)!r} holds a {model_type!r} model, not a chemtl one")
    else:
        config = ChemtlConfig.from_pretrained(d)
    if tokenizer is None:
        from chemtl.tokenizers import load_tokenizer

        if not (d / "tokenizer_config.json").is_file():
            raise ModelDirError(f"model directory {str(d)!r} has no tokenizer (tokenizer_config.json)")
        tokenizer = load_tokenizer(d)
    check_tokenizer(tokenizer, config, str(d))
    return LoadedModel(d, config, tokenizer, meta)


def make_meta(**fields: Any) -> dict[str, Any]:
    return {"format": META_FORMAT, "version": META_VERSION, **fields}


def save_model_dir(out_dir: str | os.PathLike, save_weights, tokenizer: Any, meta: dict[str, Any]) -> Path:
    """Write weights (``save_weights(tmp_dir)``), tokenizer and ``chemtl.json`` into ``out_dir``.

    Everything is first written into a temporary directory inside ``out_dir``; then each file is
    ``os.replace``'d into place, so every file of the directory is whole at any moment.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".save-", dir=out))
    try:
        save_weights(tmp)
        tokenizer.save_pretrained(tmp)
        write_json(tmp / META_FILE, meta)
        usual_modes(tmp)  # safetensors writes 0600
        fsync_tree(tmp)
        # config.json last: a reader that finds the new config finds the new weights too.
        names = sorted((p.name for p in tmp.iterdir()), key=lambda n: (n == "config.json", n))
        for name in names:
            source, target = tmp / name, out / name
            if source.is_dir():  # a sub-directory (a PEFT adapter): swap it in whole
                replace_dir(source, target)
            else:
                os.replace(source, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out
