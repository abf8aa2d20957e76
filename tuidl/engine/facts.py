"""The teaching facts of every activation, loss and optimizer: one home for each.

Names, labels, formulas, symbols and update rules as small frozen records, keyed by
name. The engine's classes take their name and formulas from here, config takes its
lists of names, and the views (forms, diagram, explain) read their text here.

Plain Python only (no torch, no numpy): tuidl.config and the app's first frame import it.
Adding an activation, a loss or an optimizer means a record here and a class in the
engine (tests/test_explain.py checks that both exist and walks each through every phase).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Mapping

LEAKY_SLOPE = 0.01  # torch.nn.functional.leaky_relu's default negative_slope


def _g(value: object) -> str:
    """An option's value as written in a legend: 0.9, 1e-08, True."""
    return f"{value:g}" if isinstance(value, float) else str(value)


# --------------------------------------------------------------------------- activations


@dataclass(frozen=True)
class ActivationFacts:
    name: str  # the config's name
    label: str  # for people: "leaky ReLU"
    formula: str  # g(z)
    call: str  # the symbol written in an equation a = call(z): "tanh", "σ"; "" for linear
    derivative: str  # g′(z), written in z (never "a²": aˡ names a layer's output)
    derivative_at: str  # g′ with the numbers put in: {z} and {a} stand for z and a = g(z)
    short: str  # the diagram's short name
    output_only: bool = False  # softmax: only as the output of cross-entropy
    elementwise: bool = True  # aᵢ = g(zᵢ); softmax's aᵢ depends on every z


ACTIVATIONS: dict[str, ActivationFacts] = {f.name: f for f in (
    ActivationFacts("relu", "ReLU", "max(0, z)", "relu", "1 if z > 0 else 0",
                    "(1 if {z} > 0 else 0)", "relu"),
    ActivationFacts("tanh", "tanh", "tanh(z)", "tanh", "1 − tanh²(z)", "(1 − ({a})²)", "tanh"),
    ActivationFacts("sigmoid", "sigmoid", "σ(z) = 1/(1 + e⁻ᶻ)", "σ", "σ(z)·(1 − σ(z))",
                    "({a})·(1 − ({a}))", "sigm"),
    ActivationFacts("leaky_relu", "leaky ReLU", f"z if z > 0 else {LEAKY_SLOPE:g}·z", "leaky_relu",
                    f"1 if z > 0 else {LEAKY_SLOPE:g}", f"(1 if {{z}} > 0 else {LEAKY_SLOPE:g})", "lrelu"),
    ActivationFacts("linear", "linear", "z", "", "1", "1", "lin"),
    ActivationFacts("softmax", "softmax", "softmax(z)ⱼ = eᶻʲ / Σₖ eᶻᵏ", "softmax",
                    "∂aᵢ/∂zⱼ = aᵢ·(δᵢⱼ − aⱼ)", "({a})·(1 − ({a}))", "smax", output_only=True, elementwise=False),
)}
HIDDEN_ACTIVATIONS = tuple(name for name, f in ACTIVATIONS.items() if not f.output_only)


# --------------------------------------------------------------------------- losses


def _bce_terms(z: list[float], a: list[float], y: list[float]) -> list[float]:
    # on the logits, as the engine and BCEWithLogits: max(z, 0) − z·y + log(1 + e^{−|z|})
    return [max(zi, 0.0) - zi * yi + math.log1p(math.exp(-abs(zi))) for zi, yi in zip(z, y)]


def _ce_terms(z: list[float], a: list[float], y: list[float]) -> list[float]:
    # −log softmax(z)_y = logsumexp(z) − z_y, with y one-hot
    top = max(z)
    lse = top + math.log(sum(math.exp(zi - top) for zi in z))
    return [lse - sum(zi * yi for zi, yi in zip(z, y))]


def _mse_terms(z: list[float], a: list[float], y: list[float]) -> list[float]:
    return [(ai - yi) * (ai - yi) for ai, yi in zip(a, y)]  # (a float's ** 2 raises on overflow)


