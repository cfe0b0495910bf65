"""Where this process stands in a distributed launch, read from the launcher's environment.

Cheap (no torch): the run verbs call it before the process group exists (only rank 0 claims the
run directory), and the engine calls it on resume (only the launcher moves the log files).
"""

from __future__ import annotations

import os


def global_rank_from_env() -> int:
    """This process's rank as the launcher set it (0 outside a distributed launch)."""
    for key in ("RANK", "SLURM_PROCID"):
        if os.environ.get(key, "").isdigit():
            return int(os.environ[key])
    local = os.environ.get("LOCAL_RANK", "0")
    node = os.environ.get("NODE_RANK", os.environ.get("GROUP_RANK", "0"))
    devices = os.environ.get("LOCAL_WORLD_SIZE", "")
    if local.isdigit() and node.isdigit():
        per_node = int(devices) if devices.isdigit() else 1
        return int(node) * per_node + int(local) if int(node) else int(local)
    return 0


__all__ = ["global_rank_from_env"]
