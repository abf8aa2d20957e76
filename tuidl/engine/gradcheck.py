"""The gradient check: backprop's gradients against central finite differences, in float64.

For each weight and bias θᵢ of a training step, the numeric derivative

    D(h) = (L(θ + h·eᵢ) − L(θ − h·eᵢ)) / 2h

of the step's total loss L (data loss + L1 term, on the step's mini-batch, with the step's
dropout masks held fixed) is set against dL/dθᵢ as the engine's backward pass computed it
(the StepRecord's grad_W and grad_b). Nudging one weight and watching the loss is all the
numeric side does; backprop gets the same numbers for every weight at once, by the chain
rule. When both are right they agree to ~1e-9 relative.

Accuracy, measured here over every activation, loss, dropout and L1 setting: D(h) errs by
O(h²) (the curvature) plus the rounding of L's difference, ~1e-12/h in float64. The check
uses (4·D(h/2) − D(h))/3 (Richardson: the h² terms cancel) with h = 1e-4 and takes each
sample's loss difference before their mean; the worst relative error seen was 2e-7. The
relative error of an entry is |engine − numeric| / max(|engine|, |numeric|, FLOOR): a
gradient below FLOOR = 1e-5 is compared absolutely, to TOLERANCE × FLOOR = 1e-11, since
relative to a gradient near 0 the rounding of L would be all there is to see.

The check runs a float64 copy of the run on the CPU (whatever the experiment's dtype and
device): the question is the math, and float32 differences would drown it in rounding.

Kinks: relu and leaky_relu bend at z = 0, and the L1 term |w| at w = 0. A difference
quotient across a bend is neither side's slope, so an entry whose nudge moves some z of
the batch across 0 (or, with L1, a weight with 0 < |w| ≤ h) is skipped and counted. At
w = 0 exactly both sides of |w| cancel, which is the engine's subgradient sign(0) = 0.

Large tensors: at most MAX_ENTRIES entries per tensor and step (fewer in big networks, see
WORK_PER_TENSOR), a fixed random subset, so that the check takes about a second at most.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np
import torch

from tuidl.config import Experiment
from tuidl.engine.records import GradCheckReport, ParamCheck, StepRecord

H = 1e-4  # the nudge (and h/2): small for the curvature's error, large against the rounding of L
TOLERANCE = 1e-6  # largest relative error that passes
FLOOR = 1e-5  # smallest denominator of the relative error: gradients near 0 are compared absolutely
MAX_ENTRIES = 200  # entries checked per tensor and step; larger tensors get a fixed random subset
WORK_PER_TENSOR = 5e8  # multiply-adds of the re-run forward passes per tensor and step: fewer entries for big networks
MIN_ENTRIES = 20  # ... but never fewer than this
CHUNK_ELEMENTS = 1 << 20  # nudges evaluated together: their activations (or weights) take about this many numbers
KINKED = ("relu", "leaky_relu")


@dataclass
class _Tally:
    """One parameter tensor's errors over the steps checked."""

    errors: list[np.ndarray] = field(default_factory=list)
    skipped: int = 0
    worst: tuple = (-1.0, 0, (0,), 0.0, 0.0)  # (error, step, index, engine, numeric)


def gradient_check(exp: Experiment, steps: int = 1, source: str = "<experiment>", trainer=None, *,
                   tolerance: float = TOLERANCE, floor: float = FLOOR, h: float = H,
                   max_entries: int = MAX_ENTRIES) -> GradCheckReport:
    """Check `steps` training steps, each at the weights before it.

    Without `trainer`: from exp's initial weights. With one: from its current weights,
    optimizer state and batch order (exp is then trainer.exp); the trainer is not changed,
    the steps are taken by a float64 copy. Raises ValueError when the weights are not finite.
    """
    shadow = _float64_copy(trainer.exp if trainer is not None else exp, source, trainer)
    network = shadow.network
    tallies = {(i, name): _Tally() for i in range(len(network.layers)) for name in ("W", "b")}
    picker = np.random.default_rng(0)  # the subset of a large tensor: the same every run
    checked_steps, sampled = [], False
    for _ in range(max(1, int(steps))):
        record = shadow.step()
        sampled |= _check_step(record, network, tallies, h, floor, max_entries, picker)
        checked_steps.append(record.step)
    rows = [_row(i, name, network.layers[i], tally) for (i, name), tally in tallies.items()]
    return GradCheckReport(
        rows=rows, steps=checked_steps, tolerance=tolerance, floor=floor, h=h, loss=network.loss.name,
        activations=[layer.activation.name for layer in network.layers], l1=network.l1,
        dropout=any(layer.dropout > 0 for layer in network.layers), sampled=sampled)


