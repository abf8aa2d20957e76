"""The input plane: axes in the data's units, and points drawn on their boundary pixel."""
from __future__ import annotations

import asyncio
import dataclasses
import math
import re

import numpy as np
import pytest
from textual.app import App
from textual.geometry import Region

from tuidl.config import DataConfig
from tuidl.data import make_dataset
from tuidl.data.features import grid_points
from tuidl.ui.plane import BoundaryPlane, plane_layout

NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


class PlaneApp(App):
    CSS = "BoundaryPlane { width: 1fr; height: 1fr; min-height: 0; }"

    def compose(self):
        yield BoundaryPlane()


def show(dataset, size, check):
    """Mount a BoundaryPlane alone at `size` with `dataset` and run check(app, plane)."""
    async def run():
        app = PlaneApp()
        async with app.run_test(size=size) as pilot:
            plane = app.query_one(BoundaryPlane)
            plane.set_dataset(dataset)
            await pilot.pause()
            await check(app, pilot, plane)
    asyncio.run(run())


def screen_lines(app) -> list[str]:
    return ["".join(seg.text for seg in strip) for strip in app.screen._compositor.render_strips()]


def cells(strip) -> list[tuple[str, object]]:
    """(character, style) of each cell of a strip."""
    return [(ch, seg.style) for seg in strip for ch in seg.text]


def pass_data(samples: int = 100):
    return make_dataset(DataConfig(dataset="pass", samples=samples))


