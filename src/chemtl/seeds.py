"""Stable derived seeds: ``derive_seed(seed, *parts)``, a 32-bit seed that is a pure function of
``seed`` and ``parts`` (the same in every process and on every machine).

It sits below every layer (no torch, no numpy), so data (task subsampling), transfer (episodes)
and training (per-batch reseeding, ``chemtl.training.seeding``) derive seeds the same way.
"""

from __future__ import annotations

import hashlib


def derive_seed(seed: int, *parts: object) -> int:
    """A 32-bit seed that is a pure function of ``seed`` and ``parts`` (stable across processes)."""
    digest = hashlib.sha256(repr((int(seed), *parts)).encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "little")
