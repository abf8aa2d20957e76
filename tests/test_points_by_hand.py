"""Points drawn by hand on the plane: the rules (tuidl.hand_points), the trainer that takes
new data and keeps its weights (Trainer.use_dataset), and the app's drawing mode (`d`)."""
from __future__ import annotations

import copy

import numpy as np
import pytest
from conftest import (
    async_test,
    flat,
    screen_text,
    settle,
    small_exp,
    start,
    train_epochs,
    widget,
)
from textual import events

from tuidl import config as cfg
from tuidl import hand_points as hp
from tuidl.data import make_dataset
from tuidl.engine.trainer import Trainer
from tuidl.ui.app import TuidlApp
from tuidl.ui.help import HELP_TEXT
from tuidl.ui.save import PathModal

SIZE = (120, 40)


def two_classes(extent=(-4.0, 4.0, -4.0, 4.0)) -> hp.HandPoints:
    return hp.HandPoints(((-1.0, -1.0), (-2.0, -1.5)), (0, 0), ((1.0, 1.0),), (1,), extent, 2)


# -- the rules ----------------------------------------------------------------------------
def test_add_goes_to_training_and_refuses_outside_the_plane_and_beyond_the_classes():
    pts = two_classes()
    added = hp.add(pts, (2.0, 3.5), 1)
    assert added.x[-1] == (2.0, 3.5) and added.y[-1] == 1 and added.x_val == pts.x_val
    with pytest.raises(hp.EditRefused, match="outside the plane"):
        hp.add(pts, (4.5, 0.0), 1)
    with pytest.raises(hp.EditRefused, match="classes 0 to 1"):
        hp.add(pts, (0.0, 0.0), 2)
    values = hp.HandPoints((), (), (), (), (-1.0, 1.0, -1.0, 1.0), 0)
    assert hp.label_choices(values) == hp.REGRESSION_VALUES
    assert hp.add(values, (0.0, 0.5), 0.5).y == (0.5,)


def test_remove_takes_the_nearest_point_of_either_set_as_the_plane_shows_it():
    pts = hp.HandPoints(((0.0, 0.0), (0.0, 10.0)), (0, 1), ((1.0, 0.0),), (1,), (0.0, 1.0, 0.0, 100.0), 2)
    # in data units (0, 10) is nearest to (0.9, 10); on the plane 1 across is far more than 10 up
    new, what = hp.remove_nearest(pts, (0.9, 10.0))
    assert new.x_val == () and new.x == pts.x and "validation point (1, 0)" in what
    new, _ = hp.remove_nearest(new, (0.9, 10.0))
    assert new.x == ((0.0, 0.0),) and new.y == (0,)
    with pytest.raises(hp.EditRefused, match="no points"):
        hp.remove_nearest(hp.clear(pts), (0.0, 0.0))


def test_training_waits_for_two_points_of_each_of_two_classes():
    pts = two_classes()
    assert "second class" in hp.training_problem(pts)
    one = hp.add(pts, (1.0, 2.0), 1)
    assert "class 1's second point" in hp.training_problem(one)
    assert hp.training_problem(hp.add(one, (2.0, 2.0), 1)) is None
    assert "training waits for points" in hp.training_problem(hp.clear(pts))


def test_the_set_becomes_a_points_experiment_that_saves_and_loads(tmp_path):
    exp = small_exp()
    pts = hp.add(two_classes(), (1.0, 2.0), 1)
    new = hp.to_experiment(exp, pts, ("hours", "lectures"))
    assert new.train.batch_size == 3  # fewer training points than the batch size
    assert (new.data.dataset, new.data.extent, new.data.axis_labels) == ("points", [-4.0, 4.0, -4.0, 4.0],
                                                                         ["hours", "lectures"])
    cfg.validate(new)
    path = tmp_path / "mine.toml"
    cfg.save(new, path)
    loaded = cfg.load(path)
    assert loaded == new
    ds = make_dataset(loaded.data)
    assert ds.extent == (-4.0, 4.0, -4.0, 4.0)  # the plane drawn on, not the points' bounding box
    assert ds.points_train.tolist() == [[-1.0, -1.0], [-2.0, -1.5], [1.0, 2.0]] and ds.y_train.tolist() == [0, 0, 1]
    bad = copy.deepcopy(new)
    bad.data.extent = [-1.0, 1.0, -1.0, 1.0]
    with pytest.raises(cfg.ConfigError, match=r"data.x\[1\] = \[-2.0, -1.5\]: is outside the plane"):
        cfg.validate(bad)
    bad.data.extent = [1.0, -1.0, 0.0, 1.0]
    with pytest.raises(cfg.ConfigError, match="xmin < xmax"):
        cfg.validate(bad)


