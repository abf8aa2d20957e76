"""What the engine reports: plain numpy/float records, the only thing views read."""
from __future__ import annotations

from dataclasses import dataclass, field

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


@dataclass
class EpochRecord:
    epoch: int
    train_loss: float
    val_loss: float
    train_accuracy: float | None
    val_accuracy: float | None
    seconds: float
