"""One phase of a training step, written out with the record's numbers, as Rich.

Everything shown is read from the record: this module indexes, slices, formats and
summarises (shape, mean, min, max); it computes no value of the network, no gradient and
no update. Where an equation is written out with numbers, the numbers on its right-hand
side are the record's and so is the result after "=". The one exception is the loss
phase's term of the selected example: the direct evaluation of the shown formula on the
recorded numbers, the same math as the engine's (tuidl.engine.facts).

Each phase starts with the selected neuron's equation written out, then the layer's
vectors and matrices.
"""
from __future__ import annotations

import io

import numpy as np
from rich.console import Console, Group, RenderableType
from rich.text import Text

from tuidl.engine.facts import ACTIVATIONS, LOSSES, ActivationFacts, LossFacts
from tuidl.engine.records import StepRecord
from tuidl.explain.numbers import all_finite, as_array, num, sub, summary, sup, vec
from tuidl.explain.phases import Phase, batch_size, clamp, phases, units
from tuidl.explain.pieces import (MAX_MATRIX_COLS, eq, fill, hang, line, matrix, note, paren,
                                  target_text, written_sum)
from tuidl.explain.update import render_update

NOT_FINITE = "Some numbers of this step are not finite (nan or inf): training has diverged."


def _act(name: str) -> ActivationFacts:
    return ACTIVATIONS[name]


def _loss(record: StepRecord) -> LossFacts:
    return LOSSES[record.loss_name]


def _derivative(act: ActivationFacts) -> str:
    return f"{act.call or 'g'}′(z) = {act.derivative}"


def _targets(record: StepRecord, k: int) -> np.ndarray:
    """Example k's target for each output: one-hot for class indices over several outputs."""
    y = as_array(record.y)
    K = as_array(record.layers[-1].z).shape[-1]
    if _loss(record).classes and K > 1:
        return np.eye(K)[int(as_array(y[k]).reshape(-1)[0])]
    return as_array(y).reshape(y.shape[0], -1)[k].astype(np.float64)


def _terms(record: StepRecord, k: int) -> list[float]:
    """Example k's loss terms, evaluated on the recorded z, ŷ and y (see LossFacts.terms)."""
    out = record.layers[-1]
    z, a = as_array(out.z)[k].astype(float), as_array(out.a)[k].astype(float)
    with np.errstate(all="ignore"):
        return _loss(record).terms(list(z), list(a), list(_targets(record, k)))


def _header(record: StepRecord, phase: Phase, k: int, j: int) -> list[RenderableType]:
    parts: list[RenderableType] = [
        Text(phase.title, style="bold underline"),
        Text(f"step {record.step} · epoch {record.epoch} · batch of {batch_size(record)} · "
             f"example {k} · neuron {j}", style="dim"),
    ]
    arrays = [a for layer in record.layers for a in (layer.W, layer.b, layer.z, layer.a, layer.grad_z,
                                                      layer.grad_W, layer.W_after, layer.b_after)]
    if not all_finite(record.loss, *arrays):
        parts.append(Text(NOT_FINITE, style="bold red"))
    return parts + [Text("")]


# --------------------------------------------------------------------------- forward


