"""``prompt``: prompt tuning (Lester et al. 2021) on the frozen encoder, through the PEFT library.

PEFT's ``PromptTuningConfig`` with ``TaskType.SEQ_CLS`` wraps the model: it looks up the token
embeddings, prepends ``num_virtual_tokens`` learned vectors, extends the attention mask with ones
and calls the model with ``inputs_embeds``. Extra batch keys pass through untouched, and the chemtl
encoder reads a ``fractions`` tensor shorter than ``inputs_embeds`` by P as P prepended virtual
tokens without an amount (zero fraction, no fraction encoding), so compositions need no special
handling. The head (``classifier``) trains in full as PEFT's ``modules_to_save``; the prompt
(``prompt_encoder.default.embedding.weight``, (P, d)) trains; everything else is frozen.

As in PEFT for any BERT classifier, the virtual tokens come first, so with ``pooling="cls"`` the
head reads the output at the first virtual token (a learned query over the whole input) rather
than at ``[CLS]``; with ``pooling="mean"`` the mean includes the virtual tokens.

``prompt_init="vocab"`` starts the prompt from the embeddings of randomly drawn regular tokens
(elements for compositions; never the special tokens), which Lester et al. found trains better
than random vectors; ``"random"`` keeps PEFT's initialisation. ``freeze_prompt=True`` keeps the
virtual tokens at their initial values (a fixed prompt: only the head trains), the control of the
chapter's pitfall 5 ("a fixed prompt performs poorly").

In a prompt bank (``chemtl.pipelines.bank``) a task keeps its head (``head.safetensors``) and its
prompt (``adapter/``, ``chemtl.transfer._peft.save_bank_adapter``); the prompts of several tasks are
loaded side by side into one PEFT model on the shared base and switched with ``set_adapter``.

Saving writes the base model with the trained head as a plain ``ChemtlForPropertyPrediction``
(``config.json``, ``model.safetensors``) plus PEFT's ``adapter_config.json`` and
``adapter_model.safetensors`` in ``prompt_adapter/``; loading rebuilds it with
``peft.PeftModel.from_pretrained``.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from safetensors.torch import save_file
from torch import nn

from chemtl.transfer._peft import (
    attach_bank_adapters,
    get_peft_model_quietly,
    quiet_peft,
    save_bank_adapter,
    unwrap_modules_to_save,
)
from chemtl.transfer.base import Strategy, save_head

if TYPE_CHECKING:
    from chemtl.models import ChemtlForPropertyPrediction
    from chemtl.transfer.config import StrategyConfig

# PEFT's files go in a subfolder: transformers' ``from_pretrained`` treats an ``adapter_config.json``
# beside ``config.json`` as an adapter to inject itself, which prompt learning does not support.
ADAPTER_DIR = "prompt_adapter"
ADAPTER_WEIGHTS = "adapter_model.safetensors"


class PromptStrategy(Strategy):
    name = "prompt"
    options = ("num_virtual_tokens", "prompt_init", "freeze_prompt")
    bankable = True

    @classmethod
    def apply(cls, model: ChemtlForPropertyPrediction, config: StrategyConfig) -> nn.Module:
        from peft import PromptTuningConfig, PromptTuningInit, TaskType

        peft_config = PromptTuningConfig(
            task_type=TaskType.SEQ_CLS,
            num_virtual_tokens=config.num_virtual_tokens,
            prompt_tuning_init=PromptTuningInit.RANDOM,
        )
        peft_model = get_peft_model_quietly(model, peft_config)
        if config.prompt_init == "vocab":
            init_prompt_from_vocab(peft_model)
        if config.freeze_prompt:
            prompt_parameters(peft_model).requires_grad_(False)
        return peft_model

    @classmethod
    def save_adapter(cls, model: nn.Module, out_dir: Path) -> None:
        save_head(model, out_dir)
        save_bank_adapter(model, out_dir)

    @classmethod
    def attach(cls, base, tasks):
        return attach_bank_adapters(base, {name: path for name, (path, _) in tasks.items()})

    @classmethod
    def save(cls, model: nn.Module, out_dir: Path) -> None:
        from peft import get_peft_model_state_dict

        base = unwrap_modules_to_save(copy.deepcopy(model.get_base_model()))
        base.save_pretrained(out_dir)
        # What PeftModel.save_pretrained writes, without the model-card README it adds.
        adapter_dir = Path(out_dir) / ADAPTER_DIR
        model.peft_config["default"].save_pretrained(adapter_dir)
        state = {k: v.detach().contiguous() for k, v in get_peft_model_state_dict(model).items()}
        save_file(state, str(adapter_dir / ADAPTER_WEIGHTS), metadata={"format": "pt"})

    @classmethod
    def load(cls, model_dir: Path, config: StrategyConfig) -> nn.Module:
        from peft import PeftModel

        base = super().load(model_dir, config)
        with quiet_peft():
            return PeftModel.from_pretrained(base, str(Path(model_dir) / ADAPTER_DIR))


def prompt_parameters(peft_model: nn.Module) -> nn.Parameter:
    """The (P, d) virtual-token table of the active prompt."""
    return peft_model.prompt_encoder[peft_model.active_adapter].embedding.weight


@torch.no_grad()
def init_prompt_from_vocab(peft_model: nn.Module) -> None:
    """Set each virtual token to the embedding of a regular token drawn uniformly (global RNG)."""
    config = peft_model.get_base_model().config
    word_embeddings = peft_model.get_base_model().get_input_embeddings().weight  # (V, d)
    prompt = peft_model.prompt_encoder["default"].embedding.weight  # (P, d)
    ids = torch.randint(config.first_regular_token_id, config.vocab_size, (prompt.shape[0],))  # (P,)
    prompt.copy_(word_embeddings[ids])
