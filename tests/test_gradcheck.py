"""The gradient check: backprop against central finite differences, in float64."""
import copy
import itertools
import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from tuidl import config as cfg
from tuidl.cli import main
from tuidl.engine import activations, gradcheck, losses
from tuidl.engine.gradcheck import TOLERANCE, gradient_check
from tuidl.engine.trainer import Trainer
from tuidl.explain.gradcheck import notes

ACTIVATIONS = ("relu", "tanh", "sigmoid", "leaky_relu", "linear")
LOSSES = ("bce", "ce", "mse")


def experiment(activation="tanh", loss="bce", dropout=0.0, l1=0.0, hidden=(6, 5), **train) -> cfg.Experiment:
    exp = cfg.default_experiment()
    exp.data.samples = 200
    if loss == "ce":  # three classes: a softmax output of three units
        exp.data.dataset, exp.data.classes = "gauss", 3
    exp.model.hidden = [cfg.Layer(units, activation, dropout) for units in hidden]
    exp.train.loss, exp.train.l1, exp.train.lr = loss, l1, 0.1
    for key, value in train.items():
        setattr(exp.train, key, value)
    return exp


@pytest.mark.parametrize("extras", [{}, {"dropout": 0.3, "l1": 0.01}], ids=["plain", "dropout+l1"])
@pytest.mark.parametrize("activation, loss", list(itertools.product(ACTIVATIONS, LOSSES)))
def test_backprop_agrees_with_finite_differences(activation, loss, extras):
    report = gradient_check(experiment(activation, loss, **extras), steps=2)
    assert report.passed and report.max_rel_error <= 1e-6, report.to_dict()
    assert report.steps == [1, 2] and report.dtype == "float64"
    assert [(r.layer, r.parameter) for r in report.rows] == [(i, p) for i in range(3) for p in ("W", "b")]
    assert all(r.checked > 0 for r in report.rows)
    assert report.activations == [activation, activation, {"bce": "sigmoid", "ce": "softmax", "mse": "linear"}[loss]]
    assert report.dropout == bool(extras) and report.l1 == extras.get("l1", 0.0)


def autograd_gradients(record, exp):
    """dL/dW and dL/db of the step's total loss by torch.autograd, from the step's batch,
    weights and dropout masks: torch's own functions, not the engine's."""
    acts = {"relu": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid, "linear": lambda z: z,
            "leaky_relu": lambda z: torch.nn.functional.leaky_relu(z, 0.01)}
    params = [(torch.tensor(l.W, dtype=torch.float64, requires_grad=True),
               torch.tensor(l.b, dtype=torch.float64, requires_grad=True)) for l in record.layers]
    x = torch.tensor(record.x, dtype=torch.float64)
    for i, ((W, b), layer) in enumerate(zip(params, record.layers)):
        z = x @ W.T + b
        if i == len(params) - 1:
            break
        x = acts[layer.activation](z)
        if layer.dropout_mask is not None:
            x = x * torch.tensor(layer.dropout_mask, dtype=torch.float64)
    y = torch.tensor(record.y)
    if record.loss_name == "bce":
        loss = torch.nn.functional.binary_cross_entropy_with_logits(z, y.to(torch.float64))
    elif record.loss_name == "ce":
        loss = torch.nn.functional.cross_entropy(z, y)
    else:
        loss = torch.nn.functional.mse_loss(z, y.to(torch.float64))
    loss = loss + exp.train.l1 * sum(W.abs().sum() for W, _ in params)
    loss.backward()
    return [(W.grad.numpy(), b.grad.numpy()) for W, b in params]


