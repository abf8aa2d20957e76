"""Hands on the network: a weight edited by hand from the diagram's cursor, and one neuron's
activation drawn on the plane; the engine, the session and the app through Pilot."""
from __future__ import annotations

import copy
import json
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import torch
from conftest import async_test, screen_text, settle, small_exp, start, widget

from tuidl import config as cfg
from tuidl.data import grid_points, map_features
from tuidl.engine.trainer import Trainer
from tuidl.explain import fmt
from tuidl.session import Build, Failed, Progress, Reset, Session, SetPlaneView, SetWeight
from tuidl.ui.app import TuidlApp
from tuidl.ui.colors import BACKGROUND
from tuidl.ui.diagram import EDITED
from tuidl.ui.diagram_cursor import BIAS, DiagramCursor, describe, keys_hint
from tuidl.ui.diagram_models import live_edits, network_model
from tuidl.ui.plane_neuron import NeuronView, neuron_range, neuron_rgb
from tuidl.ui.weight_editor import WeightEditor, parse_weight, shown_value

WAIT = 60  # seconds, for a loaded machine


# -- the app, with the wiring the lead pastes into app.py and main_screen.py ------------------
def diagram_colours(diagram) -> set:
    """The foreground colours the diagram draws, as RGB triplets."""
    out = set()
    for y in range(diagram.content_size.height):
        for seg in diagram.render_line(y):
            if seg.style is not None and seg.style.color is not None:
                out.add(tuple(seg.style.color.get_truecolor()))
    return out


# -- pure parts ---------------------------------------------------------------------------------
def test_cursor_cycles_a_neurons_weights_then_its_bias_then_the_neuron():
    sizes = [2, 4, 2, 1]
    c = DiagramCursor()
    assert (c.column, c.neuron, c.link, c.entry, c.unit) == (1, 0, None, None, (0, 0))
    seen = []
    for _ in range(4):
        c.move_link(1, sizes)
        seen.append(c.entry)
    assert seen == [(0, 0, 0), (0, 0, 1), (0, 0, None), None]  # W¹[0,0], W¹[0,1], b¹[0], the neuron
    c.move_link(-1, sizes)
    assert c.link == BIAS
    c.move_link(-1, sizes)
    c.move_neuron(1, sizes)  # the same link of the next neuron: W¹[1, 1]
    assert c.entry == (0, 1, 1)
    c.move_column(1, sizes)  # layer 2: the neuron kept where it exists, the link left
    assert (c.column, c.neuron, c.entry) == (2, 1, None)
    c.move_column(5, sizes)
    assert (c.column, c.neuron) == (3, 0)
    c.move_column(-9, sizes)
    assert (c.column, c.unit) == (0, None)
    c.move_link(1, sizes)  # inputs have no incoming weights
    assert c.entry is None


def test_caption_says_the_entry_its_value_and_the_keys():
    exp = small_exp()
    W1 = np.array([[0.5, -0.412], [1, 2], [3, 4], [5, 6]], dtype=np.float32)
    weights = [(W1, np.zeros(4, np.float32)), (np.ones((2, 4), np.float32), np.zeros(2, np.float32)),
               (np.ones((1, 2), np.float32), np.array([0.25], np.float32))]
    m = network_model(exp, weights, None)
    c = DiagramCursor(1, 0, 1)
    text = describe(c, m.inputs, m.layers, m.weights)
    assert text == "W¹[0, 1] = −0.412 · enter to edit · input x2 → layer 1 neuron 0"
    c = DiagramCursor(3, 0, BIAS)
    assert describe(c, m.inputs, m.layers, m.weights).startswith("b³[0] = +0.25 · enter to edit · output neuron 0")
    assert "on the plane" in describe(DiagramCursor(2, 1), m.inputs, m.layers, m.weights, viewed=(1, 1))
    assert len(keys_hint(40)) <= 40 and "enter edit" in keys_hint(200)


