"""The step-through panel: one training step shown phase by phase.

A phase is one of: forward through a layer, the loss, backward through a layer, the
optimizer's update. `render_phase` turns one phase of a `StepRecord` into a Rich
renderable; `StepThroughPanel` shows it in the app.

Everything shown here is read from the record: this module indexes, slices, formats and
summarises (shape, mean, min, max), but it never computes a value of the network, a
gradient or an update itself. Where an equation is written out with numbers, the
numbers on its right-hand side are the record's, and the result after "=" is the
record's too.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

from tuidl.engine.records import LayerRecord, StepRecord

# TF Playground's colours: blue for positive values, orange for negative ones.
POS_STYLE = "#4aa3df"
NEG_STYLE = "#f59322"
ZERO_STYLE = "dim"
EQ_STYLE = "bold"
NOTE_STYLE = "italic dim"
SEL_STYLE = "reverse"

MAX_VECTOR = 12  # longer vectors are summarised, with the selected entry in full
MAX_MATRIX_ROWS = 8
MAX_MATRIX_COLS = 8
MAX_TERMS = 16  # terms of a written-out sum

IDLE_MESSAGE = (
    "Step-through mode. Press n to take one training step on the next mini-batch and "
    "walk through it phase by phase: the forward pass layer by layer, the loss, "
    "backpropagation from the output back to the first layer, and the optimizer's "
    "update, each with the real numbers of the batch."
)
FOOTER_HINT = "n next phase · p back · [ ] example · ↑↓ neuron · PgUp/PgDn scroll"

OPTIMIZER_NAMES = {
    "sgd": "SGD",
    "adam": "Adam",
    "rmsprop": "RMSprop",
    "adagrad": "Adagrad",
    "adadelta": "Adadelta",
}
LOSS_NAMES = {
    "bce": "binary cross-entropy",
    "ce": "cross-entropy",
    "mse": "mean squared error",
}
# torch.optim's state names, and the symbols the update rules use for them.
STATE_SYMBOLS = {
    "momentum_buffer": "b",
    "exp_avg": "m",
    "exp_avg_sq": "v",
    "max_exp_avg_sq": "vmax",
    "square_avg": "v",
    "grad_avg": "ḡ",
    "sum": "s",
    "acc_delta": "u",
    "step": "t",
}
TERM_SYMBOLS = {
    "g": "g",
    "grad": "g",
    "m_hat": "m̂",
    "v_hat": "v̂",
    "update": "Δθ",
    "delta": "Δ",
    "clr": "γ̃",
    "lr": "γ̃",
    "std": "√v+ε",
}
DENOM_SYMBOLS = {"adam": "√v̂+ε", "rmsprop": "√v+ε", "adagrad": "√s+ε", "adadelta": "√(v+ε)"}


def term_symbol(optimizer: str, name: str) -> str:
    if name == "denom":
        return DENOM_SYMBOLS.get(optimizer, name)
    return TERM_SYMBOLS.get(name, name)

_SUP = str.maketrans("0123456789-+", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺")
_SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def sup(n: object) -> str:
    return str(n).translate(_SUP)


def sub(n: object) -> str:
    return str(n).translate(_SUB)


# --------------------------------------------------------------------------- numbers


def fmt(value: object, digits: int = 4) -> str:
    """A number in at most `digits` significant digits with its sign: +0.1234, −1.2e-05."""
    try:
        v = float(np.asarray(value).reshape(-1)[0]) if np.ndim(value) else float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, IndexError):
        return str(value)
    if np.isnan(v):
        return "nan"
    if np.isinf(v):
        return "+inf" if v > 0 else "−inf"
    if v == 0:
        return "0"
    s = f"{v:+.{digits}g}"
    return "−" + s[1:] if s[0] == "-" else s


def fmt_plain(value: object, digits: int = 4) -> str:
    """An option value (β₁, ε, γ...) as written in a rule: no forced sign."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, (tuple, list)):
        return "(" + ", ".join(fmt_plain(v, digits) for v in value) + ")"
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(value)
    s = f"{v:.{digits}g}"
    return "−" + s[1:] if s.startswith("-") else s


def style_of(value: object) -> str:
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return ""
    if v > 0:
        return POS_STYLE
    if v < 0:
        return NEG_STYLE
    return ZERO_STYLE


def num(value: object, extra: str = "") -> Text:
    """A coloured number."""
    if np.ndim(value):
        value = np.asarray(value).reshape(-1)[0]
    style = style_of(value)
    return Text(fmt(value), style=f"{style} {extra}".strip())


def _as_array(value: object) -> np.ndarray:
    if hasattr(value, "detach"):  # a torch tensor slipped into a record
        value = value.detach().cpu().numpy()  # type: ignore[union-attr]
    return np.asarray(value)


