"""``generate``: sample compositions, SMILES or SELFIES from a causal model directory.

Every row is sampled from ``[CLS] [condition token] prefix`` with Hugging Face ``generate``
(``do_sample``, ``temperature``, ``top_k``, ``top_p``), batch ``b`` seeded from
``derive_seed(seed, "generate", b)``, so the same seed gives the same samples. Compositions are
decoded under ``chemtl.models.causal.CompositionGrammar``, so every one is a whole formula; each is
still checked with the chem layer. SMILES are checked with RDKit (invalid ones are kept, with
``valid`` False); SELFIES are decoded with the selfies library and checked the same way. The
special tokens ([PAD], [UNK], [CLS], [MASK]) and condition tokens are never sampled, and EOS not
as the first new token, so no sample is empty.

Columns of the result: ``sample`` (0..n-1), ``text`` (the decoded string, without the condition
token), ``valid``, ``canonical`` (the reduced formula or RDKit's canonical SMILES; "" if invalid)
and ``condition`` (the token used) when a condition was given.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any

from chemtl.errors import ChemtlError

_PREFIX_TOKEN = re.compile(r"[A-Z][a-z]*|[0-9]+|.")
_SELFIES = re.compile(r"(\[[^\]]+\])+")  # bracketed tokens only: a SELFIES string, not SMILES


class GenerationError(ChemtlError, ValueError):
    """A generation option the model cannot take (temperature, top-p, prefix, ...)."""


@dataclass(frozen=True)
class SamplingOptions:
    n: int
    temperature: float = 1.0
    top_k: int | None = None
    top_p: float | None = None
    seed: int = 0
    batch_size: int = 256
    max_elements: int = 8

    def __post_init__(self) -> None:
        if not isinstance(self.n, int) or isinstance(self.n, bool) or self.n < 1:
            raise GenerationError(f"n must be an integer >= 1, got {self.n!r}")
        if not isinstance(self.temperature, int | float) or not self.temperature > 0:
            raise GenerationError(f"temperature must be > 0, got {self.temperature!r}")
        if self.top_k is not None and (not isinstance(self.top_k, int) or self.top_k < 1):
            raise GenerationError(f"top-k must be an integer >= 1, got {self.top_k!r}")
        if self.top_p is not None and not 0 < self.top_p <= 1:
            raise GenerationError(f"top-p must be in (0, 1], got {self.top_p!r}")
        if self.batch_size < 1:
            raise GenerationError(f"batch size must be >= 1, got {self.batch_size!r}")
        if not 1 <= self.max_elements <= 20:
            raise GenerationError(f"max elements must be from 1 to 20, got {self.max_elements!r}")


def prefix_tokens(kind: str, tokenizer: Any, prefix: str) -> list[str]:
    """The tokens of ``--prefix``: element and amount tokens for compositions ("Li", "Li2O"), the
    tokenizer's tokens for SMILES/SELFIES; an unknown one is a one-line error naming it."""
    from chemtl.tokenizers.formula_text import AMOUNT_TOKENS, grammar_problem

    if kind != "composition":
        tokens = tokenizer.tokenize(prefix)
        vocab = tokenizer.get_vocab()
        bad = [t for t in tokens if t not in vocab or t in getattr(tokenizer, "all_special_tokens", ())]
        if bad:
            raise GenerationError(
                f"prefix {prefix!r}: token {bad[0]!r} is not in the model's {kind} vocabulary"
            )
        return tokens
    tokens = _PREFIX_TOKEN.findall(prefix.strip())
    vocab = tokenizer.get_vocab()
    for t in tokens:
        if t not in vocab or (t not in AMOUNT_TOKENS and not t[0].isupper()):
            what = "amount" if t.isdigit() else "element"
            raise GenerationError(f"prefix {prefix!r}: unknown {what} {t!r}")
    whole = tokens if len(tokens) % 2 == 0 else tokens + ["1"]
    problem = grammar_problem(whole) if tokens else None
    if problem is not None:
        raise GenerationError(f"prefix {prefix!r} is not the start of a formula: {problem}")
    return tokens


def _check_sample(kind: str, text: str) -> tuple[bool, str]:
    import warnings

    from chemtl.errors import InvalidFormulaError, InvalidSelfiesError, InvalidSmilesError

    with warnings.catch_warnings():  # pymatgen warns about elements without electronegativity
        warnings.simplefilter("ignore")
        return _check(kind, text, (InvalidFormulaError, InvalidSmilesError, InvalidSelfiesError))


def _check(kind: str, text: str, errors: tuple) -> tuple[bool, str]:
    try:
        if kind == "composition":
            from chemtl.chem.composition import parse_composition

            return True, parse_composition(text).reduced_formula
        if kind == "smiles":
            from chemtl.chem.smiles import canonicalize_smiles

            return True, canonicalize_smiles(text)
        from chemtl.chem.selfies import selfies_to_smiles

        return True, selfies_to_smiles(text, canonical=True)
    except errors:
        return False, ""


