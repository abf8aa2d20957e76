"""Drawing points by hand on the plane (`d`): a cursor cell, the class (or value) to add,
and the keys and clicks that ask the app for an edit.

BoundaryPlane mixes this in. The mode is the plane's keyboard focus: `d` focuses it, and
while it has the focus its keys come first, so `c`, the arrows, `enter` and `escape` do
nothing else; any focus elsewhere (a form, the diagram, the step-through) ends the mode.
The plane never changes the data itself: it posts `Edit`, and the app applies it
(tuidl/ui/points_actions.py), refuses it with the reason, or hands the plane a new set.
"""
from __future__ import annotations

from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.widget import Widget

from tuidl import hand_points as hp

KEYS_HINT = "c class · enter add · del remove · esc done"  # the footer lists every key of the mode


class PointsDrawing(Widget):
    # Only while the plane has the focus (the mode): elsewhere these keys are the app's.
    BINDINGS = [
        Binding("left", "move(-1, 0)", "move", show=False),
        Binding("right", "move(1, 0)", "move", show=False),
        Binding("up", "move(0, -1)", "move", show=False),
        Binding("down", "move(0, 1)", "move", show=False),
        Binding("c", "next_label", "class"),
        Binding("enter", "add", "add point"),
        Binding("delete,backspace", "remove", "remove nearest"),
        Binding("C", "clear", "clear all"),
        Binding("u", "undo", "undo"),
        Binding("escape", "leave", "done"),
    ]

    class Edit(Message):
        """Add a point of `label` at `at` (data units), remove the one nearest to `at`, clear
        all, or undo the last edit (kind "add", "remove", "clear", "undo")."""

        def __init__(self, kind: str, at: tuple[float, float] | None = None, label=None) -> None:
            super().__init__()
            self.kind, self.at, self.label = kind, at, label

    class ModeChanged(Message):
        """The mode began or ended, or its class changed: the pane's title says so."""

    drawing = False
    cursor: tuple[int, int] | None = None  # (column, row) in heatmap cells
    label_index = 0

    # -- the mode --------------------------------------------------------------------
    def enter_drawing(self, cell: tuple[int, int] | None = None) -> None:
        """Take the keyboard; the cursor at `cell` (heatmap cells), else where it was or the middle."""
        lay = self.axes_layout
        if cell is None:
            cell = self.cursor if self.cursor is not None else (lay.width // 2, lay.height // 2)
        self.cursor = self._clamped(cell)
        self.drawing = True
        self.can_focus = True
        self.screen.set_focus(self)  # now, not later: a key typed right after `d` is the mode's
        self._changed()

    def on_blur(self) -> None:
        if self.drawing:
            self.drawing = False
            self.can_focus = False
            self._changed()

    def action_leave(self) -> None:
        self.screen.set_focus(None)  # on_blur ends the mode

    def _changed(self) -> None:
        self._invalidate()
        self.post_message(self.ModeChanged())

    def _clamped(self, cell: tuple[int, int]) -> tuple[int, int]:
        lay = self.axes_layout
        return min(max(cell[0], 0), lay.width - 1), min(max(cell[1], 0), lay.height - 1)

    # -- what it adds ----------------------------------------------------------------
    @property
    def labels(self) -> tuple:
        ds = self.dataset
        if ds is None:
            return (0, 1)
        return hp.REGRESSION_VALUES if ds.task == "regression" else tuple(range(max(2, ds.n_classes)))

    @property
    def label(self):
        labels = self.labels
        return labels[self.label_index % len(labels)]

    def label_text(self) -> str:
        label = self.label
        return f"value {label:g}" if isinstance(label, float) else f"class {label}"

    def drawing_title(self) -> str:
        return f"drawing: {self.label_text()} ● · {KEYS_HINT}"

    @property
    def cursor_point(self) -> tuple[float, float] | None:
        """The data coordinates of the cursor cell's centre."""
        if self.cursor is None or self.dataset is None:
            return None
        self.cursor = self._clamped(self.cursor)  # the plane may have been resized since
        return self.axes_layout.centre(*self.cursor)

    # -- keys ------------------------------------------------------------------------
    def action_move(self, dx: int, dy: int) -> None:
        if self.cursor is not None:
            col, row = self._clamped(self.cursor)  # the plane may have been resized since
            self.cursor = self._clamped((col + dx, row + dy))
            self._invalidate()

    def action_next_label(self) -> None:
        self.label_index = (self.label_index + 1) % len(self.labels)
        self._changed()

    def action_add(self) -> None:
        if self.cursor_point is not None:
            self.post_message(self.Edit("add", self.cursor_point, self.label))

    def action_remove(self) -> None:
        if self.cursor_point is not None:
            self.post_message(self.Edit("remove", self.cursor_point))

    def action_clear(self) -> None:
        self.post_message(self.Edit("clear"))

    def action_undo(self) -> None:
        self.post_message(self.Edit("undo"))

    # -- the mouse -------------------------------------------------------------------
    def on_click(self, event: events.Click) -> None:
        """In the mode a click adds a point of the current class there, a right-click or a
        shift-click removes the nearest; outside it, a click starts the mode on that cell."""
        if self.dataset is None:
            return
        lay = self.axes_layout
        cell = (event.x - self.gutter.left - lay.left, event.y - self.gutter.top - lay.top)
        if not self.drawing:
            self.enter_drawing(cell)
            return
        at = lay.centre(*cell)  # a click on the axes gives a point outside: the app says so
        if 0 <= cell[0] < lay.width and 0 <= cell[1] < lay.height:
            self.cursor = cell
            self._invalidate()
        remove = event.button == 3 or event.shift
        self.post_message(self.Edit("remove", at) if remove else self.Edit("add", at, self.label))


def cursor_style(color: tuple[int, int, int]) -> Style:
    """The cursor cell: the current class's colour behind a dark mark, so that it shows on
    any heatmap colour."""
    from rich.color import Color

    return Style(color=Color.from_rgb(0, 0, 0), bgcolor=Color.from_rgb(*color), bold=True)
