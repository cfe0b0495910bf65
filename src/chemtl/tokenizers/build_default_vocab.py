"""Regenerate the default SMILES and SELFIES vocabularies shipped in chemtl/resources/tokenizers/.

    python -m chemtl.tokenizers.build_default_vocab [--out DIR] [--selfies-every 8] [--workers 2]

Deterministic: the same molsets/selfies versions give byte-identical files. Reads MOSES from the
molsets package's files (streamed with gzip + csv, its code is never imported).

- smiles/: every token of the whole MOSES training set (1,584,663 SMILES), by count, then
  COMMON_BRACKET_ATOMS, every one-character token of the Schwaller grammar, and %10-%99.
- selfies/: the symbols of every ``--selfies-every``-th MOSES training SMILES converted with
  ``selfies.encoder`` (the encoder runs at ~3k molecules/s per core, so the full set would take
  ~9 core-minutes for the same alphabet), then ``selfies.get_semantic_robust_alphabet()`` and the
  SELFIES of COMMON_BRACKET_ATOMS.
- README.md: the counts, and how many MOSES test molecules would have an [UNK].
"""

from __future__ import annotations

import argparse
import csv
import gzip
import importlib.util
from collections.abc import Iterator
from itertools import islice
from multiprocessing import get_context
from pathlib import Path

COMMON_BRACKET_ATOMS = (
    # aromatic atoms with hydrogen or charge
    "[nH]", "[nH+]", "[n+]", "[n-]", "[o+]", "[s+]", "[se]", "[te]", "[c-]", "[cH-]",
    # charged and hydrogen-bearing organic atoms
    "[N+]", "[N-]", "[NH+]", "[NH2+]", "[NH3+]", "[NH4+]", "[NH-]", "[NH]", "[NH2]", "[N]",
    "[O-]", "[O+]", "[OH+]", "[OH-]", "[OH]", "[O]",
    "[S+]", "[S-]", "[SH]", "[SH+]", "[S]", "[P+]", "[PH]", "[PH+]", "[PH2]",
    "[C-]", "[CH-]", "[CH2-]", "[C+]", "[CH]", "[CH2]", "[C]",
    "[B-]", "[BH-]", "[BH3-]", "[BH4-]", "[B]", "[Si]", "[SiH]", "[SiH2]", "[Se]", "[SeH]", "[Te]",
    "[As]", "[I+]", "[H]", "[H+]", "[H-]",
    # stereocentres
    "[C@H]", "[C@@H]", "[C@]", "[C@@]", "[S@]", "[S@@]", "[S@+]", "[S@@+]", "[N@]", "[N@@]", "[N@+]",
    "[N@@+]", "[P@]", "[P@@]", "[Si@]", "[Si@@]",
    # isotopes
    "[2H]", "[3H]", "[11C]", "[11CH3]", "[13C]", "[13CH]", "[13CH2]", "[13CH3]", "[13c]", "[13cH]", "[14C]",
    "[15N]", "[15n]", "[17O]", "[18O]", "[18F]", "[32P]", "[35S]", "[123I]", "[124I]", "[125I]", "[131I]",
    # ions
    "[F-]", "[Cl-]", "[Br-]", "[I-]", "[Li+]", "[Na+]", "[K+]", "[Rb+]", "[Cs+]", "[Ag+]", "[Cu+]",
    "[Mg+2]", "[Ca+2]", "[Sr+2]", "[Ba+2]", "[Zn+2]", "[Fe+2]", "[Fe+3]", "[Cu+2]", "[Co+2]", "[Co+3]",
    "[Ni+2]", "[Mn+2]", "[Pt+2]", "[Pd+2]", "[Hg+2]", "[Sn+2]", "[Al+3]", "[Cr+3]", "[Gd+3]", "[La+3]",
    # neutral metals and metalloids
    "[Li]", "[Na]", "[K]", "[Mg]", "[Ca]", "[Zn]", "[Fe]", "[Cu]", "[Co]", "[Ni]", "[Mn]", "[Cr]", "[Pt]",
    "[Pd]", "[Ag]", "[Au]", "[Hg]", "[Al]", "[Sn]", "[Ti]", "[Ru]", "[Rh]", "[Ir]", "[Bi]", "[Sb]", "[Ge]",
    "[Ga]", "[Gd]", "[V]", "[Mo]", "[W]", "[Zr]",
)  # fmt: skip
RING_CLOSURES = tuple(f"%{n}" for n in range(10, 100))


def moses_file(split: str = "train") -> Path:
    """The MOSES csv.gz shipped in molsets (``split``: train, test or test_scaffolds)."""
    spec = importlib.util.find_spec("moses")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the MOSES data package (molsets) is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "dataset" / "data" / f"{split}.csv.gz"


def iter_moses(split: str = "train") -> Iterator[str]:
    """MOSES SMILES in file order, streamed."""
    with gzip.open(moses_file(split), "rt", newline="") as handle:
        for row in csv.DictReader(handle):
            yield row["SMILES"]


def _to_selfies(smiles: str) -> str | None:
    import selfies

    try:
        return selfies.encoder(smiles)
    except selfies.EncoderError:
        return None


