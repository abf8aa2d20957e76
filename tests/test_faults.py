"""Device faults: a device that is not there, and running out of memory while training.

The app greys out a device this machine lacks and refuses it by name; `tuidl train` says so
in one line (exit status 2). Out of memory (simulated: the trainer raises what torch raises)
stops the run with a message that says what to make smaller, and the app goes on.
"""
from __future__ import annotations

import subprocess
import sys

import pytest
import torch
from conftest import async_test, settle, small_exp, start

from tuidl.engine.devices import available_devices
from tuidl.engine.trainer import Trainer
from tuidl.ui.app import TuidlApp

MISSING = [d for d in ("cuda", "mps") if available_devices().get(d) is None]
OUT_OF_MEMORY = {
    "torch": lambda: torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 1.00 GiB free)"),
    "runtime": lambda: RuntimeError("CUDA out of memory. Tried to allocate 20.00 MiB"),
}


@pytest.mark.parametrize("device", MISSING or [pytest.param("cuda", marks=pytest.mark.skip("every device is here"))])
def test_train_on_a_device_that_is_not_here_is_one_line(device):
    result = subprocess.run([sys.executable, "-m", "tuidl", "train", "examples/playground.toml", "--device", device],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("tuidl: error: ") and device in lines[0]


@pytest.mark.skipif(not MISSING, reason="every device is here")
@async_test
async def test_the_app_greys_out_a_device_that_is_not_here_and_refuses_it():
    app = TuidlApp(small_exp(), in_process=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await start(app, pilot)
        for device in MISSING:
            assert app.main.query_one(f"#dev-{device}").disabled
            app.action_choose("device", device)  # the palette's "Device: cuda"
            await settle(app)
            assert app.exp.train.device == "auto" and app.snap.exp.train.device == "auto"
            assert device in app.last_message
        await pilot.press("e")
        await settle(app)
        assert app.snap.epoch == 1


def failing_after(epochs: int, error):
    """Trainer.train_epoch that trains `epochs` epochs, then raises `error()` once."""
    real = Trainer.train_epoch
    left = {"epochs": epochs, "raised": False}

    def train_epoch(self, *args, **kwargs):
        if left["epochs"] == 0 and not left["raised"]:
            left["raised"] = True
            raise error()
        left["epochs"] -= 1
        return real(self, *args, **kwargs)

    return train_epoch


@pytest.mark.parametrize("kind", list(OUT_OF_MEMORY))
@async_test
async def test_out_of_memory_while_training_stops_the_run_and_the_app_goes_on(monkeypatch, kind):
    monkeypatch.setattr(Trainer, "train_epoch", failing_after(3, OUT_OF_MEMORY[kind]))
    exp = small_exp()
    exp.train.epochs = 1000
    app = TuidlApp(exp, in_process=True)  # the worker runs in a thread here: the patch reaches it
    async with app.run_test(size=(120, 40)) as pilot:
        await start(app, pilot)
        await pilot.press("space")
        for _ in range(1000):
            await pilot.pause(0.02)
            if "out of memory" in app.last_message:
                break
        await settle(app)
        assert app.last_message.startswith("training stopped: out of memory (")
        assert "batch size or the network smaller" in app.last_message
        assert not app.snap.running and app.snap.epoch == 3 and app.snap.status is None
        await pilot.press("e")  # memory is there again: training goes on from where it was
        await settle(app)
        assert app.snap.epoch == 4 and app.is_running and app._exception is None


@pytest.mark.parametrize("kind", list(OUT_OF_MEMORY))
def test_out_of_memory_in_tuidl_train_is_one_line(kind):
    code = ("import sys, torch\n"
            "from tuidl.engine.trainer import Trainer\n"
            f"def oom(self, *a, **k): raise {'torch.OutOfMemoryError' if kind == 'torch' else 'RuntimeError'}"
            f"({OUT_OF_MEMORY[kind]().args[0]!r})\n"
            "Trainer.train_epoch = oom\n"
            "from tuidl.cli import main\n"
            "sys.argv = ['tuidl', 'train', 'examples/playground.toml', '--json']\n"
            "main()\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 1 and "Traceback" not in result.stderr and result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("tuidl: error: out of memory on cpu"), lines
    assert lines[0].endswith(" in epoch 1: make the batch size or the network smaller, or train on the CPU (--device cpu)")
