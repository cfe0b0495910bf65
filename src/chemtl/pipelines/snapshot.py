"""``snapshot``: a pretraining run's checkpoint -> a model directory, the run left as it is.

A long ``chemtl pretrain`` run keeps ``checkpoints/last.ckpt`` (written atomically every
``--checkpoint-every`` steps) and writes its model directory only when it finishes.
``snapshot(run_dir, out_dir)`` writes, from the checkpoint, the model directory the run would
write at that step: ``config.json``, ``model.safetensors``, the tokenizer, ``chemtl.json`` (the
run's, plus ``"snapshot"``: the step, epoch, run and checkpoint it was taken from), the objective's
``descriptor_targets.json`` (copied from the run) and ``manifest.json`` (the run's
``train_config.json`` under ``"snapshot"``). So ``chemtl finetune --model OUT`` can judge an
unfinished run, which may be training in another process meanwhile and may be resumed afterwards.

Nothing is written into ``run_dir``: its files are only read, the checkpoint once, with
``torch.load(weights_only=True)`` (``load_training_checkpoint``). The weights are the model's at
the checkpoint's step (``weights="last"``), or the best epoch's (``weights="best"``: the copy of
the weights with the lowest validation loss at an epoch end that the checkpoint carries, what a
finished run writes when validation ran at an epoch end). ``out_dir`` is written whole into a
temporary directory beside it and renamed into place: on any failure there is no ``out_dir``.

Runs of encoder pretraining only (``mlm``, ``contrastive``, ``descriptors``): a causal
generator's tokenizer and a supervised stage's target standardisation are built from labelled data
when such a run finishes, not kept in its run directory.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chemtl.atomic import fsync_tree, replace_dir, usual_modes
from chemtl.errors import ChemtlError

WEIGHTS = ("last", "best")
LAST = "last"
SNAPSHOT_ADVICE = "no snapshot was written"


class SnapshotError(ChemtlError):
    """A run directory, checkpoint or output that a snapshot cannot be taken from or into."""


@dataclass
class SnapshotResult:
    out_dir: Path
    global_step: int
    epoch: int
    weights: str
    checkpoint: Path


def _run_config(run: Path) -> dict[str, Any]:
    from chemtl.pipelines.runs import RUN_CONFIG

    if not run.exists():
        raise SnapshotError(f"run directory {str(run)!r} does not exist")
    if not run.is_dir():
        raise SnapshotError(f"run {str(run)!r} is not a directory (a run is the --out of chemtl pretrain)")
    path = run / RUN_CONFIG
    if not path.is_file():
        raise SnapshotError(f"{str(run)!r} is not a chemtl run directory (it has no {RUN_CONFIG})")
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SnapshotError(f"{str(path)!r}: unreadable ({exc})") from None
    kind = config.get("run") if isinstance(config, dict) else None
    if kind != "pretrain":
        raise SnapshotError(
            f"{str(run)!r} holds a {kind!r} run, not a `chemtl pretrain` corpus run; a snapshot is "
            "taken of a pretraining run"
        )
    return config


def _checkpoint_file(run: Path, checkpoint: str | os.PathLike) -> Path:
    from chemtl.training.engine import checkpoint_path

    if os.fspath(checkpoint) == LAST:
        path = checkpoint_path(run)
        if not path.is_file():
            raise SnapshotError(
                f"run directory {str(run)!r} has no checkpoint yet ({str(path)!r} does not exist; a run "
                "writes it every --checkpoint-every steps)"
            )
        return path
    path = Path(checkpoint)
    if not path.is_file():
        what = "is not a file" if path.exists() else "does not exist"
        raise SnapshotError(f"checkpoint {str(path)!r} {what}")
    return path


def _check_out(out: Path, run: Path, overwrite: bool) -> None:
    from chemtl.pipelines.runs import RUN_CONFIG

    a, b = out.resolve(), run.resolve()
    if a == b or b in a.parents or a in b.parents:
        raise SnapshotError(
            f"--out {str(out)!r} is the run directory {str(run)!r}, inside it or around it; a snapshot "
            "never writes into the run: give another directory"
        )
    if not out.exists():
        return
    if not out.is_dir():
        raise SnapshotError(f"output {str(out)!r} exists and is not a directory")
    if not any(out.iterdir()):
        return
    if not overwrite:
        raise SnapshotError(f"output {str(out)!r} exists and is not empty; pass --overwrite to replace it")
    if (out / RUN_CONFIG).exists() or (out / "checkpoints").exists():
        raise SnapshotError(
            f"output {str(out)!r} holds a run ({RUN_CONFIG} or checkpoints/); --overwrite replaces only "
            "a model directory"
        )
    if not (out / "config.json").is_file():
        raise SnapshotError(
            f"output {str(out)!r} is not a model directory (no config.json); --overwrite replaces only "
            "a model directory"
        )


def _weights(state: dict[str, Any], path: Path, weights: str) -> dict[str, Any]:
    """The model's state dict (without the ``model.`` prefix) at the checkpoint or its best epoch."""
    if weights == "best":
        best = (state.get("callbacks") or {}).get("BestWeights") or {}
        if not isinstance(best, dict) or best.get("weights") is None:
            raise SnapshotError(
                f"checkpoint {str(path)!r} (step {state['global_step']}) holds no best weights yet: "
                "they are kept once validation has run at an epoch end; take --weights last"
            )
        return dict(best["weights"])
    prefix = "model."
    sd = state["state_dict"]
    return {k[len(prefix) :]: v for k, v in sd.items() if isinstance(k, str) and k.startswith(prefix)}


