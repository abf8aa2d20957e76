"""The step-through panel renders what the record says, phase by phase."""
from __future__ import annotations

import asyncio

import numpy as np
import pytest
from rich.console import Console

from tuidl.engine.records import LayerRecord, StepRecord
from tuidl.ui.stepthrough import (
    Phase,
    StepThroughPanel,
    batch_size,
    fmt,
    loss_kind,
    phases,
    render_phase,
    units,
)

# --------------------------------------------------------------------------- fixtures
# Hand-built records: numpy in the test computes a small network's step, so the panel
# can be tested without the engine.

ACTS = {
    "tanh": (np.tanh, lambda z, a: 1 - a**2),
    "relu": (lambda z: np.maximum(z, 0), lambda z, a: (z > 0).astype(float)),
    "sigmoid": (lambda z: 1 / (1 + np.exp(-z)), lambda z, a: a * (1 - a)),
    "linear": (lambda z: z, lambda z, a: np.ones_like(z)),
}


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _opt_state(optimizer, p, g, lr, options):
    """Fake optimizer state and terms with the right names and shapes (first step)."""
    if optimizer == "sgd":
        if options.get("momentum"):
            buf = g.copy()
            return {"momentum_buffer": buf}, {"g": g, "update": -lr * buf}
        return {}, {"g": g, "update": -lr * g}
    if optimizer == "adam":
        m = 0.1 * g
        v = 0.001 * g**2
        mh, vh = m / 0.1, v / 0.001
        return (
            {"step": np.array(1.0), "exp_avg": m, "exp_avg_sq": v},
            {"g": g, "m_hat": mh, "v_hat": vh, "update": -lr * mh / (np.sqrt(vh) + 1e-8)},
        )
    if optimizer == "rmsprop":
        v = 0.01 * g**2
        return {"step": np.array(1.0), "square_avg": v}, {"g": g, "update": -lr * g / (np.sqrt(v) + 1e-8)}
    if optimizer == "adagrad":
        s = g**2
        return {"step": np.array(1.0), "sum": s}, {"g": g, "clr": np.array(lr), "update": -lr * g / (np.sqrt(s) + 1e-10)}
    if optimizer == "adadelta":
        v = 0.1 * g**2
        d = np.sqrt(1e-6) / np.sqrt(v + 1e-6) * g
        u = 0.1 * d**2
        return {"step": np.array(1.0), "square_avg": v, "acc_delta": u}, {"g": g, "delta": d, "update": -lr * d}
    raise ValueError(optimizer)