def _float64_copy(exp: Experiment, source: str, trainer):
    from tuidl.engine.trainer import Trainer

    exp64 = copy.deepcopy(exp)
    exp64.train.dtype, exp64.train.device = "float64", "cpu"
    shadow = Trainer(exp64, dataset=trainer.dataset if trainer is not None else None, source=source)
    if trainer is not None:
        shadow.load_state_dict(trainer.state_dict())
    if not torch.isfinite(shadow.network.flat_params).all():
        raise ValueError("the weights are not finite (the run diverged): a gradient check needs "
                         "finite weights; press r to reset")
    return shadow


def _row(i: int, name: str, layer, tally: _Tally) -> ParamCheck:
    errors = np.concatenate(tally.errors) if tally.errors else np.zeros(0)
    error, step, index, engine, numeric = tally.worst
    shape = tuple((layer.W if name == "W" else layer.b).shape)
    return ParamCheck(
        layer=i, parameter=name, shape=shape, checked=int(errors.size), skipped=tally.skipped,
        max_rel_error=float(errors.max()) if errors.size else 0.0,
        median_rel_error=float(np.median(errors)) if errors.size else 0.0,
        worst_step=step, worst_index=index, worst_engine=engine, worst_numeric=numeric)


class _Batch:
    """One recorded step as float64 tensors, and its forward pass that can be re-run from
    any layer with nudged parameters."""

    def __init__(self, record: StepRecord, network):
        def t(a):
            return None if a is None else torch.from_numpy(np.asarray(a)).to(torch.float64)

        self.Ws = [t(layer.W) for layer in record.layers]
        self.bs = [t(layer.b) for layer in record.layers]
        self.masks = [t(layer.dropout_mask) for layer in record.layers]
        self.acts = [layer.activation for layer in network.layers]
        self.loss = network.loss
        self.l1 = network.l1
        y = torch.from_numpy(np.asarray(record.y))
        self.y = y if y.dtype == torch.int64 else y.to(torch.float64)
        self.n = record.x.shape[0]
        self.inputs = []  # each layer's input, as the step's forward pass computed it
        x = t(record.x)
        for W, b, act, mask in zip(self.Ws, self.bs, self.acts, self.masks):
            self.inputs.append(x)
            a = act.forward(x @ W.T + b)
            x = a if mask is None else a * mask

    def losses(self, layer: int, name: str, flat: torch.Tensor, delta: float) -> tuple[torch.Tensor, list]:
        """The data loss's terms (P, m) with entry flat[p] of `name` of `layer` nudged by
        delta, for each p; also which z of the relu-like layers were positive, per nudge."""
        P, n = flat.numel(), self.n
        rows = torch.arange(P)
        A, W, b = self.inputs[layer], self.Ws[layer], self.bs[layer]
        if name == "W":
            Wp = W.repeat(P, 1, 1)
            Wp.view(P, -1)[rows, flat] += delta
            z = A @ Wp.transpose(1, 2) + b  # (P, n, out)
        else:
            bp = b.repeat(P, 1)
            bp[rows, flat] += delta
            z = (A @ W.T) + bp[:, None, :]
        z = z.reshape(P * n, -1)
        signs = []
        last = len(self.Ws) - 1
        for k in range(layer, last + 1):
            if k > layer:
                z = x @ self.Ws[k].T + self.bs[k]
            a = self.acts[k].forward(z)
            if self.acts[k].name in KINKED:
                signs.append((z > 0).reshape(P, -1))
            if k < last:
                x = a if self.masks[k] is None else a * self.masks[k].repeat(P, 1)
        y = self.y.repeat(P, *([1] * (self.y.dim() - 1)))
        terms = self.loss.elementwise(z, a, y).reshape(P, -1)  # the loss is their mean
        return terms, signs

    def l1_change(self, layer: int, name: str, flat: torch.Tensor, delta: float) -> torch.Tensor:
        """λ₁(|w + δ| − |w|) for each entry: how a nudge changes the L1 term (0 for a bias)."""
        if not self.l1 or name != "W":
            return torch.zeros(flat.numel(), dtype=torch.float64)
        w = self.Ws[layer].reshape(-1)[flat]
        return self.l1 * ((w + delta).abs() - w.abs())


