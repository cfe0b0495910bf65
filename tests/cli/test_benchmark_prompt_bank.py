"""`chemtl benchmark prompt_bank --quick` on a tiny base: result JSON, bank, figure, docs page."""

from __future__ import annotations

import json

import torch

from chemtl.cli import main as cli_main
from chemtl.models import ChemtlConfig, ChemtlForMaskedLM
from chemtl.pipelines.modeldir import make_meta, save_model_dir
from chemtl.tokenizers import get_tokenizer

ARMS = ["prompt", "fixed_prompt", "prefix", "lora", "full"]
PROPS = ["expt_gap", "expt_is_metal", "steels"]


def test_quick_prompt_bank_benchmark(capsys, tmp_path):
    base = tmp_path / "tiny"
    torch.manual_seed(0)
    model = ChemtlForMaskedLM(ChemtlConfig.from_size("tiny", "composition"))
    save_model_dir(
        base, model.save_pretrained, get_tokenizer("composition"), make_meta(kind="composition", task=None)
    )
    results, docs, work = tmp_path / "results", tmp_path / "BENCHMARKS.md", tmp_path / "work"
    code = cli_main.main(
        ["benchmark", "prompt_bank", "--quick", "--model", str(base), "--results-dir", str(results),
         "--docs", str(docs), "--work-dir", str(work)]
    )  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 0, err
    path = results / "prompt_bank.quick.json"
    assert out.splitlines() == [f"result: {path}", f"docs: {docs}"]
    r = json.loads(path.read_text())
    assert r["benchmark"] == "prompt_bank" and r["quick"] is True and r["seed"] == [0]
    assert [t["name"] for t in r["targets"]] == [
        "expt_gap: learned prompt minus fixed prompt, test MAE (pitfall 5)",
        "expt_is_metal: learned prompt minus fixed prompt, test ROC_AUC (pitfall 5)",
        "steels: learned prompt minus fixed prompt, test MAE (pitfall 5)",
    ]
    assert all(t["pass"] is None for t in r["targets"])  # a smoke run claims no verdict
    table = r["tables"][0]["rows"]
    assert [(row[0], row[1]) for row in table] == [(p, a) for p in PROPS for a in ARMS]
    # trainable parameters of the tiny model (hidden 32, 2 layers): head 1056 + 33 (or 66 for two
    # classes); prompt 10 x 32; prefix 10 x 2 layers x 2 x 32; lora r 8 on query and value
    params = {(row[0], row[1]): row[5] for row in table}
    assert [params["expt_gap", a] for a in ARMS] == [1409, 1089, 2369, 3137, 23297]
    assert params["expt_is_metal", "fixed_prompt"] == 1122
    # one bank of 12 tasks (3 properties x 4 bank arms), read back in one predict call
    bank = json.loads((work / "bank-s0" / "bank.json").read_text())
    assert list(bank["tasks"]) == [f"{p}-{a}" for p in PROPS for a in ARMS[:4]]
    records = r["data"]["records"]
    assert len(records) == 15 and sum("test_from_bank" in rec for rec in records) == 12
    for rec in records:  # the bank's one-call numbers are the runs' own (to float rounding of the batches)
        if "test_from_bank" in rec:
            metric = "mae" if rec["task_type"] == "regression" else "roc_auc"
            assert abs(rec["test_from_bank"] - rec["test"][metric]) < 1e-6
    assert (results / "prompt_bank_embeddings.quick.png").stat().st_size > 0
    assert r["data"]["embedding"]["tasks"] == [f"{p}-prompt" for p in PROPS] + ["expt_gap-fixed_prompt"]
    page = docs.read_text()
    assert "## Prompt banks: one frozen encoder, many properties (quick smoke run: not the benchmark)" in page