@pytest.mark.parametrize("activation, loss", [("tanh", "bce"), ("relu", "ce"), ("sigmoid", "mse")])
def test_the_numeric_side_is_the_true_derivative_as_autograd_finds_it(activation, loss, monkeypatch):
    exp = experiment(activation, loss, dropout=0.2, l1=0.01)
    records = []
    step = Trainer.step
    monkeypatch.setattr(Trainer, "step", lambda self: records.append(step(self)) or records[-1])
    report = gradient_check(exp, steps=1)
    truth = autograd_gradients(records[0], exp)
    for row in report.rows:
        expected = truth[row.layer][0 if row.parameter == "W" else 1][row.worst_index]
        assert row.worst_numeric == pytest.approx(expected, rel=1e-7, abs=1e-11)


def test_a_broken_chain_rule_is_caught_in_the_layers_it_breaks(monkeypatch):
    chain = activations.Tanh.chain
    monkeypatch.setattr(activations.Tanh, "chain", lambda self, ga, z, a: chain(self, ga, z, a) * 1.001)
    report = gradient_check(experiment("tanh", "bce"))
    assert not report.passed
    failed = {(r.layer, r.parameter) for r in report.rows if r.max_rel_error > TOLERANCE}
    assert failed == {(0, "W"), (0, "b"), (1, "W"), (1, "b")}  # the output layer's gradient does not pass through tanh


def test_the_cli_exits_1_on_a_broken_gradient_and_0_on_the_engine_as_it_is(monkeypatch, tmp_path):
    path = tmp_path / "exp.toml"
    cfg.save(experiment("sigmoid", "mse"), path)
    runner = CliRunner()
    fine = runner.invoke(main, ["gradcheck", str(path)])
    assert fine.exit_code == 0, fine.output
    assert "✓" in fine.output and "tolerance 1e-06" in fine.output
    grad_z = losses.MSE.grad_z
    monkeypatch.setattr(losses.MSE, "grad_z", lambda self, z, a, y: grad_z(self, z, a, y) * 0.99)
    broken = runner.invoke(main, ["gradcheck", str(path)])
    assert broken.exit_code == 1, broken.output
    assert "✗" in broken.output and "tolerance 1e-06" in broken.output