def _forward(record: StepRecord, l: int, k: int, j: int) -> list[RenderableType]:
    layer = record.layers[l]
    act = _act(layer.activation)
    s = sup(l + 1)
    x, W, b = as_array(layer.input)[k], as_array(layer.W), as_array(layer.b)
    z, a = as_array(layer.z), as_array(layer.a)
    call = f"{act.call}(z{s})" if act.call else f"z{s}"
    out: list[RenderableType] = [eq(f"z{s} = W{s}·x + b{s}     a{s} = {call}")]
    if not act.call:
        out.append(note("linear: a = z, no activation"))
    elif act.formula != f"{act.call}(z)":
        out.append(note(f"{act.label}: {act.formula}"))
    out += [
        Text(""),
        Text(f"neuron {j}, example {k}:", style="bold"),
        eq(f"  z{sub(j)} = Σᵢ W{sub(j)}ᵢ·xᵢ + b{sub(j)}"),
        hang("     = ", written_sum(zip(W[j], x), total=W.shape[1]), " + ", paren(b[j])),
        line("     = ", num(z[k, j], "bold")),
    ]
    if not act.elementwise:
        out.append(hang(f"  a{sub(j)} = eᶻʲ / Σₖ eᶻᵏ over z = ", vec(z[k], sel=j), eq(" = "), num(a[k, j], "bold")))
    elif act.call:
        out.append(line(eq(f"  a{sub(j)} = {act.call}(z{sub(j)}) = {act.call}("), num(z[k, j]), eq(") = "),
                        num(a[k, j], "bold")))
    else:
        out.append(line(eq(f"  a{sub(j)} = z{sub(j)} = "), num(a[k, j], "bold")))
    if layer.dropout_mask is not None:
        mask = as_array(layer.dropout_mask)
        kept = "dropped" if mask[k, j] == 0 else "kept, scaled by 1/(1 − p)"
        out.append(line(eq(f"  dropout: mask{sub(j)} = "), num(mask[k, j]), note(f"  ({kept})")))
        if l + 1 < len(record.layers):
            passed = as_array(record.layers[l + 1].input)[k, j]
            out.append(line(f"  passed on: a{sub(j)}·mask{sub(j)} = ", num(passed, "bold")))
    src = "the input features" if l == 0 else f"layer {l}'s output a{sup(l)}" + (
        " after dropout" if record.layers[l - 1].dropout_mask is not None else "")
    out += [Text(""), line(f"example {k}, the whole layer:", note(f"  (x: {src})")),
            hang("  x  = ", vec(x)), hang(f"  z{s} = ", vec(z[k], sel=j)), hang(f"  a{s} = ", vec(a[k], sel=j))]
    if layer.dropout_mask is not None:
        out.append(hang("  mask = ", vec(as_array(layer.dropout_mask)[k], sel=j)))
    out += matrix(W, j, f"W{s}")
    out.append(hang(f"b{s} ", vec(b, sel=j)))
    out += [line("whole batch: z ", summary(z)), line("             a ", summary(a))]
    if l == len(record.layers) - 1:
        out.append(note(f"This is the network's prediction, {_loss(record).yhat_label}. Next: the loss."))
    return out


# --------------------------------------------------------------------------- loss


def _term_at(record: StepRecord, k: int, j: int) -> tuple[int, Text, float]:
    """The output the selected term is about, its formula with numbers, and its value."""
    loss = _loss(record)
    yk = _targets(record, k)
    a = as_array(record.layers[-1].a)[k]
    terms = _terms(record, k)
    if len(terms) == 1 and yk.size > 1:  # one term for all outputs: the true class's
        o = int(np.argmax(yk))
        return o, fill(loss.term_at, yhat=a[o], y=o), terms[0]
    o = clamp(j, len(terms))
    return o, fill(loss.term_at, yhat=a[o], y=target_text(yk[o], loss.classes)), terms[o]


def _loss_phase(record: StepRecord, k: int, j: int) -> list[RenderableType]:
    loss = _loss(record)
    out_layer = record.layers[-1]
    z, a = as_array(out_layer.z), as_array(out_layer.a)
    y = as_array(record.y)
    N = batch_size(record)
    o, with_numbers, value = _term_at(record, k, j)
    ytext = Text(f"class {target_text(y[k], True)}") if loss.classes else vec(y.reshape(N, -1)[k], sel=o)
    out: list[RenderableType] = [
        eq(loss.formula),
        note(f"{loss.label}: {loss.note}"),
        Text(""),
        Text(f"example {k}:", style="bold"),
        line("  y = ", ytext),
        hang("  z = ", vec(z[k], sel=o)),
        hang(f"  {loss.yhat_label} = ", vec(a[k], sel=o)),
        line(eq(f"  term = {loss.term}") + (f"   (output {o})" if len(_terms(record, k)) > 1 else "")),
        hang("       = ", with_numbers),
        line("       = ", num(value, "bold")),
        Text(""),
    ]
    if N <= 16:
        out.append(Text("the batch (n: y → ŷ, term):"))
        for n in range(N):
            pred = a[n]
            yn = Text(str(target_text(y[n], True))) if loss.classes else vec(y.reshape(N, -1)[n])
            terms = _terms(record, n)
            out.append(line(f" {'▶' if n == k else ' '}{n:>3}: ", yn, " → ",
                            num(pred[0]) if pred.size == 1 else vec(pred), "   ",
                            num(terms[0]) if len(terms) == 1 else vec(terms)))
    else:
        out.append(line("ŷ over the batch ", summary(a)))
    out.append(line(eq("data loss = the mean of every term = "), num(record.data_loss, "bold")))
    if record.l1_term:
        out.append(line(eq("L1 term λ·Σ|W| = "), num(record.l1_term, "bold")))
    else:
        out.append(line("L1 term = ", num(record.l1_term), note("  (no L1 penalty)")))
    out.append(line(eq("total loss L = "), num(record.loss, "bold")))
    out.append(note(f"N = {N}: the mean makes the loss independent of the batch size."))
    return out


