"""Masking for masked-token pretraining: which tokens to hide (selection) and what to put there.

Every function takes an explicit ``torch.Generator``: the same generator state gives the same masks,
and nothing here touches the global random state.

Two steps, so that any selection rule combines with the same replacement rule:

1. *Selection* (a (B, T) bool tensor, True = predict this token):
   - ``random_selection``: each regular token with probability ``rate`` (BERT);
   - ``element_group_selection``: compositions; one chemical group present in the formula (periodic
     group, block s/p/d/f, chemical family, or a user mapping element -> group) and *all* of its
     elements, so e.g. every transition metal of a formula is hidden at once;
   - ``span_selection``: SMILES; whole rings (ring-opening atom to the closing digit) and whole
     branches (``(`` to the matching ``)``) until about ``rate`` of the tokens are covered.
2. *Replacement* (``apply_mask_rule``): the BERT 80/10/10 rule: of the selected tokens 80% become
   ``[MASK]``, 10% a random regular token, 10% stay; ``labels`` hold the original ids there and -100
   elsewhere. ``mask_batch`` also hides a composition's selected amounts (fraction set to 0, the
   encoder's "no amount") and returns them as ``fraction_labels``, so the amount must be predicted.

Token-id conventions (the tokenizer contract): ids below ``first_regular_id`` (5) are specials
([PAD]=0 [UNK]=1 [CLS]=2 [SEP]=3 [MASK]=4); composition id ``first_regular_id + Z - 1`` is the element
of atomic number Z (H=5 ... Og=122).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import torch

from chemtl.chem.composition import ELEMENT_SYMBOLS
from chemtl.errors import ChemtlError

PAD_ID, UNK_ID, CLS_ID, SEP_ID, MASK_ID = 0, 1, 2, 3, 4
FIRST_REGULAR_ID = 5
IGNORE_INDEX = -100
REPLACE_PROBS = (0.8, 0.1, 0.1)  # [MASK], random token, unchanged

# ---------------------------------------------------------------------------------------------
# The periodic table as group labels
# ---------------------------------------------------------------------------------------------

_PERIOD_STARTS = (1, 3, 11, 19, 37, 55, 87)


def periodic_group(z: int) -> str:
    """IUPAC group "1".."18" of atomic number ``z``; "Ln" for La-Yb, "An" for Ac-No (the f-block).

    Lu and Lr sit in group 3 (below Sc and Y), as in the d-block-based IUPAC table.
    """
    if not 1 <= z <= 118:
        raise ChemtlError(f"atomic number {z!r} is outside 1..118")
    if z == 1:
        return "1"
    if z == 2:
        return "18"
    start = max(s for s in _PERIOD_STARTS if s <= z)
    offset = z - start
    if start in (3, 11):  # periods 2-3: s then p
        return str(offset + 1) if offset < 2 else str(offset + 11)
    if start in (19, 37):  # periods 4-5: s, d, p in order
        return str(offset + 1)
    # periods 6-7: s, f (14 elements), then Lu/Lr and the rest of the d-block, p
    if offset < 2:
        return str(offset + 1)
    if offset < 16:
        return "Ln" if start == 55 else "An"
    return str(offset - 13)


def periodic_block(z: int) -> str:
    """Block "s", "p", "d" or "f" of atomic number ``z`` (He is s; La-Yb and Ac-No are f)."""
    group = periodic_group(z)
    if z == 2 or group in ("1", "2"):
        return "s"
    if group in ("Ln", "An"):
        return "f"
    return "d" if int(group) <= 12 else "p"


_METALLOIDS = {"B", "Si", "Ge", "As", "Sb", "Te"}
_NONMETALS = {"H", "C", "N", "O", "P", "S", "Se"}


def element_category(z: int) -> str:
    """Chemical family of atomic number ``z``.

    One of alkali_metal, alkaline_earth_metal, transition_metal (d-block groups 3-12 outside the
    lanthanide/actinide rows), lanthanide (La-Lu), actinide (Ac-Lr), post_transition_metal,
    metalloid, nonmetal, halogen, noble_gas.
    """
    symbol = ELEMENT_SYMBOLS[z - 1]
    group = periodic_group(z)
    if 57 <= z <= 71:
        return "lanthanide"
    if 89 <= z <= 103:
        return "actinide"
    if symbol in _NONMETALS:
        return "nonmetal"
    if symbol in _METALLOIDS:
        return "metalloid"
    if group == "1":
        return "alkali_metal"
    if group == "2":
        return "alkaline_earth_metal"
    if group == "17":
        return "halogen"
    if group == "18":
        return "noble_gas"
    if int(group) <= 12:
        return "transition_metal"
    return "post_transition_metal"


GROUP_SCHEMES = ("group", "block", "category")
GroupScheme = str | Mapping[str, str]


def element_group_labels(scheme: GroupScheme) -> tuple[str | None, ...]:
    """The group label of each element (index Z - 1) under ``scheme``.

    ``scheme`` is "group" (periodic group), "block" (s/p/d/f), "category" (chemical family), or a
    mapping element symbol -> group name; elements the mapping leaves out get ``None`` (each of them
    then forms a group of its own).
    """
    functions = {"group": periodic_group, "block": periodic_block, "category": element_category}
    if isinstance(scheme, str):
        if scheme not in functions:
            raise ChemtlError(
                f"unknown element group scheme {scheme!r}; choose one of {', '.join(GROUP_SCHEMES)} or pass a mapping"
            )
        return tuple(functions[scheme](z) for z in range(1, 119))
    unknown = sorted(set(scheme) - set(ELEMENT_SYMBOLS))
    if unknown:
        raise ChemtlError(f"element group mapping names unknown element(s): {', '.join(map(repr, unknown))}")
    return tuple(scheme.get(symbol) for symbol in ELEMENT_SYMBOLS)


# ---------------------------------------------------------------------------------------------
# Checks shared by the public functions
# ---------------------------------------------------------------------------------------------


def special_tokens_mask(input_ids: torch.Tensor, first_regular_id: int = FIRST_REGULAR_ID) -> torch.Tensor:
    """(B, T) bool, True on special tokens and padding (ids below ``first_regular_id``)."""
    return input_ids < first_regular_id


def _check_rate(rate: float) -> None:
    if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0.0 < rate <= 1.0:
        raise ChemtlError(f"masking rate must be in (0, 1], got {rate!r}")


def _check_probs(probs: Sequence[float]) -> tuple[float, float, float]:
    if len(probs) != 3 or any(p < 0 for p in probs) or abs(sum(probs) - 1.0) > 1e-6:
        raise ChemtlError(
            f"replace_probs must be three non-negative numbers ([MASK], random, keep) summing to 1, got {probs!r}"
        )
    return float(probs[0]), float(probs[1]), float(probs[2])


# ---------------------------------------------------------------------------------------------
# Selection rules
# ---------------------------------------------------------------------------------------------


def random_selection(
    special_mask: torch.Tensor,
    *,
    rate: float,
    generator: torch.Generator,
    min_per_sequence: int = 0,
) -> torch.Tensor:
    """Select each non-special token with probability ``rate``: (B, T) bool.

    ``min_per_sequence`` tops up rows that drew fewer (short compositions of 2-3 elements often draw
    none at 15%) with their lowest-draw eligible tokens, never more than a row has.
    """
    _check_rate(rate)
    eligible = ~special_mask  # (B, T)
    draws = torch.rand(special_mask.shape, generator=generator)  # (B, T)
    selected = (draws < rate) & eligible
    if min_per_sequence > 0:
        ranked = draws.masked_fill(~eligible, 2.0)  # ineligible tokens rank last
        rank = ranked.argsort(dim=1).argsort(dim=1)  # (B, T) 0 = lowest draw
        need = eligible.sum(dim=1, keepdim=True).clamp(max=min_per_sequence)  # (B, 1)
        selected |= (rank < need) & eligible
    return selected


def element_group_selection(
    input_ids: torch.Tensor,
    special_mask: torch.Tensor,
    *,
    generator: torch.Generator,
    scheme: GroupScheme = "group",
    first_regular_id: int = FIRST_REGULAR_ID,
) -> torch.Tensor:
    """Compositions: per formula, select every element of one group (B, T) bool.

    The group is drawn uniformly from the groups present in the formula that do not cover all of its
    elements (masking a whole formula leaves nothing to predict from). A formula whose elements all
    share one group gets a single element, drawn uniformly, selected instead. Elements without a label
    (left out of a user mapping) are groups of their own.
    """
    labels = element_group_labels(scheme)
    ids = input_ids.tolist()
    special = special_mask.tolist()
    selected = torch.zeros(input_ids.shape, dtype=torch.bool)
    for row, (row_ids, row_special) in enumerate(zip(ids, special)):
        positions = [t for t, s in enumerate(row_special) if not s]
        if not positions:
            continue
        groups: dict[object, list[int]] = {}
        for t in positions:
            z = row_ids[t] - first_regular_id + 1
            if not 1 <= z <= 118:
                raise ChemtlError(f"token id {row_ids[t]} at row {row}, position {t} is not an element id")
            label = labels[z - 1]
            groups.setdefault(label if label is not None else ("element", z), []).append(t)
        partial = [members for members in groups.values() if len(members) < len(positions)]
        if partial:
            choice = int(torch.randint(len(partial), (1,), generator=generator))
            chosen = partial[choice]
        else:
            chosen = [positions[int(torch.randint(len(positions), (1,), generator=generator))]]
        selected[row, chosen] = True
    return selected


_RING_BOND = re.compile(r"^%\d\d$|^\d$")
_BOND = {"-", "=", "#", "$", ":", "/", "\\", "~"}


def _is_atom(token: str) -> bool:
    return bool(token) and (token[0].isalpha() or token[0] in "[*")


def smiles_spans(tokens: Sequence[str]) -> list[tuple[int, int]]:
    """Rings and branches of a tokenised SMILES as inclusive (start, end) token index pairs.

    A ring runs from the atom that opens a ring bond (the nearest atom token before the digit) to the
    digit that closes it; a branch from ``(`` to its matching ``)``. Ring-bond labels may be reused
    (``C1CC1C1CC1`` has two rings). Unbalanced input gives the spans that do close.
    """
    spans: list[tuple[int, int]] = []
    open_rings: dict[str, int] = {}
    open_branches: list[int] = []
    last_atom: int | None = None
    for i, token in enumerate(tokens):
        if _is_atom(token):
            last_atom = i
        elif token == "(":
            open_branches.append(i)
        elif token == ")":
            if open_branches:
                spans.append((open_branches.pop(), i))
        elif _RING_BOND.match(token):
            if token in open_rings:
                spans.append((open_rings.pop(token), i))
            elif last_atom is not None:
                open_rings[token] = last_atom
    return sorted(spans)


def span_selection(
    tokens: Sequence[Sequence[str]],
    special_mask: torch.Tensor,
    *,
    rate: float,
    generator: torch.Generator,
    max_span_fraction: float = 0.5,
) -> torch.Tensor:
    """SMILES: select whole rings and branches, (B, T) bool aligned with ``special_mask``.

    ``tokens[b]`` are row b's token strings, one per position (specials included, e.g. from
    ``tokenizer.convert_ids_to_tokens``); spans are found among the non-special ones. Candidate spans
    no longer than ``max_span_fraction`` of the row's tokens are taken in random order while fewer
    than ``max(1, round(rate * n))`` tokens are selected (the first one always). A row without such a
    span (no ring or branch, or only huge ones) gets one contiguous run of that many tokens at a random
    start instead.
    """
    _check_rate(rate)
    B, T = special_mask.shape
    if len(tokens) != B:
        raise ValueError(f"tokens has {len(tokens)} rows; special_mask has {B}")
    selected = torch.zeros((B, T), dtype=torch.bool)
    special = special_mask.tolist()
    for row in range(B):
        positions = [t for t in range(T) if not special[row][t]]  # token index -> position
        n = len(positions)
        if n == 0:
            continue
        row_tokens = [tokens[row][t] for t in positions]
        budget = max(1, round(rate * n))
        spans = [(a, b) for a, b in smiles_spans(row_tokens) if b - a + 1 <= max_span_fraction * n]
        chosen: set[int] = set()
        if spans:
            for k in torch.randperm(len(spans), generator=generator).tolist():
                if len(chosen) >= budget:
                    break
                a, b = spans[k]
                chosen.update(range(a, b + 1))
        else:
            length = min(budget, n)
            start = int(torch.randint(n - length + 1, (1,), generator=generator))
            chosen.update(range(start, start + length))
        selected[row, [positions[i] for i in sorted(chosen)]] = True
    return selected


# ---------------------------------------------------------------------------------------------
# Replacement (80/10/10) and the batch-level helpers
# ---------------------------------------------------------------------------------------------


def apply_mask_rule(
    input_ids: torch.Tensor,
    selected: torch.Tensor,
    *,
    generator: torch.Generator,
    vocab_size: int,
    mask_token_id: int = MASK_ID,
    first_regular_id: int = FIRST_REGULAR_ID,
    replace_probs: Sequence[float] = REPLACE_PROBS,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Replace the ``selected`` tokens by the 80/10/10 rule; return ``(masked_ids, labels)``.

    Random replacements are drawn from the regular ids ``[first_regular_id, vocab_size)``.
    ``labels`` is the original id where selected, -100 elsewhere.
    """
    p_mask, p_random, _ = _check_probs(replace_probs)
    if vocab_size <= first_regular_id:
        raise ChemtlError(f"vocab_size {vocab_size} leaves no regular token after the specials")
    labels = input_ids.masked_fill(~selected, IGNORE_INDEX)  # (B, T)
    draws = torch.rand(input_ids.shape, generator=generator)  # (B, T)
    random_ids = torch.randint(first_regular_id, vocab_size, input_ids.shape, generator=generator)  # (B, T)
    to_mask = selected & (draws < p_mask)
    to_random = selected & (draws >= p_mask) & (draws < p_mask + p_random)
    masked = torch.where(to_mask, torch.full_like(input_ids, mask_token_id), input_ids)
    masked = torch.where(to_random, random_ids.to(input_ids.dtype), masked)
    return masked, labels


