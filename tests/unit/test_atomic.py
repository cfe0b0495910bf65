"""Atomic writes: all or nothing, usual permissions."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from chemtl.atomic import atomic_open, fsync_tree, replace_dir, usual_modes, write_json


def test_failure_leaves_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "out.json"
    write_json(target, {"a": 1})
    with pytest.raises(RuntimeError), atomic_open(target) as handle:
        handle.write("half")
        raise RuntimeError("killed")
    assert target.read_text() == '{\n  "a": 1\n}\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]


def test_new_file_gets_umask_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        write_json(tmp_path / "new.json", [])
    finally:
        os.umask(old)
    assert (tmp_path / "new.json").stat().st_mode & 0o777 == 0o644


def test_usual_modes_opens_a_staging_directory_to_the_umask(tmp_path):
    import tempfile

    staging = Path(tempfile.mkdtemp(dir=tmp_path))  # 0700
    (staging / "sub").mkdir(mode=0o700)
    (staging / "sub" / "w.safetensors").write_bytes(b"x")
    os.chmod(staging / "sub" / "w.safetensors", 0o600)  # as safetensors writes it
    old = os.umask(0o027)
    try:
        usual_modes(staging)
    finally:
        os.umask(old)
    modes = {p.name: p.stat().st_mode & 0o777 for p in [staging, *staging.rglob("*")]}
    assert modes == {staging.name: 0o750, "sub": 0o750, "w.safetensors": 0o640}


def test_replace_dir_swaps_a_whole_directory_in_and_leaves_nothing_aside(tmp_path):
    new, target = tmp_path / "new", tmp_path / "target"
    (new / "sub").mkdir(parents=True)
    (new / "sub" / "a.txt").write_text("new")
    target.mkdir()
    (target / "old.txt").write_text("old")
    fsync_tree(new)  # every file synced; nothing changed
    replace_dir(new, target)
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == [
        "target",
        "target/sub",
        "target/sub/a.txt",
    ]
    assert (target / "sub" / "a.txt").read_text() == "new"
    other = tmp_path / "other"
    other.mkdir()
    replace_dir(other, tmp_path / "fresh")  # no directory there yet
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fresh", "target"]
