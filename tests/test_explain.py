"""tuidl.explain renders what the record says, phase by phase; StepCursor navigates; the
step-through panel shows it in the app."""
from __future__ import annotations

import asyncio
import re

import numpy as np
import pytest

from tuidl import config as cfg
from tuidl.engine.records import LayerRecord, StepRecord
from tuidl.explain import (StepCursor, batch_size, fmt, phase_text, phases, plain_text, render_phase, step_text,
                           units)
from tuidl.explain.render import NOT_FINITE

# --------------------------------------------------------------------------- hand-built records
# numpy in the test computes a small network's step (plain SGD), so the explain layer is
# tested without the engine.

ACTS = {
    "tanh": (np.tanh, lambda z, a: 1 - a**2),
    "relu": (lambda z: np.maximum(z, 0), lambda z, a: (z > 0).astype(float)),
    "sigmoid": (lambda z: 1 / (1 + np.exp(-z)), lambda z, a: a * (1 - a)),
    "linear": (lambda z: z, lambda z, a: np.ones_like(z)),
}
OUTPUT = {"bce": "sigmoid", "ce": "softmax", "mse": "linear"}


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def make_record(sizes=(2, 3, 1), act="tanh", loss="bce", batch=5, dropout_layer=None, l1=0.0, seed=0,
                lr=0.03, momentum=0.0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(batch, sizes[0]))
    n_out = sizes[-1]
    y = rng.integers(0, 2, size=(batch, 1)).astype(float) if loss == "bce" else (
        rng.integers(0, n_out, size=batch) if loss == "ce" else rng.normal(size=(batch, n_out)))
    Ws = [rng.uniform(-1, 1, size=(o, i)) for i, o in zip(sizes[:-1], sizes[1:])]
    bs = [rng.uniform(-1, 1, size=o) for o in sizes[1:]]
    L = len(Ws)
    inputs, zs, as_, masks = [], [], [], []
    h = x
    for l in range(L):
        inputs.append(h)
        z = h @ Ws[l].T + bs[l]
        out_act = OUTPUT[loss] if l == L - 1 else act
        a = _softmax(z) if out_act == "softmax" else ACTS[out_act][0](z)
        mask = rng.integers(0, 2, size=a.shape) * 2.0 if dropout_layer == l else None
        zs.append(z), as_.append(a), masks.append(mask)
        h = a * mask if mask is not None else a
    yhat = as_[-1]
    if loss == "bce":
        data_loss = float(-np.mean(y * np.log(yhat) + (1 - y) * np.log(1 - yhat)))
        gz = (yhat - y) / batch
        ga = gz / (yhat * (1 - yhat))
    elif loss == "ce":
        data_loss = float(-np.mean(np.log(yhat[np.arange(batch), y])))
        gz = (yhat - np.eye(n_out)[y]) / batch
        ga = -np.eye(n_out)[y] / yhat / batch
    else:
        data_loss = float(np.mean((yhat - y) ** 2))
        ga = gz = 2 * (yhat - y) / y.size
    l1_term = float(l1 * sum(np.abs(W).sum() for W in Ws))
    grads_a, grads_z = [None] * L, [None] * L
    grads_a[-1], grads_z[-1] = ga, gz
    for l in reversed(range(L - 1)):
        g = grads_z[l + 1] @ Ws[l + 1]
        if masks[l] is not None:
            g = g * masks[l]
        grads_a[l], grads_z[l] = g, g * ACTS[act][1](zs[l], as_[l])
    layers = []
    for l in range(L):
        gW = grads_z[l].T @ inputs[l] + l1 * np.sign(Ws[l])
        gb = grads_z[l].sum(axis=0)
        state, terms = {}, {}
        for name, p, g in (("W", Ws[l], gW), ("b", bs[l], gb)):  # SGD's first step
            state[name] = {"momentum_buffer": g.copy(), "step": 1} if momentum else {"step": 1}
            terms[name] = {"g": g, "update": -lr * g}
        layers.append(LayerRecord(
            index=l, activation=OUTPUT[loss] if l == L - 1 else act, W=Ws[l], b=bs[l], input=inputs[l],
            z=zs[l], a=as_[l], dropout_mask=masks[l], grad_a=grads_a[l], grad_z=grads_z[l], grad_W=gW,
            grad_b=gb, W_after=Ws[l] + terms["W"]["update"], b_after=bs[l] + terms["b"]["update"],
            optimizer_state=state, optimizer_terms=terms))
    options = {**cfg.OPTIMIZER_DEFAULTS["sgd"], "momentum": momentum}
    return StepRecord(step=1, epoch=1, x=x, y=y, loss=data_loss + l1_term, data_loss=data_loss,
                      l1_term=l1_term, layers=layers, loss_name=loss, optimizer="sgd", lr=lr, options=options)


