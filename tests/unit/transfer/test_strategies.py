"""Which parameters train under each strategy, exactly, and that every strategy trains end to end."""

from __future__ import annotations

import pytest
import torch

from chemtl.transfer import (
    STRATEGIES,
    StrategyConfig,
    TrainableLayersError,
    apply_strategy,
    set_train_mode,
    total_parameter_count,
    trainable_parameter_count,
    trainable_parameter_names,
)

EMBEDDINGS = [
    "chemtl.embeddings.word_embeddings.weight",
    "chemtl.embeddings.fraction_encoding.projection.weight",
    "chemtl.embeddings.fraction_encoding.projection.bias",
    "chemtl.embeddings.layer_norm.weight",
    "chemtl.embeddings.layer_norm.bias",
]
LAYER = [
    "attention_norm.weight",
    "attention_norm.bias",
    "attention.query.weight",
    "attention.query.bias",
    "attention.key.weight",
    "attention.key.bias",
    "attention.value.weight",
    "attention.value.bias",
    "attention.dense.weight",
    "attention.dense.bias",
    "ffn_norm.weight",
    "ffn_norm.bias",
    "ffn.fc_in.weight",
    "ffn.fc_in.bias",
    "ffn.fc_out.weight",
    "ffn.fc_out.bias",
]
LAYER_0 = [f"chemtl.encoder.layers.0.{n}" for n in LAYER]
LAYER_1 = [f"chemtl.encoder.layers.1.{n}" for n in LAYER]
FINAL_NORM = ["chemtl.encoder.final_norm.weight", "chemtl.encoder.final_norm.bias"]
HEAD = [
    "classifier.transform.weight",
    "classifier.transform.bias",
    "classifier.out.weight",
    "classifier.out.bias",
]
PEFT_HEAD = [n.replace("classifier.", "classifier.modules_to_save.default.") for n in HEAD]

# tiny composition model: d = 32, 2 layers, ffn 64, vocab 123, one regression target
N_EMBEDDINGS = 123 * 32 + (32 * 32 + 32) + 2 * 32  # 5056
N_LAYER = 2 * 32 + 4 * (32 * 32 + 32) + 2 * 32 + (32 * 64 + 64) + (64 * 32 + 32)  # 8544
N_FINAL_NORM = 64
N_HEAD = (32 * 32 + 32) + (32 + 1)  # 1089
N_TOTAL = N_EMBEDDINGS + 2 * N_LAYER + N_FINAL_NORM + N_HEAD  # 23297

EXPECTED: dict[str, tuple[dict, list[str], int]] = {
    "full": ({}, EMBEDDINGS + LAYER_0 + LAYER_1 + FINAL_NORM + HEAD, N_TOTAL),
    "scratch": ({}, EMBEDDINGS + LAYER_0 + LAYER_1 + FINAL_NORM + HEAD, N_TOTAL),
    "feature": ({}, HEAD, N_HEAD),
    "partial": ({"trainable_layers": 1}, LAYER_1 + FINAL_NORM + HEAD, N_LAYER + N_FINAL_NORM + N_HEAD),
    "prompt": (
        {},
        ["base_model." + n for n in PEFT_HEAD] + ["prompt_encoder.default.embedding.weight"],
        N_HEAD + 10 * 32,  # 10 virtual tokens of width d
    ),
    "prefix": (
        {},
        ["model." + n for n in HEAD] + ["prefix_encoder.embedding.weight"],
        N_HEAD + 10 * 2 * 2 * 32,  # 10 positions x 2 layers x (key, value) x d
    ),
    "lora": (
        {},
        [
            f"base_model.model.chemtl.encoder.layers.{i}.attention.{m}.lora_{ab}.default.weight"
            for i in (0, 1)
            for m in ("query", "value")
            for ab in "AB"
        ]
        + ["base_model.model." + n for n in PEFT_HEAD],
        N_HEAD + 2 * 2 * (8 * 32 + 32 * 8),  # 2 layers x (query, value) x (A: r x d, B: d x r), r = 8
    ),
}


def test_every_registered_strategy_is_covered():
    assert list(STRATEGIES) == ["full", "feature", "partial", "scratch", "prompt", "prefix", "lora"]
    assert set(EXPECTED) == set(STRATEGIES)


@pytest.mark.parametrize("name", list(EXPECTED))
def test_trainable_parameters_exactly(name, load_tiny):
    options, names, count = EXPECTED[name]
    model = apply_strategy(load_tiny(), StrategyConfig(name, **options))
    assert sorted(trainable_parameter_names(model)) == sorted(names)
    assert trainable_parameter_count(model) == count


