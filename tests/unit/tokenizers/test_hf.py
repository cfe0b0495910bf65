"""transformers interop, each check in a fresh interpreter: import cost, AutoTokenizer in both
import orders, the wrappers' ids, fractions, padding and files against chemtl's own tokenizer."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from chemtl.tokenizers import get_tokenizer

TEXTS = {
    "smiles": ["C[C@@H](N)C(=O)O", "[NH4+].[Cl-]", "C%10CCCCC%10", "ClCBr", "CX C", "c1ccccc1Br"],
    "selfies": ["[C][=C][F].[C]", "[C][Xe]", "ab[C]"],
    "composition": ["Fe2O3", "Li0.5CoO2", "(Ba0.5Sr0.5)TiO3", "CuSO4·5H2O", "NaN"],
    "repeat": ["Fe2O3", "NaN", "Li3Fe2(PO4)3"],
}

# Runs in a subprocess: loads every saved directory with AutoTokenizer and compares with chemtl.
CHECK = textwrap.dedent(
    """
    import json, sys
    ORDER, DIRS, TEXTS = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
    if ORDER == "chemtl-first":
        import chemtl
        from chemtl._hook import install_transformers_hook
        install_transformers_hook()  # the line chemtl/__init__.py runs
        assert "transformers" not in sys.modules
        from transformers import AutoTokenizer
    else:
        from transformers import AutoTokenizer
        import chemtl
        from chemtl._hook import install_transformers_hook
        install_transformers_hook()
    import numpy as np
    from chemtl.tokenizers import load_tokenizer
    out = {}
    for name, path in DIRS.items():
        hf = AutoTokenizer.from_pretrained(path)
        core = load_tokenizer(path)
        texts = TEXTS[name]
        a = core(texts)
        b = hf(texts, padding=True, return_tensors="np")
        single = hf(texts[0])
        res = {
            "class": type(hf).__name__,
            "module": type(hf).__module__,
            "same_ids": bool(np.array_equal(a["input_ids"], b["input_ids"])),
            "same_mask": bool(np.array_equal(a["attention_mask"], b["attention_mask"])),
            "single_ids": list(single["input_ids"]),
            "decode": hf.decode(b["input_ids"][0], skip_special_tokens=True),
            "core_decode": core.decode(a["input_ids"][0]),
            "tokenize": hf.tokenize(texts[0]),
        }
        if "fractions" in a:
            res["same_fractions"] = bool(np.allclose(a["fractions"], b["fractions"]))
            res["fractions_dtype"] = str(b["fractions"].dtype)
            pt = hf(texts, padding=True, return_tensors="pt")
            res["pt_fractions_dtype"] = str(pt["fractions"].dtype)
            from transformers import DataCollatorWithPadding
            feats = [hf(t) for t in texts]
            collated = DataCollatorWithPadding(hf)(feats)
            res["collated_same_ids"] = collated["input_ids"].tolist() == a["input_ids"].tolist()
            res["collated_same_fractions"] = bool(np.allclose(collated["fractions"].numpy(), a["fractions"]))
            trunc = hf(texts, padding=True, truncation=True, max_length=4, return_tensors="np")
            core_trunc = core(texts, truncation=True, max_length=4)
            res["truncated_same"] = bool(
                np.array_equal(trunc["input_ids"], core_trunc["input_ids"])
                and np.allclose(trunc["fractions"], core_trunc["fractions"])
            )
        hf.save_pretrained(path + "-resaved")
        again = load_tokenizer(path + "-resaved")
        res["resaved_same_ids"] = bool(np.array_equal(again(texts)["input_ids"], a["input_ids"]))
        res["to_hf_same_ids"] = bool(
            np.array_equal(core.to_hf()(texts, padding=True, return_tensors="np")["input_ids"], a["input_ids"])
        )
        out[name] = res
    print(json.dumps(out))
    """
)


@pytest.fixture(scope="module")
def saved_dirs(tmp_path_factory):
    root = tmp_path_factory.mktemp("hf")
    tokenizers = {
        "smiles": get_tokenizer("smiles"),
        "selfies": get_tokenizer("selfies"),
        "composition": get_tokenizer("composition"),
        "repeat": get_tokenizer("composition", mode="repeat"),
    }
    dirs = {}
    for name, tok in tokenizers.items():
        tok.save_pretrained(root / name)
        dirs[name] = str(root / name)
    return dirs


def _run(code: str, *args: str) -> str:
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


@pytest.mark.parametrize("order", ["chemtl-first", "transformers-first"])
def test_auto_tokenizer_loads_chemtl_classes_with_the_same_ids(saved_dirs, order):
    out = json.loads(_run(CHECK, order, json.dumps(saved_dirs), json.dumps(TEXTS)).strip().splitlines()[-1])
    expected_class = {
        "smiles": "SmilesTokenizerFast",
        "selfies": "SelfiesTokenizerFast",
        "composition": "CompositionTokenizerFast",
        "repeat": "CompositionTokenizerFast",
    }
    for name, res in out.items():
        assert res["class"] == expected_class[name]
        assert res["module"] == "chemtl._hf"
        for key in ("same_ids", "same_mask", "resaved_same_ids", "to_hf_same_ids"):
            assert res[key], (name, key)
        assert res["decode"] == res["core_decode"]
    assert out["smiles"]["decode"] == "C[C@@H](N)C(=O)O"
    assert out["smiles"]["tokenize"] == ["C", "[C@@H]", "(", "N", ")", "C", "(", "=", "O", ")", "O"]
    assert out["composition"]["single_ids"] == [2, 30, 12, 3]
    assert out["composition"]["tokenize"] == ["Fe", "O"]
    assert out["composition"]["decode"] == "Fe O"
    assert out["repeat"]["single_ids"] == [2, 30, 30, 12, 12, 12, 3]
    assert out["repeat"]["decode"] == "Fe2O3"
    for name in ("composition", "repeat"):
        res = out[name]
        assert res["same_fractions"] and res["truncated_same"]
        assert res["collated_same_ids"] and res["collated_same_fractions"]
        assert res["fractions_dtype"] == "float32" and res["pt_fractions_dtype"] == "torch.float32"


def test_import_chemtl_imports_neither_torch_nor_transformers():
    code = textwrap.dedent(
        """
        import sys
        import chemtl, chemtl.tokenizers
        from chemtl._hook import install_transformers_hook
        install_transformers_hook()
        assert "chemtl.tokenizers.base" not in sys.modules, "chemtl.tokenizers should load lazily"
        from chemtl.tokenizers import get_tokenizer
        get_tokenizer("smiles")(["CCO"])
        get_tokenizer("selfies")(["[C][O]"])
        get_tokenizer("composition")(["Fe2O3"])
        heavy = [m for m in ("torch", "transformers") if m in sys.modules]
        assert not heavy, heavy
        print("ok")
        """
    )
    assert _run(code).strip() == "ok"


def test_plain_import_transformers_does_not_trigger_registration():
    code = textwrap.dedent(
        """
        import sys
        from chemtl._hook import install_transformers_hook
        install_transformers_hook()
        import transformers
        assert "chemtl._hf" not in sys.modules and "torch" not in sys.modules
        from transformers import AutoTokenizer
        assert "chemtl._hf" in sys.modules
        from transformers.models.auto.tokenization_auto import REGISTERED_TOKENIZER_CLASSES
        assert "SmilesTokenizerFast" in REGISTERED_TOKENIZER_CLASSES
        import transformers.models.auto.tokenization_auto as m
        assert type(m.__loader__).__name__ != "_RegisteringLoader"
        print("ok")
        """
    )
    assert _run(code).strip() == "ok"
