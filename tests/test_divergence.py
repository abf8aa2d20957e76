"""Gradients that vanish or explode (per-layer norms in every EpochRecord) and divergence
explained (the first non-finite step, found by replaying the epoch)."""
import asyncio
import copy
import json
import math
import subprocess
import sys

import numpy as np
import pytest
import torch

from tuidl import config as cfg
from tuidl.engine.divergence import divergence_in
from tuidl.engine.trainer import Trainer


def diverging(**train) -> cfg.Experiment:
    """The lecture's learning rate too large: circle, mse, relu 8×8, lr 10."""
    exp = cfg.default_experiment()
    exp.model.hidden = [cfg.Layer(8, "relu"), cfg.Layer(8, "relu")]
    exp.train.loss, exp.train.lr = "mse", 10.0
    for key, value in train.items():
        setattr(exp.train, key, value)
    return exp


def train_until_stopped(trainer: Trainer, most: int = 200) -> Trainer:
    while trainer.status is None and trainer.epoch < most:
        trainer.train_epoch()
    return trainer


def all_finite(record) -> bool:
    arrays = [np.asarray(record.loss)]
    for layer in record.layers:
        arrays += [layer.W, layer.b, layer.z, layer.a, layer.grad_z, layer.grad_W, layer.grad_b,
                   layer.W_after, layer.b_after]
    return all(np.isfinite(a).all() for a in arrays)


def first_non_finite_step(exp: cfg.Experiment, most: int = 2000):
    """(records before it, the first record with a value that is not finite), by step()."""
    trainer, records = Trainer(copy.deepcopy(exp)), []
    for _ in range(most):
        record = trainer.step()
        if not all_finite(record):
            return records, record
        records.append(record)
    raise AssertionError("no step diverged")


def nan_equal(a, b) -> bool:
    return torch.equal(torch.nan_to_num(torch.as_tensor(a), nan=7.0), torch.nan_to_num(torch.as_tensor(b), nan=7.0)) \
        and torch.equal(torch.as_tensor(a).isnan(), torch.as_tensor(b).isnan())


# -- divergence explained ---------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_the_replay_finds_the_first_step_whose_numbers_are_not_finite(dtype):
    exp = diverging(dtype=dtype)
    trainer = train_until_stopped(Trainer(copy.deepcopy(exp)))
    found = trainer.divergence
    assert trainer.diverged and found is not None
    earlier, first = first_non_finite_step(exp)
    assert found.step == first.step and found.epoch == first.epoch == trainer.epoch
    assert all(all_finite(r) for r in earlier)
    record = found.record
    assert record.step == first.step and nan_equal(record.layers[-1].W_after, first.layers[-1].W_after)
    # here the loss goes first: every layer's forward numbers are finite, the loss is not
    assert found.what == "the loss" and math.isinf(found.value) and not math.isfinite(record.loss)
    assert all(np.isfinite(layer.z).all() and np.isfinite(layer.a).all() for layer in record.layers)
    # the parameter named is the entry this step moves the most, with its own numbers
    sizes = [(np.abs(layer.optimizer_terms[p]["update"]).max(), i, p)
             for i, layer in enumerate(record.layers) for p in ("W", "b")]
    _, layer, parameter = max(sizes)
    assert (found.layer, found.parameter) == (layer, parameter)
    named = record.layers[layer]
    grad = named.grad_W if parameter == "W" else named.grad_b
    update = named.optimizer_terms[parameter]["update"]
    assert found.gradient == float(grad[found.index]) and found.update == float(update[found.index])
    assert found.lr == 10.0 and found.update == pytest.approx(-10.0 * found.gradient, rel=1e-6)


def test_the_status_names_the_step_the_layer_the_parameter_and_the_numbers():
    trainer = train_until_stopped(Trainer(diverging()))
    found = trainer.divergence
    entry = f"{found.parameter}[{', '.join(map(str, found.index))}]"
    assert trainer.status == found.message
    assert trainer.status.startswith(f"diverged at epoch {found.epoch}, step {found.step}: the loss became inf; ")
    assert f"layer {found.layer + 1}'s {entry} went first: gradient " in trainer.status
    assert "learning rate 10, update " in trainer.status and "learning rate" in trainer.status
    assert f"{abs(found.gradient):.2g}" in trainer.status and f"{abs(found.update):.2g}" in trainer.status


def test_the_trainer_after_the_replay_is_the_diverged_trainer_it_was():
    explained = train_until_stopped(Trainer(diverging()))
    plain = Trainer(diverging())
    plain.explains_divergence = False
    train_until_stopped(plain)
    assert explained.divergence is not None and plain.divergence is None
    a, b = explained.state_dict(), plain.state_dict()
    for key in ("epoch", "step_count", "cursor", "best_epoch"):
        assert a[key] == b[key]
    for key in a["network"]:
        assert nan_equal(a["network"][key], b["network"][key])
    for st_a, st_b in zip(a["optimizer"]["state"], b["optimizer"]["state"]):
        assert all(nan_equal(st_a[k], st_b[k]) for k in st_a)
    assert torch.equal(a["dropout_rng"], b["dropout_rng"]) and torch.equal(a["order_rng"], b["order_rng"])
    assert torch.equal(a["order"], b["order"])
    for ra, rb in zip(a["history"], b["history"]):
        for key in ra:
            if key != "seconds":
                assert nan_equal(np.asarray(ra[key], dtype=float), np.asarray(rb[key], dtype=float)), key