def test_trainable_counts_by_strategy(load_tiny):
    counts = {}
    for name, (options, _, _) in EXPECTED.items():
        counts[name] = trainable_parameter_count(apply_strategy(load_tiny(), StrategyConfig(name, **options)))
    assert counts == {
        "full": 23297,
        "scratch": 23297,
        "feature": 1089,
        "partial": 9697,
        "prompt": 1409,
        "prefix": 2369,
        "lora": 3137,
    }
    assert counts["feature"] < counts["partial"] < counts["full"]
    for peft_like in ("prompt", "prefix", "lora"):
        assert counts["feature"] < counts[peft_like] < counts["partial"]


def test_total_counts(load_tiny):
    assert total_parameter_count(load_tiny()) == N_TOTAL
    # a PEFT wrapper also holds PEFT's frozen copy of the original head
    lora = apply_strategy(load_tiny(), StrategyConfig("lora"))
    assert total_parameter_count(lora) == N_TOTAL + N_HEAD + 2048


def test_partial_all_layers_trains_everything_but_the_embeddings(load_tiny):
    model = apply_strategy(load_tiny(), StrategyConfig("partial", trainable_layers=2))
    assert trainable_parameter_names(model) == LAYER_0 + LAYER_1 + FINAL_NORM + HEAD
    assert trainable_parameter_count(model) == N_TOTAL - N_EMBEDDINGS


def test_partial_more_layers_than_the_model_is_an_error(load_tiny):
    with pytest.raises(TrainableLayersError) as err:
        apply_strategy(load_tiny(), StrategyConfig("partial", trainable_layers=3))
    assert str(err.value) == "trainable_layers 3 is larger than the model's 2 encoder layers (choose 1 to 2)"


def test_prefix_projection_parameters(load_tiny):
    config = StrategyConfig("prefix", num_virtual_tokens=4, prefix_projection=True, prefix_hidden_size=16)
    model = apply_strategy(load_tiny(), config)
    prefix = {n: tuple(p.shape) for n, p in model.named_parameters() if n.startswith("prefix_encoder.")}
    assert prefix == {
        "prefix_encoder.embedding.weight": (4, 32),
        "prefix_encoder.transform.0.weight": (16, 32),
        "prefix_encoder.transform.0.bias": (16,),
        "prefix_encoder.transform.2.weight": (2 * 2 * 32, 16),
        "prefix_encoder.transform.2.bias": (2 * 2 * 32,),
    }
    assert all(p.requires_grad for p in model.prefix_encoder.parameters())
    assert trainable_parameter_count(model) == N_HEAD + 4 * 32 + (32 * 16 + 16) + (16 * 128 + 128)


def test_lora_target_modules_option(load_tiny):
    config = StrategyConfig("lora", lora_r=2, lora_target_modules=("fc_in", "fc_out"))
    model = apply_strategy(load_tiny(), config)
    lora = [n for n in trainable_parameter_names(model) if "lora_" in n]
    assert lora == [
        f"base_model.model.chemtl.encoder.layers.{i}.ffn.{m}.lora_{ab}.default.weight"
        for i in (0, 1)
        for m in ("fc_in", "fc_out")
        for ab in "AB"
    ]
    # fc_in: A 2x32, B 64x2; fc_out: A 2x64, B 32x2
    assert trainable_parameter_count(model) == N_HEAD + 2 * (2 * 32 + 64 * 2 + 2 * 64 + 32 * 2)


def test_scratch_reinitialises_every_weight(load_tiny):
    pretrained = load_tiny()
    with torch.no_grad():  # a differently "pretrained" starting point
        other = load_tiny()
        for p in other.parameters():
            p.add_(torch.randn_like(p))
    a = apply_strategy(load_tiny(), StrategyConfig("scratch", init_seed=7))
    b = apply_strategy(other, StrategyConfig("scratch", init_seed=7))
    # the same seed gives the same weights whatever the starting weights were: nothing was kept
    for (name, pa), (_, pb) in zip(a.named_parameters(), b.named_parameters()):
        assert torch.equal(pa, pb), name
    # and random weights differ from the pretrained ones (LayerNorms restart at 1 / 0)
    changed = [n for (n, p), q in zip(a.named_parameters(), pretrained.parameters()) if not torch.equal(p, q)]
    assert set(changed) == {n for n, p in a.named_parameters() if p.dim() == 2}
    assert torch.equal(a.chemtl.embeddings.word_embeddings.weight[0], torch.zeros(32))  # padding row


def test_scratch_element_init_starts_from_the_table(load_tiny):
    from chemtl.models.element_tables import element_init_matrix
    from chemtl.transfer.config import TransferError

    model = apply_strategy(load_tiny(), StrategyConfig("scratch", init_seed=3, element_init="mat2vec"))
    assert model.config.element_init == "mat2vec"
    matrix, present = element_init_matrix("mat2vec", 32, scale=model.config.initializer_range)
    weight = model.chemtl.embeddings.word_embeddings.weight.detach()
    first = model.config.first_regular_token_id
    rows = [i for i in range(len(present)) if present[i]]
    assert torch.allclose(weight[[r + first for r in rows]], torch.from_numpy(matrix[present]).float())
    with pytest.raises(TransferError, match="needs a composition model, got kind 'smiles'"):
        apply_strategy(load_tiny("smiles"), StrategyConfig("scratch", element_init="mat2vec"))


