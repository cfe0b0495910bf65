"""`chemtl benchmark speed` (f), (g): the step profile's arithmetic and tables on a few real steps."""

from __future__ import annotations

import pytest

from chemtl.cli.benchmark import benchmarks_dir, load_benchmark


@pytest.fixture(scope="module")
def profile():
    load_benchmark("speed", benchmarks_dir())  # puts benchmarks/ on sys.path
    import step_profile

    return step_profile


def test_run_steps_reports_what_it_timed(profile):
    r = profile.run_steps(1, "adamw-fused", False, 8, 2, 1, 0)
    assert (r["threads"], r["optimizer"], r["bf16_autocast"], r["batch_size"], r["steps"]) == (
        1, "adamw-fused", False, 8, 2,
    )  # fmt: skip
    assert list(r["phase_median_s"]) == ["collate", "forward", "backward", "clip", "optimizer"]
    assert r["fraction_of_matmul"] == pytest.approx(r["flops_per_s"] / r["matmul_flops_per_s"])
    assert len(r["losses"]) == 3  # warm-up steps included: the bf16 comparison reads the first
    # the same seed and batches give the same first loss under the loop and the fused kernel
    loop = profile.run_steps(1, "adamw", False, 8, 2, 1, 0)
    assert loop["losses"][0] == r["losses"][0]
    with pytest.raises(ValueError, match="exceed the fold's 3683 training rows"):
        profile.step_batches(3000, 2, 0)


def test_op_shares_sum_to_one_and_tables_follow(profile):
    shares = profile.op_shares(1, "adamw-fused", 8, 2, 0)
    values = shares["shares"]
    assert list(values) == [
        "matrix products",
        "dropout masks",
        "optimizer step (all its ops)",
        "everything else",
    ]
    assert sum(values.values()) == pytest.approx(1.0) and values["matrix products"] > 0
    run = profile.run_steps(1, "adamw-fused", False, 8, 2, 1, 0)
    speed = load_benchmark("speed", benchmarks_dir())
    tables = speed.profile_tables({"runs": [run], "op_shares": [shares], "bf16_first_loss_rel_diff": 0.001})
    assert [t["title"][:3] for t in tables] == ["(f)", "(f)", "(g)"]
    assert tables[0]["rows"][0][0] == "1 thread(s)" and len(tables[0]["rows"][0]) == 7
    assert tables[2]["rows"] == [[1, "adamw-fused", "fp32", 8, round(1e3 * run["step_median_s"], 2),
                                  round(run["flops_per_s"] / 1e9, 2), round(run["matmul_flops_per_s"] / 1e9, 1),
                                  round(run["fraction_of_matmul"], 4)]]  # fmt: skip
    assert "0.100%" in tables[2]["note"]
