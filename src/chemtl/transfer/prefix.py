"""``prefix``: prefix tuning (Li & Liang 2021) on the frozen encoder, implemented here.

PEFT's prefix tuning hands the prefixes to the model as ``past_key_values``, which BERT-style
encoders do not take in transformers 5 ("does not support past key values"), so chemtl does it
natively: the chemtl encoder accepts ``prefix_key_values``, one (key, value) pair of shape
(B, H, P, hd) per layer that every query attends to before the sequence's own keys (always
visible; the encoder extends its attention mask). ``PrefixTuningModel`` wraps a property model,
owns the learned prefixes and passes them in on every forward call; its forward takes the same
arguments and returns the same output as the wrapped model.

The prefixes are parameterised as in PEFT's ``PrefixEncoder`` (the same parameter names and shapes):
directly, one (P, L * 2 * d) table ``prefix_encoder.embedding.weight``; or, with
``prefix_projection=True``, Li & Liang's reparameterisation: a (P, d) table passed through
Linear(d, h) -> tanh -> Linear(h, L * 2 * d), which trains more stably. Initialisation is
PEFT's too: PyTorch's defaults (the table N(0, 1), the linear layers Kaiming-uniform).

Trainable: the prefix encoder and the head (``model.classifier``); the encoder is frozen.
Saving writes the base model with the trained head as a plain ``ChemtlForPropertyPrediction``
plus ``prefix_encoder.safetensors``; loading wraps the base again and loads the prefixes.

In a prompt bank (``chemtl.pipelines.bank``) a task keeps its head (``head.safetensors``) and
``prefix_encoder.safetensors``; every task's ``PrefixTuningModel`` wraps the same base module (the
wrapper changes nothing in it).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from chemtl.transfer.base import Strategy, TaskAdapters, save_head, set_requires_grad

if TYPE_CHECKING:
    from chemtl.models import ChemtlConfig, ChemtlForPropertyPrediction
    from chemtl.transfer.config import StrategyConfig

PREFIX_WEIGHTS = "prefix_encoder.safetensors"


class PrefixEncoder(nn.Module):
    """Virtual-token ids (P,) -> per-layer keys and values, flat: (P, L * 2 * d)."""

    def __init__(
        self, config: ChemtlConfig, num_virtual_tokens: int, projection: bool, hidden_size: int | None
    ):
        super().__init__()
        d, L = config.hidden_size, config.num_hidden_layers
        self.projection = projection
        if projection:
            self.embedding = nn.Embedding(num_virtual_tokens, d)
            self.transform = nn.Sequential(
                nn.Linear(d, hidden_size or d), nn.Tanh(), nn.Linear(hidden_size or d, L * 2 * d)
            )
        else:
            self.embedding = nn.Embedding(num_virtual_tokens, L * 2 * d)

    def forward(self, prefix: torch.Tensor) -> torch.Tensor:
        x = self.embedding(prefix)  # (P, d) or (P, 2Ld)
        return self.transform(x) if self.projection else x  # (P, 2Ld)


class PrefixTuningModel(nn.Module):
    """A property model with learned per-layer key/value prefixes (``model`` is the wrapped one)."""

    def __init__(self, model: ChemtlForPropertyPrediction, config: StrategyConfig) -> None:
        super().__init__()
        self.model = model
        self.num_virtual_tokens = config.num_virtual_tokens
        self.prefix_encoder = PrefixEncoder(
            model.config, config.num_virtual_tokens, config.prefix_projection, config.prefix_hidden_size
        )
        self.register_buffer("prefix_tokens", torch.arange(config.num_virtual_tokens), persistent=False)

    @property
    def config(self) -> ChemtlConfig:
        return self.model.config

    def get_base_model(self) -> ChemtlForPropertyPrediction:
        return self.model

    def prefix_key_values(self, batch_size: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """One (key, value) pair per layer, each (B, H, P, hd)."""
        c = self.model.config
        L, H, P = c.num_hidden_layers, c.num_attention_heads, self.num_virtual_tokens
        kv = self.prefix_encoder(self.prefix_tokens)  # (P, 2Ld)
        kv = kv.view(P, 2 * L, H, c.head_dim).permute(1, 2, 0, 3)  # (2L, H, P, hd)
        kv = kv[:, None].expand(2 * L, batch_size, H, P, c.head_dim)  # (2L, B, H, P, hd)
        return [(kv[2 * i], kv[2 * i + 1]) for i in range(L)]

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        fractions: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        **kwargs,
    ):
        if "prefix_key_values" in kwargs:
            raise ValueError("PrefixTuningModel makes its own prefix_key_values; do not pass them")
        batch_size = (input_ids if input_ids is not None else inputs_embeds).shape[0]
        return self.model(
            input_ids=input_ids,
            attention_mask=attention_mask,
            fractions=fractions,
            labels=labels,
            inputs_embeds=inputs_embeds,
            prefix_key_values=self.prefix_key_values(batch_size),
            **kwargs,
        )


class PrefixStrategy(Strategy):
    name = "prefix"
    options = ("num_virtual_tokens", "prefix_projection", "prefix_hidden_size")
    bankable = True

    @classmethod
    def apply(cls, model: ChemtlForPropertyPrediction, config: StrategyConfig) -> nn.Module:
        wrapped = PrefixTuningModel(model, config)
        set_requires_grad(wrapped, lambda part, layer: part == "head")  # head = classifier + prefix_encoder
        return wrapped

    @classmethod
    def save(cls, model: nn.Module, out_dir: Path) -> None:
        model.model.save_pretrained(out_dir)
        state = {k: v.detach().contiguous() for k, v in model.prefix_encoder.state_dict().items()}
        save_file(state, str(Path(out_dir) / PREFIX_WEIGHTS), metadata={"format": "pt"})

    @classmethod
    def load(cls, model_dir: Path, config: StrategyConfig) -> nn.Module:
        wrapped = cls.apply(super().load(model_dir, config), config)
        wrapped.prefix_encoder.load_state_dict(load_file(str(Path(model_dir) / PREFIX_WEIGHTS)))
        return wrapped

    @classmethod
    def save_adapter(cls, model: nn.Module, out_dir: Path) -> None:
        save_head(model, out_dir)
        state = {k: v.detach().contiguous() for k, v in model.prefix_encoder.state_dict().items()}
        save_file(state, str(Path(out_dir) / PREFIX_WEIGHTS), metadata={"format": "pt"})

    @classmethod
    def attach(cls, base, tasks):
        wrappers = {}
        for name, (path, config) in tasks.items():
            wrapped = PrefixTuningModel(base, config)
            wrapped.prefix_encoder.load_state_dict(load_file(str(Path(path) / PREFIX_WEIGHTS)))
            wrappers[name] = wrapped.eval()
        return TaskAdapters(wrappers.__getitem__, list(wrappers))
