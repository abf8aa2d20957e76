"""The input plane: the decision boundary as a heatmap (two pixels per cell with "▀"),
the training (●) and validation (○) points on top of it, and axes in the data's units.

Layout with axes (dropped below AXES_MIN_WIDTH × AXES_MIN_HEIGHT, where they would crush
the heatmap):

    ↑ hours on final project
    12┤▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀
      │▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀
     0┤▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀
       0    4    8      12
               lectures attended →

The heatmap pixels are the cells of `features.grid_points(extent, *grid_size)`, and a data
point (x, y) is drawn in the cell holding the pixel that contains it (see `PlaneLayout`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from rich.segment import Segment
from rich.style import Style
from textual.geometry import Region
from textual.message import Message
from textual.strip import Strip

from tuidl.ui.cached import CachedLinesWidget
from tuidl.ui.colors import BACKGROUND, BLUE, CLASS_COLORS, ORANGE, blend, heat_rgb
from tuidl.ui.plane_neuron import NeuronView, neuron_range, neuron_rgb, neuron_title
from tuidl.ui.plane_points import PointsDrawing, cursor_style

AXES_MIN_WIDTH = 24   # below this width or height the axes are dropped
AXES_MIN_HEIGHT = 8
AXES_ROWS_ABOVE = 1   # the y axis name
AXES_ROWS_BELOW = 2   # the x tick labels, then the x axis name
X_LABEL_GAP = 2       # blank columns at least between two x tick labels
Y_TICK_SPACING = 2    # rows at least from one y tick to the next


def plane_title(task: str, show_validation: bool = True) -> str:
    """The pane title for a dataset's task ("binary", "multiclass" or "regression")."""
    what = "prediction surface" if task == "regression" else "decision boundary"
    return f"{what} · ● train" + (" ○ validation" if show_validation else "")


# -- ticks ----------------------------------------------------------------------------
def nice_steps(span: float, finest: float):
    """1, 2, 5 × 10^k steps, ascending from the largest one not above `finest`, up to span."""
    k = math.floor(math.log10(finest)) if finest > 0 else 0
    while True:
        for m in (1, 2, 5):
            step = m * 10.0 ** k
            if step >= finest * (1 - 1e-9):
                yield step
                if step >= span:
                    return
        k += 1


def tick_values(lo: float, hi: float, step: float) -> list[float]:
    """The multiples of step in [lo, hi]."""
    first, last = math.ceil(lo / step - 1e-9), math.floor(hi / step + 1e-9)
    return [i * step for i in range(first, last + 1)]


def tick_label(value: float, step: float) -> str:
    decimals = max(0, -math.floor(math.log10(step) + 1e-9))
    if abs(value) < step * 1e-6:
        value = 0.0  # not "-0"
    return f"{value:.{decimals}f}"


