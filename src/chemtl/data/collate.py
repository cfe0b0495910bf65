"""Collators that turn examples into model batches for pretraining.

- ``pad_encoded``: already-encoded examples -> a padded batch dict.
- ``MaskedLMCollator``: strings (with a tokenizer) or encoded examples -> a masked-token batch
  (``input_ids``, ``attention_mask``, [``fractions``], ``labels``, [``fraction_labels``]).
- ``ContrastiveCollator``: two augmented views of each item -> ``input_ids`` ... and ``view2_*``
  (optionally the first view masked too, for the summed objective of ``ChemtlForPretraining``).
- ``DescriptorCollator``: SMILES/SELFIES strings -> ``descriptor_labels`` (B, D), the
  standardised RDKit descriptors of each molecule computed on the fly (NaN where missing), beside
  the batch of a masked or contrastive collator, or beside the plain tokenised batch (the
  ``descriptors`` objective alone, multi-task regression).
- ``CausalLMCollator``: strings -> next-token batches of a causal model (``input_ids``,
  ``attention_mask``, ``labels`` = the ids with -100 on padding; the model shifts them itself).
- View functions for compositions: ``perturb_fractions`` (small relative change of the amounts) and
  ``substitute_elements`` (one element swapped for another of its periodic group); SMILES views are
  randomised SMILES (``chemtl.chem.smiles.randomize_smiles``), SELFIES views the SELFIES of those.

Batch keys match the ``forward`` arguments of the chemtl models, so ``model(**batch)`` works.
A tokenizer is anything callable as ``tokenizer(strings, padding=True, return_tensors="pt")``
returning ``input_ids`` and ``attention_mask`` (and ``fractions`` for compositions); its ``len()``
is the vocabulary size and ``convert_ids_to_tokens`` gives span masking its token strings.

Randomness: each collator owns a ``torch.Generator`` seeded from ``seed``; inside a DataLoader
worker it is reseeded from ``seed`` and the worker's seed (which a seeded DataLoader makes
reproducible and which changes every epoch), so workers never repeat each other's masks.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from chemtl.data.masking import (
    FIRST_REGULAR_ID,
    GROUP_SCHEMES,
    MASK_ID,
    PAD_ID,
    REPLACE_PROBS,
    GroupScheme,
    element_group_labels,
    element_group_selection,
    mask_batch,
    random_selection,
    span_selection,
    special_tokens_mask,
)
from chemtl.errors import ChemtlError

KINDS = ("composition", "smiles", "selfies")
MODEL_KEYS = ("input_ids", "attention_mask", "fractions")
STRATEGIES = {"random": KINDS, "element_group": ("composition",), "span": ("smiles",)}

# Atomic numbers a substitution may swap: stable elements (Z <= 83 without Tc and Pm) plus Th and U,
# without H (periodic group 1 would pair it with the alkali metals).
SUBSTITUTION_POOL: frozenset[int] = frozenset([z for z in range(2, 84) if z not in (43, 61)] + [90, 92])


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ChemtlError(f"unknown kind {kind!r}; choose one of {', '.join(KINDS)}")


# ---------------------------------------------------------------------------------------------
# Padding and tokenising
# ---------------------------------------------------------------------------------------------


def pad_encoded(examples: Sequence[Mapping[str, Any]], pad_token_id: int = PAD_ID) -> dict[str, torch.Tensor]:
    """Pad encoded examples (``input_ids`` [, ``attention_mask``] [, ``fractions``]) into a batch.

    ``input_ids`` and ``attention_mask`` become (B, T) int64, ``fractions`` (B, T) float32 with 0 on
    padding; other keys are dropped.
    """
    if not examples:
        raise ChemtlError("cannot collate an empty list of examples")
    ids = [torch.as_tensor(e["input_ids"], dtype=torch.long).reshape(-1) for e in examples]
    B, T = len(ids), max(len(x) for x in ids)
    batch = {
        "input_ids": torch.full((B, T), pad_token_id, dtype=torch.long),
        "attention_mask": torch.zeros((B, T), dtype=torch.long),
    }
    has_fractions = "fractions" in examples[0]
    if has_fractions:
        batch["fractions"] = torch.zeros((B, T), dtype=torch.float32)
    for i, (example, row) in enumerate(zip(examples, ids)):
        n = len(row)
        batch["input_ids"][i, :n] = row
        mask = example.get("attention_mask")
        batch["attention_mask"][i, :n] = (
            torch.as_tensor(mask, dtype=torch.long).reshape(-1) if mask is not None else 1
        )
        if has_fractions:
            batch["fractions"][i, :n] = torch.as_tensor(example["fractions"], dtype=torch.float32).reshape(-1)
    return batch


def _tokenize(tokenizer: Callable[..., Any], strings: Sequence[str]) -> dict[str, torch.Tensor]:
    encoded = tokenizer(list(strings), padding=True, return_tensors="pt")
    batch = {key: torch.as_tensor(encoded[key]) for key in MODEL_KEYS if key in encoded}
    batch["input_ids"] = batch["input_ids"].long()
    batch["attention_mask"] = batch["attention_mask"].long()
    if "fractions" in batch:
        batch["fractions"] = batch["fractions"].float()
    return batch


class _Seeded:
    """A per-process generator: ``seed`` in the main process, ``seed`` + worker seed in a worker."""

    def __init__(self, seed: int) -> None:
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ChemtlError(f"seed must be an integer, got {seed!r}")
        self.seed = seed
        self._owner: tuple[int, int | None] | None = None
        self._generator: torch.Generator | None = None

    def generator(self) -> torch.Generator:
        info = torch.utils.data.get_worker_info()
        owner = (os.getpid(), info.seed if info is not None else None)
        if self._generator is None or self._owner != owner:
            seed = self.seed if info is None else (self.seed * 1_000_003 + info.seed) % (2**63 - 1)
            self._generator = torch.Generator().manual_seed(seed)
            self._owner = owner
        return self._generator


# ---------------------------------------------------------------------------------------------
# Masked-token batches
# ---------------------------------------------------------------------------------------------


@dataclass
class MaskingOptions:
    """How to mask: ``strategy`` "random" (any kind), "element_group" (compositions) or "span" (SMILES).

    rate: share of tokens to select ("random", "span"); group_scheme: "group", "block", "category"
    or a mapping element -> group name ("element_group"); replace_probs: [MASK] / random / keep;
    min_per_sequence: at least this many selected per row ("random"); max_span_fraction: longest
    ring/branch span, as a share of the row ("span").
    """

    strategy: str = "random"
    rate: float = 0.15
    group_scheme: GroupScheme = "group"
    replace_probs: tuple[float, float, float] = REPLACE_PROBS
    min_per_sequence: int = 1
    max_span_fraction: float = 0.5

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise ChemtlError(
                f"unknown masking strategy {self.strategy!r}; choose one of {', '.join(STRATEGIES)}"
            )
        if isinstance(self.rate, bool) or not isinstance(self.rate, int | float) or not 0 < self.rate <= 1:
            raise ChemtlError(f"masking rate must be in (0, 1], got {self.rate!r}")
        if isinstance(self.group_scheme, str) and self.group_scheme not in GROUP_SCHEMES:
            raise ChemtlError(
                f"unknown element group scheme {self.group_scheme!r}; choose one of {', '.join(GROUP_SCHEMES)}"
            )
        if not isinstance(self.group_scheme, str):
            element_group_labels(self.group_scheme)  # validates the mapping's element symbols
        probs = tuple(self.replace_probs)
        if len(probs) != 3 or any(p < 0 for p in probs) or abs(sum(probs) - 1) > 1e-6:
            raise ChemtlError(f"replace_probs must be three non-negative numbers summing to 1, got {probs!r}")
        if isinstance(self.min_per_sequence, bool) or not isinstance(self.min_per_sequence, int):
            raise ChemtlError(f"min_per_sequence must be an integer, got {self.min_per_sequence!r}")
        if not 0 < self.max_span_fraction <= 1:
            raise ChemtlError(f"max_span_fraction must be in (0, 1], got {self.max_span_fraction!r}")

    def check_kind(self, kind: str) -> None:
        if kind not in STRATEGIES[self.strategy]:
            raise ChemtlError(
                f"masking strategy {self.strategy!r} does not apply to kind {kind!r} "
                f"(it works for {', '.join(STRATEGIES[self.strategy])})"
            )


class _Encoder:
    """Shared by the collators: examples -> padded batch, vocabulary size, id -> token strings."""

    def __init__(
        self,
        kind: str,
        tokenizer: Any | None,
        vocab_size: int | None,
        id_to_token: Sequence[str] | None,
        pad_token_id: int,
    ) -> None:
        _check_kind(kind)
        self.kind = kind
        self.tokenizer = tokenizer
        self.pad_token_id = pad_token_id
        if vocab_size is None and tokenizer is not None:
            vocab_size = (
                len(tokenizer) if hasattr(tokenizer, "__len__") else getattr(tokenizer, "vocab_size", None)
            )
        if vocab_size is None and kind == "composition":
            vocab_size = FIRST_REGULAR_ID + 118
        if vocab_size is None:
            raise ChemtlError(
                f"kind {kind!r} needs a tokenizer or vocab_size to draw random replacement tokens"
            )
        self.vocab_size = int(vocab_size)
        self._id_to_token = list(id_to_token) if id_to_token is not None else None

    def encode(self, examples: Sequence[Any]) -> dict[str, torch.Tensor]:
        if not examples:
            raise ChemtlError("cannot collate an empty list of examples")
        if all(isinstance(e, str) for e in examples):
            if self.tokenizer is None:
                raise ChemtlError("string examples need a tokenizer; pass tokenizer= or encoded examples")
            batch = _tokenize(self.tokenizer, examples)
        elif all(isinstance(e, Mapping) and "input_ids" in e for e in examples):
            batch = pad_encoded(examples, self.pad_token_id)
        else:
            raise ChemtlError("examples must be all strings or all mappings with 'input_ids'")
        if self.kind == "composition" and "fractions" not in batch:
            raise ChemtlError("composition examples need 'fractions' next to 'input_ids'")
        return batch

    def tokens(self, input_ids: torch.Tensor) -> list[list[str]]:
        rows = input_ids.tolist()
        if self._id_to_token is not None:
            return [[self._id_to_token[i] for i in row] for row in rows]
        convert = getattr(self.tokenizer, "convert_ids_to_tokens", None)
        if convert is None:
            raise ChemtlError(
                "span masking needs token strings: pass id_to_token= or a tokenizer with convert_ids_to_tokens"
            )
        return [list(convert(row)) for row in rows]


def _mask(
    batch: dict[str, torch.Tensor],
    options: MaskingOptions,
    encoder: _Encoder,
    generator: torch.Generator,
    mask_token_id: int,
) -> dict[str, torch.Tensor]:
    special = special_tokens_mask(batch["input_ids"]) | (batch["attention_mask"] == 0)  # (B, T)
    if options.strategy == "random":
        selected = random_selection(
            special, rate=options.rate, generator=generator, min_per_sequence=options.min_per_sequence
        )
    elif options.strategy == "element_group":
        selected = element_group_selection(
            batch["input_ids"], special, generator=generator, scheme=options.group_scheme
        )
    else:
        selected = span_selection(
            encoder.tokens(batch["input_ids"]),
            special,
            rate=options.rate,
            generator=generator,
            max_span_fraction=options.max_span_fraction,
        )
    return mask_batch(
        batch,
        selected,
        generator=generator,
        vocab_size=encoder.vocab_size,
        mask_token_id=mask_token_id,
        replace_probs=options.replace_probs,
    )


class MaskedLMCollator:
    """Examples -> masked-token batch for ``ChemtlForMaskedLM`` / ``ChemtlForPretraining``.

    Args:
        kind: "composition", "smiles" or "selfies".
        tokenizer: needed for string examples (and gives the vocabulary size and token strings).
        masking: a ``MaskingOptions`` (default: random 15%, 80/10/10, at least one per row).
        vocab_size, id_to_token: instead of a tokenizer, for encoded examples.
        seed: seeds the collator's own generator.
    """

    def __init__(
        self,
        kind: str,
        tokenizer: Any | None = None,
        *,
        masking: MaskingOptions | None = None,
        vocab_size: int | None = None,
        id_to_token: Sequence[str] | None = None,
        seed: int = 0,
        pad_token_id: int = PAD_ID,
        mask_token_id: int = MASK_ID,
    ) -> None:
        self.masking = masking if masking is not None else MaskingOptions()
        self.masking.check_kind(kind)
        self._encoder = _Encoder(kind, tokenizer, vocab_size, id_to_token, pad_token_id)
        self._seeded = _Seeded(seed)
        self.mask_token_id = mask_token_id

    @property
    def kind(self) -> str:
        return self._encoder.kind

    def __call__(self, examples: Sequence[Any]) -> dict[str, torch.Tensor]:
        batch = self._encoder.encode(examples)
        return _mask(batch, self.masking, self._encoder, self._seeded.generator(), self.mask_token_id)


# ---------------------------------------------------------------------------------------------
# Contrastive views
# ---------------------------------------------------------------------------------------------


def perturb_fractions(
    fractions: torch.Tensor, special_mask: torch.Tensor, *, scale: float, generator: torch.Generator
) -> torch.Tensor:
    """Multiply each element's fraction by ``exp(scale * N(0, 1))`` and renormalise each row to 1.

    (B, T) -> (B, T); specials and padding stay 0. ``scale=0.05`` changes amounts by about 5%.
    """
    noise = torch.randn(fractions.shape, generator=generator)  # (B, T)
    perturbed = (fractions * torch.exp(scale * noise)).masked_fill(special_mask, 0.0)  # (B, T)
    total = perturbed.sum(dim=1, keepdim=True)  # (B, 1)
    return torch.where(total > 0, perturbed / total.clamp_min(1e-12), perturbed).to(fractions.dtype)


def substitute_elements(
    input_ids: torch.Tensor,
    special_mask: torch.Tensor,
    *,
    generator: torch.Generator,
    scheme: GroupScheme = "group",
    pool: frozenset[int] = SUBSTITUTION_POOL,
    prob: float = 1.0,
    first_regular_id: int = FIRST_REGULAR_ID,
) -> torch.Tensor:
    """With probability ``prob`` per row, swap one element for another of the same group.

    The element to replace is drawn uniformly among the row's elements (atomic numbers in ``pool``)
    that have a partner: an element of ``pool`` with the same group label (``scheme`` as in
    ``chemtl.data.masking.element_group_labels``) not already in the row; the partner is drawn
    uniformly. Rows without such an element are returned unchanged. The amount stays with the
    position, so Fe2O3 may become Ru2O3.
    """
    labels = element_group_labels(scheme)
    members: dict[str, list[int]] = {}
    for z in sorted(pool):
        if labels[z - 1] is not None:
            members.setdefault(labels[z - 1], []).append(z)
    out = input_ids.clone()
    ids = input_ids.tolist()
    special = special_mask.tolist()
    for row in range(len(ids)):
        if float(torch.rand((), generator=generator)) >= prob:
            continue
        present = {ids[row][t] - first_regular_id + 1 for t in range(len(ids[row])) if not special[row][t]}
        options: list[tuple[int, list[int]]] = []
        for t in range(len(ids[row])):
            z = ids[row][t] - first_regular_id + 1
            if special[row][t] or z not in pool or labels[z - 1] is None:
                continue
            partners = [p for p in members[labels[z - 1]] if p not in present]
            if partners:
                options.append((t, partners))
        if not options:
            continue
        t, partners = options[int(torch.randint(len(options), (1,), generator=generator))]
        out[row, t] = (
            partners[int(torch.randint(len(partners), (1,), generator=generator))] + first_regular_id - 1
        )
    return out


@dataclass
class ViewOptions:
    """Composition views: every view gets its fractions perturbed by ``perturb_scale`` (relative,
    log-normal) and, with probability ``substitute_prob``, one same-group element substitution
    (``substitute_scheme``). SMILES/SELFIES views are randomised SMILES; these options do not apply."""

    perturb_scale: float = 0.05
    substitute_prob: float = 0.5
    substitute_scheme: GroupScheme = "group"
    substitution_pool: frozenset[int] = field(default=SUBSTITUTION_POOL)

    def __post_init__(self) -> None:
        if not (isinstance(self.perturb_scale, int | float) and 0 <= self.perturb_scale < 1):
            raise ChemtlError(f"perturb_scale must be in [0, 1), got {self.perturb_scale!r}")
        if not (isinstance(self.substitute_prob, int | float) and 0 <= self.substitute_prob <= 1):
            raise ChemtlError(f"substitute_prob must be in [0, 1], got {self.substitute_prob!r}")
        element_group_labels(self.substitute_scheme)  # validates the scheme


def composition_view(
    batch: Mapping[str, torch.Tensor], options: ViewOptions, generator: torch.Generator
) -> dict[str, torch.Tensor]:
    """One augmented view of an encoded composition batch (input_ids, attention_mask, fractions)."""
    special = special_tokens_mask(batch["input_ids"]) | (batch["attention_mask"] == 0)
    input_ids = substitute_elements(
        batch["input_ids"],
        special,
        generator=generator,
        scheme=options.substitute_scheme,
        pool=options.substitution_pool,
        prob=options.substitute_prob,
    )
    fractions = perturb_fractions(
        batch["fractions"], special, scale=options.perturb_scale, generator=generator
    )
    return {"input_ids": input_ids, "attention_mask": batch["attention_mask"].clone(), "fractions": fractions}


def _randomized(strings: Sequence[str], kind: str, seed: int) -> tuple[list[str], list[str]]:
    """Two randomised spellings of each SMILES (or SELFIES, through SMILES)."""
    from chemtl.chem.smiles import randomize_smiles

    first, second = [], []
    for i, s in enumerate(strings):
        if kind == "selfies":
            from chemtl.chem.selfies import selfies_to_smiles, smiles_to_selfies

            a, b = randomize_smiles(selfies_to_smiles(s), 2, seed + i)
            a, b = smiles_to_selfies(a), smiles_to_selfies(b)
        else:
            a, b = randomize_smiles(s, 2, seed + i)
        first.append(a)
        second.append(b)
    return first, second


class ContrastiveCollator:
    """Items -> two views (``input_ids``... and ``view2_*``) for ``ChemtlForPretraining``.

    Compositions: strings (with a tokenizer) or encoded examples; both views are augmented with
    ``ViewOptions``. SMILES/SELFIES: strings and a tokenizer; the views are two randomised spellings.
    With ``masking`` the first view is also masked (``labels`` [, ``fraction_labels``]), for the summed
    masked + contrastive objective.
    """

    def __init__(
        self,
        kind: str,
        tokenizer: Any | None = None,
        *,
        views: ViewOptions | None = None,
        masking: MaskingOptions | None = None,
        vocab_size: int | None = None,
        id_to_token: Sequence[str] | None = None,
        seed: int = 0,
        pad_token_id: int = PAD_ID,
        mask_token_id: int = MASK_ID,
    ) -> None:
        self._encoder = _Encoder(kind, tokenizer, vocab_size, id_to_token, pad_token_id)
        if masking is not None:
            masking.check_kind(kind)
        if kind != "composition" and tokenizer is None:
            raise ChemtlError(f"contrastive views of kind {kind!r} are strings: pass a tokenizer")
        self.views = views if views is not None else ViewOptions()
        self.masking = masking
        self._seeded = _Seeded(seed)
        self.mask_token_id = mask_token_id

    @property
    def kind(self) -> str:
        return self._encoder.kind

    def __call__(self, examples: Sequence[Any]) -> dict[str, torch.Tensor]:
        generator = self._seeded.generator()
        if self.kind == "composition":
            batch = self._encoder.encode(examples)
            view1 = composition_view(batch, self.views, generator)
            view2 = composition_view(batch, self.views, generator)
        else:
            if not all(isinstance(e, str) for e in examples):
                raise ChemtlError(f"contrastive views of kind {self.kind!r} need string examples")
            seed = int(torch.randint(0, 2**31 - 1, (1,), generator=generator))
            first, second = _randomized(examples, self.kind, seed)
            view1 = self._encoder.encode(first)
            view2 = self._encoder.encode(second)
        if self.masking is not None:
            view1 = _mask(view1, self.masking, self._encoder, generator, self.mask_token_id)
        return {**view1, **{f"view2_{key}": value for key, value in view2.items()}}


class DescriptorCollator:
    """Molecule strings -> a batch with ``descriptor_labels`` (B, D) float32 for
    ``ChemtlForPretraining``'s descriptor head: ``targets`` (a ``chemtl.data.features.DescriptorTargets``)
    of each molecule, SELFIES read through SMILES. The rest of the batch is ``inner``'s (a
    ``MaskedLMCollator`` or ``ContrastiveCollator`` on the same strings) or, without one, the strings
    tokenised as they are. Descriptors are computed from the strings as given (the first view of a
    contrastive pair is another spelling of the same molecule). A string RDKit cannot read raises
    ``ChemtlError``.
    """

    def __init__(
        self,
        kind: str,
        tokenizer: Any,
        targets: Callable[[Sequence[str]], Any],
        inner: Callable[[Sequence[Any]], dict[str, torch.Tensor]] | None = None,
        pad_token_id: int = PAD_ID,
    ) -> None:
        _check_kind(kind)
        if kind == "composition":
            raise ChemtlError(
                "descriptor targets are RDKit descriptors of molecules: kind 'composition' has none"
            )
        self._encoder = _Encoder(kind, tokenizer, None, None, pad_token_id)
        self.targets = targets
        self.inner = inner

    @property
    def kind(self) -> str:
        return self._encoder.kind

    def __call__(self, examples: Sequence[Any]) -> dict[str, torch.Tensor]:
        from chemtl.data.features import as_smiles

        if not examples or not all(isinstance(e, str) for e in examples):
            raise ChemtlError("descriptor targets need a non-empty list of SMILES or SELFIES strings")
        labels = torch.as_tensor(self.targets(as_smiles(examples, self.kind)), dtype=torch.float32)
        batch = self.inner(examples) if self.inner is not None else self._encoder.encode(examples)
        return {**batch, "descriptor_labels": labels}


class CausalLMCollator:
    """Strings -> ``[CLS] tokens [SEP]`` batches whose labels are the ids (-100 on padding).

    No randomness: the same rows always give the same batch (``seed`` is accepted for the
    collators' common signature).
    """

    def __init__(self, tokenizer: Callable[..., Any], seed: int = 0) -> None:
        self.tokenizer = tokenizer

    def __call__(self, strings: Sequence[str]) -> dict[str, torch.Tensor]:
        batch = _tokenize(self.tokenizer, strings)
        batch.pop("fractions", None)
        batch["labels"] = batch["input_ids"].masked_fill(batch["attention_mask"] == 0, -100)
        return batch


__all__ = [
    "SUBSTITUTION_POOL",
    "CausalLMCollator",
    "ContrastiveCollator",
    "DescriptorCollator",
    "MaskedLMCollator",
    "MaskingOptions",
    "ViewOptions",
    "composition_view",
    "pad_encoded",
    "perturb_fractions",
    "substitute_elements",
]