def test_edit_marks_last_while_the_weights_hold_the_value_in_their_dtype():
    W = np.array([[0.1, 0.2]], dtype=np.float32)
    b = np.array([0.5], dtype=np.float32)
    edited = {(0, 0, 0): 0.1, (0, 0, None): 0.5, (0, 0, 1): 0.3, (3, 0, 0): 1.0}
    assert live_edits(edited, [(W, b)]) == {(0, 0, 0): 0.1, (0, 0, None): 0.5}  # 0.1 as float32 stored it
    assert live_edits(edited, None) == {}


def test_the_weight_field_reads_numbers_and_refuses_the_rest():
    assert parse_weight(" −0.5 ") == -0.5 and parse_weight("2") == 2.0 and parse_weight("1e-3") == 0.001
    for bad in ("", "abc", "nan", "inf", "1.2.3"):
        with pytest.raises(ValueError):
            parse_weight(bad)
    assert shown_value(np.float32(0.1)) == "0.1" and float(np.float32(shown_value(np.float32(1 / 3)))) == \
        float(np.float32(1 / 3))


def test_neuron_colours_span_the_activation_range():
    values = np.array([[0.0, 0.5], [2.0, 1.0]])
    assert neuron_range("tanh", values) == (-1.0, 1.0)
    assert neuron_range("sigmoid", values) == (0.0, 1.0)
    assert neuron_range("relu", values) == (0.0, 2.0)
    assert neuron_range("linear", -values) == (-2.0, 2.0)
    rgb = neuron_rgb(np.array([0.0, 1.0, -1.0, 2.0]), -1.0, 1.0)
    assert abs(rgb[0].astype(int) - BACKGROUND).max() <= 10  # 0: (almost) the background
    assert rgb[1][2] > rgb[1][0] and rgb[2][0] > rgb[2][2]  # blue for +, orange for −
    assert (rgb[3] == rgb[1]).all()  # clipped at the range


# -- the engine ---------------------------------------------------------------------------------
def linear(x: torch.Tensor, W: np.ndarray, b: np.ndarray) -> torch.Tensor:
    """torch's own dense layer, in float64: the reference."""
    as64 = lambda v: torch.as_tensor(v, dtype=torch.float64)  # noqa: E731
    return torch.nn.functional.linear(x, as64(W), as64(b))


def test_set_weight_changes_the_forward_pass_as_torch_computes_it():
    exp = small_exp()
    trainer = Trainer(exp)
    trainer.set_weight(0, 2, 1, -1.5)
    trainer.set_weight(1, 0, None, 0.75)
    (W1, b1), (W2, b2), (W3, b3) = trainer.weights()
    assert W1[2, 1] == -1.5 and b2[0] == 0.75 and W1.dtype == np.float32
    points = np.array([[0.5, -1.0], [2.0, 3.0]])
    x = torch.as_tensor(map_features(points, exp.data.features), dtype=torch.float64)
    out = torch.sigmoid(linear(torch.tanh(linear(torch.tanh(linear(x, W1, b1)), W2, b2)), W3, b3))
    np.testing.assert_allclose(trainer.predict(points), out.numpy(), rtol=1e-5)
    for args in ((3, 0, 0), (0, 4, 0), (0, 0, 2), (0, 0, None, float("nan"))):
        with pytest.raises(ValueError):
            trainer.set_weight(*(args if len(args) == 4 else (*args, 1.0)))