def shape_str(shape: Sequence[int]) -> str:
    return "×".join(str(s) for s in shape) if len(shape) else "scalar"


def summary(arr: object) -> Text:
    """shape, mean, min and max of a tensor."""
    a = _as_array(arr)
    t = Text(f"({shape_str(a.shape)}) ", style="dim")
    if a.size == 0:
        return t + Text("empty")
    t.append("mean ")
    t.append_text(num(a.mean()))
    t.append("  min ")
    t.append_text(num(a.min()))
    t.append("  max ")
    t.append_text(num(a.max()))
    return t


def vec(values: object, sel: int | None = None, max_items: int = MAX_VECTOR) -> Text:
    """[+0.1 −0.2 …] with the selected entry highlighted; summarised when long."""
    a = _as_array(values).reshape(-1)
    if a.size > max_items:
        t = summary(a)
        if sel is not None and 0 <= sel < a.size:
            t.append(f"  [{sel}] = ")
            t.append_text(num(a[sel], "bold"))
        return t
    t = Text("[")
    for i, v in enumerate(a):
        if i:
            t.append(" ")
        t.append_text(num(v, SEL_STYLE if i == sel else ""))
    t.append("]")
    return t


def _line(*parts: object) -> Text:
    t = Text()
    for p in parts:
        if isinstance(p, Text):
            t.append_text(p)
        elif isinstance(p, tuple):
            t.append(str(p[0]), style=p[1])
        else:
            t.append(str(p))
    return t


def _hang(prefix: object, *rest: object) -> Table:
    """prefix + content, where content that wraps stays indented under itself."""
    grid = Table.grid(padding=0)
    grid.add_column(no_wrap=True)
    grid.add_column(overflow="fold")
    grid.add_row(_line(prefix), _line(*rest))
    return grid


def _eq(text: str) -> Text:
    return Text(text, style=EQ_STYLE)


def _note(text: str) -> Text:
    return Text(text, style=NOTE_STYLE)


def _paren(value: object) -> Text:
    return _line("(", num(value), ")")


def _written_sum(
    pairs: Iterable[tuple[object, object]] | None = None,
    singles: Iterable[object] | None = None,
    total: int | None = None,
) -> Text:
    """(a)(b) + (c)(d) + … or (a) + (b) + …, at most MAX_TERMS terms."""
    t = Text()
    items = list(pairs) if pairs is not None else [(s,) for s in (singles or [])]
    n = len(items) if total is None else total
    for i, item in enumerate(items[:MAX_TERMS]):
        if i:
            t.append(" + ")
        for f in item:
            t.append_text(_paren(f))
    if n > MAX_TERMS:
        t.append(f" + … ({n - MAX_TERMS} more terms)", style="dim")
    return t


# --------------------------------------------------------------------------- phases


@dataclass(frozen=True)
class Phase:
    kind: str  # "forward" | "loss" | "backward" | "update"
    layer: int | None  # index into record.layers, None for loss and update
    title: str


def loss_kind(record: StepRecord) -> str:
    """bce, ce or mse: from the record's own field if it has one, else from its shapes."""
    for name in ("loss_name", "loss_kind", "loss_fn"):
        v = getattr(record, name, None)
        if isinstance(v, str) and v in LOSS_NAMES:
            return v
    out = record.layers[-1]
    act = out.activation
    # The engine pairs each loss with its output activation: bce→sigmoid, ce→softmax,
    # mse→linear (or whatever the output layer uses).
    if act == "softmax":
        return "ce"
    if act == "sigmoid":
        return "bce"
    y = _as_array(record.y)
    if y.ndim == 1 and np.issubdtype(y.dtype, np.integer):
        return "ce" if _as_array(out.z).shape[-1] > 1 else "bce"
    return "mse"


def _layer_role(record: StepRecord, l: int) -> str:
    return "output" if l == len(record.layers) - 1 else "hidden"


def _step_t(record: StepRecord) -> int:
    for layer in record.layers:
        st = layer.optimizer_state.get("W", {}) if layer.optimizer_state else {}
        if "step" in st:
            try:
                return int(float(_as_array(st["step"]).reshape(-1)[0]))
            except (TypeError, ValueError, IndexError):
                break
    return int(record.step)


def phases(record: StepRecord) -> list[Phase]:
    """forward 1..L, the loss, backward L..1, the update: 2L + 2 phases."""
    L = len(record.layers)
    out: list[Phase] = []
    for l, layer in enumerate(record.layers):
        out.append(Phase("forward", l, f"Forward · layer {l + 1} of {L} ({_layer_role(record, l)}, {layer.activation})"))
    out.append(Phase("loss", None, f"Loss ({LOSS_NAMES[loss_kind(record)]})"))
    for l in reversed(range(L)):
        out.append(Phase("backward", l, f"Backward · layer {l + 1} of {L} ({_layer_role(record, l)}, {record.layers[l].activation})"))
    name = OPTIMIZER_NAMES.get(record.optimizer, record.optimizer)
    out.append(Phase("update", None, f"Update ({name}, step {_step_t(record)})"))
    return out


