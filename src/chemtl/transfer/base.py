"""What every transfer strategy is, and where the parts of a property model live.

A strategy is a class with class-level methods only (no state): ``validate`` checks a
``StrategyConfig`` without a model, ``apply`` turns a ``ChemtlForPropertyPrediction`` into the
module to train (``requires_grad`` set; PEFT methods wrap it), ``save`` / ``load`` write and read
a fine-tuned directory. Strategies are registered by name in ``chemtl.transfer.STRATEGIES``.

Parameter names are located through the encoder *module*, not through fixed prefixes, so the same
code reads a plain model (``chemtl.encoder.layers.0...``) and a PEFT-wrapped one
(``base_model.model.chemtl.encoder.layers.0...``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from torch import nn

if TYPE_CHECKING:
    from chemtl.models import ChemtlForPropertyPrediction, ChemtlModel
    from chemtl.transfer.config import StrategyConfig


class Strategy:
    """Base class: every parameter frozen but the head; plain ``save_pretrained`` / ``from_pretrained``."""

    name: ClassVar[str]
    # StrategyConfig fields this strategy reads; other strategies' fields must keep their defaults.
    options: ClassVar[tuple[str, ...]] = ()
    # True where the frozen encoder runs in eval mode during training (no dropout, so its
    # features are deterministic and can be cached); see ``chemtl.transfer.set_train_mode``.
    encoder_in_eval: ClassVar[bool] = False

    @classmethod
    def validate(cls, config: StrategyConfig) -> None:
        """Checks of ``config`` that need no model (the generic ones run in ``StrategyConfig``)."""

    @classmethod
    def apply(cls, model: ChemtlForPropertyPrediction, config: StrategyConfig) -> nn.Module:
        raise NotImplementedError

    @classmethod
    def save(cls, model: nn.Module, out_dir: Path) -> None:
        """Write the trained ``model`` (as ``apply`` returned it) into ``out_dir``."""
        model.save_pretrained(out_dir)

    @classmethod
    def load(cls, model_dir: Path, config: StrategyConfig) -> nn.Module:
        """Read back what ``save`` wrote, ready for prediction."""
        from chemtl.models import ChemtlForPropertyPrediction

        return ChemtlForPropertyPrediction.from_pretrained(model_dir)


# -------------------------------------------------------------------------------------------------
# Where the parts live
# -------------------------------------------------------------------------------------------------


def find_encoder(model: nn.Module) -> tuple[str, ChemtlModel]:
    """The one ``ChemtlModel`` inside ``model`` and its name prefix (``"chemtl"`` in a plain model)."""
    from chemtl.models import ChemtlModel

    found = [(name, module) for name, module in model.named_modules() if isinstance(module, ChemtlModel)]
    if len(found) != 1:
        raise TypeError(f"expected exactly one ChemtlModel inside {type(model).__name__}, found {len(found)}")
    return found[0]


def num_encoder_layers(model: nn.Module) -> int:
    return len(find_encoder(model)[1].encoder.layers)


def parameter_part(name: str, encoder_prefix: str) -> tuple[str, int | None]:
    """Which part of the model a parameter belongs to: ``("embeddings", None)``, ``("layer", i)``,
    ``("encoder_top", None)`` (encoder parameters above the layers: the final LayerNorm) or
    ``("head", None)`` (everything outside the encoder: the classifier, prompts, prefixes)."""
    prefix = f"{encoder_prefix}." if encoder_prefix else ""
    if not name.startswith(prefix):
        return "head", None
    rest = name[len(prefix) :]
    if rest.startswith("embeddings."):
        return "embeddings", None
    if rest.startswith("encoder.layers."):
        return "layer", int(rest.split(".")[2])
    return "encoder_top", None


def set_requires_grad(model: nn.Module, trainable: Callable[[str, int | None], bool]) -> nn.Module:
    """``requires_grad = trainable(part, layer_index)`` for every parameter of ``model``."""
    prefix, _ = find_encoder(model)
    for name, param in model.named_parameters():
        param.requires_grad_(bool(trainable(*parameter_part(name, prefix))))
    return model
