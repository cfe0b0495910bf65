"""Weights load only from safetensors; training checkpoints are written atomically and read
with ``weights_only=True``."""

from __future__ import annotations

import os
import pickle

import pytest
import torch
from safetensors.torch import save_file

from chemtl.training.checkpoint import ModelDirError, UnsafeWeightsError, check_weights_dir
from chemtl.training.ckpt_io import AtomicCheckpointIO


def model_dir(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    return tmp_path


def test_safetensors_weights_are_accepted(tmp_path):
    d = model_dir(tmp_path)
    save_file({"w": torch.zeros(2)}, str(d / "model.safetensors"))
    assert check_weights_dir(d) == d / "model.safetensors"


def test_a_pickle_in_place_of_safetensors_is_refused(tmp_path):
    d = model_dir(tmp_path)
    torch.save({"w": torch.zeros(2)}, d / "pytorch_model.bin")
    with pytest.raises(UnsafeWeightsError) as info:
        check_weights_dir(d)
    assert str(info.value) == (
        f"model directory {str(d)!r} holds pickle weights (pytorch_model.bin) and no model.safetensors; "
        "chemtl loads weights only from safetensors"
    )


def test_a_pickle_renamed_model_safetensors_is_refused(tmp_path):
    d = model_dir(tmp_path)
    torch.save({"w": torch.zeros(2)}, d / "model.safetensors")
    with pytest.raises(UnsafeWeightsError) as info:
        check_weights_dir(d)
    assert str(info.value) == (
        f"{str(d / 'model.safetensors')!r} is not a safetensors file (it may be a pickle); "
        "chemtl loads weights only from safetensors"
    )


def test_missing_directory_and_config(tmp_path):
    with pytest.raises(ModelDirError, match="does not exist"):
        check_weights_dir(tmp_path / "nope")
    with pytest.raises(ModelDirError, match="has no config.json"):
        check_weights_dir(tmp_path)


def test_checkpoint_write_is_atomic(tmp_path, monkeypatch):
    io = AtomicCheckpointIO()
    path = tmp_path / "checkpoints" / "last.ckpt"
    io.save_checkpoint({"global_step": 1, "w": torch.ones(3)}, path)

    def crash(obj, handle, *args, **kwargs):
        handle.write(b"half a checkpoint")
        raise KeyboardInterrupt  # a kill in the middle of the write

    monkeypatch.setattr(torch, "save", crash)
    with pytest.raises(KeyboardInterrupt):
        io.save_checkpoint({"global_step": 2, "w": torch.zeros(3)}, path)
    monkeypatch.undo()
    assert io.load_checkpoint(path)["global_step"] == 1
    assert os.listdir(path.parent) == ["last.ckpt"]  # no temporary file left


class Payload:
    def __reduce__(self):
        return (print, ("code ran",))


def test_checkpoint_read_runs_no_code(tmp_path):
    path = tmp_path / "evil.ckpt"
    with open(path, "wb") as handle:
        pickle.dump({"state": Payload()}, handle, protocol=2)
    with pytest.raises(pickle.UnpicklingError):
        AtomicCheckpointIO().load_checkpoint(path)
