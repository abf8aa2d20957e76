"""Pilot tests: the app driven by keys and clicks, checked against the engine's records."""
from __future__ import annotations

import copy
import re
import subprocess
import sys
import time

import pytest
from conftest import (
    async_test,
    flat,
    run_until_it_stops,
    screen_text,
    settle,
    small_exp,
    start,
    submit,
    train_epochs,
    widget,
)

from tuidl import config as cfg
from tuidl.config import Layer
from tuidl.explain import fmt, phases
from tuidl.ui.app import TuidlApp
from tuidl.ui.help import HelpScreen


def test_app_module_does_not_import_torch():
    code = "import sys, tuidl.ui.app; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_first_frame_imports_neither_numpy_nor_the_views():
    mods = ("numpy", "tuidl.data", "tuidl.session", "tuidl.ui.stepthrough", "tuidl.ui.plane", "tuidl.ui.diagram",
            "tuidl.explain", "tuidl.hand_points", "tomllib", "tomli_w")  # the default experiment reads no TOML
    code = f"import sys, tuidl.cli, tuidl.ui.app; print([m for m in {mods!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


class HeldApp(TuidlApp):
    """The app held at its first frame (the skeleton): the test fills the panes."""

    async def _after_first_frame(self) -> None:
        pass


@async_test
async def test_skeleton_first_and_keys_pressed_on_it_change_nothing():
    app = HeldApp(small_exp(), deterministic=True, in_process=True)
    before = copy.deepcopy(app.exp)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        text = screen_text(app)
        assert "network 2→4→2→1" in text and "decision boundary" in text and "training" in text
        assert "loading PyTorch" in text and "q quit" in text
        for key in ("space", "e", "n", "r", "a", "x", "escape", "right_square_bracket", "down", "2", "plus"):
            await pilot.press(key)
        assert app.session is None and not app.main.filled and app.exp == before
        await TuidlApp._after_first_frame(app)
        await start(app, pilot)
        assert app.exp == before and app.snap.epoch == 0 and not app.main.stepping
        assert widget(app, "#tabs").active == "tab-data"
        assert "epoch" in screen_text(app)


