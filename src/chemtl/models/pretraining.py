"""Pretraining models: masked-token ("masked atom") prediction, with amounts for compositions, and
contrastive learning of two views, alone or summed.

``ChemtlForMaskedLM``: loss = CE(masked tokens) + amount_loss_weight * amount loss (compositions:
the masked elements' atomic fractions are predicted too, so the model learns stoichiometry and not
only which elements occur together).

``ChemtlForPretraining`` adds a projection head and NT-Xent between two views of each item and,
with ``descriptor_dim`` > 0, a regression head on the pooled embedding for standardised RDKit
descriptors (multi-task regression, ChemBERTa-2's MTR):
loss = mlm_loss_weight * (masked loss, when ``labels`` are given)
     + contrastive_loss_weight * NT-Xent (when ``view2_*`` inputs are given)
     + descriptor_loss_weight * MSE over the finite ``descriptor_labels`` (when given; NaN: missing).

The batches come from ``chemtl.data.collate`` (``MaskedLMCollator``, ``ContrastiveCollator``), whose
keys match these ``forward`` arguments, so ``model(**batch)`` works.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from transformers.utils import ModelOutput

from chemtl.models.configuration import ChemtlConfig
from chemtl.models.encoder import ChemtlModel, ChemtlPreTrainedModel, PrefixKeyValues
from chemtl.models.heads import ChemtlHead
from chemtl.models.losses import amount_loss, masked_token_loss, nt_xent, property_loss


@dataclass
class ChemtlPretrainingOutput(ModelOutput):
    """Outputs of the pretraining models.

    loss: the weighted total (what to backpropagate), when any target was given.
    logits: (B, T, V) masked-token logits.
    fraction_predictions: (B, T) predicted atomic fractions (compositions), sigmoid of the amount head.
    descriptor_predictions: (B, descriptor_dim) standardised descriptors, with a descriptor head.
    mlm_loss, amount_loss, contrastive_loss, descriptor_loss: the parts, unweighted, for logging.
    pooler_output: (B, d) pooled embedding of the (first) view.
    hidden_states: per layer, when asked.
    """

    loss: torch.Tensor | None = None
    logits: torch.Tensor | None = None
    fraction_predictions: torch.Tensor | None = None
    mlm_loss: torch.Tensor | None = None
    amount_loss: torch.Tensor | None = None
    contrastive_loss: torch.Tensor | None = None
    descriptor_predictions: torch.Tensor | None = None
    descriptor_loss: torch.Tensor | None = None
    pooler_output: torch.Tensor | None = None
    hidden_states: tuple[torch.Tensor, ...] | None = None


class ChemtlForMaskedLM(ChemtlPreTrainedModel):
    """Encoder + masked-token head (+ amount head for compositions)."""

    # a ChemtlForPretraining checkpoint also holds the contrastive projection and descriptor heads
    _keys_to_ignore_on_load_unexpected = [r"^projection_head\.", r"^descriptor_head\."]

    def __init__(self, config: ChemtlConfig) -> None:
        super().__init__(config)
        d = config.hidden_size
        self.chemtl = ChemtlModel(config)
        self.lm_head = ChemtlHead(d, d, config.vocab_size, layer_norm_eps=config.layer_norm_eps)
        self.amount_head = ChemtlHead(d, d, 1) if config.kind == "composition" else None
        self.post_init()

    def _masked_losses(
        self,
        hidden: torch.Tensor,
        labels: torch.Tensor | None,
        fraction_labels: torch.Tensor | None,
    ) -> tuple[torch.Tensor | None, ...]:
        """(B, T, d) hidden -> logits, fraction predictions, masked loss (weighted), CE, amount loss."""
        logits = self.lm_head(hidden)  # (B, T, V)
        amount_logits = None if self.amount_head is None else self.amount_head(hidden).squeeze(-1)  # (B, T)
        fractions = torch.sigmoid(amount_logits) if amount_logits is not None else None
        if labels is None:
            return logits, fractions, None, None, None
        ce = masked_token_loss(logits, labels)
        loss, amount = ce, None
        if amount_logits is not None and self.config.amount_loss_weight > 0:
            if fraction_labels is None:
                raise ValueError(
                    "a composition masked-LM loss needs `fraction_labels` (the masked elements' fractions); "
                    "set amount_loss_weight=0 to train on tokens alone"
                )
            amount = amount_loss(amount_logits, fraction_labels, labels != -100, self.config.amount_loss)
            loss = ce + self.config.amount_loss_weight * amount
        return logits, fractions, loss, ce, amount

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        fractions: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        fraction_labels: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        prefix_key_values: PrefixKeyValues | None = None,
        output_hidden_states: bool | None = None,
        output_attentions: bool | None = None,
        return_dict: bool | None = None,
    ) -> ChemtlPretrainingOutput | tuple:
        """``labels`` (B, T): original ids at masked positions, -100 elsewhere.
        ``fraction_labels`` (B, T): original fractions, read where ``labels != -100`` (compositions)."""
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
        logits, fraction_predictions, loss, ce, amount = self._masked_losses(
            out.last_hidden_state, labels, fraction_labels
        )
        output = ChemtlPretrainingOutput(
            loss=loss,
            logits=logits,
            fraction_predictions=fraction_predictions,
            mlm_loss=ce,
            amount_loss=amount,
            pooler_output=out.pooler_output,
            hidden_states=out.hidden_states,
        )
        return output if return_dict else output.to_tuple()


class ChemtlForPretraining(ChemtlForMaskedLM):
    """Masked-token (+ amount) loss, NT-Xent between two views and/or descriptor regression,
    weighted by the config."""

    def __init__(self, config: ChemtlConfig) -> None:
        super().__init__(config)
        d = config.hidden_size
        self.projection_head = ChemtlHead(d, d, config.projection_dim)
        self.descriptor_head = ChemtlHead(d, d, config.descriptor_dim) if config.descriptor_dim else None
        self.post_init()

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        fractions: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        fraction_labels: torch.Tensor | None = None,
        view2_input_ids: torch.Tensor | None = None,
        view2_attention_mask: torch.Tensor | None = None,
        view2_fractions: torch.Tensor | None = None,
        descriptor_labels: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        prefix_key_values: PrefixKeyValues | None = None,
        output_hidden_states: bool | None = None,
        output_attentions: bool | None = None,
        return_dict: bool | None = None,
    ) -> ChemtlPretrainingOutput | tuple:
        """The first view is ``input_ids``/``attention_mask``/``fractions`` (possibly masked, with
        ``labels``); the second, for the contrastive loss, is ``view2_*``. Row i of both is one item.
        ``descriptor_labels`` (B, descriptor_dim): standardised descriptors of each item, NaN where
        missing; the head reads the first view's pooled embedding."""
        return_dict = return_dict if return_dict is not None else self.config.return_dict
        c = self.config
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
        logits, fraction_predictions, masked, ce, amount = self._masked_losses(
            out.last_hidden_state, labels, fraction_labels
        )
        loss = c.mlm_loss_weight * masked if masked is not None else None
        contrastive = None
        if view2_input_ids is not None:
            out2 = self.chemtl(
                input_ids=view2_input_ids,
                attention_mask=view2_attention_mask,
                fractions=view2_fractions,
                prefix_key_values=prefix_key_values,
                return_dict=True,
            )
            z1 = self.projection_head(out.pooler_output)  # (B, projection_dim)
            z2 = self.projection_head(out2.pooler_output)  # (B, projection_dim)
            contrastive = nt_xent(z1, z2, c.contrastive_temperature)
            weighted = c.contrastive_loss_weight * contrastive
            loss = weighted if loss is None else loss + weighted
        predictions, descriptor = None, None
        if self.descriptor_head is not None:
            predictions = self.descriptor_head(out.pooler_output)  # (B, descriptor_dim)
            if descriptor_labels is not None:
                descriptor = property_loss(predictions, descriptor_labels, "regression")
                weighted = c.descriptor_loss_weight * descriptor
                loss = weighted if loss is None else loss + weighted
        elif descriptor_labels is not None:
            raise ValueError("descriptor_labels need a descriptor head (config.descriptor_dim > 0)")
        output = ChemtlPretrainingOutput(
            loss=loss,
            logits=logits,
            fraction_predictions=fraction_predictions,
            mlm_loss=ce,
            amount_loss=amount,
            contrastive_loss=contrastive,
            descriptor_predictions=predictions,
            descriptor_loss=descriptor,
            pooler_output=out.pooler_output,
            hidden_states=out.hidden_states,
        )
        return output if return_dict else output.to_tuple()


from chemtl._hook import run_deferred  # noqa: E402

run_deferred()
