from __future__ import annotations

import math

import pytest
import torch

from chemtl.models import (
    ChemtlConfig,
    ChemtlForMaskedLM,
    ChemtlForPretraining,
    ChemtlForPropertyPrediction,
    nt_xent,
)
from chemtl.models.losses import amount_loss, property_loss


def test_nt_xent_hand_computed():
    z1 = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    z2 = 3 * z1  # same directions: cosine 1 with the partner, 0 with the other item
    # each anchor: logits (over the 3 others) 0/0.5, 1/0.5, 0/0.5 -> -log(e^2 / (e^2 + 2))
    assert nt_xent(z1, z2, temperature=0.5).item() == pytest.approx(math.log(1 + 2 * math.exp(-2)), abs=1e-6)
    swapped = nt_xent(z1, z2.flip(0), temperature=0.5)  # partners orthogonal, the other item aligned
    assert swapped.item() == pytest.approx(math.log(1 + math.exp(2) + 1) - 0.0, abs=1e-6)


def test_amount_loss_in_log_space():
    logits = torch.logit(torch.tensor([[0.5, 0.01]]))
    target = torch.tensor([[0.5, 0.001]])
    selected = torch.tensor([[False, True]])
    assert amount_loss(logits, target, selected, "log_mse").item() == pytest.approx(
        math.log(10) ** 2, rel=1e-5
    )
    assert amount_loss(logits, target, selected, "mse").item() == pytest.approx(0.009**2, rel=1e-4)
    assert amount_loss(logits, target, torch.zeros_like(selected), "mse").item() == 0.0


def test_property_loss_skips_nan_targets():
    logits = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    labels = torch.tensor([[2.0, float("nan")], [float("nan"), 6.0]])
    assert property_loss(logits, labels, "regression").item() == pytest.approx((1 + 4) / 2)
    assert property_loss(logits, torch.full((2, 2), float("nan")), "regression").item() == 0.0
    ce = property_loss(logits, torch.tensor([1, -100]), "single_label_classification")
    assert ce.item() == pytest.approx(math.log(1 + math.exp(-1)), rel=1e-5)


def _masked(batch, positions):
    """Mask the given (row, col) positions: [MASK] id, fraction 0, labels and fraction_labels."""
    labels = torch.full_like(batch["input_ids"], -100)
    out = {k: v.clone() for k, v in batch.items()}
    for r, c in positions:
        labels[r, c] = batch["input_ids"][r, c]
        out["input_ids"][r, c] = 4
    out["labels"] = labels
    if "fractions" in batch:
        selected = labels != -100
        out["fraction_labels"] = batch["fractions"].masked_fill(~selected, 0.0)
        out["fractions"] = batch["fractions"].masked_fill(selected, 0.0)
    return out


def test_joint_amount_loss_for_compositions_only(composition_batch, smiles_batch):
    torch.manual_seed(0)
    comp = ChemtlForMaskedLM(ChemtlConfig.from_size("tiny", "composition", amount_loss_weight=0.5))
    out = comp(**_masked(composition_batch, [(0, 1), (1, 2), (2, 4), (3, 3)]))
    assert out.amount_loss is not None and out.amount_loss > 0
    assert out.loss.item() == pytest.approx((out.mlm_loss + 0.5 * out.amount_loss).item(), rel=1e-6)
    assert out.logits.shape == (4, 8, 123) and out.fraction_predictions.shape == (4, 8)
    smiles = ChemtlForMaskedLM(ChemtlConfig.from_size("tiny", "smiles", 40))
    assert smiles.amount_head is None
    out = smiles(**_masked(smiles_batch, [(0, 1), (1, 2), (2, 4), (3, 3)]))
    assert out.amount_loss is None and out.fraction_predictions is None
    assert out.loss.item() == pytest.approx(out.mlm_loss.item())
    with pytest.raises(ValueError, match="fraction_labels"):
        batch = _masked(composition_batch, [(0, 1)])
        comp(**{k: v for k, v in batch.items() if k != "fraction_labels"})


def test_tiny_masked_lm_overfits_one_batch(composition_batch):
    torch.manual_seed(0)
    config = ChemtlConfig.from_size(
        "tiny", "composition", hidden_dropout_prob=0.0, attention_dropout_prob=0.0
    )
    model = ChemtlForMaskedLM(config).train()
    batch = _masked(composition_batch, [(0, 1), (1, 2), (2, 3), (3, 2)])
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    first = None
    for _ in range(100):
        out = model(**batch)
        first = first if first is not None else out.loss.item()
        optimizer.zero_grad()
        out.loss.backward()
        optimizer.step()
    assert first > 4.0  # about log(123) + the amount error
    assert out.mlm_loss.item() < 0.1 and out.amount_loss.item() < 0.01


