"""Named datasets with provenance, user csv files, summaries and leakage-checked splits.

``load_dataset(name_or_path, ...)`` is the entry point (see ``chemtl.data.dataset``); the registry
of named datasets is ``chemtl.data.registry``; splits are plain functions in ``chemtl.data.splits``.
"""

from __future__ import annotations

from chemtl.data.dataset import Dataset, StreamingDataset, export_dataset, iter_moses, load_dataset
from chemtl.data.registry import (
    DatasetSpec,
    dataset_table,
    families,
    family_members,
    get_spec,
    list_datasets,
)

__all__ = [
    "Dataset",
    "DatasetSpec",
    "StreamingDataset",
    "dataset_table",
    "export_dataset",
    "families",
    "family_members",
    "get_spec",
    "iter_moses",
    "list_datasets",
    "load_dataset",
]