@dataclass(frozen=True)
class LossFacts:
    name: str
    label: str  # "binary cross-entropy"
    formula: str  # L over the batch
    grad_formula: str  # the output layer's gradient
    output_activation: str  # the activation of the output layer that this loss pairs with
    output_label: str  # the diagram's label of the output column
    yhat_label: str  # what ŷ is
    note: str  # one line on what the loss measures
    term: str  # one example's term of the sum, in symbols
    term_at: str  # the same with numbers: {y} the target, {yhat} the prediction
    grad_at: str  # grad_formula's right-hand side with numbers: {yhat}, {y}, {n} the divisor
    grad_of_z: bool  # grad_formula gives dL/dz directly (loss and output activation fused)
    classes: bool  # targets are class indices (else values)
    terms: Callable[[list[float], list[float], list[float]], list[float]]
    """One example's terms (z, a = ŷ and the one-hot or value targets y of its outputs):
    the batch's data loss is the mean of every term of every example."""


LOSSES: dict[str, LossFacts] = {f.name: f for f in (
    LossFacts("bce", "binary cross-entropy", "L = −(1/N) Σₙ [yₙ·log ŷₙ + (1 − yₙ)·log(1 − ŷₙ)]",
              "dL/dz = (σ(z) − y)/N = (ŷ − y)/N", "sigmoid", "σ", "ŷ = σ(z)",
              "ŷ = σ(z) is the predicted probability of class 1",
              "−[y·log ŷ + (1 − y)·log(1 − ŷ)]", "−[{y}·log({yhat}) + (1 − {y})·log(1 − ({yhat}))]",
              "({yhat} − {y})/{n}", True, True, _bce_terms),
    LossFacts("ce", "cross-entropy", "L = −(1/N) Σₙ log softmax(zₙ)_yₙ",
              "dL/dz = (softmax(z) − onehot(y))/N = (ŷ − onehot(y))/N", "softmax", "softmax",
              "ŷ = softmax(z)", "minus the log of the probability given to the true class",
              "−log ŷ_y", "−log({yhat})", "({yhat} − {y})/{n}", True, True, _ce_terms),
    LossFacts("mse", "mean squared error", "L = (1/(N·K)) Σₙₖ (ŷₙₖ − yₙₖ)²",
              "dL/dŷ = 2·(ŷ − y)/(N·K)", "linear", "ŷ", "ŷ",
              "the mean over every output (K of them) of every example",
              "(ŷ − y)²", "({yhat} − ({y}))²", "2·({yhat} − ({y}))/{n}", False, False, _mse_terms),
)}


# --------------------------------------------------------------------------- optimizers

Rule = Callable[[float, Mapping[str, object], int], list[str]]


@dataclass(frozen=True)
class OptimizerFacts:
    name: str
    label: str  # "RMSprop"
    state_symbols: Mapping[str, str]  # torch.optim's state names → the rule's symbols
    term_symbols: Mapping[str, str]  # the recorded intermediate terms → the rule's symbols
    rule: Rule
    """rule(lr, options, t): the update rule as lines, in symbols, for these options (merged
    with the defaults, as config.optimizer_options gives them) at step t (1 for the first)."""
    legend: Rule  # legend(lr, options, t): what each symbol of the rule stands for, with values
    option_symbols: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    """Symbols that change when an option is on: {"centered": {"denom": "√(v − ḡ²) + ε"}}."""

    def symbol(self, name: str, options: Mapping[str, object]) -> str:
        """The symbol of a recorded state tensor or term (its own name when it has none)."""
        for option, symbols in self.option_symbols.items():
            if options.get(option) and name in symbols:
                return symbols[name]
        for table in (self.term_symbols, self.state_symbols, COMMON_SYMBOLS):
            if name in table:
                return table[name]
        return name


# Terms every optimizer records, and the step count the trainer adds to the state.
COMMON_SYMBOLS = {"g": "g", "update": "Δθ", "step": "t"}
APPLY = "θ′ = θ + Δθ"


def _grad_line(o: Mapping[str, object]) -> str:
    return "g = ∇L(θ) + λ·θ" if o.get("weight_decay") else "g = ∇L(θ)"


def _legend(lr: float, o: Mapping[str, object], *items: tuple[str, object] | None) -> list[str]:
    out = [f"γ = {_g(float(lr))} (learning rate)"]
    out += [f"{sym} = {_g(value)}" for sym, value in (i for i in items if i is not None)]
    if o.get("weight_decay"):
        out.append(f"λ = {_g(o['weight_decay'])} (weight decay)")
    return out


def _sgd_rule(lr, o, t):
    lines = [_grad_line(o)]
    if o.get("momentum"):
        damp = "(1 − τ)·g" if o.get("dampening") else "g"
        lines.append(f"b ← μ·b + {damp}   (b = g at t = 1)")
        lines.append("Δθ = −γ·(g + μ·b)" if o.get("nesterov") else "Δθ = −γ·b")
    else:
        lines.append("Δθ = −γ·g")
    return lines + [APPLY]


