"""`chemtl generate`: the csv it writes, and each bad input as one line naming the value."""

from __future__ import annotations

import pandas as pd
import pytest

from chemtl.cli.main import main


@pytest.fixture(scope="module")
def causal_dir(tmp_path_factory):
    """A random-weight tiny composition generator conditioned on band_gap (bins 0-1-2-4)."""
    import torch

    from chemtl.models.causal import causal_config, causal_model, condition_tokens
    from chemtl.pipelines.modeldir import make_meta, save_model_dir
    from chemtl.tokenizers.formula_text import FormulaTextTokenizer

    d = tmp_path_factory.mktemp("gpt")
    tokens = condition_tokens("band_gap", 3)
    tok = FormulaTextTokenizer(tokens)
    torch.manual_seed(0)
    model = causal_model(causal_config(tok, "tiny", max_length=32))
    conditions = {"band_gap": {"edges": [1.0, 2.0], "tokens": tokens, "range": [0.0, 4.0]}}
    meta = make_meta(kind="composition", task="causal", max_length=32, conditions=conditions)
    save_model_dir(d, model.save_pretrained, tok, meta)
    return d


def test_generate_writes_the_samples(causal_dir, tmp_path, capsys):
    out = tmp_path / "g.csv"
    code = main(
        [
            "generate",
            "--model",
            str(causal_dir),
            "--n",
            "12",
            "--condition",
            "band_gap=1.5",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    frame = pd.read_csv(out, keep_default_na=False)
    assert list(frame.columns) == ["sample", "text", "valid", "canonical", "condition"]
    assert frame["sample"].tolist() == list(range(12))
    assert frame["valid"].all() and (frame["condition"] == "[band_gap=b1]").all()
    assert capsys.readouterr().out.startswith("generated 12 samples (12 valid, ")


def test_metrics_are_written_beside_the_csv(causal_dir, tmp_path):
    pytest.importorskip("chemtl.evaluate.generation")
    import json

    out = tmp_path / "g.csv"
    assert main(["generate", "--model", str(causal_dir), "--n", "10", "--metrics", "--out", str(out)]) == 0
    metrics = json.loads((tmp_path / "g.metrics.json").read_text())
    assert metrics["validity"] == 1.0
    assert metrics["novelty_note"] == "no training corpus recorded (train_config.json): novelty not measured"
    assert "novelty" not in metrics


def test_metrics_measure_novelty_against_the_training_corpus(causal_dir, tmp_path):
    import json
    import shutil

    import pandas as pd

    from chemtl.data.keys import composition_key

    model = tmp_path / "gpt"
    shutil.copytree(causal_dir, model)
    first = tmp_path / "first.csv"
    assert main(["generate", "--model", str(model), "--n", "10", "--out", str(first)]) == 0
    samples = pd.read_csv(first)["text"].tolist()
    corpus = tmp_path / "corpus.csv"
    corpus.write_text("formula\n" + "".join(f"{f}\n" for f in samples[:5]))  # half of them "seen"
    (model / "train_config.json").write_text(json.dumps({"corpus": str(corpus)}))
    out = tmp_path / "g.csv"
    assert main(["generate", "--model", str(model), "--n", "10", "--metrics", "--out", str(out)]) == 0
    metrics = json.loads((tmp_path / "g.metrics.json").read_text())
    seen = {composition_key(f) for f in samples[:5]}
    unique = {composition_key(f) for f in samples}
    assert metrics["novelty"] == len(unique - seen) / len(unique)
    assert metrics["novelty_note"] == f"novelty against the 5 rows of the training corpus {str(corpus)!r}"


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--prefix", "Xx"], "prefix 'Xx': unknown element 'Xx'"),
        (["--prefix", "Fe2Fe"], "prefix 'Fe2Fe' is not the start of a formula: element 'Fe' appears twice"),
        (
            ["--condition", "band_gap=9"],
            "condition band_gap=9 is outside the learned bins, which span 0 to 4",
        ),
        (
            ["--condition", "density=1"],
            "condition 'density': the model was not conditioned on it (its conditions: band_gap)",
        ),
        (["--condition", "band_gap"], "--condition 'band_gap' is not NAME=VALUE (e.g. band_gap=2.0)"),
        (["--temperature", "0"], "temperature must be > 0, got 0.0"),
        (["--temperature", "-1"], "temperature must be > 0, got -1.0"),
        (["--top-p", "0"], "top-p must be in (0, 1], got 0.0"),
        (["--top-p", "1.5"], "top-p must be in (0, 1], got 1.5"),
        (["--top-k", "0"], "top-k must be an integer >= 1, got 0"),
        (["--n", "0"], "n must be an integer >= 1, got 0"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(causal_dir, tmp_path, capsys, flags, message):
    out = tmp_path / "g.csv"
    assert main(["generate", "--model", str(causal_dir), "--n", "4", *flags, "--out", str(out)]) == 2
    assert capsys.readouterr().err == f"error: {message}\n"
    assert not out.exists()


def test_an_encoder_is_refused(tmp_path, capsys):
    out = tmp_path / "g.csv"
    assert main(["generate", "--model", "composition-small", "--n", "4", "--out", str(out)]) == 2
    assert capsys.readouterr().err == (
        "error: model 'composition-small' is a chemtl encoder, not a causal generator; chemtl generate "
        "needs a model trained with `chemtl pretrain --objective causal`\n"
    )
    assert not out.exists()


def test_a_generator_is_refused_by_the_encoder_verbs(causal_dir, tmp_path, capsys):
    args = ["embed", "--model", str(causal_dir), "--data", "matbench_expt_gap", "--limit", "3"]
    assert main([*args, "--out", str(tmp_path / "e.npy")]) == 2
    assert capsys.readouterr().err == (
        f"error: model {str(causal_dir)!r} is a causal generator (GPT-2), not an encoder; use it with "
        "chemtl generate\n"
    )


def test_shipped_generators_load_by_name(tmp_path):
    from chemtl.pipelines.modeldir import is_causal_dir
    from chemtl.shipped import shipped_models

    names = [n for n in shipped_models() if is_causal_dir(n)]
    assert names == ["composition-gpt-small", "selfies-gpt-small", "smiles-gpt-small"]
    frames = {}
    for name in names:
        out = tmp_path / f"{name}.csv"
        assert main(["generate", "--model", name, "--n", "8", "--seed", "0", "--out", str(out)]) == 0
        frames[name] = pd.read_csv(out, keep_default_na=False)
        assert len(frames[name]) == 8
    assert frames["composition-gpt-small"]["valid"].all()  # the grammar: every composition parses
    # every SELFIES decodes to a SMILES string (RDKit's verdict on it is the valid column)
    from chemtl.chem.selfies import selfies_to_smiles

    assert all(isinstance(selfies_to_smiles(s), str) for s in frames["selfies-gpt-small"]["text"])


def test_the_shipped_composition_generator_takes_its_band_gap_bins(tmp_path):
    out = tmp_path / "wide.csv"
    assert main(["generate", "--model", "composition-gpt-small", "--n", "4", "--condition", "band_gap=3.0",
                 "--out", str(out)]) == 0  # fmt: skip
    assert (pd.read_csv(out)["condition"] == "[band_gap=b3]").all()
