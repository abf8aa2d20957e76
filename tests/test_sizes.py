"""Terminal sizes: 60×20 is usable, smaller says so and recovers, resizing while training is fine.

(80×24 showing the training figures: tests/test_app.py; snapshots at 80×24 and 60×20:
tests/test_snapshots.py.)
"""
from __future__ import annotations

import pytest
from conftest import async_test, flat, screen_text, settle, small_exp, start, train_epochs, widget

from textual.widgets import Button

from tuidl.ui.app import TuidlApp
from tuidl.ui.too_small import TooSmallScreen


def _inside_and_apart(app, width: int, height: int) -> None:
    regions = [widget(app, s).region for s in ("#topbar", "#side", "#views", "#figures", "#message")]
    for i, a in enumerate(regions):
        assert a.width > 0 and a.height > 0 and a.right <= width and a.bottom <= height, a
        for b in regions[i + 1:]:
            assert not a.overlaps(b), (a, b)


@async_test
async def test_60x20_is_usable():
    app = TuidlApp(small_exp(), deterministic=True, in_process=True)
    async with app.run_test(size=(60, 20)) as pilot:
        await start(app, pilot)
        assert app.screen is app.main and widget(app, "#figures").display
        await train_epochs(app, 3)
        await pilot.pause()
        _inside_and_apart(app, 60, 20)
        text = screen_text(app)
        last = app.snap.history[-1]
        assert f"epoch 3 · loss {last.train_loss:.4f}" in flat(text)  # the figures line
        assert "too small" not in text
        for key, field in (("1", "#f-dataset"), ("2", "#f-units"), ("3", "#f-lr"), ("4", "#f-device")):
            await pilot.press(key)
            await pilot.pause()
            assert widget(app, field).region.width > 0, field  # each form shows, the panel scrolls
        # the charts are below the views, which scroll to them
        views = widget(app, "#views")
        assert views.max_scroll_y > 0
        widget(app, "#loss-chart").scroll_visible(animate=False)
        await pilot.pause()
        assert views.region.contains_region(widget(app, "#loss-chart").region)
        await pilot.press("n")
        await settle(app)
        assert app.main.stepping
        await pilot.press("escape")
        await pilot.pause()
        _inside_and_apart(app, 60, 20)
        await pilot.press("q")  # trained and not saved: the quit question, its three answers whole
        await pilot.pause()
        box = app.screen.query_one("#quit-box").content_region
        for button in app.screen.query(Button):
            assert box.contains_region(button.region), str(button.label)
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is app.main


@async_test
async def test_a_smaller_terminal_says_so_and_recovers():
    app = TuidlApp(small_exp(), deterministic=True, in_process=True)
    async with app.run_test(size=(59, 20)) as pilot:
        await start(app, pilot)
        assert isinstance(app.screen, TooSmallScreen)
        assert flat(screen_text(app)) == "terminal too small: 59×20, needs 60×20"
        await pilot.resize_terminal(70, 12)
        await pilot.pause()
        assert flat(screen_text(app)) == "terminal too small: 70×12, needs 60×20"
        await pilot.press("e")  # the keys go on working meanwhile
        await settle(app)
        assert app.snap.epoch == 1
        await pilot.resize_terminal(60, 20)
        await pilot.pause()
        await pilot.pause()
        assert app.screen is app.main
        assert app.main.has_class("-compact")
        _inside_and_apart(app, 60, 20)
        assert "epoch 1 · loss" in flat(screen_text(app))
        await pilot.resize_terminal(120, 40)
        await pilot.pause()
        assert not app.main.has_class("-compact") and "too small" not in screen_text(app)