def _selfies_of(smiles: list[str], workers: int) -> list[str | None]:
    if workers <= 1:
        return [_to_selfies(s) for s in smiles]
    with get_context("spawn").Pool(workers) as pool:
        return pool.map(_to_selfies, smiles, chunksize=2000)


def _unk_rows(tokenizer, strings: list[str], batch: int = 4096) -> int:
    rows = 0
    for i in range(0, len(strings), batch):
        rows += len(tokenizer(strings[i : i + batch], max_length=10**6).unknown_rows)
    return rows


def build(out: Path, selfies_every: int = 8, workers: int = 2) -> str:
    import selfies

    from chemtl.tokenizers.selfies import SelfiesTokenizer
    from chemtl.tokenizers.smiles import SMILES_SINGLE_CHARACTERS, SmilesTokenizer
    from chemtl.tokenizers.vocab import count_tokens, merge_vocab, vocab_from_counts

    # SMILES: the whole training set, streamed.
    counts = count_tokens(iter_moses("train"), "smiles")
    corpus_tokens = vocab_from_counts(counts.tokens)
    smiles_vocab = merge_vocab(corpus_tokens, COMMON_BRACKET_ATOMS + SMILES_SINGLE_CHARACTERS + RING_CLOSURES)
    smiles_tok = SmilesTokenizer(smiles_vocab)
    smiles_tok.save_pretrained(out / "smiles")

    # SELFIES: every k-th training molecule.
    sample = list(islice(iter_moses("train"), 0, None, selfies_every))
    encoded = _selfies_of(sample, workers)
    failed = sum(s is None for s in encoded)
    selfies_counts = count_tokens((s for s in encoded if s is not None), "selfies")
    extra_symbols = sorted(selfies.get_semantic_robust_alphabet())
    bracket_selfies = [_to_selfies(a) for a in COMMON_BRACKET_ATOMS]
    extra_symbols += [sym for s in bracket_selfies if s for sym in selfies.split_selfies(s)]
    selfies_vocab = merge_vocab(vocab_from_counts(selfies_counts.tokens), [*extra_symbols, "."])
    selfies_tok = SelfiesTokenizer(selfies_vocab)
    selfies_tok.save_pretrained(out / "selfies")

    # Coverage on the MOSES test set (not used to build either vocabulary).
    test = list(iter_moses("test"))
    test_unk = _unk_rows(smiles_tok, test)
    test_sample = test[::selfies_every]
    test_selfies = [s for s in _selfies_of(test_sample, workers) if s is not None]
    test_selfies_unk = _unk_rows(selfies_tok, test_selfies)

    readme = f"""# Default tokenizer vocabularies

Generated by `python -m chemtl.tokenizers.build_default_vocab --selfies-every {selfies_every}`
(deterministic: rerun it to regenerate these files byte for byte). Corpus: MOSES from
molsets 0.3.1 (`moses/dataset/data/train.csv.gz`, {counts.n_strings:,} SMILES). Token order:
the five special tokens ([PAD]=0 [UNK]=1 [CLS]=2 [SEP]=3 [MASK]=4), the corpus tokens by count
(descending, ties by token), then the extra tokens not already present, in the order listed in
`build_default_vocab.py`.

## smiles/

- {len(corpus_tokens)} distinct tokens in all {counts.n_strings:,} MOSES training SMILES
  (Schwaller regex; {sum(counts.invalid.values())} pieces outside the grammar).
- plus common bracket atoms (charged N/O/S/P, [nH], stereocentres, isotopes, ions, metals), every
  one-character token of the grammar and the ring closures %10-%99.
- vocabulary size {smiles_tok.vocab_size} (with the special tokens).
- MOSES SMILES with any [UNK]: train 0 of {counts.n_strings:,} (the corpus), test {test_unk} of {len(test):,}.

## selfies/

- every {selfies_every}th MOSES training SMILES ({len(sample):,} molecules) converted with
  `selfies.encoder` (selfies {selfies.__version__}; {failed} failed to convert):
  {len(selfies_counts.tokens)} distinct symbols.
- plus `selfies.get_semantic_robust_alphabet()` ({len(selfies.get_semantic_robust_alphabet())} symbols),
  the symbols of the SMILES bracket atoms above, and ".".
- vocabulary size {selfies_tok.vocab_size} (with the special tokens).
- every {selfies_every}th MOSES test molecule ({len(test_selfies):,} converted): {test_selfies_unk} with any [UNK].
"""
    (out / "README.md").write_text(readme, encoding="utf-8")
    return readme


def main(argv: list[str] | None = None) -> None:
    default_out = Path(__file__).resolve().parents[1] / "resources" / "tokenizers"
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=default_out)
    parser.add_argument(
        "--selfies-every", type=int, default=8, help="use every k-th MOSES molecule for SELFIES"
    )
    parser.add_argument("--workers", type=int, default=2, help="processes for selfies.encoder")
    args = parser.parse_args(argv)
    print(build(args.out, selfies_every=args.selfies_every, workers=args.workers))


if __name__ == "__main__":
    main()