def test_pretraining_sums_masked_and_contrastive_losses(composition_batch):
    torch.manual_seed(0)
    config = ChemtlConfig.from_size("tiny", "composition", mlm_loss_weight=1.0, contrastive_loss_weight=0.3)
    model = ChemtlForPretraining(config)
    masked = _masked(composition_batch, [(0, 1), (1, 2)])
    view2 = {f"view2_{k}": v for k, v in composition_batch.items()}
    out = model(**masked, **view2)
    expected = out.mlm_loss + out.amount_loss + 0.3 * out.contrastive_loss
    assert out.loss.item() == pytest.approx(expected.item(), rel=1e-6)
    alone = model(**composition_batch, **view2)  # contrastive only: no labels
    assert alone.mlm_loss is None and alone.loss.item() == pytest.approx(0.3 * alone.contrastive_loss.item())
    alone.loss.backward()
    assert model.projection_head.out.weight.grad is not None


def test_descriptor_regression_is_an_mse_over_the_present_targets(smiles_batch, tmp_path):
    nan = float("nan")
    # hand-computed: present (pred - target)^2 are 1, 4 and 0 -> mean 5/3; the NaN is skipped
    pred = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    labels = torch.tensor([[0.0, nan], [5.0, 4.0]])
    assert property_loss(pred, labels, "regression").item() == pytest.approx(5 / 3, abs=1e-7)
    torch.manual_seed(0)
    config = ChemtlConfig.from_size("tiny", "smiles", 40, descriptor_dim=3, descriptor_loss_weight=0.5)
    model = ChemtlForPretraining(config).eval()
    targets = torch.tensor([[0.5, nan, -1.0], [nan, nan, nan], [2.0, 0.0, nan], [1.0, 1.0, 1.0]])
    out = model(**smiles_batch, descriptor_labels=targets)
    pred = out.descriptor_predictions
    assert pred.shape == (4, 3) and out.mlm_loss is None and out.contrastive_loss is None
    present = ~torch.isnan(targets)
    by_hand = ((pred - targets)[present] ** 2).sum() / present.sum()
    assert out.descriptor_loss.item() == pytest.approx(by_hand.item(), rel=1e-6)
    assert out.loss.item() == pytest.approx(0.5 * by_hand.item(), rel=1e-6)
    # the saved pretraining model loads as an encoder and as a property model: its heads are ignored
    model.save_pretrained(tmp_path)
    encoder = ChemtlForPropertyPrediction.from_pretrained(tmp_path, num_labels=1, use_safetensors=True)
    assert not hasattr(encoder, "descriptor_head")
    for name, weight in model.chemtl.state_dict().items():
        assert torch.equal(encoder.chemtl.state_dict()[name], weight)
    with pytest.raises(ValueError, match="descriptor_labels need a descriptor head"):
        ChemtlForPretraining(ChemtlConfig.from_size("tiny", "smiles", 40))(
            **smiles_batch, descriptor_labels=targets
        )


def test_property_prediction_regression_and_classification(composition_batch):
    torch.manual_seed(0)
    multi = ChemtlForPropertyPrediction(ChemtlConfig.from_size("tiny", "composition", num_labels=3))
    labels = torch.tensor([[1.0, float("nan"), 0.0]] * 4)
    out = multi(**composition_batch, labels=labels)
    assert out.logits.shape == (4, 3) and torch.isfinite(out.loss)
    clf = ChemtlForPropertyPrediction(ChemtlConfig.from_size("tiny", "composition", num_labels=2))
    out = clf(**composition_batch, labels=torch.tensor([0, 1, 1, 0]))
    assert out.loss.item() == pytest.approx(
        torch.nn.functional.cross_entropy(out.logits, torch.tensor([0, 1, 1, 0])).item()
    )


