"""Domain adaptation pieces: gradient reversal, Ganin's schedule, the DANN objective, DEV."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from chemtl.transfer.adapt import AdaptConfig, AdaptError
from chemtl.transfer.adapt.dev import dev_risk
from chemtl.transfer.adapt.grl import GradientReversal, ganin_lambda, grad_reverse
from chemtl.transfer.adapt.objective import DomainAdversarial, DomainClassifier


@pytest.mark.parametrize("lambda_", [0.0, 0.25, 1.0, 3.5])
def test_gradient_reversal_backward_is_minus_lambda_times_the_incoming_gradient(lambda_):
    x = torch.randn(4, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0), requires_grad=True)
    incoming = torch.randn(4, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    y = GradientReversal.apply(x, lambda_)
    assert torch.equal(y, x)  # forward: the identity
    (grad,) = torch.autograd.grad(y, x, grad_outputs=incoming)
    assert torch.equal(grad, -lambda_ * incoming)


def test_gradient_reversal_inside_a_graph_flips_only_its_branch():
    w = torch.tensor([2.0], requires_grad=True)
    h = w * 3.0
    loss = grad_reverse(h, 0.5).sum() * 4.0 + h.sum()  # d/dw = 3 * (-0.5 * 4) + 3
    loss.backward()
    assert w.grad.tolist() == [3.0 * (-0.5 * 4.0) + 3.0]


def test_ganin_schedule_at_0_half_and_1():
    assert ganin_lambda(0.0) == 0.0
    assert ganin_lambda(0.5) == 2.0 / (1.0 + math.exp(-5.0)) - 1.0
    assert ganin_lambda(1.0) == 2.0 / (1.0 + math.exp(-10.0)) - 1.0
    assert ganin_lambda(0.5, max_weight=0.1) == 0.1 * (2.0 / (1.0 + math.exp(-5.0)) - 1.0)
    assert ganin_lambda(2.0) == ganin_lambda(1.0) and ganin_lambda(-1.0) == 0.0  # clipped


class Toy(torch.nn.Module):
    """A property model's interface: ``model(**batch).loss / .pooler_output``."""

    def __init__(self) -> None:
        super().__init__()
        self.encoder = torch.nn.Linear(3, 4)
        self.head = torch.nn.Linear(4, 1)

    def forward(self, x, labels=None, return_dict=True):
        pooled = self.encoder(x)
        logits = self.head(pooled)
        loss = None if labels is None else ((logits.squeeze(-1) - labels) ** 2).mean()
        return type("Out", (), {"loss": loss, "logits": logits, "pooler_output": pooled})()


def grads(method: str, p: float):
    torch.manual_seed(0)
    model, objective = Toy(), DomainAdversarial(4, method=method)
    objective.set_progress(p)
    g = torch.Generator().manual_seed(2)
    batch = {
        "source": {"x": torch.randn(5, 3, generator=g), "labels": torch.randn(5, generator=g)},
        "target": {"x": torch.randn(3, 3, generator=g) + 2.0},
    }
    loss, parts = objective.training_loss(model, batch)
    loss.backward()
    return model, objective, loss, parts


def test_dann_loss_is_task_plus_domain_and_the_encoder_gets_the_reversed_domain_gradient():
    model, objective, loss, parts = grads("dann", 0.5)
    assert objective.lambda_ == ganin_lambda(0.5)
    assert float(loss.detach()) == pytest.approx(float(parts["task_loss"] + parts["domain_loss"]), abs=1e-6)
    assert float(parts["lambda"]) == pytest.approx(ganin_lambda(0.5))
    control, _, _, _ = grads("source-only", 0.5)
    # the head sees no domain loss either way; the encoder differs only by the reversed gradient
    assert torch.equal(model.head.weight.grad, control.head.weight.grad)
    assert not torch.equal(model.encoder.weight.grad, control.encoder.weight.grad)
    # source-only: the classifier still learns, the encoder gets the task gradient alone
    assert objective.classifier.net[0].weight.grad is not None
    torch.manual_seed(0)
    alone = Toy()
    g = torch.Generator().manual_seed(2)
    x, y = torch.randn(5, 3, generator=g), torch.randn(5, generator=g)
    alone(x, y).loss.backward()
    assert torch.equal(control.encoder.weight.grad, alone.encoder.weight.grad)


def test_at_progress_0_dann_equals_the_control_on_the_encoder():
    model, _, _, _ = grads("dann", 0.0)
    control, _, _, _ = grads("source-only", 0.0)
    assert torch.equal(model.encoder.weight.grad, control.encoder.weight.grad)


def test_the_domain_classifier_maps_an_embedding_to_one_logit():
    torch.manual_seed(0)
    assert DomainClassifier(8, width=5)(torch.zeros(6, 8)).shape == (6,)
    assert sum(p.numel() for p in DomainClassifier(8, width=5).parameters()) == 8 * 5 + 5 + 5 * 5 + 5 + 5 + 1


def test_dev_with_equal_weights_is_the_mean_loss_and_reduces_variance_otherwise():
    losses = np.array([1.0, 2.0, 3.0, 4.0])
    assert dev_risk(losses, np.ones(4)) == 2.5
    # mean weight 1: the control variate adds nothing, DEV is the weighted mean loss
    assert dev_risk(losses, np.array([0.5, 1.0, 1.5, 1.0])) == (0.5 + 2.0 + 4.5 + 4.0) / 4
    w = np.array([0.5, 1.0, 2.5, 2.0])  # mean 1.5: eta = -Cov(wl, w) / Var(w)
    weighted = w * losses
    eta = -np.cov(weighted, w, ddof=1)[0, 1] / np.var(w, ddof=1)
    assert dev_risk(losses, w) == weighted.mean() + eta * w.mean() - eta


def test_adapt_config_round_trips_and_names_bad_values():
    config = AdaptConfig(source="a.csv", target="b.csv", target_col="gap", target_labels=3, selection="dev")
    assert AdaptConfig.from_dict(config.to_dict()) == config
    with pytest.raises(AdaptError, match="^method 'coral' is not one of source-only, dann$"):
        AdaptConfig(source="a", target="b", method="coral")
    with pytest.raises(AdaptError, match="^selection 'target' is not one of source-val, dev$"):
        AdaptConfig(source="a", target="b", selection="target")
    with pytest.raises(AdaptError, match=r"^target_labels must be an integer >= 1, got 0$"):
        AdaptConfig(source="a", target="b", target_labels=0)
    with pytest.raises(AdaptError, match="^unknown AdaptConfig field\\(s\\): nope$"):
        AdaptConfig.from_dict({"source": "a", "target": "b", "nope": 1})