@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid"])
def test_neuron_map_is_the_neurons_activation_over_the_grid(activation):
    exp = small_exp()
    exp.model.hidden[1].activation = activation
    exp.train.dtype = "float64"
    trainer = Trainer(exp)
    nx, ny = 7, 5
    got = trainer.neuron_map(1, 1, nx, ny)
    (W1, b1), (W2, b2), _ = trainer.weights()
    x = torch.as_tensor(map_features(grid_points(trainer.dataset.extent, nx, ny), exp.data.features))
    g = {"tanh": torch.tanh, "relu": torch.relu, "sigmoid": torch.sigmoid}[activation]
    h = g(linear(torch.tanh(linear(x, W1, b1)), W2, b2))
    assert got.shape == (ny, nx)
    np.testing.assert_allclose(got, h[:, 1].numpy().reshape(ny, nx), rtol=1e-12, atol=1e-12)
    out = trainer.neuron_map(2, 0, nx, ny)  # the output neuron is the boundary
    np.testing.assert_array_equal(out, trainer.boundary(nx, ny))


# -- the session --------------------------------------------------------------------------------
class Events:
    def __init__(self):
        self.all, self._cond = [], threading.Condition()

    def __call__(self, event) -> None:
        with self._cond:
            self.all.append(event)
            self._cond.notify_all()

    def wait(self, predicate):
        end = time.monotonic() + WAIT
        with self._cond:
            while True:
                for e in self.all:
                    if predicate(e):
                        return e
                if time.monotonic() > end:
                    raise AssertionError([type(e).__name__ for e in self.all][-10:])
                self._cond.wait(end - time.monotonic())

    def after(self, cid: int):
        return self.wait(lambda e: isinstance(e, Progress) and e.snapshot.done >= cid).snapshot


@pytest.fixture
def session():
    events = Events()
    s = Session(small_exp(), None, "<test>", events, in_process=True)
    s.start()
    events.wait(lambda e: isinstance(e, Progress))
    yield s, events
    s.stop()


def test_session_sets_a_weight_and_shows_it_without_training(session):
    s, events = session
    before = events.after(s.send(SetWeight(0, 0, 0, 0.0)))
    snap = events.after(s.send(SetWeight(0, 1, 1, -2.5)))
    assert snap.epoch == 0 and snap.steps == 0
    assert snap.weights[0][0][1, 1] == -2.5
    snap = events.after(s.send(SetWeight(2, 0, None, 3.0)))
    assert snap.weights[2][1][0] == 3.0
    trainer = Trainer(small_exp())
    trainer.set_weight(0, 0, 0, 0.0)
    trainer.set_weight(0, 1, 1, -2.5)
    trainer.set_weight(2, 0, None, 3.0)
    nx, ny = snap.boundary_size
    np.testing.assert_array_equal(snap.boundary, trainer.boundary(nx, ny))
    assert not np.array_equal(snap.boundary, before.boundary)
    cid = s.send(SetWeight(0, 9, 0, 1.0))
    failed = events.wait(lambda e: isinstance(e, Failed) and e.command_id == cid)
    assert "row 9" in failed.message


def test_session_shows_a_neurons_activation_then_the_output_again(session):
    s, events = session
    snap = events.after(s.send(SetPlaneView(1, 1)))
    assert snap.plane_view == (1, 1)
    nx, ny = snap.boundary_size
    trainer = Trainer(small_exp())
    np.testing.assert_array_equal(snap.boundary, trainer.neuron_map(1, 1, nx, ny))
    snap = events.after(s.send(Reset()))
    assert snap.plane_view == (1, 1)  # the same network: the same neuron
    smaller = small_exp()
    smaller.model.hidden = smaller.model.hidden[:1]
    snap = events.after(s.send(Build(smaller)))
    assert snap.plane_view is None  # no layer 2 any more: the output again
    np.testing.assert_array_equal(snap.boundary, Trainer(smaller).boundary(nx, ny))
    cid = s.send(SetPlaneView(0, 7))
    assert isinstance(events.wait(lambda e: isinstance(e, Failed) and e.command_id == cid), Failed)
    events.after(s.send(SetPlaneView(0, 3)))
    assert events.after(s.send(SetPlaneView(None, None))).plane_view is None