def test_steps_taken_one_by_one_explain_the_same_divergence_without_a_replay(monkeypatch):
    replayed = train_until_stopped(Trainer(diverging())).divergence
    from tuidl.engine import divergence

    monkeypatch.setattr(divergence, "replay", lambda *a, **k: pytest.fail("no replay for steps taken one by one"))
    stepped = Trainer(diverging())
    while stepped.status is None:
        stepped.step()
    found = stepped.divergence
    assert (found.step, found.what, found.layer, found.parameter, found.index) == \
        (replayed.step, replayed.what, replayed.layer, replayed.parameter, replayed.index)
    assert stepped.status == replayed.message


def test_a_replay_in_a_later_epoch_with_momentum_and_dropout_meets_the_same_numbers():
    exp = diverging(lr=2.0, options={"momentum": 0.9})  # the momentum buffer and dropout's generator carry over
    exp.model.hidden[0].dropout = 0.3
    trainer = train_until_stopped(Trainer(copy.deepcopy(exp)))
    found = trainer.divergence
    assert found.epoch == trainer.epoch >= 2
    earlier, first = first_non_finite_step(exp)
    assert found.step == first.step
    last = earlier[-1]  # the replay's step before it has the very numbers of the uninterrupted run
    assert found.record.layers[0].dropout_mask is not None
    np.testing.assert_array_equal(found.record.layers[0].dropout_mask, first.layers[0].dropout_mask)
    np.testing.assert_array_equal(found.record.layers[0].W, last.layers[0].W_after)
    np.testing.assert_array_equal(found.record.layers[1].optimizer_state["W"]["momentum_buffer"],
                                  first.layers[1].optimizer_state["W"]["momentum_buffer"])


def test_the_first_non_finite_value_is_found_in_the_order_of_the_phases():
    trainer = Trainer(diverging(lr=0.03))
    record = trainer.step()
    assert divergence_in(record) is None
    broken = copy.deepcopy(record)
    broken.layers[1].grad_W[0, 1] = np.nan  # backward, layer 2
    broken.layers[2].W_after[0, 0] = np.inf  # the update comes after the backward pass
    found = divergence_in(broken)
    assert (found.what, found.layer, found.parameter, found.index) == ("layer 2's dL/dW", 1, "W", (0, 1))
    assert math.isnan(found.gradient)
    broken.layers[0].z[3, 2] = np.inf  # the forward pass comes first of all
    found = divergence_in(broken)
    assert found.what == "layer 1's z" and found.value == math.inf
    sizes = [(np.abs(layer.optimizer_terms[p]["update"]).max(), i, p)
             for i, layer in enumerate(record.layers) for p in ("W", "b")]
    assert (found.layer, found.parameter) == max(sizes)[1:]


def test_weights_that_were_not_finite_before_the_epoch_are_named():
    trainer = Trainer(diverging(lr=0.03))
    with torch.no_grad():
        trainer.network.layers[1].W[2, 5] = float("inf")
    trainer.train_epoch()
    found = trainer.divergence
    assert trainer.diverged and found.step == 1
    assert (found.what, found.layer, found.parameter, found.index) == \
        ("layer 2's W at the step's start", 1, "W", (2, 5))