def flat(text: str) -> str:
    """The text with line wrapping undone (numbers never wrap: they hold no spaces)."""
    return " ".join(text.split())


def check_values(rec: StepRecord, k: int, j: int, width: int = 100) -> None:
    """Every phase shows the record's own numbers for example k, neuron j."""
    for phase in phases(rec):
        txt = phase_text(rec, phase, k, j, width)
        assert f"example {k}" in txt
        if phase.kind in ("forward", "backward"):
            layer = rec.layers[phase.layer]
            jj = min(j, layer.z.shape[1] - 1)
            assert f"neuron {jj}" in txt
        if phase.kind == "forward":
            for value in (layer.z[k, jj], layer.a[k, jj], layer.b[jj], layer.W[jj, 0], layer.input[k, 0]):
                assert fmt(value) in txt
        elif phase.kind == "loss":
            for value in (rec.data_loss, rec.loss, rec.layers[-1].a[k].reshape(-1)[0]):
                assert fmt(value) in txt
        elif phase.kind == "backward":
            for value in (layer.grad_z[k, jj], layer.grad_b[jj], layer.grad_W[jj, 0]):
                assert fmt(value) in txt
            if phase.layer < len(rec.layers) - 1:
                assert fmt(layer.grad_a[k, jj]) in txt
        else:
            for layer in rec.layers:
                jj = min(j, layer.W.shape[0] - 1)
                for value in (layer.W[jj, 0], layer.grad_W[jj, 0], layer.W_after[jj, 0], layer.b_after[jj],
                              layer.W_after[jj, 0] - layer.W[jj, 0]):
                    assert fmt(value) in txt


def real_record(loss="bce", dataset="circle", classes=2, optimizer="sgd", options=None, dropout=0.0, l1=0.0,
                activation="tanh", lr=0.03, steps=2, dtype="float32"):
    pytest.importorskip("torch")
    from tuidl.engine.trainer import Trainer

    exp = cfg.default_experiment()
    exp.data.dataset, exp.data.classes = dataset, classes
    exp.train.loss, exp.train.optimizer, exp.train.lr, exp.train.l1 = loss, optimizer, lr, l1
    exp.train.options, exp.train.dtype = dict(options or {}), dtype
    for layer in exp.model.hidden:
        layer.activation = activation
    exp.model.hidden[0].dropout = dropout
    cfg.validate(exp)
    trainer = Trainer(exp)
    for _ in range(steps):
        rec = trainer.step()
    return rec


# --------------------------------------------------------------------------- numbers and phases


def test_fmt():
    assert fmt(0.123456) == "+0.1235"
    assert fmt(-1.2e-05) == "−1.2e-05"
    assert fmt(0) == "0"
    assert fmt(np.float32(2.5)) == "+2.5"
    assert fmt(np.array([3.0])) == "+3"
    assert fmt(float("nan")) == "nan"
    assert fmt(float("-inf")) == "−inf"
    assert fmt(float("inf")) == "+inf"