def make_record(
    sizes=(2, 3, 1),
    act="tanh",
    loss="bce",
    optimizer="sgd",
    options=None,
    batch=5,
    dropout_layer=None,
    l1=0.0,
    seed=0,
    lr=0.03,
):
    rng = np.random.default_rng(seed)
    options = dict(options or {})
    x = rng.normal(size=(batch, sizes[0]))
    n_out = sizes[-1]
    if loss == "bce":
        y = rng.integers(0, 2, size=batch)
        out_act = "sigmoid"
    elif loss == "ce":
        y = rng.integers(0, n_out, size=batch)
        out_act = "softmax"
    else:
        y = rng.normal(size=(batch, n_out))
        out_act = "linear"
    Ws = [rng.uniform(-1, 1, size=(o, i)) for i, o in zip(sizes[:-1], sizes[1:])]
    bs = [rng.uniform(-1, 1, size=o) for o in sizes[1:]]
    L = len(Ws)
    inputs, zs, as_, masks = [], [], [], []
    h = x
    for l in range(L):
        inputs.append(h)
        z = h @ Ws[l].T + bs[l]
        if l == L - 1:
            a = _softmax(z) if out_act == "softmax" else ACTS[out_act][0](z)
        else:
            a = ACTS[act][0](z)
        mask = None
        if dropout_layer == l:
            mask = rng.integers(0, 2, size=a.shape) * 2.0
        zs.append(z)
        as_.append(a)
        masks.append(mask)
        h = a * mask if mask is not None else a
    yhat = as_[-1]
    if loss == "bce":
        p = yhat[:, 0]
        data_loss = float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
        gz = ((p - y) / batch)[:, None]
        ga = gz / (yhat * (1 - yhat))
    elif loss == "ce":
        data_loss = float(-np.mean(np.log(yhat[np.arange(batch), y])))
        gz = (yhat - np.eye(n_out)[y]) / batch
        ga = np.zeros_like(gz)
    else:
        data_loss = float(np.mean((yhat - y) ** 2))
        ga = 2 * (yhat - y) / y.size
        gz = ga
    l1_term = float(l1 * sum(np.abs(W).sum() for W in Ws))
    grads_a, grads_z = [None] * L, [None] * L
    grads_a[-1], grads_z[-1] = ga, gz
    for l in reversed(range(L - 1)):
        g = grads_z[l + 1] @ Ws[l + 1]
        if masks[l] is not None:
            g = g * masks[l]
        grads_a[l] = g
        grads_z[l] = g * ACTS[act][1](zs[l], as_[l])
    layers = []
    for l in range(L):
        gW = grads_z[l].T @ inputs[l] + l1 * np.sign(Ws[l])
        gb = grads_z[l].sum(axis=0)
        sW, tW = _opt_state(optimizer, Ws[l], gW, lr, options)
        sb, tb = _opt_state(optimizer, bs[l], gb, lr, options)
        layers.append(
            LayerRecord(
                index=l,
                activation=out_act if l == L - 1 else act,
                W=Ws[l],
                b=bs[l],
                input=inputs[l],
                z=zs[l],
                a=as_[l],
                dropout_mask=masks[l],
                grad_a=grads_a[l],
                grad_z=grads_z[l],
                grad_W=gW,
                grad_b=gb,
                W_after=Ws[l] + tW["update"],
                b_after=bs[l] + tb["update"],
                optimizer_state={"W": sW, "b": sb},
                optimizer_terms={"W": tW, "b": tb},
            )
        )
    return StepRecord(
        step=1,
        epoch=1,
        x=x,
        y=y,
        loss=data_loss + l1_term,
        data_loss=data_loss,
        l1_term=l1_term,
        layers=layers,
        optimizer=optimizer,
        lr=lr,
        options=options,
    )


def text_of(renderable, width=100) -> str:
    console = Console(record=True, width=width, color_system=None, file=open("/dev/null", "w"))
    console.print(renderable)
    return console.export_text()


def flat(text: str) -> str:
    """The text with line wrapping undone (numbers never wrap: they hold no spaces)."""
    return " ".join(text.split())


def render_text(record, phase, example=0, neuron=0, width=100) -> str:
    return text_of(render_phase(record, phase, example, neuron), width)


# --------------------------------------------------------------------------- tests


def test_fmt():
    assert fmt(0.123456) == "+0.1235"
    assert fmt(-1.2e-05) == "−1.2e-05"
    assert fmt(0) == "0"
    assert fmt(np.float32(2.5)) == "+2.5"
    assert fmt(np.array([3.0])) == "+3"
    assert fmt(float("nan")) == "nan"
    assert fmt(float("-inf")) == "−inf"


@pytest.mark.parametrize(
    "sizes, n",
    [((2, 1), 4), ((2, 3, 1), 6), ((2, 4, 2, 1), 8)],
)
def test_phases_order_and_count(sizes, n):
    rec = make_record(sizes=sizes)
    ps = phases(rec)
    L = len(sizes) - 1
    assert len(ps) == n == 2 * L + 2
    assert [p.kind for p in ps] == ["forward"] * L + ["loss"] + ["backward"] * L + ["update"]
    assert [p.layer for p in ps] == list(range(L)) + [None] + list(reversed(range(L))) + [None]
    assert ps[0].title.startswith(f"Forward · layer 1 of {L}")
    assert ps[L - 1].title.startswith(f"Forward · layer {L} of {L} (output")
    assert ps[L].title == "Loss (binary cross-entropy)"
    assert ps[L + 1].title.startswith(f"Backward · layer {L} of {L} (output")
    assert ps[-1].title == "Update (SGD, step 1)"
    if L > 1:
        assert "(hidden, tanh)" in ps[0].title


