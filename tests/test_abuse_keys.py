"""Seeded random keys and clicks at the app while it trains (Pilot), as a curious learner types.

Every binding of the app and the main screen, digits, letters, tab, enter, escape, the
palette, the arrows and the page keys, and clicks anywhere; the race view (`R`), the save
and quit questions and the forms included. Afterwards the app must be alive and answer a
key, nothing may have gone wrong on the way (no exception, no error the worker caught
from a bug), the epoch may only have gone back when the network was rebuilt, and the
experiment the app holds must be valid and the engine's.

A short run always; `TUIDL_LONG_TESTS=1` runs 2,000 keys per seed.
"""
from __future__ import annotations

import os
import random
import re

import pytest
from conftest import async_test, settle, start

from tuidl import config as cfg
from tuidl.ui.app import TuidlApp

LONG = bool(os.environ.get("TUIDL_LONG_TESTS"))

# every binding of TuidlApp and MainScreen (q, ctrl+q and ctrl+s open their questions)
BINDINGS = ["space", "e", "n", "r", "a", "x", "plus", "equals_sign", "minus", "l", "R", "G", "question_mark", "q",
            "ctrl+q", "ctrl+s", "p", "escape", "left_square_bracket", "right_square_bracket", "up", "down",
            "1", "2", "3", "4", "w", "g", "pageup", "pagedown", "home", "end"]
OTHERS = (["tab", "shift+tab", "enter", "enter", "escape", "escape", "ctrl+p", "left", "right", "backspace",
           "full_stop", "v", "d", "s", "c"]
          + list("0123456789") + list("abcdefghijklmnopqrstuvwxyz"))
SIZE = (120, 40)
# what the worker says when a command met an exception that is not a refusal: a bug
BUG = re.compile(r"\b(\w*Error|\w*Exception|AssertionError|KeyError|IndexError|AttributeError|TypeError)\b: ")


class WatchedApp(TuidlApp):
    """The real app; it keeps running when asked to quit (the test counts the requests) and
    records what the engine says."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.quits = 0
        self.failures: list[str] = []
        self.went_back: list[tuple] = []
        self._last: tuple[int, int, int] | None = None  # (build, epoch, steps) of the last snapshot

    def exit(self, *args, **kwargs) -> None:
        self.quits += 1

    def on_engine_event(self, message) -> None:
        from tuidl.session import events as ev

        event = message.event
        if isinstance(event, (ev.Failed, ev.Notice, ev.EngineFailed)) and BUG.search(event.message):
            self.failures.append(event.message)
        if isinstance(event, ev.Progress):
            snap = event.snapshot
            now = (snap.build, snap.epoch, snap.steps)
            if self._last is not None and now[0] == self._last[0] and (now[1] < self._last[1] or now[2] < self._last[2]):
                self.went_back.append((self._last, now))
            if self._last is not None and now[0] < self._last[0]:
                self.went_back.append((self._last, now))
            self._last = now


def keys(rng: random.Random, n: int) -> list[str]:
    return [rng.choice(BINDINGS) if rng.random() < 0.6 else rng.choice(OTHERS) for _ in range(n)]


async def back_to_the_main_screen(app, pilot) -> None:
    for _ in range(8):
        if app.screen is app.main:
            return
        await pilot.press("escape")
        await pilot.pause()
    raise AssertionError(f"escape does not lead back to the main screen: {app.screen_stack}")


async def abuse(seed: int, n: int, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # saves and exports the keys ask for are written here
    rng = random.Random(seed)
    exp = cfg.default_experiment()
    exp.data.samples = 200
    app = WatchedApp(exp, in_process=True)
    async with app.run_test(size=SIZE) as pilot:
        await start(app, pilot)
        await pilot.press("space")  # training runs
        for i, key in enumerate(keys(rng, n)):
            if rng.random() < 0.03:
                await pilot.click(offset=(rng.randrange(SIZE[0]), rng.randrange(SIZE[1])))
            await pilot.press(key)
            assert app.is_running and app._exception is None, (i, key, app._exception)
        await back_to_the_main_screen(app, pilot)
        await settle(app)  # every command sent is done and shown
        assert app._exception is None and app.return_code is None
        assert not app.failures, app.failures
        assert not app.went_back, app.went_back
        cfg.validate(app.exp, "the app's experiment")
        assert app.exp == app.snap.exp
        # alive, and it answers a key
        from tuidl.ui.help import HelpScreen

        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is app.main
        steps = app.snap.steps
        build = app.snap.build
        if app.snap.status is None:
            await pilot.press("e")
            await settle(app)
            assert app.snap.build != build or app.snap.steps > steps
    assert app._exception is None


@pytest.mark.parametrize("seed", [1, 2])
@async_test
async def test_random_keys_and_clicks_while_training(seed, tmp_path, monkeypatch):
    await abuse(seed, 150, tmp_path, monkeypatch)


@pytest.mark.skipif(not LONG, reason="set TUIDL_LONG_TESTS=1 for the long run")
@pytest.mark.parametrize("seed", [3, 4])
@async_test
async def test_thousands_of_random_keys_and_clicks_while_training(seed, tmp_path, monkeypatch):
    await abuse(seed, 2000, tmp_path, monkeypatch)
