"""The input plane: the decision boundary as a heatmap (two pixels per cell with "▀")
and the training (●) and validation (○) points on top of it."""
from __future__ import annotations

import numpy as np
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

from tuidl.ui.cached import CachedLinesWidget
from tuidl.ui.colors import BACKGROUND, BLUE, CLASS_COLORS, ORANGE, blend, heat_rgb


class BoundaryPlane(CachedLinesWidget):
    """Draws a Dataset's 2-D points and, once trained, the network's output under them."""

    DEFAULT_CSS = """
    BoundaryPlane { height: 1fr; min-height: 6; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None):
        super().__init__(id=id, classes=classes)
        self.dataset = None
        self.boundary: np.ndarray | None = None
        self.show_validation = True
        self._yrange: tuple[float, float] | None = None

    # -- data ------------------------------------------------------------------------
    def set_dataset(self, dataset) -> None:
        self.dataset = dataset
        self.boundary = None
        self._yrange = None
        if dataset is not None and dataset.task == "regression":
            ys = np.concatenate([np.ravel(dataset.y_train), np.ravel(dataset.y_val)])
            if ys.size:
                self._yrange = (float(ys.min()), float(ys.max()))
        self._invalidate()

    def set_boundary(self, boundary: np.ndarray | None) -> None:
        self.boundary = boundary
        self._invalidate()

    @property
    def grid_size(self) -> tuple[int, int]:
        """(nx, ny) pixels the heatmap wants: one per column, two per row."""
        return max(1, self.content_size.width), max(2, 2 * self.content_size.height)

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

    def _build(self) -> list[Strip]:
        w, h = self.content_size.width, self.content_size.height
        if w <= 0 or h <= 0:
            return []
        ds = self.dataset
        # pixels: (2h, w, 3)
        pixels = np.empty((2 * h, w, 3), dtype=np.uint8)
        pixels[:] = BACKGROUND
        b = self.boundary
        if ds is not None and b is not None and b.ndim == 2 and b.shape[0] > 0 and b.shape[1] > 0:
            ys = (np.arange(2 * h) * b.shape[0] // (2 * h)).clip(0, b.shape[0] - 1)
            xs = (np.arange(w) * b.shape[1] // w).clip(0, b.shape[1] - 1)
            pixels[:] = heat_rgb(b[np.ix_(ys, xs)], ds.task, ds.n_classes, self._yrange)
        points: dict[tuple[int, int], tuple[str, tuple[int, int, int]]] = {}
        if ds is not None:
            xmin, xmax, ymin, ymax = ds.extent
            sets = [(ds.points_train, ds.y_train, "●")]
            if self.show_validation:
                sets.insert(0, (ds.points_val, ds.y_val, "○"))
            for pts, labels, glyph in sets:
                if len(pts) == 0:
                    continue
                lab = np.asarray(labels).reshape(len(pts), -1)[:, 0]
                cx = np.floor((pts[:, 0] - xmin) / (xmax - xmin) * w).astype(int).clip(0, w - 1)
                cy = np.floor((ymax - pts[:, 1]) / (ymax - ymin) * h).astype(int).clip(0, h - 1)
                for x, y, label in zip(cx.tolist(), cy.tolist(), lab.tolist()):
                    points[(x, y)] = (glyph, self._point_color(label))
        # pack colours into ints (quantised a little, so that styles repeat and merge)
        q = (pixels.astype(np.int32) >> 2) << 2
        packed = (q[..., 0] << 16) | (q[..., 1] << 8) | q[..., 2]
        strips = []
        for row in range(h):
            top = packed[2 * row].tolist()
            bot = packed[2 * row + 1].tolist()
            segs = []
            text, style = "", None
            for col in range(w):
                pt = points.get((col, row))
                if pt is None:
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
            strips.append(Strip(segs, w))
        return strips


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
