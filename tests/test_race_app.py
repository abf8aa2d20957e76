"""The race view in the app: opened by R or by an experiment's [race], driven by its keys;
every number it shows is the engine's Race's."""
from __future__ import annotations

import asyncio

from tests.conftest import async_test, flat, screen_text, send_burst, small_exp, start
from tuidl import config as cfg
from tuidl.engine.race import Race
from tuidl.ui.app import TuidlApp
from tuidl.ui.headless import race_until
from tuidl.ui.race_screen import RaceScreen
from tuidl.ui.race_view import RacePlanes, RaceTable, table_cells


def race_exp(epochs: int = 4):
    exp = small_exp()
    exp.train.device, exp.train.epochs = "cpu", epochs
    exp.race = {"optimizer": ["sgd", "adam"], "lr": [0.01, 0.1]}
    return exp


async def shown_when(app, ready, seconds: float = 10) -> str:
    """The screen's text once ready(text) holds: a table redraws its rows when the app is idle."""
    for _ in range(int(seconds / 0.05)):
        text = flat(screen_text(app))
        if ready(text):
            break
        await asyncio.sleep(0.05)
    return text


def cell_text(cell) -> str:
    return cell.plain if hasattr(cell, "plain") else str(cell)


@async_test
async def test_an_experiment_with_a_race_opens_as_one_and_shows_the_engines_numbers():
    app = TuidlApp(race_exp(), in_process=True, deterministic=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await start(app, pilot)
        screen = await race_until(app, lambda p: p.names)
        assert len(screen.query_one(RacePlanes).query("BoundaryPlane")) == 4
        await pilot.press("space")
        await race_until(app, lambda p: p.finished)
        alone = Race(race_exp(), race_exp().race)
        alone.run()
        table = screen.query_one(RaceTable)
        for v, row in enumerate(alone.table()):
            shown = [cell_text(c) for c in table.get_row_at(v)]
            assert shown == [cell_text(c) for c in table_cells(v, row)]
        text = await shown_when(app, lambda t: t.count(" finished") == 5)  # the header and four rows
        assert "4 variants · epoch 4/4 · finished" in text and "■ adam lr=0.1" in text
        assert all(b is not None and b.shape[0] > 0 for b in screen.progress.boundaries)
        await pilot.press("escape")
        assert app.screen is app.main


@async_test
async def test_R_races_the_five_optimizers_and_n_steps_through_one_variant():
    exp = small_exp()
    exp.train.device = "cpu"
    app = TuidlApp(exp, in_process=True, deterministic=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await start(app, pilot)
        assert app.screen is app.main
        await pilot.press("R")
        screen = await race_until(app, lambda p: p.names)
        assert screen.progress.names == ("sgd", "adam", "rmsprop", "adagrad", "adadelta")
        await pilot.press("e")
        await race_until(app, lambda p: p.epoch == 1)
        await pilot.press("down", "down", "n")
        for _ in range(200):
            if screen.stepping:
                break
            await pilot.pause(0.05)
        text = flat(screen_text(app))
        assert "step-through of rmsprop" in text and "phase 1/" in text
        record = screen._step_panel.cursor.record
        assert record.optimizer == "rmsprop" and record.epoch == 2  # the variant's next step, after epoch 1
        await pilot.press("n")
        assert screen._step_panel.cursor.phase_index == 1
        await pilot.press("escape")
        assert not screen.stepping and app.screen is screen
        await pilot.press("a")  # a key of the main screen: said, not done
        assert "works on the main screen" in flat(screen_text(app))
        await pilot.press("escape")
        assert app.screen is app.main and len(app.exp.model.hidden) == 2


@async_test
async def test_the_vary_field_takes_a_race_and_hands_the_keys_back():
    app = TuidlApp(race_exp(), in_process=True, deterministic=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await start(app, pilot)
        screen = await race_until(app, lambda p: p.names)
        build = screen.progress.build
        await pilot.press("v")
        field = screen.query_one("#race-vary")
        assert field.has_focus
        field.value = "lr=1,2,3 batch_size=1,2,3"
        await pilot.press("enter")
        assert "9 variants" in flat(screen_text(app)) and field.has_focus
        field.value = "ln[r]n[2=0.01,0.1"  # brackets typed fast crashed the message line (markup)
        await pilot.press("enter")
        assert "unknown key 'ln[r]n[2'" in flat(screen_text(app))
        await pilot.press("escape")  # restores the race in use and hands the keys back
        assert field.value == "optimizer=sgd,adam lr=0.01,0.1" and not field.has_focus
        await pilot.press("v")
        field.value = "dropout=0,0.2 lr=0.03"
        await pilot.press("enter")
        assert not field.has_focus
        await race_until(app, lambda p: p.build > build)
        assert screen.progress.names == ("dropout=0 lr=0.03", "dropout=0.2 lr=0.03")
        assert app.exp.race == {"dropout": ["0", "0.2"], "lr": ["0.03"]}
        await pilot.press("space")  # a race key again, not typed into the field
        await race_until(app, lambda p: p.epoch >= 1)
        await asyncio.sleep(0)


@async_test
async def test_a_vary_typed_fast_right_after_v_goes_into_the_field():
    """Found in a real terminal: `v` then a race typed at once went to the race's keys
    (r restarted it), because the field took the focus only after the keys behind `v`."""
    app = TuidlApp(race_exp(), in_process=True, deterministic=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await start(app, pilot)
        screen = await race_until(app, lambda p: p.names)
        send_burst(app, "v", "ctrl+a", "ctrl+k", *"lr=0.5,2", "enter")
        await race_until(app, lambda p: p.names == ("lr=0.5", "lr=2"), timeout=10)
        assert app.exp.race == {"lr": ["0.5", "2"]} and not screen.query_one("#race-vary").has_focus


@async_test
async def test_space_typed_right_behind_a_new_race_runs_the_new_race():
    """`v lr=0.5,2 enter space` at once: the space ran the old race, which the new one
    replaced, paused; it waits now until the race has been rebuilt."""
    app = TuidlApp(race_exp(epochs=400), in_process=True, deterministic=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await start(app, pilot)
        await race_until(app, lambda p: p.names)
        send_burst(app, "v", "ctrl+a", "ctrl+k", *"lr=0.5,2", "enter", "space")
        await race_until(app, lambda p: p.names == ("lr=0.5", "lr=2") and p.epoch > 0, timeout=10)


@async_test
async def test_a_race_on_digits_says_there_is_no_plane_to_draw():
    exp = cfg.load("examples/digits.toml")
    exp.train.device, exp.train.epochs, exp.data.samples = "cpu", 2, 300
    exp.race = {"lr": [0.001, 0.003]}
    app = TuidlApp(exp, in_process=True, deterministic=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await start(app, pilot)
        await race_until(app, lambda p: p.names)
        await pilot.press("space")
        screen = await race_until(app, lambda p: p.finished)
        assert "no decision boundary to draw" in flat(screen_text(app))
        assert screen.progress.boundaries == (None, None)
        assert all(row["val_accuracy"] > 0.3 for row in screen.progress.table)
