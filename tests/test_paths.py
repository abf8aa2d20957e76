"""Files written whole (tuidl.paths.write_atomic): the experiment, the checkpoint and the
export all go through it."""
from __future__ import annotations

import os
import stat

import pytest

from conftest import small_exp
from tuidl import config as cfg
from tuidl.engine.checkpoint import save_checkpoint
from tuidl.engine.trainer import Trainer
from tuidl.export import export
from tuidl.paths import write_atomic

posix_only = pytest.mark.skipif(os.name != "posix", reason="permission bits are POSIX's")


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def write_all(folder) -> list:
    exp = small_exp()
    cfg.save(exp, folder / "exp.toml")
    trainer = Trainer(exp)
    save_checkpoint(trainer, folder / "run.ckpt")
    export(trainer, folder / "run.py", folder / "run.pt")
    return [folder / name for name in ("exp.toml", "run.ckpt", "run.py", "run.pt")]


@posix_only
def test_saved_files_can_be_read_by_others_as_any_new_file_can(tmp_path, umask_022):
    """The temporary file's 0600 made every saved experiment, checkpoint and exported script
    private to its writer: a teacher's shared files could not be opened by the class."""
    for path in write_all(tmp_path):
        assert mode(path) == 0o644, path.name
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


@posix_only
def test_a_file_written_again_keeps_its_mode(tmp_path, umask_022):
    paths = write_all(tmp_path)
    for path in paths:
        os.chmod(path, 0o640)
    write_all(tmp_path)
    assert [mode(p) for p in paths] == [0o640] * len(paths)


def test_a_failed_write_leaves_the_old_file_and_no_temporary_one(tmp_path):
    path = tmp_path / "exp.toml"
    path.write_text("old")

    def half_then_fail(f):
        f.write(b"new, cut sh")
        raise ValueError("no more")

    with pytest.raises(ValueError):
        write_atomic(path, half_then_fail)
    assert path.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["exp.toml"]


def test_an_error_names_the_file_not_the_temporary_one(tmp_path):
    path = tmp_path / "missing folder" / "exp.toml"
    with pytest.raises(FileNotFoundError) as caught:
        write_atomic(path, lambda f: f.write(b"x"))
    assert caught.value.filename == str(path)
