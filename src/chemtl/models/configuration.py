"""``ChemtlConfig``: the architecture of a chemtl encoder and of its task heads.

One config class serves every input kind. ``kind`` decides the embeddings:

- ``"composition"``: element embedding + an encoding of each element's atomic fraction, no
  positions, so the encoder sees a *set* of elements (permuting them leaves the pooled output
  unchanged).
- ``"smiles"`` / ``"selfies"``: token embedding + learned absolute positions, as in BERT.

Named sizes (``SIZES``) give the transformer dimensions; ``ChemtlConfig.from_size`` builds a config
from one of them. Every user-chosen value is validated when the config is built and a bad one raises
``ChemtlError`` naming it.

The config is a Hugging Face ``PreTrainedConfig`` (``model_type = "chemtl"``), so it saves as
``config.json`` next to the weights and loads with ``AutoConfig`` once
``chemtl.models.register_auto_classes()`` has run.
"""

from __future__ import annotations

from typing import Any

from transformers import PreTrainedConfig

from chemtl.errors import ChemtlError

KINDS = ("composition", "smiles", "selfies")
POOLINGS = ("cls", "mean")
FRACTION_ENCODINGS = ("sinusoidal", "learned")
AMOUNT_LOSSES = ("log_mse", "mse")
REGRESSION_LOSSES = ("mse", "l1", "robust-l1")
HEAD_TYPES = ("pooled", "elementwise")
# Molecule features the pooled head can read beside the embedding (``chemtl.data.features``).
EXTRA_FEATURES = ("morgan", "rdkit")
# CrabNet's residual network widths (its ``out_hidden``), applied to every element's hidden state.
ELEMENTWISE_HEAD_DIMS = (1024, 512, 256, 128)
PROBLEM_TYPES = ("regression", "single_label_classification", "multi_label_classification")

# Composition vocabulary of the tokenizer contract: 5 specials + 118 elements (H=5 ... Og=122).
COMPOSITION_VOCAB_SIZE = 123

SIZES: dict[str, dict[str, int]] = {
    # for tests: a forward pass in milliseconds
    "tiny": dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64),
    # the default: pretrainable on 2 CPU cores in well under an hour
    "small": dict(hidden_size=256, num_hidden_layers=4, num_attention_heads=4, intermediate_size=1024),
    # BERT-base, the size the textbook chapter uses
    "base": dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072),
}


def _choice(name: str, value: Any, allowed: tuple) -> None:
    if value not in allowed:
        raise ChemtlError(f"unknown {name} {value!r}; choose one of {', '.join(map(str, allowed))}")


