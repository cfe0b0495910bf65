"""Cost probes: the process's peak resident memory and a run directory's inference throughput."""

from __future__ import annotations

import math
import statistics
import time
from pathlib import Path


def reset_peak_rss() -> bool:
    """Reset this process's peak resident set size (Linux ``/proc/self/clear_refs``)."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
        return True
    except OSError:
        return False


def current_peak_rss_mb() -> float | None:
    """``VmHWM`` of this process in MiB (Linux), or None."""
    try:
        with open("/proc/self/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except (OSError, ValueError):
        return None
    return None


def measure_throughput(
    run_dir: str | Path, inputs: list[str], repeats: int = 3, batch_size: int = 256
) -> float:
    """Inputs per second through a saved run directory (loaded as ``chemtl predict`` loads it):
    tokenise + forward in eval mode, batch ``batch_size``; median of ``repeats`` timed passes after
    one warm-up batch."""
    from chemtl.pipelines.finetune import forward_outputs
    from chemtl.pipelines.modeldir import load_model_dir, quiet_transformers
    from chemtl.transfer import load_finetuned

    quiet_transformers()
    loaded = load_model_dir(run_dir)
    model, _ = load_finetuned(run_dir)
    length = int(loaded.meta.get("max_length") or 256)
    if not inputs:
        return math.nan
    forward_outputs(model, loaded.tokenizer, inputs[: min(len(inputs), 32)], length, batch_size)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        forward_outputs(model, loaded.tokenizer, inputs, length, batch_size)
        times.append(time.perf_counter() - start)
    return len(inputs) / max(statistics.median(times), 1e-9)
