"""Activation functions with their derivatives, written out as tensor ops.

Each activation takes its name and formulas from tuidl.engine.facts; here are its
forward a = g(z) and its derivative g'(z), given z and a (many derivatives are cheapest
in terms of a, e.g. tanh' = 1 − tanh²(z) = 1 − a·a). `chain(grad_a, z, a)` is the backprop step dL/dz = dL/da · g'(z),
fused into as few tensor ops as possible because it runs in every training step.

Conventions follow torch: relu'(0) = 0; leaky_relu has negative slope 0.01 and
leaky_relu'(0) = 0.01; softmax is an output-only activation (along dim 1) whose
Jacobian is not elementwise, so the loss supplies dL/dz directly.
"""
from __future__ import annotations

import torch
from torch import Tensor

from .facts import ACTIVATIONS as FACTS
from .facts import LEAKY_SLOPE, ActivationFacts

# torch's own fused backward kernels (the ones autograd runs): each computes its chain rule
# δa·g'(z) in one tensor op, where the formula written out takes two or three. At these
# sizes every op costs more than its arithmetic, so `chain` uses them; `derivative` keeps
# the formula written out, and the tests check both against autograd.
_tanh_backward = torch.ops.aten.tanh_backward.default  # (δa, a) -> δa·(1 − a²)
_sigmoid_backward = torch.ops.aten.sigmoid_backward.default  # (δa, a) -> δa·a·(1 − a)
_threshold_backward = torch.ops.aten.threshold_backward.default  # (δa, z, 0) -> δa·[z > 0]
_leaky_relu_backward = torch.ops.aten.leaky_relu_backward.default  # -> δa·(1 if z > 0 else slope)

_SCALARS: dict[tuple, Tensor] = {}


def scalar(value: float, like: Tensor) -> Tensor:
    """`value` as a cached 0-dim tensor of like's dtype and device.

    Only for speed: torch turns a Python number operand (t * 0.5, t > 0) into a fresh
    tensor on every call, which costs more than the arithmetic at these sizes."""
    key = (value, like.dtype, like.device)
    t = _SCALARS.get(key)
    if t is None:
        t = _SCALARS[key] = torch.tensor(value, dtype=like.dtype, device=like.device)
    return t


class Activation:
    """g(z), elementwise (softmax: along dim 1), and its derivative g'(z).

    Its name and formulas are its facts' (tuidl.engine.facts)."""

    facts: ActivationFacts

    @property
    def name(self) -> str:
        return self.facts.name

    def forward(self, z: Tensor, out: Tensor | None = None) -> Tensor:
        """a = g(z): a new tensor, or written into `out` (of z's shape) and returned."""
        raise NotImplementedError

    def derivative(self, z: Tensor, a: Tensor) -> Tensor:
        """g'(z), elementwise; `a` is g(z) from the forward pass."""
        raise NotImplementedError

    def chain(self, grad_a: Tensor, z: Tensor, a: Tensor) -> Tensor:
        """Chain rule through g: dL/dz = dL/da · g'(z) (a new tensor, or grad_a itself for linear)."""
        return grad_a * self.derivative(z, a)

    def __repr__(self) -> str:
        return f"Activation({self.name}: {self.facts.formula})"


class Tanh(Activation):
    facts = FACTS["tanh"]

    def forward(self, z: Tensor, out: Tensor | None = None) -> Tensor:
        return torch.tanh(z, out=out)

    def derivative(self, z: Tensor, a: Tensor) -> Tensor:
        return 1 - a * a  # tanh'(z) = 1 − tanh²(z)

    def chain(self, grad_a: Tensor, z: Tensor, a: Tensor) -> Tensor:
        return _tanh_backward(grad_a, a)  # δa·(1 − a²)


class Sigmoid(Activation):
    facts = FACTS["sigmoid"]

    def forward(self, z: Tensor, out: Tensor | None = None) -> Tensor:
        return torch.sigmoid(z, out=out)

    def derivative(self, z: Tensor, a: Tensor) -> Tensor:
        return a * (1 - a)  # σ'(z) = σ(z)(1 − σ(z))

    def chain(self, grad_a: Tensor, z: Tensor, a: Tensor) -> Tensor:
        return _sigmoid_backward(grad_a, a)  # δa·a(1 − a)


class ReLU(Activation):
    facts = FACTS["relu"]

    def forward(self, z: Tensor, out: Tensor | None = None) -> Tensor:
        return z.relu() if out is None else torch.clamp_min(z, 0, out=out)  # torch's relu is clamp_min(z, 0)

    def derivative(self, z: Tensor, a: Tensor) -> Tensor:
        return (z > 0).to(z.dtype)  # relu'(z) = [z > 0] (0 at z = 0, as torch)

    def chain(self, grad_a: Tensor, z: Tensor, a: Tensor) -> Tensor:
        return _threshold_backward(grad_a, z, 0)  # δa · [z > 0]


class LeakyReLU(Activation):
    facts = FACTS["leaky_relu"]

    def forward(self, z: Tensor, out: Tensor | None = None) -> Tensor:
        if out is None:
            return torch.nn.functional.leaky_relu(z, LEAKY_SLOPE)
        return torch._C._nn.leaky_relu(z, LEAKY_SLOPE, out=out)

    def derivative(self, z: Tensor, a: Tensor) -> Tensor:
        d = torch.full_like(z, LEAKY_SLOPE)
        return d.masked_fill_(z > 0, 1.0)  # 1 where z > 0, slope elsewhere (z = 0 too, as torch)

    def chain(self, grad_a: Tensor, z: Tensor, a: Tensor) -> Tensor:
        return _leaky_relu_backward(grad_a, z, LEAKY_SLOPE, False)  # δa · (1 if z > 0 else slope)


class Linear(Activation):
    facts = FACTS["linear"]

    def forward(self, z: Tensor, out: Tensor | None = None) -> Tensor:
        return z if out is None else out.copy_(z)  # identity: a is z itself (no copy unless `out`)

    def derivative(self, z: Tensor, a: Tensor) -> Tensor:
        return torch.ones_like(z)

    def chain(self, grad_a: Tensor, z: Tensor, a: Tensor) -> Tensor:
        return grad_a  # g'(z) = 1


class Softmax(Activation):
    """Output only: aₖ = e^{zₖ} / Σⱼ e^{zⱼ} along dim 1. Not used in backprop (the
    cross-entropy loss gives dL/dz = (a − onehot)/N directly)."""

    facts = FACTS["softmax"]

    def forward(self, z: Tensor, out: Tensor | None = None) -> Tensor:
        return torch.softmax(z, dim=1, out=out) if out is not None else torch.softmax(z, dim=1)

    def derivative(self, z: Tensor, a: Tensor) -> Tensor:
        """The diagonal of the Jacobian, aᵢ(1 − aᵢ), for display only."""
        return a * (1 - a)

    def chain(self, grad_a: Tensor, z: Tensor, a: Tensor) -> Tensor:
        # Full Jacobian-vector product: dL/dzᵢ = aᵢ (dL/daᵢ − Σⱼ aⱼ dL/daⱼ)
        return a * (grad_a - (grad_a * a).sum(dim=1, keepdim=True))


ACTIVATIONS: dict[str, Activation] = {
    a.name: a for a in (ReLU(), Tanh(), Sigmoid(), LeakyReLU(), Linear(), Softmax())
}
