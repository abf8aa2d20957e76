"""The update phase: the optimizer's rule, then each layer's selected weight and bias
with the recorded gradient, intermediate terms, change Δθ and state."""
from __future__ import annotations

from rich.console import RenderableType
from rich.text import Text

from tuidl import config as cfg
from tuidl.engine.facts import OPTIMIZERS, OptimizerFacts
from tuidl.engine.records import StepRecord
from tuidl.explain.numbers import as_array, fmt_plain, num, scalar, sub, summary, sup, vec
from tuidl.explain.phases import clamp, layer_role, step_number
from tuidl.explain.pieces import MAX_MATRIX_COLS, eq, hang, line, note, paren


def options(record: StepRecord) -> dict[str, object]:
    """The record's optimizer options, with the defaults for any it lacks."""
    return {**cfg.OPTIMIZER_DEFAULTS.get(record.optimizer, {}), **(record.options or {})}


def _pick(value: object, idx: tuple[int, ...]) -> Text:
    """A state or term tensor's entry for the selected parameter (a scalar as it is)."""
    a = as_array(value)
    if a.ndim == 0:
        return num(a)
    if a.ndim == len(idx):
        try:
            return num(a[idx])
        except IndexError:
            pass
    return summary(a)


def _parameter(facts: OptimizerFacts, opts: dict, label: str, before: object, grad: object, after: object,
               state: dict, terms: dict, idx: tuple[int, ...]) -> list[RenderableType]:
    """One parameter's numbers: θ, its gradient, the rule's terms, Δθ, θ′ and the state."""
    pad = " " * (len(label) + 1)
    terms = dict(terms or {})
    theta, theta_after = as_array(before)[idx], as_array(after)[idx]
    g = terms.pop("g", None)
    change = terms.pop("update", None)
    head = line(eq(label), "  θ = ", num(theta), "   dL/dθ = ", num(as_array(grad)[idx]))
    if g is not None:
        head.append_text(line("   g = ", _pick(g, idx)))
    out: list[RenderableType] = [head]
    if terms:
        parts: list[object] = []
        for name, value in terms.items():
            parts += ["   " if parts else "", f"{facts.symbol(name, opts)} = ", _pick(value, idx)]
        out.append(hang(pad, *parts))
    if change is not None:
        delta = as_array(change)[idx]
        out.append(hang(pad, eq("Δθ = "), num(delta), eq("   θ′ = θ + Δθ = "), paren(theta), " + ", paren(delta),
                        " = ", num(theta_after, "bold")))
    else:
        out.append(hang(pad, eq("θ′ = "), num(theta_after, "bold")))
    if state:
        parts = ["state: "]
        for i, (name, value) in enumerate(state.items()):
            symbol = facts.symbol(name, opts)
            parts += [" · " if i else "", f"{symbol} ({name}) " if symbol != name else f"{name} "]
            parts.append(fmt_plain(scalar(value)) if name == "step" else _pick(value, idx))
        out.append(hang(pad, *parts))
    return out


def render_update(record: StepRecord, j: int) -> list[RenderableType]:
    facts = OPTIMIZERS[record.optimizer]
    opts, t = options(record), step_number(record)
    out: list[RenderableType] = [eq(rule) for rule in facts.rule(record.lr, opts, t)]
    out.append(note("with " + ", ".join(facts.legend(record.lr, opts, t))))
    out.append(note("dL/dθ: the gradient from backpropagation; g: what the rule uses (plus λ·θ with weight "
                    "decay); Δθ: the change applied; state: what the optimizer keeps for the next step"))
    for l, layer in enumerate(record.layers):
        s = sup(l + 1)
        W = as_array(layer.W)
        jl = clamp(j, W.shape[0])
        state = layer.optimizer_state or {}
        terms = layer.optimizer_terms or {}
        out += [Text(""), Text(f"Layer {l + 1} ({layer_role(record, l)}) · neuron {jl}", style="bold underline")]
        out += _parameter(facts, opts, f"  W{s}{sub(jl)}₀", W, layer.grad_W, layer.W_after,
                          state.get("W", {}), terms.get("W", {}), (jl, 0))
        out += _parameter(facts, opts, f"  b{s}{sub(jl)}", layer.b, layer.grad_b, layer.b_after,
                          state.get("b", {}), terms.get("b", {}), (jl,))
        out += [hang(f"  W{s} before ", summary(W)), hang(f"  W{s} after  ", summary(layer.W_after))]
        if W.shape[1] <= MAX_MATRIX_COLS * 4:
            out += [hang(f"  row {jl} before ", vec(W[jl], max_items=MAX_MATRIX_COLS * 4)),
                    hang(f"  row {jl} after  ", vec(as_array(layer.W_after)[jl], max_items=MAX_MATRIX_COLS * 4))]
    return out
