"""Every verb's `--help` examples run as written on a fresh install.

Each example line (continuations joined, `# comments` dropped) parses with the real parser; every
model it names is a shipped model or the --out (or --bank) of an earlier example in the same help; every file
it reads is a registered dataset (or task collection) or the --out of an earlier example. The cheap ones (tokenize,
datasets, split, vocab) are run end to end in a temporary directory.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from chemtl.cli.main import VERBS, build_parser, main
from chemtl.data.registry import is_registered
from chemtl.data.tasks import is_task_collection
from chemtl.pretrained import shipped_models

# flags whose value is a model (a shipped name or a directory) or a file/dataset that is read
MODEL_FLAGS = ("--model", "--init", "--tokenizer")
READ_FLAGS = ("--data", "--corpus", "--split-file", "--support", "--query", "--tasks")
# examples too slow for the suite (parsed, not run): a pass over MOSES's 1.58M SMILES, k-means
# on fingerprints (about 12 s here)
SLOW = ("moses", "cluster")
CHEAP_VERBS = ("tokenize", "datasets", "split", "vocab")


def examples(verb: str, capsys) -> list[list[str]]:
    """The example command lines of `chemtl VERB --help`, each as argv (without `chemtl`)."""
    with pytest.raises(SystemExit) as info:
        main([verb, "--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    assert "\nexamples:\n" in text, f"{verb} --help has no examples"
    block = text.split("\nexamples:\n", 1)[1]
    joined = block.replace("\\\n", " ")
    out = []
    for line in joined.splitlines():
        if not line.strip():
            continue
        argv = shlex.split(line, comments=True)
        assert argv[0] == "chemtl", f"{verb}: example does not start with chemtl: {line!r}"
        out.append(argv[1:])
    assert out, verb
    return out


def values(argv: list[str], flags: tuple[str, ...]) -> list[str]:
    return [argv[i + 1] for i, a in enumerate(argv[:-1]) if a in flags]


def positional_dataset(argv: list[str]) -> list[str]:
    """`chemtl datasets show|export NAME`: the NAME."""
    if argv[:1] == ["datasets"] and len(argv) > 2 and argv[1] in ("show", "export"):
        return [argv[2]] if not argv[2].startswith("-") else []
    return []


def check_commands(commands: list[list[str]], where: str, capsys) -> None:
    """Each argv parses; every model it names is shipped or made by an earlier command, every
    file or dataset it reads is registered or made by an earlier command."""
    shipped = set(shipped_models())
    made: set[str] = set()
    for argv in commands:
        line = " ".join(argv)
        try:
            build_parser().parse_args(argv)
        except SystemExit as exc:  # pragma: no cover - the message says which
            pytest.fail(f"{where}: `chemtl {line}` does not parse: {capsys.readouterr().err.strip()} ({exc})")
        for model in values(argv, MODEL_FLAGS):
            assert model in shipped or model in made, (
                f"{where}: `chemtl {line}`: {model!r} is neither a shipped model nor made by an earlier example"
            )
        # `fewshot evaluate --support random|kmeans` picks a selection, not a file
        reads = tuple(f for f in READ_FLAGS if not (f == "--support" and argv[:2] == ["fewshot", "evaluate"]))
        for data in values(argv, reads) + positional_dataset(argv):
            assert is_registered(data) or is_task_collection(data) or data in made, (
                f"{where}: `chemtl {line}`: {data!r} is neither a registered dataset (or task collection) "
                "nor made by an earlier example"
            )
        made.update(values(argv, ("--out", "--bank")))  # a prompt bank is made by --bank


@pytest.mark.parametrize("verb", VERBS)
def test_examples_parse_and_name_only_what_exists(verb, capsys):
    assert {"composition-small", "composition-small-mp", "smiles-small"} <= set(shipped_models())
    check_commands(examples(verb, capsys), f"chemtl {verb} --help", capsys)


def readme_commands() -> list[list[str]]:
    """The `chemtl ...` lines of the README's bash blocks (continuations joined, comments dropped)."""
    text = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    out = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
        for line in block.replace("\\\n", " ").splitlines():
            argv = shlex.split(line, comments=True)
            if argv[:1] == ["chemtl"] and argv[1:] != ["--help"]:
                out.append(argv[1:])
    return out


def test_readme_examples_parse_and_name_only_what_exists(capsys):
    commands = readme_commands()
    verbs = {argv[0] for argv in commands}
    assert {"tokenize", "datasets", "split", "vocab", "pretrain", "finetune", "predict", "embed"} <= verbs
    assert {"compare", "benchmark"} <= verbs
    check_commands(commands, "README.md", capsys)


def in_dir(argv: list[str], made: set[str], root) -> list[str]:
    """``argv`` with every --out, and every value an earlier example wrote, under ``root``."""
    out = list(argv)
    for i, a in enumerate(out):
        if a in made or (i and out[i - 1] == "--out"):
            out[i] = str(root / a)
    return out


@pytest.mark.parametrize("verb", CHEAP_VERBS)
def test_cheap_examples_run_end_to_end(verb, capsys, tmp_path):
    made: set[str] = set()
    for argv in examples(verb, capsys):
        if any(s in argv for s in SLOW):
            continue
        code = main(in_dir(argv, made, tmp_path))
        err = capsys.readouterr().err
        assert code == 0, f"`chemtl {' '.join(argv)}` exited {code}: {err.strip()}"
        for out in values(argv, ("--out",)):
            assert (tmp_path / out).exists(), f"`chemtl {' '.join(argv)}` wrote no {out}"
            made.add(out)
