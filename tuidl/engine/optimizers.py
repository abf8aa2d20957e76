"""The torch.optim update rules written out, with their state visible.

Each optimizer follows torch.optim's single-tensor implementation op for op (same
order of floating-point operations), so float64 results match torch.optim to ~1e-15.

Each optimizer's name, symbols and update rule as text are its facts' (tuidl.engine.facts);
`rule` and `legend` read them with the options in use.

Speed: when the parameters are consecutive views of one flat tensor (as Network makes
them), and so are the gradients, a step updates that flat tensor in one go: one tensor op
per line of the rule instead of one per parameter. The state tensors are always flat too;
`state[i]` holds views of parameter i's slice.

`terms` (the intermediates of the last step, for display) are only computed when
`explain` is True, so the plain training loop stays fast.
"""
from __future__ import annotations

import torch
from torch import Tensor

from .facts import OPTIMIZERS as FACTS
from .facts import OptimizerFacts


def _fmt(v: object) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def _covers(flat: Tensor | None, tensors: list[Tensor]) -> bool:
    """Whether `tensors` are views of the 1-D contiguous `flat` (its storage) that hold
    each of its entries exactly once, in any layout (e.g. W and b of a Network's layers)."""
    if flat is None or flat.dim() != 1 or not flat.is_contiguous() or not tensors:
        return False
    storage = flat.untyped_storage().data_ptr()
    if any(t.untyped_storage().data_ptr() != storage or t.dtype != flat.dtype for t in tensors):
        return False
    if sum(t.numel() for t in tensors) != flat.numel():
        return False
    covered = torch.zeros(flat.numel(), dtype=torch.int32)
    for t in tensors:
        start = t.storage_offset() - flat.storage_offset()
        end = start + sum((n - 1) * step for n, step in zip(t.shape, t.stride()))  # its last entry
        if start < 0 or end >= flat.numel():
            return False
        _view_like(covered, t, flat).add_(1)
    return bool((covered == 1).all())


def _view_like(flat: Tensor, t: Tensor, base: Tensor) -> Tensor:
    """The view of `flat` that `t` is of `base` (same shape, strides and offset)."""
    return flat.as_strided(t.shape, t.stride(), flat.storage_offset() + t.storage_offset() - base.storage_offset())


