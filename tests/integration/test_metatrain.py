"""Episodic meta-training on a tiny random encoder: output directory, learning, exact resume,
frozen versus trained encoder.

The episode sampler of ``chemtl.transfer.fewshot.episodes`` is replaced by a small stand-in with
its signature (``meta_train(..., sampler=...)``), and the tasks by a stand-in of ``FewShotTask``.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from chemtl.errors import ChemtlError
from chemtl.pipelines.metatrain import embed_with, load_fewshot_model, meta_train
from chemtl.training.config import ConfigError, TrainConfig
from chemtl.training.seeding import derive_seed
from chemtl.transfer.fewshot.meta import FEWSHOT_FILE, HEAD_FILE, MetaTrainConfig

CATIONS = ["Li", "Na", "K", "Mg", "Ca", "Sr", "Ba", "Ti", "Fe", "Co", "Ni", "Cu", "Zn", "Al", "Ga"]


@dataclass(frozen=True)
class Task:  # the fields of chemtl.data.tasks.FewShotTask that meta-training reads
    name: str
    kind: str
    task: str
    inputs: tuple[str, ...]
    labels: np.ndarray
    classes: tuple[str, ...] = ()
    side: str = "train"
    info: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Episode:
    task: str
    classes: tuple[int, ...]
    support: np.ndarray
    query: np.ndarray
    index: int

    def _labels(self, task, rows):
        return np.asarray([self.classes.index(int(c)) for c in task.labels[rows]], dtype=np.int64)

    def support_labels(self, task):
        return self._labels(task, self.support)

    def query_labels(self, task):
        return self._labels(task, self.query)


def sample_episode(task, k_shot, *, n_way=None, n_query=None, seed=0, index=0, **_):
    """N-way K-shot with Q queries per class, a function of (seed, task name, index)."""
    rng = np.random.default_rng(derive_seed(seed, task.name, index))
    eligible = [int(c) for c in np.unique(task.labels) if (task.labels == c).sum() >= k_shot + n_query]
    if len(eligible) < 2:
        raise ChemtlError(f"task {task.name!r}: fewer than 2 classes with {k_shot + n_query} members")
    chosen = tuple(sorted(rng.choice(eligible, size=n_way or len(eligible), replace=False).tolist()))
    support, query = [], []
    for c in chosen:
        rows = rng.permutation(np.flatnonzero(task.labels == c))
        support += rows[:k_shot].tolist()
        query += rows[k_shot : k_shot + n_query].tolist()
    return Episode(task.name, chosen, np.asarray(support), np.asarray(query), index)


def oxides_vs_halides(name: str, anions=("O", "F")) -> Task:
    """A separable toy task: class 0 = compounds of the first anion, class 1 = of the second."""
    inputs, labels = [], []
    for (label, anion), cation in itertools.product(enumerate(anions), CATIONS):
        inputs.append(f"{cation}{anion}")
        labels.append(label)
    return Task(name, "composition", "classification", tuple(inputs), np.asarray(labels), ("a", "b"))


TASKS = [oxides_vs_halides("o-f"), oxides_vs_halides("s-cl", ("S", "Cl"))]
CONFIG = MetaTrainConfig(ways=2, shots=2, queries=3, episodes=6, projection_dim=8, val_episodes=4)


def train_config(**kw) -> TrainConfig:
    base = dict(
        lr=1e-3, head_lr=0.1, max_epochs=3, patience=None, progress_bar=False, checkpoint_every_n_steps=1
    )
    return TrainConfig(**{**base, **kw})


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    """A random-weight tiny composition encoder saved as a chemtl model directory."""
    from chemtl.models import ChemtlConfig, ChemtlForMaskedLM
    from chemtl.pipelines.modeldir import make_meta, save_model_dir
    from chemtl.tokenizers import get_tokenizer

    d = tmp_path_factory.mktemp("tiny-comp")
    torch.manual_seed(0)
    model = ChemtlForMaskedLM(ChemtlConfig.from_size("tiny", "composition"))
    save_model_dir(
        d, model.save_pretrained, get_tokenizer("composition"), make_meta(kind="composition", task=None)
    )
    return d


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def encoder_state(model_dir):
    from chemtl.pipelines.predict import load_encoder

    return {k: v.clone() for k, v in load_encoder(model_dir)[0].state_dict().items()}


@pytest.fixture(scope="module")
def frozen_run(tiny_model, tmp_path_factory):
    out = tmp_path_factory.mktemp("frozen") / "run"
    metrics = meta_train(
        tiny_model, TASKS, CONFIG, train_config(), out, sampler=sample_episode, command=["x"]
    )
    return out, metrics


def test_a_frozen_run_writes_a_loadable_model_dir(frozen_run, tiny_model):
    out, metrics = frozen_run
    for name in (
        "config.json",
        "model.safetensors",
        "tokenizer_config.json",
        "chemtl.json",
        FEWSHOT_FILE,
        HEAD_FILE,
        "metrics.json",
        "manifest.json",
        "train_config.json",
        "logs/metrics.csv",
        "checkpoints/last.ckpt",
    ):
        assert (out / name).is_file(), name
    assert json.loads((out / "chemtl.json").read_text())["task"] == "fewshot"
    spec = json.loads((out / FEWSHOT_FILE).read_text())
    assert (spec["method"], spec["distance"], spec["projection_dim"]) == ("protonet", "euclidean", 8)
    assert spec["temperature"] == metrics["temperature"]
    assert json.loads((out / "metrics.json").read_text()) == metrics
    assert metrics["global_step"] == 18 and metrics["epochs_run"] == 3
    assert metrics["tasks"] == ["o-f", "s-cl"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["run"] == "fewshot-train" and manifest["command"] == ["x"]
    assert json.loads((out / "train_config.json").read_text())["fewshot"] == CONFIG.to_dict()

    net, loaded = load_fewshot_model(out)
    assert loaded.kind == "composition" and net.projection.out_features == 8
    assert net.temperature == pytest.approx(metrics["temperature"], rel=1e-6)
    head = load_file(str(out / HEAD_FILE))
    assert sorted(head) == ["log_temperature", "projection.bias", "projection.weight"]
    emb = embed_with(out, ["LiO", "NaF", "KCl"])
    assert emb.shape == (3, 8) and emb.dtype == np.float32
    assert np.array_equal(emb, embed_with(out, ["LiO", "NaF", "KCl"]))


def test_a_frozen_run_learns_only_the_head(frozen_run, tiny_model):
    out, metrics = frozen_run
    assert metrics["episode_loss_before"] == pytest.approx(np.log(2), abs=1e-3)  # near-equal distances
    assert metrics["episode_loss"] < 0.6 * metrics["episode_loss_before"]
    assert metrics["scored_on"] == "train_tasks"
    before, after = encoder_state(tiny_model), encoder_state(out)
    assert before.keys() == after.keys()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert metrics["temperature"] != CONFIG.temperature
    from chemtl.models import ChemtlConfig

    hidden = ChemtlConfig.from_size("tiny", "composition").hidden_size
    assert metrics["trainable_params"] == hidden * 8 + 8 + 1  # projection + temperature


def test_a_plain_encoder_dir_is_a_protonet_without_head(tiny_model):
    from chemtl.pipelines.predict import embed

    net, _ = load_fewshot_model(tiny_model)
    assert net.projection is None and net.temperature == 1.0 and net.distance == "euclidean"
    inputs = ["LiO", "Fe2O3", "NaCl"]
    assert np.array_equal(embed_with(tiny_model, inputs), embed(tiny_model, inputs))


def test_train_encoder_changes_the_encoder(tiny_model, frozen_run, tmp_path):
    import shutil

    run = tmp_path / "run"  # a copy of the frozen run, replaced with --overwrite
    shutil.copytree(frozen_run[0], run)
    config = MetaTrainConfig(**{**CONFIG.to_dict(), "train_encoder": True, "projection_dim": None})
    with pytest.raises(ChemtlError, match="already holds a run; pass --resume to continue it or --overwrite"):
        meta_train(tiny_model, TASKS, config, train_config(max_epochs=1), run, sampler=sample_episode)
    metrics = meta_train(
        tiny_model, TASKS, config, train_config(max_epochs=1), run, overwrite=True, sampler=sample_episode
    )
    before, after = encoder_state(tiny_model), encoder_state(run)
    assert not all(torch.equal(before[k], after[k]) for k in before)
    assert metrics["trainable_params"] == sum(v.numel() for v in before.values()) + 1
    assert metrics["global_step"] == 6
    net, _ = load_fewshot_model(run)
    assert net.projection is None and net.train_encoder is False  # loaded for inference
    assert sorted(load_file(str(run / HEAD_FILE))) == ["log_temperature"]
    assert json.loads((run / FEWSHOT_FILE).read_text())["train_encoder"] is True


class Interrupted(Exception):
    pass


def test_an_interrupted_run_resumes_to_the_same_weights(tiny_model, tmp_path):
    """A run that dies in epoch 1 (its sampler raises at episode 3) and is resumed ends with the
    weights and metrics of an uninterrupted run."""
    train = train_config(max_epochs=2)
    whole = meta_train(tiny_model, TASKS, CONFIG, train, tmp_path / "whole", sampler=sample_episode)
    killer_seed = derive_seed(CONFIG.seed, "batch", 1, 3, 0)

    def dying(task, k_shot, *, seed=0, index=0, **kw):
        if index == 3 and seed == killer_seed:
            raise Interrupted
        return sample_episode(task, k_shot, seed=seed, index=index, **kw)

    with pytest.raises(Interrupted):
        meta_train(tiny_model, TASKS, CONFIG, train, tmp_path / "killed", sampler=dying)
    assert not (tmp_path / "killed" / "metrics.json").exists()
    step = torch.load(tmp_path / "killed" / "checkpoints" / "last.ckpt", weights_only=True)["global_step"]
    assert 6 < step < 12
    with pytest.raises(ChemtlError, match="already holds a run; pass --resume"):
        meta_train(tiny_model, TASKS, CONFIG, train, tmp_path / "killed", sampler=sample_episode)
    resumed = meta_train(
        tiny_model, TASKS, CONFIG, train, tmp_path / "killed", resume=True, sampler=sample_episode
    )
    volatile = ("train_seconds", "peak_rss_mb", "peak_rss_mb_per_rank")
    assert {k: v for k, v in resumed.items() if k not in volatile} == {
        k: v for k, v in whole.items() if k not in volatile
    }
    for name in ("model.safetensors", HEAD_FILE):
        a, b = load_file(str(tmp_path / "whole" / name)), load_file(str(tmp_path / "killed" / name))
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    manifest = json.loads((tmp_path / "killed" / "manifest.json").read_text())
    assert manifest["resumed_from_step"] == step


def test_validation_tasks_drive_early_stopping(tiny_model, tmp_path):
    val = [oxides_vs_halides("se-n", ("Se", "N"))]
    metrics = meta_train(
        tiny_model,
        TASKS,
        CONFIG,
        train_config(max_epochs=2, patience=1),
        tmp_path / "run",
        val_tasks=val,
        sampler=sample_episode,
    )
    assert metrics["scored_on"] == "val_tasks" and metrics["val_tasks"] == ["se-n"]
    assert metrics["best_epoch"] in (1, 2)
    # the best weights are restored: their loss on the validation episodes is the best one
    assert metrics["episode_loss"] == pytest.approx(metrics["best_val_loss"], rel=1e-5)


def test_bad_tasks_are_refused_before_the_output_dir(tiny_model, tmp_path):
    out = tmp_path / "run"
    regression = Task("gap", "composition", "regression", ("LiO", "NaO"), np.array([1.0, 2.0]))
    with pytest.raises(ChemtlError, match="meta-train task 'gap' is regression; prototypical networks"):
        meta_train(tiny_model, [regression], CONFIG, train_config(), out, sampler=sample_episode)
    smiles = Task("mol", "smiles", "classification", ("CCO", "CCN"), np.array([0, 1]))
    with pytest.raises(
        ChemtlError, match="meta-train task 'mol' holds smiles inputs but the model reads composition"
    ):
        meta_train(tiny_model, [smiles], CONFIG, train_config(), out, sampler=sample_episode)
    small = Task("small", "composition", "classification", ("LiO", "NaF", "KO", "KF"), np.array([0, 1, 0, 1]))
    with pytest.raises(ChemtlError, match="task 'small': fewer than 2 classes with 5 members"):
        meta_train(tiny_model, [small], CONFIG, train_config(), out, sampler=sample_episode)
    with pytest.raises(ChemtlError, match="meta-training needs at least one meta-train task"):
        meta_train(tiny_model, [], CONFIG, train_config(), out, sampler=sample_episode)
    assert not out.exists()


def test_config_validation_and_round_trip():
    assert MetaTrainConfig.from_dict(CONFIG.to_dict()) == CONFIG
    for kw, message in [
        ({"ways": 1}, "ways must be an integer >= 2 or None, got 1"),
        ({"shots": 0}, "shots must be an integer >= 1, got 0"),
        ({"distance": "l1"}, "distance 'l1' is not one of euclidean, cosine"),
        ({"temperature": 0.0}, "temperature must be a finite number > 0, got 0.0"),
        ({"projection_dim": 0}, "projection_dim must be an integer >= 1 or None, got 0"),
        ({"train_encoder": "yes"}, "train_encoder must be true or false, got 'yes'"),
    ]:
        with pytest.raises(ConfigError, match=message):
            MetaTrainConfig(**kw)
    assert MetaTrainConfig(ways=None).ways is None


def test_a_damaged_or_mismatched_head_is_one_line(frozen_run, tmp_path):
    import shutil

    from chemtl.training.checkpoint import ModelDirError

    copy = tmp_path / "copy"
    shutil.copytree(frozen_run[0], copy, ignore=shutil.ignore_patterns("checkpoints", "logs"))
    head = copy / HEAD_FILE
    whole = head.read_bytes()
    head.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(ChemtlError, match="fewshot_head.safetensors") as damaged:  # the model-dir check
        load_fewshot_model(copy)
    assert "\n" not in str(damaged.value)
    head.unlink()
    with pytest.raises(ModelDirError, match=f"few-shot head {str(head)!r} is missing or damaged"):
        load_fewshot_model(copy)
    head.write_bytes(whole)
    spec = json.loads((copy / FEWSHOT_FILE).read_text())
    (copy / FEWSHOT_FILE).write_text(json.dumps({**spec, "projection_dim": None}))
    with pytest.raises(ChemtlError, match="holds tensors .* expected \\['log_temperature'\\]"):
        load_fewshot_model(copy)
    (copy / FEWSHOT_FILE).write_text(json.dumps({**spec, "projection_dim": 4}))
    with pytest.raises(ChemtlError, match="does not fit the encoder"):
        load_fewshot_model(copy)
