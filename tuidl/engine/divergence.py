"""Divergence explained: the first step whose numbers stop being finite, and the parameter
that went first.

The fast training loop (Trainer.train_epoch) keeps no records. So at the start of every
train_epoch call the trainer remembers what the coming steps depend on (`remember`: the
flat weights, the optimizer's flat state and step count, the dropout generator's state,
the batch order and cursor; a few tensor copies per epoch), and when the epoch ends with a
loss that is not finite, `replay` has a copy of the trainer, built from the same
experiment and dataset, take those steps again with step() records, up to the first record
that holds a value that is not finite. The steps are the same ops on the same numbers, so
the copy meets the same values. The trainer itself is never touched: after the replay its
state is the diverged state it had.

Steps taken one by one (Trainer.step) are checked as they are taken (`divergence_in`).
"""
from __future__ import annotations

import copy

import numpy as np

from tuidl.engine.records import Divergence, StepRecord


class EpochStart:
    """What the steps of a train_epoch call depend on, taken before the first of them.
    `take` copies into the tensors of the last one: no allocation in the training loop."""

    __slots__ = ("epoch", "step_count", "cursor", "order", "params", "optimizer_state", "optimizer_steps",
                 "dropout_rng")

    def __init__(self, trainer):
        self.params = trainer.network.flat_params.clone()  # Network.flat_params
        # the optimizer's flat state: one tensor per state name, not one per parameter
        self.optimizer_state = {name: t.clone() for name, t in trainer.optimizer._flat_state.items()}
        self.take(trainer)

    def take(self, trainer) -> EpochStart:
        self.epoch = trainer.epoch  # completed epochs
        self.step_count = trainer.step_count
        self.cursor = trainer._cursor
        self.order = trainer._order  # the epoch's permutation (replaced, never changed in place)
        self.params.copy_(trainer.network.flat_params)
        optimizer = trainer.optimizer
        for name, t in self.optimizer_state.items():
            t.copy_(optimizer._flat_state[name])
        self.optimizer_steps = optimizer.step_count
        self.dropout_rng = trainer._dropout_rng.get_state()
        return self


def remember(trainer, last: EpochStart | None = None) -> EpochStart:
    """The trainer's EpochStart now (into `last`'s tensors when given)."""
    return EpochStart(trainer) if last is None else last.take(trainer)


def replay(trainer, start: EpochStart, epoch_loss: tuple[str, float] = ("the loss", float("nan"))) -> Divergence | None:
    """The first step after `start` whose record holds a non-finite value, taken by a copy
    of `trainer`; when every step stays finite (the loss over a whole set overflowed after
    them: `epoch_loss` is (what, value)), the last step, marked after_epoch. None when there
    is no step to replay."""
    from tuidl.engine.trainer import Trainer

    shadow = Trainer(copy.deepcopy(trainer.exp), dataset=trainer.dataset, source="<replay>")
    shadow.explains_divergence = False
    shadow.network.flat_params.copy_(start.params)
    for name, value in start.optimizer_state.items():
        shadow.optimizer._flat_state[name].copy_(value)
    shadow.optimizer.step_count = start.optimizer_steps
    shadow._dropout_rng.set_state(start.dropout_rng)
    if start.order is None:
        return None
    shadow._use_order(start.order, start.cursor)
    shadow.epoch, shadow.step_count = start.epoch, start.step_count
    record = None
    while shadow._cursor < len(shadow._batches):
        record = shadow.step()
        found = divergence_in(record)
        if found is not None:
            return found
    if record is None:
        return None
    layer, name, index = _largest_update(record)
    return _divergence(record, *epoch_loss, layer, name, index, after_epoch=True)


def divergence_in(record: StepRecord) -> Divergence | None:
    """The step's first non-finite value, in the order of its phases, and the parameter
    that went first (see Divergence); None when every number of the step is finite."""
    found = _first_non_finite(record)
    if found is None:
        return None
    what, value, layer, name, array = found
    if name is None:  # the forward pass or the loss: the entry this step moves the most
        layer, name, index = _largest_update(record)
    else:
        index = tuple(int(i) for i in np.argwhere(~np.isfinite(array))[0])
    return _divergence(record, what, value, layer, name, index)


def _first_non_finite(record: StepRecord):
    """(what, its first non-finite value, layer, "W"/"b" or None, the array) or None."""
    layers = record.layers
    phases = []
    for i, layer in enumerate(layers):  # the weights the step starts from
        phases += [(f"layer {i + 1}'s W at the step's start", i, "W", layer.W),
                   (f"layer {i + 1}'s b at the step's start", i, "b", layer.b)]
    for i, layer in enumerate(layers):  # forward
        phases += [(f"layer {i + 1}'s z", i, None, layer.z), (f"layer {i + 1}'s a", i, None, layer.a)]
    phases.append(("the loss", None, None, np.asarray(record.loss)))
    for i in reversed(range(len(layers))):  # backward, from the output layer
        layer = layers[i]
        phases += [(f"layer {i + 1}'s dL/dz", i, None, layer.grad_z),
                   (f"layer {i + 1}'s dL/dW", i, "W", layer.grad_W),
                   (f"layer {i + 1}'s dL/db", i, "b", layer.grad_b)]
    for i, layer in enumerate(layers):  # the update
        phases += [(f"layer {i + 1}'s new W", i, "W", layer.W_after), (f"layer {i + 1}'s new b", i, "b", layer.b_after)]
    for what, layer, name, array in phases:
        values = np.asarray(array)
        bad = ~np.isfinite(values)
        if bad.any():
            return what, float(values[bad].reshape(-1)[0]), layer, name, values
    return None


def _largest_update(record: StepRecord) -> tuple[int, str, tuple[int, ...]]:
    """(layer, "W"/"b", index) of the finite update of largest size in the step."""
    best, where = -1.0, (len(record.layers) - 1, "b", (0,))
    for i, layer in enumerate(record.layers):
        for name in ("W", "b"):
            update = np.abs(np.asarray(layer.optimizer_terms[name]["update"], dtype=np.float64))
            size = np.where(np.isfinite(update), update, -1.0)
            if size.size and size.max() > best:
                best = float(size.max())
                where = (i, name, tuple(int(k) for k in np.unravel_index(int(size.argmax()), size.shape)))
    return where


def _divergence(record: StepRecord, what: str, value: float, layer: int, name: str,
                index: tuple[int, ...], after_epoch: bool = False) -> Divergence:
    lr = record.layers[layer]
    before = lr.W if name == "W" else lr.b
    grad = lr.grad_W if name == "W" else lr.grad_b
    update = np.asarray(lr.optimizer_terms[name]["update"])
    return Divergence(
        epoch=record.epoch, step=record.step, what=what, value=value, layer=layer, parameter=name,
        index=index, lr=record.lr, weight=float(before[index]), gradient=float(grad[index]),
        update=float(update[index]), record=record, after_epoch=after_epoch)