@async_test
async def test_a_screen_opened_while_too_small_is_covered_and_both_close():
    from tuidl.ui.help import HelpScreen

    app = TuidlApp(small_exp(), deterministic=True, in_process=True)
    async with app.run_test(size=(40, 10)) as pilot:
        await start(app, pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        await pilot.pause()
        assert isinstance(app.screen, TooSmallScreen) and "too small: 40×10" in screen_text(app)
        await pilot.resize_terminal(100, 30)
        await pilot.pause()
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        await pilot.pause()
        await pilot.pause()
        assert app.screen is app.main


@async_test
async def test_resizing_while_training_is_fine():
    exp = small_exp()
    exp.train.epochs = 100_000
    app = TuidlApp(exp, deterministic=True, in_process=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await start(app, pilot)
        app.set_speed(50)  # epochs/s: the training thread shares this process (in_process) and leaves it room
        await pilot.press("space")
        sizes = [(80, 24), (59, 19), (61, 21), (100, 30)]
        epochs = []
        for width, height in sizes:
            await pilot.resize_terminal(width, height)
            await pilot.pause(0.15)
            assert isinstance(app.screen, TooSmallScreen) == (width < 60 or height < 20), (width, height)
            epochs.append(app.snap.epoch)
        assert epochs == sorted(epochs) and epochs[-1] > epochs[0]  # it trained on throughout
        await pilot.press("space")
        await settle(app)
        assert app.screen is app.main and not app.snap.running
        _inside_and_apart(app, 100, 30)
        assert app.main.query_one("#plane").size.width > 0
        assert app._exception is None


@async_test
async def test_the_step_through_shows_its_phase_on_a_compact_screen():
    """Below 110×32 the views stack and scroll; the step-through panel keeps its height there
    (it was squeezed to nothing: the header 'phase 1/…' and the numbers out of sight)."""
    app = TuidlApp(small_exp(), deterministic=True, in_process=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await start(app, pilot)
        assert app.main.has_class("-compact")
        await pilot.press("n")
        await settle(app)
        await pilot.pause()
        assert widget(app, "StepThroughPanel").region.height >= 10
        text = flat(screen_text(app))  # `n` scrolled the views to it
        assert "phase 1/" in text and "Forward · layer 1 of" in text and "a₀ = tanh(z₀) =" in text


@async_test
async def test_the_gradients_view_comes_into_sight_on_a_compact_screen():
    """`g` on a screen whose views stack below the fold: the gradients' charts are scrolled
    to, each its full height (the key seemed to do nothing, the charts out of sight)."""
    app = TuidlApp(small_exp(), deterministic=True, in_process=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await start(app, pilot)
        await train_epochs(app, 5)
        await pilot.press("g")
        await pilot.pause(0.6)
        text = flat(screen_text(app))
        assert "‖dL/dW‖ per layer" in text and "layer 1" in text and "layer 3" in text
        right = widget(app, "#right").region
        for chart in app.main.query("GradientChart"):
            assert right.contains_region(chart.region)  # not cut off by the pane's auto height


@async_test
async def test_drawing_points_and_editing_weights_bring_their_pane_into_sight_on_a_compact_screen():
    """The views stack and scroll: `d` shows the whole plane, `w` the diagram (Textual could
    not scroll to a widget inside a container drawn invisible, a speed-up since removed)."""
    app = TuidlApp(small_exp(), deterministic=True, in_process=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await start(app, pilot)
        assert not widget(app, "#views").region.contains_region(widget(app, "#plane-pane").region)
        await pilot.press("d")
        await pilot.pause()
        assert widget(app, "#views").region.contains_region(widget(app, "#plane-pane").region)
        assert "drawing: class 0" in screen_text(app)
        await pilot.press("escape")
        widget(app, "#views").scroll_end(animate=False)
        await pilot.pause()
        await pilot.press("w")  # the diagram takes the focus, and the views scroll up to it
        await pilot.pause()
        assert app.focused is widget(app, "#diagram")
        assert widget(app, "#views").region.contains_region(widget(app, "#diagram-pane").region)


@async_test
async def test_the_layer_buttons_fit_the_compact_side_panel():
    app = TuidlApp(small_exp(), deterministic=True, in_process=True)
    async with app.run_test(size=(60, 20)) as pilot:
        await start(app, pilot)
        await pilot.press("2")
        await pilot.pause()
        side = widget(app, "#side").region
        for button in (widget(app, "#b-add"), widget(app, "#b-delete")):
            assert side.contains_region(button.region), str(button.label)
        assert "+ add after" in screen_text(app) and "− delete" in screen_text(app)


@async_test
async def test_the_race_names_every_variant_above_its_boundary_at_60x20():
    """Too short for two rows of planes, the race's planes stay in one row (the first row was
    squeezed to nothing: only the fifth variant's name showed)."""
    from tuidl.ui.headless import race_until

    app = TuidlApp(small_exp(), deterministic=True, in_process=True)
    async with app.run_test(size=(60, 20)) as pilot:
        await start(app, pilot)
        await pilot.press("R")
        await race_until(app, lambda p: p.names)
        await pilot.pause()
        pane = app.screen.query_one("#race-switch").region
        names = app.screen.query(".race-plane-name")
        assert len(names) == 5
        for i, name in enumerate(names):
            assert name.region.height == 1 and pane.contains_region(name.region), str(name.render())
            assert not any(name.region.overlaps(other.region) for other in list(names)[i + 1:])
        shown = screen_text(app)
        assert all(variant in shown for variant in ("sgd", "adam", "rmsprop", "adagrad", "adadelta"))


@pytest.mark.parametrize("size", [(100, 30), (120, 40), (97, 40)])
@async_test
async def test_the_races_planes_are_all_one_size_so_each_draws_the_same_points_alike(size):
    """At 100×30 the first plane was a cell narrower than the others (Textual shares out
    the grid's spare cells): its training points fell in other cells and looked like
    other data."""
    from tuidl.ui.headless import race_until
    from tuidl.ui.plane import BoundaryPlane

    app = TuidlApp(small_exp(), deterministic=True, in_process=True)
    async with app.run_test(size=size) as pilot:
        await start(app, pilot)
        await pilot.press("R")
        await race_until(app, lambda p: p.names)
        await pilot.pause()
        planes = list(app.screen.query(BoundaryPlane))
        assert len(planes) == 5 and all(p.content_size.width >= 14 for p in planes)
        assert len({p.content_size for p in planes}) == 1
        assert len({tuple(strip.text for strip in p.render_lines(p.region.reset_offset)) for p in planes}) == 1


@async_test
async def test_a_field_the_palette_goes_to_is_scrolled_into_view_at_60x20():
    """Its tab was laid out only after the focus had scrolled to it: the init seed field,
    low in the Train form, had the keyboard out of sight."""
    app = TuidlApp(small_exp(), deterministic=True, in_process=True)
    async with app.run_test(size=(60, 20)) as pilot:
        await start(app, pilot)
        await pilot.press("ctrl+p", *"field init seed", "enter")
        await pilot.pause(0.3)
        await settle(app)
        field = widget(app, "#f-seed")
        assert app.focused is field
        form = widget(app, "#form-training")
        assert form.scroll_y > 0 and form.scrollable_content_region.contains_region(field.region)
        assert "init seed" in screen_text(app)
