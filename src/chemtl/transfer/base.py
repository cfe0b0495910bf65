"""What every transfer strategy is, and where the parts of a property model live.

A strategy is a class with class-level methods only (no state): ``validate`` checks a
``StrategyConfig`` without a model, ``apply`` turns a ``ChemtlForPropertyPrediction`` into the
module to train (``requires_grad`` set; PEFT methods wrap it), ``save`` / ``load`` write and read
a fine-tuned directory. Strategies are registered by name in ``chemtl.transfer.STRATEGIES``.

Strategies that leave the encoder frozen (``bankable``: prompt, prefix, lora) can also be kept in a
prompt bank (``chemtl.pipelines.bank``): ``save_adapter`` writes only what the task trained (its
head as ``head.safetensors`` and its prompt, prefix or adapter), and ``attach`` puts the adapters of
several tasks on one shared base model (``TaskAdapters``).

Parameter names are located through the encoder *module*, not through fixed prefixes, so the same
code reads a plain model (``chemtl.encoder.layers.0...``) and a PEFT-wrapped one
(``base_model.model.chemtl.encoder.layers.0...``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from torch import nn

from chemtl.transfer.config import TransferError

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
    # True where the encoder stays frozen, so the task fits in a prompt bank (one shared base).
    bankable: ClassVar[bool] = False

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

    @classmethod
    def save_adapter(cls, model: nn.Module, out_dir: Path) -> None:
        """Write what a bank keeps of one task: ``head.safetensors`` and the strategy's own trained
        parameters (not the base weights)."""
        raise TransferError(
            f"strategy {cls.name!r} trains the encoder itself; a bank holds tasks that share a frozen "
            "encoder: prompt, prefix or lora"
        )

    @classmethod
    def attach(cls, base: ChemtlForPropertyPrediction, tasks: dict[str, tuple[Path, StrategyConfig]]):
        """The ``TaskAdapters`` of ``tasks`` (name -> (its directory, its config)) on ``base``."""
        raise NotImplementedError


HEAD_WEIGHTS = "head.safetensors"


class TaskAdapters:
    """Several tasks' adapters on one shared base model: ``module(task)`` is the module whose
    forward runs that task's prompt / prefix / adapter (its outputs' ``pooler_output`` is the task's
    pooled embedding; the base's own ``classifier`` is not the task's head)."""

    def __init__(self, select: Callable[[str], nn.Module], names: list[str]) -> None:
        self._select = select
        self.names = list(names)

    def module(self, task: str) -> nn.Module:
        return self._select(task)


def trained_head(model: nn.Module) -> nn.Module:
    """The trained ``classifier`` of a property model as a strategy returned it (plain, PEFT-wrapped
    with the head in ``modules_to_save``, or ``PrefixTuningModel``)."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    head = base.classifier
    if hasattr(head, "modules_to_save"):  # peft.utils.ModulesToSaveWrapper
        head = head.modules_to_save[head.active_adapter]
    return head


def save_head(model: nn.Module, out_dir: Path) -> None:
    from safetensors.torch import save_file

    state = {k: v.detach().contiguous() for k, v in trained_head(model).state_dict().items()}
    save_file(state, str(Path(out_dir) / HEAD_WEIGHTS), metadata={"format": "pt"})


def load_head(config, num_labels: int, task_dir: Path) -> nn.Module:
    """A task's head (``property_head`` of the base config with ``num_labels`` outputs) with the
    weights of ``task_dir/head.safetensors``, in eval mode."""
    from safetensors.torch import load_file

    from chemtl.models.prediction import property_head

    head = property_head(config, num_labels)
    head.load_state_dict(load_file(str(Path(task_dir) / HEAD_WEIGHTS)))
    return head.eval()


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