# -- the app ------------------------------------------------------------------------------------
async def wait_step(app, pilot, step: int):
    end = time.monotonic() + WAIT
    while app.main.step_panel.cursor is None or app.main.step_panel.cursor.record.step != step:
        assert time.monotonic() < end, "no step"
        await pilot.pause(0.01)
    return app.main.step_panel.cursor.record


def trace_file(exp: cfg.Experiment, path) -> dict:
    cfg.save(exp, path)
    out = subprocess.run([sys.executable, "-m", "tuidl", "trace", str(path), "--json"], capture_output=True,
                         text=True, check=True)
    return json.loads(out.stdout)


@async_test
async def test_edit_a_weight_from_the_keyboard_then_step_and_train(tmp_path):
    app = TuidlApp(small_exp(), deterministic=True, in_process=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await start(app, pilot)
        diagram = widget(app, "#diagram")
        await pilot.press("down")  # not focused: the diagram's cursor does not move
        assert diagram.cursor.entry is None and diagram.cursor.neuron == 0
        diagram.focus()
        await pilot.pause()
        assert "layer 1 neuron 0 · tanh" in screen_text(app)
        await pilot.press("right_square_bracket", "right_square_bracket")  # W¹[0, 0], then W¹[0, 1]
        old = app.snap.weights[0][0][0, 1]
        assert diagram.cursor.entry == (0, 0, 1)
        assert f"W¹[0, 1] = {fmt(old)}" in screen_text(app)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, WeightEditor)
        await pilot.press(*"abc", "enter")  # refused, with why; the editor stays
        await pilot.pause()
        assert isinstance(app.screen, WeightEditor) and "not a number" in screen_text(app)
        await pilot.press("ctrl+u", *"-1.5", "enter")
        await settle(app)
        assert app.screen is app.main and app.focused is diagram
        weights = app.snap.weights
        assert weights[0][0][0, 1] == np.float32(-1.5) and app.snap.epoch == 0
        assert "W¹[0, 1] = −1.5" in screen_text(app)
        assert diagram.model.edited == {(0, 0, 1): -1.5}
        assert EDITED not in diagram_colours(diagram)  # the cursor is on it
        await pilot.press("down")
        assert diagram.cursor.entry == (0, 1, 1) and EDITED in diagram_colours(diagram)  # marked

        await pilot.press("n")  # the step-through: its forward numbers are those of a file with this weight
        record = await wait_step(app, pilot, 1)
        exp = copy.deepcopy(app.exp)
        exp.model.weights = [cfg.LayerWeights(W.tolist(), b.tolist()) for W, b in weights]
        doc = trace_file(exp, tmp_path / "edited.toml")["steps"][0]
        assert record.layers[0].W[0, 1] == -1.5
        for mine, traced in zip(record.layers, doc["layers"]):
            for key in ("W", "b", "input", "z", "a"):
                assert np.array_equal(getattr(mine, key), np.asarray(traced[key], dtype=getattr(mine, key).dtype))
        assert record.loss == doc["loss"]

        diagram.focus()  # an edit during the step-through: n then takes a new step, with it
        await pilot.press("up", "enter")
        await pilot.pause()
        await pilot.press(*"0.5", "enter")
        await settle(app)
        assert not app.main.stepping and app.snap.weights[0][0][0, 1] == 0.5
        await pilot.press("n")
        record = await wait_step(app, pilot, 2)
        assert record.layers[0].W[0, 1] == 0.5 and app.main.step_panel.cursor.phase_index == 0

        await pilot.press("escape")  # the charts again; the step moved the weight: no mark
        await settle(app)
        assert diagram.model.edited == {} and EDITED not in diagram_colours(diagram)

        diagram.focus()  # a bias this time, then an epoch of training moves it
        await pilot.press("right_square_bracket", "enter")
        assert diagram.cursor.entry == (0, 0, None)
        await pilot.pause()
        await pilot.press(*"2.25", "enter")  # the value is selected: typing replaces it
        await settle(app)
        assert app.snap.weights[0][1][0] == 2.25 and diagram.model.edited == {(0, 0, None): 2.25}
        await pilot.press("down")  # off the neuron: its ring shows
        assert EDITED in diagram_colours(diagram)
        await pilot.press("e")
        await settle(app)
        assert app.snap.epoch == 1 and app.snap.weights[0][1][0] != 2.25
        assert diagram.model.edited == {} and EDITED not in diagram_colours(diagram)

        await pilot.press("enter", "escape")  # cancelled: nothing sent
        await settle(app)
        assert app.screen is app.main and diagram.model.edited == {}
        await pilot.press("escape")  # the keyboard back to the app
        assert app.focused is None


