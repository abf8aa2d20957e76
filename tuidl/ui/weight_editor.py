"""The small editor the diagram opens on a weight or a bias: one field, prefilled.

Enter applies a number (the screen closes with it), Escape closes with None; anything that
is not a finite number is refused with the reason, and the field stays open.
"""
from __future__ import annotations

import math

import numpy as np
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Input, Static

from tuidl.ui.inputs import OrderedInput
from tuidl.ui.modal import HOLD_KEYS_BEHIND_ENTER, KeysWaitForTheChoice, Modal

HINT = "enter: apply · esc: cancel"


def parse_weight(text: str) -> float:
    """A weight as typed: a finite number ("−" is read as "-"); ValueError says what is wrong."""
    cleaned = text.strip().replace("−", "-").replace(",", ".")  # the captions write "−0.4"
    if not cleaned:
        raise ValueError("type a number, e.g. -0.5 or 2")
    try:
        value = float(cleaned)
    except ValueError:
        raise ValueError(f"{text.strip()!r} is not a number: type one, e.g. -0.5 or 2") from None
    if not math.isfinite(value):
        raise ValueError(f"{text.strip()!r}: a weight must be a finite number")
    return value


def shown_value(value: object) -> str:
    """The shortest text that reads back as the same number in its own dtype (float32 or 64)."""
    v = np.asarray(value).reshape(-1)[0]
    return str(v.item()) if v.dtype == np.float64 else str(v)


class WeightEditor(KeysWaitForTheChoice, Modal):
    DEFAULT_CSS = """
    WeightEditor { align: center middle; }
    WeightEditor > #weight-box {
        width: 48; height: auto; padding: 0 1;
        border: round $accent; border-title-color: $accent; background: $panel;
    }
    WeightEditor #weight-input { width: 100%; }
    WeightEditor #weight-hint { color: $text-muted; }
    WeightEditor #weight-hint.-error { color: $error; }
    """
    BINDINGS = [Binding("escape", "cancel", "cancel"), HOLD_KEYS_BEHIND_ENTER]

    def __init__(self, what: str, value: object) -> None:
        """what: the entry, e.g. "W¹[0, 1] · input x2 → layer 1 neuron 0"; value: its value now."""
        super().__init__()
        self.what = what
        self.value = value

    def compose(self) -> ComposeResult:
        with Vertical(id="weight-box") as box:
            box.border_title = "set a weight"
            yield Static(self.what, id="weight-what")
            yield OrderedInput(shown_value(self.value), id="weight-input", select_on_focus=True)
            yield Static(HINT, id="weight-hint")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        hint = self.query_one("#weight-hint", Static)
        try:
            value = parse_weight(event.value)
        except ValueError as err:
            hint.update(f"{err} · {HINT}")
            hint.add_class("-error")
        else:
            self.dismiss(value)
        self.choice_used()  # the keys typed behind enter: after the weight is set (or into the field again)

    def action_cancel(self) -> None:
        self.dismiss(None)
