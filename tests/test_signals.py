"""ctrl+c (SIGINT) and SIGTERM in `tuidl train`: it stops after the mini-batch under way, writes
--save, prints the summary so far and exits 128 + the signal (130, 143), never a traceback;
and the run saved goes on exactly as if it had not been stopped."""
from __future__ import annotations

import copy
import json
import signal
import subprocess
import sys

import pytest

from tuidl import config as cfg
from tuidl.engine.trainer import Trainer


def experiment() -> cfg.Experiment:
    exp = cfg.default_experiment()
    exp.data.samples, exp.train.batch_size, exp.train.epochs = 200, 4, 10  # 25 batches an epoch
    exp.model.hidden[0].dropout = 0.2  # the dropout generator must resume too
    return exp


def timeless(record):
    import dataclasses

    return dataclasses.replace(record, seconds=0.0)


def test_train_epoch_stops_after_the_step_asked_and_goes_on_exactly(tmp_path):
    from tuidl.engine.checkpoint import load_checkpoint, save_checkpoint

    unbroken = Trainer(experiment())
    expected = [unbroken.train_epoch() for _ in range(3)]
    trainer = Trainer(experiment())
    asked = []
    assert trainer.train_epoch(stop=lambda: asked.append(1) or len(asked) == 7) is None
    assert (trainer.epoch, trainer.batch_in_epoch, trainer.step_count, trainer.history) == (0, 7, 7, [])
    assert timeless(trainer.train_epoch(stop=lambda: False)) == timeless(expected[0])  # the rest of epoch 1
    save_after = 11
    asked.clear()
    assert trainer.train_epoch(stop=lambda: asked.append(1) or len(asked) == save_after) is None
    save_checkpoint(trainer, tmp_path / "run.ckpt")
    resumed = load_checkpoint(tmp_path / "run.ckpt")
    assert (resumed.epoch, resumed.batch_in_epoch) == (1, save_after)
    for record in (resumed.train_epoch(), resumed.train_epoch()):
        assert timeless(record) == timeless(expected[record.epoch - 1])
    for a, b in zip(resumed.weights(), unbroken.weights()):
        assert all((x == y).all() for x, y in zip(a, b))


def test_a_stop_never_asked_after_the_last_step_ends_the_epoch():
    trainer = Trainer(experiment())
    record = trainer.train_epoch(stop=lambda: trainer._cursor >= trainer.batches_per_epoch - 1)
    assert record is not None and trainer.epoch == 1 and trainer.batch_in_epoch == 0


def long_epochs(tmp_path) -> str:
    """4,500 mini-batches an epoch: a signal lands within an epoch."""
    path = tmp_path / "long.toml"
    path.write_text('[data]\nsamples = 5000\ntrain_fraction = 0.9\n[train]\nbatch_size = 1\nepochs = 100000\n')
    return str(path)


def into_epoch_2(process: subprocess.Popen) -> None:
    """Epoch 1 is printed; a moment later epoch 2 is under way (the signal must not come
    between the line and the next step: then it would stop at the epoch's end, rightly)."""
    import time

    assert json.loads(process.stdout.readline())["epoch"] == 1
    time.sleep(0.1)


def start(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "tuidl", "train", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("sig, status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_stops_after_the_batch_saves_and_sums_up(tmp_path, sig, status):
    exp, save = long_epochs(tmp_path), tmp_path / "run.ckpt"
    process = start(exp, "--json", "--save", str(save))
    into_epoch_2(process)
    process.send_signal(sig)
    out, err = process.communicate(timeout=120)
    assert process.returncode == status, err
    assert "Traceback" not in err and "stopping after this batch" in err
    summary = json.loads(out.splitlines()[-1])
    assert summary["final"] and summary["interrupted"] and summary["saved"] == str(save)
    epochs, batch = summary["epochs"], summary["batch_in_epoch"]
    assert 0 < batch < 4500, summary  # stopped within the epoch, not at its end
    by = "" if sig == signal.SIGINT else " by SIGTERM"
    assert summary["status"] == f"interrupted{by} after batch {batch} of 4500 of epoch {epochs + 1}"
    assert summary["steps"] == epochs * 4500 + batch
    from tuidl.engine.checkpoint import load_checkpoint

    saved = load_checkpoint(save)
    assert (saved.epoch, saved.batch_in_epoch, saved.step_count) == (epochs, batch, summary["steps"])
    assert summary["train_loss"] == saved.evaluate_both()[0]  # the figures of the weights saved
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_the_run_stopped_within_an_epoch_goes_on_as_if_unbroken(tmp_path):
    exp, save = long_epochs(tmp_path), str(tmp_path / "run.ckpt")
    process = start(exp, "--json", "--save", save)
    into_epoch_2(process)
    process.send_signal(signal.SIGINT)
    out, _ = process.communicate(timeout=120)
    summary = json.loads(out.splitlines()[-1])
    total = summary["epochs"] + 1

    def lines(*args: str) -> list[dict]:
        result = subprocess.run([sys.executable, "-m", "tuidl", "train", *args, "--epochs", str(total), "--json"],
                                capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr
        return [json.loads(line) for line in result.stdout.splitlines()]

    keys = ("epoch", "train_loss", "val_loss", "train_accuracy", "val_accuracy")
    resumed, unbroken = lines(save), lines(exp)
    assert [[e[k] for k in keys] for e in resumed[:-1]] == [[e[k] for k in keys] for e in unbroken[total - 1:-1]]
    assert resumed[-1]["epochs"] == total and resumed[-1]["status"] == f"finished {total} epochs"


def test_the_progress_bar_run_stops_too_and_prints_its_summary(tmp_path):
    import time

    process = start(long_epochs(tmp_path))
    time.sleep(3)  # into `tuidl train` (loading torch, or training: either way it stops cleanly)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 130 and "Traceback" not in err
    assert "interrupted " in out and "train loss" in out


def test_a_second_signal_aborts_at_once_without_a_traceback(tmp_path):
    process = start(long_epochs(tmp_path), "--json")
    process.stdout.readline()
    process.send_signal(signal.SIGINT)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 130 and "Traceback" not in err
