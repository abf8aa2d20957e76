"""The network diagram: input features to output, neurons as nodes, weights as braille
links coloured by sign (blue +, orange −) and shaded by magnitude.

Columns that hold more neurons than fit are drawn summarised ("… 120 more"). The
diagram can highlight one layer (step-through) and colour its links by other values
(the gradients dL/dW in backward); it only draws the arrays it is given.

Focused, it has a cursor (tuidl.ui.diagram_cursor) over the columns, their neurons and
each neuron's incoming weights and bias: enter edits the weight under it (posting
WeightEdited), v asks for the neuron's activation on the plane (NeuronViewRequested),
escape takes the output back to the plane, then hands the keyboard back to the app.
Entries set by hand are marked while the weights it is given still hold them.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from rich.color import Color
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.strip import Strip

from tuidl.engine.facts import ACTIVATIONS
from tuidl.ui.cached import CachedLinesWidget
from tuidl.ui.colors import BACKGROUND, NEUTRAL, blend, signed_color
from tuidl.ui.diagram_cursor import (BIAS, DiagramCursor, describe, entry_name, entry_value, keys_hint,
                                     link_name)

_BRAILLE = ((0x01, 0x08), (0x02, 0x10), (0x04, 0x20), (0x40, 0x80))  # [dy][dx]
CURSOR = (255, 210, 80)  # the item under the cursor
EDITED = (255, 95, 215)  # an entry set by hand that training has not moved yet
TWO_CAPTION_ROWS = 9  # from this height a focused diagram writes its keys on a row of their own


@dataclass
class DiagramModel:
    """Everything the diagram draws; built by the app from the config and the engine's records."""

    inputs: list[str]
    layers: list[tuple[int, str, float]]  # (units, activation, dropout) per dense layer, output last
    output_label: str = "out"
    weights: list[tuple[np.ndarray, np.ndarray]] | None = None
    selected: int | None = None  # dense layer index selected in the builder
    highlight: int | None = None  # dense layer index active in the step-through
    highlight_output: bool = False  # the loss phase: the output column
    link_values: dict[int, np.ndarray] = field(default_factory=dict)  # per layer, overrides W (e.g. dL/dW)
    node_values: dict[int, np.ndarray] = field(default_factory=dict)  # per column (0 = inputs)
    caption: str = ""
    edited: dict[tuple[int, int, int | None], float] = field(default_factory=dict)  # set by hand, still held
    viewed: tuple[int, int] | None = None  # (layer, unit) whose activation the plane shows


