"""Pilot tests: the app driven by keys and clicks, checked against the engine's records."""
from __future__ import annotations

import asyncio
import copy
import functools
import subprocess
import sys

import pytest

from tuidl import config as cfg
from tuidl.config import Layer
from tuidl.ui import stepthrough
from tuidl.ui.app import TuidlApp
from tuidl.ui.help import HelpScreen


def async_test(fn):
    """Run an async test with asyncio.run (no pytest-asyncio needed)."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return asyncio.run(fn(*args, **kwargs))
    return wrapper


def screen_text(app) -> str:
    strips = app.screen._compositor.render_strips()
    return "\n".join("".join(seg.text for seg in strip) for strip in strips)


def small_exp(dataset: str = "circle") -> cfg.Experiment:
    exp = cfg.default_experiment()
    exp.data.dataset = dataset
    exp.data.samples = 200
    return exp


async def start(app, pilot):
    await pilot.pause()
    await app.wait_ready()
    await pilot.pause()


async def submit(pilot, app, selector: str, text: str) -> None:
    inp = app.q(selector)
    inp.focus()
    await pilot.pause()
    inp.value = text
    await pilot.press("enter")
    await app.settle()
    await pilot.pause()


def test_app_module_does_not_import_torch():
    code = "import sys, tuidl.ui.app; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_first_frame_imports_neither_numpy_nor_the_views():
    mods = ("numpy", "tuidl.data", "tuidl.ui.session", "tuidl.ui.stepthrough", "tuidl.ui.plane", "tuidl.ui.diagram")
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
        for key in ("space", "e", "n", "r", "a", "x", "escape", "right_square_bracket", "down", "2"):
            await pilot.press(key)
        assert app.session is None and not app.forms_ready and app.exp == before
        await TuidlApp._after_first_frame(app)
        await start(app, pilot)
        assert app.exp == before and app.snap.epoch == 0 and not app.step_mode
        assert app.q("#tabs").active == "tab-data"
        assert "epoch" in screen_text(app)


@async_test
async def test_first_frame_then_engine_loads():
    app = TuidlApp(small_exp(), deterministic=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await app.wait_ready()
        await pilot.pause(0.2)
        text = screen_text(app)
        assert "device: cpu" in text
        assert "loading PyTorch" not in text
        assert app.session._process.is_alive()  # training lives in its own process
        assert sorted(app.q("#f-features").selected) == ["x1", "x2"]
        # unavailable devices are shown as such and cannot be chosen
        for d, desc in app.snap.devices.items():
            rb = app.q(f"#dev-{d}")
            assert rb.disabled == (desc is None)
            if desc is None:
                assert "not available" in str(rb.label)


@async_test
async def test_build_2_8_8_1_relu_spiral_adam_and_train():
    app = TuidlApp(small_exp(), deterministic=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await start(app, pilot)
        app.q("#f-dataset").value = "spiral"
        await app.settle()
        await pilot.press("2")  # the Network tab
        await pilot.pause()
        # H1: 8 relu
        await submit(pilot, app, "#f-units", "8")
        app.q("#f-activation").value = "relu"
        await app.settle()
        # H2 selected by clicking the diagram's column, then edited
        app.select_layer(1)
        await submit(pilot, app, "#f-units", "8")
        app.q("#f-activation").value = "relu"
        await app.settle()
        await pilot.press("3")
        app.q("#f-optimizer").value = "adam"
        await app.settle()
        await submit(pilot, app, "#f-lr", "0.01")
        await pilot.pause()
        exp = app.exp
        assert exp.data.dataset == "spiral"
        assert [(l.units, l.activation) for l in exp.model.hidden] == [(8, "relu"), (8, "relu")]
        assert exp.train.optimizer == "adam" and exp.train.lr == 0.01
        # the engine was rebuilt with it, and the screen says so
        assert app.snap.exp == exp
        assert "re-initialised" in app.last_message
        assert "2→8→8→1" in screen_text(app)
        w = app.snap.weights
        assert [W.shape for W, _ in w] == [(8, 2), (8, 8), (1, 8)]
        await app.train_epochs(5)
        first = app.snap.history[0].train_loss
        await app.train_epochs(30)
        assert app.snap.history[-1].train_loss < first
        assert app.snap.epoch == 35
        await pilot.pause()
        assert "epoch        35" in screen_text(app) or "epoch 35" in " ".join(screen_text(app).split())


@async_test
async def test_add_and_delete_layers_and_summarised_columns():
    app = TuidlApp(small_exp(), deterministic=True, in_process=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await start(app, pilot)
        await pilot.press("2")
        await pilot.press("a")  # add after H1
        await app.settle()
        assert len(app.exp.model.hidden) == 3 and app.selected_layer == 1
        await pilot.press("x")
        await app.settle()
        assert [l.units for l in app.exp.model.hidden] == [4, 2]
        assert [l.activation for l in app.exp.model.hidden] == ["tanh", "tanh"]
        app.select_layer(0)
        await submit(pilot, app, "#f-units", "120")
        await pilot.pause(0.2)
        assert app.exp.model.hidden[0].units == 120
        text = screen_text(app)
        shown = app.q("#diagram").size.height - 3  # header and footer rows, one row for the note
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
        assert app.exp == before
        assert "train.lr" in app.last_message
        assert app.q("#f-lr").value == "0.03"  # the form shows the value in use again
        await submit(pilot, app, "#f-lr", "abc")
        assert "must be a number" in app.last_message
        await pilot.press("2")
        await submit(pilot, app, "#f-units", "0")
        assert app.exp == before
        await submit(pilot, app, "#f-dropout", "1.5")
        assert app.exp == before
        assert app.snap.build == build  # nothing was rebuilt
        assert "refused" in str(app.q("#form-error").render())


@async_test
async def test_change_loss_and_optimizer_and_options():
    app = TuidlApp(small_exp(), deterministic=True, in_process=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await start(app, pilot)
        await pilot.press("3")
        app.q("#f-loss").value = "mse"
        await app.settle()
        app.q("#f-optimizer").value = "rmsprop"
        await app.settle()
        await pilot.pause()
        await submit(pilot, app, "#opt-momentum", "0.5")
        assert app.snap.exp.train.loss == "mse"
        assert app.snap.exp.train.optimizer == "rmsprop"
        assert app.snap.exp.train.options == {"momentum": 0.5}
        app.q("#f-optimizer").value = "adam"
        await app.settle()
        await pilot.pause()
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
        await app.settle()
        await pilot.pause()
        record = app.step_record
        assert record is not None
        plist = stepthrough.phases(record)
        assert [p.kind for p in plist] == ["forward"] * 3 + ["loss"] + ["backward"] * 3 + ["update"]
        seen = []
        for i, phase in enumerate(plist):
            if i:
                await pilot.press("n")
                await pilot.pause()
            assert app.phase_index == i
            panel = app.q(stepthrough.StepThroughPanel)
            assert panel.record is record and panel.phase_index == i
            text = screen_text(app)
            seen.append(phase.kind)
            if phase.kind == "forward":
                layer = record.layers[phase.layer]
                assert stepthrough.fmt(layer.z[0, 0]) in text
                assert stepthrough.fmt(layer.a[0, 0]) in text
                assert app.q("#diagram").model.highlight == phase.layer
            elif phase.kind == "loss":
                assert stepthrough.fmt(record.loss) in text or f"{record.loss:.4g}" in text
                assert app.q("#diagram").model.highlight_output
            elif phase.kind == "backward":
                layer = record.layers[phase.layer]
                assert stepthrough.fmt(layer.grad_z[0, 0]) in text
                model = app.q("#diagram").model
                assert model.highlight == phase.layer
                assert model.link_values[phase.layer] is layer.grad_W  # gradients drawn from the record
            else:
                layer = record.layers[0]
                assert stepthrough.fmt(layer.W_after[0, 0]) in text
        assert seen == [p.kind for p in plist]
        # past the last phase, n takes the next step
        await pilot.press("n")
        await app.settle()
        await pilot.pause()
        assert app.step_record.step == record.step + 1 and app.phase_index == 0
        await pilot.press("p")
        await pilot.press("escape")
        await pilot.pause()
        assert not app.step_mode


@async_test
async def test_run_pause_and_reset():
    exp = small_exp()
    exp.train.epochs = 100_000  # still running when checked
    app = TuidlApp(exp, deterministic=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await start(app, pilot)
        await pilot.press("space")
        await pilot.pause(0.6)
        assert app.session.snapshot.running
        await pilot.press("space")
        await app.settle()
        await pilot.pause()
        assert not app.snap.running and app.snap.epoch > 0
        await pilot.press("r")
        await app.settle()
        assert app.snap.epoch == 0 and app.snap.history == ()


@async_test
async def test_divergence_pauses_with_a_message():
    exp = small_exp("plane")
    exp.train.loss = "mse"
    exp.train.lr = 10.0
    exp.model.hidden = [Layer(8, "relu"), Layer(8, "relu")]
    app = TuidlApp(exp, deterministic=True, in_process=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await start(app, pilot)
        await pilot.press("space")
        for _ in range(100):
            await pilot.pause(0.05)
            if app.session.snapshot.status:
                break
        await app.settle()
        await pilot.pause()
        assert app.snap.status and app.snap.status.startswith("diverged")
        assert not app.snap.running
        assert "diverged" in app.last_message


@async_test
async def test_features_change_rebuilds_the_input_layer():
    app = TuidlApp(small_exp(), deterministic=True, in_process=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await start(app, pilot)
        app.q("#f-features").select("x1*x2")
        await app.settle()
        assert app.snap.exp.data.features == ["x1", "x2", "x1*x2"]
        assert app.snap.weights[0][0].shape == (4, 3)
        app.q("#f-features").deselect_all()
        await app.settle()
        assert app.exp.data.features == ["x1", "x2", "x1*x2"]  # an empty choice is refused
        assert "at least one" in app.last_message


@async_test
async def test_help_and_command_palette():
    app = TuidlApp(small_exp(), deterministic=True, in_process=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await start(app, pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, HelpScreen)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        for needed in ("Run / pause training", "Train one epoch", "Step-through: next phase", "Reset weights",
                       "Add a layer", "Delete the selected layer", "Help: keys and phases", "Optimizer: Adam",
                       "Loss: mse", "Dataset: spiral", "Device: cpu"):
            assert needed in titles
        cmd = next(c for c in app.get_system_commands(app.screen) if c.title == "Optimizer: Adam")
        cmd.callback()
        await app.settle()
        assert app.snap.exp.train.optimizer == "adam"


@async_test
async def test_small_terminal_80x24_nothing_overlaps_or_crashes():
    app = TuidlApp(small_exp(), deterministic=True, in_process=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await start(app, pilot)
        for keys in (["e"], ["1"], ["2"], ["3"], ["4"], ["n", "n", "n"], ["escape"], ["question_mark"], ["escape"]):
            for k in keys:
                await pilot.press(k)
            await app.settle()
            await pilot.pause()
        main = app.q("#side").region, app.q("#views").region, app.q("#topbar").region, app.q("#message").region
        for i, a in enumerate(main):
            assert a.width > 0 and a.height > 0
            assert a.right <= 80 and a.bottom <= 24
            for b in main[i + 1:]:
                assert not a.overlaps(b), (a, b)
        assert "device: cpu" in screen_text(app)