@pytest.mark.parametrize("loss, title", [("bce", "binary cross-entropy"), ("ce", "cross-entropy"), ("mse", "mean squared error")])
def test_loss_kind_and_titles(loss, title):
    rec = make_record(sizes=(2, 3, 3 if loss != "bce" else 1), loss=loss)
    assert loss_kind(rec) == loss
    assert phases(rec)[2].title == f"Loss ({title})"


def _check_values(rec: StepRecord, k: int, j: int) -> None:
    """Every phase shows the record's own numbers for example k, neuron j."""
    ps = phases(rec)
    for phase in ps:
        txt = render_text(rec, phase, k, j)
        assert f"example {k}" in txt
        if phase.kind == "forward":
            layer = rec.layers[phase.layer]
            jj = min(j, layer.z.shape[1] - 1)
            assert f"neuron {jj}" in txt
            assert fmt(layer.z[k, jj]) in txt
            assert fmt(layer.a[k, jj]) in txt
            assert fmt(layer.b[jj]) in txt
            assert fmt(layer.W[jj, 0]) in txt
            assert fmt(layer.input[k, 0]) in txt
        elif phase.kind == "loss":
            assert fmt(rec.data_loss) in txt
            assert fmt(rec.loss) in txt
            assert fmt(rec.layers[-1].a[k].reshape(-1)[0]) in txt
        elif phase.kind == "backward":
            layer = rec.layers[phase.layer]
            jj = min(j, layer.z.shape[1] - 1)
            assert fmt(layer.grad_z[k, jj]) in txt
            assert fmt(layer.grad_b[jj]) in txt
            assert fmt(layer.grad_W[jj, 0]) in txt
            if phase.layer < len(rec.layers) - 1:
                assert fmt(layer.grad_a[k, jj]) in txt
        else:
            for layer in rec.layers:
                jj = min(j, layer.W.shape[0] - 1)
                assert fmt(layer.W[jj, 0]) in txt
                assert fmt(layer.grad_W[jj, 0]) in txt
                assert fmt(layer.W_after[jj, 0]) in txt
                assert fmt(layer.b_after[jj]) in txt


@pytest.mark.parametrize("loss, sizes", [("bce", (2, 3, 1)), ("ce", (2, 4, 3)), ("mse", (3, 2, 2))])
def test_handbuilt_values_shown(loss, sizes):
    rec = make_record(sizes=sizes, loss=loss, l1=0.01)
    _check_values(rec, 2, 1)
    _check_values(rec, 0, 0)


def test_relu_dropout_and_deep_net():
    rec = make_record(sizes=(2, 4, 3, 1), act="relu", dropout_layer=0)
    _check_values(rec, 3, 2)
    txt = render_text(rec, phases(rec)[0], 3, 2)
    assert "dropout" in txt
    assert fmt(rec.layers[1].input[3, 2]) in txt  # the value passed on after the mask
    txt = render_text(rec, phases(rec)[-2], 3, 2)  # backward, layer 1
    assert "mask" in txt
    assert "relu′" in txt


