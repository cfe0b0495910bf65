"""`chemtl fewshot {predict,train,evaluate}`: learn from a few labelled examples.

``predict`` labels a query file from a small labelled support file (``chemtl.pipelines.fewshot.
fewshot_predict``); ``train`` meta-trains a prototypical network on a task collection
(``fewshot_train``); ``evaluate`` measures methods on N-way K-shot episodes of a collection's
meta-test side (``fewshot_evaluate``) and writes every episode and a summary with 95% confidence
intervals.
"""

from __future__ import annotations

import argparse
import sys
import textwrap

from chemtl.cli._common import (
    KIND_CHOICES,
    add_model_arg,
    add_progress_arg,
    add_target_arg,
    add_verb,
    write_table,
)

PREDICT_EXAMPLES = """
chemtl datasets export matbench_expt_is_metal --limit 12 --out support.csv
chemtl datasets export matbench_expt_gap --limit 400 --out query.csv
chemtl fewshot predict --model composition-small --support support.csv --query query.csv \\
    --target target --out predictions.csv
chemtl fewshot predict --model composition-small --support support.csv --query query.csv \\
    --target target --method linear_probe --out predictions.csv
chemtl datasets export matbench_steels --limit 10 --out steels10.csv
chemtl fewshot predict --model composition-small --support steels10.csv --query query.csv \\
    --target target --out strengths.csv
"""
TRAIN_EXAMPLES = """
chemtl fewshot train --model composition-small --tasks composition_tasks --ways 2 --shots 5 \\
    --queries 10 --episodes 200 --out runs/proto-comp
chemtl fewshot train --model smiles-small --tasks moleculeace_tasks --ways 2 --shots 5 \\
    --queries 10 --episodes 200 --train-encoder --out runs/proto-mol
"""
EVALUATE_EXAMPLES = """
chemtl fewshot evaluate --model smiles-small --tasks moleculeace_tasks --shots 1,5,10,16 \\
    --episodes 200 --support random --seed 0 --out eval-mol
chemtl fewshot evaluate --model composition-small --tasks composition_tasks --shots 1,5 \\
    --episodes 100 --support kmeans --methods protonet,knn --out eval-comp-kmeans
"""


