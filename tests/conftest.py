"""Shared fixtures and helpers: experiments, and driving the app through Pilot."""
from __future__ import annotations

import asyncio
import functools
import os

from tuidl import config as cfg
from tuidl.ui import headless

headless.pin_vector_kernels()  # the snapshots are the same on every x86 machine


def pytest_xdist_auto_num_workers(config) -> int:
    """`-n auto`: one worker more than the cores this process may use. A test is often
    waiting rather than working: Pilot's pause sleeps in 20 ms slices until the app is idle,
    and tests wait on real terminals and training processes. On a 2-core machine the suite
    took 357 s with 2 workers, 329 s with 3 and 339 s with 4."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return cores + 1


def async_test(fn):
    """Run an async test with asyncio.run (no pytest-asyncio needed)."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return asyncio.run(fn(*args, **kwargs))
    return wrapper


def small_exp(dataset: str = "circle") -> cfg.Experiment:
    exp = cfg.default_experiment()
    exp.data.dataset = dataset
    exp.data.samples = 200
    return exp


def screen_text(app) -> str:
    """What the terminal shows, as text."""
    strips = app.screen._compositor.render_strips()
    return "\n".join("".join(seg.text for seg in strip) for strip in strips)


def flat(text: str) -> str:
    return " ".join(text.split())


def widget(app, selector: str):
    """A widget of the main screen (also while the help or the palette is on top)."""
    return app.main.query_one(selector)


async def start(app, pilot) -> None:
    await pilot.pause()
    await headless.wait_ready(app)
    await pilot.pause()


async def submit(pilot, app, selector: str, text: str) -> None:
    """Type a value into a field as a person does: focus it, replace the text, enter."""
    field = widget(app, selector)
    field.focus()
    await pilot.pause()
    field.value = text
    await pilot.press("enter")
    await headless.settle(app)
    await pilot.pause()


async def run_until_it_stops(pilot, app, seconds: float = 10) -> None:
    """Press space and wait until the run stops by itself (diverged, early stopping, done)."""
    await pilot.press("space")
    for _ in range(int(seconds / 0.05)):
        await pilot.pause(0.05)
        if app.snap.status:
            break
    await headless.settle(app)


settle = headless.settle
train_epochs = headless.train_epochs


def send_burst(app, *keys: str) -> None:
    """Keys as a terminal sends them typed fast: all at once, none waiting for the app to
    answer the one before (Pilot's press waits after each key, which hides what this finds).
    Key names as Pilot's press takes them ("v", "ctrl+a", "=", "enter")."""
    import unicodedata

    from textual import events
    from textual.keys import REPLACED_KEYS, _character_to_key, _get_unicode_name_from_key

    for key in keys:
        if len(key) == 1 and not key.isalnum():
            key = _character_to_key(key)
        try:
            char = unicodedata.lookup(_get_unicode_name_from_key(REPLACED_KEYS.get(key, key)))
        except KeyError:
            char = key if len(key) == 1 else None
        event = events.Key(key, char)
        event.set_sender(app)
        app._driver.send_message(event)
