"""The chemtl encoder: a pre-LayerNorm transformer over element sets or SMILES/SELFIES tokens.

Reading order: fraction encodings -> embeddings -> attention -> feed-forward -> layer -> encoder ->
pooling -> ``ChemtlPreTrainedModel`` (weight init, save/load) -> ``ChemtlModel``.

Shapes: B batch, T tokens, d hidden size, H heads, hd = d / H head size, P prefix length.

Compositions have no positions: each token is an element embedding plus an encoding of its atomic
fraction, so self-attention sees an unordered set and the pooled output ([CLS], kept first, or the
mean) does not change when the elements are permuted. SMILES and SELFIES add learned absolute
position embeddings, as BERT does.

Module names are chosen for parameter-efficient fine-tuning by name (see
``chemtl.models.LORA_TARGET_MODULES``): every layer is ``encoder.layers.<i>`` with
``attention.{query,key,value,dense}`` and ``ffn.{fc_in,fc_out}``; heads use other names
(``transform``, ``out``) so LoRA on the encoder never touches them. Hooks for the other methods:
``inputs_embeds`` (prompt tuning prepends virtual tokens) and ``prefix_key_values`` (prefix tuning:
per layer a (key, value) pair of shape (B, H, P, hd) that every query can attend to).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from transformers import PreTrainedModel
from transformers import initialization as init
from transformers.modeling_layers import GradientCheckpointingLayer
from transformers.modeling_outputs import BaseModelOutputWithPooling

from chemtl.errors import ChemtlError
from chemtl.models.configuration import ChemtlConfig
from chemtl.models.element_tables import ELEMENT_SYMBOLS, element_init_matrix

FRACTION_RESOLUTION = 5000.0  # CrabNet's resolution: the linear channel's largest "position"
FRACTION_FLOOR = 1e-6  # fractions below this read as this in log space

PrefixKeyValues = list[tuple[torch.Tensor, torch.Tensor]]


# ---------------------------------------------------------------------------------------------
# Fraction encodings (compositions)
# ---------------------------------------------------------------------------------------------


def fraction_features(fractions: torch.Tensor, dim: int) -> torch.Tensor:
    """CrabNet's fractional encoding, made continuous: (B, T) fractions -> (B, T, dim) features.

    Half the channels are sinusoids of the fraction itself (``f * 5000`` as the "position"), half of
    the log-scale transform ``min(0.0025 * log2(f)**2, 1) * 5000``, which spreads dopant amounts
    (1e-6 .. 1e-2) as widely as the linear channel spreads majority ones. Frequencies follow
    CrabNet (base 50). The vector is scaled to unit norm. ``dim`` must be a multiple of 4.
    """
    half = dim // 2
    linear = fractions * FRACTION_RESOLUTION  # (B, T)
    log2 = torch.log2(fractions.clamp_min(FRACTION_FLOOR))
    log_scale = (0.0025 * log2**2).clamp(max=1.0) * FRACTION_RESOLUTION  # (B, T)
    exponent = torch.arange(0, half, 2, device=fractions.device, dtype=fractions.dtype) / half
    inv_freq = 50.0**-exponent  # (half / 2,)
    angles = torch.stack([linear, log_scale], dim=-1)[..., None] * inv_freq  # (B, T, 2, half / 2)
    features = torch.cat([angles.sin(), angles.cos()], dim=-1)  # (B, T, 2, half)
    return features.flatten(-2) * math.sqrt(2.0 / dim)  # (B, T, dim)


class SinusoidalFractionEncoding(nn.Module):
    """Fixed CrabNet sinusoids of the fraction, mixed by a learned linear layer."""

    def __init__(self, config: ChemtlConfig) -> None:
        super().__init__()
        self.dim = config.hidden_size
        self.projection = nn.Linear(config.hidden_size, config.hidden_size)

    def forward(self, fractions: torch.Tensor) -> torch.Tensor:
        features = fraction_features(fractions, self.dim)  # (B, T, d)
        return self.projection(features)  # (B, T, d)


class LearnedFractionEncoding(nn.Module):
    """A small MLP of (fraction, scaled log fraction)."""

    def __init__(self, config: ChemtlConfig) -> None:
        super().__init__()
        self.hidden = nn.Linear(2, config.hidden_size)
        self.projection = nn.Linear(config.hidden_size, config.hidden_size)

    def forward(self, fractions: torch.Tensor) -> torch.Tensor:
        # (B, T) log fraction scaled to [-1, 0]
        log_f = torch.log(fractions.clamp_min(FRACTION_FLOOR)) / -math.log(FRACTION_FLOOR)
        features = torch.stack([fractions, log_f], dim=-1)  # (B, T, 2)
        return self.projection(F.gelu(self.hidden(features)))  # (B, T, d)


# ---------------------------------------------------------------------------------------------
# Embeddings
# ---------------------------------------------------------------------------------------------


class ElementEmbedding(nn.Embedding):
    """The token embedding of compositions: an ``nn.Embedding`` whose element rows the model may
    initialise from an element table (``config.element_init``, see ``ChemtlPreTrainedModel``)."""


class ChemtlEmbeddings(nn.Module):
    """Token embedding + (fraction encoding | position embedding) -> LayerNorm -> dropout."""

    def __init__(self, config: ChemtlConfig) -> None:
        super().__init__()
        self.kind = config.kind
        embedding = ElementEmbedding if config.kind == "composition" else nn.Embedding
        self.word_embeddings = embedding(
            config.vocab_size, config.hidden_size, padding_idx=config.pad_token_id
        )
        if config.kind == "composition":
            encodings = {"sinusoidal": SinusoidalFractionEncoding, "learned": LearnedFractionEncoding}
            self.fraction_encoding = encodings[config.fraction_encoding](config)
            self.position_embeddings = None
        else:
            self.fraction_encoding = None
            self.position_embeddings = nn.Embedding(config.max_position_embeddings, config.hidden_size)
        self.layer_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        fractions: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
    ) -> torch.Tensor:
        x = self.word_embeddings(input_ids) if inputs_embeds is None else inputs_embeds  # (B, T, d)
        B, T, _ = x.shape
        if self.fraction_encoding is not None:
            if fractions is None:
                raise ValueError("a composition model needs `fractions` (B, T) next to the token ids")
            if fractions.shape[0] != B or fractions.shape[1] > T:
                raise ValueError(
                    f"fractions of shape {tuple(fractions.shape)} do not fit tokens of shape {(B, T)}"
                )
            if fractions.shape[1] < T:
                # inputs_embeds with P = T - T_f virtual tokens prepended (prompt tuning): no amount
                fractions = F.pad(fractions, (T - fractions.shape[1], 0))  # (B, T)
            fractions = fractions.to(x.dtype)
            present = (fractions > 0).to(x.dtype)[..., None]  # (B, T, 1): specials, pad, masked -> 0
            x = x + self.fraction_encoding(fractions) * present  # (B, T, d)
        else:
            if T > self.position_embeddings.num_embeddings:
                raise ChemtlError(
                    f"input of {T} tokens is longer than max_position_embeddings "
                    f"{self.position_embeddings.num_embeddings}; truncate it or use a larger model"
                )
            positions = torch.arange(T, device=x.device)  # (T,)
            x = x + self.position_embeddings(positions)  # (B, T, d)
        return self.dropout(self.layer_norm(x))  # (B, T, d)


# ---------------------------------------------------------------------------------------------
# Transformer blocks
# ---------------------------------------------------------------------------------------------


class ChemtlSelfAttention(nn.Module):
    """Multi-head self-attention through ``scaled_dot_product_attention`` with a padding mask."""

    def __init__(self, config: ChemtlConfig) -> None:
        super().__init__()
        self.num_heads = config.num_attention_heads
        self.head_dim = config.head_dim
        d = config.hidden_size
        self.query = nn.Linear(d, d)
        self.key = nn.Linear(d, d)
        self.value = nn.Linear(d, d)
        self.dense = nn.Linear(d, d)  # output projection
        self.attention_dropout = config.attention_dropout_prob

    def forward(
        self,
        x: torch.Tensor,
        attn_mask: torch.Tensor,
        prefix_key_value: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> torch.Tensor:
        B, T, d = x.shape
        q = self.query(x).view(B, T, self.num_heads, self.head_dim).transpose(1, 2)  # (B, H, T, hd)
        k = self.key(x).view(B, T, self.num_heads, self.head_dim).transpose(1, 2)  # (B, H, T, hd)
        v = self.value(x).view(B, T, self.num_heads, self.head_dim).transpose(1, 2)  # (B, H, T, hd)
        if prefix_key_value is not None:
            prefix_k, prefix_v = prefix_key_value  # (B, H, P, hd) each
            k = torch.cat([prefix_k.to(k.dtype), k], dim=2)  # (B, H, P + T, hd)
            v = torch.cat([prefix_v.to(v.dtype), v], dim=2)  # (B, H, P + T, hd)
        dropout = self.attention_dropout if self.training else 0.0
        # attn_mask: (B, 1, 1, P + T) bool, True where a key may be attended to
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask, dropout_p=dropout)  # (B, H, T, hd)
        y = y.transpose(1, 2).reshape(B, T, d)  # (B, T, d)
        return self.dense(y)  # (B, T, d)


class ChemtlFeedForward(nn.Module):
    def __init__(self, config: ChemtlConfig) -> None:
        super().__init__()
        self.fc_in = nn.Linear(config.hidden_size, config.intermediate_size)
        self.fc_out = nn.Linear(config.intermediate_size, config.hidden_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc_out(F.gelu(self.fc_in(x)))  # (B, T, d) -> (B, T, 4d) -> (B, T, d)


class ChemtlLayer(GradientCheckpointingLayer):
    """Pre-LayerNorm block: x + attn(LN(x)), then x + ffn(LN(x))."""

    def __init__(self, config: ChemtlConfig) -> None:
        super().__init__()
        self.attention_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.attention = ChemtlSelfAttention(config)
        self.ffn_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.ffn = ChemtlFeedForward(config)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(
        self,
        x: torch.Tensor,
        attn_mask: torch.Tensor,
        prefix_key_value: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> torch.Tensor:
        x = x + self.dropout(self.attention(self.attention_norm(x), attn_mask, prefix_key_value))  # (B, T, d)
        x = x + self.dropout(self.ffn(self.ffn_norm(x)))  # (B, T, d)
        return x


class ChemtlEncoder(nn.Module):
    """A stack of ``ChemtlLayer`` (``layers``, bottom first) and a final LayerNorm."""

    def __init__(self, config: ChemtlConfig) -> None:
        super().__init__()
        self.layers = nn.ModuleList(ChemtlLayer(config) for _ in range(config.num_hidden_layers))
        self.final_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(
        self,
        x: torch.Tensor,
        attn_mask: torch.Tensor,
        prefix_key_values: PrefixKeyValues | None = None,
        output_hidden_states: bool = False,
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...] | None]:
        hidden_states = (x,) if output_hidden_states else None
        for i, layer in enumerate(self.layers):
            prefix = prefix_key_values[i] if prefix_key_values is not None else None
            x = layer(x, attn_mask, prefix)  # (B, T, d)
            if output_hidden_states:
                hidden_states += (x,)
        return self.final_norm(x), hidden_states  # (B, T, d)


def pool(hidden: torch.Tensor, attention_mask: torch.Tensor, pooling: str) -> torch.Tensor:
    """(B, T, d) hidden states -> (B, d): the first token's ("cls") or the masked mean ("mean")."""
    if pooling == "cls":
        return hidden[:, 0]  # (B, d)
    if pooling == "mean":
        weights = attention_mask.to(hidden.dtype)[..., None]  # (B, T, 1)
        return (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp_min(1.0)  # (B, d)
    raise ChemtlError(f"unknown pooling {pooling!r}; choose one of cls, mean")


# ---------------------------------------------------------------------------------------------
# Pretrained-model plumbing and the encoder model
# ---------------------------------------------------------------------------------------------


class ChemtlPreTrainedModel(PreTrainedModel):
    """Weight initialisation and save/load (``model.safetensors`` + ``config.json``) for chemtl models."""

    config_class = ChemtlConfig
    config: ChemtlConfig
    base_model_prefix = "chemtl"
    main_input_name = "input_ids"
    supports_gradient_checkpointing = True
    _supports_sdpa = True
    _no_split_modules = ["ChemtlLayer"]

    def _init_weights(self, module: nn.Module) -> None:
        super()._init_weights(module)  # normal(0, initializer_range) Linear/Embedding, unit LayerNorm
        if isinstance(module, ElementEmbedding) and self.config.element_init is not None:
            self._init_element_rows(module.weight)

    def _init_element_rows(self, weight: torch.Tensor) -> None:
        """Overwrite the element rows (ids first_regular_token_id ...) with the element table's PCA."""
        if getattr(weight, "_is_hf_initialized", False) or weight.is_meta:
            return  # loaded from a checkpoint (or not materialised yet): keep what is there
        matrix, present = element_init_matrix(
            self.config.element_init, self.config.hidden_size, scale=self.config.initializer_range
        )
        first = self.config.first_regular_token_id
        rows = torch.arange(len(ELEMENT_SYMBOLS))[torch.from_numpy(present.copy())]  # Z - 1 of table elements
        new = weight.detach().clone()
        new[rows + first] = torch.from_numpy(matrix[present]).to(new.dtype)
        init.copy_(weight, new)


class ChemtlModel(ChemtlPreTrainedModel):
    """The bare encoder: embeddings -> ``encoder.layers`` -> pooled output.

    ``forward`` returns ``BaseModelOutputWithPooling`` with ``last_hidden_state`` (B, T, d),
    ``pooler_output`` (B, d) (per ``config.pooling``) and, if asked, ``hidden_states`` (the
    embeddings' output and each layer's, before the final LayerNorm).
    """

    # pretraining checkpoints also hold these heads; loading only the encoder is the point
    _keys_to_ignore_on_load_unexpected = [
        r"(^|\.)lm_head\.",
        r"(^|\.)amount_head\.",
        r"(^|\.)projection_head\.",
        r"(^|\.)descriptor_head\.",
    ]

    def __init__(self, config: ChemtlConfig) -> None:
        super().__init__(config)
        self.embeddings = ChemtlEmbeddings(config)
        self.encoder = ChemtlEncoder(config)
        self.post_init()

    def get_input_embeddings(self) -> nn.Embedding:
        return self.embeddings.word_embeddings

    def set_input_embeddings(self, value: nn.Embedding) -> None:
        self.embeddings.word_embeddings = value

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        fractions: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        prefix_key_values: PrefixKeyValues | None = None,
        output_hidden_states: bool | None = None,
        output_attentions: bool | None = None,
        return_dict: bool | None = None,
    ) -> BaseModelOutputWithPooling | tuple:
        """Encode a batch.

        Args:
            input_ids: (B, T) token ids; or give ``inputs_embeds`` (B, T, d) instead.
            attention_mask: (B, T), nonzero where a token is real; default: ``input_ids != pad``.
            fractions: (B, T') atomic fractions, compositions only (0 on specials and padding). With
                ``inputs_embeds`` longer than T' by P, the first P positions are taken as prepended
                virtual tokens without an amount.
            prefix_key_values: one (key, value) pair per layer, each (B, H, P, hd), that every query
                attends to (always visible) before the sequence's own keys.
        """
        if output_attentions:
            raise ValueError(
                "chemtl attention runs through scaled_dot_product_attention; it returns no weights"
            )
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError("pass exactly one of input_ids and inputs_embeds")
        output_hidden_states = bool(
            output_hidden_states if output_hidden_states is not None else self.config.output_hidden_states
        )
        return_dict = return_dict if return_dict is not None else self.config.return_dict

        x = self.embeddings(input_ids, fractions, inputs_embeds)  # (B, T, d)
        B, T, _ = x.shape
        if attention_mask is None:
            if input_ids is not None:
                attention_mask = input_ids != self.config.pad_token_id
            else:
                attention_mask = torch.ones(B, T, dtype=torch.bool, device=x.device)
        keep = attention_mask.to(x.device) > 0  # (B, T) bool (PEFT passes a float mask)
        attn_mask = keep[:, None, None, :]  # (B, 1, 1, T)
        if prefix_key_values is not None:
            self._check_prefix(prefix_key_values, B)
            P = prefix_key_values[0][0].shape[2]
            visible = torch.ones(B, 1, 1, P, dtype=torch.bool, device=x.device)
            attn_mask = torch.cat([visible, attn_mask], dim=-1)  # (B, 1, 1, P + T)

        last, hidden_states = self.encoder(x, attn_mask, prefix_key_values, output_hidden_states)  # (B, T, d)
        pooled = pool(last, keep, self.config.pooling)  # (B, d)
        output = BaseModelOutputWithPooling(
            last_hidden_state=last, pooler_output=pooled, hidden_states=hidden_states
        )
        return output if return_dict else output.to_tuple()

    def _check_prefix(self, prefix_key_values: PrefixKeyValues, batch_size: int) -> None:
        c = self.config
        if len(prefix_key_values) != c.num_hidden_layers:
            raise ValueError(
                f"prefix_key_values has {len(prefix_key_values)} entries; the model has {c.num_hidden_layers} layers"
            )
        P = prefix_key_values[0][0].shape[2]
        expected = (batch_size, c.num_attention_heads, P, c.head_dim)
        for i, (k, v) in enumerate(prefix_key_values):
            if tuple(k.shape) != expected or tuple(v.shape) != expected:
                raise ValueError(
                    f"prefix_key_values[{i}] has shapes {tuple(k.shape)}, {tuple(v.shape)}; expected {expected}"
                )


from chemtl._hook import run_deferred  # noqa: E402

run_deferred()