def test_collator_batches_feed_the_pretraining_model():
    from chemtl.data.collate import ContrastiveCollator, MaskingOptions

    examples = [
        {"input_ids": [2, 30, 12, 3], "fractions": [0.0, 0.4, 0.6, 0.0]},
        {"input_ids": [2, 7, 31, 12, 3], "fractions": [0.0, 0.25, 0.25, 0.5, 0.0]},
        {"input_ids": [2, 60, 42, 26, 12, 3], "fractions": [0.0, 0.1, 0.1, 0.2, 0.6, 0.0]},
    ]
    batch = ContrastiveCollator("composition", masking=MaskingOptions(), seed=0)(examples)
    torch.manual_seed(0)
    model = ChemtlForPretraining(ChemtlConfig.from_size("tiny", "composition"))
    out = model(**batch)
    assert out.mlm_loss is not None and out.amount_loss is not None and out.contrastive_loss is not None
    out.loss.backward()


def test_regression_losses_hand_computed():
    pred = torch.tensor([[1.0], [3.0], [0.0]])
    labels = torch.tensor([2.0, 1.0, float("nan")])  # the NaN row is skipped by every loss
    assert property_loss(pred, labels, "regression", "mse").item() == pytest.approx((1 + 4) / 2)
    assert property_loss(pred, labels, "regression", "l1").item() == pytest.approx((1 + 2) / 2)
    # robust L1: sqrt(2) |y - mu| exp(-s) + s per row; rows (1, s=0) and (2, s=ln 2)
    log_std = torch.tensor([[0.0], [math.log(2.0)], [5.0]])
    expected = ((math.sqrt(2) * 1 + 0.0) + (math.sqrt(2) * 2 / 2 + math.log(2.0))) / 2
    robust = property_loss(pred, labels, "regression", "robust-l1", log_std)
    assert robust.item() == pytest.approx(expected, rel=1e-6)
    with pytest.raises(ValueError, match="needs the predicted log_std"):
        property_loss(pred, labels, "regression", "robust-l1")
    with pytest.raises(ValueError, match="unknown regression_loss 'huber'"):
        property_loss(pred, labels, "regression", "huber")


def test_robust_l1_minimum_is_the_absolute_error():
    # for one row the loss is minimised at exp(s) = sqrt(2) |y - mu|: the predicted std learns the error
    pred, target = torch.tensor([0.0]), torch.tensor([0.5])
    from chemtl.models.losses import robust_l1

    s = torch.linspace(-3, 1, 4001)
    losses = torch.stack([robust_l1(pred, v.reshape(1), target) for v in s])
    assert math.exp(s[losses.argmin()].item()) == pytest.approx(math.sqrt(2) * 0.5, rel=2e-3)


def test_head_parts_and_gate(composition_batch):
    from chemtl.models.prediction import split_head_output

    base = dict(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64)
    plain = ChemtlConfig(**base, num_labels=2)
    both = ChemtlConfig(
        **base, num_labels=2, regression_loss="robust-l1", output_gate=True, gate_zero=[-1.0, 0.5]
    )
    assert (plain.head_parts, both.head_parts) == (1, 3)
    assert ChemtlConfig(**base, regression_loss="l1").head_parts == 1
    # columns: [mu (2) | log_std (2) | gate logit (2)]
    raw = torch.tensor([[3.0, 2.0, 0.1, 0.2, 0.0, 1e4], [-5.0, 0.5, -0.3, 0.0, -1e4, 0.0]])
    pred, log_std = split_head_output(both, raw)
    # z0 + sigmoid(g) (mu - z0): g=0 halves the way to z0, g=+inf keeps mu, g=-inf gives z0 exactly
    assert pred.tolist() == [
        [pytest.approx(1.0), pytest.approx(2.0)],
        [pytest.approx(-1.0), pytest.approx(0.5)],
    ]
    assert log_std.tolist() == [[pytest.approx(0.1), pytest.approx(0.2)], [pytest.approx(-0.3), 0.0]]
    assert (
        split_head_output(plain, raw[:, :2])[0] is not None
        and split_head_output(plain, raw[:, :2])[1] is None
    )
    model = ChemtlForPropertyPrediction(both).eval()
    assert model.classifier.out.out_features == 6
    out = model(**composition_batch, labels=torch.tensor([[0.0, 1.0]] * 4), return_dict=True)
    assert out.logits.shape == (4, 2) and out.log_std.shape == (4, 2) and out.loss.ndim == 0
    # the gate keeps every prediction between z0 and mu: strictly inside (z0 - |.|, ...) for finite g
    gated, _ = split_head_output(both, model.classifier(model.chemtl(**composition_batch).pooler_output))
    assert torch.equal(gated, out.logits)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("regression_loss", "huber", "unknown regression_loss 'huber'; choose one of mse, l1, robust-l1"),
        ("output_gate", "yes", "output_gate must be true or false, got 'yes'"),
        ("gate_zero", ["a"], "gate_zero must be a list of numbers, got ['a']"),
    ],
)
def test_head_options_are_validated(field, value, message):
    from chemtl.errors import ChemtlError

    with pytest.raises(ChemtlError) as info:
        ChemtlConfig(**{field: value})
    assert str(info.value) == message


