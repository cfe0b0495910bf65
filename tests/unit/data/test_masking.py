"""Masking rules (80/10/10, element groups, SMILES spans) and the pretraining collators."""

from __future__ import annotations

import re

import pytest
import torch

from chemtl.data.collate import (
    SUBSTITUTION_POOL,
    ContrastiveCollator,
    MaskedLMCollator,
    MaskingOptions,
    ViewOptions,
    pad_encoded,
    perturb_fractions,
    substitute_elements,
)
from chemtl.data.masking import (
    element_category,
    element_group_labels,
    element_group_selection,
    mask_batch,
    mask_tokens,
    periodic_block,
    periodic_group,
    smiles_spans,
    span_selection,
    special_tokens_mask,
)
from chemtl.errors import ChemtlError

Z = {"H": 1, "Li": 3, "O": 8, "Ti": 22, "Mn": 25, "Fe": 26, "Co": 27, "Ni": 28, "Sr": 38, "Ba": 56, "P": 15}


def el(symbol: str) -> int:
    return Z[symbol] + 4


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def formula_ids(*symbols: str) -> torch.Tensor:
    return torch.tensor([[2, *(el(s) for s in symbols), 3]])


# --- periodic table ---------------------------------------------------------------------------


def test_periodic_labels():
    assert [periodic_group(z) for z in (1, 2, 3, 8, 21, 26, 57, 64, 71, 72, 89, 103, 118)] == [
        "1", "18", "1", "16", "3", "8", "Ln", "Ln", "3", "4", "An", "3", "18",
    ]  # fmt: skip
    assert [periodic_block(z) for z in (1, 2, 5, 26, 58, 71, 92)] == ["s", "s", "p", "d", "f", "d", "f"]
    assert [element_category(z) for z in (1, 3, 14, 26, 30, 50, 57, 71, 92, 9, 10)] == [
        "nonmetal", "alkali_metal", "metalloid", "transition_metal", "transition_metal",
        "post_transition_metal", "lanthanide", "lanthanide", "actinide", "halogen", "noble_gas",
    ]  # fmt: skip
    assert sum(element_category(z) == "transition_metal" for z in range(1, 119)) == 38
    with pytest.raises(ChemtlError, match="'period'"):
        element_group_labels("period")
    with pytest.raises(ChemtlError, match="'Xx'"):
        element_group_labels({"Xx": "a"})


# --- 80/10/10 ---------------------------------------------------------------------------------


def test_mask_tokens_exact_for_a_fixed_seed():
    ids = torch.tensor([[2, 30, 12, 3, 0, 0], [2, 7, 31, 12, 19, 3]])
    masked, labels = mask_tokens(ids, special_tokens_mask(ids), 0.5, generator=gen(0), vocab_size=123)
    assert masked.tolist() == [[2, 30, 4, 3, 0, 0], [2, 7, 4, 12, 4, 3]]
    assert labels.tolist() == [[-100, -100, 12, -100, -100, -100], [-100, -100, 31, -100, 19, -100]]
    again, _ = mask_tokens(ids, special_tokens_mask(ids), 0.5, generator=gen(0), vocab_size=123)
    assert torch.equal(again, masked)


def test_80_10_10_proportions_on_a_large_sample():
    ids = torch.randint(5, 1000, (400, 250), generator=gen(1))
    ids[:, 0], ids[:, -1], ids[::2, -20:] = 2, 3, 0
    special = special_tokens_mask(ids)
    masked, labels = mask_tokens(ids, special, 0.15, generator=gen(2), vocab_size=1000)
    selected = labels != -100
    assert not (selected & special).any()
    assert torch.equal(labels[selected], ids[selected])
    assert torch.equal(masked[~selected], ids[~selected])
    assert selected.sum() / (~special).sum() == pytest.approx(0.15, abs=0.005)
    n = selected.sum()
    as_mask = (masked[selected] == 4).sum() / n
    unchanged = (masked[selected] == ids[selected]).sum() / n
    as_random = 1 - as_mask - unchanged
    assert as_mask == pytest.approx(0.8, abs=0.015)
    assert as_random == pytest.approx(0.1, abs=0.01)
    assert unchanged == pytest.approx(0.1, abs=0.01)
    assert masked[selected].min() >= 4  # random replacements are regular tokens, never specials


def test_min_per_sequence_and_errors():
    ids = formula_ids("Fe", "O").repeat(50, 1)
    _, labels = mask_tokens(
        ids, special_tokens_mask(ids), 0.01, generator=gen(), vocab_size=123, min_per_sequence=1
    )
    assert ((labels != -100).sum(dim=1) >= 1).all()
    with pytest.raises(ChemtlError, match="rate"):
        mask_tokens(ids, special_tokens_mask(ids), 0.0, generator=gen(), vocab_size=123)
    with pytest.raises(ChemtlError, match="replace_probs"):
        mask_tokens(
            ids, special_tokens_mask(ids), 0.2, generator=gen(), vocab_size=123, replace_probs=(0.5, 0.5, 0.5)
        )


