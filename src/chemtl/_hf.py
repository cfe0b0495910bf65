"""chemtl's tokenizers as ``transformers`` tokenizers, registered with ``AutoTokenizer``.

Imports transformers: load this module only when transformers is wanted anyway (``to_hf()``, or the
hook in ``chemtl._hook`` once ``AutoTokenizer`` is imported).

The wrappers read the files ``save_pretrained`` writes (``tokenizer_config.json`` names the class in
``tokenizer_class``), so ``AutoTokenizer.from_pretrained(dir)`` works with no ``trust_remote_code``
and gives the same ``input_ids`` as chemtl's own tokenizer. Differences from chemtl's tokenizers:
they follow transformers' defaults (no padding unless asked, lists unless ``return_tensors``, a
warning rather than an error for a sequence longer than ``model_max_length``), and are slower.
Like chemtl's, ``decode(..., skip_special_tokens=True)`` drops [PAD], [CLS] and [SEP] but keeps
[UNK] and [MASK].

``CompositionTokenizerFast`` parses each formula with ``chemtl.chem.composition`` into element
words ("Fe O", or "Fe Fe O O O" in repeat mode) for the word-level backend, and adds a
``fractions`` entry aligned with ``input_ids`` (0.0 on special and pad tokens); its ``pad`` (used
by data collators) pads ``fractions`` too.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from transformers import BatchEncoding, PreTrainedTokenizerFast
from transformers.utils import PaddingStrategy

from chemtl.errors import TokenizationError
from chemtl.tokenizers.base import SPECIAL_TOKENS, STRUCTURAL_IDS, BaseTokenizer

_FIRST_ELEMENT_ID = len(SPECIAL_TOKENS)


class _ChemtlTokenizerFast(PreTrainedTokenizerFast):
    """Shared behaviour: chemtl's decode rule (keep [UNK] and [MASK])."""

    def _decode(
        self, token_ids, skip_special_tokens: bool = False, clean_up_tokenization_spaces=None, **kwargs
    ):
        if isinstance(token_ids, int):
            token_ids = [token_ids]
        if skip_special_tokens:
            token_ids = [i for i in token_ids if i not in STRUCTURAL_IDS]
        return self._tokenizer.decode(list(token_ids), skip_special_tokens=False)


class SmilesTokenizerFast(_ChemtlTokenizerFast):
    """SMILES tokenizer (Schwaller regex, word-level vocabulary) for transformers."""


class SelfiesTokenizerFast(_ChemtlTokenizerFast):
    """SELFIES tokenizer (one token per symbol, word-level vocabulary) for transformers."""


class CompositionTokenizerFast(_ChemtlTokenizerFast):
    """Composition tokenizer for transformers: formulas in, ``input_ids`` plus ``fractions`` out."""

    model_input_names = ["input_ids", "attention_mask", "fractions"]

    @property
    def chemtl_tokenizer(self):
        core = self.__dict__.get("_chemtl_core")
        if core is None:
            from chemtl.tokenizers.composition import CompositionTokenizer

            core = CompositionTokenizer(
                self.init_kwargs.get("chemtl_mode", "fraction"), model_max_length=self.model_max_length
            )
            self.__dict__["_chemtl_core"] = core
        return core

    def _decode(
        self, token_ids, skip_special_tokens: bool = False, clean_up_tokenization_spaces=None, **kwargs
    ):
        """Like chemtl's: "Fe O" (fraction mode), "Fe2O3" (repeat mode), or with ``fractions=``
        a formula with those atomic fractions."""
        if isinstance(token_ids, int):
            token_ids = [token_ids]
        return self.chemtl_tokenizer.decode(
            list(token_ids), fractions=kwargs.get("fractions"), skip_special_tokens=skip_special_tokens
        )

    def tokenize(
        self, text: str, pair: str | None = None, add_special_tokens: bool = False, **kwargs
    ) -> list[str]:
        tokens = self.chemtl_tokenizer.tokenize(text)
        return ["[CLS]", *tokens, "[SEP]"] if add_special_tokens else tokens

    def _encode_plus(
        self, text, text_pair=None, *args, return_tensors=None, is_split_into_words=False, **kwargs
    ):
        if text_pair is not None or is_split_into_words or kwargs.get("return_overflowing_tokens"):
            raise TokenizationError(
                "composition tokenizers take formulas: no pairs, pre-split words or overflowing tokens"
            )
        batched = isinstance(text, list | tuple)
        formulas = list(text) if batched else [text]
        core = self.chemtl_tokenizer
        words, fractions = [], []
        for i, formula in enumerate(formulas):
            if not isinstance(formula, str):
                raise TokenizationError(f"string {i} is {formula!r}, expected a formula string")
            tokens, shares = core.elements(formula)
            words.append(" ".join(tokens))
            fractions.append(shares)
        encoded = super()._encode_plus(words, None, *args, return_tensors=None, **kwargs)
        rows = encoded["input_ids"]
        aligned = []
        for ids, shares in zip(rows, fractions):
            n = sum(1 for i in ids if i >= _FIRST_ELEMENT_ID)
            kept = shares[:n] if self.truncation_side == "right" else shares[len(shares) - n :]
            values = iter(kept)
            aligned.append([next(values) if i >= _FIRST_ELEMENT_ID else 0.0 for i in ids])
        data = dict(encoded)
        data["fractions"] = aligned
        if not batched:
            data = {k: v[0] for k, v in data.items()}
        return _to_batch(data, return_tensors, batched)

    def _pad(
        self,
        encoded_inputs,
        max_length=None,
        padding_strategy=PaddingStrategy.DO_NOT_PAD,
        pad_to_multiple_of=None,
        padding_side=None,
        return_attention_mask=None,
    ):
        fractions = encoded_inputs.get("fractions")
        before = len(encoded_inputs["input_ids"])
        out = super()._pad(
            encoded_inputs,
            max_length,
            padding_strategy,
            pad_to_multiple_of,
            padding_side,
            return_attention_mask,
        )
        if fractions is not None:
            fractions = list(fractions)
            extra = len(out["input_ids"]) - before
            side = padding_side or self.padding_side
            out["fractions"] = fractions + [0.0] * extra if side == "right" else [0.0] * extra + fractions
        return out


