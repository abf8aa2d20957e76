"""Each dense layer's gradient norm ‖dL/dW‖ and update-to-weight ratio ‖ΔW‖/‖W‖, of one
training step: what EpochRecord.grad_norms and update_ratios hold (of the epoch's last step).

The trainer copies the weights into `before` just before that step's update and calls
`measure()` just after it, while the numbers are still in the cache; `values()` turns the
result into plain numbers when the epoch ends. That is a few tensor ops per epoch, not per
step. Measured against the loop without them (epochs of `tuidl bench`'s networks, with the
divergence snapshot of divergence.py): +1–2.5% for the 25-step epochs of 2→4→2→1 and
2→8×4→1, +4–5% for the 8-step epochs of 2→128×3→1, whose 33k weights make the norms
memory-bound (~45 µs of the ~60 µs it adds per epoch).
"""
from __future__ import annotations

import math

import torch

SMALL_NETWORK = 4096  # parameters up to which one matrix product is the cheapest way to every layer's norms


class LastStepNorms:
    def __init__(self, network):
        self.network = network
        flat, layers = network.flat_params, network.layers
        # rows: the step's dL/dθ (a copy), Δθ and θ before the update, over the flat parameters
        self._rows = torch.zeros((3, flat.numel()), dtype=flat.dtype, device=flat.device)
        self._grads, self._update, self.before = self._rows
        self._norms: torch.Tensor | None = None  # (layers, 3): ‖dL/dW‖, ‖ΔW‖, ‖W‖
        # each layer's W among the flat entries (b, its last column in the layer's block, is not counted)
        blocks = [(layer.Wb.storage_offset() - flat.storage_offset(), layer.Wb.shape) for layer in layers]
        self._in_layer: torch.Tensor | None = None
        if flat.numel() <= SMALL_NETWORK:  # (entries, layers): 1 where the entry is in that layer's W
            self._in_layer = torch.zeros((flat.numel(), len(layers)), dtype=flat.dtype, device=flat.device)
            for i, (start, shape) in enumerate(blocks):
                self._in_layer[start:start + shape.numel(), i].view(shape)[:, :-1] = 1
        self._layer_rows = [self._rows[:, start:start + shape.numel()].view(3, *shape)[:, :, :-1]
                            for start, shape in blocks]  # (3, out, in): the rows' entries of each W

    def measure(self) -> None:
        """The norms of the step just taken (`before` holds its weights before the update)."""
        network = self.network
        torch.sub(network.flat_params, self.before, out=self._update)  # Δθ
        self._grads.copy_(network.flat_grads)
        if self._in_layer is not None:  # a small network: every layer's sums of squares in one product
            self._norms = torch.mm(self._rows.square(), self._in_layer).sqrt_().T
        else:  # a large one, where that product is slow: one norm of each layer's 3 rows
            self._norms = torch.stack([torch.linalg.vector_norm(rows, dim=(1, 2)) for rows in self._layer_rows])

    def values(self) -> tuple[list[float] | None, list[float] | None]:
        """(‖dL/dW‖ per layer, ‖ΔW‖/‖W‖ per layer) of the last step measured; (None, None)
        before the first."""
        if self._norms is None:
            return None, None
        grad_norms, ratios = [], []
        for grad_norm, update_norm, weight_norm in self._norms.tolist():
            grad_norms.append(grad_norm)
            if weight_norm != 0:  # (nan when the weights are)
                ratios.append(update_norm / weight_norm)
            else:  # W was all zeros: any update is infinitely large beside it
                ratios.append(0.0 if update_norm == 0 else math.inf)
        return grad_norms, ratios
