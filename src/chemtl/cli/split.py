"""`chemtl split`: make a leakage-checked split of a dataset and save it as JSON."""

from __future__ import annotations

from chemtl.cli._common import add_data_args, add_fold_arg, add_verb

# The same names as chemtl.data.splits.SPLIT_METHODS (a test keeps them equal); listed here so
# that `chemtl --help` does not import numpy.
METHODS = (
    "random",
    "kfold",
    "matbench",
    "scaffold",
    "grouped",
    "composition_grouped",
    "leave_element_out",
    "leave_chemical_system_out",
    "domain",
    "cluster",
    "shipped",
)


def register(subparsers) -> None:
    parser = add_verb(
        subparsers,
        "split",
        "make a train/val/test split (random, matbench, scaffold, grouped, leave-out, domain, cluster)",
        """
        Split a dataset and write the row indices as JSON (with the sha256 of the inputs, so the
        split cannot be applied to other data by mistake). Every split reports leakage, the
        same compound (reduced formula / canonical SMILES) on both sides, and refuses it unless
        --allow-leakage is given. The matbench protocol (KFold(5, shuffle=True,
        random_state=18012019) in file order) reproduces the public leaderboard, so it reports
        leakage without refusing it.
        """,
        """
        chemtl split --data matbench_expt_gap --method matbench --out folds.json
        chemtl split --data matbench_expt_gap --method matbench --fold 0 --out fold0.json
        chemtl split --data esol --method scaffold --frac 0.8,0.1,0.1 --out esol_scaffold.json
        chemtl split --data matbench_expt_gap --method composition_grouped --seed 1 --out grouped.json
        chemtl split --data matbench_expt_gap --method leave_element_out --elements Li --out no_li.json
        chemtl split --data matbench_expt_gap --method leave_chemical_system_out --systems Fe-O --out no_feo.json
        chemtl split --data matbench_expt_gap --method domain --predicate oxide --out oxides.json
        chemtl split --data lipophilicity --method cluster --n-clusters 20 --out clusters.json
        """,
    )
    add_data_args(parser)
    parser.add_argument("--method", required=True, choices=METHODS)
    parser.add_argument("--out", metavar="FILE", help="write the split here (JSON)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--frac", default="0.8,0.1,0.1", metavar="TRAIN,VAL,TEST", help="side fractions")
    parser.add_argument("--folds", type=int, default=5, help="k for --method kfold")
    add_fold_arg(parser)
    parser.add_argument("--elements", metavar="EL[,EL]", help="held-out elements (leave_element_out)")
    parser.add_argument("--systems", metavar="SYS[,SYS]", help="held-out chemical systems, e.g. Fe-O")
    parser.add_argument("--predicate", help="domain predicate for --method domain, e.g. oxide or halide")
    parser.add_argument("--n-clusters", type=int, default=20, help="k-means clusters (cluster)")
    parser.add_argument("--val-frac", type=float, default=0.0, help="validation share (leave-out, domain)")
    parser.add_argument("--balanced", action="store_true", help="chemprop's balanced scaffold split")
    parser.add_argument("--allow-leakage", action="store_true", help="keep a split that leaks")
    parser.set_defaults(func=run)


def _fractions(text: str) -> tuple[float, ...]:
    from chemtl.errors import ChemtlError

    try:
        return tuple(float(x) for x in text.split(","))
    except ValueError:
        raise ChemtlError(f"--frac {text!r}: expected three numbers like 0.8,0.1,0.1") from None


def split_params(args) -> dict:
    """The keyword arguments of ``make_split`` for the chosen method."""
    from chemtl.errors import ChemtlError

    def need(flag: str, value):
        if not value:
            raise ChemtlError(f"--method {args.method} needs {flag}")
        return value

    m = args.method
    if m in ("random", "grouped", "composition_grouped"):
        return {"frac": _fractions(args.frac), "seed": args.seed}
    if m == "scaffold":
        return {"frac": _fractions(args.frac), "seed": args.seed, "balanced": args.balanced}
    if m == "kfold":
        return {"n_splits": args.folds, "seed": args.seed}
    if m == "leave_element_out":
        return {
            "elements": need("--elements", args.elements).split(","),
            "val_frac": args.val_frac,
            "seed": args.seed,
        }
    if m == "leave_chemical_system_out":
        return {
            "systems": need("--systems", args.systems).split(","),
            "val_frac": args.val_frac,
            "seed": args.seed,
        }
    if m == "domain":
        return {
            "predicate": need("--predicate", args.predicate),
            "val_frac": args.val_frac,
            "seed": args.seed,
        }
    if m == "cluster":
        return {"n_clusters": args.n_clusters, "frac": _fractions(args.frac), "seed": args.seed}
    return {}


def run(args) -> int:
    from chemtl.cli._common import load_data
    from chemtl.data.splits import Split, make_split, save_split
    from chemtl.errors import ChemtlError

    ds = load_data(args)
    split = make_split(
        ds, args.method, allow_leakage=True if args.allow_leakage else None, **split_params(args)
    )
    if args.fold is not None:
        if isinstance(split, Split):
            raise ChemtlError(
                f"--fold {args.fold} needs a k-fold split (matbench, kfold), not {args.method!r}"
            )
        if not 0 <= args.fold < len(split):
            raise ChemtlError(
                f"fold {args.fold} does not exist: split {args.method!r} has folds 0 to {len(split) - 1}"
            )
        split = split[args.fold]
    for s in [split] if isinstance(split, Split) else split:
        print(s.describe())
    if args.out:
        path = save_split(split, args.out, inputs=ds.inputs)
        print(f"wrote {path}")
    return 0