class FormulaTextTokenizerFast(_ChemtlTokenizerFast):
    """The causal models' composition tokenizer for transformers: ``Fe2O3`` -> Fe 2 O 3 (words)."""

    @property
    def chemtl_tokenizer(self):
        core = self.__dict__.get("_chemtl_core")
        if core is None:
            from chemtl.tokenizers.formula_text import FormulaTextTokenizer, formula_text_vocab

            vocab = sorted(self.get_vocab().items(), key=lambda kv: kv[1])
            conditions = [t for t, _ in vocab[len(formula_text_vocab()) :]]
            core = FormulaTextTokenizer(conditions, model_max_length=self.model_max_length)
            self.__dict__["_chemtl_core"] = core
        return core

    def _decode(
        self, token_ids, skip_special_tokens: bool = False, clean_up_tokenization_spaces=None, **kwargs
    ):
        if isinstance(token_ids, int):
            token_ids = [token_ids]
        return self.chemtl_tokenizer.decode(list(token_ids), skip_special_tokens=skip_special_tokens)

    def tokenize(
        self, text: str, pair: str | None = None, add_special_tokens: bool = False, **kwargs
    ) -> list[str]:
        tokens = self.chemtl_tokenizer.tokenize(text)
        return ["[CLS]", *tokens, "[SEP]"] if add_special_tokens else tokens

    def _encode_plus(
        self, text, text_pair=None, *args, return_tensors=None, is_split_into_words=False, **kwargs
    ):
        if text_pair is not None or is_split_into_words:
            raise TokenizationError("formula-text tokenizers take formulas: no pairs or pre-split words")
        batched = isinstance(text, list | tuple)
        formulas = list(text) if batched else [text]
        words = [" ".join(self.chemtl_tokenizer.tokenize(f)) for f in formulas]
        return super()._encode_plus(
            words if batched else words[0], None, *args, return_tensors=return_tensors, **kwargs
        )


def _to_batch(data: dict[str, Any], return_tensors, batched: bool) -> BatchEncoding:
    fractions = data.pop("fractions")
    batch = BatchEncoding(
        data, tensor_type=return_tensors, prepend_batch_axis=not batched and bool(return_tensors)
    )
    if return_tensors is None:
        batch["fractions"] = fractions
        return batch
    array = np.asarray([fractions] if not batched else fractions, dtype=np.float32)
    if str(getattr(return_tensors, "value", return_tensors)) == "pt":
        import torch

        batch["fractions"] = torch.from_numpy(array)
    else:
        batch["fractions"] = array
    return batch


HF_CLASSES = {
    cls.__name__: cls
    for cls in (CompositionTokenizerFast, SmilesTokenizerFast, SelfiesTokenizerFast, FormulaTextTokenizerFast)
}


def hf_tokenizer_from_core(core: BaseTokenizer) -> PreTrainedTokenizerFast:
    """The transformers wrapper of a chemtl tokenizer (same vocabulary, same ids)."""
    config = {k: v for k, v in core.config().items() if k != "tokenizer_class"}
    return HF_CLASSES[core.hf_class_name](tokenizer_object=core.backend, **config)


def register_auto_classes() -> None:
    """Register the wrappers with ``AutoTokenizer``, keyed on chemtl's model config. Idempotent."""
    from transformers.models.auto.tokenization_auto import AutoTokenizer

    from chemtl.models.configuration import ChemtlConfig, register_auto_config

    register_auto_config()
    # One config key can map to one default class; tokenizer_config.json names the exact class,
    # which is how all three are found. Registering each puts its name in transformers' registry.
    for cls in (
        CompositionTokenizerFast,
        SelfiesTokenizerFast,
        SmilesTokenizerFast,
        FormulaTextTokenizerFast,
    ):
        AutoTokenizer.register(ChemtlConfig, tokenizer_class=cls, exist_ok=True)


from chemtl._hook import run_deferred  # noqa: E402

run_deferred()
