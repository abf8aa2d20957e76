"""Widgets drawn all at once (the heatmap, the diagram) repaint only the lines that changed,
and what is on screen is always what a fresh drawing gives."""
from __future__ import annotations

import asyncio

import numpy as np
from rich.segment import Segment
from textual.app import App
from textual.geometry import Region
from textual.strip import Strip

from tuidl.ui.cached import CachedLinesWidget, _row_regions


class Lines(CachedLinesWidget):
    DEFAULT_CSS = "Lines { height: 8; border: round white; }"

    def __init__(self) -> None:
        super().__init__()
        self.texts = [f"row {i}" for i in range(8)]
        self.asked: list[int] = []  # the lines Textual asked for

    def _build(self) -> list[Strip]:
        width = self.content_size.width
        return [Strip([Segment(t.ljust(width))], width) for t in self.texts]

    def render_line(self, y: int) -> Strip:
        self.asked.append(y)
        return super().render_line(y)


class LinesApp(App):
    def compose(self):
        yield Lines()


def on_screen(widget) -> list[str]:
    """The widget's content lines as the compositor has them (Textual's line cache included)."""
    region = Region(0, 0, widget.outer_size.width, widget.outer_size.height)
    return [strip.text for strip in widget.render_lines(region)]


def test_only_the_changed_lines_are_repainted_and_the_screen_shows_the_new_ones():
    async def run():
        app = LinesApp()
        async with app.run_test(size=(30, 12)) as pilot:
            lines = app.query_one(Lines)
            await pilot.pause()
            lines._invalidate()  # drawn once more after the first layout's resize
            await pilot.pause()
            lines.asked.clear()
            lines.texts[1], lines.texts[2], lines.texts[5] = "one", "two", "five"
            lines._invalidate()
            await pilot.pause()
            assert sorted(set(lines.asked)) == [1, 2, 5]
            shown = on_screen(lines)
            assert [row.strip("│ ").strip() for row in shown[1:-1]] == lines.texts[:6]  # 6 rows inside the border
            lines.asked.clear()
            lines._invalidate()  # nothing changed: nothing repainted
            await pilot.pause()
            assert lines.asked == []
            await pilot.resize_terminal(24, 12)  # a new size draws every line
            await pilot.pause()
            assert sorted(set(lines.asked)) == list(range(6))

    asyncio.run(run())


def test_runs_of_rows_become_one_region_each():
    assert _row_regions([0, 1, 2, 5, 7, 8], 10) == [Region(0, 0, 10, 3), Region(0, 5, 10, 1), Region(0, 7, 10, 2)]
    assert _row_regions([], 10) == []


class TwoPlanes(App):
    CSS = "BoundaryPlane { height: 1fr; min-height: 0; }"

    def compose(self):
        from tuidl.ui.plane import BoundaryPlane

        yield BoundaryPlane(id="stepwise")
        yield BoundaryPlane(id="at-once")


def cells(widget) -> list[list[tuple[str, object]]]:
    return [[(seg.text, seg.style) for seg in strip] for strip in widget.render_lines(
        Region(0, 0, widget.outer_size.width, widget.outer_size.height))]


def gauss_data():
    from tuidl.config import DataConfig
    from tuidl.data import make_dataset

    return make_dataset(DataConfig(dataset="gauss", samples=100))


def test_a_heatmap_redrawn_row_by_row_shows_what_one_drawn_at_once_shows():
    """Rows of the heatmap are drawn again only where their pixels changed: after a run of
    boundaries, the screen shows what a plane given only the last one shows."""
    async def run():
        app = TwoPlanes()
        async with app.run_test(size=(40, 44)) as pilot:
            stepwise, at_once = app.query_one("#stepwise"), app.query_one("#at-once")
            for plane in (stepwise, at_once):
                plane.set_dataset(gauss_data())
            await pilot.pause()
            nx, ny = stepwise.grid_size
            rng = np.random.default_rng(0)
            for k in range(4):  # boundaries alike in their upper half, different below
                last = np.tile(np.linspace(0, 1, nx), (ny, 1))
                last[ny // 2:] = rng.uniform(0, 1, (ny - ny // 2, nx))
                stepwise.set_boundary(last)
                await pilot.pause()
            assert cells(stepwise) != cells(at_once)
            at_once.set_boundary(last)
            await pilot.pause()
            assert cells(stepwise) == cells(at_once)

    asyncio.run(run())


def test_the_drawing_cursor_moved_and_its_class_changed_leave_no_stale_row():
    async def run():
        app = TwoPlanes()
        async with app.run_test(size=(40, 44)) as pilot:
            plane = app.query_one("#stepwise")
            plane.set_dataset(gauss_data())
            nx, ny = plane.grid_size
            plane.set_boundary(np.tile(np.linspace(0, 1, nx), (ny, 1)))
            await pilot.pause()
            plane.enter_drawing((3, 2))
            await pilot.pause()
            plane.action_move(1, 1)
            plane.action_next_label()
            await pilot.pause()
            assert plane.drawing and plane.cursor == (4, 3)
            shown = cells(plane)
            plane._heat_rows.clear()  # every row drawn anew
            plane._invalidate()
            await pilot.pause()
            assert cells(plane) == shown

    asyncio.run(run())