def test_scratch_seed_leaves_the_global_rng_alone(load_tiny):
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    apply_strategy(load_tiny(), StrategyConfig("scratch", init_seed=1))
    assert torch.equal(torch.rand(3), expected)


@pytest.mark.parametrize("kind", ["composition", "smiles"])
@pytest.mark.parametrize("name", list(EXPECTED))
def test_forward_backward(name, kind, load_tiny, batches):
    options = EXPECTED[name][0]
    model = apply_strategy(load_tiny(kind), StrategyConfig(name, **options))
    model.train()
    out = model(**batches[kind], labels=torch.tensor([0.5, -1.0, 2.0]))
    assert out.logits.shape == (3, 1)
    assert torch.isfinite(out.loss)
    out.loss.backward()
    for n, p in model.named_parameters():
        if p.requires_grad:
            assert p.grad is not None and torch.isfinite(p.grad).all(), n
        else:
            assert p.grad is None, n
    # the method's own parameters receive signal (LoRA's A is zero-grad until B moves off zero)
    own = {"prompt": "prompt_encoder.", "prefix": "prefix_encoder.", "lora": "lora_B."}.get(name)
    if own:
        grads = [p.grad for n, p in model.named_parameters() if own in n]
        assert grads and any(g.abs().sum() > 0 for g in grads)


@pytest.mark.parametrize("name", ["prompt", "prefix"])
def test_virtual_tokens_change_the_output(name, load_tiny, batches):
    plain = load_tiny().eval()
    adapted = apply_strategy(load_tiny(), StrategyConfig(name)).eval()
    with torch.no_grad():
        assert not torch.allclose(
            adapted(**batches["composition"]).logits, plain(**batches["composition"]).logits
        )


def test_prompt_vocab_init_copies_regular_token_embeddings(load_tiny):
    torch.manual_seed(0)
    model = apply_strategy(load_tiny(), StrategyConfig("prompt", num_virtual_tokens=4, prompt_init="vocab"))
    prompt = model.prompt_encoder["default"].embedding.weight
    table = model.get_base_model().get_input_embeddings().weight
    for row in prompt:
        matches = (table == row).all(dim=1).nonzero().flatten().tolist()
        assert matches and all(i >= 5 for i in matches)


def test_feature_strategy_keeps_the_frozen_encoder_in_eval(load_tiny):
    config = StrategyConfig("feature")
    model = apply_strategy(load_tiny(), config)
    set_train_mode(model, config)
    assert model.training and model.classifier.training
    assert not any(m.training for m in model.chemtl.modules())
    full_config = StrategyConfig("full")
    full = set_train_mode(apply_strategy(load_tiny(), full_config), full_config)
    assert all(m.training for m in full.modules())


def test_cached_features_give_the_same_logits(load_tiny, batches):
    from chemtl.transfer import encode_features

    model = apply_strategy(load_tiny(), StrategyConfig("feature")).eval()
    features = encode_features(model, {**batches["composition"], "labels": torch.zeros(3)})
    assert features.shape == (3, 32) and not features.requires_grad
    with torch.no_grad():
        assert torch.equal(model.classifier(features), model(**batches["composition"]).logits)


def test_apply_strategy_needs_a_plain_property_model(load_tiny):
    model = apply_strategy(load_tiny(), StrategyConfig("lora"))
    with pytest.raises(TypeError, match="PeftModelForSequenceClassification"):
        apply_strategy(model, StrategyConfig("full"))


@pytest.mark.parametrize("name", list(EXPECTED))
def test_every_strategy_fits_one_batch(name, batches):
    """30 AdamW steps drive the loss on one batch below a tenth of where it started."""
    from chemtl.models import ChemtlConfig, ChemtlForPropertyPrediction
    from chemtl.transfer import parameter_groups

    # Wider initial weights than the default 0.02 stand in for a trained encoder: with tiny random
    # weights the pooled outputs of different inputs are nearly equal and a frozen encoder could not
    # separate them.
    torch.manual_seed(0)
    config = ChemtlConfig.from_size("tiny", "composition", num_labels=1, initializer_range=0.2)
    model = apply_strategy(ChemtlForPropertyPrediction(config), StrategyConfig(name, **EXPECTED[name][0]))
    optimizer = torch.optim.AdamW(parameter_groups(model, lr=1e-2, head_lr=3e-2, weight_decay=0.0))
    labels = torch.tensor([0.5, -1.0, 2.0])
    model.eval()  # no dropout: the loss reflects the weights alone
    losses = []
    for _ in range(30):
        optimizer.zero_grad()
        loss = model(**batches["composition"], labels=labels).loss
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.1 * losses[0], losses[::5]