def test_mask_batch_hides_and_returns_amounts():
    ids = formula_ids("Fe", "O")
    batch = {
        "input_ids": ids,
        "attention_mask": torch.ones_like(ids),
        "fractions": torch.tensor([[0, 0.4, 0.6, 0]]),
    }
    selected = torch.tensor([[False, True, False, False]])
    out = mask_batch(batch, selected, generator=gen(), vocab_size=123, replace_probs=(1.0, 0.0, 0.0))
    assert out["input_ids"].tolist() == [[2, 4, 12, 3]]
    assert out["labels"].tolist() == [[-100, 30, -100, -100]]
    torch.testing.assert_close(out["fractions"], torch.tensor([[0, 0, 0.6, 0]]))
    torch.testing.assert_close(out["fraction_labels"], torch.tensor([[0, 0.4, 0, 0]]))


# --- element groups ---------------------------------------------------------------------------


def _chosen_sets(ids, scheme, seeds=range(40)):
    special = special_tokens_mask(ids)
    seen = set()
    for seed in seeds:
        selected = element_group_selection(ids, special, generator=gen(seed), scheme=scheme)
        seen.add(frozenset(torch.nonzero(selected[0]).flatten().tolist()))
    return seen


@pytest.mark.parametrize(
    "scheme",
    ["category", "block", {"Mn": "transition metal", "Co": "transition metal", "Ni": "transition metal"}],
)
def test_element_group_masking_masks_all_and_only_one_group(scheme):
    ids = formula_ids("Li", "Mn", "Co", "Ni", "O")  # positions 1..5
    assert _chosen_sets(ids, scheme) == {frozenset({1}), frozenset({2, 3, 4}), frozenset({5})}


def test_element_group_masking_by_periodic_group():
    ids = formula_ids("Ba", "Sr", "Ti", "O")  # Ba, Sr: group 2
    assert _chosen_sets(ids, "group") == {frozenset({1, 2}), frozenset({3}), frozenset({4})}


def test_one_group_formula_masks_a_single_element():
    ids = formula_ids("Fe", "Co")  # both d-block
    assert _chosen_sets(ids, "block") == {frozenset({1}), frozenset({2})}


def test_element_group_rejects_non_element_ids():
    ids = torch.tensor([[2, 200, 3]])
    with pytest.raises(ChemtlError, match="200"):
        element_group_selection(ids, special_tokens_mask(ids), generator=gen())


# --- SMILES spans -----------------------------------------------------------------------------

ASPIRIN = "C C ( = O ) O c 1 c c c c c 1 C ( = O ) O".split()


def test_smiles_spans():
    assert smiles_spans(ASPIRIN) == [(2, 5), (7, 14), (16, 19)]  # branch, ring, branch
    assert smiles_spans("C 1 C C 1 C 1 C C 1".split()) == [(0, 4), (5, 9)]  # reused ring label
    assert smiles_spans("C = 1 C C C 1".split()) == [(0, 6)]
    assert smiles_spans("c 1 c c c 2 c c c c c 2 c 1".split()) == [(0, 13), (4, 11)]


def _span_rows(tokens, rate, seeds=range(30)):
    row = ["[CLS]", *tokens, "[SEP]"]
    special = torch.tensor([[t in ("[CLS]", "[SEP]") for t in row]])
    seen = set()
    for seed in seeds:
        selected = span_selection([row], special, rate=rate, generator=gen(seed))
        seen.add(tuple(i - 1 for i in torch.nonzero(selected[0]).flatten().tolist()))  # token indices
    return seen


def test_span_masking_masks_a_whole_ring_or_branch():
    assert _span_rows(ASPIRIN, 0.15) == {tuple(range(2, 6)), tuple(range(7, 15)), tuple(range(16, 20))}
    row = ["[CLS]", *ASPIRIN, "[SEP]"]
    special = torch.tensor([[t in ("[CLS]", "[SEP]") for t in row]])
    selected = span_selection([row], special, rate=0.15, generator=gen(0))
    assert torch.nonzero(selected[0]).flatten().tolist() == [17, 18, 19, 20]  # the second branch, "(=O)"


def test_span_masking_falls_back_to_a_contiguous_run():
    for run in _span_rows("c 1 c c c c c 1".split(), 0.3):  # the ring is the whole molecule
        assert len(run) == 2 and run[1] == run[0] + 1
    for run in _span_rows("C C O".split(), 0.15):
        assert len(run) == 1


# --- collators --------------------------------------------------------------------------------


class CharTokenizer:
    """A minimal SMILES tokenizer with the chemtl special ids, for the collator tests."""

    pattern = re.compile(r"\[[^\]]+\]|Br|Cl|%\d\d|.")

    def __init__(self, corpus):
        tokens = sorted({t for s in corpus for t in self.pattern.findall(s)})
        self.vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *tokens]
        self.ids = {t: i for i, t in enumerate(self.vocab)}

    def __len__(self):
        return len(self.vocab)

    def __call__(self, strings, padding=True, return_tensors="pt"):
        rows = [[2, *(self.ids.get(t, 1) for t in self.pattern.findall(s)), 3] for s in strings]
        return pad_encoded([{"input_ids": r} for r in rows])

    def convert_ids_to_tokens(self, ids):
        return [self.vocab[i] for i in ids]