@pytest.mark.parametrize("sizes", [(2, 1), (2, 3, 1), (2, 4, 2, 1)])
def test_phases_order_and_titles(sizes):
    rec = make_record(sizes=sizes)
    ps = phases(rec)
    L = len(sizes) - 1
    assert len(ps) == 2 * L + 2
    assert [p.kind for p in ps] == ["forward"] * L + ["loss"] + ["backward"] * L + ["update"]
    assert [p.layer for p in ps] == list(range(L)) + [None] + list(reversed(range(L))) + [None]
    assert ps[L - 1].title == f"Forward · layer {L} of {L} (output, sigmoid)"
    assert ps[L].title == "Loss (binary cross-entropy)"
    assert ps[L + 1].title.startswith(f"Backward · layer {L} of {L} (output")
    assert ps[-1].title == "Update (SGD, step 1)"
    if L > 1:
        assert ps[0].title == f"Forward · layer 1 of {L} (hidden, tanh)"


@pytest.mark.parametrize("loss, title", [("bce", "binary cross-entropy"), ("ce", "cross-entropy"),
                                         ("mse", "mean squared error")])
def test_the_loss_comes_from_the_record(loss, title):
    rec = make_record(sizes=(2, 3, 3 if loss != "bce" else 1), loss=loss)
    assert phases(rec)[2].title == f"Loss ({title})"


@pytest.mark.parametrize("loss, sizes", [("bce", (2, 3, 1)), ("ce", (2, 4, 3)), ("mse", (3, 2, 2))])
def test_handbuilt_values_shown(loss, sizes):
    rec = make_record(sizes=sizes, loss=loss, l1=0.01)
    check_values(rec, 2, 1)
    check_values(rec, 0, 0)


def test_relu_dropout_and_deep_net():
    rec = make_record(sizes=(2, 4, 3, 1), act="relu", dropout_layer=0)
    check_values(rec, 3, 2)
    txt = phase_text(rec, phases(rec)[0], 3, 2)
    assert "dropout" in txt
    assert fmt(rec.layers[1].input[3, 2]) in txt  # the value passed on after the mask
    txt = phase_text(rec, phases(rec)[-2], 3, 2)  # backward, layer 1
    assert "mask" in txt and "relu′(z) = 1 if z > 0 else 0" in txt


def test_narrow_width_and_large_layers():
    rec = make_record(sizes=(64, 20, 10), loss="ce", batch=32)
    for phase in phases(rec):
        for width in (40, 80):
            assert phase_text(rec, phase, 31, 19, width).strip()
    txt = phase_text(rec, phases(rec)[0], 5, 7)
    assert "more terms" in flat(txt)  # a 64-term sum is shortened
    assert "mean" in txt  # the 20×64 matrix is summarised
    assert fmt(rec.layers[0].z[5, 7]) in txt


def test_header_and_no_key_hints():
    rec = make_record()
    txt = phase_text(rec, phases(rec)[0], 1, 2)
    assert "step 1 · epoch 1 · batch of 5 · example 1 · neuron 2" in txt
    assert "PgUp" not in txt and "n next" not in txt  # the app adds its own keys


# --------------------------------------------------------------------------- the cursor


def test_cursor_moves_and_clamps():
    rec = make_record(sizes=(2, 3, 1), batch=4)
    c = StepCursor(rec)
    assert (c.phase_index, c.example, c.neuron, c.phase_count) == (0, 0, 0, 6)
    assert not c.prev() and c.phase_index == 0
    assert c.move_neuron(5) and c.neuron == 2  # layer 1 has 3 neurons
    assert not c.move_neuron(1) and c.neuron == 2
    assert c.move_example(99) and c.example == 3 and not c.move_example(1)
    assert c.move_example(-99) and c.example == 0
    c.move_example(3)
    assert c.next() and c.phase.layer == 1 and c.neuron == 0  # the output has 1 neuron
    assert c.next() and c.phase.kind == "loss"
    while c.next():
        pass
    assert c.at_last_phase and c.phase.kind == "update" and c.phase_index == 5
    assert not c.next()
    assert c.prev() and c.phase.kind == "backward" and c.phase.layer == 0
    assert c.neuron == 2  # the choice is kept where the layer has it
    small = make_record(sizes=(2, 2, 1), batch=2, seed=1)
    d = c.with_record(small)
    assert (d.phase_index, d.example, d.neuron, d.record) == (0, 1, 1, small)
    assert (c.phase_index, c.example) == (4, 3)  # the old cursor is left alone
    e = StepCursor(rec, phase_index=99, example=99, neuron=99)
    assert (e.phase_index, e.example, e.neuron) == (5, 3, 2)
    assert units(rec, phases(rec)[0]) == 3 and units(rec, phases(rec)[1]) == 1 and batch_size(rec) == 4