def test_the_cli_reports_json_and_refuses_a_bad_file_with_status_2(tmp_path):
    done = subprocess.run([sys.executable, "-m", "tuidl", "gradcheck", "--steps", "3", "--json"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["passed"] and report["steps"] == [1, 2, 3] and report["tolerance"] == TOLERANCE
    assert {row["parameter"] for row in report["rows"]} == {"W", "b"}
    bad = tmp_path / "bad.toml"
    bad.write_text("[train]\nlr = -1\n")
    refused = subprocess.run([sys.executable, "-m", "tuidl", "gradcheck", str(bad)], capture_output=True, text=True,
                             timeout=300)
    assert refused.returncode == 2 and "train.lr" in refused.stderr


def test_a_trainer_is_checked_at_its_weights_and_left_as_it_was():
    exp = experiment("tanh", "bce", dropout=0.3, optimizer="adam", lr=0.01)
    trainer = Trainer(exp)
    for _ in range(3):
        trainer.train_epoch()
    trainer.step()
    before = copy.deepcopy(trainer.state_dict())
    report = gradient_check(exp, steps=2, trainer=trainer)
    assert report.passed and report.steps == [trainer.step_count + 1, trainer.step_count + 2]
    after = trainer.state_dict()
    for key in ("epoch", "step_count", "cursor", "status", "history"):
        assert after[key] == before[key]
    for key, value in before["network"].items():
        assert torch.equal(after["network"][key], value)
    assert torch.equal(after["dropout_rng"], before["dropout_rng"]) and torch.equal(after["order"], before["order"])
    for st_before, st_after in zip(before["optimizer"]["state"], after["optimizer"]["state"]):
        assert all(torch.equal(st_before[k], st_after[k]) for k in st_before)


def test_kinks_are_skipped_and_counted_not_failed(monkeypatch):
    exp = experiment("relu", "bce", l1=0.01)
    trainer = Trainer(exp)
    with torch.no_grad():
        layer = trainer.network.layers[0]
        layer.W[0].zero_()  # neuron 0 of layer 1: z = 0 for every sample, on relu's kink
        layer.b[0] = 0.0
        layer.W[1, 0] = gradcheck.H / 2  # |w| within h of L1's kink at 0
    report = gradient_check(exp, trainer=trainer)
    first_b = next(r for r in report.rows if (r.layer, r.parameter) == (0, "b"))
    first_W = next(r for r in report.rows if (r.layer, r.parameter) == (0, "W"))
    assert report.passed and first_b.skipped >= 1 and first_W.skipped >= 1
    assert "skipped" in " ".join(notes(report))
    monkeypatch.setattr(gradcheck, "KINKED", ())  # without the kink rule, relu's kink fails the check
    assert not gradient_check(exp, trainer=trainer).passed


def test_float32_runs_are_checked_in_float64_and_large_tensors_by_a_subset():
    exp = experiment("relu", "bce", hidden=(128, 128), dtype="float32")
    report = gradient_check(exp)
    assert report.passed and report.dtype == "float64" and report.sampled
    big = next(r for r in report.rows if (r.layer, r.parameter) == (1, "W"))
    assert big.shape == (128, 128) and gradcheck.MIN_ENTRIES <= big.checked + big.skipped <= gradcheck.MAX_ENTRIES


def test_diverged_weights_are_refused():
    trainer = Trainer(experiment())
    with torch.no_grad():
        trainer.network.layers[0].W[0, 0] = float("nan")
    with pytest.raises(ValueError, match="not finite"):
        gradient_check(trainer.exp, trainer=trainer)


def test_the_session_checks_the_current_weights_without_changing_the_run():
    from test_session import Events
    from tuidl.session import Failed, GradCheck, GradCheckDone, Progress, Session, TrainEpochs

    events = Events()
    session = Session(experiment(), None, "<test>", events, in_process=True)
    session.start()
    try:
        events.wait(lambda e: isinstance(e, Progress))
        trained = events.snapshot_after(session.send(TrainEpochs(2)))
        cid = session.send(GradCheck(steps=2))
        done = events.wait(lambda e: isinstance(e, (GradCheckDone, Failed)) and e.command_id == cid)
        assert isinstance(done, GradCheckDone) and done.report.passed
        assert done.report.steps == [trained.steps + 1, trained.steps + 2]
        snap = events.snapshot_after(cid)
        assert (snap.epoch, snap.steps, snap.batch_in_epoch) == (trained.epoch, trained.steps, trained.batch_in_epoch)
        np.testing.assert_array_equal(snap.weights[0][0], trained.weights[0][0])
    finally:
        session.stop()


def test_the_screen_shows_the_table_with_its_explanation_and_escape_closes_it():
    import asyncio

    from conftest import screen_text
    from textual.app import App

    from tuidl.ui.gradcheck_view import GradCheckScreen

    report = gradient_check(experiment())

    async def run():
        app = App()
        async with app.run_test(size=(110, 40)) as pilot:
            app.push_screen(GradCheckScreen(report))
            await pilot.pause()
            text = screen_text(app)
            assert "chain rule" in text and "backprop against finite differences" in text
            assert "layer" in text and "W[" in text and "tolerance 1e-06" in text
            await pilot.press("escape")
            await pilot.pause()
            assert not isinstance(app.screen, GradCheckScreen)

    asyncio.run(run())


def test_the_layers_stay_apart():
    """The report and its views import no torch (the app's process unpickles the report);
    `tuidl gradcheck` loads no Textual."""
    code = ("import sys\nimport tuidl.explain.gradcheck, tuidl.ui.gradcheck_view, tuidl.ui.gradients, tuidl.session\n"
            "print('torch' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
    code = ("import sys\nfrom tuidl.cli import main\ntry:\n    main(['gradcheck'])\nexcept SystemExit as stop:\n"
            "    print(stop.code, any(m.startswith('textual') for m in sys.modules), file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.stderr.strip().splitlines()[-1] == "0 False", done.stderr[-2000:]
