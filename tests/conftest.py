"""Suite-wide settings."""

import os

# Idle OpenMP threads sleep instead of spinning (see chemtl.cli.main): on a shared 2-core machine
# spinning threads make the training tests many times slower. Must be set before torch loads.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