def _sub(actions, name: str, summary: str, description: str, examples: str) -> argparse.ArgumentParser:
    return actions.add_parser(
        name,
        help=summary,
        description=textwrap.dedent(description).strip(),
        epilog="examples:\n" + textwrap.indent(textwrap.dedent(examples).strip(), "  "),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def _add_collection_args(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("tasks")
    group.add_argument(
        "--tasks",
        required=True,
        metavar="NAME|DIR",
        help="a task collection (moleculeace_tasks, composition_tasks, composition_regression_tasks; "
        "see `chemtl datasets list`), a folder of csv files (one task each) or one csv with --task-col",
    )
    group.add_argument(
        "--task-col", metavar="COL", help="one csv holding every task: the column naming the task"
    )
    group.add_argument("--input-col", metavar="COL", help="column with formulas/SMILES/SELFIES (files)")
    add_target_arg(group, "column with the labels (files; default target)")
    group.add_argument(
        "--kind", choices=KIND_CHOICES, help="representation; detected from the values if omitted"
    )
    group.add_argument(
        "--task", choices=("classification", "regression"), help="the tasks' type (default: from the labels)"
    )
    group.add_argument("--max-rows", type=int, metavar="N", help="subsample each task to N rows (seeded)")


def register(subparsers) -> None:
    parser = add_verb(
        subparsers,
        "fewshot",
        "few-shot learning: label new inputs from a handful of examples, meta-train, evaluate on episodes",
        """
        predict: fit a few-shot method on a small labelled --support file and predict every row of
        --query; classification when the --target column holds class labels (text or integers),
        regression when it holds other numbers (--task overrides). The output keeps every column
        of the query file and adds prediction and prob_<class> per class (classification) or std,
        the predictive standard deviation (regression). Default method: protonet
        (classification), gp (regression).
        train: meta-train a prototypical network on the meta-train tasks of a collection, N-way
        K-shot episodes with Q queries per class; a projection head on the frozen encoder, or the
        whole encoder with --train-encoder. The result is a model directory for predict and
        evaluate.
        evaluate: every --methods on the same episodes of the collection's meta-test side, at
        each K of --shots; writes episodes.csv (every episode) and summary.json/summary.csv (the
        mean over tasks of each task's mean, with 95% confidence intervals over episodes).
        Run `chemtl fewshot ACTION --help` for each action's flags.
        """,
        PREDICT_EXAMPLES + TRAIN_EXAMPLES + EVALUATE_EXAMPLES,
    )
    actions = parser.add_subparsers(title="actions", metavar="ACTION", parser_class=type(parser))

    p = _sub(
        actions,
        "predict",
        "label a query file from a few labelled examples",
        """
        Fit a few-shot method on the labelled --support rows and predict every --query row.
        Classification when the --target column holds class labels (text or integers, any
        number of classes), regression when it holds other numbers; --task overrides. Writes a
        csv with every column of --query (ids included), then prediction, and prob_<class> per
        class (classification) or std, the predictive standard deviation (regression; empty
        for a method without one). Methods: protonet (default for classification),
        linear_probe, knn and rf (on Morgan bits or Magpie statistics), gp (default for
        regression).
        """,
        PREDICT_EXAMPLES,
    )
    add_model_arg(p, "the encoder (a pretrained model or the --out of `chemtl fewshot train`)")
    p.add_argument("--support", required=True, metavar="FILE", help="csv with the labelled examples")
    p.add_argument("--query", required=True, metavar="FILE", help="csv with the inputs to label")
    add_target_arg(
        p, "the label column of --support (default: target, or the other column of a two-column file)"
    )
    p.add_argument("--input-col", metavar="COL", help="column with formulas/SMILES/SELFIES in both files")
    p.add_argument("--kind", choices=KIND_CHOICES, help="representation; detected from the values if omitted")
    p.add_argument("--method", metavar="M", help="protonet, linear_probe, gp, knn, rf (default: by task)")
    p.add_argument("--task", choices=("classification", "regression"), help="default: from the labels")
    p.add_argument("--seed", type=int, default=0, help="seed of the method (default 0)")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--out", required=True, metavar="FILE", help="csv to write")
    p.set_defaults(func=run_predict)

    t = _sub(
        actions,
        "train",
        "meta-train a prototypical network on a task collection",
        """
        Episodic meta-training of a prototypical network on the meta-train tasks of --tasks
        (every task of a folder or csv collection): --episodes episodes per epoch, each --ways
        classes of --shots support and --queries query rows. By default a projection head is
        trained on the frozen encoder; --train-encoder trains the whole encoder. Resumes exactly
        after a kill with --resume. The --out directory is a model directory for `fewshot
        predict` and `fewshot evaluate`.
        """,
        TRAIN_EXAMPLES,
    )
    add_model_arg(t, "the pretrained encoder")
    _add_collection_args(t)
    t.add_argument("--ways", type=int, default=5, metavar="N", help="classes per episode (default 5; 0: all)")
    t.add_argument("--shots", type=int, default=5, metavar="K", help="support rows per class (default 5)")
    t.add_argument("--queries", type=int, default=10, metavar="Q", help="query rows per class (default 10)")
    t.add_argument("--episodes", type=int, default=200, metavar="E", help="episodes per epoch (default 200)")
    t.add_argument(
        "--train-encoder",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="train the whole encoder (default: a projection head on the frozen encoder)",
    )
    t.add_argument("--distance", choices=("euclidean", "cosine"), default="euclidean")
    t.add_argument("--projection-dim", type=int, default=128, metavar="D", help="0: no projection head")
    t.add_argument("--epochs", type=int, default=1, help="passes over --episodes episodes (default 1)")
    t.add_argument("--lr", type=float, default=1e-4, help="learning rate (default 1e-4)")
    t.add_argument("--max-length", type=int, default=256, help="tokens per input (default 256)")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--resume", action="store_true", help="continue an interrupted run in --out")
    t.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    add_progress_arg(t)
    t.add_argument("--out", required=True, metavar="DIR", help="the model directory to write")
    t.set_defaults(func=run_train)

    e = _sub(
        actions,
        "evaluate",
        "evaluate few-shot methods on N-way K-shot episodes, with 95%% confidence intervals",
        """
        Draw --episodes episodes at each K of --shots from the meta-test side of --tasks (every
        task of a folder or csv collection), support rows --support random or kmeans (k-means on
        the embeddings, the member nearest each centre), fit every --methods on each support and
        score it on its query: accuracy and delta-AUPRC (classification), MAE and R2
        (regression). Writes episodes.csv (one row per method and episode), summary.json and
        summary.csv (per method and K: the mean over tasks of each task's mean, the 95%
        confidence interval over episodes, episode and task counts).
        """,
        EVALUATE_EXAMPLES,
    )
    add_model_arg(e, "the encoder (a pretrained model or the --out of `chemtl fewshot train`)")
    _add_collection_args(e)
    e.add_argument(
        "--shots", default="1,5,10,16", metavar="LIST", help="K values, comma-separated (default 1,5,10,16)"
    )
    e.add_argument("--episodes", type=int, default=200, metavar="E", help="episodes per K (default 200)")
    e.add_argument("--support", choices=("random", "kmeans"), default="random", help="support selection")
    e.add_argument(
        "--augment",
        type=int,
        default=0,
        metavar="N",
        help="molecules: add N randomised SMILES of each support molecule to the support of the "
        "embedding methods (default 0: none)",
    )
    e.add_argument("--ways", type=int, metavar="N", help="classes per episode (default: every class)")
    e.add_argument(
        "--queries", type=int, metavar="Q", help="query rows per class (default: the rest of the task)"
    )
    e.add_argument(
        "--methods",
        metavar="LIST",
        help="comma-separated: protonet, linear_probe, gp, knn, rf (default: protonet, linear_probe, knn, "
        "rf for classification; gp, linear_probe, knn, rf for regression)",
    )
    e.add_argument(
        "--side", choices=("test", "train", "all"), default="test", help="which tasks (default test)"
    )
    e.add_argument("--seed", type=int, default=0)
    e.add_argument(
        "--out", required=True, metavar="DIR", help="folder for episodes.csv, summary.json, summary.csv"
    )
    e.set_defaults(func=run_evaluate)
    parser.set_defaults(func=lambda args: parser.print_help() or 2)


def parse_shots(text: str) -> tuple[int, ...]:
    """``--shots 1,5,10`` -> (1, 5, 10); a one-line error naming the value otherwise."""
    from chemtl.errors import ChemtlError

    items = [s.strip() for s in text.split(",") if s.strip()]
    if not items or not all(s.isdigit() and int(s) >= 1 for s in items):
        raise ChemtlError(f"--shots {text!r}: write K values >= 1 separated by commas")
    shots = tuple(int(s) for s in items)
    if len(set(shots)) != len(shots):
        raise ChemtlError(f"--shots {text!r}: a K is given twice")
    return shots


def _load_collection(args):
    from chemtl.data.tasks import load_tasks

    return load_tasks(
        args.tasks,
        input_col=args.input_col,
        target_col=args.target,
        task_col=args.task_col,
        kind=args.kind,
        task=args.task,
        max_rows=args.max_rows,
        seed=args.seed,
    )


def run_predict(args: argparse.Namespace) -> int:
    from chemtl.pipelines.fewshot import fewshot_predict, load_query, load_support
    from chemtl.pipelines.modeldir import load_model_dir

    kind = load_model_dir(args.model).kind
    support = load_support(
        args.support,
        model_kind=kind,
        target_col=args.target,
        input_col=args.input_col,
        kind=args.kind,
        task=args.task,
    )
    query = load_query(args.query, model_kind=kind, input_col=args.input_col, kind=args.kind)
    table = fewshot_predict(
        args.model,
        support,
        query,
        method=args.method,
        task=args.task,
        seed=args.seed,
        batch_size=args.batch_size,
    )
    write_table(table, args.out)
    sys.stdout.write(f"{len(table)} predictions -> {args.out}\n")
    return 0


def run_train(args: argparse.Namespace) -> int:
    from chemtl.pipelines.fewshot import fewshot_train
    from chemtl.training.config import TrainConfig
    from chemtl.transfer.fewshot.meta import MetaTrainConfig

    config = MetaTrainConfig(
        ways=args.ways or None,
        shots=args.shots,
        queries=args.queries,
        episodes=args.episodes,
        distance=args.distance,
        train_encoder=args.train_encoder,
        projection_dim=args.projection_dim or None,
        max_length=args.max_length,
        seed=args.seed,
    )
    train = TrainConfig(
        lr=args.lr,
        head_lr=None,
        max_epochs=args.epochs,
        patience=None,
        seed=args.seed,
        progress_bar=args.progress,
    )
    collection = _load_collection(args)
    result = fewshot_train(
        args.model, collection, config, train, args.out, resume=args.resume, overwrite=args.overwrite
    )
    sys.stdout.write(f"meta-trained on {collection.name!r} -> {args.out}\n")
    if isinstance(result, dict) and result:
        import json

        sys.stdout.write(json.dumps(result, indent=2, default=str) + "\n")
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    from chemtl.pipelines.fewshot import fewshot_evaluate, write_evaluation

    shots = parse_shots(args.shots)
    methods = tuple(m.strip() for m in args.methods.split(",") if m.strip()) if args.methods else None
    collection = _load_collection(args)
    result = fewshot_evaluate(
        args.model,
        collection,
        shots,
        args.episodes,
        methods=methods,
        support=args.support,
        side=args.side,
        seed=args.seed,
        ways=args.ways,
        queries=args.queries,
        augment=args.augment,
    )
    paths = write_evaluation(result, args.out)
    for row in result["summary"]:
        sys.stdout.write(_summary_line(row) + "\n")
    sys.stdout.write(
        f"{len(result['records'])} episode results -> {paths['episodes']}; summary -> {paths['summary_json']}\n"
    )
    return 0


def _summary_line(row: dict) -> str:
    """One summary row: method, K, support, metric, the mean over tasks and the 95% CI over episodes."""

    def num(x) -> str:
        return "-" if x is None else f"{x:.4f}"

    return (
        f"{row.get('method')} K={row.get('shots')} {row.get('support')} {row.get('metric')}: "
        f"{num(row.get('mean'))} [95% CI {num(row.get('ci_low'))}, {num(row.get('ci_high'))}] "
        f"over {row.get('n_episodes')} episodes, {row.get('n_tasks')} task(s)"
    )
