"""A line chart drawn by plotext 6 at the widget's size.

plotext keeps global figure state: render on the UI thread only (Textual calls render()
there). The figure is rebuilt only when the data or the size changed.
"""
from __future__ import annotations

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
        w, h = self.content_size.width, self.content_size.height
        series = [s for s in self.series if len(s[1]) > 0]
        if w < 12 or h < 4 or not series:
            return Text(f"{self.title}: {self.empty_text}" if self.title else self.empty_text, style="dim")
        import plotext as plt

        f = plt.figure
        f.clear()
        f.plot_size(w, h)
        f.theme("dark")
        limit = max(2, w * MAX_POINTS_PER_COLUMN)
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
        xs_all = [x for _, xs, _, _ in series for x in xs]
        positions = epoch_ticks(min(xs_all), max(xs_all), max(2, w // 10))
        f.ruler("x").ticks(positions, [str(p) for p in positions])  # epochs are whole numbers
        f.legend(active=False)
        if self.title:
            f.title(self.title)
        try:
            text = f.build().string()
        except Exception as err:  # noqa: BLE001 - a chart problem must never crash the app
            return Text(f"{self.title}: chart unavailable ({err})", style="dim")
        return Text.from_ansi(text, no_wrap=True, end="")


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