def _encoded(*formulas):
    out = []
    for symbols, fractions in formulas:
        out.append({"input_ids": [2, *(el(s) for s in symbols), 3], "fractions": [0.0, *fractions, 0.0]})
    return out


EXAMPLES = _encoded(
    (("Fe", "O"), (0.4, 0.6)),
    (("Li", "Co", "O"), (0.25, 0.25, 0.5)),
    (("Ba", "Sr", "Ti", "O"), (0.1, 0.1, 0.2, 0.6)),
)


def test_masked_lm_collator_on_encoded_compositions():
    batch = MaskedLMCollator("composition", seed=3)(EXAMPLES)
    assert set(batch) == {"input_ids", "attention_mask", "fractions", "labels", "fraction_labels"}
    assert batch["input_ids"].shape == (3, 6) and batch["input_ids"].dtype == torch.long
    assert batch["attention_mask"].tolist()[0] == [1, 1, 1, 1, 0, 0]
    selected = batch["labels"] != -100
    assert (selected.sum(dim=1) >= 1).all()
    assert (batch["fractions"][selected] == 0).all() and (batch["fraction_labels"][selected] > 0).all()
    again = MaskedLMCollator("composition", seed=3)(EXAMPLES)
    assert all(torch.equal(batch[k], again[k]) for k in batch)


def test_masked_lm_collator_strategies():
    grouped = MaskedLMCollator("composition", masking=MaskingOptions(strategy="element_group"))(EXAMPLES)
    ba_sr = grouped["labels"][2, 1:3] != -100
    assert ba_sr[0] == ba_sr[1]  # Ba and Sr (group 2) are masked together or not at all
    smiles = ["CC(=O)Oc1ccccc1C(=O)O", "CCO"]
    tokenizer = CharTokenizer(smiles)
    spans = MaskedLMCollator("smiles", tokenizer, masking=MaskingOptions(strategy="span"), seed=0)(smiles)
    assert spans["input_ids"].shape == (2, 23)
    assert (spans["labels"][0] != -100).sum() in (4, 8)
    with pytest.raises(ChemtlError, match="does not apply to kind 'smiles'"):
        MaskedLMCollator("smiles", tokenizer, masking=MaskingOptions(strategy="element_group"))
    with pytest.raises(ChemtlError, match="unknown masking strategy"):
        MaskingOptions(strategy="whole_word")


def test_composition_views():
    ids = torch.tensor([[2, el("Fe"), el("O"), 3]] * 20)
    special = special_tokens_mask(ids)
    swapped = substitute_elements(ids, special, generator=gen())
    changed = swapped != ids
    assert (changed.sum(dim=1) == 1).all()
    for new, old in zip(swapped[changed].tolist(), ids[changed].tolist()):
        assert periodic_group(new - 4) == periodic_group(old - 4) and new - 4 in SUBSTITUTION_POOL
    fractions = torch.tensor([[0, 0.4, 0.6, 0]] * 20)
    perturbed = perturb_fractions(fractions, special, scale=0.05, generator=gen())
    torch.testing.assert_close(perturbed.sum(dim=1), torch.ones(20))
    assert (perturbed[:, [0, 3]] == 0).all()
    assert ((perturbed[:, 1] / 0.4 - 1).abs() < 0.3).all() and not torch.equal(perturbed, fractions)

    batch = ContrastiveCollator("composition", views=ViewOptions(substitute_prob=1.0), seed=0)(EXAMPLES)
    assert {"view2_input_ids", "view2_attention_mask", "view2_fractions"} <= set(batch)
    torch.testing.assert_close(batch["fractions"].sum(1), torch.ones(3))
    torch.testing.assert_close(batch["view2_fractions"].sum(1), torch.ones(3))


def test_smiles_views_are_the_same_molecule():
    from chemtl.chem.smiles import canonicalize_smiles

    smiles = ["CC(=O)Oc1ccccc1C(=O)O", "c1ccc2ccccc2c1", "OCC(N)C(=O)O"]
    tokenizer = CharTokenizer(["CNOc()=12"])
    collator = ContrastiveCollator("smiles", tokenizer, masking=MaskingOptions(), seed=0)
    batch = collator(smiles)
    assert {"labels", "view2_input_ids", "view2_attention_mask"} <= set(batch)
    assert "view2_labels" not in batch
    for row, original in zip(batch["view2_input_ids"].tolist(), smiles):
        text = "".join(t for t in tokenizer.convert_ids_to_tokens(row) if not t.startswith("["))
        assert canonicalize_smiles(text) == canonicalize_smiles(original)
