"""Each lesson played in the app as its text says, its point checked with the numbers on screen."""
from __future__ import annotations

import math

from conftest import (
    async_test,
    flat,
    run_until_it_stops,
    screen_text,
    settle,
    start,
    train_epochs,
    widget,
)

from tuidl import lessons
from tuidl.ui.app import TuidlApp


def lesson_app(name: str, **kwargs) -> TuidlApp:
    exp, lesson = lessons.load(name)
    return TuidlApp(exp, lesson=lesson, deterministic=True, in_process=True, **kwargs)


def probability_at(app, x: float, y: float) -> float:
    """What the plane shows at a point: the network's output there (the boundary's pixel)."""
    plane = widget(app, "#plane")
    ny, nx = app.snap.boundary.shape
    x0, x1, y0, y1 = plane.dataset.extent
    col = min(nx - 1, int((x - x0) / (x1 - x0) * nx))
    row = min(ny - 1, int((y1 - y) / (y1 - y0) * ny))  # row 0 at the top
    return float(app.snap.boundary[row, col])


@async_test
async def test_lesson_picker_opens_a_lesson_with_its_text():
    app = TuidlApp(deterministic=True, in_process=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await start(app, pilot)
        await pilot.press("l")
        await pilot.pause()
        shown = flat(screen_text(app))
        assert "perceptron" in shown.lower()
        assert "escape" in shown and "closes)" in shown  # the whole heading, wrapped, not cut
        await pilot.press("enter")  # the first lesson
        await settle(app)
        exp, lesson = lessons.load("perceptron")
        assert app.exp == exp and app.snap.exp == exp and app.lesson.name == "perceptron"
        assert lesson.title in screen_text(app)


@async_test
async def test_on_a_compact_screen_the_lesson_is_in_view_when_it_opens():
    """Below 110×32 the views stack and scroll: the lesson (what to do first) is scrolled
    into view when it opens, from the command line and from the picker."""
    app = lesson_app("perceptron")
    async with app.run_test(size=(80, 24)) as pilot:
        await start(app, pilot)
        assert app.main.has_class("-compact")
        assert "The perceptron: one neuron" in flat(screen_text(app))
        widget(app, "#views").scroll_home(animate=False)
        await pilot.press("l", "down", "enter")  # the next lesson
        await settle(app)
        await pilot.pause()
        assert app.lesson.name == "will-i-pass"
        assert lessons.load("will-i-pass")[1].title in flat(screen_text(app))


@async_test
async def test_page_keys_page_the_lesson_outside_the_step_through_and_the_phase_inside_it():
    """At 100×30 the overfitting lesson's dropout and early-stopping parts were below the
    panel's fold, and only a focused panel scrolled (some twenty tab presses away)."""
    app = lesson_app("overfitting")
    async with app.run_test(size=(100, 30)) as pilot:
        await start(app, pilot)
        panel = widget(app, "#lesson")
        assert panel.max_scroll_y > 0 and panel.scroll_y == 0
        assert "Then, early stopping" not in screen_text(app)
        await pilot.press("end")
        await pilot.pause()
        assert panel.scroll_y == panel.max_scroll_y and "Then, early stopping" in screen_text(app)
        await pilot.press("home", "pagedown")
        await pilot.pause()
        assert 0 < panel.scroll_y
        await pilot.press("pageup")
        await pilot.pause()
        assert panel.scroll_y == 0
        step = app.main.step_panel
        await pilot.press("n")  # the step-through: the keys are its phase's
        await settle(app)
        for _ in range(12):  # on to a phase taller than its panel
            if step.max_scroll_y > 0:
                break
            await pilot.press("n")
            await settle(app)
        await pilot.press("end")
        await pilot.pause()
        assert panel.scroll_y == 0 and step.scroll_y == step.max_scroll_y > 0


@async_test
async def test_perceptron_z_is_minus_6_at_the_lectures_point():
    app = lesson_app("perceptron")
    async with app.run_test(size=(120, 40)) as pilot:
        await start(app, pilot)
        await pilot.press("n")
        await settle(app)
        record = app.main.step_panel.cursor.record
        layer = record.layers[0]
        assert list(layer.input[0]) == [-1.0, 2.0]  # example 0 is the lecture's point
        assert layer.z[0, 0] == -6.0
        assert math.isclose(layer.a[0, 0], 1 / (1 + math.exp(6)), rel_tol=1e-6)  # σ(−6) ≈ 0.0025
        text = screen_text(app)
        assert "−6" in text and "+0.002473" in text


@async_test
async def test_will_i_pass_the_student_is_wrong_then_right():
    app = lesson_app("will-i-pass")
    async with app.run_test(size=(120, 40)) as pilot:
        await start(app, pilot)
        assert probability_at(app, 4, 5) < 0.5  # the untrained network says the student fails
        assert "lectures attended" in screen_text(app)  # the plane's axes are named
        await train_epochs(app, app.exp.train.epochs)
        assert probability_at(app, 4, 5) > 0.5  # trained: the student passes, as they did


async def set_field(pilot, app, tab: str, selector: str, text: str) -> None:
    from conftest import submit

    await pilot.press(tab)
    await submit(pilot, app, selector, text)


async def set_all_activations(pilot, app, activation: str) -> None:
    await pilot.press("2")
    for i in range(len(app.exp.model.hidden)):
        app.select_layer(i)
        widget(app, "#f-activation").value = activation
        await settle(app)


@async_test
async def test_non_linearity_linear_fails_and_tanh_succeeds_from_the_same_start():
    app = lesson_app("non-linearity")
    async with app.run_test(size=(120, 40)) as pilot:
        await start(app, pilot)
        start_weights = app.snap.weights
        await train_epochs(app, 200)
        assert app.snap.history[-1].val_accuracy < 0.7 and app.snap.history[-1].train_loss > 0.6
        await set_all_activations(pilot, app, "tanh")
        assert all((W == W0).all() for (W, _), (W0, _) in zip(app.snap.weights, start_weights))
        await train_epochs(app, 200)
        assert app.snap.history[-1].val_accuracy > 0.95


@async_test
async def test_learning_rate_too_small_right_and_too_large():
    app = lesson_app("learning-rate")
    async with app.run_test(size=(120, 40)) as pilot:
        await start(app, pilot)
        await train_epochs(app, 100)
        assert app.snap.history[-1].val_accuracy < 0.6 and app.snap.history[-1].train_loss > 0.3  # too small
        await set_field(pilot, app, "3", "#f-lr", "0.03")
        await train_epochs(app, 100)
        assert app.snap.history[-1].val_accuracy > 0.95
        await set_field(pilot, app, "3", "#f-lr", "1")
        await run_until_it_stops(pilot, app)
        assert app.snap.diverged and "diverged" in screen_text(app)


@async_test
async def test_optimizers_opens_as_a_race_of_the_five_and_momentum_races_too():
    from tuidl.ui.race_screen import RaceScreen

    app = lesson_app("optimizers")
    async with app.run_test(size=(120, 40)) as pilot:
        await start(app, pilot)
        for _ in range(200):
            if isinstance(app.screen, RaceScreen) and app.screen.progress is not None:
                break
            await pilot.pause(0.05)
        race = app.screen
        assert race.progress.names == ("sgd", "adam", "rmsprop", "adagrad", "adadelta")
        assert "Optimizers: the same start" in flat(screen_text(app))  # the lesson's text beside the race
        await pilot.press("space")
        for _ in range(1200):
            if race.progress.finished:
                break
            await pilot.pause(0.05)
        loss = {name: curve[-1][1] for name, curve in zip(race.progress.names, race.progress.curves)}
        at_10 = {name: curve[9][1] for name, curve in zip(race.progress.names, race.progress.curves)}
        assert loss["adam"] < 0.01 < loss["adagrad"] and loss["adam"] < loss["sgd"]
        assert math.isclose(at_10["sgd"], 0.68, abs_tol=0.01) and math.isclose(at_10["adam"], 0.06, abs_tol=0.01)
        rmsprop = [point[1] for point in race.progress.curves[2][50:]]
        assert max(rmsprop) > 5 * min(rmsprop)  # it jumps near the minimum
        await pilot.press("v")
        race.query_one("#race-vary").value = "optimizer=sgd momentum=0,0.9"
        await pilot.press("enter", "space")
        for _ in range(1200):
            if race.progress.names == ("sgd momentum=0", "sgd momentum=0.9") and race.progress.finished:
                break
            await pilot.pause(0.05)
        at_10 = [curve[9][1] for curve in race.progress.curves]
        assert math.isclose(at_10[1], 0.21, abs_tol=0.01) and at_10[1] < at_10[0]
        await pilot.press("escape")
        assert app.screen is app.main


@async_test
async def test_mini_batches_steps_per_epoch_follow_the_batch_size():
    app = lesson_app("mini-batches")
    async with app.run_test(size=(120, 40)) as pilot:
        await start(app, pilot)
        for batch, steps in (("32", 7), ("1", 200), ("200", 1)):
            await set_field(pilot, app, "1", "#f-batch_size", batch)
            await train_epochs(app, 2)
            assert app.snap.steps == 2 * steps


@async_test
async def test_overfitting_early_stopping_stops_and_restores_the_best_epoch():
    app = lesson_app("overfitting")
    async with app.run_test(size=(120, 40)) as pilot:
        await start(app, pilot)
        await train_epochs(app, 100)
        val = [r.val_loss for r in app.snap.history]
        best = val.index(min(val))
        assert val[-1] > 2 * min(val) and best < 50  # the validation curve turns up: overfitting
        await set_field(pilot, app, "3", "#f-early_stopping", "20")
        await run_until_it_stops(pilot, app)
        assert app.snap.status.startswith("early stopping")
        assert f"epoch {best + 1}" in app.snap.status and app.snap.epoch == best + 1 + 20