class Optimizer:
    facts: OptimizerFacts
    state_names: tuple[str, ...] = ()  # the state tensors this rule keeps, torch.optim's names

    def __init__(self, params: list[Tensor], lr: float, options: dict | None = None,
                 flat: tuple[Tensor, Tensor] | None = None):
        """`flat`: the 1-D tensors that the parameters and their gradients are views of
        (Network.flat_params, flat_grads), when they are: a step is then one op per line
        of the rule. (Views made in torch's inference mode do not know their base.)"""
        self.params = list(params)
        self.lr = float(lr)
        self.options = dict(options or {})
        self.step_count = 0
        self.explain = False
        self.terms: list[dict[str, Tensor]] = [{} for _ in self.params]
        flat_p, self._flat_g_given = flat if flat is not None else (self.params[0]._base if self.params else None, None)
        self._flat_p = flat_p if _covers(flat_p, self.params) else None
        self._grads_list: list[Tensor] | None = None  # the grads list last seen, and its flat base
        self._flat_g: Tensor | None = None
        self._sizes = [p.numel() for p in self.params]
        ref = self._flat_p if self._flat_p is not None else (
            torch.cat([p.detach().reshape(-1) for p in self.params]) if self.params else torch.zeros(0))
        # Flat state (one tensor per name over all parameters) and per-parameter views of it.
        self._flat_state: dict[str, Tensor] = {
            name: torch.full_like(ref, self._initial_value(name)) for name in self._state_names()
        }
        self.state: list[dict[str, Tensor]] = self._split(self._flat_state)

    # --- to override -----------------------------------------------------------------------

    def _state_names(self) -> tuple[str, ...]:
        return self.state_names

    def _initial_value(self, name: str) -> float:
        return 0.0

    def _update(self, p: Tensor, g: Tensor, st: dict[str, Tensor], t: int,
                terms: dict[str, Tensor] | None) -> None:
        """One step on parameter p (in place) with gradient g, state st, step number t."""
        raise NotImplementedError

    # --- the facts -----------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self.facts.name

    @property
    def rule(self) -> list[str]:
        """The update rule as text lines, for the options in use."""
        return self.facts.rule(self.lr, self.options, max(self.step_count, 1))

    @property
    def legend(self) -> list[str]:
        """What the rule's symbols stand for, with their values."""
        return self.facts.legend(self.lr, self.options, max(self.step_count, 1))

    # --- the step ----------------------------------------------------------------------

    def _split(self, flat: dict[str, Tensor]) -> list[dict[str, Tensor]]:
        """Per parameter, the views of each flat tensor that hold its entries: laid out as
        the parameters are in their flat tensor, else one after the other."""
        out: list[dict[str, Tensor]] = [{} for _ in self.params]
        for name, f in flat.items():
            offset = 0
            for i, p in enumerate(self.params):
                if self._flat_p is not None:
                    out[i][name] = _view_like(f, p, self._flat_p)
                else:
                    n = p.numel()
                    out[i][name] = f[offset:offset + n].view(p.shape)
                    offset += n
        return out

    def _flat_grads(self, grads: list[Tensor]) -> Tensor | None:
        if grads is not self._grads_list:  # a new list: check whether it is one flat tensor
            self._grads_list = grads
            base = self._flat_g_given if self._flat_g_given is not None else (grads[0]._base if grads else None)
            ok = self._flat_p is not None and _covers(base, grads) and len(grads) == len(self.params) and all(
                g.shape == p.shape and g.stride() == p.stride()
                and g.storage_offset() - base.storage_offset() == p.storage_offset() - self._flat_p.storage_offset()
                for g, p in zip(grads, self.params))  # laid out as the parameters: updated elementwise
            self._flat_g = base if ok else None
        return self._flat_g

    def step(self, grads: list[Tensor]) -> None:
        """θ′ = θ + Δθ, in place, for every parameter; `grads` in the order of params."""
        self.step_count += 1
        t = self.step_count
        g = self._flat_grads(grads)
        if g is not None:
            if not self.explain:
                self._update(self._flat_p, g, self._flat_state, t, None)
                return
            terms: dict[str, Tensor] = {}
            old = self._flat_p.clone()
            self._update(self._flat_p, g, self._flat_state, t, terms)
            terms["update"] = self._flat_p - old  # Δθ, the change applied: θ′ = θ + Δθ
            scalars = {k: v for k, v in terms.items() if v.dim() == 0}
            self.terms = [dict(d, **scalars) for d in
                          self._split({k: v for k, v in terms.items() if v.dim() > 0})]
            return
        if len(grads) != len(self.params):
            raise ValueError("one gradient per parameter")
        self.terms = [{} for _ in self.params]
        for i, (p, gi) in enumerate(zip(self.params, grads)):
            if not self.explain:
                self._update(p, gi, self.state[i], t, None)
                continue
            old = p.detach().clone()
            self._update(p, gi, self.state[i], t, self.terms[i])
            self.terms[i]["update"] = p - old

    # --- save and resume ---------------------------------------------------------------

    def _stored_names(self) -> tuple[str, ...]:
        """The state names torch.optim would hold at this point (all of them, by default)."""
        return self._state_names()

    def state_dict(self) -> dict:
        return {
            "name": self.name,
            "lr": self.lr,
            "options": dict(self.options),
            "step": self.step_count,
            "state": [{k: st[k].detach().to("cpu", copy=True) for k in self._stored_names()}
                      for st in self.state],
        }

    def load_state_dict(self, d: dict) -> None:
        """Resume exactly: the step count and every state tensor (lr and options are the
        ones this optimizer was made with)."""
        if d.get("name", self.name) != self.name:
            raise ValueError(f"state of optimizer {d.get('name')!r}, not {self.name!r}")
        states = d["state"]
        if len(states) != len(self.params):
            raise ValueError("state_dict has a different number of parameters")
        step = int(d["step"])
        for st, saved in zip(self.state, states):
            for name in self._state_names():
                if name in saved:
                    st[name].copy_(torch.as_tensor(saved[name]))
                elif step > 0 and name in self._stored_names_at(step):
                    raise KeyError(f"state_dict lacks {name}")
        self.step_count = step

    def _stored_names_at(self, step: int) -> tuple[str, ...]:
        return self._state_names()

    def __repr__(self) -> str:
        opts = ", ".join(f"{k}={_fmt(v)}" for k, v in self.options.items())
        return f"{type(self).__name__}(lr={self.lr:g}, {opts})"


