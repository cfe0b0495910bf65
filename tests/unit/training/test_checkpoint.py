"""Weights load only from safetensors; training checkpoints are written atomically and read
with ``weights_only=True``."""

from __future__ import annotations

import os
import pickle

import pytest
import torch
from safetensors.torch import save_file

from chemtl.training.checkpoint import (
    CheckpointError,
    ModelDirError,
    UnsafeWeightsError,
    check_weights_dir,
    load_training_checkpoint,
)
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


def safetensors_dir(tmp_path):
    d = model_dir(tmp_path)
    save_file({"w": torch.zeros(2)}, str(d / "model.safetensors"))
    return d


def test_a_pickle_beside_safetensors_is_refused(tmp_path):
    d = safetensors_dir(tmp_path)
    torch.save({"w": torch.zeros(2)}, d / "pytorch_model.bin")
    with pytest.raises(UnsafeWeightsError) as info:
        check_weights_dir(d)
    assert str(info.value) == (
        f"model directory {str(d)!r} holds pytorch_model.bin, a pickle-format file chemtl never loads; "
        "delete it (convert it to safetensors first if you need it) and load the directory again"
    )


def prompt_adapter(d):
    adapter = d / "prompt_adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text("{}")
    return adapter


def test_a_pickle_in_the_adapter_folder_is_refused(tmp_path):
    d = safetensors_dir(tmp_path)
    adapter = prompt_adapter(d)
    save_file({"p": torch.zeros(2)}, str(adapter / "adapter_model.safetensors"))
    torch.save({"p": torch.zeros(2)}, adapter / "adapter_model.bin")
    with pytest.raises(UnsafeWeightsError) as info:
        check_weights_dir(d)
    assert str(info.value) == (
        f"model directory {str(d)!r} holds prompt_adapter/adapter_model.bin, a pickle-format file chemtl "
        "never loads; delete it (convert it to safetensors first if you need it) and load the directory again"
    )


def test_adapter_weights_must_be_safetensors(tmp_path):
    d = safetensors_dir(tmp_path)
    adapter = prompt_adapter(d)
    with pytest.raises(ModelDirError) as info:
        check_weights_dir(d)
    assert str(info.value) == (
        f"{str(adapter)!r} holds adapter_config.json but no adapter_model.safetensors; "
        "chemtl loads adapter weights only from safetensors"
    )
    torch.save({"p": torch.zeros(2)}, adapter / "adapter_model.safetensors")  # a pickle renamed
    with pytest.raises(UnsafeWeightsError) as info:
        check_weights_dir(d)
    assert str(info.value) == (
        f"{str(adapter / 'adapter_model.safetensors')!r} is not a safetensors file (it may be a pickle); "
        "chemtl loads weights only from safetensors"
    )
    save_file({"p": torch.zeros(2)}, str(adapter / "adapter_model.safetensors"))
    assert check_weights_dir(d) == d / "model.safetensors"


def test_training_checkpoints_and_unfinished_saves_are_not_model_weights(tmp_path):
    d = safetensors_dir(tmp_path)
    (d / "checkpoints").mkdir()
    torch.save({"global_step": 1}, d / "checkpoints" / "last.ckpt")
    (d / ".save-x1").mkdir()
    (d / ".save-x1" / "model.safetensors").write_bytes(b"half")
    nested = d / "runs" / "ft"  # a run written inside the model's folder: a model directory of its own
    (nested / "checkpoints").mkdir(parents=True)
    (nested / "train_config.json").write_text("{}")
    torch.save({"global_step": 1}, nested / "checkpoints" / "last.ckpt")
    assert check_weights_dir(d) == d / "model.safetensors"
    (d / "logs").mkdir()
    torch.save({}, d / "logs" / "state.pt")  # anywhere else, a pickle is refused
    with pytest.raises(UnsafeWeightsError, match="holds logs/state.pt, a pickle-format file"):
        check_weights_dir(d)


def test_truncated_safetensors_is_said_to_be_truncated(tmp_path):
    d = safetensors_dir(tmp_path)
    weights = d / "model.safetensors"
    whole = weights.read_bytes()
    weights.write_bytes(whole[:-3])
    with pytest.raises(UnsafeWeightsError) as info:
        check_weights_dir(d)
    assert str(info.value) == (
        f"{str(weights)!r} is truncated (its header describes {len(whole)} bytes, the file has "
        f"{len(whole) - 3}); save or copy it again"
    )
    weights.write_bytes(whole[:20])
    n = int.from_bytes(whole[:8], "little")
    with pytest.raises(UnsafeWeightsError) as info:
        check_weights_dir(d)
    assert str(info.value) == (
        f"{str(weights)!r} is truncated (its {n}-byte header is cut off at byte 20); save or copy it again"
    )
    weights.write_bytes(b"")
    with pytest.raises(UnsafeWeightsError) as info:
        check_weights_dir(d)
    assert (
        str(info.value)
        == f"{str(weights)!r} is truncated (0 bytes, no safetensors header); save or copy it again"
    )


def test_damaged_safetensors_is_said_to_be_damaged(tmp_path):
    d = safetensors_dir(tmp_path)
    weights = d / "model.safetensors"
    whole = weights.read_bytes()
    weights.write_bytes(whole + b"\0\0")
    with pytest.raises(UnsafeWeightsError) as info:
        check_weights_dir(d)
    assert str(info.value) == (
        f"{str(weights)!r} is damaged (not a safetensors file: 2 bytes after the last tensor); save or copy it again"
    )
    weights.write_bytes(b"this is not a weights file at all")
    with pytest.raises(UnsafeWeightsError) as info:
        check_weights_dir(d)
    assert str(info.value) == (
        f"{str(weights)!r} is damaged (not a safetensors file: no JSON header); save or copy it again"
    )
    header = b'{"w": {"dtype": "F32"}}'
    weights.write_bytes(len(header).to_bytes(8, "little") + header)
    with pytest.raises(UnsafeWeightsError) as info:
        check_weights_dir(d)
    assert str(info.value) == (
        f"{str(weights)!r} is damaged (not a safetensors file: its header is not a safetensors header); "
        "save or copy it again"
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


def checkpoint_message(path, what):
    return (
        f"training checkpoint {str(path)!r} is {what}; chemtl keeps one checkpoint per run, so the run "
        "cannot resume: start it again with --overwrite"
    )


def test_a_damaged_training_checkpoint_is_one_line(tmp_path):
    path = tmp_path / "last.ckpt"
    torch.save({"global_step": 3, "state_dict": {"w": torch.ones(64)}, "loops": {}}, path)
    assert load_training_checkpoint(path)["global_step"] == 3
    whole = path.read_bytes()
    cases = [
        (whole[: len(whole) // 2], "truncated or damaged"),
        (b"other bytes " * 40, "not a checkpoint chemtl wrote (overwritten or damaged)"),
        (
            pickle.dumps({"state": Payload()}, protocol=2),
            "not a checkpoint chemtl wrote (overwritten or damaged)",
        ),
        (b"", "empty"),
    ]
    for data, what in cases:
        path.write_bytes(data)
        with pytest.raises(CheckpointError) as info:
            load_training_checkpoint(path)
        assert str(info.value) == checkpoint_message(path, what)
        assert "weights_only" not in str(info.value)
    torch.save({"w": torch.ones(2)}, path)
    with pytest.raises(CheckpointError) as info:
        load_training_checkpoint(path)
    assert str(info.value) == checkpoint_message(path, "not a chemtl training checkpoint")