def _sgd_legend(lr, o, t):
    mu = ("μ", o["momentum"]) if o.get("momentum") else None
    tau = ("τ", o["dampening"]) if o.get("momentum") and o.get("dampening") else None
    return _legend(lr, o, mu, tau) + (["Nesterov momentum"] if o.get("momentum") and o.get("nesterov") else [])


def _adam_rule(lr, o, t):
    v = "v_max" if o.get("amsgrad") else "v"
    return [_grad_line(o), "m ← β₁·m + (1 − β₁)·g", "v ← β₂·v + (1 − β₂)·g²"] \
        + (["v_max ← max(v_max, v)"] if o.get("amsgrad") else []) \
        + [f"m̂ = m/(1 − β₁ᵗ)    v̂ = {v}/(1 − β₂ᵗ)", "Δθ = −γ·m̂/(√v̂ + ε)", APPLY]


def _adam_legend(lr, o, t):
    beta1, beta2 = o["betas"]  # type: ignore[misc]
    return _legend(lr, o, ("β₁", float(beta1)), ("β₂", float(beta2)), ("ε", o["eps"]), ("t", t))


def _rmsprop_rule(lr, o, t):
    lines = [_grad_line(o), "v ← α·v + (1 − α)·g²"]
    den = "√v + ε"
    if o.get("centered"):
        lines.append("ḡ ← α·ḡ + (1 − α)·g")
        den = "√(v − ḡ²) + ε"
    if o.get("momentum"):
        lines += [f"b ← μ·b + g/({den})", "Δθ = −γ·b"]
    else:
        lines.append(f"Δθ = −γ·g/({den})")
    return lines + [APPLY]


def _rmsprop_legend(lr, o, t):
    mu = ("μ", o["momentum"]) if o.get("momentum") else None
    return _legend(lr, o, ("α", o["alpha"]), ("ε", o["eps"]), mu)


def _adagrad_rule(lr, o, t):
    s0 = "   (s = s₀ at the start)" if o.get("initial_accumulator_value") else ""
    return [_grad_line(o), "s ← s + g²" + s0, "γ̃ = γ/(1 + (t − 1)·η)", "Δθ = −γ̃·g/(√s + ε)", APPLY]


def _adagrad_legend(lr, o, t):
    s0 = ("s₀", o["initial_accumulator_value"]) if o.get("initial_accumulator_value") else None
    return _legend(lr, o, ("η", o["lr_decay"]), ("ε", o["eps"]), ("t", t), s0)


def _adadelta_rule(lr, o, t):
    return [_grad_line(o), "v ← ρ·v + (1 − ρ)·g²", "Δ = √(u + ε)/√(v + ε)·g", "u ← ρ·u + (1 − ρ)·Δ²",
            "Δθ = −γ·Δ", APPLY]


def _adadelta_legend(lr, o, t):
    return _legend(lr, o, ("ρ", o["rho"]), ("ε", o["eps"]))


OPTIMIZERS: dict[str, OptimizerFacts] = {f.name: f for f in (
    OptimizerFacts("sgd", "SGD", {"momentum_buffer": "b"}, {}, _sgd_rule, _sgd_legend),
    OptimizerFacts("adam", "Adam", {"exp_avg": "m", "exp_avg_sq": "v", "max_exp_avg_sq": "v_max"},
                   {"m_hat": "m̂", "v_hat": "v̂", "denom": "√v̂ + ε"}, _adam_rule, _adam_legend),
    OptimizerFacts("rmsprop", "RMSprop", {"square_avg": "v", "momentum_buffer": "b", "grad_avg": "ḡ"},
                   {"denom": "√v + ε"}, _rmsprop_rule, _rmsprop_legend,
                   option_symbols={"centered": {"denom": "√(v − ḡ²) + ε"}}),
    OptimizerFacts("adagrad", "Adagrad", {"sum": "s"}, {"clr": "γ̃", "denom": "√s + ε"},
                   _adagrad_rule, _adagrad_legend),
    OptimizerFacts("adadelta", "Adadelta", {"square_avg": "v", "acc_delta": "u"}, {"delta": "Δ"},
                   _adadelta_rule, _adadelta_legend),
)}