def test_render_clamps_too():
    rec = make_record(sizes=(2, 3, 1), batch=4)
    ps = phases(rec)
    txt = phase_text(rec, ps[0], 99, 99)
    assert "example 3 · neuron 2" in txt and fmt(rec.layers[0].z[3, 2]) in txt
    txt = phase_text(rec, ps[1], -5, 99)
    assert "example 0 · neuron 0" in txt and fmt(rec.layers[1].z[0, 0]) in txt


# --------------------------------------------------------------------------- the fixes


def _index(txt: str, pattern: str) -> int:
    m = re.search(pattern, txt, re.M)
    assert m, (pattern, txt)
    return m.start()


def test_the_neurons_equation_comes_before_the_matrices():
    rec = make_record(sizes=(2, 4, 2, 1))
    ps = phases(rec)
    fwd = phase_text(rec, ps[1], 1, 1)
    assert _index(fwd, r"^neuron 1, example 1:") < _index(fwd, r"^W² \(2×4\)") < _index(fwd, r"^whole batch")
    assert _index(fwd, r"a₁ = tanh\(z₁\) = tanh\(") < _index(fwd, r"^example 1, the whole layer")
    bwd = phase_text(rec, ps[5], 1, 1)  # backward, layer 2
    assert _index(bwd, r"dL/dz₁ = dL/da₁·g′\(z₁\)") < _index(bwd, r"^example 1, the whole layer") \
        < _index(bwd, r"^dL/dW²")
    upd = phase_text(rec, ps[-1], 1, 1)
    assert _index(upd, r"Δθ = −γ·g") < _index(upd, r"^Layer 1")


def test_tanh_derivative_does_not_reuse_a_squared():
    rec = make_record(sizes=(2, 3, 1))
    txt = phase_text(rec, phases(rec)[-2], 0, 1)  # backward, layer 1 (tanh)
    assert "tanh′(z) = 1 − tanh²(z)" in txt
    assert "a²" not in txt.replace("dL/da²", "")  # a² is layer 2's output, not tanh²
    layer = rec.layers[0]
    assert f"(1 − ({fmt(layer.a[0, 1])})²)" in txt  # the recorded a = tanh(z) put in
    assert fmt(layer.grad_z[0, 1]) in txt


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_delta_theta_is_the_change_applied(optimizer):
    """The engine records Δθ = θ′ − θ, and a weight that decreases shows a negative Δθ."""
    rec = real_record(optimizer=optimizer, dtype="float32")
    seen = {"+": 0, "−": 0}
    for l, layer in enumerate(rec.layers):
        assert np.array_equal(layer.optimizer_terms["W"]["update"], layer.W_after - layer.W)
        assert np.array_equal(layer.optimizer_terms["b"]["update"], layer.b_after - layer.b)
        for j in range(layer.W.shape[0]):
            if l and j >= rec.layers[0].W.shape[0]:
                continue
            d = layer.W_after[j, 0] - layer.W[j, 0]
            if d == 0:
                continue
            txt = phase_text(rec, phases(rec)[-1], 0, j)
            shown = f"Δθ = {fmt(d)}   θ′ = θ + Δθ = ({fmt(layer.W[j, 0])}) + ({fmt(d)}) = {fmt(layer.W_after[j, 0])}"
            assert shown in txt
            seen[fmt(d)[0]] += 1
    assert seen["+"] and seen["−"]  # both directions checked


