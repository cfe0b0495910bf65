"""GPT-2 configs over chemtl tokenizers, and the grammar processor of composition generation."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from chemtl.chem.composition import ELEMENT_SYMBOLS
from chemtl.models.causal import CompositionGrammar, causal_config, causal_parameter_groups, condition_tokens
from chemtl.tokenizers import get_tokenizer
from chemtl.tokenizers.formula_text import AMOUNT_TOKENS, FormulaTextTokenizer, grammar_problem

TOK = FormulaTextTokenizer(condition_tokens("band_gap", 3))
EOS, PAD = TOK.sep_token_id, TOK.pad_token_id
VOCAB = TOK.vocab


def test_condition_tokens_and_config():
    assert condition_tokens("band_gap", 3) == ["[band_gap=b0]", "[band_gap=b1]", "[band_gap=b2]"]
    cfg = causal_config(TOK, "tiny", max_length=40)
    assert (cfg.model_type, cfg.vocab_size, cfg.n_positions, cfg.n_embd, cfg.n_layer) == (
        "gpt2",
        225,
        40,
        64,
        2,
    )
    assert (cfg.bos_token_id, cfg.eos_token_id, cfg.pad_token_id, cfg.kind) == (2, 3, 0, "composition")
    smiles = causal_config(get_tokenizer("smiles"), "small")
    assert (smiles.kind, smiles.n_embd, smiles.n_layer, smiles.n_head) == ("smiles", 256, 4, 4)
    with pytest.raises(ValueError, match="causal model size 'huge' is not one of tiny, small"):
        causal_config(TOK, "huge")


def test_no_weight_decay_on_biases_norms_and_embeddings():
    from transformers import GPT2LMHeadModel

    model = GPT2LMHeadModel(causal_config(TOK, "tiny"))
    decay, plain = causal_parameter_groups(model, 1e-3, 0.01)
    names = {id(p): n for n, p in model.named_parameters()}
    assert all(not names[id(p)].endswith(".bias") and ".ln_" not in names[id(p)] for p in decay["params"])
    assert {names[id(p)] for p in plain["params"]} >= {"transformer.wte.weight", "transformer.wpe.weight"}
    assert (decay["weight_decay"], plain["weight_decay"]) == (0.01, 0.0)


def is_grammatical_prefix(tokens: list[str]) -> bool:
    """A reference of the grammar: a prefix of (ELEMENT AMOUNT)+ with no element twice."""
    whole = tokens if len(tokens) % 2 == 0 else [*tokens, "1"]
    return not tokens or grammar_problem(whole) is None


@st.composite
def states(draw):
    """A grammatical prefix as the processor sees it: BOS, maybe a condition, element/amount pairs,
    maybe a trailing element."""
    k = draw(st.integers(0, 5))
    elements = draw(st.lists(st.sampled_from(ELEMENT_SYMBOLS), min_size=k, max_size=k, unique=True))
    tokens: list[str] = []
    for e in elements:
        tokens += [e, draw(st.sampled_from(AMOUNT_TOKENS))]
    if draw(st.booleans()):
        tokens.append(draw(st.sampled_from([e for e in ELEMENT_SYMBOLS if e not in elements])))
    head = ["[CLS]"] + ([draw(st.sampled_from(TOK.conditions))] if draw(st.booleans()) else [])
    return head, tokens, draw(st.integers(1, 6))


@settings(max_examples=300, deadline=None)
@given(states())
def test_the_processor_allows_exactly_the_grammatical_next_tokens(state):
    head, tokens, max_elements = state
    grammar = CompositionGrammar(TOK, max_elements=max_elements)
    allowed = grammar.allowed(TOK.convert_tokens_to_ids(head + tokens))
    allowed_tokens = {VOCAB[i] for i in torch.nonzero(allowed).flatten().tolist()}
    n_elements = len(tokens[0::2])
    expected = set()
    for t in VOCAB:
        if t == "[SEP]":
            if tokens and grammar_problem(tokens) is None:  # EOS only after an amount
                expected.add(t)
        elif (t in ELEMENT_SYMBOLS or t in AMOUNT_TOKENS) and is_grammatical_prefix([*tokens, t]):
            if t in ELEMENT_SYMBOLS and n_elements >= max_elements:
                continue
            expected.add(t)
    assert allowed_tokens == expected
    for t in allowed_tokens - {"[SEP]"}:  # every allowed token keeps the prefix grammatical
        assert is_grammatical_prefix([*tokens, t])
        assert t not in tokens[0::2]  # no element twice


def test_masked_scores_and_finished_rows():
    grammar = CompositionGrammar(TOK, max_elements=2)
    rows = torch.tensor(
        [
            TOK.convert_tokens_to_ids(["[CLS]", "Fe", "2", "O", "3"]),  # two elements: only EOS
            TOK.convert_tokens_to_ids(["[CLS]", "Fe", "2", "O", "3"])[:-1] + [EOS],  # finished
            TOK.convert_tokens_to_ids(["[CLS]", "Fe", "2", "[SEP]", "[PAD]"]),  # finished, padded
        ]
    )
    out = grammar(rows, torch.zeros(3, len(TOK)))
    assert torch.nonzero(torch.isfinite(out[0])).flatten().tolist() == [EOS]
    assert torch.nonzero(torch.isfinite(out[1])).flatten().tolist() == [PAD, EOS]
    assert torch.nonzero(torch.isfinite(out[2])).flatten().tolist() == [PAD, EOS]
    with pytest.raises(ValueError, match="max_elements must be >= 1, got 0"):
        CompositionGrammar(TOK, max_elements=0)


def test_smiles_condition_tokens_are_one_token_each():
    from chemtl.pipelines.pretrain import _causal_tokenizer

    base = get_tokenizer("smiles")
    tok = _causal_tokenizer("smiles", None, condition_tokens("logp", 2))
    assert len(tok) == len(base) + 2 and tok.vocab[-2:] == ("[logp=b0]", "[logp=b1]")
    ids = tok(["[logp=b1]CCO"])["input_ids"].tolist()[0]
    assert ids == [2, len(base) + 1, *base(["CCO"])["input_ids"].tolist()[0][1:]]
    assert type(_causal_tokenizer("composition", None, [])).__name__ == "FormulaTextTokenizer"
