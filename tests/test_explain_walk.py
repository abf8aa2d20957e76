"""One home per teaching fact: every registered activation, loss and optimizer has facts
and an engine class, and walks through every phase of the explain layer with its numbers."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from test_explain import check_values, real_record
from tuidl import config as cfg
from tuidl.engine import facts
from tuidl.explain import fmt, phase_text, phases
from tuidl.explain.update import options as merged_options

torch = pytest.importorskip("torch")

from tuidl.engine.activations import ACTIVATIONS  # noqa: E402
from tuidl.engine.losses import LOSSES  # noqa: E402
from tuidl.engine.optimizers import OPTIMIZERS  # noqa: E402


def test_every_engine_class_has_facts_and_every_fact_a_class():
    assert list(ACTIVATIONS) == list(facts.ACTIVATIONS)
    assert list(LOSSES) == list(facts.LOSSES)
    assert list(OPTIMIZERS) == list(facts.OPTIMIZERS)
    for name, act in ACTIVATIONS.items():
        assert act.facts is facts.ACTIVATIONS[name] and act.name == name
    for name, loss in LOSSES.items():
        assert loss.facts is facts.LOSSES[name] and loss.name == name
        assert loss.facts.output_activation in facts.ACTIVATIONS
    for name, cls in OPTIMIZERS.items():
        assert cls.facts is facts.OPTIMIZERS[name]
        assert set(cfg.OPTIMIZER_DEFAULTS[name]) >= {"weight_decay"} and name in cfg.DEFAULT_LR
    # config's lists of names are the registries'
    assert cfg.ACTIVATIONS == facts.HIDDEN_ACTIVATIONS == tuple(n for n, f in facts.ACTIVATIONS.items()
                                                                if not f.output_only)
    assert cfg.LOSSES == tuple(facts.LOSSES) and cfg.OPTIMIZERS == tuple(facts.OPTIMIZERS)


def test_leaky_slope_has_one_home():
    z = torch.tensor([-2.0, 3.0], dtype=torch.float64)
    a = ACTIVATIONS["leaky_relu"].forward(z)
    assert a.tolist() == [-2.0 * facts.LEAKY_SLOPE, 3.0]
    assert a.tolist() == torch.nn.functional.leaky_relu(z).tolist()  # torch's default slope
    assert f"{facts.LEAKY_SLOPE:g}" in facts.ACTIVATIONS["leaky_relu"].derivative


def test_facts_import_no_torch_numpy_or_textual():
    code = ("import sys\nimport tuidl.engine.facts\n"
            "print([m for m in ('torch', 'numpy', 'textual') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_derivative_formulas_are_written_in_z():
    for f in facts.ACTIVATIONS.values():
        assert "a²" not in f.derivative and "a(" not in f.derivative


# --------------------------------------------------------------------------- the walk

# every optimizer, and every option that changes its rule
OPTIMIZER_VARIANTS = [
    ("sgd", {}),
    ("sgd", {"momentum": 0.9}),
    ("sgd", {"momentum": 0.9, "dampening": 0.5}),
    ("sgd", {"momentum": 0.9, "nesterov": True}),
    ("sgd", {"weight_decay": 0.01}),
    ("adam", {}),
    ("adam", {"amsgrad": True}),
    ("adam", {"weight_decay": 0.01}),
    ("rmsprop", {}),
    ("rmsprop", {"momentum": 0.5}),
    ("rmsprop", {"centered": True}),
    ("rmsprop", {"centered": True, "momentum": 0.5, "weight_decay": 0.01}),
    ("adagrad", {}),
    ("adagrad", {"lr_decay": 0.1}),
    ("adagrad", {"initial_accumulator_value": 0.1, "weight_decay": 0.01}),
    ("adadelta", {}),
    ("adadelta", {"weight_decay": 0.01}),
]
LOSS_DATA = {"bce": ("circle", 2), "ce": ("spiral", 3), "mse": ("plane", 2)}


def test_the_walk_covers_every_registered_one():
    assert {name for name, _ in OPTIMIZER_VARIANTS} == set(facts.OPTIMIZERS)
    assert set(LOSS_DATA) == set(facts.LOSSES)


@pytest.mark.parametrize("optimizer, options", OPTIMIZER_VARIANTS,
                         ids=[f"{o}-{'-'.join(opts) or 'defaults'}" for o, opts in OPTIMIZER_VARIANTS])
def test_every_optimizer_walks_through_every_phase(optimizer, options):
    rec = real_record(optimizer=optimizer, options=options, lr=0.05, steps=3)
    assert rec.optimizer == optimizer
    check_values(rec, 3, 1)
    of = facts.OPTIMIZERS[optimizer]
    opts = merged_options(rec)
    assert opts == rec.options  # the engine records its options merged with the defaults
    rule = of.rule(rec.lr, opts, 3)
    txt = phase_text(rec, phases(rec)[-1], 3, 1)
    assert txt.startswith(f"Update ({of.label}, step 3)")
    for line in rule:
        assert line in txt
    for item in of.legend(rec.lr, opts, 3):
        assert item in " ".join(txt.split())
    # every state tensor and term the engine records is shown with its symbol and value,
    # and that symbol is one the rule uses
    rule_text = " ".join(rule)
    for layer in rec.layers:
        j = min(1, layer.W.shape[0] - 1)
        for pname, idx in (("W", (j, 0)), ("b", (j,))):
            for name, value in {**layer.optimizer_state[pname], **layer.optimizer_terms[pname]}.items():
                symbol = of.symbol(name, opts)
                assert name in {**of.state_symbols, **of.term_symbols, **facts.COMMON_SYMBOLS}, name
                assert f"{symbol} " in txt
                if name in layer.optimizer_state[pname]:
                    assert f"({name})" in txt  # torch.optim's name next to the symbol
                if name != "step":
                    v = np.asarray(value)
                    assert fmt(v if v.ndim == 0 else v[idx]) in txt, (name, pname)
                    assert symbol in rule_text, (symbol, rule)
    for phase in phases(rec):
        phase_text(rec, phase, 2, 1, width=40)


@pytest.mark.parametrize("activation", facts.HIDDEN_ACTIVATIONS)
@pytest.mark.parametrize("loss", list(facts.LOSSES))
def test_every_activation_and_loss_walks_through_every_phase(activation, loss):
    dataset, classes = LOSS_DATA[loss]
    rec = real_record(loss, dataset, classes, activation=activation, dropout=0.25, l1=0.001)
    assert rec.loss_name == loss
    assert rec.layers[-1].activation == facts.LOSSES[loss].output_activation
    for k, j in ((0, 0), (4, 1), (9, 3)):
        check_values(rec, k, j)
    ps = phases(rec)
    assert ps[len(rec.layers)].title == f"Loss ({facts.LOSSES[loss].label})"
    act = facts.ACTIVATIONS[activation]
    fwd = phase_text(rec, ps[0], 4, 1)
    layer = rec.layers[0]
    if act.call:
        assert f"a₁ = {act.call}(z₁) = {act.call}({fmt(layer.z[4, 1])}) = {fmt(layer.a[4, 1])}" in fwd
    else:
        assert f"a₁ = z₁ = {fmt(layer.a[4, 1])}" in fwd
    assert "dropout: mask₁ = " in fwd
    assert fmt(rec.l1_term) in phase_text(rec, ps[len(rec.layers)], 4, 1)
    assert "L1 penalty" in phase_text(rec, ps[-2], 4, 1)
    bwd = phase_text(rec, ps[-2], 4, 1)  # backward through layer 1
    assert f"{act.call or 'g'}′(z) = {act.derivative}" in bwd
    assert f"= ({fmt(layer.grad_a[4, 1])})·" in bwd and fmt(layer.grad_z[4, 1]) in bwd
    out = phase_text(rec, ps[len(rec.layers) + 1], 4, 0)  # backward through the output layer
    assert facts.LOSSES[loss].grad_formula.split(" = ")[-1] in out
    assert fmt(rec.layers[-1].grad_z[4, 0]) in out
