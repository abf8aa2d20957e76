"""Keys typed in one burst, as a terminal sends them, go where the focus is by their turn:
after a key that moves the focus or opens a screen (tuidl/ui/keys_follow_focus.py). Pilot's
press waits after each key, which hides this; `send_burst` does not wait.
Keys bound to the app (`?` then escape) were fine already: Textual looks up a binding
when the key comes back up, on the screen then on top. (The race view's `v` then a race:
tests/test_race_app.py.)"""
from __future__ import annotations

import numpy as np

from conftest import async_test, send_burst, settle, small_exp, start, train_epochs
from tuidl.ui.app import TuidlApp

SIZE = (120, 40)


@async_test
async def test_a_file_name_typed_right_behind_ctrl_s_is_the_one_saved(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = TuidlApp(small_exp(), deterministic=True, in_process=True)
    async with app.run_test(size=SIZE) as pilot:
        await start(app, pilot)
        await train_epochs(app, 1)
        send_burst(app, "ctrl+s", "ctrl+a", "ctrl+k", *"mine.ckpt", "enter")
        await pilot.pause(0.3)
        await settle(app)
        assert app.screen is app.main and (tmp_path / "mine.ckpt").is_file()


@async_test
async def test_a_weight_typed_right_behind_the_enter_that_opens_its_editor():
    app = TuidlApp(small_exp(), deterministic=True, in_process=True)
    async with app.run_test(size=SIZE) as pilot:
        await start(app, pilot)
        send_burst(app, "w", "enter", "enter", "ctrl+u", *"-1.5", "enter")  # W¹[0, 0]: its editor, a value
        await pilot.pause(0.3)
        await settle(app)
        assert app.screen is app.main and app.snap.weights[0][0][0, 0] == np.float32(-1.5)


async def burst(*keys: str, field: str | None = None, tab: str = "training", exp=None) -> TuidlApp:
    """A new app on `exp` (small_exp()), with `field` of the side panel's `tab` focused if given, and
    `keys` sent in one burst; returns the app once everything they asked for is on screen
    (and it has closed)."""
    app = TuidlApp(exp or small_exp(), deterministic=True, in_process=True)
    async with app.run_test(size=SIZE) as pilot:
        await start(app, pilot)
        if field is not None:
            app.main.action_tab(tab)
            await pilot.pause()
            app.screen.set_focus(app.main.query_one(field))
            await pilot.pause()
        send_burst(app, *keys)
        await pilot.pause(0.5)
        await settle(app)
    return app


@async_test
async def test_space_typed_right_behind_a_value_runs_the_network_the_value_built():
    """Found in a terminal: `0.5 enter space` at once left the new network paused. The
    space's Run reached the engine before the value's rebuild (which starts paused): the
    value travels up as messages, the space as a key, and the key got there first."""
    app = await burst("ctrl+a", "ctrl+k", *"0.5", "enter", "space", field="#f-lr")
    assert app.snap.exp.train.lr == 0.5 and app.snap.epoch > 0  # built, then run (on, or to its end)


@async_test
async def test_a_choice_typed_fast_is_the_one_chosen_and_the_keys_behind_it_go_to_the_app():
    """Found in a terminal: `enter down enter space` on the loss chose mean squared error,
    not the cross-entropy under the cursor: the list took the focus only after the keys
    behind the first enter (they reopened it), and the space went into the open list as a
    search for " " before the enter's choice was made; the space never ran."""
    app = await burst("enter", "down", "enter", "space", field="#f-loss")
    assert app.snap.exp.train.loss == "ce" and app.snap.epoch > 0  # binary cross-entropy, then cross-entropy


@async_test
async def test_space_typed_right_behind_the_lesson_chosen_runs_the_lesson():
    app = await burst("l", "down", "down", "enter", "space")
    assert app.lesson.name == "non-linearity" and app.snap.exp == app.exp and app.snap.epoch > 0


@async_test
async def test_space_typed_right_behind_a_command_of_the_palette_runs_after_it():
    app = await burst("ctrl+p", *"optimizer adam", "enter", "space")
    assert app.snap.exp.train.optimizer == "adam" and app.snap.epoch > 0


@async_test
async def test_enter_typed_before_the_palettes_search_ends_runs_the_best_match_of_all_typed(monkeypatch):
    """Found by the suite, one run in eight: the enter picked the top match of a search for
    fewer letters (or nothing, before any search had ended). A slow search makes it certain."""
    import asyncio

    from tuidl.ui.palette import Palette

    search = Palette._search_for

    async def slow_search(self, value):
        await asyncio.sleep(0.1)
        async for hit in search(self, value):
            yield hit

    monkeypatch.setattr(Palette, "_search_for", slow_search)
    app = await burst("ctrl+p", *"optimizer adam", "enter", "space")
    assert app.snap.exp.train.optimizer == "adam" and app.snap.epoch > 0


@async_test
async def test_a_field_found_in_the_palette_takes_the_value_typed_right_behind_it():
    """`ctrl+p early stop enter 20 enter space`, typed at once from the Data tab: the
    Train tab's early stop field takes the 20, and the space runs the network it built."""
    app = await burst("ctrl+p", *"field early stop", "enter", "ctrl+a", "ctrl+k", *"20", "enter", "space")
    assert app.snap.exp.train.early_stopping == 20 and app.snap.epoch > 0  # the space was the app's again


@async_test
async def test_an_epoch_typed_right_behind_a_weight_trains_from_that_weight():
    """The epoch had trained first, and then the weight was set: it stayed at -1.5."""
    app = await burst("w", "enter", "enter", "ctrl+u", *"-1.5", "enter", "e")  # W¹[0, 0], then one epoch
    weight = app.snap.weights[0][0][0, 0]
    assert app.snap.epoch == 1 and weight != np.float32(-1.5) and abs(weight + 1.5) < 0.5


@async_test
async def test_an_epoch_typed_right_behind_a_checkbox_trains_the_network_it_built():
    exp = small_exp()
    exp.train.options = {"momentum": 0.9}  # nesterov needs momentum
    app = await burst("space", "e", field="#opt-nesterov", exp=exp)
    assert app.snap.exp.train.options["nesterov"] is True and app.snap.epoch == 1


@async_test
async def test_an_epoch_typed_right_behind_a_device_trains_on_it():
    app = await burst("down", "down", "enter", "e", field="#f-device", tab="device")  # auto, then cpu
    assert app.snap.exp.train.device == "cpu" and app.snap.epoch == 1


@async_test
async def test_an_epoch_typed_right_behind_a_feature_trains_without_it():
    app = await burst("space", "e", field="#f-features", tab="data")  # x1 off
    assert app.snap.exp.data.features == ["x2"] and app.snap.epoch == 1