def _load_into(net, weights: dict[str, Any], path: Path) -> None:
    import torch

    if not weights or not all(isinstance(v, torch.Tensor) for v in weights.values()):
        raise SnapshotError(
            f"checkpoint {str(path)!r} is not a chemtl pretraining checkpoint (no model weights)"
        )
    own = net.state_dict()
    missing = [k for k in own if k not in weights]
    unexpected = [k for k in weights if k not in own]
    shapes = [k for k in own if k in weights and tuple(weights[k].shape) != tuple(own[k].shape)]
    problems = []
    if missing:
        problems.append(f"{len(missing)} missing, the first {missing[0]!r}")
    if unexpected:
        problems.append(f"{len(unexpected)} not in the model, the first {unexpected[0]!r}")
    if shapes:
        k = shapes[0]
        problems.append(f"{k!r} of shape {list(weights[k].shape)} where the model's is {list(own[k].shape)}")
    if problems:
        raise SnapshotError(
            f"checkpoint {str(path)!r} does not hold the weights of this run's model ({'; '.join(problems)})"
        )
    net.load_state_dict(weights, strict=True)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _finish_dir(tmp: Path) -> None:
    usual_modes(tmp)  # mkdtemp makes 0700; give the usual permissions
    fsync_tree(tmp)


def _swap_in(tmp: Path, out: Path) -> None:
    """Rename the finished ``tmp`` to ``out`` (a directory there, checked replaceable, is moved
    aside and removed), then fsync the parent directory so the rename is on disk."""
    replace_dir(tmp, out)
    fd = os.open(out.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def snapshot(
    run_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    checkpoint: str | os.PathLike = LAST,
    weights: str = LAST,
    overwrite: bool = False,
    command: list[str] | None = None,
) -> SnapshotResult:
    """Write the model directory of pretraining run ``run_dir`` at its checkpoint into ``out_dir``.

    ``checkpoint``: ``"last"`` (the run's ``checkpoints/last.ckpt``) or the path of a checkpoint
    of this run (a copy kept aside). ``weights``: ``"last"`` (the model at the checkpoint's step)
    or ``"best"`` (the best epoch's, see the module docstring). ``overwrite``: replace an existing
    model directory at ``out_dir`` (never a run); otherwise a non-empty ``out_dir`` is refused.
    """
    from chemtl.atomic import write_json
    from chemtl.data.features import DescriptorTargets
    from chemtl.pipelines.modeldir import check_tokenizer, load_model_dir, quiet_transformers, save_model_dir
    from chemtl.pipelines.pretrain import DESCRIPTOR_TARGETS_FILE, pretrain_meta, pretraining_skeleton
    from chemtl.tokenizers import get_tokenizer, load_tokenizer
    from chemtl.training.checkpoint import load_training_checkpoint
    from chemtl.training.config import ModelConfig, PretrainConfig
    from chemtl.training.manifest import build_manifest, now_iso

    if weights not in WEIGHTS:
        raise SnapshotError(f"weights {weights!r}: choose one of {', '.join(WEIGHTS)}")
    started = now_iso()
    run, out = Path(run_dir), Path(out_dir)
    run_config = _run_config(run)
    ckpt = _checkpoint_file(run, checkpoint)
    _check_out(out, run, overwrite)
    try:
        model_cfg = ModelConfig.from_dict(run_config["model"])
        config = PretrainConfig.from_dict(run_config["pretrain"])
    except (KeyError, TypeError, ChemtlError) as exc:
        raise SnapshotError(
            f"{str(run / 'train_config.json')!r}: not a pretraining run's config ({exc})"
        ) from None
    if config.objectives == ("causal",):
        raise SnapshotError(
            f"{str(run)!r} trains a causal generator; a snapshot is taken of an encoder's pretraining "
            "(mlm, contrastive, descriptors)"
        )

    quiet_transformers()
    init_from, tokenizer_dir = run_config.get("init_from"), run_config.get("tokenizer_dir")
    kind = model_cfg.kind
    if init_from is not None:
        source = load_model_dir(init_from)
        kind, tokenizer = source.kind, source.tokenizer
    elif tokenizer_dir is not None:
        tokenizer = load_tokenizer(tokenizer_dir)
    else:
        tokenizer = get_tokenizer(kind)
    descriptors, descriptor_bytes = None, None
    if "descriptors" in config.objectives:
        targets = run / DESCRIPTOR_TARGETS_FILE
        if not targets.is_file():
            raise SnapshotError(
                f"run directory {str(run)!r} trains the descriptors objective but has no {DESCRIPTOR_TARGETS_FILE}"
            )
        descriptor_bytes = targets.read_bytes()
        descriptors = DescriptorTargets.load(targets)

    data = ckpt.read_bytes()  # one read: a running run replaces the file atomically
    state = load_training_checkpoint(ckpt, data=data, advice=SNAPSHOT_ADVICE)
    net = pretraining_skeleton(model_cfg, config, len(tokenizer), init_from, descriptors)
    check_tokenizer(tokenizer, net.config, str(run))
    _load_into(net, _weights(state, ckpt, weights), ckpt)
    net.eval()
    step, epoch = int(state["global_step"]), int(state.get("epoch", 0))
    taken = {
        "global_step": step,
        "epoch": epoch,
        "weights": weights,
        "run": str(run.resolve()),
        "checkpoint": str(ckpt.resolve()),
        "checkpoint_sha256": _sha256(data),
    }
    meta = {**pretrain_meta(kind, config, run_config["corpus"], init_from), "snapshot": taken}
    manifest = build_manifest(
        kind="snapshot",
        command=list(sys.argv) if command is None else command,
        started=started,
        finished=now_iso(),
        data={"corpus": run_config["corpus"]},
        model_source=str(run.resolve()),
        extra={"snapshot": {**taken, "run_config": run_config}},
    )

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.snapshot-", dir=out.parent))
    try:
        save_model_dir(tmp, net.save_pretrained, tokenizer, meta)
        if descriptor_bytes is not None:
            with open(tmp / DESCRIPTOR_TARGETS_FILE, "wb") as handle:
                handle.write(descriptor_bytes)
        write_json(tmp / "manifest.json", manifest)
        _finish_dir(tmp)
        _swap_in(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return SnapshotResult(out, step, epoch, weights, ckpt)