@async_test
async def test_a_neurons_view_on_the_plane_cycles_and_escape_brings_the_output_back():
    app = TuidlApp(small_exp(), deterministic=True, in_process=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await start(app, pilot)
        diagram, plane = widget(app, "#diagram"), widget(app, "#plane")
        output = plane.boundary
        diagram.focus()
        await pilot.press("down", "down", "v")
        await settle(app)
        assert app.snap.plane_view == (0, 2) and plane.view == NeuronView(0, 2, "tanh")
        title = widget(app, "#plane-pane").border_title
        assert title.startswith("layer 1 neuron 2: tanh activation over the plane")
        assert diagram.model.viewed == (0, 2) and "on the plane" in screen_text(app)
        # the heatmap's values are what the engine computes for that neuron on the grid
        nx, ny = app.snap.boundary_size
        assert plane.boundary.shape == (ny, nx) and (nx, ny) == plane.grid_size
        trainer = Trainer(copy.deepcopy(app.exp))
        x = torch.as_tensor(map_features(grid_points(trainer.dataset.extent, nx, ny), app.exp.data.features),
                            dtype=torch.float32)
        trainer.network.forward(x, train=False)
        a = trainer.network.layers[0].a[:, 2].numpy().reshape(ny, nx)
        np.testing.assert_array_equal(plane.boundary, a)
        W, b = trainer.weights()[0]
        for row, col in ((0, 0), (ny // 2, nx // 3), (ny - 1, nx - 1)):  # and a few points by the formula
            point = grid_points(trainer.dataset.extent, nx, ny)[row * nx + col]
            expected = np.tanh(W[2].astype(float) @ point + float(b[2]))
            assert plane.boundary[row, col] == pytest.approx(expected, abs=1e-6)
        assert not np.array_equal(plane.boundary, output)

        await pilot.press("down")  # the view follows the cursor
        await settle(app)
        assert app.snap.plane_view == (0, 3) and plane.view.unit == 3
        await pilot.press("right")
        await settle(app)
        assert app.snap.plane_view == (1, 1)

        await pilot.press("escape")  # first the output comes back ...
        await settle(app)
        assert app.snap.plane_view is None and plane.view is None and app.focused is diagram
        assert widget(app, "#plane-pane").border_title.startswith("decision boundary")
        np.testing.assert_array_equal(plane.boundary, output)
        await pilot.press("escape")  # ... then the keyboard goes back to the app
        assert app.focused is None
        await pilot.press("down")
        assert diagram.cursor.unit == (1, 1)


@async_test
async def test_a_click_puts_the_cursor_on_the_neuron_and_still_selects_the_layer():
    app = TuidlApp(small_exp(), deterministic=True, in_process=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await start(app, pilot)
        diagram = widget(app, "#diagram")
        x, y = diagram._columns_x[2], diagram._rows[2][1]  # layer 2, neuron 1
        await pilot.click("#diagram", offset=(x, y))
        await pilot.pause()
        assert app.focused is diagram and (diagram.cursor.column, diagram.cursor.neuron) == (2, 1)
        assert app.selected_layer == 1  # LayerClicked: the builder's layer
        assert "layer 2 neuron 1 · tanh" in screen_text(app)
