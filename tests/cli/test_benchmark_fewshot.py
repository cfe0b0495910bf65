"""`chemtl benchmark fewshot --quick`: every method on the same episodes, result JSON, docs page."""

from __future__ import annotations

import csv
import json

import pytest

from chemtl.cli import main as cli_main

PUBLISHED = [
    ("ProtoNet", 0.211),
    ("MAML", 0.165),
    ("multitask GNN", 0.117),
    ("RandomForest", 0.098),
    ("kNN", 0.056),
    ("ADKF-IFT", 0.234),
]


def run(capsys, *argv) -> tuple[int, str, str]:
    code = cli_main.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_quick_fewshot_benchmark(capsys, tmp_path):
    results, docs, work = tmp_path / "results", tmp_path / "BENCHMARKS.md", tmp_path / "work"
    code, out, err = run(
        capsys, "benchmark", "fewshot", "--quick", "--finetune-per-task", "0",
        "--results-dir", results, "--docs", docs, "--work-dir", work,
    )  # fmt: skip
    assert code == 0, err
    path = results / "fewshot.quick.json"
    assert out.splitlines() == [f"result: {path}", f"docs: {docs}"]
    r = json.loads(path.read_text())
    for key in ("benchmark", "quick", "title", "measured", "split", "seed", "targets", "tables", "references",
                "notes", "data", "wall_seconds", "started", "finished", "command", "machine", "versions",
                "git_commit"):  # fmt: skip
        assert key in r, key
    assert r["benchmark"] == "fewshot" and r["quick"] is True and r["seed"] == 0
    # a smoke run claims no verdict
    assert r["targets"] and all(t["pass"] is None for t in r["targets"])
    assert [t["name"] for t in r["targets"]] == [
        f"moleculeace_tasks K={k}: ProtoNet on smiles-small minus ProtoNet on a random encoder (delta-AUPRC)"
        for k in (1, 5)
    ] + [
        f"composition_tasks K={k}: ProtoNet on {m} minus ProtoNet on a random encoder (delta-AUPRC)"
        for m in ("composition-small-mp", "composition-small")
        for k in (1, 5)
    ] + [
        "k-means vs random support at K <= 5 measured (comparisons; which wins: see the notes)",
        "composition_regression_tasks K=10: RF-Magpie MAE minus gp:composition-small-mp MAE",
        "composition_regression_tasks K=10: fine-tuning MAE minus gp:composition-small-mp MAE on the same episodes",
        "`chemtl fewshot predict`, 5-shot support, 400 query rows, new process (model loading included)",
    ]
    kmeans = r["targets"][6]
    assert (kmeans["value"], kmeans["target"], kmeans["op"]) == (4, 4, ">=")
    # the published FS-Mol numbers, labelled as other tasks
    assert [(x["name"], x["value"]) for x in r["references"]] == PUBLISHED
    assert all("published numbers on other tasks" in x["source"] for x in r["references"])
    assert [(x["method"], x["delta_auprc"]) for x in r["data"]["published"]] == PUBLISHED

    data = r["data"]["collections"]
    assert list(data) == ["moleculeace_tasks", "composition_tasks", "composition_regression_tasks"]
    assert [data[c]["shots"] for c in data] == [[1, 5], [1, 5], [10]]
    assert all(data[c]["episodes_per_k"] == 2 and len(data[c]["tasks"]) == 1 for c in data)
    assert data["moleculeace_tasks"]["methods"] == [
        "protonet:smiles-small", "protonet:random", "linear_probe:smiles-small", "knn", "rf", "finetune:smiles-small",
    ]  # fmt: skip
    assert data["composition_regression_tasks"]["methods"][:2] == ["gp:composition-small-mp", "gp:random"]
    # arms x episodes x K, plus ProtoNet with k-means support at K <= 5; no fine-tuning asked for
    records = {}
    for name, c in data.items():
        with open(c["episodes_csv"], newline="") as handle:
            records[name] = list(csv.DictReader(handle))
    assert [len(records[c]) for c in data] == [5 * 2 * 2 + 2 * 2, 6 * 2 * 2 + 2 * 2, 5 * 2]
    assert [data[c]["n_records"] for c in data] == [len(records[c]) for c in data]
    for name, c in data.items():
        for k in c["shots"]:  # every method on the same episodes
            seen = {}
            for rec in records[name]:
                if int(rec["shots"]) == k and rec["support"] == "random":
                    seen.setdefault(rec["method"], []).append((rec["task"], rec["episode"]))
            assert len({tuple(v) for v in seen.values()}) == 1
    # the random encoder was built once per architecture in the work directory
    assert sorted(p.name for p in (work / "random-encoders").iterdir()) == [
        "random-composition-small-mp", "random-smiles-small",
    ]  # fmt: skip

    page = docs.read_text()
    assert (
        "## Few-shot learning: N-way K-shot episodes on meta-test tasks (quick smoke run: not the benchmark)"
        in page
    )
    assert "ADKF-IFT" in page and "NO VERDICT" in page


@pytest.mark.slow
def test_quick_fewshot_benchmark_with_finetuning(capsys, tmp_path):
    results = tmp_path / "results"
    code, _, err = run(
        capsys, "benchmark", "fewshot", "--quick", "--collections", "composition_regression_tasks",
        "--results-dir", results, "--docs", tmp_path / "B.md", "--work-dir", tmp_path / "work",
    )  # fmt: skip
    assert code == 0, err
    reg = json.loads((results / "fewshot.quick.json").read_text())["data"]["collections"][
        "composition_regression_tasks"
    ]
    with open(reg["episodes_csv"], newline="") as handle:
        tuned = [rec for rec in csv.DictReader(handle) if rec["method"] == "finetune:composition-small-mp"]
    assert len(tuned) == 1 and (tuned[0]["shots"], tuned[0]["n_support"]) == ("10", "10")
    assert reg["finetune"]["trained"] == 1
    assert reg["finetune_episodes"] == [[10, tuned[0]["task"], int(tuned[0]["episode"])]]
    # the fine-tuned-episodes summary holds every method on that one episode
    assert {row["method"] for row in reg["finetune_summary"]} == set(reg["methods"])
    assert all(row["n_episodes"] == 1 for row in reg["finetune_summary"])
