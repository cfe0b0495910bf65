"""Metrics, comparisons and reports over model predictions.

Submodules load on first use (``chemtl.evaluate.compare`` pulls in the training stack):

    CompareConfig, CompareResult, format_table    (chemtl.evaluate.compare; the function itself:
                                                  ``from chemtl.evaluate.compare import compare``,
                                                  as the name ``compare`` is the submodule)
    pareto_front, overfit_epoch, recommend        plain functions (chemtl.evaluate.frontier)
    write_report                                  figures + report.html (chemtl.evaluate.report)
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "CompareConfig": "chemtl.evaluate.compare",
    "CompareResult": "chemtl.evaluate.compare",
    "CompareError": "chemtl.evaluate.compare",
    "format_table": "chemtl.evaluate.compare",
    "pareto_front": "chemtl.evaluate.frontier",
    "overfit_epoch": "chemtl.evaluate.frontier",
    "recommend": "chemtl.evaluate.frontier",
    "write_report": "chemtl.evaluate.report",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module = importlib.import_module(_LAZY[name])
        value = getattr(module, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