class NetworkDiagram(CachedLinesWidget, can_focus=True):
    DEFAULT_CSS = """
    NetworkDiagram { height: 1fr; min-height: 7; }
    NetworkDiagram:focus { background: $boost; }
    """
    # Only while focused: the app's own ↑ ↓ [ ] escape (the step-through's) work everywhere else.
    BINDINGS = [
        Binding("left", "move_column(-1)", "layer", show=False),
        Binding("right", "move_column(1)", "layer", show=False),
        Binding("up", "move_neuron(-1)", "neuron", show=False),
        Binding("down", "move_neuron(1)", "neuron", show=False),
        Binding("left_square_bracket", "move_link(-1)", "weight", show=False),
        Binding("right_square_bracket", "move_link(1)", "weight", show=False),
        Binding("enter", "edit", "edit weight"),
        Binding("v", "view_neuron", "neuron view"),
        Binding("escape", "back", "back"),
    ]

    class LayerClicked(Message):
        def __init__(self, layer: int) -> None:
            super().__init__()
            self.layer = layer

    class WeightEdited(Message):
        """W[row, col] of dense layer `layer` (col None: its bias b[row]) set to `value` by hand."""

        def __init__(self, layer: int, row: int, col: int | None, value: float) -> None:
            super().__init__()
            self.layer, self.row, self.col, self.value = layer, row, col, value

    class NeuronViewRequested(Message):
        """Show neuron `unit` of dense layer `layer` on the plane; both None: the output."""

        def __init__(self, layer: int | None, unit: int | None) -> None:
            super().__init__()
            self.layer, self.unit = layer, unit

    def __init__(self, *, id: str | None = None, classes: str | None = None):
        super().__init__(id=id, classes=classes)
        self.model: DiagramModel | None = None
        self.cursor = DiagramCursor()
        self._viewing = False  # a neuron's view was asked for and not handed back
        self._columns_x: list[int] = []
        self._rows: list[list[int]] = []  # the row of each shown neuron, per column

    def set_model(self, model: DiagramModel) -> None:
        self.model = model
        self.cursor.clamp(self._sizes())
        self._invalidate()

    def _sizes(self) -> list[int]:
        m = self.model
        return [1] if m is None else [max(1, len(m.inputs))] + [max(1, units) for units, _, _ in m.layers]

    def on_focus(self) -> None:
        self._invalidate_all()

    def on_blur(self) -> None:
        self._invalidate_all()

    def on_click(self, event: events.Click) -> None:
        if not self._columns_x or self.model is None:
            return
        x = event.x - self.gutter.left
        col = min(range(len(self._columns_x)), key=lambda i: abs(self._columns_x[i] - x))
        rows = self._rows[col] if col < len(self._rows) else []
        if rows:  # the cursor goes where the click was
            y = event.y - self.gutter.top
            self.cursor = DiagramCursor(col, min(range(len(rows)), key=lambda i: abs(rows[i] - y)))
            self._invalidate()
        if 1 <= col <= len(self.model.layers):
            self.post_message(self.LayerClicked(col - 1))

    # -- the cursor's keys -----------------------------------------------------------
    def action_move_column(self, delta: int) -> None:
        self.cursor.move_column(delta, self._sizes())
        self._moved()

    def action_move_neuron(self, delta: int) -> None:
        self.cursor.move_neuron(delta, self._sizes())
        self._moved()

    def action_move_link(self, delta: int) -> None:
        self.cursor.move_link(delta, self._sizes())
        self._invalidate()

    def _moved(self) -> None:
        """While a neuron's view is on the plane, it follows the cursor from neuron to neuron."""
        unit = self.cursor.unit
        viewed = self._viewing or (self.model is not None and self.model.viewed is not None)
        if viewed and unit is not None:
            self._viewing = True
            self.post_message(self.NeuronViewRequested(*unit))
        self._invalidate()

    def action_view_neuron(self) -> None:
        unit = self.cursor.unit
        if unit is not None and self.model is not None:
            self._viewing = True
            self.post_message(self.NeuronViewRequested(*unit))
            self._invalidate()

    def action_back(self) -> None:
        """The output back on the plane first; then the keyboard back to the app."""
        if self._viewing or (self.model is not None and self.model.viewed is not None):
            self._viewing = False
            self.post_message(self.NeuronViewRequested(None, None))
        else:
            self.screen.set_focus(None)
        self._invalidate()

    def action_edit(self) -> None:
        """On a weight or a bias: the editor; on a neuron: its first incoming weight."""
        m, entry = self.model, self.cursor.entry
        if m is None:
            return
        if entry is None:
            if self.cursor.column > 0:
                self.action_move_link(1)
            return
        value = entry_value(m.weights, *entry)
        if value is None:
            return
        from tuidl.ui.weight_editor import WeightEditor  # on first use: the editor is a screen of its own

        def edited(result: float | None) -> None:
            if result is not None:
                self.post_message(self.WeightEdited(*entry, result))

        what = f"{entry_name(*entry)} · {link_name(*entry, m.inputs, len(m.layers) + 1)}"
        self.app.push_screen(WeightEditor(what, value), edited)

    # -- layout ----------------------------------------------------------------------
    def _build(self) -> list[Strip]:
        W, H = self.content_size.width, self.content_size.height
        m = self.model
        if m is None or W <= 4 or H <= 3:
            return [Strip.blank(W) for _ in range(H)]
        sizes = [len(m.inputs)] + [units for units, _, _ in m.layers]
        ncol = len(sizes)
        name_w = min(7, max((len(n) for n in m.inputs), default=2))
        left = name_w + 1
        right = 2
        span = max(1, W - left - right - 1)
        xs = [left + round(i * span / max(1, ncol - 1)) for i in range(ncol)]
        if ncol == 1:
            xs = [left]
        self._columns_x = xs
        focused = self.has_focus
        caption_rows = 2 if focused and H >= TWO_CAPTION_ROWS else 1
        top, bottom = 1, H - 1 - caption_rows  # node rows; row 0 is the header, then the caption rows
        avail = max(1, bottom - top + 1)
        rows: list[list[int]] = []  # row of each shown node
        hidden_more: list[int] = []
        for n in sizes:
            shown = n if n <= avail else max(1, avail - 1)
            hidden_more.append(n - shown)
            slots = avail if n <= avail else avail - 1
            rows.append([top + int((i + 0.5) * slots / shown) for i in range(shown)] if shown else [])
        self._rows = rows
        # characters
        chars = [[" "] * W for _ in range(H)]
        fg: list[list[tuple | None]] = [[None] * W for _ in range(H)]
        bold = [[False] * W for _ in range(H)]
        rev = [[False] * W for _ in range(H)]
        # links on a braille canvas
        bits = np.zeros((H, W), dtype=np.int32)
        link_fg: dict[tuple[int, int], tuple[tuple, float]] = {}
        for li in range(ncol - 1):
            values = m.link_values.get(li)
            if values is None and m.weights is not None and li < len(m.weights):
                values = m.weights[li][0]
            active = m.highlight is None or m.highlight == li
            segs = []
            for a, ya in enumerate(rows[li]):
                for b, yb in enumerate(rows[li + 1]):
                    v = None
                    if values is not None and b < values.shape[0] and a < values.shape[1]:
                        v = float(values[b, a])
                    segs.append((v, ya, yb))
            finite = [abs(v) for v, _, _ in segs if v is not None and np.isfinite(v)]
            scale = max(finite) if finite else 1.0
            segs.sort(key=lambda s: abs(s[0]) if s[0] is not None and np.isfinite(s[0]) else 0.0)
            x0, x1 = 2 * xs[li] + 2, 2 * xs[li + 1] - 1
            for v, ya, yb in segs:
                if v is None:
                    color = NEUTRAL
                    weight = 0.0
                else:
                    color = signed_color(v, scale, floor=0.3)
                    weight = abs(v) / scale if scale else 0.0
                if not active:
                    color = blend(BACKGROUND, color, 0.35)
                self._line(bits, link_fg, x0, 4 * ya + 1, x1, 4 * yb + 2, color, weight, W, H)
        # links drawn over the others: the edited ones, then the one under the cursor
        over = [((layer, row, col), EDITED) for layer, row, col in m.edited if col is not None]
        if focused and self.cursor.entry is not None and self.cursor.entry[2] is not None:
            over.append((self.cursor.entry, CURSOR))
        for (layer, row, col), color in over:
            if layer + 1 < ncol and col < len(rows[layer]) and row < len(rows[layer + 1]):
                x0, x1 = 2 * xs[layer] + 2, 2 * xs[layer + 1] - 1
                self._line(bits, link_fg, x0, 4 * rows[layer][col] + 1, x1, 4 * rows[layer + 1][row] + 2,
                           color, math.inf, W, H)
        for (cy, cx), (color, _) in link_fg.items():
            if bits[cy, cx] and chars[cy][cx] == " ":
                chars[cy][cx] = chr(0x2800 + int(bits[cy, cx]))
                fg[cy][cx] = color
        # nodes
        for c, col_rows in enumerate(rows):
            vals = m.node_values.get(c)
            bias = m.weights[c - 1][1] if (c > 0 and m.weights is not None and c - 1 < len(m.weights)) else None
            scale = 1.0
            ref = vals if vals is not None else bias
            if ref is not None and np.size(ref):
                finite = np.abs(np.asarray(ref, dtype=float))
                finite = finite[np.isfinite(finite)]
                scale = float(finite.max()) if finite.size and finite.max() > 0 else 1.0
            highlighted = (m.highlight is not None and c == m.highlight + 1) or (m.highlight_output and c == ncol - 1)
            for i, y in enumerate(col_rows):
                x = xs[c]
                if vals is not None and i < np.size(vals):
                    color = signed_color(float(np.ravel(vals)[i]), scale, floor=0.35)
                elif bias is not None and i < np.size(bias):
                    color = signed_color(float(np.ravel(bias)[i]), scale, floor=0.45)
                else:
                    color = (225, 225, 225)
                chars[y][x] = "◉" if highlighted else "●"
                fg[y][x] = color
                bold[y][x] = highlighted
                if c > 0 and (c - 1, i, None) in m.edited:
                    chars[y][x], fg[y][x], bold[y][x] = "◎", EDITED, True  # its bias, set by hand
                if m.viewed == (c - 1, i):
                    chars[y][x], bold[y][x] = "◆", True  # its activation is on the plane
                if c == 0:
                    name = m.inputs[i][:name_w].rjust(name_w)
                    for k, ch in enumerate(name):
                        if 0 <= x - name_w - 1 + k < W:
                            chars[y][x - name_w - 1 + k] = ch
                            fg[y][x - name_w - 1 + k] = (200, 200, 200)
            if focused:
                self._draw_cursor(c, col_rows, xs[c], chars, fg, bold, rev, W)
            if hidden_more[c]:
                gap = (xs[c + 1] - xs[c]) if c + 1 < ncol else (xs[c] - xs[c - 1] if c else W)
                text = f"… {hidden_more[c]} more"
                if len(text) > gap - 1:
                    text = f"+{hidden_more[c]}"
                self._text(chars, fg, bold, bottom + 1, xs[c], text, (230, 200, 80), W, center=True, bold_=True)
        # headers
        for c in range(ncol):
            if c == 0:
                label = "input"
            elif c == ncol - 1:
                units, act, _ = m.layers[c - 1]
                label = f"{m.output_label}"
            else:
                units, act, drop = m.layers[c - 1]
                label = f"{units} {ACTIVATIONS[act].short if act in ACTIVATIONS else act}"
                if drop:
                    label += f" d{drop:g}"
            gap = min(xs[c + 1] - xs[c] if c + 1 < ncol else 2 * right + 4,
                      xs[c] - xs[c - 1] if c else 2 * left)
            label = label[: max(1, gap - 1)]
            selected = m.selected is not None and c == m.selected + 1
            highlighted = (m.highlight is not None and c == m.highlight + 1) or (m.highlight_output and c == ncol - 1)
            color = (255, 210, 80) if highlighted else (120, 200, 255) if selected else (170, 170, 170)
            self._text(chars, fg, bold, 0, xs[c], label, color, W, center=True, bold_=selected or highlighted,
                       reverse=selected or highlighted, rev=rev)
        if focused:
            item = describe(self.cursor, m.inputs, m.layers, m.weights, m.viewed)
            lines = [item, keys_hint(W)] if caption_rows == 2 else [f"{item} · {keys_hint(0)}"]
            for k, text in enumerate(lines):
                self._text(chars, fg, bold, H - len(lines) + k, 0, text[:W].ljust(W), CURSOR if k == 0 else
                           (150, 150, 150), W)
        elif m.caption:
            self._text(chars, fg, bold, H - 1, 0, m.caption[:W], (150, 150, 150), W)
        return [self._strip(chars[y], fg[y], bold[y], rev[y], W) for y in range(H)]

    @staticmethod
    def _strip(chars, fg, bold, rev, W: int) -> Strip:
        """One row as a segment per run of cells drawn alike (drawn with every snapshot:
        a segment per cell, merged afterwards, took a third of the diagram's time)."""
        segs: list[Segment] = []
        start, key = 0, (fg[0], bold[0], rev[0])
        for x in range(1, W + 1):
            cell = (fg[x], bold[x], rev[x]) if x < W else None
            if cell != key:
                segs.append(Segment("".join(chars[start:x]), _style(*key)))
                start, key = x, cell
        return Strip(segs, W)

    def _draw_cursor(self, c: int, col_rows: list[int], x: int, chars, fg, bold, rev, W: int) -> None:
        """The neuron under the cursor reversed (with a "b" beside it on its bias); on a
        weight, the two neurons it joins in the cursor's colour."""
        cur = self.cursor
        marks = []  # (shown neuron index, reversed)
        if c == cur.column:
            marks.append((cur.neuron, cur.link is None or cur.link == BIAS))
        if cur.link is not None and cur.link != BIAS and c == cur.column - 1:
            marks.append((cur.link, False))
        for i, reverse in marks:
            if i < len(col_rows):
                y = col_rows[i]
                fg[y][x], bold[y][x], rev[y][x] = CURSOR, True, reverse
                if c == cur.column and cur.link == BIAS and x + 1 < W:
                    chars[y][x + 1], fg[y][x + 1], bold[y][x + 1] = "b", CURSOR, True

    @staticmethod
    def _text(chars, fg, bold, y, x, text, color, W, center=False, bold_=False, reverse=False, rev=None):
        start = x - len(text) // 2 if center else x
        start = max(0, min(start, W - len(text)))
        for k, ch in enumerate(text):
            if 0 <= start + k < W:
                chars[y][start + k] = ch
                fg[y][start + k] = color
                bold[y][start + k] = bold_
                if rev is not None:
                    rev[y][start + k] = reverse

    @staticmethod
    def _line(bits, link_fg, x0, y0, x1, y1, color, weight, W, H):
        """A line in braille dot space (2 × 4 dots per cell); the strongest link colours a cell."""
        for cy, cx, dots in _line_cells(x0, y0, x1, y1, W, H):
            bits[cy, cx] |= dots
            prev = link_fg.get((cy, cx))
            if prev is None or weight >= prev[1]:
                link_fg[(cy, cx)] = (color, weight)


