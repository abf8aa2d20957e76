"""The network diagram's keyboard cursor: a column, a neuron in it, and one of that
neuron's incoming links (a weight from a neuron of the previous column, or its bias).

Pure state and text (no Textual): the diagram moves it with its keys and writes
`describe` in its caption row. Columns are the diagram's: 0 = the inputs, c ≥ 1 = dense
layer c − 1 (the output last). An entry is (layer, row, col) as in W[row, col] of that
dense layer, col None for the bias b[row].
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tuidl.explain import fmt, sup

BIAS = -1  # the cursor's link on the neuron's bias
# the keys, from the widest hint to the narrowest: the caption row writes the first that fits
KEYS = ("←→ layer · ↑↓ neuron · [ ] weight or bias · enter edit · v view · esc back",
        "←→ layer ↑↓ neuron [ ] weight ⏎ edit v view esc back",
        "←→↑↓ [ ] move · ⏎ edit · v view · esc")


def keys_hint(width: int) -> str:
    return next((k for k in KEYS if len(k) <= width), KEYS[-1])


@dataclass
class DiagramCursor:
    column: int = 1
    neuron: int = 0
    link: int | None = None  # None: the neuron itself; k ≥ 0: the weight from neuron k before it; BIAS

    def clamp(self, sizes: list[int]) -> None:
        """Kept inside a network whose columns hold `sizes` neurons (inputs first)."""
        self.column = min(max(0, self.column), len(sizes) - 1)
        self.neuron = min(max(0, self.neuron), sizes[self.column] - 1)
        if self.column == 0:
            self.link = None
        elif self.link is not None and self.link != BIAS:
            self.link = min(self.link, sizes[self.column - 1] - 1)

    def move_column(self, delta: int, sizes: list[int]) -> None:
        """Another layer; the neuron's index is kept where the column has it."""
        self.column += delta
        self.link = None
        self.clamp(sizes)

    def move_neuron(self, delta: int, sizes: list[int]) -> None:
        """Another neuron of the column; on a link, the same link of that neuron (W[row ± 1, col])."""
        self.neuron += delta
        self.clamp(sizes)

    def move_link(self, delta: int, sizes: list[int]) -> None:
        """Cycle the neuron's incoming items: the neuron, its weights from each neuron before
        it in turn, its bias, and back to the neuron."""
        if self.column == 0:
            return
        items: list[int | None] = [None, *range(sizes[self.column - 1]), BIAS]
        self.link = items[(items.index(self.link) + delta) % len(items)]

    @property
    def entry(self) -> tuple[int, int, int | None] | None:
        """(layer, row, col or None for the bias) of the weight under the cursor; None on a neuron."""
        if self.column == 0 or self.link is None:
            return None
        return self.column - 1, self.neuron, None if self.link == BIAS else self.link

    @property
    def unit(self) -> tuple[int, int] | None:
        """(layer, unit) of the dense neuron under the cursor; None on an input."""
        return (self.column - 1, self.neuron) if self.column > 0 else None


def entry_name(layer: int, row: int, col: int | None) -> str:
    """W¹[0, 1] or b¹[0]: the layer's number as the step-through writes it, indices from 0."""
    return f"b{sup(layer + 1)}[{row}]" if col is None else f"W{sup(layer + 1)}[{row}, {col}]"


def entry_value(weights: list | None, layer: int, row: int, col: int | None) -> np.generic | None:
    """The entry's value in [(W, b)] per layer (its own dtype), None where there is none."""
    if weights is None or not 0 <= layer < len(weights):
        return None
    W, b = weights[layer]
    try:
        return (np.asarray(b)[row] if col is None else np.asarray(W)[row, col])
    except IndexError:
        return None


def neuron_name(column: int, neuron: int, n_columns: int, inputs: list[str]) -> str:
    """A neuron as the step-through names it: "input x1", "layer 1 neuron 0", "output neuron 0"."""
    if column == 0:
        return f"input {inputs[neuron]}" if neuron < len(inputs) else f"input {neuron}"
    if column == n_columns - 1:
        return f"output neuron {neuron}"
    return f"layer {column} neuron {neuron}"


def link_name(layer: int, row: int, col: int | None, inputs: list[str], n_columns: int) -> str:
    """What the entry joins: "input x2 → layer 1 neuron 0", or "output neuron 0's bias"."""
    target = neuron_name(layer + 1, row, n_columns, inputs)
    return f"{target}'s bias" if col is None else f"{neuron_name(layer, col, n_columns, inputs)} → {target}"


def describe(cursor: DiagramCursor, inputs: list[str], layers: list[tuple[int, str, float]],
             weights: list | None, viewed: tuple[int, int] | None = None) -> str:
    """What is under the cursor, its value, and what enter does there."""
    n_columns = len(layers) + 1
    entry = cursor.entry
    if entry is not None:
        value = entry_value(weights, *entry)
        shown = "?" if value is None else fmt(value)
        return f"{entry_name(*entry)} = {shown} · enter to edit · {link_name(*entry, inputs, n_columns)}"
    name = neuron_name(cursor.column, cursor.neuron, n_columns, inputs)
    if cursor.column == 0:
        return f"{name} · no weights in: → a layer"
    text = f"{name} · {layers[cursor.column - 1][1]}"
    if viewed == cursor.unit:
        return text + " · on the plane · esc: output"
    return text + " · ] its weights · v its view"