@pytest.mark.parametrize("loss", ["bce", "ce", "mse"])
def test_loss_phase_gives_the_examples_term_its_value(loss):
    """The term shown is the formula on the recorded numbers; it equals torch's loss on that
    example, and the batch's terms average to the recorded data loss."""
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    dataset, classes = {"bce": ("circle", 2), "ce": ("spiral", 3), "mse": ("plane", 2)}[loss]
    rec = real_record(loss, dataset, classes, dtype="float64")
    out = rec.layers[-1]
    z, a, y = torch.tensor(out.z), torch.tensor(out.a), torch.tensor(rec.y)
    terms = []
    for k in range(batch_size(rec)):
        if loss == "bce":
            theirs = [F.binary_cross_entropy_with_logits(z[k], y[k]).item()]
        elif loss == "ce":
            theirs = [F.cross_entropy(z[k:k + 1], y[k:k + 1]).item()]
        else:
            theirs = F.mse_loss(a[k], y[k], reduction="none").tolist()
        terms += theirs
        j = len(theirs) - 1
        txt = phase_text(rec, phases(rec)[len(rec.layers)], k, j)
        assert re.search(r"term = .*\n\s+= .*\n\s+= " + re.escape(fmt(theirs[j])) + r"\n", txt), txt
    assert np.mean(terms) == pytest.approx(rec.data_loss, rel=1e-12)
    txt = phase_text(rec, phases(rec)[len(rec.layers)], 0, 0)
    if loss == "bce":
        assert f"·log({fmt(out.a[0, 0])})" in txt
    if loss == "ce":
        assert f"−log({fmt(out.a[0, int(rec.y[0])])})" in txt


def test_a_diverged_network_renders_with_a_note():
    from tuidl.engine.trainer import Trainer

    exp = cfg.default_experiment()
    exp.data.dataset, exp.train.loss, exp.train.lr = "plane", "mse", 10.0
    for layer in exp.model.hidden:
        layer.activation = "linear"
    trainer = Trainer(exp)
    for _ in range(50):  # until the weights themselves are nan
        rec = trainer.step()
        if not np.isfinite(rec.layers[0].W).all():
            break
    assert np.isnan(rec.layers[0].W).any() and np.isnan(rec.loss)
    for phase in phases(rec):
        txt = phase_text(rec, phase, 3, 1)
        assert NOT_FINITE in txt and txt.count(NOT_FINITE) == 1
    assert "nan" in step_text(rec)
    fine = make_record()
    assert NOT_FINITE not in step_text(fine)


@pytest.mark.parametrize("loss", ["bce", "ce", "mse"])
def test_huge_outputs_render(loss):
    rec = make_record(sizes=(2, 3, 3 if loss == "ce" else 1), loss=loss)
    out = rec.layers[-1]
    out.z[:] = out.a[:] = np.array([1e300, -1e300, np.inf])[: out.z.shape[1]] if loss == "ce" else 1e300
    txt = phase_text(rec, phases(rec)[2], 0, 0)
    assert "term = " in txt
    if loss == "mse":
        assert "       = +inf" in txt  # (1e300 − y)² overflows to inf, as it does in numpy
    assert step_text(rec)


def test_missing_grad_a_and_nan_values():
    rec = make_record(sizes=(2, 3, 1))
    rec.layers[-1].grad_a = None
    rec.layers[0].z[0, 0] = np.nan
    rec.loss = float("inf")
    for phase in phases(rec):
        assert phase_text(rec, phase, 0, 0)
    assert "nan" in phase_text(rec, phases(rec)[0], 0, 0)
    assert "+inf" in phase_text(rec, phases(rec)[2], 0, 0)


def test_plain_text_has_no_trailing_spaces():
    for rec in (make_record(sizes=(2, 4, 2, 1), dropout_layer=0), make_record(sizes=(3, 5, 3), loss="ce")):
        for width in (40, 100):
            txt = step_text(rec, width)
            assert txt.count("Forward ·") == len(rec.layers)
            assert [row for row in txt.splitlines() if row != row.rstrip()] == []