def batch_size(record: StepRecord) -> int:
    return int(_as_array(record.x).shape[0])


def units(record: StepRecord, phase: Phase) -> int:
    """How many neurons the ↑↓ keys can choose from in this phase."""
    if phase.layer is not None:
        return int(_as_array(record.layers[phase.layer].z).shape[-1])
    if phase.kind == "loss":
        return int(_as_array(record.layers[-1].z).shape[-1])
    return max(int(_as_array(l.z).shape[-1]) for l in record.layers)


def _clamp(v: int, n: int) -> int:
    return max(0, min(int(v), max(n - 1, 0)))


# --------------------------------------------------------------------------- pieces

ACT_FORMULA = {
    "tanh": "tanh(z)",
    "relu": "max(0, z)",
    "leaky_relu": "max(0.01·z, z)",
    "sigmoid": "σ(z) = 1/(1 + e⁻ᶻ)",
    "linear": "z",
    "softmax": "softmax(z)ⱼ = eᶻʲ / Σₖ eᶻᵏ",
}
ACT_CALL = {
    "tanh": "tanh",
    "relu": "relu",
    "leaky_relu": "leaky_relu",
    "sigmoid": "σ",
    "linear": "",
}
ACT_DERIV = {
    "tanh": "tanh′(z) = 1 − tanh²(z) = 1 − a²",
    "relu": "relu′(z) = 1 if z > 0, else 0",
    "leaky_relu": "leaky_relu′(z) = 1 if z > 0, else 0.01",
    "sigmoid": "σ′(z) = σ(z)(1 − σ(z)) = a(1 − a)",
    "linear": "g′(z) = 1",
}


def _deriv_values(act: str, z: object, a: object) -> Text:
    """g′(z) written with the record's z or a substituted (not evaluated)."""
    if act == "tanh":
        return _line("(1 − ", _paren(a), "²)")
    if act == "relu":
        return _line("1[", num(z), " > 0]")
    if act == "leaky_relu":
        return _line("(1 if ", num(z), " > 0 else 0.01)")
    if act == "sigmoid":
        return _line(_paren(a), "(1 − ", _paren(a), ")")
    if act == "linear":
        return Text("1")
    return Text(f"{act}′(", ) + num(z) + Text(")")


def _matrix(M: object, sel_row: int | None, name: str) -> list[Text]:
    A = _as_array(M)
    if A.ndim != 2:
        return [_hang(f"{name} ", vec(A))]
    rows, cols = A.shape
    if rows <= MAX_MATRIX_ROWS and cols <= MAX_MATRIX_COLS:
        out = [_line(f"{name} ", (f"({shape_str(A.shape)})", "dim"))]
        for r in range(rows):
            mark = "▶ " if r == sel_row else "  "
            out.append(_hang(f"  {mark}", vec(A[r], max_items=cols)))
        return out
    out = [_line(f"{name} ", summary(A))]
    if sel_row is not None:
        out.append(_hang(f"  row {sel_row}: ", vec(A[sel_row], max_items=MAX_MATRIX_COLS * 4)))
    return out


def _header(record: StepRecord, example: int, neuron: int) -> Text:
    return Text(
        f"step {record.step} · epoch {record.epoch} · batch of {batch_size(record)} · "
        f"example {example} · neuron {neuron}",
        style="dim",
    )


def _yhat_label(kind: str) -> str:
    return {"bce": "ŷ = σ(z)", "ce": "ŷ = softmax(z)", "mse": "ŷ"}[kind]


def _fmt_y(y: object) -> Text:
    a = _as_array(y)
    if a.size == 1:
        v = a.reshape(-1)[0]
        if np.issubdtype(a.dtype, np.integer) or (np.isfinite(v) and float(v).is_integer()):
            return Text(str(int(v)), style="bold")  # a class label
        return num(v)
    return vec(a)


def _prediction(record: StepRecord, k: int) -> np.ndarray:
    """ŷ of example k as the engine recorded it (the output layer's a)."""
    return _as_array(record.layers[-1].a)[k]


# --------------------------------------------------------------------------- forward


