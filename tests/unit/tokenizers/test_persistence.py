"""save_pretrained / from_pretrained / load_tokenizer, the file layout, and vocabulary building."""

from __future__ import annotations

import json

import numpy as np
import pytest
from tokenizers import Tokenizer

from chemtl.errors import TokenizationError
from chemtl.tokenizers import (
    CompositionTokenizer,
    SelfiesTokenizer,
    SmilesTokenizer,
    build_vocab,
    count_tokens,
    get_tokenizer,
    load_tokenizer,
)

CASES = [
    ("smiles", {}, ["C[C@@H](N)C(=O)O", "[NH4+].[Cl-]", "C%10CCCCC%10", "CX"]),
    ("selfies", {}, ["[C][=C][F].[C]", "[C][Xe]"]),
    ("composition", {}, ["Fe2O3", "Li0.5CoO2", "(Ba0.5Sr0.5)TiO3"]),
    ("composition", {"mode": "repeat"}, ["Fe2O3", "NaN"]),
]


@pytest.mark.parametrize(("kind", "kwargs", "texts"), CASES)
def test_save_load_round_trip_gives_identical_ids(tmp_path, kind, kwargs, texts):
    tok = get_tokenizer(kind, model_max_length=64, **kwargs)
    files = tok.save_pretrained(tmp_path)
    assert sorted(p.rsplit("/", 1)[-1] for p in files) == [
        "special_tokens_map.json",
        "tokenizer.json",
        "tokenizer_config.json",
    ]
    loaded = load_tokenizer(tmp_path)
    assert type(loaded) is type(tok)
    assert loaded.vocab == tok.vocab and loaded.model_max_length == 64
    a, b = tok(texts), loaded(texts)
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])
    assert type(tok).from_pretrained(tmp_path).vocab == tok.vocab


def test_saved_files_are_hugging_face_layout(tmp_path):
    CompositionTokenizer("repeat").save_pretrained(tmp_path)
    config = json.loads((tmp_path / "tokenizer_config.json").read_text())
    assert config["tokenizer_class"] == "CompositionTokenizerFast"
    assert config["chemtl_kind"] == "composition" and config["chemtl_mode"] == "repeat"
    assert config["model_max_length"] == 512
    assert config["model_input_names"] == ["input_ids", "attention_mask", "fractions"]
    special = json.loads((tmp_path / "special_tokens_map.json").read_text())
    assert special == {
        "pad_token": "[PAD]",
        "unk_token": "[UNK]",
        "cls_token": "[CLS]",
        "sep_token": "[SEP]",
        "mask_token": "[MASK]",
    }
    raw = Tokenizer.from_file(str(tmp_path / "tokenizer.json"))  # a real tokenizers file
    assert raw.encode("Fe Fe O O O").ids == [2, 30, 30, 12, 12, 12, 3]
    assert "pickle" not in (tmp_path / "tokenizer.json").read_text()


def test_raw_tokenizers_file_gives_the_same_ids_as_chemtl(smiles_tok, moses_sample, tmp_path):
    smiles_tok.save_pretrained(tmp_path)
    raw = Tokenizer.from_file(str(tmp_path / "tokenizer.json"))
    raw.encode_special_tokens = True
    texts = [*moses_sample[:500], "C[Zn]X C", "ClBr[C@@H]%10%1", "C[MASK]C"]
    ids = [e.ids for e in raw.encode_batch(texts)]
    assert ids == smiles_tok(texts, return_tensors=None, padding=False)["input_ids"]


def test_saving_twice_is_byte_identical(tmp_path, smiles_tok):
    smiles_tok.save_pretrained(tmp_path / "a")
    smiles_tok.save_pretrained(tmp_path / "b")
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_load_errors(tmp_path):
    with pytest.raises(TokenizationError, match="no tokenizer_config.json"):
        load_tokenizer(tmp_path)
    SmilesTokenizer(["C"]).save_pretrained(tmp_path)
    with pytest.raises(TokenizationError, match="a 'smiles' tokenizer, not 'selfies'"):
        SelfiesTokenizer.from_pretrained(tmp_path)
    data = json.loads((tmp_path / "tokenizer.json").read_text())
    data["pre_tokenizer"]["pattern"]["Regex"] = "."
    (tmp_path / "tokenizer.json").write_text(json.dumps(data))
    with pytest.raises(TokenizationError, match="splits with '.'"):
        load_tokenizer(tmp_path)
    with pytest.raises(TokenizationError, match="unknown tokenizer kind 'inchi'"):
        get_tokenizer("inchi")


def test_build_vocab_orders_by_count_then_token():
    corpus = ["CCO", "CCN", "c1ccccc1Cl", "C[Zn]", "C X"]
    assert build_vocab(corpus, "smiles") == ["C", "c", "1", "Cl", "N", "O", "[Zn]"]
    assert build_vocab(corpus, "smiles", min_freq=2) == ["C", "c", "1"]
    assert build_vocab(corpus, "smiles", max_size=2) == ["C", "c"]
    counts = count_tokens(corpus, "smiles")
    assert counts.invalid == {" ": 1, "X": 1} and counts.n_strings == 5


def test_build_vocab_streams_and_checks_kind():
    gen = (s for s in ["[C][O]", "[C].[N]", "x"])
    assert build_vocab(gen, "selfies") == ["[C]", ".", "[N]", "[O]"]
    with pytest.raises(TokenizationError, match="composition vocabulary is fixed"):
        build_vocab(["Fe2O3"], "composition")
    with pytest.raises(TokenizationError, match="unknown tokenizer kind"):
        build_vocab(["C"], "inchi")


def test_from_corpus_round_trips_its_corpus(moses_sample):
    tok = SmilesTokenizer.from_corpus(moses_sample[:200], extra_tokens=["[Na+]", "C"])
    assert tok.vocab[-1] == "[Na+]" and tok.vocab.count("C") == 1
    batch = tok(moses_sample[:200])
    assert batch.unknown == {}
    assert tok.batch_decode(batch["input_ids"]) == moses_sample[:200]
