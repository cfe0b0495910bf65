"""`chemtl` entry point: a thin dispatcher over one module per verb.

Every verb module (``chemtl.cli.domain_gap`` for ``domain-gap``) defines ``register(subparsers)`` and a ``run(args) -> int`` function set as the
parser default ``func``. Verb modules import heavy libraries inside ``run`` only, so
``chemtl --help`` stays fast.

User errors (``ChemtlError``) print one line, ``error: <message>``, on stderr and exit with
status 2; argparse usage errors do the same. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from chemtl import __version__
from chemtl.errors import ChemtlError

# Verb modules in the order `chemtl --help` lists them.
VERBS = (
    "tokenize",
    "datasets",
    "split",
    "vocab",
    "pretrain",
    "snapshot",
    "finetune",
    "adapt",
    "chain",
    "predict",
    "embed",
    "domain-gap",
    "select",
    "compare",
    "fewshot",
    "generate",
    "describe",
    "benchmark",
    "demo",
)

EXIT_USER_ERROR = 2


class _Parser(argparse.ArgumentParser):
    """ArgumentParser whose usage errors are one line naming the bad value."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"error: {self.prog}: {message} (see {self.prog} --help)\n")
        raise SystemExit(EXIT_USER_ERROR)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="chemtl",
        description="Pretrained transformers and transfer learning for compositions and molecules.",
        epilog="Run `chemtl VERB --help` for the options and examples of each verb.",
    )
    parser.add_argument("--version", action="version", version=f"chemtl {__version__}")
    subparsers = parser.add_subparsers(title="verbs", metavar="VERB", parser_class=_Parser)
    for verb in VERBS:
        importlib.import_module(f"chemtl.cli.{verb.replace('-', '_')}").register(subparsers)
    return parser


def parse_args(parser: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace:
    """``parser.parse_args``; with ``--recipe NAME`` (finetune, compare) the recipe's values become
    the verb's defaults and the command line is parsed again, so flags given still win."""
    args = parser.parse_args(argv)
    if getattr(args, "recipe", None):
        from chemtl.training.recipes import recipe_defaults

        verb = args.recipe_parser
        verb.set_defaults(**recipe_defaults(args.recipe, {a.dest for a in verb._actions}))
        args = parser.parse_args(argv)
    return args


def main(argv: list[str] | None = None) -> int:
    # On a shared CPU, OpenMP threads that spin while waiting slow training by 10x or more when
    # another process holds a core; passive waiting costs nothing when the machine is idle.
    # Set before torch is imported (verbs import it inside ``run``); a user's setting wins.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    parser = build_parser()
    args = parse_args(parser, argv)
    if not hasattr(args, "func"):
        parser.print_help()
        return EXIT_USER_ERROR
    try:
        return int(args.func(args) or 0)
    except ChemtlError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return 130
    except BrokenPipeError:  # `chemtl ... | head`
        return 0


if __name__ == "__main__":
    sys.exit(main())