def _render_forward(record: StepRecord, l: int, k: int, j: int) -> list[RenderableType]:
    layer = record.layers[l]
    L = len(record.layers)
    act = layer.activation
    s = sup(l + 1)
    x = _as_array(layer.input)[k]
    W = _as_array(layer.W)
    b = _as_array(layer.b)
    z = _as_array(layer.z)
    a = _as_array(layer.a)
    n_in = W.shape[1]
    out: list[RenderableType] = [
        _eq(f"z{s} = W{s}·x + b{s}"),
        _eq(f"a{s} = {ACT_FORMULA.get(act, act + '(z)')}"),
        Text(""),
    ]
    src = "the batch's input features" if l == 0 else f"layer {l}'s output a{sup(l)}" + (
        " after dropout" if record.layers[l - 1].dropout_mask is not None else ""
    )
    out.append(_line(f"x = {src} (example {k}, {n_in} values)"))
    out.append(_hang("  ", vec(x, max_items=MAX_VECTOR)))
    out.extend(_matrix(W, j, f"W{s}"))
    out.append(_hang(f"b{s} ", vec(b, sel=j)))
    out.append(Text(""))
    out.append(_eq(f"neuron {j}: z{sub(j)} = Σᵢ W{sub(j)}ᵢ·xᵢ + b{sub(j)}"))
    terms = _written_sum(pairs=list(zip(W[j], x)), total=n_in)
    out.append(_hang("  = ", terms, " + ", _paren(b[j])))
    out.append(_line("  = ", num(z[k, j], "bold")))
    if act == "softmax":
        out.append(_eq(f"a{sub(j)} = eᶻʲ / Σₖ eᶻᵏ over z = "))
        out.append(_hang("  ", vec(z[k], sel=j)))
        out.append(_line("  = ", num(a[k, j], "bold")))
    elif act == "linear":
        out.append(_line(_eq(f"a{sub(j)} = z{sub(j)} = "), num(a[k, j], "bold"), _note("  (linear: no activation)")))
    else:
        call = ACT_CALL.get(act, act)
        out.append(_line(_eq(f"a{sub(j)} = {call}(z{sub(j)}) = {call}("), num(z[k, j]), _eq(") = "), num(a[k, j], "bold")))
    if layer.dropout_mask is not None:
        mask = _as_array(layer.dropout_mask)
        m = mask[k, j]
        kept = "dropped" if m == 0 else "kept, scaled by 1/(1−p)"
        out.append(_line(_eq("dropout: mask"), _eq(sub(j)), " = ", num(m), _note(f"  ({kept})")))
        if l + 1 < L:
            nxt = _as_array(record.layers[l + 1].input)[k, j]
            out.append(_line(f"  passed on: a{sub(j)}·mask{sub(j)} = ", num(nxt, "bold")))
        out.append(_hang("  mask for example ", str(k), ": ", vec(mask[k], sel=j)))
    out.append(Text(""))
    out.append(_line(f"layer {l + 1}, example {k}:"))
    out.append(_hang(f"  z{s} = ", vec(z[k], sel=j)))
    out.append(_hang(f"  a{s} = ", vec(a[k], sel=j)))
    out.append(_line("whole batch: z ", summary(z)))
    out.append(_line("             a ", summary(a)))
    if l == L - 1:
        kind = loss_kind(record)
        out.append(_note(f"This is the network's prediction: {_yhat_label(kind)}. Next: the loss."))
    return out


# --------------------------------------------------------------------------- loss


def _render_loss(record: StepRecord, k: int, j: int) -> list[RenderableType]:
    kind = loss_kind(record)
    outl = record.layers[-1]
    yhat = _prediction(record, k)
    y = _as_array(record.y)
    yk = y[k]
    N = batch_size(record)
    out: list[RenderableType] = []
    if kind == "bce":
        out.append(_eq("L = −(1/N) Σₙ [yₙ·log ŷₙ + (1 − yₙ)·log(1 − ŷₙ)]"))
        out.append(_note("binary cross-entropy, ŷ = σ(z) the predicted probability of class 1"))
        out.append(Text(""))
        p = yhat.reshape(-1)[0]
        out.append(_line(f"example {k}: y = ", _fmt_y(yk), ", ŷ = ", num(p, "bold"), _note(f"  (z = {fmt(_as_array(outl.z)[k].reshape(-1)[0])})")))
        out.append(_line("  term = −[", _fmt_y(yk), "·log", _paren(p), " + (1 − ", _fmt_y(yk), ")·log(1 − ", _paren(p), ")]"))
    elif kind == "ce":
        out.append(_eq("L = −(1/N) Σₙ log softmax(zₙ)_yₙ"))
        out.append(_note("cross-entropy: minus the log of the probability given to the true class"))
        out.append(Text(""))
        cls = int(np.asarray(yk).reshape(-1)[0])
        out.append(_line(f"example {k}: y = class {cls}"))
        out.append(_hang("  z = ", vec(_as_array(outl.z)[k], sel=cls)))
        out.append(_hang("  ŷ = softmax(z) = ", vec(yhat, sel=cls)))
        if 0 <= cls < yhat.shape[-1]:
            out.append(_line(f"  term = −log ŷ{sub(cls)} = −log", _paren(yhat[cls])))
    else:
        out.append(_eq("L = (1/N) Σ (ŷ − y)²"))
        out.append(_note("mean squared error, the mean over every output of every example"))
        out.append(Text(""))
        yv = _as_array(yk).reshape(-1)
        hv = yhat.reshape(-1)
        out.append(_hang(f"example {k}: ŷ = ", vec(hv, sel=j)))
        out.append(_hang(f"{' ' * (len(str(k)) + 10)}y = ", vec(yv, sel=j)))
        jj = _clamp(j, hv.size)
        out.append(_line(f"  output {jj}: (ŷ − y)² = (", num(hv[jj]), " − ", _paren(yv[jj] if jj < yv.size else np.nan), ")²"))
    out.append(Text(""))
    # The batch at a glance (targets and predictions), when it is small enough.
    if N <= 16:
        out.append(_line("batch (n: y → ŷ):"))
        for n in range(N):
            mark = "▶" if n == k else " "
            pred = _prediction(record, n).reshape(-1)
            ptxt = num(pred[0]) if pred.size == 1 else vec(pred)
            out.append(_line(f" {mark}{n:>3}: ", _fmt_y(y[n]), " → ", ptxt))
        out.append(Text(""))
    else:
        out.append(_line("ŷ over the batch ", summary(_as_array(outl.a))))
    out.append(_line(_eq("data loss (batch mean) = "), num(record.data_loss, "bold")))
    if record.l1_term:
        out.append(_line(_eq("L1 term λ·Σ|W| = "), num(record.l1_term, "bold")))
    else:
        out.append(_line("L1 term = ", num(record.l1_term), _note("  (no L1 penalty)")))
    out.append(_line(_eq("total loss L = "), num(record.loss, "bold")))
    out.append(_note(f"N = {N}: the mean makes the loss independent of the batch size."))
    return out