def generate(
    model_dir: str | os.PathLike,
    n: int,
    *,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    prefix: str | None = None,
    condition: dict[str, float] | None = None,
    seed: int = 0,
    batch_size: int = 256,
    max_elements: int = 8,
):
    """``n`` samples of the causal model ``model_dir`` (a shipped name or a directory) as a
    DataFrame (see the module docstring). ``condition``: at most one ``{name: value}``."""
    import pandas as pd
    import torch

    from chemtl.data.conditions import condition_token
    from chemtl.models.causal import CompositionGrammar, GPT2LMHeadModel
    from chemtl.pipelines.modeldir import load_model_dir, quiet_transformers
    from chemtl.seeds import derive_seed

    options = SamplingOptions(n, temperature, top_k, top_p, seed, batch_size, max_elements)
    loaded = load_model_dir(model_dir, causal=True)
    kind, tok, meta = loaded.kind, loaded.tokenizer, loaded.meta
    condition = dict(condition or {})
    if len(condition) > 1:
        raise GenerationError(f"one condition at a time, got {', '.join(condition)}")
    cond_token = None
    for name, value in condition.items():
        cond_token = condition_token(meta.get("conditions") or {}, name, float(value))
    prompt = [tok.cls_token_id]
    if cond_token is not None:
        prompt.append(tok.convert_tokens_to_ids(cond_token))
    prompt += tok.convert_tokens_to_ids(prefix_tokens(kind, tok, prefix)) if prefix else []
    if kind == "composition":
        n_prefix_el = sum(1 for i in prompt if i in tok.element_ids)
        if n_prefix_el > max_elements:
            raise GenerationError(f"prefix {prefix!r} has more than max_elements={max_elements} elements")
        max_new = 2 * max_elements + 1
        processors = [CompositionGrammar(tok, max_elements)]
    else:
        max_new = int(meta.get("max_length") or loaded.config.n_positions) - len(prompt)
        processors = []
    max_new = min(max_new, loaded.config.n_positions - len(prompt))
    # never sampled: the structural specials but EOS, [UNK], [MASK] and the condition tokens
    # (a condition goes only in the prompt); EOS not as the first new token (no empty samples)
    specials = [tok.pad_token_id, tok.unk_token_id, tok.cls_token_id, tok.mask_token_id]
    conds = [t for c in (meta.get("conditions") or {}).values() for t in c["tokens"]]
    suppress = specials + [int(i) for i in tok.convert_tokens_to_ids(conds)]
    if max_new < 1:
        raise GenerationError(f"prefix {prefix!r} leaves no room to generate")

    quiet_transformers()
    from transformers import LogitsProcessorList

    model = GPT2LMHeadModel.from_pretrained(loaded.path, use_safetensors=True).eval()
    texts: list[str] = []
    with torch.no_grad():
        for b, start in enumerate(range(0, n, options.batch_size)):
            rows = min(options.batch_size, n - start)
            torch.manual_seed(derive_seed(seed, "generate", b))
            ids = torch.tensor([prompt] * rows, dtype=torch.long)
            out = model.generate(
                input_ids=ids,
                attention_mask=torch.ones_like(ids),
                do_sample=True,
                temperature=float(temperature),
                top_k=top_k or 0,
                top_p=1.0 if top_p is None else float(top_p),
                max_new_tokens=max_new,
                min_new_tokens=1,
                suppress_tokens=suppress,
                logits_processor=LogitsProcessorList(processors),
                bos_token_id=tok.cls_token_id,
                eos_token_id=tok.sep_token_id,
                pad_token_id=tok.pad_token_id,
            )
            for row in out.tolist():
                body = row[1 + (cond_token is not None) :]
                if tok.sep_token_id in body:
                    body = body[: body.index(tok.sep_token_id)]
                texts.append(tok.decode([i for i in body if i != tok.pad_token_id]))
    checked = [_check_sample(kind, t) for t in texts]
    frame = pd.DataFrame(
        {
            "sample": range(n),
            "text": texts,
            "valid": [v for v, _ in checked],
            "canonical": [c for _, c in checked],
        }
    )
    if cond_token is not None:
        frame["condition"] = cond_token
    return frame


def sample_metrics(model_dir: str | os.PathLike, frame) -> dict[str, Any]:
    """The metrics of ``generate``'s samples (``chemtl generate --metrics``): validity, uniqueness,
    diversity (and SMACT for compositions, the MOSES set without reference sets for molecules),
    with novelty against the model's own training corpus (``train_config.json`` ``corpus``) when
    it can be read: compositions by reduced formula, SMILES as RDKit canonical strings (the MOSES
    train file as written: it is canonical), SELFIES through their decoded SMILES. ``novelty_note``
    says what novelty was measured against, or why not."""
    import json
    from pathlib import Path

    from chemtl.evaluate import generation
    from chemtl.pipelines.modeldir import load_model_dir

    loaded = load_model_dir(model_dir, causal=True)
    kind = loaded.kind
    config_file = Path(loaded.path) / "train_config.json"
    corpus = json.loads(config_file.read_text()).get("corpus") if config_file.is_file() else None
    rows: list[str] | None = None
    note = "no training corpus recorded (train_config.json): novelty not measured"
    if corpus:
        from chemtl.pipelines.corpus import open_corpus

        try:
            opened = open_corpus(corpus, kind="composition" if kind == "composition" else None)
            rows = list(opened.open_rows())
            note = f"novelty against the {len(rows)} rows of the training corpus {corpus!r}"
        except (ChemtlError, OSError) as exc:
            note = f"training corpus {corpus!r} not readable here ({exc}): novelty not measured"
    if kind == "composition":
        keys = set(generation.composition_keys(rows)) if rows is not None else None
        metrics = generation.composition_metrics(
            frame["text"].tolist(), train=None, labelled=None, train_keys=keys
        )
    else:
        smiles = frame["canonical"].tolist() if kind == "selfies" else frame["text"].tolist()
        if rows is not None and kind == "selfies" and rows and _SELFIES.fullmatch(rows[0]):
            rows, note = None, f"training corpus {corpus!r} is not SMILES: novelty not measured"
        metrics = generation.molecule_metrics(
            smiles, train=rows, test=None, train_canonical=corpus == "moses", fcd=False
        )
    metrics["novelty_note"] = note
    return metrics


__all__ = ["GenerationError", "SamplingOptions", "generate", "prefix_tokens", "sample_metrics"]