def test_residual_head_hand_computed():
    from chemtl.models.heads import ResidualHead

    head = ResidualHead(2, (2, 3), 1)
    with torch.no_grad():
        head.layers[0].weight.copy_(torch.tensor([[1.0, 0.0], [0.0, -1.0]]))
        head.layers[0].bias.zero_()
        head.layers[1].weight.fill_(1.0)
        head.layers[1].bias.zero_()
        head.shortcuts[1].weight.fill_(0.5)
        head.out.weight.fill_(1.0)
        head.out.bias.fill_(0.25)
    # same width: identity shortcut; a width change: the bias-free Linear
    assert isinstance(head.shortcuts[0], torch.nn.Identity)
    assert head.shortcuts[1].bias is None
    x = torch.tensor([[2.0, 3.0]])
    # layer 1: leaky_relu([2, -3]) + [2, 3] = [2 + 2, -0.03 + 3] (slope 0.01)
    h1 = torch.tensor([[2.0 + 2.0, -0.03 + 3.0]])
    # layer 2: leaky_relu(sum(h1)) per unit + 0.5 * sum(h1), 3 units
    s = h1.sum().item()
    h2 = s + 0.5 * s
    assert head(x).item() == pytest.approx(3 * h2 + 0.25, rel=1e-6)


def test_element_mean_skips_specials_padding_and_virtual_tokens():
    from chemtl.models.prediction import element_mean

    raw = torch.arange(12.0).reshape(2, 3, 2)  # (B=2, T=3, k=2)
    fractions = torch.tensor([[0.0, 0.5, 0.5], [0.0, 1.0, 0.0]])
    assert element_mean(raw, fractions).tolist() == [[3.0, 4.0], [8.0, 9.0]]
    # one prepended virtual token (T=3 vs T'=2): fractions shift right, position 0 never counts
    assert element_mean(raw, fractions[:, :2]).tolist() == [[4.0, 5.0], [10.0, 11.0]]


def test_elementwise_head_model(composition_batch):
    base = dict(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64)
    config = ChemtlConfig(**base, num_labels=1, head_type="elementwise", output_gate=True, gate_zero=[-1.0])
    model = ChemtlForPropertyPrediction(config).eval()
    widths = [layer.out_features for layer in model.classifier.layers]
    assert widths == [1024, 512, 256, 128] and model.classifier.out.out_features == 2
    out = model(**composition_batch, labels=torch.zeros(4, 1), return_dict=True)
    from chemtl.models.prediction import element_mean, split_head_output

    hidden = model.chemtl(**composition_batch).last_hidden_state
    expected, _ = split_head_output(
        config, element_mean(model.classifier(hidden), composition_batch["fractions"])
    )
    assert torch.equal(out.logits, expected) and out.logits.shape == (4, 1)
    # permuting a row's elements leaves its prediction unchanged (a set model with a set head)
    perm = {k: v.clone() for k, v in composition_batch.items()}
    perm["input_ids"][2, 1:5] = perm["input_ids"][2, 1:5].flip(0)
    perm["fractions"][2, 1:5] = perm["fractions"][2, 1:5].flip(0)
    assert model(**perm).logits[2].item() == pytest.approx(out.logits[2].item(), abs=1e-6)
    small = ChemtlConfig(**base, head_type="elementwise", elementwise_head_dims=[16])
    assert [m.out_features for m in ChemtlForPropertyPrediction(small).classifier.layers] == [16]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"head_type": "crab"}, "unknown head_type 'crab'; choose one of pooled, elementwise"),
        (
            {"head_type": "elementwise", "kind": "smiles", "vocab_size": 40},
            "head_type 'elementwise' reads one hidden state per element: it needs kind 'composition', "
            "got kind 'smiles'",
        ),
        (
            {"elementwise_head_dims": [0]},
            "elementwise_head_dims must be a list of positive integers, got [0]",
        ),
    ],
)
def test_head_type_is_validated(fields, message):
    from chemtl.errors import ChemtlError

    with pytest.raises(ChemtlError) as info:
        ChemtlConfig(**fields)
    assert str(info.value) == message