def _decayed(g: Tensor, p: Tensor, wd: float) -> Tensor:
    """g + λθ (a new tensor: the caller's gradient is left alone); g itself when λ = 0."""
    return g.add(p, alpha=wd) if wd != 0 else g


class SGD(Optimizer):
    facts = FACTS["sgd"]

    def _state_names(self):
        return ("momentum_buffer",) if self.options.get("momentum", 0.0) != 0 else ()

    def _stored_names(self):
        return self._state_names() if self.step_count > 0 else ()

    def _stored_names_at(self, step):
        return self._state_names() if step > 0 else ()

    def _update(self, p, g, st, t, terms):
        o = self.options
        mu, tau, wd = o.get("momentum", 0.0), o.get("dampening", 0.0), o.get("weight_decay", 0.0)
        g = _decayed(g, p, wd)  # g = ∇L + λθ
        if terms is not None:
            terms["g"] = g.clone()
        if mu != 0:
            buf = st["momentum_buffer"]
            if t == 1:
                buf.copy_(g)  # b₁ = g
            else:
                buf.mul_(mu).add_(g, alpha=1 - tau)  # b = μb + (1 − τ)g
            if o.get("nesterov", False):
                g = g.add(buf, alpha=mu)  # nesterov: g + μb
            else:
                g = buf
        p.add_(g, alpha=-self.lr)  # θ ← θ − γ·g


class Adam(Optimizer):
    facts = FACTS["adam"]

    def _state_names(self):
        names = ("exp_avg", "exp_avg_sq")
        return names + ("max_exp_avg_sq",) if self.options.get("amsgrad", False) else names

    def _update(self, p, g, st, t, terms):
        o = self.options
        beta1, beta2 = o.get("betas", (0.9, 0.999))
        eps, wd = o.get("eps", 1e-8), o.get("weight_decay", 0.0)
        g = _decayed(g, p, wd)
        m, v = st["exp_avg"], st["exp_avg_sq"]
        m.lerp_(g, 1 - beta1)  # m = β₁m + (1 − β₁)g
        v.mul_(beta2).addcmul_(g, g, value=1 - beta2)  # v = β₂v + (1 − β₂)g²
        bc1 = 1 - beta1 ** t  # bias corrections 1 − βᵗ
        bc2 = 1 - beta2 ** t
        step_size = self.lr / bc1
        bc2_sqrt = bc2 ** 0.5
        if o.get("amsgrad", False):
            vmax = st["max_exp_avg_sq"]
            torch.maximum(vmax, v, out=vmax)  # v_max = max(v_max, v)
            v = vmax
        denom = (v.sqrt() / bc2_sqrt).add_(eps)  # √v̂ + ε, with v̂ = v/(1 − β₂ᵗ)
        p.addcdiv_(m, denom, value=-step_size)  # θ ← θ − γ m̂/(√v̂ + ε), with m̂ = m/(1 − β₁ᵗ)
        if terms is not None:
            terms["g"] = g.clone()
            terms["m_hat"] = m / bc1
            terms["v_hat"] = v / bc2
            terms["denom"] = denom