@async_test
async def test_a_tab_key_shows_its_tab_with_no_sliding_underline(monkeypatch):
    """The underline's slide was some 18 frames after each tab key, and the next key waited
    behind them; TEXTUAL_ANIMATIONS, where a person sets it, still decides."""
    from textual.widgets._tabs import Underline

    monkeypatch.delenv("TEXTUAL_ANIMATIONS", raising=False)
    slides = []
    monkeypatch.setattr(Underline, "animate", lambda self, attribute, *args, **kwargs: slides.append(attribute))
    app = TuidlApp(small_exp(), in_process=True, deterministic=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await start(app, pilot)
        for key, tab in (("3", "tab-training"), ("1", "tab-data"), ("2", "tab-network")):
            await pilot.press(key)
            assert widget(app, "#tabs").active == tab
        assert slides == []
    monkeypatch.setenv("TEXTUAL_ANIMATIONS", "full")
    assert TuidlApp(small_exp()).animation_level == "full"


@async_test
async def test_first_frame_then_engine_loads_in_its_own_process():
    app = TuidlApp(small_exp(), deterministic=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await start(app, pilot)
        await pilot.pause(0.2)
        text = screen_text(app)
        assert "device: cpu" in text and "loading PyTorch" not in text
        assert app.session.in_process is False
        assert sorted(widget(app, "#f-features").selected) == ["x1", "x2"]
        await train_epochs(app, 3)
        assert app.snap.epoch == 3 and len(app.snap.history) == 3


@async_test
async def test_build_2_8_8_1_relu_spiral_adam_and_train():
    app = TuidlApp(small_exp(), deterministic=True, in_process=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await start(app, pilot)
        widget(app, "#f-dataset").value = "spiral"
        await settle(app)
        await pilot.press("2")  # the Network tab
        await pilot.pause()
        await submit(pilot, app, "#f-units", "8")
        widget(app, "#f-activation").value = "relu"
        await settle(app)
        app.select_layer(1)  # as a click on the diagram's column does
        await submit(pilot, app, "#f-units", "8")
        widget(app, "#f-activation").value = "relu"
        await settle(app)
        await pilot.press("3")
        widget(app, "#f-optimizer").value = "adam"
        await settle(app)
        await submit(pilot, app, "#f-lr", "0.01")
        exp = app.exp
        assert exp.data.dataset == "spiral"
        assert [(l.units, l.activation) for l in exp.model.hidden] == [(8, "relu"), (8, "relu")]
        assert exp.train.optimizer == "adam" and exp.train.lr == 0.01
        assert app.snap.exp == exp  # the engine was rebuilt with it, and the screen says so
        assert "re-initialised" in app.last_message
        assert "2→8→8→1" in screen_text(app)
        assert [W.shape for W, _ in app.snap.weights] == [(8, 2), (8, 8), (1, 8)]
        await train_epochs(app, 5)
        first = app.snap.history[0].train_loss
        await train_epochs(app, 30)
        assert app.snap.history[-1].train_loss < first and app.snap.epoch == 35
        await pilot.pause()
        assert "epoch 35" in flat(screen_text(app))


@async_test
async def test_keys_after_a_field_go_to_the_app_not_the_field():
    """The trap a new user hit: units became 83 because '3' went into the field."""
    app = TuidlApp(small_exp(), deterministic=True, in_process=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await start(app, pilot)
        await pilot.press("2")
        units = widget(app, "#f-units")
        units.focus()
        await pilot.pause()
        await pilot.press("8", "enter")  # focusing selects the text: typing replaces it
        await settle(app)
        assert app.exp.model.hidden[0].units == 8
        await pilot.press("3", "e")
        await settle(app)
        assert widget(app, "#tabs").active == "tab-training"
        assert units.value == "8" and app.exp.model.hidden[0].units == 8
        assert app.snap.epoch == 1  # 'e' trained an epoch
        # a value typed but not entered is never applied, and focus leaving the field keeps the value in use
        await pilot.press("2")
        units.focus()
        await pilot.pause()
        await pilot.press("5")
        await pilot.press("escape")
        await pilot.pause()
        assert units.value == "8" and app.exp.model.hidden[0].units == 8
        assert not units.has_focus
        # a tab's key works from a button of another tab too (its focus used to pull the tab back)
        widget(app, "#b-add").focus()
        await pilot.press("3")
        await pilot.pause()
        assert widget(app, "#tabs").active == "tab-training"


@async_test
async def test_add_and_delete_layers_and_summarised_columns():
    app = TuidlApp(small_exp(), deterministic=True, in_process=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await start(app, pilot)
        await pilot.press("2", "a")  # add after H1
        await settle(app)
        assert len(app.exp.model.hidden) == 3 and app.selected_layer == 1
        await pilot.press("x")
        await settle(app)
        assert [(l.units, l.activation) for l in app.exp.model.hidden] == [(4, "tanh"), (2, "tanh")]
        app.select_layer(0)
        await submit(pilot, app, "#f-units", "120")
        await pilot.pause(0.2)
        assert app.exp.model.hidden[0].units == 120
        shown = widget(app, "#diagram").size.height - 3  # header and footer rows, one row for the note
        text = screen_text(app)
        assert f"… {120 - shown} more" in text or f"+{120 - shown}" in text


@async_test
async def test_bad_values_are_refused_and_never_applied():
    app = TuidlApp(small_exp(), deterministic=True, in_process=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await start(app, pilot)
        before = copy.deepcopy(app.exp)
        build = app.snap.build
        await pilot.press("3")
        await submit(pilot, app, "#f-lr", "-1")
        assert app.exp == before and "train.lr" in app.last_message
        assert widget(app, "#f-lr").value == "0.03"  # the form shows the value in use again
        await submit(pilot, app, "#f-lr", "abc")
        assert "must be a number" in app.last_message
        await pilot.press("2")
        await submit(pilot, app, "#f-units", "0")
        await submit(pilot, app, "#f-dropout", "1.5")
        assert app.exp == before and app.snap.build == build  # nothing was rebuilt
        assert "refused" in str(widget(app, "#form-error").render())


@async_test
async def test_change_loss_and_optimizer_and_options():
    app = TuidlApp(small_exp(), deterministic=True, in_process=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await start(app, pilot)
        await pilot.press("3")
        widget(app, "#f-loss").value = "mse"
        await settle(app)
        widget(app, "#f-optimizer").value = "rmsprop"
        await settle(app)
        await submit(pilot, app, "#opt-momentum", "0.5")
        train = app.snap.exp.train
        assert (train.loss, train.optimizer, train.options) == ("mse", "rmsprop", {"momentum": 0.5})
        widget(app, "#f-optimizer").value = "adam"
        await settle(app)
        await submit(pilot, app, "#opt-betas", "0.8, 0.99")
        assert app.snap.exp.train.options == {"betas": (0.8, 0.99)}
        await submit(pilot, app, "#opt-betas", "0.8")
        assert app.exp.train.options == {"betas": (0.8, 0.99)}  # refused


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
@async_test
async def test_step_through_every_phase_shows_the_records_numbers(optimizer):
    exp = small_exp()
    exp.train.optimizer = optimizer
    app = TuidlApp(exp, deterministic=True, in_process=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await start(app, pilot)
        await pilot.press("n")
        await settle(app)
        panel = app.main.step_panel
        record = panel.cursor.record
        plist = phases(record)
        assert [p.kind for p in plist] == ["forward"] * 3 + ["loss"] + ["backward"] * 3 + ["update"]
        for i, phase in enumerate(plist):
            if i:
                await pilot.press("n")
                await pilot.pause()
            assert panel.cursor.phase_index == i and panel.cursor.record is record
            text = screen_text(app)
            model = widget(app, "#diagram").model
            if phase.kind == "forward":
                layer = record.layers[phase.layer]
                assert fmt(layer.z[0, 0]) in text and fmt(layer.a[0, 0]) in text
                assert model.highlight == phase.layer
            elif phase.kind == "loss":
                assert fmt(record.loss) in text or f"{record.loss:.4g}" in text
                assert model.highlight_output
            elif phase.kind == "backward":
                layer = record.layers[phase.layer]
                assert fmt(layer.grad_z[0, 0]) in text
                assert model.highlight == phase.layer
                assert model.link_values[phase.layer] is layer.grad_W  # gradients drawn from the record
            else:
                assert fmt(record.layers[0].W_after[0, 0]) in text
        await pilot.press("n")  # past the last phase, n takes the next step
        await settle(app)
        assert panel.cursor.record.step == record.step + 1 and panel.cursor.phase_index == 0
        await pilot.press("p", "escape")
        await pilot.pause()
        assert not app.main.stepping


@async_test
async def test_every_phase_can_be_read_to_its_end_with_the_keyboard():
    from tuidl.ui.screenshots import spiral_exp

    app = TuidlApp(spiral_exp(), deterministic=True, in_process=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await start(app, pilot)
        await pilot.press("n")
        await settle(app)
        panel = app.main.step_panel
        for i in range(panel.cursor.phase_count):
            if i:
                await pilot.press("n")
                await pilot.pause()
            for _ in range(20):
                if panel.scroll_y >= panel.max_scroll_y:
                    break
                await pilot.press("pagedown")
                await pilot.pause()
            assert panel.scroll_y == panel.max_scroll_y, f"phase {i} cannot be scrolled to its end"
            await pilot.press("home")
            await pilot.pause()
            assert panel.scroll_y == 0


@async_test
async def test_run_pause_and_reset():
    exp = small_exp()
    exp.train.epochs = 100_000  # still running when checked
    app = TuidlApp(exp, deterministic=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await start(app, pilot)
        await pilot.press("space")
        await pilot.pause(0.6)
        assert app.snap.running
        await pilot.press("space")
        await settle(app)
        assert not app.snap.running and app.snap.epoch > 0
        await pilot.press("r")
        await settle(app)
        assert app.snap.epoch == 0 and app.snap.history == ()


@async_test
async def test_speed_keys_slow_training_down():
    from tuidl.session import speed_label

    exp = small_exp()
    exp.train.epochs = 100_000
    app = TuidlApp(exp, deterministic=True, in_process=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await start(app, pilot)
        for _ in range(8):
            await pilot.press("minus")
        await settle(app)
        assert app.speed == 1 and app.snap.speed == 1
        assert speed_label(1) in flat(screen_text(app))
        began = time.monotonic()
        await pilot.press("space")
        await pilot.pause(1.5)
        await pilot.press("space")
        await settle(app)
        assert 1 <= app.snap.epoch <= time.monotonic() - began + 1  # at most one epoch a second
        await pilot.press("plus")
        await settle(app)
        assert app.snap.speed == 2


def diverging_exp() -> cfg.Experiment:
    exp = small_exp("circle")  # classification with mse: an accuracy to hide once the loss is nan
    exp.train.loss = "mse"
    exp.train.lr = 10.0
    exp.model.hidden = [Layer(8, "relu"), Layer(8, "relu")]
    return exp


@async_test
async def test_divergence_pauses_and_the_step_through_opens_on_the_diverged_weights():
    app = TuidlApp(diverging_exp(), deterministic=True, in_process=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await start(app, pilot)
        await run_until_it_stops(pilot, app)
        assert app.snap.status.startswith("diverged") and not app.snap.running
        assert "diverged" in app.last_message
        assert "nan" in screen_text(app)
        assert not re.search(r"accuracy +[0-9]", screen_text(app))  # no accuracy beside a loss that is not a number
        await pilot.press("n")
        await settle(app)
        record = app.main.step_panel.cursor.record  # nothing waits forever: the step is there
        assert record is not None and "nan" in screen_text(app)


@async_test
async def test_a_checkpoint_opens_where_it_stopped(tmp_path):
    from tuidl.engine.checkpoint import save_checkpoint
    from tuidl.engine.trainer import Trainer

    trainer = Trainer(small_exp())
    for _ in range(7):
        trainer.train_epoch()
    path = tmp_path / "run.ckpt"
    save_checkpoint(trainer, path)
    app = TuidlApp(trainer.exp, path=str(path), checkpoint=str(path), deterministic=True, in_process=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await start(app, pilot)
        assert app.snap.epoch == 7 and [r.train_loss for r in app.snap.history] == [r.train_loss for r in trainer.history]
        await train_epochs(app, 1)
        assert app.snap.history[-1].train_loss == trainer.train_epoch().train_loss  # the unbroken run's next epoch


@async_test
async def test_features_change_rebuilds_the_input_layer():
    app = TuidlApp(small_exp(), deterministic=True, in_process=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await start(app, pilot)
        widget(app, "#f-features").select("x1*x2")
        await settle(app)
        assert app.snap.exp.data.features == ["x1", "x2", "x1*x2"]
        assert app.snap.weights[0][0].shape == (4, 3)
        widget(app, "#f-features").deselect_all()
        await settle(app)
        assert app.exp.data.features == ["x1", "x2", "x1*x2"]  # an empty choice is refused
        assert "non-empty" in app.last_message


@async_test
async def test_the_footer_is_redrawn_only_when_the_keys_it_shows_change():
    from textual.widgets._footer import FooterKey

    def footer_keys(app):
        return list(app.main.query(FooterKey))

    app = TuidlApp(small_exp(), deterministic=True, in_process=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await start(app, pilot)
        assert "run/pause" in [key.description for key in footer_keys(app)]
        widget(app, "#f-samples").focus()  # a text field: the letters are its own, the footer says so
        await pilot.pause()
        before = footer_keys(app)
        assert "run/pause" not in [key.description for key in before] and "save" in [key.description for key in before]
        for field in ("#f-noise", "#f-train_fraction"):  # the focus moves on to fields of the same keys
            await pilot.press("tab")
            await pilot.pause()
            assert app.main.focused is widget(app, field)
            assert footer_keys(app) == before  # the same widgets: nothing mounted again
        await pilot.press("escape", "w")  # out of the field; the diagram's keys are shown while it has the focus
        await pilot.pause()
        assert "edit weight" in [key.description for key in footer_keys(app)]
        await pilot.press("escape")
        await pilot.pause()
        assert "edit weight" not in [key.description for key in footer_keys(app)]


@async_test
async def test_help_and_command_palette():
    app = TuidlApp(small_exp(), deterministic=True, in_process=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await start(app, pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        assert "thread" not in flat(screen_text(app))
        # opaque: the screen under it, blended anew with every snapshot, took most of the CPU
        assert app.screen.styles.background.a == 1
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, HelpScreen)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        for needed in ("Run / pause training", "Train one epoch", "Step-through: next phase", "Reset weights",
                       "Add a layer", "Delete the selected layer", "Help: keys and phases", "Optimizer: Adam",
                       "Loss: mse", "Dataset: spiral", "Device: cpu", "Slower training"):
            assert needed in titles
        # the datasets the Data tab offers, no more: no CSV here to choose (it was refused when chosen)
        offered = [o[0] for o in widget(app, "#f-dataset")._options]
        assert [t.removeprefix("Dataset: ") for t in titles if t.startswith("Dataset: ")] == offered
        assert "csv" not in offered
        cmd = next(c for c in app.get_system_commands(app.screen) if c.title == "Optimizer: Adam")
        cmd.callback()
        await settle(app)
        assert app.snap.exp.train.optimizer == "adam"


@async_test
async def test_perceptron_and_regression_read_right():
    exp = small_exp("plane")
    exp.train.loss = "mse"
    exp.model.hidden = []
    app = TuidlApp(exp, deterministic=True, in_process=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await start(app, pilot)
        await train_epochs(app, 2)
        text = screen_text(app)
        assert "plane · 2→1 · SGD" in text  # no double space for a network without hidden layers
        assert "prediction surface" in text and "decision boundary" not in text
        assert "classes" not in text


@async_test
async def test_small_terminal_80x24_keeps_the_figures_in_sight():
    app = TuidlApp(small_exp(), deterministic=True, in_process=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await start(app, pilot)
        for keys in (["e"], ["1"], ["2"], ["3"], ["4"], ["n", "n", "n"], ["escape"], ["question_mark"], ["escape"]):
            await pilot.press(*keys)
            await settle(app)
        regions = [widget(app, s).region for s in ("#side", "#views", "#topbar", "#message", "#figures")]
        for i, a in enumerate(regions):
            assert a.width > 0 and a.height > 0 and a.right <= 80 and a.bottom <= 24
            for b in regions[i + 1:]:
                assert not a.overlaps(b), (a, b)
        text = screen_text(app)
        assert "device: cpu" in text
        assert f"loss {app.snap.history[-1].train_loss:.4f}" in text  # the figures line


@async_test
async def test_fast_presses_of_n_are_not_lost_while_the_step_is_on_its_way():
    from textual import events

    app = TuidlApp(small_exp(), deterministic=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await start(app, pilot)
        for _ in range(4):  # as a terminal delivers a burst of keys: all queued before the first is handled
            app.post_message(events.Key("n", "n"))
        await settle(app)
        assert app.main.step_panel.cursor.phase_index == 3


@async_test
async def test_a_message_clears_itself_once_it_is_stale(monkeypatch):
    from tuidl.ui import main_screen

    monkeypatch.setattr(main_screen, "MESSAGE_SECONDS", 3.0)  # long enough to be seen on a loaded machine
    app = TuidlApp(small_exp(), deterministic=True, in_process=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await start(app, pilot)
        await pilot.press("3")
        await submit(pilot, app, "#f-lr", "0.1")
        assert "re-initialised" in screen_text(app)
        for _ in range(100):  # then it goes by itself, with nothing pressed
            await pilot.pause(0.1)
            if "re-initialised" not in screen_text(app):
                break
        assert "re-initialised" not in screen_text(app)


@async_test
async def test_gradients_view_and_gradient_check():
    from tuidl.ui.gradcheck_view import GradCheckScreen

    app = TuidlApp(small_exp(), deterministic=True, in_process=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await start(app, pilot)
        await train_epochs(app, 5)
        await pilot.press("g")
        await pilot.pause(0.6)
        text = screen_text(app)
        assert "layer 1" in text and "layer 3" in text  # one line per layer's ‖dL/dW‖
        assert len(app.snap.history[-1].grad_norms) == 3
        await pilot.press("g")
        await pilot.pause()
        assert "loss" in screen_text(app)
        await pilot.press("G")
        await settle(app)
        for _ in range(100):
            if isinstance(app.screen, GradCheckScreen):
                break
            await pilot.pause(0.05)
        assert isinstance(app.screen, GradCheckScreen) and app.screen.report.passed
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, GradCheckScreen)


@async_test
async def test_divergence_is_explained_and_the_step_through_opens_on_that_step():
    app = TuidlApp(diverging_exp(), deterministic=True, in_process=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await start(app, pilot)
        await train_epochs(app, 1)
        assert app.snap.diverged and app.main.stepping  # opened by itself on the diverging step
        record = app.main.step_panel.cursor.record
        assert "went first" in app.last_message and f"step {record.step}" in app.last_message


@async_test
async def test_the_palette_closing_under_its_own_updates_does_not_crash():
    """Found by random keys in a real terminal under load: the palette's list-visible watcher,
    and the search it starts when it opens, ran after its list had gone (NoMatches ended the
    app)."""
    from textual.command import CommandList

    from tuidl.ui.palette import Palette

    app = TuidlApp(small_exp(), deterministic=True, in_process=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await start(app, pilot)
        await pilot.press("ctrl+p")
        await pilot.pause()
        palette = app.screen
        assert isinstance(palette, Palette) and palette.styles.background.a == 1  # as the modal screens
        await palette.query_one(CommandList).remove()  # as when the palette is being taken down
        palette._list_visible = not palette._list_visible
        palette._start_no_matches_countdown("zzz")
        palette._action_cursor_down()
        await palette._gather_commands("a").wait()  # the search a key started, still running
        await pilot.pause()
        await pilot.press("escape")
        assert app.screen is app.main and app.is_running


@async_test
async def test_ctrl_p_while_the_palette_is_being_taken_down_does_not_crash():
    """Found by fast keys in a real terminal: a palette opened while the last one was still
    being removed had its id (DuplicateIds ended the app)."""
    from tuidl.ui.palette import Palette

    app = TuidlApp(small_exp(), deterministic=True, in_process=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await start(app, pilot)
        await pilot.press("ctrl+p")
        await pilot.pause()
        app.screen.dismiss()
        app.action_command_palette()  # before the closing one has gone: does nothing
        await pilot.pause(0.3)
        assert app.screen is app.main and app.is_running
        await pilot.press("ctrl+p")
        await pilot.pause()
        assert isinstance(app.screen, Palette)
        await pilot.press("escape")


@async_test
async def test_keys_typed_right_after_enter_are_the_apps_even_before_the_field_lets_go():
    """Found in a real terminal: "9", enter, "1", "2" typed in one burst went into the learning
    rate as 912 (refused) and no tab changed: Pilot waits after each key, a person does not.
    Here the keys reach the app in one burst, as from a terminal."""
    from textual import events

    app = TuidlApp(small_exp(), deterministic=True, in_process=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await start(app, pilot)
        await pilot.press("3")
        lr = widget(app, "#f-lr")
        lr.focus()
        await pilot.pause()
        for key, char in (("9", "9"), ("enter", "\r"), ("1", "1"), ("x", "x")):
            app._driver.send_message(events.Key(key, char))  # no pause between them
        await pilot.pause(0.2)
        await settle(app)
        assert app.exp.train.lr == 9.0 and lr.value == "9"
        assert widget(app, "#tabs").active == "tab-data"  # "1" was the app's
        assert not lr.has_focus
