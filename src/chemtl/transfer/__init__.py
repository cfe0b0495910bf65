"""Transfer strategies: how a pretrained encoder becomes a property model that trains.

Public API::

    STRATEGIES                                   # name -> Strategy class, the one registry
    StrategyConfig(name, trainable_layers=None, lora_r=8, lora_alpha=16, lora_dropout=0.1,
                   lora_target_modules=None, num_virtual_tokens=10, prompt_init="random",
                   freeze_prompt=False, prefix_projection=False, prefix_hidden_size=None, init_seed=None)
    apply_strategy(model, config) -> nn.Module    # the module to train, requires_grad set
    set_train_mode(model, config, mode=True)      # model.train(mode), keeping a frozen encoder in eval
    parameter_groups(model, lr, head_lr=None, lr_decay=1.0, weight_decay=0.01) -> list[dict]
    trainable_parameter_count(model), total_parameter_count(model), trainable_parameter_names(model)
    save_finetuned(model, out_dir, config), load_finetuned(model_dir) -> (model, config)
    TransferError, UnknownStrategyError, TrainableLayersError   # ChemtlError subclasses

Every strategy starts from a ``ChemtlForPropertyPrediction`` built from the pretrained directory
(``ChemtlForPropertyPrediction.from_pretrained(dir, num_labels=..., problem_type=...)``):

    full      every parameter trains
    feature   encoder frozen (and in eval mode, so features can be cached); the head trains
    partial   embeddings and bottom layers frozen; the top ``trainable_layers`` layers, the final
              LayerNorm and the head train
    scratch   every weight re-initialised as a new model of the same config; all train
    prompt    PEFT prompt tuning: learned virtual tokens + head (PEFT wrapper); ``freeze_prompt``
              keeps the tokens fixed (only the head trains)
    prefix    prefix tuning through the encoder's ``prefix_key_values`` (native wrapper) + head
    lora      PEFT LoRA on the encoder layers' query/value projections + head (PEFT wrapper)

To add a method: write ``chemtl/transfer/<method>.py`` with a ``Strategy`` subclass (its
``options`` name the ``StrategyConfig`` fields it reads) and register it below.
"""

from __future__ import annotations

from pathlib import Path

from torch import nn

from chemtl.transfer.base import Strategy, find_encoder
from chemtl.transfer.config import StrategyConfig, TrainableLayersError, TransferError, UnknownStrategyError
from chemtl.transfer.feature import FeatureStrategy, encode_features
from chemtl.transfer.full import FullStrategy
from chemtl.transfer.lora import LoraStrategy
from chemtl.transfer.optim import parameter_groups
from chemtl.transfer.partial import PartialStrategy
from chemtl.transfer.prefix import PrefixStrategy, PrefixTuningModel
from chemtl.transfer.prompt import PromptStrategy
from chemtl.transfer.scratch import ScratchStrategy, reinitialize

STRATEGIES: dict[str, type[Strategy]] = {
    s.name: s
    for s in (
        FullStrategy,
        FeatureStrategy,
        PartialStrategy,
        ScratchStrategy,
        PromptStrategy,
        PrefixStrategy,
        LoraStrategy,
    )
}

STRATEGY_FILE = "strategy.json"

__all__ = [
    "STRATEGIES",
    "STRATEGY_FILE",
    "PrefixTuningModel",
    "Strategy",
    "StrategyConfig",
    "TrainableLayersError",
    "TransferError",
    "UnknownStrategyError",
    "apply_strategy",
    "encode_features",
    "find_encoder",
    "load_finetuned",
    "parameter_groups",
    "reinitialize",
    "save_finetuned",
    "set_train_mode",
    "total_parameter_count",
    "trainable_parameter_count",
    "trainable_parameter_names",
]


def apply_strategy(model: nn.Module, config: StrategyConfig) -> nn.Module:
    """Make ``model`` (a plain ``ChemtlForPropertyPrediction``) ready to train with ``config``.

    Returns the module to optimise: ``model`` itself with ``requires_grad`` set (full, feature,
    partial, scratch, which change it in place), or a wrapper around it (prompt and lora: a PEFT
    ``PeftModelForSequenceClassification``; prefix: ``PrefixTuningModel``) whose forward takes the
    same batch and returns the same output type.
    """
    from chemtl.models import ChemtlForPropertyPrediction

    if not isinstance(model, ChemtlForPropertyPrediction):
        raise TypeError(
            f"apply_strategy needs a plain ChemtlForPropertyPrediction, got {type(model).__name__}"
        )
    if any(type(m).__module__.startswith("peft.") for m in model.modules()):
        raise TypeError("apply_strategy needs a model without PEFT layers; it was already adapted")
    return STRATEGIES[config.name].apply(model, config)


def set_train_mode(model: nn.Module, config: StrategyConfig, mode: bool = True) -> nn.Module:
    """``model.train(mode)``, but a strategy's frozen encoder (``feature``) stays in eval mode.

    Call it where ``model.train()`` would be called (in Lightning: override the module's ``train``).
    """
    model.train(mode)
    if mode and STRATEGIES[config.name].encoder_in_eval:
        find_encoder(model)[1].eval()
    return model


def trainable_parameter_names(model: nn.Module) -> list[str]:
    return [name for name, p in model.named_parameters() if p.requires_grad]


def trainable_parameter_count(model: nn.Module) -> int:
    """Number of scalars that train (shared tensors counted once)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def total_parameter_count(model: nn.Module) -> int:
    """Number of scalars in all distinct parameters of ``model`` as given (for a PEFT wrapper this
    includes PEFT's frozen copy of the original head)."""
    return sum(p.numel() for p in model.parameters())


def save_finetuned(model: nn.Module, out_dir: str | Path, config: StrategyConfig) -> Path:
    """Write a fine-tuned model (as ``apply_strategy`` returned it, after training) to ``out_dir``.

    Always ``config.json`` + ``model.safetensors`` of a plain ``ChemtlForPropertyPrediction`` (for
    lora the adapters are merged in; for prompt and prefix the frozen encoder with the trained
    head) and ``strategy.json``; prompt adds PEFT's ``adapter_config.json`` +
    ``adapter_model.safetensors`` in ``prompt_adapter/``, prefix adds ``prefix_encoder.safetensors``.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    STRATEGIES[config.name].save(model, out)
    config.save(out / STRATEGY_FILE)
    return out


def load_finetuned(model_dir: str | Path) -> tuple[nn.Module, StrategyConfig]:
    """Read what ``save_finetuned`` wrote: the model in eval mode, ready to predict, and its config.

    lora comes back merged, as a plain ``ChemtlForPropertyPrediction``; prompt as a PEFT model and
    prefix as a ``PrefixTuningModel``; the others as a plain model.
    """
    path = Path(model_dir)
    if not (path / STRATEGY_FILE).is_file():
        raise TransferError(
            f"{str(path)!r} has no {STRATEGY_FILE}; it is not a fine-tuned chemtl model directory"
        )
    config = StrategyConfig.load(path / STRATEGY_FILE)
    model = STRATEGIES[config.name].load(path, config)
    return model.eval(), config
