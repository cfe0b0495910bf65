"""``ChemtlForPropertyPrediction``: the encoder's pooled embedding -> MLP head -> properties.

One class for regression (one or several targets; NaN targets are skipped, so sparsely labelled
properties can train together as multi-task supervised pretraining), single-label classification
and multi-label classification, chosen by ``config.problem_type`` and ``config.num_labels`` as in
Hugging Face. When ``problem_type`` is None it is read from the labels: floating-point labels mean
regression, integer labels single-label classification (Hugging Face would also guess multi-label
classification for float labels with ``num_labels > 1``; chemtl reads those as multi-task regression).

Registered as ``AutoModelForSequenceClassification`` for ``model_type="chemtl"``; the head is the
``classifier`` attribute, the name PEFT keeps trainable for ``TaskType.SEQ_CLS``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from transformers.utils import ModelOutput

from chemtl.models.configuration import ELEMENTWISE_HEAD_DIMS, ChemtlConfig
from chemtl.models.encoder import ChemtlModel, ChemtlPreTrainedModel, PrefixKeyValues
from chemtl.models.heads import ChemtlHead, ResidualHead
from chemtl.models.losses import property_loss


@dataclass
class ChemtlPropertyOutput(ModelOutput):
    """loss (when labels are given), logits (B, num_labels), pooler_output (B, d), hidden_states;
    ``log_std`` (B, num_labels): the predicted log standard deviation (``regression_loss``
    ``"robust-l1"`` only), in standardised units."""

    loss: torch.Tensor | None = None
    logits: torch.Tensor | None = None
    log_std: torch.Tensor | None = None
    pooler_output: torch.Tensor | None = None
    hidden_states: tuple[torch.Tensor, ...] | None = None


def resolve_problem_type(config: ChemtlConfig, labels: torch.Tensor) -> str:
    if config.problem_type is not None:
        return config.problem_type
    if labels.dtype.is_floating_point or config.num_labels == 1:
        return "regression"
    return "single_label_classification"


def property_head(config: ChemtlConfig, num_labels: int | None = None) -> ChemtlHead | ResidualHead:
    """The ``classifier`` of a property model of ``config`` (``num_labels`` outputs, default the
    config's): a prompt bank rebuilds each task's head with it."""
    labels = config.num_labels if num_labels is None else num_labels
    if config.head_type == "elementwise":
        dims = tuple(config.elementwise_head_dims or ELEMENTWISE_HEAD_DIMS)
        return ResidualHead(
            config.hidden_size, dims, labels * config.head_parts, dropout=config.classifier_dropout
        )
    hidden = config.classifier_hidden_size or config.hidden_size
    return ChemtlHead(
        config.head_input_size, hidden, labels * config.head_parts, dropout=config.classifier_dropout
    )


def element_mean(raw: torch.Tensor, fractions: torch.Tensor) -> torch.Tensor:
    """Per-token head outputs (B, T, k) -> their mean over each row's elements (B, k). Elements are
    the positions of ``fractions`` (B, T') above 0; with T > T' the first T - T' positions are
    prepended virtual tokens (prompt tuning), never elements."""
    B, T, _ = raw.shape
    weights = (fractions > 0).to(raw.dtype)  # (B, T')
    if weights.shape[1] < T:
        weights = torch.cat([weights.new_zeros(B, T - weights.shape[1]), weights], dim=1)  # (B, T)
    weights = weights[..., None]  # (B, T, 1)
    return (raw * weights).sum(dim=1) / weights.sum(dim=1).clamp_min(1.0)  # (B, k)


def split_head_output(config: ChemtlConfig, raw: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The head's (B, L * parts) output -> (prediction (B, L), log_std (B, L) or None): the
    columns are [mu | log_std if robust-l1 | gate logit if output_gate]; a gate maps mu to
    ``z0 + sigmoid(g) (mu - z0)`` (``config.gate_zero`` z0, 0 when unset)."""
    if config.head_parts == 1:
        return raw, None
    chunks = list(raw.chunk(config.head_parts, dim=-1))
    pred = chunks.pop(0)
    log_std = chunks.pop(0) if config.regression_loss == "robust-l1" else None
    if config.output_gate:
        zero = pred.new_tensor(config.gate_zero or [0.0] * pred.shape[-1])
        pred = zero + torch.sigmoid(chunks.pop(0)) * (pred - zero)
    return pred, log_std


class ChemtlForPropertyPrediction(ChemtlPreTrainedModel):
    """Encoder + ``classifier`` MLP (dropout, hidden layer, GELU, dropout, linear to ``num_labels``)."""

    # pretraining checkpoints also hold these heads; loading only the encoder is the point
    _keys_to_ignore_on_load_unexpected = [
        r"(^|\.)lm_head\.",
        r"(^|\.)amount_head\.",
        r"(^|\.)projection_head\.",
        r"(^|\.)descriptor_head\.",
    ]

    def __init__(self, config: ChemtlConfig) -> None:
        config._validate()  # from_pretrained sets its keyword overrides after the config was built
        super().__init__(config)
        self.num_labels = config.num_labels
        self.chemtl = ChemtlModel(config)
        self.classifier = property_head(config)
        self.post_init()

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        fractions: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        prefix_key_values: PrefixKeyValues | None = None,
        output_hidden_states: bool | None = None,
        output_attentions: bool | None = None,
        return_dict: bool | None = None,
        features: torch.Tensor | None = None,
    ) -> ChemtlPropertyOutput | tuple:
        """``labels``: (B,) or (B, num_labels) floats for regression (NaN = missing), (B,) class ids
        for single-label classification, (B, num_labels) 0/1 for multi-label classification.
        ``features``: (B, ``config.extra_features_dim``) molecule features, already scaled (a model
        with ``config.extra_features`` only; see ``chemtl.pipelines.finetune.model_features``)."""
        return_dict = return_dict if return_dict is not None else self.config.return_dict
        out = self.chemtl(
            input_ids=input_ids,
            attention_mask=attention_mask,
            fractions=fractions,
            inputs_embeds=inputs_embeds,
            prefix_key_values=prefix_key_values,
            output_hidden_states=output_hidden_states,
            output_attentions=output_attentions,
            return_dict=True,
        )
        if self.config.head_type == "elementwise":
            if fractions is None:
                raise ValueError("head_type 'elementwise' needs the batch's fractions (compositions)")
            raw = element_mean(self.classifier(out.last_hidden_state), fractions)  # (B, L * parts)
        else:
            raw = self.classifier(self._head_input(out.pooler_output, features))  # (B, L * parts)
        logits, log_std = split_head_output(self.config, raw)  # (B, L)
        loss = None
        if labels is not None:
            loss = property_loss(
                logits,
                labels.to(logits.device),
                resolve_problem_type(self.config, labels),
                self.config.regression_loss,
                log_std,
            )
        output = ChemtlPropertyOutput(
            loss=loss,
            logits=logits,
            log_std=log_std,
            pooler_output=out.pooler_output,
            hidden_states=out.hidden_states,
        )
        return output if return_dict else output.to_tuple()

    def _head_input(self, pooled: torch.Tensor, features: torch.Tensor | None) -> torch.Tensor:
        """(B, d) pooled embedding -> (B, d + F) with the batch's features beside it (Chemprop's
        hybrid), or itself for a model without extra features."""
        n = self.config.extra_features_dim
        if self.config.extra_features is None:
            if features is not None:
                raise ValueError("this model reads no extra features; the batch has some")
            return pooled
        if features is None or features.shape != (pooled.shape[0], n):
            got = None if features is None else tuple(features.shape)
            raise ValueError(
                f"extra_features {self.config.extra_features!r} need the batch's features of shape "
                f"({pooled.shape[0]}, {n}), got {got}"
            )
        return torch.cat([pooled, features.to(device=pooled.device, dtype=pooled.dtype)], dim=-1)


# The Hugging Face task name, for code that looks for it.
ChemtlForSequenceClassification = ChemtlForPropertyPrediction


from chemtl._hook import run_deferred  # noqa: E402

run_deferred()