@lru_cache(maxsize=4096)
def _line_cells(x0: int, y0: int, x1: int, y1: int, W: int, H: int) -> tuple[tuple[int, int, int], ...]:
    """The cells (row, column, braille dots) of Bresenham's line from dot (x0, y0) to (x1, y1),
    in the cells of a W × H canvas. Kept: a link's cells stay while its weight changes."""
    cells: dict[tuple[int, int], int] = {}
    dx, dy = abs(x1 - x0), -abs(y1 - y0)
    sx = 1 if x0 < x1 else -1
    sy = 1 if y0 < y1 else -1
    err = dx + dy
    x, y = x0, y0
    for _ in range(4 * (W + H) * 4):
        cx, cy = x >> 1, y >> 2
        if 0 <= cx < W and 0 <= cy < H:
            cells[(cy, cx)] = cells.get((cy, cx), 0) | _BRAILLE[y & 3][x & 1]
        if x == x1 and y == y1:
            break
        e2 = 2 * err
        if e2 >= dy:
            err += dy
            x += sx
        if e2 <= dx:
            err += dx
            y += sy
    return tuple((cy, cx, dots) for (cy, cx), dots in cells.items())


_STYLES: dict = {}


def _style(fg, bold, reverse) -> Style:
    key = (fg, bold, reverse)
    st = _STYLES.get(key)
    if st is None:
        st = Style(color=Color.from_rgb(*fg) if fg else None, bold=bold, reverse=reverse)
        if len(_STYLES) > 5000:
            _STYLES.clear()
        _STYLES[key] = st
    return st
