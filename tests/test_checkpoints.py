"""The one atomic writer (dcgan_lib.core.store.write_atomic) behind checkpoints, datasets and records."""
import os

import pytest
import torch

from dcgan_lib.core import store


def test_files_get_the_users_permissions_not_mkstemps_private_ones(tmp_path):
    old = os.umask(0o022)
    try:
        store.save_atomic({"a": torch.ones(2)}, tmp_path / "c.pt")
        store.write_text_atomic("[]", tmp_path / "r.json")
    finally:
        os.umask(old)
    assert (tmp_path / "c.pt").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "r.json").read_text() == "[]" and (tmp_path / "r.json").stat().st_mode & 0o777 == 0o644


def test_a_killed_saves_temporary_file_is_removed_by_the_next_save(tmp_path):
    dead = tmp_path / ".c.pt.999999999.x1.tmp"         # no process has this id
    alive = tmp_path / f".c.pt.{os.getppid()}.x2.tmp"  # a save still running in another process: kept
    other = tmp_path / ".d.pt.999999999.x3.tmp"        # another file's: not ours to touch
    for f in (dead, alive, other):
        f.write_bytes(b"half a checkpoint")
    store.save_atomic({"a": torch.ones(2)}, tmp_path / "c.pt")
    assert not dead.exists() and alive.exists() and other.exists()
    assert torch.equal(store.load(tmp_path / "c.pt")["a"], torch.ones(2))


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "c.pt"
    store.save_atomic({"a": torch.zeros(1)}, path)

    def broken(f):
        f.write(b"partial")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="disk of .* is full.*previous c.pt .* is intact"):
        store.write_atomic(path, broken)
    assert torch.equal(store.load(path)["a"], torch.zeros(1))
    assert [p.name for p in tmp_path.iterdir()] == ["c.pt"]