OPTIMIZER_CASES = [
    ("sgd", {"momentum": 0.9, "dampening": 0.0, "nesterov": False, "weight_decay": 0.0}, ["momentum_buffer", "b ← 0.9·b"]),
    ("sgd", {"momentum": 0.9, "nesterov": True, "weight_decay": 0.01}, ["momentum_buffer", "g ← g + 0.01·θ", "(g + 0.9·b)"]),
    ("sgd", {}, ["θ ← θ − 0.03·g"]),
    ("adam", {"betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0, "amsgrad": False},
     ["exp_avg", "exp_avg_sq", "m ← 0.9·m + (1 − 0.9)·g", "v̂ = v/(1 − 0.999¹)", "m̂", "√v̂ + 1e-08"]),
    ("rmsprop", {"alpha": 0.99, "eps": 1e-8, "momentum": 0.0, "centered": False}, ["square_avg", "v ← 0.99·v"]),
    ("rmsprop", {"alpha": 0.99, "momentum": 0.5, "centered": True}, ["square_avg", "ḡ ←", "b ← 0.5·b"]),
    ("adagrad", {"lr_decay": 0.0, "initial_accumulator_value": 0.0, "eps": 1e-10}, ["sum", "s ← s + g²", "γ̃"]),
    ("adadelta", {"rho": 0.9, "eps": 1e-6}, ["square_avg", "acc_delta", "u ← 0.9·u", "Δ = √(u + 1e-06)"]),
]


@pytest.mark.parametrize("optimizer, options, expected", OPTIMIZER_CASES)
def test_update_phase_every_optimizer(optimizer, options, expected):
    rec = make_record(sizes=(2, 3, 1), optimizer=optimizer, options=options)
    ps = phases(rec)
    assert ps[-1].kind == "update"
    name = {"sgd": "SGD", "adam": "Adam", "rmsprop": "RMSprop", "adagrad": "Adagrad", "adadelta": "Adadelta"}
    assert ps[-1].title == f"Update ({name[optimizer]}, step 1)"
    txt = render_text(rec, ps[-1], 0, 1)
    for e in expected:
        assert e in txt, (e, txt)
    for layer in rec.layers:
        j = min(1, layer.W.shape[0] - 1)
        for pname, state in layer.optimizer_state.items():
            idx = (j, 0) if pname == "W" else (j,)
            for sname, value in state.items():
                if sname != "step":
                    assert fmt(np.asarray(value)[idx]) in txt
        for pname, terms in layer.optimizer_terms.items():
            idx = (j, 0) if pname == "W" else (j,)
            for tname, value in terms.items():
                v = np.asarray(value)
                assert fmt(v if v.ndim == 0 else v[idx]) in txt
    # every width renders
    render_text(rec, ps[-1], 0, 1, width=40)


def test_clamping():
    rec = make_record(sizes=(2, 3, 1), batch=4)
    ps = phases(rec)
    assert batch_size(rec) == 4
    assert units(rec, ps[0]) == 3
    assert units(rec, ps[1]) == 1
    # example 99 -> 3, neuron 99 -> 2 (hidden) / 0 (output)
    txt = render_text(rec, ps[0], 99, 99)
    assert "example 3 · neuron 2" in txt
    assert fmt(rec.layers[0].z[3, 2]) in txt
    txt = render_text(rec, ps[1], -5, 99)
    assert "example 0 · neuron 0" in txt
    assert fmt(rec.layers[1].z[0, 0]) in txt


def test_narrow_width_and_large_layers():
    rec = make_record(sizes=(64, 20, 10), loss="ce", batch=32, act="tanh", optimizer="adam",
                      options={"betas": (0.9, 0.999), "eps": 1e-8})
    for phase in phases(rec):
        for width in (40, 80):
            txt = render_text(rec, phase, 31, 19, width=width)
            assert txt.strip()
    txt = render_text(rec, phases(rec)[0], 5, 7)
    assert "more terms" in flat(txt)  # a 64-term sum is shortened
    assert "mean" in txt  # the 20×64 matrix is summarised
    assert fmt(rec.layers[0].z[5, 7]) in txt


def test_footer_and_header():
    rec = make_record()
    txt = render_text(rec, phases(rec)[0], 1, 2)
    assert "step 1 · epoch 1 · batch of 5 · example 1 · neuron 2" in txt
    assert "n next phase · p back · [ ] example · ↑↓ neuron" in flat(txt)


def test_panel_in_app():
    asyncio.run(_panel_in_app())


async def _panel_in_app():
    from textual.app import App, ComposeResult

    rec = make_record(sizes=(2, 4, 2, 1))

    pressed = []

    class _App(App):
        BINDINGS = [("up", "neuron(-1)"), ("down", "neuron(1)"), ("n", "next")]

        def compose(self) -> ComposeResult:
            yield StepThroughPanel(id="st")

        def action_neuron(self, d: int) -> None:
            pressed.append(d)

        def action_next(self) -> None:
            pressed.append("n")

    app = _App()
    async with app.run_test(size=(80, 24)) as pilot:
        panel = app.query_one(StepThroughPanel)
        await pilot.pause()
        for i in range(len(phases(rec))):
            panel.show(rec, i, example=1, neuron=1)
            await pilot.pause()
        panel.show(rec, 99, example=99, neuron=99)  # clamped
        assert panel.phase_index == len(phases(rec)) - 1
        assert panel.example == 4
        panel.focus()
        await pilot.press("down", "up", "n", "pagedown", "end", "home")
        assert pressed == [1, -1, "n"]  # the panel leaves ↑↓ and n to the app
        panel.clear()
        await pilot.pause()
        assert panel.record is None


# --------------------------------------------------------------------------- the real engine

REAL_CASES = [
    # (loss, dataset, classes, optimizer, options, dropout, l1)
    ("bce", "circle", 2, "sgd", {}, 0.0, 0.0),
    ("bce", "xor", 2, "sgd", {"momentum": 0.9, "nesterov": True}, 0.5, 0.001),
    ("ce", "spiral", 3, "adam", {}, 0.0, 0.0),
    ("mse", "plane", 2, "rmsprop", {"momentum": 0.5, "centered": True}, 0.0, 0.0),
    ("bce", "gauss", 2, "adagrad", {"lr_decay": 0.1}, 0.0, 0.0),
    ("ce", "gauss", 4, "adadelta", {}, 0.2, 0.01),
]


def _real_record(loss, dataset, classes, optimizer, options, dropout, l1, steps=1):
    pytest.importorskip("torch")
    from tuidl.config import default_experiment
    from tuidl.engine.trainer import Trainer

    exp = default_experiment()
    exp.data.dataset = dataset
    exp.data.classes = classes
    exp.train.loss = loss
    exp.train.optimizer = optimizer
    exp.train.options = dict(options)
    exp.train.l1 = l1
    exp.model.hidden[0].dropout = dropout
    trainer = Trainer(exp)
    for _ in range(steps):
        rec = trainer.step()
    return rec


@pytest.mark.parametrize("case", REAL_CASES, ids=[f"{c[0]}-{c[3]}" for c in REAL_CASES])
def test_real_trainer_step_values_shown(case):
    rec = _real_record(*case, steps=2)
    assert loss_kind(rec) == case[0]
    ps = phases(rec)
    assert len(ps) == 2 * len(rec.layers) + 2
    for k, j in ((0, 0), (3, 1), (9, 3)):
        _check_values(rec, k, j)
    # the update shows every state tensor and term of the record, for the selected weight
    txt = render_text(rec, ps[-1], 0, 1)
    for layer in rec.layers:
        j = min(1, layer.W.shape[0] - 1)
        for pname, idx in (("W", (j, 0)), ("b", (j,))):
            for name, value in {**layer.optimizer_state[pname], **layer.optimizer_terms[pname]}.items():
                v = np.asarray(value)
                if name == "step":
                    continue
                assert name in txt or fmt(v if v.ndim == 0 else v[idx]) in txt
                assert fmt(v if v.ndim == 0 else v[idx]) in txt, (name, pname)
            for name in layer.optimizer_state[pname]:
                assert name in txt
    if case[5]:
        assert "dropout" in render_text(rec, ps[0], 3, 1)
    if case[6]:
        txt = render_text(rec, ps[len(rec.layers)], 0, 0)
        assert fmt(rec.l1_term) in txt
    for phase in ps:
        render_text(rec, phase, 2, 1, width=40)


def test_missing_grad_a_and_nan_values():
    rec = make_record(sizes=(2, 3, 1))
    rec.layers[-1].grad_a = None
    rec.layers[0].z[0, 0] = np.nan
    rec.loss = float("inf")
    for phase in phases(rec):
        txt = render_text(rec, phase, 0, 0)
        assert txt
    assert "nan" in render_text(rec, phases(rec)[0], 0, 0)
    assert "+inf" in render_text(rec, phases(rec)[2], 0, 0)