class RMSprop(Optimizer):
    facts = FACTS["rmsprop"]

    def _state_names(self):
        names = ("square_avg",)
        if self.options.get("momentum", 0.0) > 0:
            names += ("momentum_buffer",)
        if self.options.get("centered", False):
            names += ("grad_avg",)
        return names

    def _update(self, p, g, st, t, terms):
        o = self.options
        alpha, eps = o.get("alpha", 0.99), o.get("eps", 1e-8)
        mu, wd = o.get("momentum", 0.0), o.get("weight_decay", 0.0)
        g = _decayed(g, p, wd)
        v = st["square_avg"]
        v.mul_(alpha).addcmul_(g, g, value=1 - alpha)  # v = αv + (1 − α)g²
        if o.get("centered", False):
            gbar = st["grad_avg"]
            gbar.lerp_(g, 1 - alpha)  # ḡ = αḡ + (1 − α)g
            avg = v.addcmul(gbar, gbar, value=-1).sqrt_()  # √(v − ḡ²)
        else:
            avg = v.sqrt()  # √v
        avg = avg.add_(eps)  # + ε
        if mu > 0:
            buf = st["momentum_buffer"]
            buf.mul_(mu).addcdiv_(g, avg)  # b = μb + g/(√v + ε)
            p.add_(buf, alpha=-self.lr)  # θ ← θ − γb
        else:
            p.addcdiv_(g, avg, value=-self.lr)  # θ ← θ − γ g/(√v + ε)
        if terms is not None:
            terms["g"] = g.clone()
            terms["denom"] = avg


class Adagrad(Optimizer):
    facts = FACTS["adagrad"]
    state_names = ("sum",)

    def _initial_value(self, name):
        return float(self.options.get("initial_accumulator_value", 0.0))

    def _update(self, p, g, st, t, terms):
        o = self.options
        lr_decay, eps, wd = o.get("lr_decay", 0.0), o.get("eps", 1e-10), o.get("weight_decay", 0.0)
        g = _decayed(g, p, wd)
        clr = self.lr / (1 + (t - 1) * lr_decay)  # γ̃ = γ/(1 + (t − 1)·lr_decay)
        s = st["sum"]
        s.addcmul_(g, g, value=1)  # s = s + g²
        std = s.sqrt().add_(eps)  # √s + ε
        p.addcdiv_(g, std, value=-clr)  # θ ← θ − γ̃ g/(√s + ε)
        if terms is not None:
            terms["g"] = g.clone()
            terms["clr"] = torch.tensor(clr, dtype=torch.float64)
            terms["denom"] = std


class Adadelta(Optimizer):
    facts = FACTS["adadelta"]
    state_names = ("square_avg", "acc_delta")

    def _update(self, p, g, st, t, terms):
        o = self.options
        rho, eps, wd = o.get("rho", 0.9), o.get("eps", 1e-6), o.get("weight_decay", 0.0)
        g = _decayed(g, p, wd)
        v, u = st["square_avg"], st["acc_delta"]
        v.mul_(rho).addcmul_(g, g, value=1 - rho)  # v = ρv + (1 − ρ)g²
        std = v.add(eps).sqrt_()  # √(v + ε)
        delta = u.add(eps).sqrt_()  # √(u + ε)
        delta.div_(std).mul_(g)  # Δ = √(u + ε)/√(v + ε) · g
        u.mul_(rho).addcmul_(delta, delta, value=1 - rho)  # u = ρu + (1 − ρ)Δ²
        p.add_(delta, alpha=-self.lr)  # θ ← θ − γΔ
        if terms is not None:
            terms["g"] = g.clone()
            terms["delta"] = delta


OPTIMIZERS: dict[str, type[Optimizer]] = {
    c.facts.name: c for c in (SGD, Adam, RMSprop, Adagrad, Adadelta)
}


def make_optimizer(name: str, params: list[Tensor], lr: float, options: dict,
                   flat: tuple[Tensor, Tensor] | None = None) -> Optimizer:
    """The optimizer `name` over `params` (options already merged with the defaults);
    `flat`: see Optimizer."""
    if name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}")
    options = dict(options)
    if "betas" in options:
        options["betas"] = tuple(float(b) for b in options["betas"])
    return OPTIMIZERS[name](params, lr, options, flat)