def only_points(dataset, points):
    """The dataset with `points` as its only (training) points."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    return dataclasses.replace(dataset, points_train=pts, y_train=np.ones(len(pts), np.int64),
                               points_val=np.empty((0, 2)), y_val=np.empty(0, np.int64))


def axis_ticks(plane, lines):
    """((value, row) of each y tick, (value, first column, label) of each x tick), read from the text."""
    region = plane.heatmap_region
    ys = []
    for row in range(region.y, region.bottom):
        gutter = lines[row][: region.x]
        if gutter.endswith("┤"):
            ys.append((float(gutter[:-1]), row))
        else:
            assert gutter.strip() in ("│", ""), gutter
    tick_row = lines[region.bottom]
    xs = [(float(m.group()), m.start(), m.group()) for m in NUMBER.finditer(tick_row)]
    return ys, xs


def nearest(centres, value) -> list[int]:
    """Indices of the pixel centres nearest to value (two when it lies on an edge)."""
    distance = np.abs(centres - value)
    return np.flatnonzero(distance <= distance.min() + 1e-9).tolist()


def is_nice_step(step: float) -> bool:
    mantissa = step / 10 ** math.floor(math.log10(step))
    return any(math.isclose(mantissa, m) for m in (1, 2, 5))


@pytest.mark.parametrize("name, size", [("pass", (40, 20)), ("pass", (60, 24)), ("circle", (47, 14))])
def test_axes_show_round_increasing_ticks_in_data_units_and_the_axis_names(name, size):
    dataset = make_dataset(DataConfig(dataset=name, samples=100))
    xmin, xmax, ymin, ymax = dataset.extent

    async def check(app, pilot, plane):
        lines = screen_lines(app)
        region = plane.heatmap_region
        assert region.x > 0 and region.y > 0 and region.width > 0.8 * size[0]
        ys, xs = axis_ticks(plane, lines)
        assert len(ys) >= 3 and len(xs) >= 3
        y_values = [v for v, _ in ys][::-1]  # bottom up
        x_values = [v for v, _, _ in xs]
        for values, lo, hi in ((x_values, xmin, xmax), (y_values, ymin, ymax)):
            steps = np.diff(values)
            assert np.all(steps > 0) and np.allclose(steps, steps[0]) and is_nice_step(steps[0])
            # every multiple of the step inside the extent, and no other
            assert values[0] - steps[0] < lo <= values[0] and values[-1] <= hi < values[-1] + steps[0]
        # each label sits where the plane draws a point with its value
        for value, row in ys:
            assert plane.cell_of(xmin, value)[1] == row
        for value, start, label in xs:
            assert start <= plane.cell_of(value, ymin)[0] < start + len(label)
        x_name, y_name = dataset.axis_labels
        assert y_name in lines[0][: region.x + len(y_name) + 2]
        assert lines[region.bottom + 1].rstrip().endswith(x_name + " →")

    show(dataset, size, check)


def test_the_lecture_student_can_be_found_on_pass():
    dataset = pass_data()
    assert dataset.axis_labels == ("lectures attended", "hours on final project")

    async def check(app, pilot, plane):
        lines = screen_lines(app)
        ys, xs = axis_ticks(plane, lines)
        col, row = plane.cell_of(4, 5)
        assert plane.heatmap_region.contains(col, row)
        assert min(v for v, *_ in xs) <= 4 <= max(v for v, *_ in xs)
        assert min(v for v, _ in ys) <= 5 <= max(v for v, _ in ys)
        # the x tick "4" is right under the student's column, and 5 lies between the y ticks around it
        assert [start for value, start, label in xs if value == 4] == [col]
        above = max(r for v, r in ys if v > 5)
        below = min(r for v, r in ys if v < 5)
        assert above < row < below

    show(dataset, (40, 20), check)


@pytest.mark.parametrize("size", [(40, 20), (33, 11), (60, 24), (23, 20)])
def test_a_point_is_drawn_in_the_cell_of_its_boundary_pixel(size):
    """The boundary comes from the engine's grid (features.grid_points over dataset.extent at
    grid_size): the one pixel that contains a point lights up in the cell the point is drawn in."""
    dataset = pass_data()
    rng = np.random.default_rng(0)
    points = [(4.0, 5.0), (0.01, 11.99), (11.99, 0.01), *rng.uniform(0, 12, (5, 2)).tolist()]

    async def check(app, pilot, plane):
        region = plane.heatmap_region
        nx, ny = plane.grid_size
        assert (nx, ny) == (region.width, 2 * region.height)
        centres = grid_points(dataset.extent, nx, ny).reshape(ny, nx, 2)
        for x, y in points:
            cols, rows = nearest(centres[0, :, 0], x), nearest(centres[:, 0, 1], y)
            i, j = rows[0], cols[0]
            boundary = np.zeros((ny, nx))
            boundary[i, j] = 1.0
            plane.set_dataset(only_points(dataset, []))
            plane.set_boundary(boundary)
            await pilot.pause()
            lit = []
            for row in range(region.y, region.bottom):
                for col, (ch, style) in enumerate(cells(plane.render_line(row))[region.x:]):
                    assert ch == "▀"
                    for half, color in ((0, style.color), (1, style.bgcolor)):
                        lit.append((color.triplet, (row - region.y) * 2 + half, col))
            colours = [c for c, *_ in lit]
            assert [(r, c) for colour, r, c in lit if colours.count(colour) == 1] == [(i, j)]
            # a point on a pixel's edge may go to either side
            allowed = {(region.x + c, region.y + r // 2) for r in rows for c in cols}
            plane.set_dataset(only_points(dataset, [(x, y)]))
            await pilot.pause()
            glyphs = [(col, row) for row, line in enumerate(screen_lines(app))
                      for col, ch in enumerate(line) if ch == "●"]
            assert len(glyphs) == 1 and glyphs[0] in allowed
            assert plane.cell_of(x, y) == glyphs[0]

    show(dataset, size, check)


@pytest.mark.parametrize("size", [(23, 30), (80, 7), (12, 4), (1, 1)])
def test_small_sizes_drop_the_axes(size):
    dataset = pass_data()

    async def check(app, pilot, plane):
        w, h = size
        assert plane.heatmap_region == Region(0, 0, w, h)
        assert plane.grid_size == (w, 2 * h)
        lines = screen_lines(app)
        text = "\n".join(lines)
        assert "lectures" not in text and "┤" not in text and len(lines) == h
        assert set(text) <= set("▀●○\n")
        plane.set_boundary(np.full((2 * h, w), 0.5))
        await pilot.pause()
        assert len(screen_lines(app)) == h

    show(dataset, size, check)


def test_axes_appear_from_the_threshold_size():
    layout = plane_layout(24, 8, (0, 12, 0, 12))
    assert layout.left > 0 and layout.top > 0 and layout.height < 8
    assert plane_layout(23, 8, (0, 12, 0, 12)).left == 0
    assert plane_layout(24, 7, (0, 12, 0, 12)).top == 0


def test_fractional_extents_get_decimal_round_ticks():
    layout = plane_layout(40, 20, (-0.25, 1.3, 0.0, 0.07))
    x_labels = [label for _, label in layout.x_ticks()]
    y_labels = [label for _, label in layout.y_ticks()]
    x_values, y_values = [float(s) for s in x_labels], [float(s) for s in y_labels][::-1]
    for values, lo, hi in ((x_values, -0.25, 1.3), (y_values, 0.0, 0.07)):
        steps = np.diff(values)
        assert len(values) >= 3 and np.allclose(steps, steps[0]) and is_nice_step(steps[0])
        assert values[0] - steps[0] < lo <= values[0] and values[-1] <= hi < values[-1] + steps[0]
    decimals = {len(s.partition(".")[2]) for s in y_labels}
    assert len(decimals) == 1 and decimals.pop() > 0


def test_redrawing_the_heatmap_reuses_the_axes():
    dataset = pass_data()

    async def check(app, pilot, plane):
        region = plane.heatmap_region
        first = [plane.render_line(y) for y in range(20)]
        nx, ny = plane.grid_size
        plane.set_boundary(np.linspace(0, 1, nx * ny).reshape(ny, nx))
        await pilot.pause()
        second = [plane.render_line(y) for y in range(20)]
        for y in [*range(region.y), *range(region.bottom, 20)]:
            assert second[y] is first[y]
        assert any(second[y].text == first[y].text and second[y] is not first[y]
                   for y in range(region.y, region.bottom))
        assert any(cells(second[y]) != cells(first[y]) for y in range(region.y, region.bottom))

    show(dataset, (40, 20), check)


@pytest.mark.parametrize("name, classes, title", [
    ("pass", 2, "decision boundary · ● train ○ validation"),
    ("gauss", 3, "decision boundary · ● train ○ validation"),
    ("plane", 2, "prediction surface · ● train ○ validation"),
])
def test_title_names_what_the_heatmap_shows(name, classes, title):
    async def check(app, pilot, plane):
        assert plane.title == title

    show(make_dataset(DataConfig(dataset=name, samples=100, classes=classes)), (40, 20), check)
