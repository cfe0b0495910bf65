"""Where a composition training step's time goes, and what each setting buys (``speed`` (f), (g)).

Part of ``chemtl benchmark speed``; kept apart because it is one question: why a step of the small
composition model reaches only part of this CPU's matmul rate, and which of the settings chemtl
controls (threads, the optimizer kernel, bf16 autocast, the batch size) move it.

(f) Phases of one bare step (collate, forward, backward, gradient clipping, optimizer) and, from
    ``torch.profiler``, the share of CPU time per kind of op: matrix products (the FLOPs), the
    optimizer's update, dropout's random masks, and the rest (elementwise ops, LayerNorm, GELU,
    softmax, allocations, autograd bookkeeping).
(g) The same steps under each setting: its step time and FLOP rate as a fraction of the matmul rate
    measured in the same process at the same thread count (a 2048 x 2048 fp32 ``torch.matmul``),
    so each fraction compares like with like. bf16 autocast is compared on accuracy too: the
    relative difference of its first step's loss from fp32's (same weights, batch and dropout).

Every step is the bare loop of (c) (``speed.bare_run``'s body): forward, loss, backward, clip 1.0,
AdamW step, on matbench_expt_gap fold 0 training rows in a fixed order.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

import speed  # noqa: E402  (benchmarks/ is on sys.path, as for every script here)

MATMUL_N = 2048
# op name prefixes of torch.profiler's self-CPU table, by kind
OP_KINDS = {
    "matrix products": (
        "aten::mm",
        "aten::addmm",
        "aten::bmm",
        "aten::baddbmm",
        "aten::_scaled_dot",
        "aten::matmul",
    ),
    "dropout masks": ("aten::bernoulli", "aten::native_dropout"),
}


def step_batches(bs: int, n: int, seed: int) -> tuple[list[tuple[str, float]], Any]:
    """The first ``n`` batches of ``bs`` fold-0 training rows (standardised targets, dataset order)
    as (item lists, collate)."""
    _, batches_ds, collate = speed.make_task(seed)
    items = batches_ds.rows
    if bs * n > len(items):
        raise ValueError(f"{n} batches of {bs} exceed the fold's {len(items)} training rows")
    return [items[k * bs : (k + 1) * bs] for k in range(n)], collate


def _optimizer(model, name: str):
    """The engine's optimizer (``build_optimizer``) over ``model``'s default parameter groups."""
    from chemtl.training.config import TrainConfig
    from chemtl.training.module import build_optimizer
    from chemtl.transfer import parameter_groups

    cfg = TrainConfig(optimizer=name)
    groups = parameter_groups(model, cfg.lr, cfg.head_lr, cfg.lr_decay, cfg.weight_decay)
    return build_optimizer(groups, cfg)


def run_steps(
    threads: int, optimizer: str, bf16: bool, bs: int, steps: int, warmup: int, seed: int
) -> dict[str, Any]:
    """``warmup`` + ``steps`` bare steps under one setting: per-phase medians, the FLOP rate, the
    same-thread matmul rate and the losses (for the bf16 comparison)."""
    import torch

    from chemtl.training.seeding import seed_run

    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        item_batches, collate = step_batches(bs, steps + warmup, seed)
        seed_run(seed, True)
        model = speed.new_model(seed).train()
        opt = _optimizer(model, optimizer)
        params = [p for p in model.parameters() if p.requires_grad]
        n_tok, n_head = speed.linear_weights(model)
        phases: dict[str, list[float]] = {
            k: [] for k in ("collate", "forward", "backward", "clip", "optimizer")
        }
        totals, flops, losses = [], [], []
        for j, items in enumerate(item_batches):
            t0 = time.perf_counter()
            batch = collate(items, seed + j)
            t1 = time.perf_counter()
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                loss = model(**batch, return_dict=True).loss
            t2 = time.perf_counter()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            t3 = time.perf_counter()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            t4 = time.perf_counter()
            opt.step()
            t5 = time.perf_counter()
            losses.append(float(loss.detach()))
            if j < warmup:
                continue
            for name, dt in zip(phases, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4), strict=True):
                phases[name].append(dt)
            totals.append(t5 - t1)  # the step without collation, as (c) and (e) time it
            B, T = batch["input_ids"].shape
            flops.append(speed.step_flops(model.config, n_tok, n_head, int(B), int(T)))
        mm = speed.matmul_rate(MATMUL_N, 6)
    finally:
        torch.set_num_threads(previous)
    rate = sum(flops) / sum(totals)
    return {
        "threads": threads,
        "optimizer": optimizer,
        "bf16_autocast": bf16,
        "batch_size": bs,
        "steps": steps,
        "step_median_s": statistics.median(totals),
        "phase_median_s": {k: statistics.median(v) for k, v in phases.items()},
        "flops_per_s": rate,
        "matmul_flops_per_s": mm["flops_per_s"],
        "fraction_of_matmul": rate / mm["flops_per_s"],
        "losses": losses,
    }


def op_shares(threads: int, optimizer: str, bs: int, steps: int, seed: int) -> dict[str, Any]:
    """Self-CPU time of ``steps`` profiled bare steps by op kind (``OP_KINDS``, the optimizer's
    step, the rest), as fractions of the profiled total."""
    import torch
    from torch.profiler import ProfilerActivity, profile

    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        item_batches, collate = step_batches(bs, steps + 3, seed)
        model = speed.new_model(seed).train()
        opt = _optimizer(model, optimizer)
        params = [p for p in model.parameters() if p.requires_grad]
        batches = [collate(items, seed + j) for j, items in enumerate(item_batches)]

        def step(batch) -> None:
            loss = model(**batch, return_dict=True).loss
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()

        for b in batches[:3]:
            step(b)
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            for b in batches[3:]:
                step(b)
    finally:
        torch.set_num_threads(previous)
    events = prof.key_averages()
    total = sum(e.self_cpu_time_total for e in events)
    shares = {kind: 0.0 for kind in OP_KINDS}
    # the optimizer's own ops run inside "Optimizer.step#..."; their self time is counted under
    # the aten ops, so the step's share is its CPU total (children included)
    optimizer_total = sum(e.cpu_time_total for e in events if e.key.startswith("Optimizer.step"))
    for e in events:
        for kind, prefixes in OP_KINDS.items():
            if e.key.startswith(prefixes):
                shares[kind] += e.self_cpu_time_total
    out = {k: v / total for k, v in shares.items()}
    out["optimizer step (all its ops)"] = optimizer_total / total
    out["everything else"] = max(0.0, 1.0 - sum(out.values()))
    return {"threads": threads, "optimizer": optimizer, "steps": steps, "shares": out}


SETTINGS = (
    # (threads, optimizer, bf16 autocast)
    (2, "adamw", False),
    (2, "adamw-fused", False),
    (1, "adamw", False),
    (1, "adamw-fused", False),
    (1, "adamw-fused", True),
)


def measure(cpus: int, steps: int, warmup: int, seed: int, log, batch_sizes=(32, 128)) -> dict[str, Any]:
    """(f) and (g): every setting of ``SETTINGS`` (thread counts above ``cpus`` left out) at batch
    32, the default at the larger batch sizes, then the op shares of the default setting."""
    runs = []
    for threads, optimizer, bf16 in SETTINGS:
        if threads > cpus:
            continue
        r = run_steps(threads, optimizer, bf16, 32, steps, warmup, seed)
        runs.append(r)
        log(
            f"(g) threads {threads}, {optimizer}, bf16 {bf16}: {1e3 * r['step_median_s']:.1f} ms/step, "
            f"{100 * r['fraction_of_matmul']:.1f}% of matmul"
        )
    default_threads = cpus
    for bs in batch_sizes[1:]:
        r = run_steps(default_threads, "adamw-fused", False, bs, max(4, steps // 4), 2, seed)
        runs.append(r)
        log(
            f"(g) batch {bs}: {1e3 * r['step_median_s']:.1f} ms/step, {100 * r['fraction_of_matmul']:.1f}% of matmul"
        )
    fp32 = next(
        r for r in runs if r["threads"] == 1 and r["optimizer"] == "adamw-fused" and not r["bf16_autocast"]
    )
    bf16 = next(r for r in runs if r["bf16_autocast"])
    a, b = fp32["losses"][0], bf16["losses"][0]
    bf16_loss_diff = abs(a - b) / max(abs(a), 1e-12)
    shares = [op_shares(t, "adamw-fused", 32, max(3, steps // 8), seed) for t in sorted({1, default_threads})]
    return {
        "runs": runs,
        "op_shares": shares,
        "bf16_first_loss_rel_diff": bf16_loss_diff,
        "default_threads": default_threads,
    }