# --------------------------------------------------------------------------- backward


def _output_gradient(record: StepRecord, l: int, k: int, j: int) -> list[RenderableType]:
    """dL/dz of the output layer from the loss (through its output activation)."""
    loss = _loss(record)
    layer = record.layers[l]
    s = sup(l + 1)
    a, z = as_array(layer.a), as_array(layer.z)
    gz, ga = as_array(layer.grad_z), _grad_a(layer)
    yk = _targets(record, k)
    yj = target_text(yk[j], loss.classes) if j < yk.size else float("nan")
    n = batch_size(record) if loss.grad_of_z else int(as_array(record.y).size)
    out: list[RenderableType] = [eq(loss.grad_formula.replace("dL/dz", f"dL/dz{s}"))]
    if loss.grad_of_z:
        out += [note(f"{_act(layer.activation).label} and {loss.label} differentiated together"), Text(""),
                Text(f"neuron {j}, example {k}:", style="bold"),
                line(eq(f"  dL/dz{sub(j)} = "), fill(loss.grad_at, yhat=a[k, j], y=yj, n=n), eq(" = "),
                     num(gz[k, j], "bold")),
                line(f"  dL/dŷ{sub(j)} = ", num(ga[k, j]), note("  (for reference)"))]
        return out
    act = _act(layer.activation)
    out += [note(f"then through the output activation, {act.label}: dL/dz = dL/dŷ·g′(z)"), Text(""),
            Text(f"neuron {j}, example {k}:", style="bold"),
            line(eq(f"  dL/dŷ{sub(j)} = "), fill(loss.grad_at, yhat=a[k, j], y=yj, n=n), eq(" = "),
                 num(ga[k, j], "bold")),
            line(eq(f"  dL/dz{sub(j)} = dL/dŷ{sub(j)}·g′(z{sub(j)})"), note(f"   {_derivative(act)}")),
            line("         = ", paren(ga[k, j]), "·", fill(act.derivative_at, z=z[k, j], a=a[k, j]), " = ",
                 num(gz[k, j], "bold"))]
    return out


def _grad_a(layer) -> np.ndarray:
    gz = as_array(layer.grad_z)
    return as_array(layer.grad_a) if layer.grad_a is not None else np.full(gz.shape, np.nan)


def _hidden_gradient(record: StepRecord, l: int, k: int, j: int) -> list[RenderableType]:
    """dL/da from the next layer's dL/dz, then dL/dz through this layer's activation."""
    layer, nxt = record.layers[l], record.layers[l + 1]
    act = _act(layer.activation)
    s, sn = sup(l + 1), sup(l + 2)
    z, a, gz, ga = as_array(layer.z), as_array(layer.a), as_array(layer.grad_z), _grad_a(layer)
    Wn, gzn = as_array(nxt.W), as_array(nxt.grad_z)
    mask = None if layer.dropout_mask is None else as_array(layer.dropout_mask)
    terms = written_sum(zip(Wn[:, j], gzn[k]), total=Wn.shape[0])
    return [
        eq(f"dL/da{s} = W{sn}ᵀ·dL/dz{sn}" + (" ⊙ dropout mask" if mask is not None else "")
           + f"     dL/dz{s} = dL/da{s} ⊙ g′(z{s})"),
        note("each neuron collects the gradients of the neurons it feeds, weighted by those links"),
        Text(""),
        Text(f"neuron {j}, example {k}:", style="bold"),
        eq(f"  dL/da{sub(j)} = Σₘ W{sn}ₘ{sub(j)}·dL/dz{sn}ₘ" + (f"·mask{sub(j)}" if mask is not None else "")),
        hang("         = ", *(["[", terms, "]·", paren(mask[k, j])] if mask is not None else [terms])),
        line("         = ", num(ga[k, j], "bold")),
        line(eq(f"  dL/dz{sub(j)} = dL/da{sub(j)}·g′(z{sub(j)})"), note(f"   {_derivative(act)}")),
        line("         = ", paren(ga[k, j]), "·", fill(act.derivative_at, z=z[k, j], a=a[k, j]), " = ",
             num(gz[k, j], "bold")),
    ]