def mask_tokens(
    input_ids: torch.Tensor,
    special_mask: torch.Tensor,
    rate: float = 0.15,
    *,
    generator: torch.Generator,
    vocab_size: int,
    mask_token_id: int = MASK_ID,
    first_regular_id: int = FIRST_REGULAR_ID,
    replace_probs: Sequence[float] = REPLACE_PROBS,
    min_per_sequence: int = 0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """BERT masking: select each non-special token with probability ``rate``, then 80/10/10.

    Returns ``(masked_ids, labels)`` (labels -100 where not selected).
    """
    selected = random_selection(
        special_mask, rate=rate, generator=generator, min_per_sequence=min_per_sequence
    )
    return apply_mask_rule(
        input_ids,
        selected,
        generator=generator,
        vocab_size=vocab_size,
        mask_token_id=mask_token_id,
        first_regular_id=first_regular_id,
        replace_probs=replace_probs,
    )


def mask_batch(
    batch: Mapping[str, torch.Tensor],
    selected: torch.Tensor,
    *,
    generator: torch.Generator,
    vocab_size: int,
    mask_token_id: int = MASK_ID,
    first_regular_id: int = FIRST_REGULAR_ID,
    replace_probs: Sequence[float] = REPLACE_PROBS,
) -> dict[str, torch.Tensor]:
    """A masked copy of ``batch`` (input_ids, attention_mask[, fractions]) for the ``selected`` tokens.

    Adds ``labels``; with ``fractions`` (compositions) also sets the selected fractions to 0 (no
    amount given, whichever of the 80/10/10 cases the token fell in) and adds ``fraction_labels``:
    the original fraction where selected, 0 elsewhere.
    """
    masked_ids, labels = apply_mask_rule(
        batch["input_ids"],
        selected,
        generator=generator,
        vocab_size=vocab_size,
        mask_token_id=mask_token_id,
        first_regular_id=first_regular_id,
        replace_probs=replace_probs,
    )
    out = dict(batch)
    out["input_ids"] = masked_ids
    out["labels"] = labels
    if "fractions" in batch:
        fractions = batch["fractions"]
        out["fraction_labels"] = fractions.masked_fill(~selected, 0.0)
        out["fractions"] = fractions.masked_fill(selected, 0.0)
    return out
