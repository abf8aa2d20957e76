"""Driving the app headless and deterministically: for the tests and the screenshots.

Each helper waits for what the app has *shown*, not for what the engine has done: a
command counts as done when the app has handled the snapshot that reports it.
"""
from __future__ import annotations

import asyncio
import os
import platform
import time

TIMEOUT = 120.0


def pin_vector_kernels() -> None:
    """Make torch's CPU arithmetic the same on every x86 machine with AVX2; call it before
    torch is imported (its training processes inherit it). Torch picks its vector kernels
    by CPU, AVX2 or AVX-512, and the wider ones add in another order: the last digits
    differ, and a run that swings (the race's rmsprop spike) ends elsewhere, so a snapshot
    drawn on one machine failed on the other."""
    if platform.machine().lower() in ("x86_64", "amd64") and _cpu_has("avx2"):
        os.environ.setdefault("ATEN_CPU_CAPABILITY", "avx2")


def _cpu_has(flag: str) -> bool:
    """Whether Linux lists `flag` among the CPU's flags (False where it cannot tell)."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            return any(line.startswith("flags") and flag in line.split() for line in f)
    except OSError:
        return False


async def _until(app, ready, what: str, timeout: float = TIMEOUT) -> None:
    end = time.monotonic() + timeout
    while not ready():
        if app.load_error:
            raise RuntimeError(app.load_error)
        if time.monotonic() > end:
            raise TimeoutError(what)
        await asyncio.sleep(0.01)


async def wait_ready(app, timeout: float = TIMEOUT) -> None:
    """The forms are up, the engine has loaded and the first network is built."""
    await _until(app, lambda: app.main.forms_ready and app.snap is not None and app.snap.exp is not None, "the engine did not load", timeout)
    await pause(app)


async def wait_done(app, command_id: int, timeout: float = TIMEOUT) -> None:
    await _until(app, lambda: app.snap is not None and app.snap.done >= command_id,
                 f"command {command_id} not done", timeout)
    await pause(app)


async def pause(app) -> None:
    """Every widget has handled its messages (and posted what follows from them)."""
    from textual.pilot import Pilot

    await Pilot(app).pause()


async def settle(app) -> None:
    """Pending messages handled, and every command sent so far shown."""
    await pause(app)
    await wait_done(app, app.session.last_id)


async def train_epochs(app, n: int) -> None:
    """Train exactly n epochs and wait until they are on screen."""
    from tuidl.session.commands import TrainEpochs

    await wait_done(app, app.session.send(TrainEpochs(n)))


async def race_until(app, done, what: str = "the race", timeout: float = TIMEOUT):
    """The race view is on top and its last RaceProgress satisfies done(progress); returns the screen."""
    from tuidl.ui.race_screen import RaceScreen

    def shown() -> bool:
        screen = app.screen
        return isinstance(screen, RaceScreen) and screen.progress is not None and done(screen.progress)

    await _until(app, shown, f"{what} never got there", timeout)
    await pause(app)
    return app.screen
