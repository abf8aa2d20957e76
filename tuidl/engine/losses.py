"""Loss functions, their values and their gradients, as torch defines them (mean reduction).

Each loss pairs with the output activation that makes its gradient simple:
- bce: sigmoid output, L = mean(−y log σ(z) − (1 − y) log(1 − σ(z))), dL/dz = (σ(z) − y)/N
- ce:  softmax output, L = mean(−log softmax(z)_y),                    dL/dz = (softmax(z) − onehot(y))/N
- mse: linear output,  L = mean((a − y)²) over all N·K elements,       dL/dz = 2(a − y)/(N·K)

`grad_z` is what backprop uses; `grad_a` (dL/da) is for display only.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from .activations import scalar
from .facts import LOSSES as FACTS
from .facts import LossFacts


class Loss:
    """A loss's value and gradients; its name, formulas and output activation are its
    facts' (tuidl.engine.facts)."""

    facts: LossFacts

    @property
    def name(self) -> str:
        return self.facts.name

    def prepare_targets(self, y: np.ndarray, n_out: int, device=None, dtype=torch.float32) -> Tensor:
        """Targets as this loss wants them, on `device`."""
        raise NotImplementedError

    def elementwise(self, z: Tensor, a: Tensor, y: Tensor) -> Tensor:
        """Each sample's loss terms, (N, K) or (N,): the loss is their mean."""
        raise NotImplementedError

    def value(self, z: Tensor, a: Tensor, y: Tensor) -> Tensor:
        """The mean loss over the batch, a 0-dim tensor."""
        return self.elementwise(z, a, y).mean()

    def grad_z(self, z: Tensor, a: Tensor, y: Tensor) -> Tensor:
        """dL/dz of the output layer, (N, K)."""
        raise NotImplementedError

    def grad_a(self, z: Tensor, a: Tensor, y: Tensor) -> Tensor:
        """dL/da of the output layer, (N, K): for display."""
        raise NotImplementedError

    def accuracy(self, a: Tensor, y: Tensor, classification: bool = True) -> float | None:
        """Fraction of correct predictions (None for regression)."""
        if not classification:
            return None
        if a.shape[1] == 1:  # one output: class 1 when a ≥ 0.5
            pred = a[:, 0] >= 0.5
            return (pred == (y.reshape(-1) >= 0.5)).to(torch.float64).mean().item()
        pred = a.argmax(dim=1)
        target = y if y.ndim == 1 else y.argmax(dim=1)
        return (pred == target).to(torch.float64).mean().item()

    def __repr__(self) -> str:
        return f"Loss({self.name}: {self.facts.formula})"


def _as_column(y: np.ndarray, device, dtype) -> Tensor:
    """(N,) or (N, 1) values -> (N, 1) float tensor."""
    return torch.as_tensor(np.asarray(y, dtype=np.float64).reshape(-1, 1), dtype=dtype, device=device)


class BCE(Loss):
    facts = FACTS["bce"]

    def prepare_targets(self, y, n_out, device=None, dtype=torch.float32):
        return _as_column(y, device, dtype)  # class indices 0/1 -> (N, 1) floats

    def elementwise(self, z, a, y):
        # numerically stable on the logits, as BCEWithLogits: max(z, 0) − z·y + log(1 + e^{−|z|})
        loss = torch.addcmul(torch.relu(z), z, y, value=-1)  # max(z, 0) − z·y
        return loss.add_(z.abs().neg_().exp_().log1p_())  # + log(1 + e^{−|z|})

    def grad_z(self, z, a, y):
        return torch.sub(a, y).div_(scalar(float(y.shape[0]), a))  # (σ(z) − y)/N, with a = σ(z)

    def grad_a(self, z, a, y):
        # ∂L/∂ŷ = (ŷ − y) / (ŷ(1 − ŷ)) / N
        return (a - y).div_(a * (1 - a)).div_(y.shape[0])


class CrossEntropy(Loss):
    facts = FACTS["ce"]

    def prepare_targets(self, y, n_out, device=None, dtype=torch.float32):
        return torch.as_tensor(np.asarray(y).reshape(-1).astype(np.int64), device=device)  # (N,) class indices

    def elementwise(self, z, a, y):
        # −log softmax(z)_y = logsumexp(z) − z_y, one per sample (N,)
        return torch.logsumexp(z, dim=1) - z.gather(1, y.unsqueeze(1)).squeeze(1)

    def grad_z(self, z, a, y):
        n = y.shape[0]
        # softmax(z) − onehot(y): a is softmax(z); add −1 at each row's target class
        g = a.scatter_add(1, y.unsqueeze(1), scalar(-1.0, a).expand(n, 1))
        return g.div_(scalar(float(n), a))  # / N

    def grad_a(self, z, a, y):
        # ∂L/∂aₖ = −onehot(y)ₖ / aₖ / N
        onehot = torch.zeros_like(a)
        onehot.scatter_(1, y.unsqueeze(1), 1.0)
        return onehot.div_(a).div_(-y.shape[0])


class MSE(Loss):
    facts = FACTS["mse"]

    def prepare_targets(self, y, n_out, device=None, dtype=torch.float32):
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == n_out and not np.issubdtype(y.dtype, np.integer):
            return torch.as_tensor(y.astype(np.float64), dtype=dtype, device=device)  # values (N, K)
        if n_out == 1:
            return _as_column(y, device, dtype)  # 2-class indices or 1-D values -> (N, 1)
        # class indices with K > 1 outputs -> one-hot (N, K)
        onehot = np.eye(n_out, dtype=np.float64)[y.reshape(-1).astype(np.int64)]
        return torch.as_tensor(onehot, dtype=dtype, device=device)

    def elementwise(self, z, a, y):
        d = a - y
        return d * d  # (N, K): the loss is the mean over all N·K elements, as F.mse_loss

    def grad_z(self, z, a, y):
        # 2(ŷ − y)/(N·K); linear output so dL/dz = dL/dŷ
        return torch.sub(a, y).mul_(scalar(2 / y.numel(), a))

    grad_a = grad_z


LOSSES: dict[str, Loss] = {l.name: l for l in (BCE(), CrossEntropy(), MSE())}


def accuracy(loss: str | Loss, a: Tensor, y: Tensor, classification: bool = True) -> float | None:
    """Accuracy of outputs `a` against prepared targets `y` (None for regression)."""
    loss = LOSSES[loss] if isinstance(loss, str) else loss
    return loss.accuracy(a, y, classification)