# --------------------------------------------------------------------------- backward


def _render_backward(record: StepRecord, l: int, k: int, j: int) -> list[RenderableType]:
    layer = record.layers[l]
    L = len(record.layers)
    act = layer.activation
    s = sup(l + 1)
    z = _as_array(layer.z)
    a = _as_array(layer.a)
    gz = _as_array(layer.grad_z)
    # dL/da may be missing from a record (the output layer's is implied by the loss).
    ga = _as_array(layer.grad_a) if layer.grad_a is not None else np.full(gz.shape, np.nan)
    gW = _as_array(layer.grad_W)
    gb = _as_array(layer.grad_b)
    x = _as_array(layer.input)
    N = batch_size(record)
    out: list[RenderableType] = []
    if l == L - 1:
        kind = loss_kind(record)
        y = _as_array(record.y)
        if kind == "bce":
            out.append(_eq(f"dL/dz{s} = (σ(z) − y)/N = (ŷ − y)/N"))
            out.append(_note("sigmoid and binary cross-entropy differentiated together"))
            out.append(_line(f"  dL/da = dL/dŷ{sub(j)} = ", num(ga[k, j]), _note("  (for reference)")))
            out.append(_line(f"example {k}: (", num(a[k, j]), " − ", _fmt_y(y[k]), f")/{N} = ", num(gz[k, j], "bold")))
        elif kind == "ce":
            cls = int(np.asarray(y[k]).reshape(-1)[0])
            out.append(_eq(f"dL/dz{s} = (softmax(z) − onehot(y))/N = (ŷ − onehot(y))/N"))
            out.append(_note("softmax and cross-entropy differentiated together"))
            out.append(_line(f"example {k}, y = class {cls}, output {j}: (", num(a[k, j]), f" − {1 if j == cls else 0})/{N} = ", num(gz[k, j], "bold")))
        else:
            n_all = int(y.size)
            yv = _as_array(y[k]).reshape(-1)
            out.append(_eq(f"dL/dŷ = 2(ŷ − y)/N   (N = {n_all} outputs in the batch)"))
            out.append(_line(f"example {k}, output {j}: 2(", num(a[k, j]), " − ", _paren(yv[j] if j < yv.size else np.nan), f")/{n_all} = ", num(ga[k, j], "bold")))
            out.append(_eq(f"dL/dz{s} = dL/dŷ ⊙ g′(z)"))
            out.append(_hang("  with ", _eq(ACT_DERIV.get(act, act + "′"))))
            out.append(_hang("  = ", _paren(ga[k, j]), "·", _deriv_values(act, z[k, j], a[k, j]), " = ", num(gz[k, j], "bold")))
    else:
        nxt = record.layers[l + 1]
        sn = sup(l + 2)
        Wn = _as_array(nxt.W)
        gzn = _as_array(nxt.grad_z)
        mask = None if layer.dropout_mask is None else _as_array(layer.dropout_mask)
        out.append(_eq(f"dL/da{s} = W{sn}ᵀ · dL/dz{sn}" + (" ⊙ dropout mask" if mask is not None else "")))
        out.append(_note("each neuron collects the gradients of the neurons it feeds, weighted by those links"))
        out.append(_line(f"neuron {j}: dL/da{sub(j)} = Σₘ W{sn}ₘ{sub(j)}·dL/dz{sn}ₘ" + (f" · mask{sub(j)}" if mask is not None else "")))
        terms = _written_sum(pairs=list(zip(Wn[:, j], gzn[k])), total=Wn.shape[0])
        if mask is not None:
            out.append(_hang("  = [", terms, "]·", _paren(mask[k, j])))
        else:
            out.append(_hang("  = ", terms))
        out.append(_line("  = ", num(ga[k, j], "bold")))
        out.append(Text(""))
        out.append(_eq(f"dL/dz{s} = dL/da{s} ⊙ g′(z{s})"))
        out.append(_hang("  with ", _eq(ACT_DERIV.get(act, act + "′"))))
        out.append(_line(f"neuron {j}: ", _paren(ga[k, j]), "·", _deriv_values(act, z[k, j], a[k, j]), " = ", num(gz[k, j], "bold")))
    out.append(_hang(f"example {k}: dL/da{s} = ", vec(ga[k], sel=j)))
    out.append(_hang(f"{' ' * (len(str(k)) + 10)}dL/dz{s} = ", vec(gz[k], sel=j)))
    out.append(Text(""))
    out.append(_eq(f"dL/dW{s} = (dL/dz{s})ᵀ · x   summed over the batch"))
    out.append(_line(f"  dL/dW{sub(j)}ᵢ = Σₙ dL/dzₙ{sub(j)}·xₙᵢ; example {k}'s share: ", _paren(gz[k, j]), "·x"))
    out.append(_hang(f"  x (example {k}) = ", vec(x[k])))
    out.append(_line("  dL/dW ", summary(gW)))
    out.append(_hang(f"  row {j}: ", vec(gW[j], max_items=MAX_MATRIX_COLS * 4)))
    if record.l1_term:
        out.append(_note("  (includes the L1 penalty's λ·sign(W))"))
    out.append(_eq(f"dL/db{s} = Σₙ dL/dzₙ   summed over the batch"))
    out.append(_hang(f"  dL/db{sub(j)} = ", _written_sum(singles=list(gz[:, j]), total=N)))
    out.append(_line("  = ", num(gb[j], "bold")))
    out.append(_hang(f"  dL/db{s} = ", vec(gb, sel=j)))
    if l == 0:
        out.append(_note("Every gradient is known now. Next: the optimizer's update."))
    return out


