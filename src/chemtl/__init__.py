"""chemtl: pretrained transformers and transfer learning for compositions and molecules.

Importing chemtl is cheap (no torch, no transformers): heavy modules load on first use. It also
installs a hook (``chemtl._hook``) that registers chemtl's config, tokenizers and models with
transformers' Auto classes when those are imported, so ``AutoTokenizer.from_pretrained(dir)`` and
``AutoModel.from_pretrained(dir)`` load chemtl directories without ``trust_remote_code``.
"""

from __future__ import annotations

from chemtl._hook import install_transformers_hook
from chemtl.pretrained import load_model, load_tokenizer, shipped_models
from chemtl.tokenizers import get_tokenizer

__version__ = "0.1.0"
__all__ = ["get_tokenizer", "load_model", "load_tokenizer", "shipped_models", "__version__"]

install_transformers_hook()