def _check_step(record: StepRecord, network, tallies: dict, h: float, floor: float,
                max_entries: int, picker: np.random.Generator) -> bool:
    """Adds one step's errors to the tallies; True when some tensor was sampled."""
    batch = _Batch(record, network)
    sampled = False
    for i, layer in enumerate(record.layers):
        # each checked entry re-runs the forward pass from this layer on, 4 times
        work = 4 * batch.n * sum(W.numel() for W in batch.Ws[i:])
        most = max(MIN_ENTRIES, min(max_entries, int(WORK_PER_TENSOR // work)))
        for name, value, engine in (("W", layer.W, layer.grad_W), ("b", layer.b, layer.grad_b)):
            size = value.size
            if size > most:
                entries, sampled = np.sort(picker.choice(size, most, replace=False)), True
            else:
                entries = np.arange(size)
            numeric, kinked = _numeric(batch, i, name, torch.from_numpy(entries), h)
            if batch.l1 and name == "W":
                w = np.abs(value.reshape(-1)[entries])
                kinked |= (w > 0) & (w <= h)
            keep = ~kinked
            e = engine.reshape(-1)[entries][keep].astype(np.float64)
            n = numeric[keep]
            errors = np.abs(e - n) / np.maximum(np.maximum(np.abs(e), np.abs(n)), floor)
            errors = np.where(np.isnan(errors), np.inf, errors)  # a nan gradient never passes
            tally = tallies[(i, name)]
            tally.errors.append(errors)
            tally.skipped += int(kinked.sum())
            if errors.size and errors.max() > tally.worst[0]:
                j = int(errors.argmax())
                index = tuple(int(k) for k in np.unravel_index(entries[keep][j], value.shape))
                tally.worst = (float(errors[j]), record.step, index, float(e[j]), float(n[j]))
    return sampled


def _numeric(batch: _Batch, layer: int, name: str, entries: torch.Tensor, h: float) -> tuple[np.ndarray, np.ndarray]:
    """(central differences, kinked) for the given flat entries of one tensor."""
    widths = [W.shape[0] for W in batch.Ws[layer:]]
    copies = batch.Ws[layer].numel() if name == "W" else 1  # each nudge of W gets its own copy of W
    chunk = max(1, CHUNK_ELEMENTS // max(batch.n * max(widths), copies))
    numeric, kinked = [], []
    for start in range(0, entries.numel(), chunk):
        part = entries[start:start + chunk]
        crossed = torch.zeros(part.numel(), dtype=torch.bool)
        differences = []
        for step in (h, h / 2):
            plus, signs_plus = batch.losses(layer, name, part, step)
            minus, signs_minus = batch.losses(layer, name, part, -step)
            for p, m in zip(signs_plus, signs_minus):  # some z on one side of 0 at +h, on the other at −h
                crossed |= (p != m).any(1)
            # L(θ + h) − L(θ − h), each sample's difference first: less rounding than two means
            change = (plus - minus).mean(1) + batch.l1_change(layer, name, part, step) \
                - batch.l1_change(layer, name, part, -step)
            differences.append(change / (2 * step))
        # Richardson: the h² terms of the two central differences cancel, leaving O(h⁴)
        numeric.append(((4 * differences[1] - differences[0]) / 3).numpy())
        kinked.append(crossed.numpy())
    return np.concatenate(numeric), np.concatenate(kinked)
