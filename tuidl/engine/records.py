"""What the engine reports: plain numpy/float records, the only thing views read."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np


@dataclass
class LayerRecord:
    """One dense layer during one training step (all arrays on the CPU, float64 or float32).

    W is (out, in) as in nn.Linear. `a` is g(z) before dropout; `dropout_mask` holds the
    factors the layer's output was multiplied by (0 or 1/(1-p)), None without dropout, so
    the next layer's input is a * dropout_mask. grad_a is dL/da (for a = g(z)), grad_z,
    grad_W, grad_b the gradients of the step's loss (L1 term included, weight_decay not).
    optimizer_state maps "W" and "b" to that parameter's optimizer state after the step,
    with torch.optim's own names (exp_avg, momentum_buffer, ...); optimizer_terms maps them
    to the intermediate quantities of the update rule in this step (g with weight decay,
    Adam's bias-corrected m_hat and v_hat, ...), for display, and "update" to Δθ, the
    change applied: W_after = W + update.
    """

    index: int
    activation: str
    W: np.ndarray
    b: np.ndarray
    input: np.ndarray
    z: np.ndarray
    a: np.ndarray
    dropout_mask: np.ndarray | None
    grad_a: np.ndarray
    grad_z: np.ndarray
    grad_W: np.ndarray
    grad_b: np.ndarray
    W_after: np.ndarray
    b_after: np.ndarray
    optimizer_state: dict[str, dict[str, object]] = field(default_factory=dict)
    optimizer_terms: dict[str, dict[str, object]] = field(default_factory=dict)


@dataclass
class StepRecord:
    """One training step on one mini-batch, phase by phase."""

    step: int  # 1-based count of optimizer steps since initialisation
    epoch: int  # the epoch this batch belongs to (1-based)
    x: np.ndarray  # the batch after feature mapping, (batch, features)
    y: np.ndarray  # targets: class indices (bce/ce) or (batch, outputs) values (mse)
    loss: float  # data loss + L1 term
    data_loss: float
    l1_term: float
    layers: list[LayerRecord]
    loss_name: str  # the loss function: a key of tuidl.engine.facts.LOSSES (bce, ce, mse)
    optimizer: str
    lr: float
    options: dict[str, object]


@dataclass(slots=True)  # a run keeps thousands: no __dict__ each, and (below) tuples the GC can skip
class EpochRecord:
    epoch: int
    train_loss: float
    val_loss: float
    train_accuracy: float | None
    val_accuracy: float | None
    seconds: float
    # Per dense layer (first hidden layer first), of the epoch's last step: ‖dL/dW‖ (the
    # Frobenius norm of the gradient, L1 term included) and ‖ΔW‖/‖W‖ (the update against the
    # weights before it). The last step's, not a mean over the epoch: it costs a few tensor
    # ops per epoch, not per step. None in records written before they existed.
    grad_norms: list[float] | None = None
    update_ratios: list[float] | None = None
    # Regression only (None otherwise, and in records written before they existed): R² of
    # each set, 1 − MSE/Var(y), the share of the targets' variance the network explains.
    train_r2: float | None = None
    val_r2: float | None = None

    def __post_init__(self) -> None:
        # Tuples of floats, not lists: Python's cyclic GC stops tracking them, so that a long
        # run's history does not lengthen every full collection (pauses the app's keys felt).
        if self.grad_norms is not None:
            self.grad_norms = tuple(self.grad_norms)
        if self.update_ratios is not None:
            self.update_ratios = tuple(self.update_ratios)


def target_variance(y) -> float | None:
    """Var(y) as R² needs it: the mean over the N·K targets of (y − ȳ)², with ȳ each output's
    mean over the set; None for an empty set."""
    y = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
    return float(np.mean((y - y.mean(axis=0)) ** 2)) if len(y) else None


def r_squared(mse: float | None, variance: float | None) -> float | None:
    """R² = 1 − MSE/Var(y), from the set's mean squared error (the mse loss, a mean over the
    same N·K terms). None where it says nothing: no set, targets that do not vary, a loss
    that is not a number."""
    if mse is None or variance is None or variance <= 0.0 or not math.isfinite(mse):
        return None
    return 1.0 - mse / variance


def _short(v: float) -> str:
    """3.2e+05, −3.2e+06, inf, nan: a number in a sentence (a real minus sign)."""
    text = f"{v:.2g}" if abs(v) < 1e-3 or abs(v) >= 1e4 or v != v else f"{v:.3g}"
    return text.replace("-", "−", 1) if text.startswith("-") else text


def _entry(parameter: str, index: tuple[int, ...]) -> str:
    return f"{parameter}[{', '.join(str(i) for i in index)}]"


@dataclass
class Divergence:
    """Where a run's numbers first stopped being finite (Trainer.divergence).

    `step` is the first optimizer step whose record holds a value that is not finite, `what`
    that value (the first in the order of the step's phases: forward, loss, backward,
    update), `record` that step's StepRecord. The parameter that "went first" is the one the
    non-finite value is in when it is a weight, a bias, their gradient or their new value;
    otherwise (the forward or the loss overflowed first) the entry that this step moves the
    most, |update| largest: the one driving the growth. `layer` is 0-based (layer 0 = the
    first hidden layer); the message counts from 1, as the app does.
    """

    epoch: int
    step: int
    what: str  # "the loss", "layer 2's z", "layer 1's new W", ...
    value: float  # its first value that is not finite (inf, −inf or nan)
    layer: int
    parameter: str  # "W" or "b"
    index: tuple[int, ...]
    lr: float
    weight: float  # its value before the update
    gradient: float  # dL/dθ of that entry in that step
    update: float  # Δθ the optimizer applied: θ′ = θ + Δθ
    record: StepRecord | None = None
    after_epoch: bool = False  # every step stayed finite; the loss over the set after the epoch did not

    @property
    def message(self) -> str:
        where = f"after step {self.step}" if self.after_epoch else f"step {self.step}"
        return (
            f"diverged at epoch {self.epoch}, {where}: {self.what} became {_short(self.value)}; "
            f"layer {self.layer + 1}'s {_entry(self.parameter, self.index)} went first: "
            f"gradient {_short(self.gradient)}, learning rate {self.lr:g}, update {_short(self.update)} "
            f"(the learning rate is probably too large: lower it)"
        )

    def to_dict(self) -> dict:
        """The fields as plain JSON values (the record left out)."""
        return {"epoch": self.epoch, "step": self.step, "what": self.what, "value": self.value, "layer": self.layer,
                "parameter": self.parameter, "index": list(self.index), "lr": self.lr,
                "weight": self.weight, "gradient": self.gradient, "update": self.update,
                "after_epoch": self.after_epoch, "message": self.message}


@dataclass
class ParamCheck:
    """The gradient check of one parameter tensor (a layer's W or b), over the steps checked.

    Relative error of an entry: |engine − numeric| / max(|engine|, |numeric|, floor). The
    worst entry is the one with the largest error, over every step checked."""

    layer: int  # 0-based dense layer
    parameter: str  # "W" or "b"
    shape: tuple[int, ...]
    checked: int  # entries compared, summed over the steps
    skipped: int  # entries left out: a nudge of ±h crossed a kink (relu at 0, |w| at 0)
    max_rel_error: float
    median_rel_error: float
    worst_step: int
    worst_index: tuple[int, ...]
    worst_engine: float  # backprop's dL/dθ of the worst entry
    worst_numeric: float  # (L(θ + h) − L(θ − h)) / 2h of the worst entry

    @property
    def entry(self) -> str:
        return _entry(self.parameter, self.worst_index)


@dataclass
class GradCheckReport:
    """Backprop's gradients against central finite differences (tuidl.engine.gradcheck)."""

    rows: list[ParamCheck]
    steps: list[int]  # the optimizer steps checked (StepRecord.step), each at the weights before it
    tolerance: float  # an entry passes when its relative error is at most this
    floor: float  # the smallest denominator of the relative error (for gradients near 0)
    h: float  # the nudge of each weight
    loss: str
    activations: list[str]  # of every dense layer, the output layer's last
    l1: float
    dropout: bool  # dropout masks in use (held fixed: those of the step checked)
    sampled: bool  # some tensor had more entries than the check takes: a fixed random subset was checked
    dtype: str = "float64"

    @property
    def max_rel_error(self) -> float:
        return max((r.max_rel_error for r in self.rows if r.checked), default=0.0)

    @property
    def passed(self) -> bool:
        return all(r.max_rel_error <= self.tolerance for r in self.rows if r.checked)

    @property
    def skipped(self) -> int:
        return sum(r.skipped for r in self.rows)

    def to_dict(self) -> dict:
        rows = []
        for r in self.rows:
            row = asdict(r)
            row["shape"], row["worst_index"] = list(r.shape), list(r.worst_index)
            rows.append(row)
        return {"passed": self.passed, "max_rel_error": self.max_rel_error, "tolerance": self.tolerance,
                "floor": self.floor, "h": self.h, "dtype": self.dtype, "steps": list(self.steps),
                "loss": self.loss, "activations": list(self.activations), "l1": self.l1,
                "dropout": self.dropout, "sampled": self.sampled, "skipped": self.skipped, "rows": rows}
