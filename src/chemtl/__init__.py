"""chemtl: pretrained transformers and transfer learning for compositions and molecules.

Importing chemtl is cheap (no torch, no transformers): heavy modules load on first use.
"""

from __future__ import annotations

__version__ = "0.1.0"