# --------------------------------------------------------------------------- update


def _opt(record: StepRecord, name: str, default: object) -> object:
    return record.options.get(name, default) if record.options else default


def _rules(record: StepRecord) -> list[Text]:
    """The optimizer's rule in unicode math, with the values in use substituted."""
    o = record.optimizer
    lr = fmt_plain(record.lr)
    wd = float(_opt(record, "weight_decay", 0.0) or 0.0)  # type: ignore[arg-type]
    t = _step_t(record)
    lines: list[str] = []
    legend: list[str] = [f"γ = {lr}"]
    if wd:
        lines.append(f"g ← g + {fmt_plain(wd)}·θ")
        legend.append(f"λ = {fmt_plain(wd)} (weight decay)")
    if o == "sgd":
        mu = float(_opt(record, "momentum", 0.0) or 0.0)  # type: ignore[arg-type]
        tau = float(_opt(record, "dampening", 0.0) or 0.0)  # type: ignore[arg-type]
        nest = bool(_opt(record, "nesterov", False))
        if mu:
            lines.append(f"b ← {fmt_plain(mu)}·b + (1 − {fmt_plain(tau)})·g   (first step: b = g)")
            lines.append(f"θ ← θ − {lr}·(g + {fmt_plain(mu)}·b)" if nest else f"θ ← θ − {lr}·b")
            legend += [f"μ = {fmt_plain(mu)}", f"τ = {fmt_plain(tau)}"] + (["nesterov"] if nest else [])
        else:
            lines.append(f"θ ← θ − {lr}·g")
    elif o == "adam":
        b1, b2 = _opt(record, "betas", (0.9, 0.999))  # type: ignore[misc]
        eps = fmt_plain(_opt(record, "eps", 1e-8))
        B1, B2 = fmt_plain(b1), fmt_plain(b2)
        lines.append(f"m ← {B1}·m + (1 − {B1})·g")
        lines.append(f"v ← {B2}·v + (1 − {B2})·g²")
        lines.append(f"m̂ = m/(1 − {B1}{sup(t)})")
        if _opt(record, "amsgrad", False):
            lines.append("vmax ← max(vmax, v)")
            lines.append(f"v̂ = vmax/(1 − {B2}{sup(t)})")
        else:
            lines.append(f"v̂ = v/(1 − {B2}{sup(t)})")
        lines.append(f"θ ← θ − {lr}·m̂/(√v̂ + {eps})")
        legend += [f"β₁ = {B1}", f"β₂ = {B2}", f"ε = {eps}", f"t = {t}"]
    elif o == "rmsprop":
        al = fmt_plain(_opt(record, "alpha", 0.99))
        eps = fmt_plain(_opt(record, "eps", 1e-8))
        mu = float(_opt(record, "momentum", 0.0) or 0.0)  # type: ignore[arg-type]
        centered = bool(_opt(record, "centered", False))
        lines.append(f"v ← {al}·v + (1 − {al})·g²")
        den = "√v"
        if centered:
            lines.append(f"ḡ ← {al}·ḡ + (1 − {al})·g")
            den = "√(v − ḡ²)"
        if mu:
            lines.append(f"b ← {fmt_plain(mu)}·b + g/({den} + {eps})")
            lines.append(f"θ ← θ − {lr}·b")
            legend.append(f"μ = {fmt_plain(mu)}")
        else:
            lines.append(f"θ ← θ − {lr}·g/({den} + {eps})")
        legend += [f"α = {al}", f"ε = {eps}"]
    elif o == "adagrad":
        eps = fmt_plain(_opt(record, "eps", 1e-10))
        dec = fmt_plain(_opt(record, "lr_decay", 0.0))
        lines.append("s ← s + g²")
        lines.append(f"γ̃ = {lr}/(1 + ({t} − 1)·{dec})")
        lines.append(f"θ ← θ − γ̃·g/(√s + {eps})")
        legend += [f"η = {dec} (lr_decay)", f"ε = {eps}", f"t = {t}"]
    elif o == "adadelta":
        rho = fmt_plain(_opt(record, "rho", 0.9))
        eps = fmt_plain(_opt(record, "eps", 1e-6))
        lines.append(f"v ← {rho}·v + (1 − {rho})·g²")
        lines.append(f"Δ = √(u + {eps})/√(v + {eps})·g")
        lines.append(f"u ← {rho}·u + (1 − {rho})·Δ²")
        lines.append(f"θ ← θ − {lr}·Δ")
        legend += [f"ρ = {rho}", f"ε = {eps}"]
    else:
        lines.append(f"θ ← θ − {lr}·(the {o} step)")
    return [_eq(line) for line in lines] + [_note("with " + ", ".join(legend))]


