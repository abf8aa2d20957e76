"""One neuron's view on the plane: its activation over the input plane in place of the
network's output (TF Playground's neuron thumbnails, drawn full size).

The engine computes the values (Trainer.neuron_map, asked for with the session's
SetPlaneView); this says which neuron they belong to, the range its colours span, and
the pane's title.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tuidl.ui.colors import BACKGROUND, BLUE, ORANGE


@dataclass(frozen=True)
class NeuronView:
    """The heatmap holds the activation of one neuron (Trainer.neuron_map), not the output."""

    layer: int  # dense layer index (0 = the first hidden layer)
    unit: int
    activation: str  # a key of engine.facts.ACTIVATIONS
    output: bool = False  # the layer is the output layer

    @property
    def name(self) -> str:
        return f"output neuron {self.unit}" if self.output else f"layer {self.layer + 1} neuron {self.unit}"


def neuron_view(exp, plane_view: tuple[int, int] | None) -> NeuronView | None:
    """The NeuronView of a snapshot's `plane_view` in experiment `exp`; None for the output."""
    if plane_view is None or exp is None:
        return None
    from tuidl.engine.facts import LOSSES

    layer, unit = plane_view
    hidden = exp.model.hidden
    if layer < len(hidden):
        return NeuronView(layer, unit, hidden[layer].activation)
    return NeuronView(layer, unit, LOSSES[exp.train.loss].output_activation, output=True)


def neuron_range(activation: str, values: np.ndarray | None) -> tuple[float, float]:
    """The range the colours span: the activation's own where it has one (tanh −1…1,
    sigmoid and softmax 0…1), else what the values reach (relu 0…max, others ±max|a|)."""
    if activation == "tanh":
        return -1.0, 1.0
    if activation in ("sigmoid", "softmax"):
        return 0.0, 1.0
    v = np.asarray(values if values is not None else [], dtype=np.float64)
    v = v[np.isfinite(v)]
    top = float(np.abs(v).max()) if v.size else 0.0
    return (0.0, float(v.max()) if v.size else 0.0) if activation == "relu" else (-top, top)


def neuron_title(view: NeuronView, values: np.ndarray | None) -> str:
    from tuidl.engine.facts import ACTIVATIONS

    lo, hi = neuron_range(view.activation, values)
    label = ACTIVATIONS[view.activation].label if view.activation in ACTIVATIONS else view.activation
    span = "0 everywhere: this neuron is off" if lo == hi == 0 else f"{lo:.3g} … {hi:.3g}".replace("-", "−")
    return f"{view.name}: {label} activation over the plane ({span})"


def neuron_rgb(values: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """(…, 3) colours of activations: 0 is the background, blue grows with a positive value
    and orange with a negative one, full at the range's largest magnitude."""
    v = np.nan_to_num(np.asarray(values, dtype=np.float64), nan=0.0, posinf=hi, neginf=lo)
    top = max(abs(lo), abs(hi))
    s = np.clip(v / top, -1, 1) if top > 0 else np.zeros_like(v)
    strength = (np.abs(s) * 0.6 + 0.05)[..., None]  # dimmed as the boundary is, to sit under the points
    target = np.where((s >= 0)[..., None], np.array(BLUE, float), np.array(ORANGE, float))
    out = np.array(BACKGROUND, float) * (1 - strength) + target * strength
    return np.clip(out, 0, 255).astype(np.uint8)
