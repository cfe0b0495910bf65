"""Episodic meta-training of a prototypical network (``chemtl.transfer.fewshot.meta``) on the engine.

``ProtoNetModel`` = a pretrained encoder (``ChemtlModel``, from any chemtl model directory) + an
optional linear projection head (``projection_dim``; None: the pooled embedding itself) + a
learnable ``log_temperature`` (logits ``-d / exp(log_temperature)``, see
``chemtl.transfer.fewshot.protonet``). With ``train_encoder=False`` (the default) the encoder is
frozen (no gradients, kept in eval mode so dropout does not perturb the features) and only the head
and the temperature learn; ``train_encoder=True`` meta-trains the whole encoder too.

One training step is one episode: N-way K-shot support + Q queries per class, drawn with
``chemtl.transfer.fewshot.episodes.sample_episode`` from ``tasks[i % len(tasks)]`` (round robin);
the loss is the cross-entropy of the query logits. An epoch is ``config.episodes`` episodes. The
loader is the engine's ``ResumableLoader`` over ``EpochBatches`` of episode numbers (in order,
sharded over DDP ranks): episode ``i``, at position ``j`` of epoch ``e`` on its rank, is drawn with
``seed = derive_seed(config.seed, "batch", e, j, rank)`` and ``index = i`` (one process: ``j = i``),
so it depends only on its position, and a killed run resumed with ``resume=True`` reaches the
weights of an uninterrupted run. On DDP ranks other than 0 ``meta_train`` returns
``{"is_global_zero": False}`` and writes nothing. Validation (early stopping, best weights) is the
mean episode loss of ``config.val_episodes`` fixed episodes of ``val_tasks`` when given; without
them there is no validation and the last weights are kept.

The output directory is a chemtl model directory:

    config.json, model.safetensors  the encoder (``ChemtlModel``; unchanged when frozen)
    tokenizer files, chemtl.json    as every model directory; chemtl.json ``task`` is "fewshot"
    fewshot.json                    method, distance, projection size, learnt temperature, config
    fewshot_head.safetensors        projection weights and ``log_temperature``
    train_config.json, metrics.json, manifest.json, logs/, checkpoints/   as ``chemtl finetune``

``load_fewshot_model`` reads it back (a plain pretrained or fine-tuned directory gives a
``ProtoNetModel`` without projection, temperature 1); ``embed_with`` embeds inputs as the few-shot
model sees them.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from chemtl.errors import DataError
from chemtl.training.config import TrainConfig
from chemtl.transfer.fewshot.meta import (
    FEWSHOT_FILE,
    FEWSHOT_FORMAT,
    HEAD_FILE,
    RUN_KIND,
    EpisodeLoss,
    MetaTrainConfig,
    ModelHeadError,
    ProtoNetModel,
    _param_groups,
    episode_scores,
)


class EpisodeCollate:
    """Episode number ``i`` (+ the batch seed) -> an episode batch for ``ProtoNetModel``.

    The batch: ``query_labels`` (Q,), ``support_labels`` (S,), ``inputs`` (the support rows then
    the query rows, tokenised together), ``n_support`` and ``n_classes``.
    """

    def __init__(self, tasks: list, tokenizer: Any, config: MetaTrainConfig, sampler: Callable) -> None:
        from chemtl.pipelines.finetune import PropertyCollate

        self.tasks = tasks
        self.config = config
        self.sampler = sampler
        self.encoder = PropertyCollate(tokenizer, config.max_length, None)

    def episode(self, i: int, seed: int):
        task = self.tasks[i % len(self.tasks)]
        c = self.config
        return task, self.sampler(task, c.shots, n_way=c.ways, n_query=c.queries, seed=seed, index=i)

    def __call__(self, rows: list[int], seed: int = 0) -> dict[str, Any]:
        (i,) = rows
        task, ep = self.episode(int(i), int(seed))
        support = [task.inputs[int(j)] for j in ep.support]
        query = [task.inputs[int(j)] for j in ep.query]
        return {
            "query_labels": torch.as_tensor(np.asarray(ep.query_labels(task), dtype=np.int64)),
            "support_labels": torch.as_tensor(np.asarray(ep.support_labels(task), dtype=np.int64)),
            "inputs": self.encoder.encode(support + query),
            "n_support": len(support),
            "n_classes": len(ep.classes),
        }


def default_sampler() -> Callable:
    from chemtl.transfer.fewshot.episodes import sample_episode

    return sample_episode


def check_tasks(tasks: list, kind: str, config: MetaTrainConfig, sampler: Callable, what: str) -> None:
    """Refuse, before any training, tasks that cannot give a meta-training episode."""
    if not tasks:
        raise DataError(f"meta-training needs at least one {what} task")
    for task in tasks:
        if task.task != "classification":
            raise DataError(
                f"{what} task {task.name!r} is {task.task}; prototypical networks meta-train on classification tasks"
            )
        if task.kind != kind:
            raise DataError(
                f"{what} task {task.name!r} holds {task.kind} inputs but the model reads {kind} inputs"
            )
        ep = sampler(
            task, config.shots, n_way=config.ways, n_query=config.queries, seed=config.seed, index=0
        )  # the sampler's own one-line error when the task is too small
        if len(ep.classes) < 2:
            raise DataError(
                f"{what} task {task.name!r} has {len(ep.classes)} class(es) with {config.shots} + "
                f"{config.queries} members; an episode needs at least 2"
            )


def _jsonable(obj: Any) -> Any:
    return json.loads(json.dumps(obj, default=lambda o: o.tolist() if hasattr(o, "tolist") else str(o)))


def save_fewshot_files(net: ProtoNetModel, directory: Path, spec: dict[str, Any]) -> None:
    """``fewshot.json`` and ``fewshot_head.safetensors`` of ``net`` into ``directory``."""
    from safetensors.torch import save_file

    from chemtl.atomic import write_json

    save_file({k: v.contiguous() for k, v in net.head_state_dict().items()}, str(directory / HEAD_FILE))
    write_json(directory / FEWSHOT_FILE, spec)


def meta_train(
    model: str | os.PathLike,
    tasks: list,
    config: MetaTrainConfig,
    train: TrainConfig,
    out_dir: str | os.PathLike,
    *,
    resume: bool = False,
    overwrite: bool = False,
    val_tasks: list | None = None,
    sampler: Callable | None = None,
    command: list[str] | None = None,
) -> dict[str, Any]:
    """Meta-train a prototypical network on ``tasks`` (``FewShotTask``s) from the encoder in
    ``model``; write the model directory ``out_dir`` (see the module docstring); return the metrics
    (also in ``out_dir/metrics.json``). ``sampler`` replaces ``sample_episode`` (same signature)."""
    from chemtl.pipelines.modeldir import make_meta, quiet_transformers, save_model_dir
    from chemtl.pipelines.predict import load_encoder
    from chemtl.pipelines.runs import prepare_run_dir
    from chemtl.training.data import EpochBatches, ResumableLoader, eval_loader
    from chemtl.training.distributed import global_rank_from_env
    from chemtl.training.engine import fit
    from chemtl.training.manifest import build_manifest, now_iso
    from chemtl.training.module import TaskModule
    from chemtl.training.seeding import seed_run
    from chemtl.transfer import total_parameter_count, trainable_parameter_count

    started = now_iso()
    out = Path(out_dir)
    sampler = sampler or default_sampler()
    quiet_transformers()
    seed_run(train.seed, train.deterministic)

    # 1. the encoder and the tasks, checked before the output directory is claimed
    encoder, loaded = load_encoder(model)
    check_tasks(list(tasks), loaded.kind, config, sampler, "meta-train")
    if val_tasks:
        check_tasks(list(val_tasks), loaded.kind, config, sampler, "validation")
    net = ProtoNetModel(
        encoder, config.projection_dim, config.temperature, config.distance, config.train_encoder
    )
    net.train()

    rank0 = global_rank_from_env() == 0
    run_config = {
        "run": RUN_KIND,
        "model_source": str(model),
        "fewshot": config.to_dict(),
        "train": train.to_dict(),
        "tasks": [t.name for t in tasks],
        "val_tasks": [t.name for t in val_tasks] if val_tasks else None,
    }
    if rank0:
        prepare_run_dir(out, run_config, resume=resume, overwrite=overwrite)

    # 2. episodes: training stream, fixed validation / scoring episodes
    collate = EpisodeCollate(list(tasks), loaded.tokenizer, config, sampler)
    train_loader = ResumableLoader(
        EpochBatches(list(range(config.episodes)), collate, 1, seed=config.seed, shuffle=False),
        num_workers=train.num_workers,
    )
    scored_on = "val_tasks" if val_tasks else "train_tasks"
    score_collate = EpisodeCollate(
        list(val_tasks) if val_tasks else list(tasks), loaded.tokenizer, config, sampler
    )
    score_loader = eval_loader(list(range(config.val_episodes)), score_collate, 1, seed=config.seed)
    val_loader = score_loader if val_tasks else None
    loss_before, accuracy_before = episode_scores(net, score_loader)

    # 3. train
    module = TaskModule(net, EpisodeLoss(), train, _param_groups(net, train))
    result = fit(module, train_loader, val_loader, train, out, resume=resume)
    if not result.is_global_zero:
        return {"is_global_zero": False}
    net.eval()
    loss_after, accuracy_after = episode_scores(net, score_loader)

    # 4. the model directory and the run's report
    from chemtl.atomic import write_json

    names = [t.name for t in tasks]
    spec = {
        "format": FEWSHOT_FORMAT,
        "version": 1,
        "method": "protonet",
        "distance": config.distance,
        "projection_dim": config.projection_dim,
        "hidden_size": int(encoder.config.hidden_size),
        "temperature": net.temperature,
        "train_encoder": config.train_encoder,
        "config": config.to_dict(),
        "tasks": names,
    }
    meta = make_meta(
        kind=loaded.kind,
        task="fewshot",
        source=str(model),
        max_length=config.max_length,
        fewshot={"method": "protonet", "distance": config.distance, "temperature": net.temperature},
    )

    def save_weights(directory: Path) -> None:
        net.encoder.save_pretrained(directory)
        save_fewshot_files(net, directory, spec)

    save_model_dir(out, save_weights, loaded.tokenizer, meta)
    metrics = {
        "run": RUN_KIND,
        "tasks": names,
        "val_tasks": run_config["val_tasks"],
        "ways": config.ways,
        "shots": config.shots,
        "queries": config.queries,
        "episodes_per_epoch": config.episodes,
        "train_encoder": config.train_encoder,
        "scored_on": scored_on,
        "episode_loss_before": loss_before,
        "episode_loss": loss_after,
        "episode_accuracy_before": accuracy_before,
        "episode_accuracy": accuracy_after,
        "temperature": net.temperature,
        "trainable_params": int(trainable_parameter_count(net)),
        "total_params": int(total_parameter_count(net)),
        "seed": train.seed,
        **result.metrics(),
        "model_source": str(model),
    }
    write_json(out / "metrics.json", metrics)
    manifest = build_manifest(
        kind=RUN_KIND,
        command=list(sys.argv) if command is None else command,
        started=started,
        finished=now_iso(),
        data=_jsonable(
            {"tasks": {t.name: t.info for t in tasks}, "val_tasks": {t.name: t.info for t in val_tasks or []}}
        ),
        model_source=str(Path(loaded.path).resolve()),
        extra={"resumed_from_step": result.resumed_from_step, "torch_threads": torch.get_num_threads()},
    )
    write_json(out / "manifest.json", manifest)
    return metrics


def load_fewshot_model(model_dir: str | os.PathLike):
    """``(ProtoNetModel, LoadedModel)`` of a model directory, in eval mode.

    A meta-trained directory brings its projection, temperature and distance; a plain pretrained
    or fine-tuned one gives its encoder without projection, temperature 1, euclidean distance.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    from chemtl.pipelines.predict import load_encoder
    from chemtl.training.checkpoint import ModelDirError

    encoder, loaded = load_encoder(model_dir)
    spec_file = loaded.path / FEWSHOT_FILE
    if not spec_file.is_file():
        return ProtoNetModel(encoder).eval(), loaded
    try:
        spec = json.loads(spec_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelDirError(f"{spec_file}: unreadable ({exc})") from None
    if not isinstance(spec, dict) or spec.get("format") != FEWSHOT_FORMAT:
        raise ModelDirError(f"{spec_file}: not a chemtl few-shot description")
    net = ProtoNetModel(
        encoder, spec.get("projection_dim"), float(spec.get("temperature", 1.0)), spec["distance"]
    )
    head = loaded.path / HEAD_FILE
    try:
        state = load_file(str(head))
    except (OSError, SafetensorError) as exc:
        raise ModelDirError(f"few-shot head {str(head)!r} is missing or damaged ({exc})") from None
    try:
        net.load_head_state_dict(state, str(head))
    except RuntimeError as exc:  # shapes that do not fit the encoder
        raise ModelHeadError(f"{head}: does not fit the encoder ({str(exc).splitlines()[0]})") from None
    return net.eval(), loaded


def embed_with(
    model_dir: str | os.PathLike, inputs: list[str], batch_size: int = 256, max_length: int | None = None
) -> np.ndarray:
    """(N, d') float32 embeddings of ``inputs`` as the few-shot model of ``model_dir`` sees them
    (projection applied when it has one; a plain model directory gives ``chemtl.pipelines.predict.embed``)."""
    from chemtl.pipelines.finetune import PropertyCollate

    net, loaded = load_fewshot_model(model_dir)
    collate = PropertyCollate(loaded.tokenizer, max_length or loaded.meta.get("max_length", 256), None)
    out = []
    with torch.no_grad():
        for i in range(0, len(inputs), batch_size):
            out.append(net.embed(collate.encode(list(inputs[i : i + batch_size]))).float())
    return torch.cat(out).numpy() if out else np.zeros((0, net.out_dim), dtype=np.float32)


__all__ = [
    "EpisodeCollate",
    "embed_with",
    "load_fewshot_model",
    "meta_train",
]
