"""The one training engine: typed configs, Lightning modules, seeding, checkpoints and manifests.

Heavy modules (torch, lightning) load only when their submodule is imported; importing
``chemtl.training`` or ``chemtl.training.config`` stays cheap.
"""