@dataclass(frozen=True)
class PlaneLayout:
    """Where the heatmap lies in the widget's content, and the data extent it shows.

    A point's cell is floor() of its position in the extent scaled to the cells (clipped
    to the edge); the pixel containing it is the same with two pixels per row, so a
    point is drawn in the cell of its boundary pixel.
    """

    left: int    # columns before the heatmap (the y gutter)
    top: int     # rows above the heatmap
    width: int   # heatmap columns (= boundary pixels across)
    height: int  # heatmap rows (= boundary pixels down / 2)
    extent: tuple[float, float, float, float]

    def columns(self, xs) -> np.ndarray:
        xmin, xmax = self.extent[0], self.extent[1]
        t = (np.asarray(xs, dtype=np.float64) - xmin) / (xmax - xmin)
        return np.floor(t * self.width).astype(int).clip(0, self.width - 1)

    def centre(self, col: int, row: int) -> tuple[float, float]:
        """The data coordinates of the centre of heatmap cell (col, row) (outside the
        extent for a cell outside the heatmap): where a point drawn in that cell goes.
        Rounded to a ten-thousandth of the span's decimal digits, so that a file of points
        drawn by hand reads 0.343, not 0.34285714285714364: still well inside the cell."""
        xmin, xmax, ymin, ymax = self.extent
        x = xmin + (col + 0.5) / self.width * (xmax - xmin)
        y = ymax - (row + 0.5) / self.height * (ymax - ymin)
        return _round_to(x, xmax - xmin), _round_to(y, ymax - ymin)

    def rows(self, ys) -> np.ndarray:
        ymin, ymax = self.extent[2], self.extent[3]
        t = (ymax - np.asarray(ys, dtype=np.float64)) / (ymax - ymin)
        return np.floor(t * self.height).astype(int).clip(0, self.height - 1)

    def x_ticks(self) -> list[tuple[int, str]]:
        """(first column, label) of each x tick label, in heatmap columns; none overlap."""
        span = self.extent[1] - self.extent[0]
        placed: list[tuple[int, str]] = []
        for step in nice_steps(span, span / max(1, self.width)):
            values = tick_values(self.extent[0], self.extent[1], step)
            labels = [tick_label(v, step) for v in values]
            starts = [min(max(0, int(c) - (len(s) - 1) // 2), self.width - len(s))
                      for c, s in zip(self.columns(values), labels)]
            placed = list(zip(starts, labels))
            if all(b[0] >= a[0] + len(a[1]) + X_LABEL_GAP for a, b in zip(placed, placed[1:])):
                break
        return placed

    def y_ticks(self) -> list[tuple[int, str]]:
        """(row, label) of each y tick, top row first."""
        span = self.extent[3] - self.extent[2]
        placed: list[tuple[int, str]] = []
        for step in nice_steps(span, span / max(1, self.height)):
            values = tick_values(self.extent[2], self.extent[3], step)[::-1]
            placed = [(int(r), tick_label(v, step)) for r, v in zip(self.rows(values), values)]
            if all(b[0] - a[0] >= Y_TICK_SPACING for a, b in zip(placed, placed[1:])):
                break
        return placed


def _round_to(value: float, span: float) -> float:
    digits = max(0, math.ceil(-math.log10(span / 10_000))) if span > 0 else 6
    return round(value, digits) + 0.0  # + 0.0: never -0.0


def plane_layout(width: int, height: int, extent, with_axes: bool = True) -> PlaneLayout:
    """The heatmap's place in a width × height widget; axes only where they fit."""
    extent = tuple(float(v) for v in extent)
    if not with_axes or width < AXES_MIN_WIDTH or height < AXES_MIN_HEIGHT:
        return PlaneLayout(0, 0, max(1, width), max(1, height), extent)
    inner_h = height - AXES_ROWS_ABOVE - AXES_ROWS_BELOW
    gutter = max(len(s) for _, s in PlaneLayout(0, 0, 1, inner_h, extent).y_ticks()) + 1
    return PlaneLayout(gutter, AXES_ROWS_ABOVE, width - gutter, inner_h, extent)


def _fit(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


def axes_text(layout: PlaneLayout, names: tuple[str, str], total_width: int):
    """The axes as text: (lines above, gutter of each heatmap row, lines below)."""
    g, w = layout.left, layout.width
    above = [_fit(f"↑ {names[1]}", total_width).ljust(total_width)]
    gutter = [" " * (g - 1) + "│"] * layout.height
    for row, label in layout.y_ticks():
        gutter[row] = label.rjust(g - 1) + "┤"
    ticks = [" "] * w
    for start, label in layout.x_ticks():
        ticks[start:start + len(label)] = label
    below = [" " * g + "".join(ticks), _fit(f"{names[0]} →", total_width).rjust(total_width)]
    return above, gutter, below


# -- the widget -----------------------------------------------------------------------
class BoundaryPlane(PointsDrawing, CachedLinesWidget):
    """Draws a Dataset's 2-D points and, once trained, the network's output under them.

    The screen reads `grid_size` (the boundary resolution to ask the engine for) and
    `title` (for the pane), and hands over `set_dataset` / `set_boundary`. PointsDrawing
    adds the mode that draws points by hand (`d`).
    """

    COMPONENT_CLASSES = {"boundary-plane--axis"}
    DEFAULT_CSS = """
    BoundaryPlane { height: 1fr; min-height: 6; }
    BoundaryPlane > .boundary-plane--axis { color: $text-muted; }
    """

    class Resized(Message):
        """The heatmap has a new size: whoever asks the engine for the boundary reads `grid_size`
        anew (a layout change inside the screen resizes the plane without resizing the screen)."""

    def __init__(self, *, axes: bool = True, id: str | None = None, classes: str | None = None):
        """axes: ticks and names around the heatmap (False: a small plane, the heatmap alone)."""
        super().__init__(id=id, classes=classes)
        self.axes = axes
        self.dataset = None
        self.boundary: np.ndarray | None = None
        self.view: NeuronView | None = None  # what `boundary` holds: a neuron's activation, or the output
        self.show_validation = True
        self._yrange: tuple[float, float] | None = None
        self._frame_key = None
        self._frame = None  # (layout, strips above, gutter segments, strips below, points)
        self._heat_rows: dict = {}  # heatmap row → (what it was drawn from, its strip), for the frame `_frame`

    # -- data ------------------------------------------------------------------------
    def set_dataset(self, dataset, keep_boundary: bool = False) -> None:
        """keep_boundary: the same network on another set of points of the same plane (drawn
        by hand): its heatmap stays until the engine sends the next one."""
        old = self.dataset
        keep = keep_boundary and old is not None and dataset is not None and old.extent == dataset.extent
        self.dataset = dataset
        if not keep:
            self.boundary = None
            self.view = None
        self._yrange = None
        self._frame = self._frame_key = None
        if dataset is not None and dataset.task == "regression":
            ys = np.concatenate([np.ravel(dataset.y_train), np.ravel(dataset.y_val)])
            if ys.size:
                self._yrange = (float(ys.min()), float(ys.max()))
        self._invalidate()

    def set_boundary(self, boundary: np.ndarray | None, view: NeuronView | None = None) -> None:
        """The heatmap's values: the network's output (view None) or one neuron's activation."""
        self.boundary = boundary
        self.view = view
        self._invalidate()

    def on_resize(self) -> None:
        self.post_message(self.Resized())

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips = None  # the axes' colour comes from the theme

    # -- geometry --------------------------------------------------------------------
    @property
    def title(self) -> str:
        """The pane title: what the heatmap shows and the points' legend."""
        if self.drawing:
            return self.drawing_title()
        if self.view is not None:
            return neuron_title(self.view, self.boundary)
        return plane_title(self.dataset.task if self.dataset is not None else "binary", self.show_validation)

    @property
    def axes_layout(self) -> PlaneLayout:
        extent = self.dataset.extent if self.dataset is not None else (0.0, 1.0, 0.0, 1.0)
        size = self.content_size
        return plane_layout(size.width, size.height, extent, with_axes=self.axes and self.dataset is not None)

    @property
    def heatmap_region(self) -> Region:
        """The heatmap's cells in the widget's content (inside the axes)."""
        lay = self.axes_layout
        return Region(lay.left, lay.top, lay.width, lay.height)

    @property
    def grid_size(self) -> tuple[int, int]:
        """(nx, ny) boundary pixels the heatmap wants: one per column, two per row."""
        lay = self.axes_layout
        return lay.width, 2 * lay.height

    def cell_of(self, x: float, y: float) -> tuple[int, int] | None:
        """(column, row) in the content where a data point at (x, y) is drawn; None without data."""
        if self.dataset is None:
            return None
        lay = self.axes_layout
        return lay.left + int(lay.columns(x)), lay.top + int(lay.rows(y))

    # -- drawing ---------------------------------------------------------------------
    def _point_color(self, label: float) -> tuple[int, int, int]:
        ds = self.dataset
        if ds.task == "regression":
            lo, hi = self._yrange or (-1.0, 1.0)
            s = (label - lo) / (hi - lo) * 2 - 1 if hi > lo else 0.0
            return blend((200, 200, 200), BLUE if s >= 0 else ORANGE, abs(s) * 0.8 + 0.2)
        if ds.task == "multiclass":
            return CLASS_COLORS[int(label) % len(CLASS_COLORS)]
        return BLUE if label >= 0.5 else ORANGE

    def _build_frame(self):
        """What stays while training: the axes' strips and the points' cells."""
        size = self.content_size
        style = self.get_component_rich_style("boundary-plane--axis")
        key = (size, id(self.dataset), self.show_validation, style)
        if self._frame_key == key:
            return self._frame
        lay = self.axes_layout
        above, gutter, below = [], [[] for _ in range(lay.height)], []
        if lay.left or lay.top:
            names = getattr(self.dataset, "axis_labels", ("x1", "x2"))
            text_above, text_gutter, text_below = axes_text(lay, names, size.width)
            above = [Strip([Segment(t, style)], size.width) for t in text_above]
            gutter = [[Segment(t, style)] for t in text_gutter]
            below = [Strip([Segment(t.ljust(size.width), style)], size.width) for t in text_below]
        points: dict[tuple[int, int], tuple[str, tuple[int, int, int]]] = {}
        ds = self.dataset
        if ds is not None:
            sets = [(ds.points_train, ds.y_train, "●")]
            if self.show_validation:
                sets.insert(0, (ds.points_val, ds.y_val, "○"))
            for pts, labels, glyph in sets:
                if len(pts) == 0:
                    continue
                lab = np.asarray(labels).reshape(len(pts), -1)[:, 0]
                cols, rows = lay.columns(pts[:, 0]), lay.rows(pts[:, 1])
                for x, y, label in zip(cols.tolist(), rows.tolist(), lab.tolist()):
                    points[(x, y)] = (glyph, self._point_color(label))
        self._frame_key, self._frame = key, (lay, above, gutter, below, points)
        self._heat_rows = {}
        return self._frame

    def _heat_pixels(self, lay: PlaneLayout) -> np.ndarray:
        """(2·height, width) packed colours of the boundary (a stale size is resampled)."""
        w, h = lay.width, lay.height
        pixels = np.empty((2 * h, w, 3), dtype=np.uint8)
        pixels[:] = BACKGROUND
        ds, b = self.dataset, self.boundary
        if ds is not None and b is not None and b.ndim == 2 and b.shape[0] > 0 and b.shape[1] > 0:
            ys = (np.arange(2 * h) * b.shape[0] // (2 * h)).clip(0, b.shape[0] - 1)
            xs = (np.arange(w) * b.shape[1] // w).clip(0, b.shape[1] - 1)
            values = b[np.ix_(ys, xs)]
            if self.view is not None:
                pixels[:] = neuron_rgb(values, *neuron_range(self.view.activation, b))
            else:
                pixels[:] = heat_rgb(values, ds.task, ds.n_classes, self._yrange)
        # packed into ints and quantised a little, so that styles repeat and merge
        q = (pixels.astype(np.int32) >> 2) << 2
        return (q[..., 0] << 16) | (q[..., 1] << 8) | q[..., 2]

    def _build(self) -> list[Strip]:
        size = self.content_size
        if size.width <= 0 or size.height <= 0:
            return []
        lay, above, gutter, below, points = self._build_frame()
        packed = self._heat_pixels(lay)
        cursor = self.cursor if self.drawing else None
        strips = list(above)
        for row in range(lay.height):
            # a row whose pixels are as before is drawn as before: while training, many are
            drawn_from = (packed[2 * row: 2 * row + 2].tobytes(), cursor if cursor and cursor[1] == row else None,
                          self.label if cursor else None)
            old = self._heat_rows.get(row)
            if old is not None and old[0] == drawn_from:
                strips.append(old[1])
                continue
            top = packed[2 * row].tolist()
            bot = packed[2 * row + 1].tolist()
            segs = list(gutter[row])
            text, style = "", None
            for col in range(lay.width):
                pt = points.get((col, row))
                if (col, row) == cursor:
                    ch, st = (pt[0] if pt else "+"), cursor_style(self._point_color(self.label))
                elif pt is None:
                    ch, st = "▀", _packed_style(top[col], bot[col])
                else:
                    ch, st = pt[0], _point_style(pt[1], top[col], bot[col])
                if st is style:
                    text += ch
                else:
                    if text:
                        segs.append(Segment(text, style))
                    text, style = ch, st
            if text:
                segs.append(Segment(text, style))
            strips.append(Strip(segs, size.width))
            self._heat_rows[row] = (drawn_from, strips[-1])
        return strips + below


_STYLE_CACHE: dict = {}
_PACKED_CACHE: dict = {}


def _unpack(c: int) -> tuple[int, int, int]:
    return (c >> 16) & 255, (c >> 8) & 255, c & 255


def _point_style(color: tuple[int, int, int], top: int, bot: int) -> Style:
    key = (color, top, bot)
    st = _PACKED_CACHE.get(key)
    if st is None:
        st = _style(color, blend(_unpack(top), _unpack(bot), 0.5), bold=True)
        _PACKED_CACHE[key] = st
    return st


def _packed_style(fg: int, bg: int) -> Style:
    key = (fg, bg)
    st = _PACKED_CACHE.get(key)
    if st is None:
        if len(_PACKED_CACHE) > 50000:
            _PACKED_CACHE.clear()
        st = _style(_unpack(fg), _unpack(bg))
        _PACKED_CACHE[key] = st
    return st


def _style(fg, bg, bold: bool = False) -> Style:
    key = (fg, bg, bold)
    st = _STYLE_CACHE.get(key)
    if st is None:
        if len(_STYLE_CACHE) > 20000:
            _STYLE_CACHE.clear()
        st = Style.from_color(
            color=_rich_color(fg), bgcolor=_rich_color(bg)
        ) + (Style(bold=True) if bold else Style())
        _STYLE_CACHE[key] = st
    return st


def _rich_color(rgb):
    from rich.color import Color

    return Color.from_rgb(*rgb)
