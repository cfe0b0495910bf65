"""Augmentation of fine-tuning training batches (``DataConfig.augment``); never of evaluation rows.

- ``jitter_fractions``: CrabNet's fraction jitter. Each element's fraction is multiplied by
  ``1 + N(0, scale)`` (the factor clipped to stay above 0, so no element vanishes) and the
  fractions of each composition are renormalised to sum to 1; special and padding tokens stay 0.
  (CrabNet clamps the jittered fraction to [0, 1] instead; with scale 0.02 the two differ only
  in events many standard deviations out.)
- ``randomize_inputs``: each molecule written as one randomised SMILES (RDKit's ``doRandom``
  through ``chemtl.chem.smiles.randomize_smiles``); SELFIES are randomised through SMILES. An
  input that does not parse stays as it is.
- ``TrainingAugmentation``: the one a training collator applies, drawing all its noise from the
  batch's seed, so the same seed gives the same batch and a resumed run the numbers of an
  uninterrupted one (see ``chemtl.training.data``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from chemtl.data.masking import special_tokens_mask
from chemtl.errors import ChemtlError
from chemtl.seeds import derive_seed

# The multiplier 1 + N(0, scale) is clipped to at least this (a fraction never reaches 0).
MIN_FACTOR = 1e-3


def jitter_fractions(
    fractions: torch.Tensor, special_mask: torch.Tensor, *, scale: float, generator: torch.Generator
) -> torch.Tensor:
    """(B, T) fractions -> (B, T): each regular token's fraction times ``max(1 + scale * N(0, 1),
    MIN_FACTOR)``, each row renormalised to sum to 1; positions where ``special_mask`` is True
    (special tokens, padding) are returned unchanged (0). A row without regular tokens stays as
    it is."""
    noise = torch.randn(fractions.shape, generator=generator)  # (B, T), drawn for every position
    factor = (1.0 + scale * noise).clamp_min(MIN_FACTOR)
    jittered = torch.where(special_mask, fractions, fractions * factor)  # (B, T)
    total = jittered.masked_fill(special_mask, 0.0).sum(dim=1, keepdim=True)  # (B, 1)
    renormalised = torch.where(special_mask, fractions, jittered / total.clamp_min(1e-12))
    return torch.where(total > 0, renormalised, fractions).to(fractions.dtype)


def randomize_inputs(strings: Sequence[str], kind: str, seed: int) -> list[str]:
    """One randomised spelling of each molecule (row ``i`` seeded with ``derive_seed(seed,
    "random-smiles", i)``); SELFIES go through SMILES and back. Inputs that fail to parse or
    convert stay as they are."""
    from chemtl.chem.smiles import randomize_smiles

    out = []
    for i, s in enumerate(strings):
        row_seed = derive_seed(seed, "random-smiles", i)
        try:
            if kind == "selfies":
                from chemtl.chem.selfies import selfies_to_smiles, smiles_to_selfies

                out.append(smiles_to_selfies(randomize_smiles(selfies_to_smiles(s), 1, row_seed)[0]))
            else:
                out.append(randomize_smiles(s, 1, row_seed)[0])
        except (ChemtlError, ValueError):
            out.append(s)
    return out


@dataclass(frozen=True)
class TrainingAugmentation:
    """What a training collator applies: ``method`` "jitter" (compositions, ``scale`` the jitter)
    or "random-smiles" (``kind`` smiles or selfies); see ``chemtl.training.config.resolve_augment``."""

    method: str
    kind: str
    scale: float = 0.02

    def strings(self, strings: Sequence[str], seed: int) -> list[str]:
        """The inputs to tokenise (randomised SMILES, or the inputs themselves)."""
        if self.method == "random-smiles":
            return randomize_inputs(strings, self.kind, seed)
        return list(strings)

    def batch(self, batch: dict[str, Any], seed: int) -> dict[str, Any]:
        """The tokenised batch, its ``fractions`` jittered (a new tensor) for "jitter"."""
        if self.method != "jitter":
            return batch
        special = special_tokens_mask(batch["input_ids"]) | (batch["attention_mask"] == 0)
        generator = torch.Generator().manual_seed(derive_seed(seed, "jitter"))
        fractions = jitter_fractions(batch["fractions"], special, scale=self.scale, generator=generator)
        return {**batch, "fractions": fractions}