def _positive_int(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ChemtlError(f"{name} must be a positive integer, got {value!r}")


def _probability(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= value < 1.0:
        raise ChemtlError(f"{name} must be a number in [0, 1), got {value!r}")


def _non_negative(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0.0:
        raise ChemtlError(f"{name} must be a non-negative number, got {value!r}")


class ChemtlConfig(PreTrainedConfig):
    r"""Configuration of a chemtl encoder (``ChemtlModel``) and its task models.

    Architecture:
        kind: ``"composition"``, ``"smiles"`` or ``"selfies"``.
        vocab_size: size of the tokenizer's vocabulary (123 for compositions).
        hidden_size, num_hidden_layers, num_attention_heads, intermediate_size: transformer shape;
            ``hidden_size`` must be divisible by ``num_attention_heads``.
        hidden_dropout_prob, attention_dropout_prob: dropout on residual branches / attention weights.
        max_position_embeddings: longest SMILES/SELFIES input (tokens incl. [CLS]/[SEP] and any
            prepended virtual tokens); unused for compositions, which have no positions.
        pooling: ``"cls"`` (hidden state of the first token) or ``"mean"`` (mean over the
            attention mask) for ``pooler_output``.
        fraction_encoding: compositions only. ``"sinusoidal"``: CrabNet's fixed sinusoids of the
            fraction and of a log-scale transform of it, mixed by a learned linear layer;
            ``"learned"``: a small MLP of (fraction, log fraction).
        element_init: compositions only. ``None`` (random), or the name of an element table shipped
            by an installed data package (``"mat2vec"``, ``"magpie"``, ... see
            ``chemtl.models.element_tables.ELEMENT_TABLES``) whose principal components initialise
            the element rows of the embedding.
        pad/unk/cls/sep/mask_token_id: the special-token ids of the chemtl tokenizers (0..4).
        layer_norm_eps, initializer_range: as in BERT.

    Pretraining heads (``ChemtlForMaskedLM``, ``ChemtlForPretraining``):
        amount_loss: ``"log_mse"`` (squared error of log fractions, so dopant amounts count) or
            ``"mse"`` (squared error of fractions); compositions only.
        amount_loss_weight: weight of the amount loss next to the token cross-entropy.
        mlm_loss_weight, contrastive_loss_weight: weights of the two pretraining objectives.
        contrastive_temperature: NT-Xent temperature. projection_dim: width of the contrastive
            projection head's output.
        descriptor_dim: 0 (none), or the number of standardised RDKit descriptors a regression
            head on the pooled embedding predicts (the ``descriptors`` objective, SMILES/SELFIES);
            descriptor_loss_weight: its masked MSE's weight in the sum.

    Property head (``ChemtlForPropertyPrediction``): ``num_labels`` and ``problem_type`` as in
    Hugging Face (``"regression"`` masks NaN targets, so several sparse targets train together),
    ``classifier_dropout`` and ``classifier_hidden_size`` (default ``hidden_size``).
    ``regression_loss``: ``"mse"``, ``"l1"`` or ``"robust-l1"`` (the head also predicts a log
    standard deviation per target; CrabNet's robust L1, see ``chemtl.models.losses``).
    ``output_gate``: the head also predicts a gate logit g per target and the prediction becomes
    ``z0 + sigmoid(g) (mu - z0)``, where ``gate_zero`` z0 is the standardised value of 0 (one per
    target): a gate that closes predicts exactly 0 in the user's units (a point mass at zero, as
    the metals' 0 eV band gaps; CrabNet's sigmoid gate).
    ``head_type``: ``"pooled"`` (the MLP reads the pooled embedding) or ``"elementwise"``
    (compositions only; CrabNet's head: a residual MLP of widths ``elementwise_head_dims`` with
    LeakyReLU, applied to every element's last hidden state, its outputs averaged over the
    elements, then any gate).
    ``extra_features``: ``None``, or ``"morgan"`` / ``"rdkit"`` (SMILES/SELFIES, pooled head only):
    the head reads the pooled embedding concatenated with ``extra_features_dim`` molecule features
    (the batch's ``features``, Chemprop's hybrid), so its input width is ``hidden_size +
    extra_features_dim``. ``extra_feature_names`` (rdkit: the descriptor names, in column order)
    and ``extra_feature_mean`` / ``extra_feature_std`` (the training rows' statistics that scale
    them; None for the unscaled Morgan bits) say how ``chemtl.pipelines.finetune.model_features``
    computes them for new inputs.
    """

    model_type = "chemtl"

    kind: str = "composition"
    vocab_size: int = COMPOSITION_VOCAB_SIZE
    hidden_size: int = 256
    num_hidden_layers: int = 4
    num_attention_heads: int = 4
    intermediate_size: int = 1024
    hidden_dropout_prob: float = 0.1
    attention_dropout_prob: float = 0.1
    max_position_embeddings: int = 256
    pooling: str = "cls"
    fraction_encoding: str = "sinusoidal"
    element_init: str | None = None
    layer_norm_eps: float = 1e-12
    initializer_range: float = 0.02
    pad_token_id: int = 0
    unk_token_id: int = 1
    cls_token_id: int = 2
    sep_token_id: int = 3
    mask_token_id: int = 4
    amount_loss: str = "log_mse"
    amount_loss_weight: float = 1.0
    mlm_loss_weight: float = 1.0
    contrastive_loss_weight: float = 1.0
    contrastive_temperature: float = 0.1
    projection_dim: int = 128
    descriptor_dim: int = 0
    descriptor_loss_weight: float = 1.0
    classifier_dropout: float = 0.1
    classifier_hidden_size: int | None = None
    regression_loss: str = "mse"
    output_gate: bool = False
    gate_zero: list[float] | None = None
    head_type: str = "pooled"
    elementwise_head_dims: list[int] | None = None
    extra_features: str | None = None
    extra_features_dim: int = 0
    extra_feature_names: list[str] | None = None
    extra_feature_mean: list[float] | None = None
    extra_feature_std: list[float] | None = None
    tie_word_embeddings: bool = False

    def __post_init__(self, **kwargs: Any) -> None:
        super().__post_init__(**kwargs)
        self._validate()

    def _validate(self) -> None:
        _choice("kind", self.kind, KINDS)
        _choice("pooling", self.pooling, POOLINGS)
        _choice("fraction_encoding", self.fraction_encoding, FRACTION_ENCODINGS)
        _choice("amount_loss", self.amount_loss, AMOUNT_LOSSES)
        for name in ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads"):
            _positive_int(name, getattr(self, name))
        for name in ("intermediate_size", "max_position_embeddings", "projection_dim"):
            _positive_int(name, getattr(self, name))
        if self.classifier_hidden_size is not None:
            _positive_int("classifier_hidden_size", self.classifier_hidden_size)
        if self.hidden_size % self.num_attention_heads:
            raise ChemtlError(
                f"hidden_size {self.hidden_size} is not divisible by num_attention_heads "
                f"{self.num_attention_heads}"
            )
        if self.kind == "composition" and self.hidden_size % 4:
            # the sinusoidal fraction encoding splits hidden_size into 2 channels of sin/cos pairs
            raise ChemtlError(f"hidden_size {self.hidden_size} must be a multiple of 4 for compositions")
        for name in ("hidden_dropout_prob", "attention_dropout_prob", "classifier_dropout"):
            _probability(name, getattr(self, name))
        for name in (
            "amount_loss_weight",
            "mlm_loss_weight",
            "contrastive_loss_weight",
            "descriptor_loss_weight",
        ):
            _non_negative(name, getattr(self, name))
        n = self.descriptor_dim
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ChemtlError(f"descriptor_dim must be an integer >= 0, got {n!r}")
        if n and self.kind == "composition":
            raise ChemtlError(
                "descriptor_dim: RDKit descriptors are molecule targets; kind 'composition' has none"
            )
        if not self.contrastive_temperature > 0:
            raise ChemtlError(
                f"contrastive_temperature must be positive, got {self.contrastive_temperature!r}"
            )
        if self.element_init is not None:
            if self.kind != "composition":
                raise ChemtlError(
                    f"element_init {self.element_init!r} needs kind 'composition', got kind {self.kind!r}"
                )
            from chemtl.models.element_tables import ELEMENT_TABLES

            _choice("element_init", self.element_init, tuple(ELEMENT_TABLES))
        if self.kind == "composition" and self.vocab_size != COMPOSITION_VOCAB_SIZE:
            raise ChemtlError(
                f"vocab_size {self.vocab_size} does not match the composition vocabulary "
                f"({COMPOSITION_VOCAB_SIZE}: 5 special tokens + 118 elements)"
            )
        specials = {
            "pad_token_id": self.pad_token_id,
            "unk_token_id": self.unk_token_id,
            "cls_token_id": self.cls_token_id,
            "sep_token_id": self.sep_token_id,
            "mask_token_id": self.mask_token_id,
        }
        for name, value in specials.items():
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < self.vocab_size:
                raise ChemtlError(f"{name} must be an id in [0, {self.vocab_size}), got {value!r}")
        if self.problem_type is not None:
            _choice("problem_type", self.problem_type, PROBLEM_TYPES)
        _choice("regression_loss", self.regression_loss, REGRESSION_LOSSES)
        if not isinstance(self.output_gate, bool):
            raise ChemtlError(f"output_gate must be true or false, got {self.output_gate!r}")
        if self.gate_zero is not None and (
            not isinstance(self.gate_zero, list | tuple)
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in self.gate_zero)
        ):
            raise ChemtlError(f"gate_zero must be a list of numbers, got {self.gate_zero!r}")

        _choice("head_type", self.head_type, HEAD_TYPES)
        if self.head_type == "elementwise" and self.kind != "composition":
            raise ChemtlError(
                f"head_type 'elementwise' reads one hidden state per element: it needs kind 'composition', "
                f"got kind {self.kind!r}"
            )
        dims = self.elementwise_head_dims
        if dims is not None and (
            not isinstance(dims, list | tuple)
            or not dims
            or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in dims)
        ):
            raise ChemtlError(f"elementwise_head_dims must be a list of positive integers, got {dims!r}")
        self._validate_extra_features()

    def _validate_extra_features(self) -> None:
        extra, n = self.extra_features, self.extra_features_dim
        if extra is None:
            if n != 0:
                raise ChemtlError(f"extra_features_dim {n!r} needs extra_features (morgan or rdkit)")
            return
        _choice("extra_features", extra, EXTRA_FEATURES)
        if self.kind == "composition":
            raise ChemtlError(
                f"extra_features {extra!r} are molecule features: they need kind 'smiles' or 'selfies', "
                f"got kind {self.kind!r}"
            )
        if self.head_type != "pooled":
            raise ChemtlError(
                f"extra_features {extra!r} join the pooled embedding: they need head_type 'pooled', "
                f"got {self.head_type!r}"
            )
        _positive_int("extra_features_dim", n)
        for name in ("extra_feature_names", "extra_feature_mean", "extra_feature_std"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, list | tuple) or len(value) != n):
                raise ChemtlError(f"{name} must be a list of {n} values (extra_features_dim), got {value!r}")
        if (self.extra_feature_mean is None) != (self.extra_feature_std is None):
            raise ChemtlError("extra_feature_mean and extra_feature_std go together: give both or neither")

    @property
    def head_input_size(self) -> int:
        """Width of the pooled head's input: the pooled embedding and any extra features."""
        return self.hidden_size + self.extra_features_dim

    @property
    def head_parts(self) -> int:
        """Outputs of the property head per label: the prediction, [its log std], [its gate logit]."""
        return 1 + (self.regression_loss == "robust-l1") + bool(self.output_gate)

    @property
    def head_dim(self) -> int:
        return self.hidden_size // self.num_attention_heads

    @property
    def first_regular_token_id(self) -> int:
        """The first id that is not a special token (5 in every chemtl tokenizer)."""
        return (
            max(
                self.pad_token_id, self.unk_token_id, self.cls_token_id, self.sep_token_id, self.mask_token_id
            )
            + 1
        )

    @classmethod
    def from_size(cls, size: str, kind: str, vocab_size: int | None = None, **overrides: Any) -> ChemtlConfig:
        """Config of the named ``size`` (``tiny``, ``small``, ``base``) for ``kind``.

        ``vocab_size`` defaults to 123 for compositions and is required for SMILES/SELFIES (it is
        the tokenizer's ``len()``). ``overrides`` replace any other field, e.g. ``pooling="mean"``.
        """
        if size not in SIZES:
            raise ChemtlError(f"unknown model size {size!r}; choose one of {', '.join(SIZES)}")
        _choice("kind", kind, KINDS)
        if vocab_size is None:
            if kind != "composition":
                raise ChemtlError(f"vocab_size is required for kind {kind!r} (the tokenizer's length)")
            vocab_size = COMPOSITION_VOCAB_SIZE
        return cls(**{**SIZES[size], "kind": kind, "vocab_size": vocab_size, **overrides})


def register_auto_config() -> None:
    """Register ``ChemtlConfig`` with ``AutoConfig`` (idempotent)."""
    from transformers.models.auto.configuration_auto import AutoConfig

    AutoConfig.register(ChemtlConfig.model_type, ChemtlConfig, exist_ok=True)


from chemtl._hook import run_deferred  # noqa: E402

run_deferred()