def test_the_trace_document_names_the_loss():
    pytest.importorskip("torch")
    from tuidl.engine.trace import record_steps, trace_document

    exp = cfg.default_experiment()
    exp.data.dataset, exp.train.loss = "plane", "mse"
    trainer, records = record_steps(exp, 2)
    assert [r.loss_name for r in records] == ["mse", "mse"]
    assert [s["loss_name"] for s in trace_document(trainer, records)["steps"]] == ["mse", "mse"]


def test_tuidl_trace_prints_plain_text():
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "tuidl", "trace", "--steps", "2"], capture_output=True, text=True,
                         check=True, timeout=300).stdout
    assert out.count("Forward · layer 1 of 3") == 2 and "Update (SGD, step 2)" in out
    assert "\x1b[" not in out
    assert [row for row in out.splitlines() if row != row.rstrip()] == []


def test_render_phase_is_a_rich_renderable():
    from rich.console import Console

    rec = make_record()
    console = Console(width=80, record=True, file=open("/dev/null", "w"))
    console.print(render_phase(rec, phases(rec)[0], 0, 0))
    assert "Forward" in console.export_text()


# --------------------------------------------------------------------------- the panel in an app


def test_panel_in_a_tiny_app():
    asyncio.run(_panel_in_a_tiny_app())


async def _panel_in_a_tiny_app():
    from textual.app import App, ComposeResult

    from tuidl.ui.stepthrough import StepThroughPanel

    rec = make_record(sizes=(8, 8, 8, 1), batch=10)
    shown: list = []
    pressed: list = []

    class TinyApp(App):
        BINDINGS = [("up", "key('up')"), ("down", "key('down')"), ("n", "key('n')"), ("pagedown", "key('pgdn')")]

        def compose(self) -> ComposeResult:
            yield StepThroughPanel()

        def on_step_through_panel_phase_shown(self, message: StepThroughPanel.PhaseShown) -> None:
            shown.append((message.cursor.phase_index, message.cursor.example, message.cursor.neuron))

        def action_key(self, name: str) -> None:
            pressed.append(name)

    app = TinyApp()
    async with app.run_test(size=(60, 16)) as pilot:
        panel = app.query_one(StepThroughPanel)
        assert panel.cursor is None and not panel.can_focus
        assert not panel.next_phase()
        panel.show_record(rec)
        await pilot.pause()
        assert shown == [(0, 0, 0)]
        header = panel.query_one("#stepthrough-header")
        assert str(header.render()).startswith("phase 1/8 · n next")
        panel.move_neuron(3)
        panel.move_example(2)
        panel.move_example(-5)
        await pilot.pause()
        assert shown[1:] == [(0, 0, 3), (0, 2, 3), (0, 0, 3)]
        # scroll from the keyboard's methods; the header stays in place
        body = panel.query_one("#stepthrough-body")
        assert plain_text(body.content) == phase_text(rec, phases(rec)[0], 0, 3, 100)
        y0 = header.region.y
        panel.scroll_page(1)
        await pilot.pause()
        assert panel.scroll_y > 0 and header.region.y == y0
        panel.scroll_to_end()
        await pilot.pause()
        assert panel.scroll_y == panel.max_scroll_y > 0
        panel.scroll_to_start()
        await pilot.pause()
        assert panel.scroll_y == 0
        for i in range(1, 8):
            panel.scroll_to_end()
            assert panel.next_phase()
            await pilot.pause()
            assert panel.scroll_y == 0  # a new phase is read from its start
            assert str(header.render()).startswith(f"phase {i + 1}/8")
        assert not panel.next_phase() and panel.cursor.at_last_phase
        assert panel.prev_phase() and panel.cursor.phase_index == 6
        panel.show_record(make_record(sizes=(8, 8, 8, 1), batch=3, seed=2))
        await pilot.pause()
        assert shown[-1] == (0, 0, 3)
        # nothing focusable: the app's keys reach the app
        await pilot.press("down", "up", "n", "pagedown")
        assert pressed == ["down", "up", "n", "pgdn"]
        panel.clear("why not, and what to press")
        await pilot.pause()
        assert panel.cursor is None
        assert "why not" in plain_text(panel.query_one("#stepthrough-body").content)
