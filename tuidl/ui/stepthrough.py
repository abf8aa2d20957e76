"""The step-through panel: one phase of a training step, in the app.

The phases, the navigation among them and their text are tuidl.explain's; this widget
holds a StepCursor, shows its phase under a one-line header, scrolls, and posts
PhaseShown after every change so that the screen can redraw the diagram.

It cannot take focus (no invisible tab stop): the app binds n, p, [, ], ↑, ↓ and
PgUp/PgDn/Home/End to its methods whenever it is shown.
"""
from __future__ import annotations

import copy

from rich.console import Group
from rich.text import Text
from textual.app import ComposeResult
from textual.message import Message
from textual.widgets import Static

from tuidl.engine.records import StepRecord
from tuidl.explain import StepCursor, render_phase
from tuidl.ui.paged import PagedScroll

IDLE_MESSAGE = (
    "Step-through mode. Press n to take one training step on the next mini-batch and "
    "walk through it phase by phase: the forward pass layer by layer, the loss, "
    "backpropagation from the output back to the first layer, and the optimizer's "
    "update, each with the real numbers of the batch."
)
KEYS = "n next · p back · [ ] example · ↑↓ neuron · PgUp/PgDn scroll"


class StepThroughPanel(PagedScroll, can_focus=False):  # nothing is focused here: the app's keys page it
    """Shows the phase its cursor is at; scrolls when the text is taller than the panel."""

    DEFAULT_CSS = """
    StepThroughPanel {
        height: 1fr;
        padding: 0 1;
    }
    StepThroughPanel > #stepthrough-header {
        dock: top;
        height: auto;
        color: $text-muted;
    }
    StepThroughPanel > #stepthrough-body {
        width: 100%;
    }
    """

    class PhaseShown(Message):
        """A phase is shown: a new step, another phase, example or neuron. `cursor` is a
        copy: where the panel was when it posted this."""

        def __init__(self, cursor: StepCursor) -> None:
            super().__init__()
            self.cursor = cursor

    def __init__(self, *, name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._cursor: StepCursor | None = None
        self._header = Static(self._header_text(), id="stepthrough-header")
        self._body = Static(Text(IDLE_MESSAGE), id="stepthrough-body")

    def compose(self) -> ComposeResult:
        yield self._header
        yield self._body

    @property
    def cursor(self) -> StepCursor | None:
        """Where the step-through is; None before the first step and after clear()."""
        return self._cursor

    # -- attributes down ---------------------------------------------------------------
    def show_record(self, record: StepRecord) -> None:
        """A new step: its first phase, with the example and the neuron kept (in range)."""
        self._cursor = StepCursor(record) if self._cursor is None else self._cursor.with_record(record)
        self._show(from_top=True)

    def next_phase(self) -> bool:
        """The next phase; False at the last one (the app then asks for a new step)."""
        if self._cursor is None or not self._cursor.next():
            return False
        self._show(from_top=True)
        return True

    def prev_phase(self) -> bool:
        """The previous phase; False at the first one."""
        if self._cursor is None or not self._cursor.prev():
            return False
        self._show(from_top=True)
        return True

    def move_example(self, delta: int) -> None:
        if self._cursor is not None and self._cursor.move_example(delta):
            self._show(from_top=False)

    def move_neuron(self, delta: int) -> None:
        if self._cursor is not None and self._cursor.move_neuron(delta):
            self._show(from_top=False)

    def clear(self, message: str = IDLE_MESSAGE) -> None:
        """No step shown: a message instead (why, and what to press)."""
        self._cursor = None
        self._header.update(self._header_text())
        self._body.update(Group(Text(message), Text(""), Text("n take a training step", style="dim")))
        self.scroll_home(animate=False)

    # -- drawing -------------------------------------------------------------------------
    def _header_text(self) -> Text:
        c = self._cursor
        where = f"phase {c.phase_index + 1}/{c.phase_count} · " if c is not None else ""
        return Text(where + KEYS)  # wraps on a narrow panel: every key stays readable

    def _show(self, from_top: bool) -> None:
        c = self._cursor
        assert c is not None
        self._header.update(self._header_text())
        self._body.update(render_phase(c.record, c.phase, c.example, c.neuron))
        if from_top:
            self.scroll_home(animate=False)
        self.post_message(self.PhaseShown(copy.copy(c)))