def _backward(record: StepRecord, l: int, k: int, j: int) -> list[RenderableType]:
    layer = record.layers[l]
    s = sup(l + 1)
    gz, ga = as_array(layer.grad_z), _grad_a(layer)
    gW, gb, x = as_array(layer.grad_W), as_array(layer.grad_b), as_array(layer.input)
    N = batch_size(record)
    last = l == len(record.layers) - 1
    out = _output_gradient(record, l, k, j) if last else _hidden_gradient(record, l, k, j)
    out += [
        Text(""),
        Text(f"example {k}, the whole layer:"),
        hang(f"  dL/da{s} = ", vec(ga[k], sel=j)),
        hang(f"  dL/dz{s} = ", vec(gz[k], sel=j)),
        Text(""),
        eq(f"dL/dW{s} = (dL/dz{s})ᵀ·x, summed over the batch"),
        line(f"  dL/dW{sub(j)}ᵢ = Σₙ dL/dzₙ{sub(j)}·xₙᵢ; example {k}'s share: ", paren(gz[k, j]), "·x"),
        hang(f"  x (example {k}) = ", vec(x[k])),
        line(f"  dL/dW{s} ", summary(gW)),
        hang(f"  row {j}: ", vec(gW[j], max_items=MAX_MATRIX_COLS * 4)),
    ]
    if record.l1_term:
        out.append(note("  (includes the L1 penalty's λ·sign(W))"))
    out += [
        eq(f"dL/db{s} = Σₙ dL/dzₙ, summed over the batch"),
        hang(f"  dL/db{sub(j)} = ", written_sum(((v,) for v in gz[:, j]), total=N)),
        line("        = ", num(gb[j], "bold")),
        hang(f"  dL/db{s} = ", vec(gb, sel=j)),
    ]
    if l == 0:
        out.append(note("Every gradient is known now. Next: the optimizer's update."))
    return out


# --------------------------------------------------------------------------- entry points


def render_phase(record: StepRecord, phase: Phase, example: int = 0, neuron: int = 0) -> RenderableType:
    """One phase of one training step as a Rich renderable (a pure function of its
    arguments); the example and the neuron are kept in range."""
    k = clamp(example, batch_size(record))
    j = clamp(neuron, units(record, phase))
    parts = _header(record, phase, k, j)
    if phase.kind == "forward" and phase.layer is not None:
        parts += _forward(record, phase.layer, k, j)
    elif phase.kind == "loss":
        parts += _loss_phase(record, k, j)
    elif phase.kind == "backward" and phase.layer is not None:
        parts += _backward(record, phase.layer, k, j)
    elif phase.kind == "update":
        parts += render_update(record, j)
    else:
        parts.append(Text(f"unknown phase {phase.kind!r}"))
    return Group(*parts)


def plain_text(renderable: RenderableType, width: int = 100) -> str:
    """What the renderable prints as, without colours and without trailing spaces."""
    console = Console(file=io.StringIO(), width=width, color_system=None, force_terminal=False,
                      legacy_windows=False, emoji=False, highlight=False)
    with console.capture() as capture:
        console.print(renderable)
    return "\n".join(row.rstrip() for row in capture.get().splitlines())


def phase_text(record: StepRecord, phase: Phase, example: int = 0, neuron: int = 0, width: int = 100) -> str:
    return plain_text(render_phase(record, phase, example, neuron), width)


def step_text(record: StepRecord, width: int = 100, example: int = 0, neuron: int = 0) -> str:
    """Every phase of one step, one after another: `tuidl trace`'s text."""
    return "\n\n".join(phase_text(record, p, example, neuron, width) for p in phases(record))