# -- the trainer --------------------------------------------------------------------------
def points_exp(dtype="float64") -> cfg.Experiment:
    exp = small_exp("xor")
    exp.train.device, exp.train.dtype, exp.train.optimizer, exp.train.lr = "cpu", dtype, "adam", 0.01
    exp.model.hidden[0].dropout = 0.2  # the dropout generator goes on too
    return exp


def drawn(exp: cfg.Experiment, seed: int = 5) -> cfg.Experiment:
    rng = np.random.default_rng(seed)
    pts = hp.from_dataset(make_dataset(exp.data), exp.data.classes)
    for _ in range(30):
        pts = hp.add(pts, tuple(rng.uniform(-5, 5, 2)), int(rng.integers(0, 2)))
    for _ in range(40):
        pts, _ = hp.remove_nearest(pts, tuple(rng.uniform(-5, 5, 2)))
    return hp.to_experiment(exp, pts)


def fresh_with_state_of(trainer: Trainer, exp: cfg.Experiment) -> Trainer:
    """A new Trainer on `exp` given the weights, optimizer state and generators of `trainer`."""
    fresh = Trainer(copy.deepcopy(exp))
    fresh.network.load_state_dict(trainer.network.state_dict())
    fresh.optimizer.load_state_dict(trainer.optimizer.state_dict())
    fresh._order_rng.set_state(trainer._order_rng.get_state())
    fresh._dropout_rng.set_state(trainer._dropout_rng.get_state())
    return fresh


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_use_dataset_trains_on_the_new_points_as_a_fresh_trainer_with_those_weights(dtype):
    exp = points_exp(dtype)
    trainer = Trainer(copy.deepcopy(exp))
    for _ in range(3):
        trainer.train_epoch()
    trainer.step()  # half an epoch: dropped, the next epoch is over the new points
    trainer.step()
    before = [r.train_loss for r in trainer.history]
    new_exp = drawn(exp)
    fresh = fresh_with_state_of(trainer, new_exp)
    trainer.use_dataset(make_dataset(new_exp.data), copy.deepcopy(new_exp))
    assert trainer.evaluate_both() == fresh.evaluate_both()  # the same weights on the new points
    steps = trainer.step_count
    for _ in range(3):
        got, want = trainer.train_epoch(), fresh.train_epoch()
        assert (got.train_loss, got.val_loss, got.train_accuracy) == (want.train_loss, want.val_loss,
                                                                      want.train_accuracy)
    assert [r.train_loss for r in trainer.history[:3]] == before  # the history goes on
    assert trainer.epoch == 6 and trainer.step_count == steps + 3 * fresh.batches_per_epoch
    assert all(np.array_equal(a, b) for pair in zip(trainer.weights(), fresh.weights()) for a, b in zip(*pair))
    assert trainer.exp == new_exp and trainer.dataset.n_train == len(new_exp.data.x)


def test_use_dataset_refuses_data_the_network_cannot_take():
    trainer = Trainer(points_exp())
    other = small_exp("xor")
    other.data.features = ["x1", "x2", "x1*x2"]
    with pytest.raises(ValueError, match="3 inputs"):
        trainer.use_dataset(make_dataset(other.data))
    with pytest.raises(ValueError, match="regression"):
        trainer.use_dataset(make_dataset(cfg.DataConfig(dataset="plane")))


