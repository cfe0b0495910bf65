"""Named fine-tuning recipes: sets of flag defaults that ``chemtl finetune --recipe NAME`` and
``chemtl compare --recipe NAME`` start from (any flag given on the command line still wins).

``converge`` is what ``chemtl benchmark recipe`` chose on validation rows of matbench_expt_gap
fold 0 (each ingredient alone against today's defaults, the combination of those that lowered the
validation MAE; ``benchmarks/results/recipe.json``): the L1 loss (the metric is MAE), the sigmoid
output gate (a point mass at 0 eV), a cyclic learning rate (peak 5e-4, head 5e-3, a cycle every 2
epochs) over 20 epochs with the weights averaged at the cycle minima of the second half, and
training-batch augmentation (fraction jitter for compositions; randomised SMILES for molecules,
which that benchmark did not measure). Robust L1 and one-cycle also beat the defaults but lost to
L1 and cyclic + averaging in their slots; CrabNet's batch-size rule did not beat the defaults.

``molecule`` is what ``chemtl benchmark molecule_recipe`` chose on validation rows of Lipophilicity
(balanced scaffold split, seed 0; ``benchmarks/results/molecule_recipe.json``) for a SMILES model
with the RDKit-descriptor hybrid head, by the same per-slot rule fixed before its runs: one-cycle lr
(peak 5e-4, head 5e-3) over 20 epochs, the best validation epoch kept, and the L1 loss (validation
RMSE 0.7828 -> 0.7528, test 0.7087 -> 0.6822). Cyclic lr with averaging lost its slot to one-cycle;
randomised SMILES raised the validation RMSE, so no augmentation. One split and seed: indicative,
the molecules benchmark's ``--recipe molecule`` over three seeds is what decides.

``molecule-long`` is ``molecule`` over 30 epochs instead of 20, the one-cycle stretched with it: on
Lipophilicity (3,360 training rows) the best validation epoch of ``molecule`` was its last in 5 of 6
runs. The molecules benchmark runs it as one more variant and keeps, per dataset and split, the
variant with the lowest mean validation RMSE.
"""

from __future__ import annotations

from typing import Any

from chemtl.errors import ChemtlError

# recipe -> {argparse dest: default}; the dests are those of the finetune/compare flags
RECIPES: dict[str, dict[str, Any]] = {
    "converge": {
        "loss": "l1",
        "output_gate": True,
        "scheduler": "cyclic",
        "lr": 5e-4,
        "head_lr": 5e-3,
        "swa": True,
        "epochs": 20,
        "patience": 0,
        "augment": "auto",
    },
    "molecule": {
        "loss": "l1",
        "scheduler": "onecycle",
        "lr": 5e-4,
        "head_lr": 5e-3,
        "epochs": 20,
        "patience": 0,
        "augment": "none",
    },
}
RECIPES["molecule-long"] = {**RECIPES["molecule"], "epochs": 30}


def recipe_defaults(name: str, dests: set[str] | None = None) -> dict[str, Any]:
    """The flag defaults of recipe ``name`` (only the ``dests`` a verb has, when given)."""
    if name not in RECIPES:
        raise ChemtlError(f"unknown recipe {name!r}; choose one of {', '.join(RECIPES)}")
    values = RECIPES[name]
    return dict(values) if dests is None else {k: v for k, v in values.items() if k in dests}


def recipe_settings(name: str) -> tuple[dict[str, Any], str]:
    """Recipe ``name`` for code that builds configs itself (the benchmarks): its ``TrainConfig``
    field values (``epochs`` as ``max_epochs``, ``patience`` 0 as ``None``: no early stopping) and
    its ``DataConfig.augment``."""
    values = recipe_defaults(name)
    augment = values.pop("augment", "none")
    if "epochs" in values:
        values["max_epochs"] = values.pop("epochs")
    if "patience" in values:
        values["patience"] = values["patience"] or None
    return values, augment
