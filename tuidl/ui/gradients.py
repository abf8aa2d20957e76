"""Each layer's gradient norm per epoch on a log scale: gradients that vanish or explode.

Fed by the EpochRecords of a snapshot (their grad_norms: ‖dL/dW‖ of the epoch's last
step, or update_ratios: ‖ΔW‖/‖W‖), one line per dense layer. A deep sigmoid network shows
its first layers orders of magnitude below its last ones; a learning rate too large shows
the norms climbing before the loss is lost.

The values are drawn as log10 on plotext's linear axis, with decade ticks labelled 1e-3,
0.01, 0.1, 1, … (plotext's own log scale places its ticks where it likes). Values that are
0 or not finite have no place on a log scale and are left out; the title says how many.
"""
from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING

from rich.text import Text

from tuidl.ui.chart import PlotextChart, chart_text
from tuidl.ui.colors import BLUE, CLASS_COLORS, ORANGE, hex_color

if TYPE_CHECKING:
    from tuidl.session import Snapshot

QUANTITIES = {
    "grad_norms": "‖dL/dW‖ per layer (log scale)",
    "update_ratios": "‖ΔW‖/‖W‖ per layer (log scale)",
}
DRAW_INTERVAL = 0.5  # seconds: plotext is costly, a few drawings a second are enough while training
# one colour per layer, first hidden layer first: distinct from each other on a dark screen
LAYER_COLORS = [BLUE, ORANGE, *CLASS_COLORS[2:]]


def layer_color(i: int) -> tuple[int, int, int]:
    return LAYER_COLORS[i % len(LAYER_COLORS)]


def decade_label(exponent: int) -> str:
    """1e-3, 0.01, 0.1, 1, 10, 100, 1e3: how a decade's tick reads."""
    if -2 <= exponent <= 2:
        return f"{10.0 ** exponent:g}"
    return f"1e{exponent}"


def _decades(low: float, high: float, rows: int) -> tuple[list[int], list[str]]:
    """The y ticks of a chart of `rows` rows: a decade every other row at most."""
    decades = decade_ticks(low, high, max(2, (rows + 1) // 2))
    return decades, [decade_label(d) for d in decades]


def decade_ticks(low: float, high: float, most: int) -> list[int]:
    """Whole exponents from low to high (log10 values), at most `most`, evenly spaced."""
    first, last = math.floor(low), math.ceil(high)
    step = max(1, math.ceil((last - first) / max(1, most - 1)))
    return list(range(first, last + 1, step))


def series_of(history, quantity: str = "grad_norms") -> list[tuple[str, list[int], list[float]]]:
    """[(label, epochs, log10 values)] per layer; epochs whose value is 0, not finite or
    missing (records without norms) are left out of that layer's line."""
    width = max((len(getattr(r, quantity) or ()) for r in history), default=0)
    out = []
    for i in range(width):
        xs, ys = [], []
        for r in history:
            values = getattr(r, quantity) or ()
            if i < len(values) and values[i] is not None and math.isfinite(values[i]) and values[i] > 0:
                xs.append(r.epoch)
                ys.append(math.log10(values[i]))
        out.append((f"layer {i + 1}", xs, ys))
    return out


class GradientChart(PlotextChart):
    """One line per dense layer of grad_norms (or update_ratios) against the epoch, log y."""

    DEFAULT_CSS = """
    GradientChart { height: 1fr; min-height: 6; }
    """

    def __init__(self, quantity: str = "grad_norms", *, id: str | None = None, classes: str | None = None):
        if quantity not in QUANTITIES:
            raise ValueError(f"quantity {quantity!r}: one of {', '.join(QUANTITIES)}")
        super().__init__(QUANTITIES[quantity], id=id, classes=classes)
        self.quantity = quantity
        self.left_out = 0  # values not drawn: 0 or not finite
        self._drawn_at = 0.0
        self.empty_text = "no epochs yet"

    def show(self, snap: Snapshot) -> None:
        """Draw the snapshot's history: when it changed, and while training at most every
        DRAW_INTERVAL seconds."""
        history = snap.history
        key = (snap.build, len(history), history[-1].epoch if history else 0)
        now = time.monotonic()
        if key == self._key or (snap.running and now - self._drawn_at < DRAW_INTERVAL):
            return
        self._drawn_at = now
        lines = series_of(history, self.quantity)
        total = sum(len(getattr(r, self.quantity) or ()) for r in history)
        self.left_out = total - sum(len(xs) for _, xs, _ in lines)
        self.set_series([(label, xs, ys, layer_color(i)) for i, (label, xs, ys) in enumerate(lines)], key=key)

    def _draw(self) -> Text:
        w, h = self.content_size.width, self.content_size.height
        if w < 16 or h < 5 or not any(len(s[1]) for s in self.series):
            empty = f"{self.left_out} values of 0 or not finite, none to draw" if self.left_out else self.empty_text
            return Text(f"{self.title}: {empty}", style="dim")
        title = self.title + (f" · {self.left_out} values of 0 or not finite not drawn" if self.left_out else "")
        text = chart_text(self.series, w, h - 1, title, y_ticks=_decades)  # the last line is the legend
        text.rstrip()
        text.append("\n")
        text.append_text(self.legend())
        return text

    def legend(self) -> Text:
        legend = Text(no_wrap=True, overflow="ellipsis")
        for i, (label, *_rest) in enumerate(self.series):
            legend.append("  " if i else " ")
            legend.append("━━ ", style=hex_color(layer_color(i)))
            legend.append(label)
        return legend
