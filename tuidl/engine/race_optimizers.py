"""The five update rules of tuidl.engine.optimizers for a group of variants at once.

A group is the variants of a race that share an optimizer and its options and differ in
the learning rate only. Their flat parameters are the rows of one (G, P) tensor, so each
line of the rule is one tensor op for the whole group; the learning rates are a (G, 1)
tensor. Each line follows the single-variant rule op for op: `p.add_(g, alpha=-lr)`
becomes `p.addcmul_(g, -lr)`, `p.addcdiv_(m, d, value=-s)` becomes `p.addcdiv_(m.mul(-s), d)`
(the same products and sums, the scalar now a column).
"""
from __future__ import annotations

import torch
from torch import Tensor


def _addcdiv(p: Tensor, t1: Tensor, t2: Tensor, col: Tensor) -> None:
    """p += col·t1/t2, in the order torch's addcdiv_(t1, t2, value=col) computes it:
    p + (col·t1)/t2 (here with value 1, whose product with col·t1 is exact)."""
    p.addcdiv_(t1.mul(col), t2)


def _decayed(g: Tensor, p: Tensor, wd: float) -> Tensor:
    return g.add(p, alpha=wd) if wd != 0 else g


def square_average(name: str, options: dict) -> tuple[str, float] | None:
    """(state name, β) of the rule's line v = βv + (1 − β)g², the one line that Adam,
    RMSprop, Adagrad (β = 1: s = s + g²) and Adadelta share; None for SGD. With no weight
    decay that line reads g alone, so a lane runs it once for all such groups (`fused`)."""
    if options.get("weight_decay", 0.0) != 0:
        return None
    if name == "adam":
        return "exp_avg_sq", options.get("betas", (0.9, 0.999))[1]
    if name == "rmsprop":
        return "square_avg", options.get("alpha", 0.99)
    if name == "adagrad":
        return "sum", 1.0
    if name == "adadelta":
        return "square_avg", options.get("rho", 0.9)
    return None


class GroupRule:
    """The update of one group: `step(p, g)` with p, g (G, P) row blocks, in place."""

    def __init__(self, name: str, options: dict, lrs: list[float], state: dict[str, Tensor], step_count: int):
        self.name = name
        self.options = dict(options)
        self.lrs = [float(lr) for lr in lrs]
        self.state = state  # name -> (G, P), the rows of each member's optimizer._flat_state
        self.step_count = step_count
        self._rule = getattr(self, "_" + name)
        self.fused = False  # the square average is updated by the lane, for several groups at once

    def bind(self, like: Tensor) -> None:
        """Make the (G, 1) learning-rate columns for the tensors of `like`'s dtype and device."""
        self.dtype, self.device = like.dtype, like.device
        self.neg_lr = torch.tensor([[-lr] for lr in self.lrs], dtype=like.dtype, device=like.device)
        # float64 where the device has it (MPS has not: there the column is made from Python floats)
        self.neg_lr64 = None if like.device.type == "mps" else \
            torch.tensor([[-lr] for lr in self.lrs], dtype=torch.float64, device=like.device)

    def _scaled(self, divisor: float) -> Tensor:
        """−lr/divisor per member, as the lone rule computes it (in float64, then the dtype)."""
        if self.neg_lr64 is None:
            return torch.tensor([[-(lr / divisor)] for lr in self.lrs], dtype=self.dtype, device=self.device)
        return (self.neg_lr64 / divisor).to(self.dtype)

    def step(self, p: Tensor, g: Tensor) -> None:
        self.step_count += 1
        self._rule(p, g, self.step_count)

    def _sgd(self, p, g, t):
        o, st = self.options, self.state
        mu, tau, wd = o.get("momentum", 0.0), o.get("dampening", 0.0), o.get("weight_decay", 0.0)
        g = _decayed(g, p, wd)
        if mu != 0:
            buf = st["momentum_buffer"]
            if t == 1:
                buf.copy_(g)
            else:
                buf.mul_(mu).add_(g, alpha=1 - tau)
            g = g.add(buf, alpha=mu) if o.get("nesterov", False) else buf
        p.addcmul_(g, self.neg_lr)

    def _adam(self, p, g, t):
        o, st = self.options, self.state
        beta1, beta2 = o.get("betas", (0.9, 0.999))
        eps, wd = o.get("eps", 1e-8), o.get("weight_decay", 0.0)
        g = _decayed(g, p, wd)
        m, v = st["exp_avg"], st["exp_avg_sq"]
        m.lerp_(g, 1 - beta1)
        if not self.fused:
            v.mul_(beta2).addcmul_(g, g, value=1 - beta2)
        bc1 = 1 - beta1 ** t
        bc2_sqrt = (1 - beta2 ** t) ** 0.5
        if o.get("amsgrad", False):
            vmax = st["max_exp_avg_sq"]
            torch.maximum(vmax, v, out=vmax)
            v = vmax
        denom = (v.sqrt() / bc2_sqrt).add_(eps)
        _addcdiv(p, m, denom, self._scaled(bc1))

    def _rmsprop(self, p, g, t):
        o, st = self.options, self.state
        alpha, eps = o.get("alpha", 0.99), o.get("eps", 1e-8)
        mu, wd = o.get("momentum", 0.0), o.get("weight_decay", 0.0)
        g = _decayed(g, p, wd)
        v = st["square_avg"]
        if not self.fused:
            v.mul_(alpha).addcmul_(g, g, value=1 - alpha)
        if o.get("centered", False):
            gbar = st["grad_avg"]
            gbar.lerp_(g, 1 - alpha)
            avg = v.addcmul(gbar, gbar, value=-1).sqrt_()
        else:
            avg = v.sqrt()
        avg = avg.add_(eps)
        if mu > 0:
            buf = st["momentum_buffer"]
            buf.mul_(mu).addcdiv_(g, avg)
            p.addcmul_(buf, self.neg_lr)
        else:
            _addcdiv(p, g, avg, self.neg_lr)

    def _adagrad(self, p, g, t):
        o, st = self.options, self.state
        lr_decay, eps, wd = o.get("lr_decay", 0.0), o.get("eps", 1e-10), o.get("weight_decay", 0.0)
        g = _decayed(g, p, wd)
        s = st["sum"]
        if not self.fused:
            s.addcmul_(g, g, value=1)
        std = s.sqrt().add_(eps)
        factor = 1 + (t - 1) * lr_decay
        neg_clr = self.neg_lr if factor == 1 else self._scaled(factor)
        _addcdiv(p, g, std, neg_clr)

    def _adadelta(self, p, g, t):
        o, st = self.options, self.state
        rho, eps, wd = o.get("rho", 0.9), o.get("eps", 1e-6), o.get("weight_decay", 0.0)
        g = _decayed(g, p, wd)
        v, u = st["square_avg"], st["acc_delta"]
        if not self.fused:
            v.mul_(rho).addcmul_(g, g, value=1 - rho)
        std = v.add(eps).sqrt_()
        delta = u.add(eps).sqrt_()
        delta.div_(std).mul_(g)
        u.mul_(rho).addcmul_(delta, delta, value=1 - rho)
        p.addcmul_(delta, self.neg_lr)
