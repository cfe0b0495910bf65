"""Causal (GPT-2) generators over chemtl's tokenizers, and the grammar that keeps compositions whole.

The model is Hugging Face's ``GPT2LMHeadModel`` with a ``GPT2Config`` from ``causal_config``
(sizes ``tiny`` and ``small``; BOS = [CLS], EOS = [SEP], PAD = [PAD] of the chemtl tokenizer). The
config also carries chemtl's ``kind`` (``composition``, ``smiles``, ``selfies``), saved in
config.json, so the tokenizer check of the model directory works as for the encoders.

Tokenizers: compositions use ``chemtl.tokenizers.formula_text.FormulaTextTokenizer`` (element and
amount tokens), SMILES and SELFIES the shipped word-level tokenizers. Conditioning adds tokens
``[NAME=bK]`` (bin K of property NAME) after the vocabulary; a conditioned sequence reads
``[CLS] [NAME=bK] ... [SEP]``.

``CompositionGrammar`` is a ``LogitsProcessor``: at every step it leaves finite only the tokens
that keep the sequence a prefix of a grammatical formula (an element after BOS, a condition token
or an amount; an amount after an element; EOS only after an amount; no element twice; at most
``max_elements`` elements, then only EOS), and lets a finished row (EOS or PAD last) emit only
PAD or EOS (``generate`` pads finished rows itself; one finite score keeps sampling defined). With ``max_new_tokens = 2 * max_elements + 1`` every sampled row therefore ends in EOS with a
whole formula.
"""

from __future__ import annotations

from typing import Any

import torch

# chemtl's encoder first: it registers chemtl with transformers' Auto classes, which must not
# happen while GPT-2's own import has transformers half-initialised (see chemtl._hook)
import chemtl.models.encoder  # noqa: F401  isort: skip
from transformers import GPT2Config, GPT2LMHeadModel, LogitsProcessor

from chemtl.data.conditions import condition_tokens

CAUSAL_SIZES: dict[str, dict[str, int]] = {
    # tiny: for tests, no dropout so that a handful of strings is learnt in a few hundred steps
    "tiny": {
        "n_embd": 64,
        "n_layer": 2,
        "n_head": 2,
        "resid_pdrop": 0.0,
        "embd_pdrop": 0.0,
        "attn_pdrop": 0.0,
    },
    "small": {"n_embd": 256, "n_layer": 4, "n_head": 4},
}
CAUSAL_MODEL_TYPE = GPT2Config.model_type  # "gpt2"


def causal_config(tokenizer: Any, size: str, *, max_length: int = 128, **overrides: Any) -> GPT2Config:
    """A ``GPT2Config`` of ``size`` for ``tokenizer`` (vocabulary, special ids, kind)."""
    from chemtl.training.config import ConfigError

    if size not in CAUSAL_SIZES:
        raise ConfigError(f"causal model size {size!r} is not one of {', '.join(CAUSAL_SIZES)}")
    fields: dict[str, Any] = {
        **CAUSAL_SIZES[size],
        "n_positions": max_length,
        "vocab_size": len(tokenizer),
        "bos_token_id": tokenizer.cls_token_id,
        "eos_token_id": tokenizer.sep_token_id,
        "pad_token_id": tokenizer.pad_token_id,
        "kind": tokenizer.kind,
        **overrides,
    }
    return GPT2Config(**fields)


def causal_model(config: GPT2Config) -> GPT2LMHeadModel:
    return GPT2LMHeadModel(config)


def causal_parameter_groups(model: torch.nn.Module, lr: float, weight_decay: float) -> list[dict[str, Any]]:
    """AdamW groups: no weight decay on biases, layer norms and the (tied) embedding tables."""
    decay, no_decay = [], []
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        plain = name.endswith(".bias") or ".ln_" in name or name.startswith("transformer.w")
        (no_decay if plain else decay).append(param)
    return [
        {"name": "decay", "params": decay, "lr": lr, "weight_decay": weight_decay},
        {"name": "no_decay", "params": no_decay, "lr": lr, "weight_decay": 0.0},
    ]


class CompositionGrammar(LogitsProcessor):
    """Only grammatical next tokens of the formula-text grammar (see the module docstring)."""

    def __init__(self, tokenizer: Any, max_elements: int = 8) -> None:
        if max_elements < 1:
            raise ValueError(f"max_elements must be >= 1, got {max_elements}")
        self.max_elements = max_elements
        self.vocab_size = len(tokenizer)
        self.elements = torch.tensor(list(tokenizer.element_ids))
        self.amounts = torch.tensor(list(tokenizer.amount_ids))
        self.element_set = frozenset(tokenizer.element_ids)
        self.amount_set = frozenset(tokenizer.amount_ids)
        self.eos = tokenizer.sep_token_id
        self.pad = tokenizer.pad_token_id

    def allowed(self, row: list[int]) -> torch.Tensor:
        """A (V,) bool mask of the tokens allowed after ``row`` (the whole sequence so far)."""
        mask = torch.zeros(self.vocab_size, dtype=torch.bool)
        if row and row[-1] in (self.eos, self.pad) and len(row) > 1:
            mask[[self.pad, self.eos]] = True  # finished: generate() pads it anyway
            return mask
        seen = [t for t in row if t in self.element_set]
        last = row[-1] if row else None
        if last in self.element_set:
            mask[self.amounts] = True
            return mask
        if len(seen) < self.max_elements:
            mask[self.elements] = True
            if seen:
                mask[torch.tensor(seen)] = False
        if last in self.amount_set:
            mask[self.eos] = True
        return mask

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        masks = torch.stack([self.allowed(row) for row in input_ids.tolist()]).to(scores.device)
        return scores.masked_fill(~masks[:, : scores.shape[-1]], float("-inf"))


__all__ = [
    "CAUSAL_MODEL_TYPE",
    "CAUSAL_SIZES",
    "CompositionGrammar",
    "causal_config",
    "causal_model",
    "causal_parameter_groups",
    "condition_tokens",
]
