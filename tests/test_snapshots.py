"""Headless SVG snapshots of the app's screens (pytest-textual-snapshot).

Update with `pytest tests/test_snapshots.py --snapshot-update`. Every snapshot is seeded
and trained a fixed number of epochs through tuidl.ui.headless, with the
app's `deterministic` flag (no epochs/s, no machine-specific device details).
"""
from __future__ import annotations

import asyncio

import pytest

from tuidl.ui import headless
from tuidl.ui.app import TuidlApp
from tuidl.ui.screenshots import SIZE, spiral_exp


async def ready(pilot) -> None:
    await pilot.pause()
    await headless.wait_ready(pilot.app)
    await pilot.pause()


def test_opening_screen(snap_compare):
    async def run_before(pilot):
        await ready(pilot)

    assert snap_compare(TuidlApp(deterministic=True), terminal_size=SIZE, run_before=run_before)


def test_trained_network_with_boundary(snap_compare):
    async def run_before(pilot):
        await ready(pilot)
        await headless.train_epochs(pilot.app, 60)
        await pilot.pause()

    assert snap_compare(TuidlApp(spiral_exp(), deterministic=True, in_process=True), terminal_size=SIZE, run_before=run_before)


async def boundary_at_plane_size(app) -> None:
    """Every command shown, and the boundary drawn at the plane's own grid (the step-through
    changes the layout, and the plane asks the engine for its new size: under load that
    answer can come after the last key)."""
    from tuidl.ui.plane import BoundaryPlane

    plane = app.main.query_one(BoundaryPlane)
    for _ in range(200):
        await headless.settle(app)
        if app.snap.boundary_size == plane.grid_size:
            return
        await asyncio.sleep(0.05)
    pytest.fail(f"the boundary stayed at {app.snap.boundary_size}, the plane wants {plane.grid_size}")


def _step_to(phase: int, optimizer: str):
    async def run_before(pilot):
        await ready(pilot)
        await headless.train_epochs(pilot.app, 3)
        await pilot.press("n")
        await headless.settle(pilot.app)
        for _ in range(phase):
            await pilot.press("n")
        await boundary_at_plane_size(pilot.app)

    return run_before


# 2 → 8 → 8 → 1: phases 0-2 forward, 3 loss, 4-6 backward, 7 update
@pytest.mark.parametrize("name, phase", [("forward", 1), ("loss", 3), ("backward", 5), ("update", 7)])
def test_step_through_phases_sgd(snap_compare, name, phase):
    exp = spiral_exp("sgd")
    exp.train.options = {"momentum": 0.9}
    assert snap_compare(TuidlApp(exp, deterministic=True, in_process=True), terminal_size=SIZE, run_before=_step_to(phase, "sgd"))


@pytest.mark.parametrize("name, phase", [("backward", 4), ("update", 7)])
def test_step_through_phases_adam(snap_compare, name, phase):
    assert snap_compare(TuidlApp(spiral_exp("adam"), deterministic=True, in_process=True), terminal_size=SIZE,
                        run_before=_step_to(phase, "adam"))


def test_builder_editing_a_layer(snap_compare):
    async def run_before(pilot):
        await ready(pilot)
        await pilot.press("2")
        app = pilot.app
        app.select_layer(1)
        await pilot.pause()
        units = app.main.query_one("#f-units")
        units.focus()
        units.value = "32"
        await pilot.press("enter")
        await headless.settle(app)
        await pilot.pause()

    assert snap_compare(TuidlApp(spiral_exp(), deterministic=True, in_process=True), terminal_size=SIZE, run_before=run_before)


def test_help(snap_compare):
    async def run_before(pilot):
        await ready(pilot)
        await pilot.press("question_mark")
        await pilot.pause()

    assert snap_compare(TuidlApp(deterministic=True, in_process=True), terminal_size=SIZE, run_before=run_before)


def test_small_terminal(snap_compare):
    async def run_before(pilot):
        await ready(pilot)
        await headless.train_epochs(pilot.app, 5)
        await pilot.pause()

    assert snap_compare(TuidlApp(deterministic=True, in_process=True), terminal_size=(80, 24), run_before=run_before)


def test_terminal_60x20(snap_compare):
    """The smallest size laid out: the panels collapse and scroll, the figures line stays."""
    async def run_before(pilot):
        await ready(pilot)
        await headless.train_epochs(pilot.app, 5)
        await pilot.pause()

    assert snap_compare(TuidlApp(deterministic=True, in_process=True), terminal_size=(60, 20), run_before=run_before)


def test_terminal_too_small(snap_compare):
    async def run_before(pilot):
        await ready(pilot)
        await pilot.pause()

    assert snap_compare(TuidlApp(deterministic=True, in_process=True), terminal_size=(50, 16), run_before=run_before)


def test_plane_axes_on_will_i_pass(snap_compare):
    from tuidl import config as cfg

    exp = cfg.default_experiment()
    exp.data.dataset = "pass"

    async def run_before(pilot):
        await ready(pilot)
        await headless.train_epochs(pilot.app, 30)
        await pilot.pause()

    assert snap_compare(TuidlApp(exp, deterministic=True, in_process=True), terminal_size=SIZE, run_before=run_before)


def test_gradients_view(snap_compare):
    async def run_before(pilot):
        await ready(pilot)
        await headless.train_epochs(pilot.app, 60)
        await pilot.press("g")
        await pilot.pause(0.6)

    assert snap_compare(TuidlApp(spiral_exp(), deterministic=True, in_process=True), terminal_size=SIZE, run_before=run_before)


def test_lesson_perceptron_forward(snap_compare):
    from tuidl import lessons

    exp, lesson = lessons.load("perceptron")

    async def run_before(pilot):
        await ready(pilot)
        await pilot.press("n")
        await headless.settle(pilot.app)
        await pilot.pause()

    assert snap_compare(TuidlApp(exp, lesson=lesson, deterministic=True, in_process=True), terminal_size=SIZE,
                        run_before=run_before)


def test_race_of_the_five_optimizers(snap_compare):
    from tuidl import lessons

    async def run_before(pilot):
        await ready(pilot)
        await headless.race_until(pilot.app, lambda p: p.names)
        await pilot.press("space")
        await headless.race_until(pilot.app, lambda p: p.finished)
        await pilot.press("down", "n")
        await headless.race_until(pilot.app, lambda p: p.step_of)
        await pilot.pause()

    exp, lesson = lessons.load("optimizers")
    app = TuidlApp(exp, lesson=lesson, deterministic=True, in_process=True)
    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
