"""A line chart drawn by plotext 6 at the widget's size.

plotext keeps global figure state: render on the UI thread only (Textual calls render()
there). The figure is rebuilt only when the data or the size changed.
"""
from __future__ import annotations

import math

from rich.text import Text
from textual.widget import Widget

MAX_POINTS_PER_COLUMN = 2


class PlotextChart(Widget):
    DEFAULT_CSS = """
    PlotextChart { height: 1fr; min-height: 5; }
    """

    def __init__(self, title: str = "", *, id: str | None = None, classes: str | None = None):
        super().__init__(id=id, classes=classes)
        self.title = title
        self.series: list[tuple[str, list[float], list[float], tuple[int, int, int]]] = []
        self.empty_text = "no epochs yet"
        self._key = None
        self._cache: Text | None = None

    def set_series(self, series, key=None) -> None:
        """series: [(label, xs, ys, rgb)]; key: anything that changes when the data does."""
        if key is not None and key == self._key:
            return
        self.series = series
        self._key = key
        self._cache = None
        self.refresh()

    def on_resize(self) -> None:
        self._cache = None

    def render(self) -> Text:
        if self._cache is None:
            self._cache = self._draw()
        return self._cache

    def _draw(self) -> Text:
        size = self.content_size
        return chart_text(self.series, size.width, size.height, self.title, self.empty_text)


def chart_text(series, width: int, height: int, title: str = "", empty_text: str = "no epochs yet",
               y_ticks=None) -> Text:
    """The chart of `series` ([(label, xs, ys, rgb)]) drawn in width × height cells.
    y_ticks(lo, hi, rows) gives the y axis's (values, labels); value_ticks by default."""
    series = [s for s in series if len(s[1]) > 0]
    if width < 12 or height < 4 or not series:
        return Text(f"{title}: {empty_text}" if title else empty_text, style="dim")
    import plotext as plt

    f = plt.figure
    f.clear()
    f.plot_size(width, height)
    f.theme("dark")
    limit = max(2, width * MAX_POINTS_PER_COLUMN)
    drawn: list[float] = []
    for label, xs, ys, rgb in series:
        xs, ys = list(xs), list(ys)
        if len(xs) > limit:
            step = len(xs) / limit
            idx = sorted({int(i * step) for i in range(limit)} | {len(xs) - 1})
            xs = [xs[i] for i in idx]
            ys = [ys[i] for i in idx]
        pairs = [(x, y) for x, y in zip(xs, ys) if y is not None and y == y and abs(y) != float("inf")]
        if not pairs:
            continue
        if len(pairs) == 1:
            pairs = pairs * 2
        sig = f.signal([p[0] for p in pairs], [p[1] for p in pairs], marker=plt.marker("braille", rgb))
        sig.lines()
        f.draw(sig)
        drawn += [p[1] for p in pairs]
    xs_all = [x for _, xs, _, _ in series for x in xs]
    positions = epoch_ticks(min(xs_all), max(xs_all), max(2, width // 10))
    f.ruler("x").ticks(positions, [str(p) for p in positions])  # epochs are whole numbers
    if drawn:
        plot_rows = height - 3 - (1 if title else 0)  # less the frame's top and bottom and the x labels
        f.ruler("y").ticks(*(y_ticks or value_ticks)(min(drawn), max(drawn), plot_rows))
    f.legend(active=False)
    if title:
        f.title(title)
    try:
        text = f.build().string()
    except Exception as err:  # noqa: BLE001 - a chart problem must never crash the app
        return Text(f"{title}: chart unavailable ({err})", style="dim")
    return Text.from_ansi(text, no_wrap=True, end="")


def value_ticks(lo: float, hi: float, rows: int, most: int = 5) -> tuple[list[float], list[str]]:
    """Up to `most` y ticks, each exactly the value of the row it is drawn on, and their labels.

    plotext puts a tick on the row nearest to it, row r (from the bottom) standing for
    lo + r·(hi − lo)/(rows − 1). Its own ticks are evenly spaced values, which fall between
    rows: a row's label was up to half a row off, and on a chart of fewer rows than ticks
    it was a value of the neighbouring row."""
    if rows < 2 or not hi > lo:
        return [hi], [f"{hi:.4g}"]
    count = min(rows, most)
    picked = sorted({round(k * (rows - 1) / (count - 1)) for k in range(count)})
    step = (hi - lo) / (rows - 1)
    values = [lo + r * step for r in picked]
    gap = step * min(b - a for a, b in zip(picked, picked[1:]))
    decimals = max(0, 1 - math.floor(math.log10(gap)))  # two significant digits of the gap between labels
    if decimals > 6 or max(abs(lo), abs(hi)) >= 1e5:
        return values, [f"{v:.3g}" for v in values]
    return values, [f"{v:.{decimals}f}" for v in values]


def epoch_ticks(first: float, last: float, most: int) -> list[int]:
    """Up to `most` whole-number tick positions from first to last, on a round step."""
    first, last = int(first), int(last)
    span = max(1, last - first)
    step = 1
    for round_step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000, 20000, 50000):
        step = round_step
        if span / round_step <= most - 1:
            break
    start = -(-first // step) * step
    return list(range(start, last + 1, step)) or [first]