def _pick(value: object, idx: tuple[int, ...]) -> object:
    """The entry of a state/term tensor at the parameter's index, or a summary of it."""
    a = _as_array(value)
    if a.ndim == 0:
        return a
    try:
        return a[idx] if a.ndim == len(idx) else None
    except IndexError:
        return None


def _param_line(optimizer: str, label: str, before: object, grad: object, after: object,
                state: dict, terms: dict, idx: tuple[int, ...]) -> list[RenderableType]:
    """One parameter's numbers in this update: θ → θ′, its gradient, terms and state."""
    terms = dict(terms or {})
    pad = " " * (len(label) + 1)
    out: list[RenderableType] = []
    upd = terms.pop("update", None)
    head = _line(_eq(label), " θ ", num(_as_array(before)[idx]), " → θ′ ", num(_as_array(after)[idx], "bold"))
    if upd is not None:
        v = _pick(upd, idx)
        head.append("   (Δθ ")
        head.append_text(num(v) if v is not None else summary(upd))
        head.append(")")
    out.append(head)
    g_line = _line("grad ", num(_as_array(grad)[idx]))
    g = terms.pop("g", None)
    if g is not None:
        v = _pick(g, idx)
        g_line.append(" · g ")
        g_line.append_text(num(v) if v is not None else summary(g))
    out.append(_hang(pad, g_line))
    if terms:
        parts: list[object] = []
        for name, value in terms.items():
            v = _pick(value, idx)
            parts += [" · " if parts else "", f"{term_symbol(optimizer, name)} ", num(v) if v is not None else summary(value)]
        out.append(_hang(pad, *parts))
    if state:
        parts = ["state: "]
        for i, (name, value) in enumerate(state.items()):
            sym = STATE_SYMBOLS.get(name, name)
            lab = f"{sym} ({name}) " if sym != name else f"{name} "
            parts += [" · " if i else "", lab]
            if name == "step":
                a = _as_array(value)
                parts.append(fmt_plain(a.reshape(-1)[0]) if a.size else str(value))
            else:
                v = _pick(value, idx)
                parts.append(num(v) if v is not None else summary(value))
        out.append(_hang(pad, *parts))
    return out