def test_train_json_summary_carries_the_divergence(tmp_path):
    path = tmp_path / "diverging.toml"
    cfg.save(diverging(), path)
    done = subprocess.run([sys.executable, "-m", "tuidl", "train", str(path), "--json"], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 1
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    summary = lines[-1]
    d = summary["divergence"]
    assert summary["status"] == d["message"] and summary["status"].startswith("diverged at epoch")
    assert {"epoch", "step", "what", "value", "layer", "parameter", "index", "lr", "weight", "gradient",
            "update"} <= set(d)
    assert d["lr"] == 10.0 and d["parameter"] in ("W", "b") and d["step"] >= 1
    assert all("grad_norms" in line and "update_ratios" in line for line in lines[:-1])


def test_the_session_says_where_it_diverged_right_after_the_epoch():
    from test_session import Events

    from tuidl.session import DivergenceFound, Notice, Progress, Run, Session

    events = Events()
    session = Session(diverging(), None, "<test>", events, in_process=True)
    session.start()
    try:
        events.wait(lambda e: isinstance(e, Progress))
        session.send(Run())
        found = events.wait(lambda e: isinstance(e, DivergenceFound))
        notice = events.wait(lambda e: isinstance(e, Notice) and e.message.startswith("diverged"))
        assert events.all.index(found) < events.all.index(notice)
        assert found.message == found.divergence.message and found.message in notice.message
        assert found.record.step == found.divergence.step and found.record is found.divergence.record
        snap = events.wait(lambda e: isinstance(e, Progress) and e.snapshot.diverged).snapshot
        assert snap.status == found.message
        assert len(events.of(DivergenceFound)) == 1
    finally:
        session.stop()


# -- gradients that vanish or explode ---------------------------------------------

def test_epoch_norms_are_those_of_the_last_step_in_both_training_paths():
    for hidden in ([6, 5], [64, 64, 64]):  # a small network and one past layer_norms.SMALL_NETWORK
        exp = cfg.default_experiment()
        exp.model.hidden = [cfg.Layer(units, "tanh") for units in hidden]
        exp.train.optimizer, exp.train.lr = "adam", 0.01
        fast, stepped = Trainer(copy.deepcopy(exp)), Trainer(copy.deepcopy(exp))
        fast.train_epoch()
        records = [stepped.step() for _ in range(stepped.batches_per_epoch)]
        last = records[-1]
        for r in (fast.history[0], stepped.history[0]):
            grads = [np.linalg.norm(layer.grad_W.astype(np.float64)) for layer in last.layers]
            ratios = [np.linalg.norm((layer.W_after - layer.W).astype(np.float64)) / np.linalg.norm(layer.W)
                      for layer in last.layers]
            assert r.grad_norms == pytest.approx(grads, rel=1e-4)
            assert r.update_ratios == pytest.approx(ratios, rel=1e-3)


def test_a_deep_sigmoid_network_starves_its_first_layers():
    exp = cfg.default_experiment()
    exp.model.hidden = [cfg.Layer(8, "sigmoid") for _ in range(6)]  # 2→8×6→1
    trainer = Trainer(exp)
    for _ in range(5):
        record = trainer.train_epoch()
        assert len(record.grad_norms) == 7
        assert record.grad_norms[0] < record.grad_norms[-1] / 1000  # three orders of magnitude
        assert record.update_ratios[0] < record.update_ratios[-1] / 1000


def test_a_learning_rate_too_large_shows_the_norms_growing_before_the_loss_is_lost():
    exp = cfg.default_experiment()
    exp.data.dataset, exp.train.loss, exp.train.lr, exp.train.batch_size = "plane", "mse", 0.12, 250
    exp.model.hidden = [cfg.Layer(4, "linear")]
    trainer = train_until_stopped(Trainer(exp))
    assert trainer.diverged
    finite = [r for r in trainer.history if math.isfinite(r.train_loss)]
    assert len(finite) >= 4
    for layer in range(2):
        norms = [r.grad_norms[layer] for r in finite]
        assert all(math.isfinite(n) for n in norms)
        assert norms[-1] > 1000 * norms[0]
        assert norms[-1] > norms[-2] > norms[-3]


def test_old_records_without_norms_still_load():
    trainer = Trainer(cfg.default_experiment())
    trainer.train_epoch()
    state = trainer.state_dict()
    for r in state["history"]:
        del r["grad_norms"], r["update_ratios"]
    again = Trainer(cfg.default_experiment())
    again.load_state_dict(state)
    assert again.history[0].grad_norms is None


def test_the_chart_draws_one_line_per_layer_on_a_log_scale():
    from conftest import screen_text
    from textual.app import App

    from tuidl.session import Snapshot
    from tuidl.ui.gradients import GradientChart, decade_label, series_of

    exp = cfg.default_experiment()
    exp.model.hidden = [cfg.Layer(8, "sigmoid") for _ in range(6)]
    trainer = Trainer(exp)
    for _ in range(12):
        trainer.train_epoch()
    lines = series_of(trainer.history)
    assert [label for label, _, _ in lines] == [f"layer {i}" for i in range(1, 8)]
    assert lines[0][2][-1] == pytest.approx(math.log10(trainer.history[-1].grad_norms[0]))
    assert decade_label(-3) == "1e-3" and decade_label(-1) == "0.1" and decade_label(0) == "1"
    diverged = train_until_stopped(Trainer(diverging())).history  # zeros and infinities: left out, not drawn

    async def run():
        class ChartApp(App):
            def compose(self):
                yield GradientChart(id="norms")

        app = ChartApp()
        async with app.run_test(size=(90, 24)) as pilot:
            chart = app.query_one(GradientChart)
            chart.show(Snapshot(build=1, history=tuple(trainer.history)))
            await pilot.pause()
            text = screen_text(app)
            assert "‖dL/dW‖ per layer (log scale)" in text and "layer 1" in text and "layer 7" in text
            assert "1e-" in text  # decade ticks
            chart.show(Snapshot(build=2, history=tuple(diverged)))
            await pilot.pause()
            assert chart.left_out == 3 and "3 values of 0 or not finite" in screen_text(app)

    asyncio.run(run())
