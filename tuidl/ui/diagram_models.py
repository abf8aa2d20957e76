"""What the network diagram draws, built from the experiment and the engine's numbers.

`network_model` is the builder's view (the weights in use, the selected layer, the
entries edited by hand that training has not moved yet, the neuron the plane shows);
`step_model` is the step-through's (the phase's layer highlighted, its values on the
nodes, the gradients on the links in the backward phases). Both only pick arrays out of
a snapshot or a record; neither computes anything.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from tuidl import config as cfg
from tuidl.engine.facts import LOSSES
from tuidl.ui.diagram import DiagramModel
from tuidl.ui.diagram_cursor import entry_value

if TYPE_CHECKING:
    from tuidl.explain import StepCursor


def network_model(exp: cfg.Experiment, weights: list | None, selected: int | None, *,
                  edited: dict | None = None, viewed: tuple[int, int] | None = None) -> DiagramModel:
    """weights: [(W, b)] per dense layer, or None when they belong to another network.
    edited: {(layer, row, col or None): value} set by hand; marked while the weights hold it.
    viewed: (layer, unit) of the neuron whose activation the plane shows (Snapshot.plane_view)."""
    loss = LOSSES[exp.train.loss]
    layers = [(layer.units, layer.activation, layer.dropout) for layer in exp.model.hidden]
    layers.append((cfg.output_units(exp), loss.output_activation, 0.0))
    if weights is not None and [W.shape for W, _ in weights] != _shapes(exp):
        weights = None
    return DiagramModel(inputs=cfg.input_names(exp.data), layers=layers, output_label=loss.output_label,
                        weights=weights, selected=selected, edited=live_edits(edited or {}, weights),
                        viewed=viewed)


def live_edits(edited: dict, weights: list | None) -> dict:
    """The edits that the weights still hold: an entry set by hand is marked until training
    (or a reset, or a new network) moves it. The value is compared in the weights' own
    dtype, as the engine stored it (0.1 is float32(0.1) in a float32 network)."""
    live = {}
    for key, value in edited.items():
        now = entry_value(weights, *key)
        if now is not None and now == np.asarray(value, dtype=now.dtype):
            live[key] = value
    return live


def _shapes(exp: cfg.Experiment) -> list[tuple[int, int]]:
    sizes = cfg.layer_sizes(exp)
    return list(zip(sizes[1:], sizes[:-1]))


def step_model(exp: cfg.Experiment, cursor: StepCursor) -> DiagramModel:
    record, phase, k = cursor.record, cursor.phase, cursor.example
    model = network_model(exp, None, None)
    model.weights = [(layer.W, layer.b) for layer in record.layers]
    last = len(record.layers)
    if phase.kind == "forward":
        layer = record.layers[phase.layer]
        model.highlight = phase.layer
        model.node_values = {phase.layer: layer.input[k], phase.layer + 1: layer.a[k]}
        model.caption = f"forward: layer {phase.layer + 1} computes a = g(W·x + b)"
    elif phase.kind == "loss":
        model.highlight_output = True
        model.node_values = {last: record.layers[-1].a[k]}
        model.caption = f"loss = {record.loss:.4g}"
    elif phase.kind == "backward":
        layer = record.layers[phase.layer]
        model.highlight = phase.layer
        model.link_values = {phase.layer: layer.grad_W}
        model.node_values = {phase.layer + 1: layer.grad_z[k]}
        model.caption = f"backward: links = dL/dW of layer {phase.layer + 1}"
    else:
        model.weights = [(layer.W_after, layer.b_after) for layer in record.layers]
        model.caption = "update: the weights after the step"
    return model