def _render_update(record: StepRecord, j: int) -> list[RenderableType]:
    out: list[RenderableType] = list(_rules(record))
    out.append(_note("g: the gradient dL/dθ from backpropagation (plus λθ with weight decay); "
                     "Δθ: the change applied, θ′ = θ − Δθ; state: what the optimizer keeps"))
    for l, layer in enumerate(record.layers):
        s = sup(l + 1)
        W = _as_array(layer.W)
        jl = _clamp(j, W.shape[0])
        out.append(Text(""))
        out.append(Text(f"Layer {l + 1} ({_layer_role(record, l)}) · neuron {jl}", style="bold underline"))
        out.append(_hang(f"  W{s} before ", summary(W)))
        out.append(_hang(f"     grad   ", summary(layer.grad_W)))
        out.append(_hang(f"     after  ", summary(layer.W_after)))
        st_W = (layer.optimizer_state or {}).get("W", {})
        tm_W = (layer.optimizer_terms or {}).get("W", {})
        st_b = (layer.optimizer_state or {}).get("b", {})
        tm_b = (layer.optimizer_terms or {}).get("b", {})
        out.extend(_param_line(record.optimizer, f"  W{s}{sub(jl)}₀", W, layer.grad_W, layer.W_after, st_W, tm_W, (jl, 0)))
        out.extend(_param_line(record.optimizer, f"  b{s}{sub(jl)}", layer.b, layer.grad_b, layer.b_after, st_b, tm_b, (jl,)))
        if W.shape[1] <= MAX_VECTOR:
            out.append(_hang(f"  row {jl} before ", vec(W[jl])))
            out.append(_hang(f"  row {jl} after  ", vec(_as_array(layer.W_after)[jl])))
    return out


# --------------------------------------------------------------------------- entry points


def render_phase(record: StepRecord, phase: Phase, example: int = 0, neuron: int = 0,
                 keys_hint: bool = True) -> RenderableType:
    """One phase of one training step as a Rich renderable (a pure function of its arguments).

    keys_hint: end with the app's keys (off for `tuidl trace`, which has none)."""
    k = _clamp(example, batch_size(record))
    j = _clamp(neuron, units(record, phase))
    parts: list[RenderableType] = [
        Text(phase.title, style="bold underline"),
        _header(record, k, j),
        Text(""),
    ]
    if phase.kind == "forward" and phase.layer is not None:
        parts += _render_forward(record, phase.layer, k, j)
    elif phase.kind == "loss":
        parts += _render_loss(record, k, j)
    elif phase.kind == "backward" and phase.layer is not None:
        parts += _render_backward(record, phase.layer, k, j)
    elif phase.kind == "update":
        parts += _render_update(record, j)
    else:
        parts.append(Text(f"unknown phase {phase.kind!r}"))
    if keys_hint:
        parts += [Text(""), Text(FOOTER_HINT, style="dim")]
    return Group(*parts)


class StepThroughPanel(VerticalScroll, inherit_bindings=False):
    """Shows one phase of a training step; scrolls when the text is taller than the panel.

    The panel leaves n, [, ], ↑ and ↓ to the app (it does not inherit the scroll bindings
    of VerticalScroll, which would take ↑↓ while it has focus); it scrolls with PgUp/PgDn,
    Home/End, shift+↑↓ and the mouse wheel.
    """

    BINDINGS = [
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("home", "scroll_home", "Top", show=False),
        Binding("end", "scroll_end", "Bottom", show=False),
        Binding("shift+up", "scroll_up", "Scroll up", show=False),
        Binding("shift+down", "scroll_down", "Scroll down", show=False),
    ]

    DEFAULT_CSS = """
    StepThroughPanel {
        height: 1fr;
        padding: 0 1;
    }
    StepThroughPanel > #stepthrough-body {
        width: 100%;
    }
    """

    def __init__(self, *, name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.record: StepRecord | None = None
        self.phase_index = 0
        self.example = 0
        self.neuron = 0
        self._body = Static(Text(IDLE_MESSAGE), id="stepthrough-body")

    def compose(self) -> ComposeResult:
        yield self._body

    @property
    def phase_list(self) -> list[Phase]:
        return phases(self.record) if self.record is not None else []

    def show(self, record: StepRecord, phase_index: int, example: int = 0, neuron: int = 0) -> None:
        plist = phases(record)
        phase_index = _clamp(phase_index, len(plist))
        phase = plist[phase_index]
        same_phase = record is self.record and phase_index == self.phase_index
        self.record = record
        self.phase_index = phase_index
        self.example = _clamp(example, batch_size(record))
        self.neuron = _clamp(neuron, units(record, phase))
        self._body.update(render_phase(record, phase, self.example, self.neuron))
        if not same_phase:
            self.scroll_home(animate=False)

    def clear(self, message: str = IDLE_MESSAGE) -> None:
        self.record = None
        self.phase_index = 0
        self._body.update(Group(Text(message), Text(""), Text("n start a step", style="dim")))
        self.scroll_home(animate=False)