# -- the app ------------------------------------------------------------------------------
def cell_centre(plane, col: int, row: int) -> tuple[float, float]:
    """Where a point drawn in heatmap cell (col, row) goes: the cell's centre in data units,
    to 3 decimals (a ten-thousandth of the plane's span of 12)."""
    region, (xmin, xmax, ymin, ymax) = plane.heatmap_region, plane.dataset.extent
    assert xmax - xmin == ymax - ymin == 12
    x = xmin + (col + 0.5) * (xmax - xmin) / region.width
    y = ymax - (row + 0.5) * (ymax - ymin) / region.height
    assert plane.axes_layout.columns(x) == col and plane.axes_layout.rows(y) == row
    return round(x, 3) + 0.0, round(y, 3) + 0.0


async def click(pilot, plane, col: int, row: int, **kwargs) -> None:
    region = plane.heatmap_region
    await pilot.click("#plane", offset=(region.x + col, region.y + row), **kwargs)
    await settle(pilot.app)


@async_test
async def test_draw_points_with_keys_and_the_mouse_while_training_goes_on(tmp_path):
    exp = small_exp()
    app = TuidlApp(exp, deterministic=True, in_process=True)
    async with app.run_test(size=SIZE) as pilot:
        await start(app, pilot)
        await train_epochs(app, 3)
        history, weights = app.snap.history, app.snap.weights
        original = app.dataset
        plane = widget(app, "#plane")
        await pilot.press("d")
        await pilot.pause()
        region = plane.heatmap_region
        assert plane.drawing and plane.has_focus and plane.cursor == (region.width // 2, region.height // 2)
        assert "drawing: class 0" in widget(app, "#plane-pane").border_title
        assert "add point" in flat(screen_text(app))  # the footer lists the mode's keys
        await pilot.press("left", "left", "up", "enter")
        await settle(app)
        first = cell_centre(plane, region.width // 2 - 2, region.height // 2 - 1)
        assert app.exp.data.dataset == "points"
        assert app.exp.data.x == original.points_train.tolist() + [list(first)]
        assert app.exp.data.y == original.y_train.tolist() + [0]
        assert app.exp.data.x_val == original.points_val.tolist() and app.exp.data.y_val == original.y_val.tolist()
        assert app.exp.data.extent == list(original.extent)
        # the engine trains the same network on the new set: the epoch and the weights are kept
        assert app.snap.exp == app.exp and app.snap.epoch == 3 and app.snap.history == history
        assert all(np.array_equal(a, b) for pair in zip(app.snap.weights, weights) for a, b in zip(*pair))
        assert app.snap.unsaved
        await pilot.press("c", "right", "right", "right", "enter")
        await settle(app)
        second = cell_centre(plane, region.width // 2 + 1, region.height // 2 - 1)
        assert app.exp.data.x[-2:] == [list(first), list(second)] and app.exp.data.y[-2:] == [0, 1]
        assert "drawing: class 1" in widget(app, "#plane-pane").border_title
        await pilot.press("delete")  # the cursor is on the second point: it goes
        await settle(app)
        assert app.exp.data.x[-1] == list(first) and len(app.exp.data.x) == len(original.points_train) + 1
        # the mouse: a click adds a point of the current class, a right-click and a shift-click remove
        await click(pilot, plane, 3, 2)
        third = cell_centre(plane, 3, 2)
        assert app.exp.data.x[-1] == list(third) and app.exp.data.y[-1] == 1 and plane.cursor == (3, 2)
        await click(pilot, plane, 3, 2, button=3)
        assert app.exp.data.x[-1] == list(first)
        await click(pilot, plane, 20, 9)
        await click(pilot, plane, 20, 9, shift=True)
        assert app.exp.data.x[-1] == list(first)
        await click(pilot, plane, 4, 2)
        await click(pilot, plane, 6, 3)
        drawn_exp = copy.deepcopy(app.exp)
        assert drawn_exp.data.x[-2:] == [list(cell_centre(plane, 4, 2)), list(cell_centre(plane, 6, 3))]
        # a click on the axes, outside the heatmap, is refused with the reason
        await click(pilot, plane, -1, 2)
        assert "outside the plane" in app.last_message and app.exp == drawn_exp
        # the mode's keys do not leak: the app's keys still work (e trains), ↑ is not the step-through's
        await pilot.press("e")
        await settle(app)
        await train_epochs(app, 1)
        assert app.snap.epoch == 5 and app.snap.history[:3] == history and plane.drawing
        await pilot.press("escape")
        await pilot.pause()
        assert not plane.drawing and not plane.has_focus
        assert "drawing" not in widget(app, "#plane-pane").border_title
        cursor = plane.cursor
        await pilot.press("c", "left", "enter", "delete")
        await settle(app)
        assert app.exp == drawn_exp and plane.cursor == cursor and plane.label == 1
        shown = [r.train_loss for r in app.snap.history]
        # the experiment's TOML keeps the points; reopened, they are the same
        path = tmp_path / "mine.toml"
        app.action_save_toml()
        await pilot.pause()
        assert isinstance(app.screen, PathModal)
        app.screen.query_one("#path-input").value = str(path)
        await pilot.press("enter")
        await pilot.pause()
    assert cfg.load(path) == drawn_exp
    reopened = make_dataset(cfg.load(path).data)
    assert reopened.points_train.tolist() == drawn_exp.data.x and reopened.extent == original.extent
    # the losses after the edits are those of a fresh Trainer on the drawn set with the weights of epoch 3
    reference = Trainer(copy.deepcopy(exp))
    for _ in range(3):
        reference.train_epoch()
    fresh = fresh_with_state_of(reference, drawn_exp)
    assert shown[3:] == [fresh.train_epoch().train_loss for _ in range(2)]
    assert shown[:3] == [r.train_loss for r in reference.history]


@async_test
async def test_a_set_that_cannot_train_waits_and_clearing_all_can_be_undone():
    exp = small_exp()
    app = TuidlApp(exp, deterministic=True, in_process=True)
    async with app.run_test(size=SIZE) as pilot:
        await start(app, pilot)
        plane = widget(app, "#plane")
        await pilot.press("d", "C")
        await settle(app)
        n = len(app.dataset.points_train) + len(app.dataset.points_val)
        assert f"cleared {n} points" in app.last_message and "training waits for points" in app.last_message
        assert plane.dataset.n_train == 0 and plane.dataset.n_val == 0
        await pilot.press("e")  # refused: no points
        await settle(app)
        assert app.snap.epoch == 0 and "training waits for points" in app.last_message
        await pilot.press("enter")  # one point of class 0
        await settle(app)
        assert app.exp.data.x == [list(plane.cursor_point)] and app.exp.train.batch_size == 1
        await pilot.press("down", "enter", "c", "down", "enter")
        await settle(app)
        assert "class 1's second point" in app.last_message
        await pilot.press("space")
        await settle(app)
        assert not app.snap.running and app.snap.epoch == 0 and "class 1's second point" in app.last_message
        await pilot.press("down", "enter", "e")
        await settle(app)
        assert app.exp.data.y == [0, 0, 1, 1] and app.exp.train.batch_size == 4 and app.snap.epoch == 1
        await pilot.press("u", "u", "u", "u", "u")  # back to before the clear
        await settle(app)
        assert app.exp.data.x == app.dataset.points_train.tolist() and len(app.exp.data.x) == 100
        assert app.exp.train.batch_size == exp.train.batch_size  # it shrank with the points, and grows back
        assert app.snap.epoch == 1 and app.snap.exp == app.exp
        await pilot.press("u")
        await pilot.pause()
        assert "nothing to undo" in app.last_message


@async_test
async def test_help_and_palette_list_the_drawing_mode():
    from tuidl.ui.palette import commands

    app = TuidlApp(small_exp(), deterministic=True, in_process=True)
    async with app.run_test(size=SIZE) as pilot:
        await start(app, pilot)
        entry = next(c for c in commands(app) if c.title == "Draw points")
        assert "enter add" in entry.help
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Draw points", "enter")
        await pilot.pause()
        plane = widget(app, "#plane")
        assert app.screen is app.main and plane.drawing and plane.has_focus
        await pilot.press("escape")
        await pilot.pause()
        for key in ("d", "C"):  # typed at once, as a terminal delivers them: the mode has the keys from `d` on
            app.post_message(events.Key(key, key))
        await settle(app)
        assert plane.drawing and "cleared" in app.last_message
    assert "| `d` | draw points" in HELP_TEXT and "right-click" in HELP_TEXT
