"""A glass-box dense network: forward, loss and backprop as explicit torch tensor ops.

No autograd: tensors never require grad. Every dense layer keeps the tensors of the last
forward and backward pass (references, not copies), so a view can show each number:

    forward   z = x Wᵀ + b          a = g(z)          (dropout) x_next = a ⊙ mask
    backward  δz = δa ⊙ g'(z)       ∂L/∂W = δzᵀ x     ∂L/∂b = Σₙ δz     δa_prev = (δz W) ⊙ mask_prev

The output layer's δz comes straight from the loss (e.g. (σ(z) − y)/N for bce).

All weights and biases live in one flat tensor (`flat_params`) and their gradients in
another (`flat_grads`); W and b of each layer are views into them. The optimizer can then
update every parameter with a single tensor op, which at these sizes is where the time
goes (per-op overhead, not arithmetic). Elementwise updates give the same numbers as
updating each tensor on its own.

Each layer's block of the flat tensor is the matrix [W | b] (out, in + 1): b is its last
column. In training, each layer's input is kept with a column of ones beside it, [x | 1],
so that one matrix product gives z = [x | 1][W | b]ᵀ = x Wᵀ + b, and one more gives both
gradients, [∂L/∂W | ∂L/∂b] = δzᵀ [x | 1] (the bias's gradient is δz summed over the batch,
the product with the ones). Same numbers as the separate ops up to rounding, in fewer
ops: no sum for ∂L/∂b and no copy of b into z, which at these sizes is time.

state_dict keys are "layers.{i}.weight" (out, in) and "layers.{i}.bias" (out,), i being
the index of the dense layer (0 = first hidden layer). In an nn.Sequential that alternates
Linear and activation modules, layer i is module 2·i.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

from .activations import ACTIVATIONS, Activation, scalar
from .losses import LOSSES, Loss

INITS = ("torch", "xavier", "he", "zeros")


class Dense:
    """One dense layer: z = x Wᵀ + b, a = g(z), then dropout in training.

    Kept from the last forward/backward (references, no copies): input, z, a (= g(z),
    before dropout), mask (0 or 1/(1−p) factors; None without dropout), grad_a (dL/da),
    grad_z (dL/dz), grad_W, grad_b (dL/dW incl. the L1 term, dL/db).
    """

    def __init__(self, Wb: Tensor, grad_Wb: Tensor, activation: Activation, dropout: float = 0.0):
        self.Wb = Wb  # (out, in + 1): [W | b], a view into Network.flat_params
        self.W = Wb[:, :-1]  # (out, in)
        self.b = Wb[:, -1]  # (out,)
        self.WbT = Wb.t()  # transposed views, made once (the weights are updated in place)
        self.WT = self.W.t()
        self.grad_W = grad_Wb[:, :-1]  # views into Network.flat_grads, overwritten by each backward
        self.grad_b = grad_Wb[:, -1]
        self.grad_WbT = grad_Wb.t()  # [∂L/∂W | ∂L/∂b]ᵀ, where backprop writes them
        self.activation = activation
        self.dropout = float(dropout)
        self.input: Tensor | None = None
        self.z: Tensor | None = None
        self.a: Tensor | None = None
        self.mask: Tensor | None = None
        self.grad_z: Tensor | None = None
        self._b_rows: dict[int, Tensor] = {}  # batch size -> b repeated over the rows (a view)
        self._grad_a: Tensor | None = None
        self._grad_a_from: tuple | None = None  # (loss, y) when dL/da is computed on demand

    def b_rows(self, n: int) -> Tensor:
        """b as an (n, out) view, every row b: made once per batch size (addmm is faster
        with the bias already of the output's shape; same numbers)."""
        rows = self._b_rows.get(n)
        if rows is None:
            rows = self._b_rows[n] = self.b.expand(n, self.b.shape[0])
        return rows

    @property
    def n_in(self) -> int:
        return self.W.shape[1]

    @property
    def n_out(self) -> int:
        return self.W.shape[0]

    @property
    def grad_a(self) -> Tensor | None:
        """dL/da. For the output layer backprop does not need it (the loss gives dL/dz),
        so it is computed on first access, from the last forward's z and a."""
        if self._grad_a is None and self._grad_a_from is not None:
            loss, y = self._grad_a_from
            self._grad_a = loss.grad_a(self.z, self.a, y)
        return self._grad_a

    @grad_a.setter
    def grad_a(self, value: Tensor | None) -> None:
        self._grad_a = value
        self._grad_a_from = None

    def __repr__(self) -> str:
        return f"Dense({self.n_in}→{self.n_out}, {self.activation.name}, dropout={self.dropout})"


class Network:
    """sizes = [n_in, h1, ..., n_out]; one activation and dropout per hidden layer; the
    output layer's activation comes from the loss (sigmoid for bce, softmax for ce,
    linear for mse) and it has no dropout. No hidden layers is a perceptron."""

    def __init__(self, sizes: list[int], activations: list[str], dropouts: list[float] | None,
                 loss: str, *, l1: float = 0.0, init: str = "torch", seed: int = 0,
                 device="cpu", dtype=torch.float32):
        sizes = [int(s) for s in sizes]
        n_hidden = len(sizes) - 2
        if n_hidden < 0 or any(s < 1 for s in sizes):
            raise ValueError(f"sizes must be [n_in, hidden..., n_out] of positive ints, got {sizes}")
        if dropouts is None:
            dropouts = [0.0] * n_hidden
        if len(activations) != n_hidden or len(dropouts) != n_hidden:
            raise ValueError("one activation and one dropout per hidden layer")
        for name in activations:
            if name not in ACTIVATIONS or name == "softmax":
                raise ValueError(f"unknown hidden activation {name!r}")
        for p in dropouts:
            if not 0.0 <= p < 1.0:
                raise ValueError(f"dropout must be in [0, 1), got {p}")
        if loss not in LOSSES:
            raise ValueError(f"unknown loss {loss!r}")
        if init not in INITS:
            raise ValueError(f"unknown init {init!r}")
        self.sizes = sizes
        self.loss: Loss = LOSSES[loss]
        self.l1 = float(l1)
        self.init = init
        self.seed = int(seed)
        self.device = torch.device(device)
        self.dtype = dtype

        # Initial weights: drawn on the CPU in float64 from `seed`, the same on every device.
        gen = torch.Generator().manual_seed(self.seed)
        blocks = []
        for n_in, n_out in zip(sizes[:-1], sizes[1:]):
            W, b = _init_layer(init, n_in, n_out, gen)
            blocks.append(torch.cat([W, b[:, None]], dim=1).reshape(-1))  # [W | b]
        flat = torch.cat(blocks)
        self.flat_params = flat.to(device=self.device, dtype=dtype)  # every W and b, one tensor
        self.flat_grads = torch.zeros_like(self.flat_params)  # every dL/dW and dL/db

        acts = list(activations) + [self.loss.facts.output_activation]
        drops = [float(p) for p in dropouts] + [0.0]
        self.layers: list[Dense] = []
        offset = 0
        for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            end = offset + n_out * (n_in + 1)
            Wb = self.flat_params[offset:end].view(n_out, n_in + 1)
            grad_Wb = self.flat_grads[offset:end].view(n_out, n_in + 1)
            offset = end
            self.layers.append(Dense(Wb, grad_Wb, ACTIVATIONS[acts[i]], drops[i]))
        self._params = [t for layer in self.layers for t in (layer.W, layer.b)]
        self._grads = [t for layer in self.layers for t in (layer.grad_W, layer.grad_b)]
        self._zero = torch.zeros((), device=self.device, dtype=dtype)
        self._with_ones: dict[int, list[tuple[Tensor, Tensor, Tensor]]] = {}  # see inputs_with_ones

    # --- the training step -------------------------------------------------------------

    def inputs_with_ones(self, n: int) -> list[tuple[Tensor, Tensor, Tensor]]:
        """Per layer, for a batch of n rows: its input [x | 1] (n, in + 1), made once per
        batch size with the ones in place (the forward pass writes x into it), its
        transposed view, and the view x (n, in)."""
        buffers = self._with_ones.get(n)
        if buffers is None:
            if len(self._with_ones) >= 4:  # a trainer uses two sizes (the last batch may be smaller)
                self._with_ones.clear()
            buffers = []
            for layer in self.layers:
                with_ones = torch.ones((n, layer.n_in + 1), device=self.device, dtype=self.dtype)
                buffers.append((with_ones, with_ones.t(), with_ones[:, :-1]))
            self._with_ones[n] = buffers
        return buffers

    def forward(self, x: Tensor, train: bool = True, generator: torch.Generator | None = None) -> Tensor:
        """Forward pass over a batch x (N, n_in); keeps every layer's input, z, a, mask.
        Dropout only when `train`, its masks drawn from `generator`. The kept inputs and
        hidden a are the network's buffers, overwritten by the next forward pass."""
        layers = self.layers
        inputs = self.inputs_with_ones(x.shape[0])
        inputs[0][2].copy_(x)
        last = len(layers) - 1
        for i, layer in enumerate(layers):
            with_ones, _, x = inputs[i]
            layer.input = x
            z = torch.mm(with_ones, layer.WbT)  # z = [x | 1][W | b]ᵀ = x Wᵀ + b
            layer.z = z
            p = layer.dropout
            if i == last:
                a = layer.activation.forward(z)  # the output: a = g(z)
                layer.mask = None
            elif train and p > 0.0:
                a = layer.activation.forward(z)  # a = g(z)
                # keep each unit with probability 1 − p, scale the kept ones by 1/(1 − p)
                r = torch.rand(a.shape, generator=generator, device=a.device, dtype=a.dtype)
                layer.mask = (r >= scalar(p, a)).to(a.dtype).div_(scalar(1.0 - p, a))
                torch.mul(a, layer.mask, out=inputs[i + 1][2])  # the next layer's x
            else:
                a = layer.activation.forward(z, out=inputs[i + 1][2])  # a = g(z), the next layer's x
                layer.mask = None
            layer.a = a
        return a

    def loss_value(self, y: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """(total, data loss, L1 term) of the last forward; L1 term = λ₁ Σ |W| (weights only)."""
        out = self.layers[-1]
        data = self.loss.value(out.z, out.a, y)
        if self.l1 == 0.0:
            return data, data, self._zero
        l1_term = sum(layer.W.abs().sum() for layer in self.layers) * self.l1
        return data + l1_term, data, l1_term

    def backward(self, y: Tensor) -> None:
        """Backprop of the last forward: fills grad_a, grad_z, grad_W, grad_b of every layer
        (the gradient of the total loss, L1 term included)."""
        layers = self.layers
        out = layers[-1]
        gz = self.loss.grad_z(out.z, out.a, y)  # δz of the output layer, from the loss
        out.grad_z = gz
        out._grad_a = None
        out._grad_a_from = (self.loss, y)  # dL/da of the output, computed if a view asks
        inputs = self.inputs_with_ones(gz.shape[0])
        for i in range(len(layers) - 1, -1, -1):
            layer = layers[i]
            # [∂L/∂W | ∂L/∂b] = δzᵀ [x | 1], written as its transpose [x | 1]ᵀ δz
            torch.mm(inputs[i][1], gz, out=layer.grad_WbT)
            if i == 0:
                break
            prev = layers[i - 1]
            ga = gz.mm(layer.W)  # ∂L/∂x = δz W: the previous layer's output
            if prev.mask is not None:
                ga.mul_(prev.mask)  # through dropout: ∂L/∂a = ∂L/∂x ⊙ mask
            prev.grad_a = ga
            gz = prev.activation.chain(ga, prev.z, prev.a)  # δz = δa ⊙ g'(z)
            prev.grad_z = gz
        if self.l1 != 0.0:
            for layer in layers:
                layer.grad_W.add_(torch.sign(layer.W), alpha=self.l1)  # + λ₁ sign(W)

    # --- parameters ----------------------------------------------------------------------

    def params(self) -> list[Tensor]:
        """[W1, b1, W2, b2, ...]: live tensors, updated in place by the optimizer."""
        return self._params

    def grads(self) -> list[Tensor]:
        """[dL/dW1, dL/db1, ...] of the last backward, in the order of params()."""
        return self._grads

    def predict(self, x: Tensor) -> Tensor:
        """Eval-mode output for x (no dropout); leaves the layers' records untouched."""
        return self._eval(x)[1]

    def evaluate(self, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        """(data loss without the L1 term, output a) in eval mode, for targets y as
        prepared by the loss; leaves the layers' records untouched."""
        z, a = self._eval(x)
        return self.loss.value(z, a, y), a

    def _eval(self, x) -> tuple[Tensor, Tensor]:
        """(z, a) of the output layer, without dropout and without keeping records."""
        if not isinstance(x, Tensor):
            x = torch.as_tensor(np.asarray(x), device=self.device, dtype=self.dtype)
        for layer in self.layers:
            z = layer.b_rows(x.shape[0]).addmm(x, layer.WT)  # z = b + x Wᵀ
            x = layer.activation.forward(z)  # a = g(z)
        return z, x

    def state_dict(self) -> dict[str, Tensor]:
        """CPU clones: "layers.{i}.weight" (out, in) and "layers.{i}.bias" (out,)."""
        d: dict[str, Tensor] = {}
        for i, layer in enumerate(self.layers):
            d[f"layers.{i}.weight"] = layer.W.detach().to("cpu", copy=True)
            d[f"layers.{i}.bias"] = layer.b.detach().to("cpu", copy=True)
        return d

    def load_state_dict(self, d: dict[str, Tensor]) -> None:
        """Copy weights in place (the tensors of params() stay the same objects)."""
        for i, layer in enumerate(self.layers):
            for key, t in ((f"layers.{i}.weight", layer.W), (f"layers.{i}.bias", layer.b)):
                if key not in d:
                    raise KeyError(f"state_dict lacks {key}")
                v = torch.as_tensor(d[key])
                if tuple(v.shape) != tuple(t.shape):
                    raise ValueError(f"{key}: shape {tuple(v.shape)} != {tuple(t.shape)}")
                t.copy_(v)

    def __repr__(self) -> str:
        arch = "→".join(str(s) for s in self.sizes)
        return f"Network({arch}, loss={self.loss.name}, l1={self.l1}, {self.device}, {self.dtype})"


def _init_layer(init: str, n_in: int, n_out: int, gen: torch.Generator) -> tuple[Tensor, Tensor]:
    """(W, b) in float64 on the CPU, drawn from `gen`."""
    W = torch.empty(n_out, n_in, dtype=torch.float64)
    b = torch.zeros(n_out, dtype=torch.float64)
    if init == "torch":  # nn.Linear: W, b ~ U(−1/√in, 1/√in)
        bound = 1.0 / math.sqrt(n_in)
        W.uniform_(-bound, bound, generator=gen)
        b.uniform_(-bound, bound, generator=gen)
    elif init == "xavier":  # W ~ U(−√(6/(in+out)), √(6/(in+out))), b = 0
        bound = math.sqrt(6.0 / (n_in + n_out))
        W.uniform_(-bound, bound, generator=gen)
    elif init == "he":  # kaiming normal, fan_in, relu gain: W ~ N(0, 2/in), b = 0
        W.normal_(0.0, math.sqrt(2.0 / n_in), generator=gen)
    else:  # zeros
        W.zero_()
    return W, b
