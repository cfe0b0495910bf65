"""`chemtl datasets list` shows the few-shot task collections; `datasets show NAME` describes one."""

from __future__ import annotations

import json

from chemtl.cli.main import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_list_has_a_section_of_task_collections(capsys):
    code, out, _ = run(capsys, "datasets", "list")
    assert code == 0
    section = out.split("\nfew-shot task collections (`chemtl datasets show NAME` lists the tasks):\n")[1]
    assert [line.split()[:2] for line in section.splitlines()] == [
        ["moleculeace_tasks", "smiles"],
        ["composition_tasks", "composition"],
        ["composition_regression_tasks", "composition"],
    ]
    code, out, _ = run(capsys, "datasets", "list", "--json")
    rows = {r["name"]: r for r in json.loads(out)}
    assert rows["composition_tasks"]["task"] == "few-shot tasks"
    code, out, _ = run(capsys, "datasets", "list", "--family", "moleculeace")
    assert "few-shot" not in out


def test_show_describes_the_tasks_sides_and_thresholds(capsys):
    code, out, _ = run(capsys, "datasets", "show", "moleculeace_tasks")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "moleculeace_tasks: smiles task collection, 30 tasks (20 meta-train, 10 meta-test)"
    assert (
        "  [train] CHEMBL2047_EC50: 631 rows; inactive 314, active 317; active iff pK = 9 + y >= 6.1549 "
        "(median pK 6.155 clipped to [5, 7])"
    ) in lines
    assert "  [test] CHEMBL234_Ki" not in out and "  [train] CHEMBL234_Ki: 2000 rows of 3657;" in out
    code, out, _ = run(capsys, "datasets", "show", "composition_tasks", "--json")
    description = json.loads(out)
    assert description["sides"] == {"train": 6, "test": 5}
    gaps = next(t for t in description["task_list"] if t["name"] == "expt_gap_classes")
    assert gaps["side"] == "test" and gaps["bins"] == [0.0, 2.0] and gaps["dataset"] == "matbench_expt_gap"


def test_export_of_a_collection_is_refused(capsys, tmp_path):
    code, _, err = run(capsys, "datasets", "export", "composition_tasks", "--out", str(tmp_path / "x.csv"))
    assert code == 2
    assert err == (
        "error: 'composition_tasks' is a few-shot task collection, not one table; export one of its "
        "datasets (`chemtl datasets show composition_tasks` names them)\n"
    )
