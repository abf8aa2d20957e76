"""Checkpoint files: resume exactly, read the experiment without torch, save atomically, know junk."""
import copy
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from tuidl import config as cfg
from tuidl.engine import checkpoint as ck
from tuidl.engine.trainer import Trainer


def experiment(**train) -> cfg.Experiment:
    exp = cfg.default_experiment()
    exp.model.hidden[0].dropout = 0.2
    for key, value in train.items():
        setattr(exp.train, key, value)
    return exp


def trained(exp, epochs, steps=0) -> Trainer:
    trainer = Trainer(copy.deepcopy(exp))
    for _ in range(epochs):
        trainer.train_epoch()
    for _ in range(steps):
        trainer.step()
    return trainer


def test_a_checkpoint_resumes_exactly(tmp_path):
    exp = experiment(optimizer="rmsprop", lr=0.01, epochs=10)
    straight = trained(exp, 3, steps=5)
    ck.save_checkpoint(trained(exp, 3, steps=5), tmp_path / "run.pt")
    resumed = ck.load_checkpoint(tmp_path / "run.pt")
    assert resumed.exp == exp and (resumed.epoch, resumed.batch_in_epoch) == (3, 5)
    for _ in range(3):
        assert resumed.train_epoch().val_loss == straight.train_epoch().val_loss
    for (w, b), (sw, sb) in zip(resumed.weights(), straight.weights()):
        np.testing.assert_array_equal(w, sw)
        np.testing.assert_array_equal(b, sb)


def test_the_file_holds_info_experiment_and_state(tmp_path):
    exp = experiment(epochs=4)
    trainer = trained(exp, 4)
    ck.save_checkpoint(trainer, tmp_path / "run.pt")
    with zipfile.ZipFile(tmp_path / "run.pt") as zf:
        assert set(zf.namelist()) == {ck.INFO, ck.EXPERIMENT, ck.STATE}
        assert cfg.loads(zf.read(ck.EXPERIMENT).decode()) == exp
    info = ck.read_checkpoint_info(tmp_path / "run.pt")
    assert info == {"format": "tuidl-checkpoint", "version": 2, "epoch": 4, "steps": trainer.step_count,
                    "status": "finished 4 epochs"}
    assert ck.is_checkpoint(tmp_path / "run.pt") and ck.file_kind(tmp_path / "run.pt") == "checkpoint"


def test_the_experiment_reads_without_torch(tmp_path):
    exp = experiment(lr=0.25)
    ck.save_checkpoint(trained(exp, 1), tmp_path / "run.pt")
    code = ("import sys\nfrom tuidl.engine.checkpoint import read_checkpoint_experiment\n"
            f"exp = read_checkpoint_experiment({str(tmp_path / 'run.pt')!r})\n"
            "print(exp.train.lr, exp.model.hidden[0].dropout, 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["0.25", "0.2", "False"]


def test_more_epochs_let_a_finished_checkpoint_go_on(tmp_path):
    ck.save_checkpoint(trained(experiment(epochs=2), 2), tmp_path / "run.pt")
    assert ck.load_checkpoint(tmp_path / "run.pt").finished
    more = ck.read_checkpoint_experiment(tmp_path / "run.pt")
    more.train.epochs = 5
    trainer = ck.load_checkpoint(tmp_path / "run.pt", more)
    assert trainer.status is None and trainer.epoch == 2
    while trainer.status is None:
        trainer.train_epoch()
    assert (trainer.epoch, trainer.status) == (5, "finished 5 epochs")


def test_saving_replaces_the_file_whole_or_not_at_all(tmp_path, monkeypatch):
    path = tmp_path / "run.pt"
    ck.save_checkpoint(trained(experiment(), 1), path)
    before = path.read_bytes()

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(zipfile.ZipFile, "writestr", broken)
    with pytest.raises(OSError, match="disk full"):
        ck.save_checkpoint(trained(experiment(), 2), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["run.pt"]  # no temporary file left


def test_a_corrupt_state_is_a_config_error_naming_the_file(tmp_path):
    path = tmp_path / "run.pt"
    ck.save_checkpoint(trained(experiment(), 1), path)
    with zipfile.ZipFile(path) as zf:
        members = {name: zf.read(name) for name in zf.namelist()}
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data[:100] if name == ck.STATE else data)
    with pytest.raises(cfg.ConfigError, match="run.pt"):
        ck.load_checkpoint(path)


def test_another_network_cannot_take_the_state(tmp_path):
    path = tmp_path / "run.pt"
    ck.save_checkpoint(trained(experiment(), 1), path)
    other = experiment()
    other.model.hidden[0].units = 5
    with pytest.raises(cfg.ConfigError, match="does not fit"):
        ck.load_checkpoint(path, other)


def test_file_kinds(tmp_path):
    import torch

    (tmp_path / "a.toml").write_text("[train]\nlr = 0.1\n")
    (tmp_path / "junk.bin").write_bytes(bytes(range(256)) * 4)
    (tmp_path / "x.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    with zipfile.ZipFile(tmp_path / "other.zip", "w") as zf:
        zf.writestr("readme.txt", "hello")
    torch.save({"weights": torch.zeros(3)}, tmp_path / "model.pt")
    kinds = {name: ck.file_kind(tmp_path / name) for name in ("a.toml", "junk.bin", "x.png", "other.zip",
                                                              "model.pt", "missing.toml")}
    assert kinds == {"a.toml": "experiment", "junk.bin": "other", "x.png": "other", "other.zip": "other",
                     "model.pt": "other", "missing.toml": "missing"}
    assert "PyTorch" in ck.not_ours_message(tmp_path / "model.pt")
    assert ck.not_ours_message(tmp_path / "x.png").startswith(f"{tmp_path / 'x.png'}: neither")
    with pytest.raises(cfg.ConfigError, match="other.zip"):
        ck.read_checkpoint_experiment(tmp_path / "other.zip")


def test_a_save_removes_the_temporary_files_that_killed_saves_left(tmp_path):
    import os
    import time

    from tuidl import config as cfg
    from tuidl.engine.checkpoint import STALE_SECONDS, save_checkpoint
    from tuidl.engine.trainer import Trainer

    exp = cfg.default_experiment()
    exp.data.samples, exp.train.device = 100, "cpu"
    path = tmp_path / "run.ckpt"
    stale = tmp_path / ".run.ckpt.abc123.tmp"  # what mkstemp named a save killed mid-write
    fresh = tmp_path / ".run.ckpt.def456.tmp"  # a save under way right now
    other = tmp_path / ".other.ckpt.ghi789.tmp"  # another checkpoint's
    for f in (stale, fresh, other):
        f.write_bytes(b"partial")
    old = time.time() - STALE_SECONDS - 10
    os.utime(stale, (old, old))
    os.utime(other, (old, old))
    save_checkpoint(Trainer(exp), path)
    assert path.exists() and not stale.exists() and fresh.exists() and other.exists()
