"""The shipped lessons: each loads, and each one's point happens with the engine's numbers.

Every number a lesson's text quotes is checked here (on the CPU, where the texts were
measured), so a text cannot drift from what the learner will see.
"""
from __future__ import annotations

import copy
import json
import math
import re
import subprocess
import sys
import types

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from tuidl import config as cfg
from tuidl import lessons
from tuidl.engine.trace import record_steps
from tuidl.engine.trainer import Trainer

NAMES = ["perceptron", "will-i-pass", "non-linearity", "learning-rate", "optimizers", "mini-batches", "overfitting"]


def lesson_exp(name: str) -> cfg.Experiment:
    exp, _ = lessons.load(name)
    exp.train.device = "cpu"
    return exp


def trained(exp: cfg.Experiment, epochs: int | None = None) -> Trainer:
    """A trainer run until it stops (or for `epochs` epochs)."""
    t = Trainer(exp)
    while t.status is None and (epochs is None or t.epoch < epochs):
        t.train_epoch()
    return t


def losses(t: Trainer) -> list[float]:
    return [r.train_loss for r in t.history]


def with_layers(exp: cfg.Experiment, field: str, text: str) -> cfg.Experiment:
    """Every hidden layer's `field` set as the Network tab sets it, one layer at a time."""
    for i in range(len(exp.model.hidden)):
        exp = cfg.set_field(exp, f"model.hidden[{i}].{field}", text)
    return exp


# --------------------------------------------------------------------------- the package

def test_the_lessons_in_teaching_order_each_load_and_have_a_text():
    shipped = lessons.all_lessons()
    assert [lesson.name for lesson in shipped] == NAMES
    for lesson in shipped:
        assert lesson.toml_path.name == f"{lesson.name}.toml" and lesson.toml_path.is_file()
        assert lesson.title and not lesson.text.startswith("#")  # the title is not repeated in the text
        assert "**Do:**" in lesson.text and "`" in lesson.text  # what to do, and a key to press
        exp, again = lessons.load(lesson.name)
        assert again == lesson and exp == cfg.load(lesson.toml_path)
        cfg.validate(exp)
    assert lessons.find("perceptron") == shipped[0]
    assert lessons.find("no-such-lesson") is None
    with pytest.raises(lessons.UnknownLesson, match="perceptron, will-i-pass"):
        lessons.load("no-such-lesson")


def test_the_lessons_import_neither_torch_nor_textual():
    code = ("import sys, tuidl.lessons as L; L.load('perceptron'); "
            "assert not [m for m in sys.modules if m.startswith(('torch', 'textual'))]")
    subprocess.run([sys.executable, "-c", code], check=True)


# --------------------------------------------------------------------------- 1. perceptron

def test_perceptron_first_step_example_0_is_the_lectures_point():
    trainer, [step] = record_steps(lesson_exp("perceptron"), 1)
    layer = step.layers[0]  # no hidden layer: the output neuron itself
    assert len(step.layers) == 1 and step.x.shape == (8, 2)  # every point in the one batch
    assert layer.W.tolist() == [[3.0, -2.0]] and layer.b.tolist() == [1.0]  # the file's weights
    assert step.x[0].tolist() == [-1.0, 2.0]  # example 0 of the first step
    assert layer.z[0, 0] == -6.0  # 1 + 3·(−1) − 2·2
    assert layer.a[0, 0] == pytest.approx(torch.sigmoid(torch.tensor(-6.0, dtype=torch.float64)).item(), rel=1e-6)
    assert round(float(layer.a[0, 0]), 4) == 0.0025


def test_perceptron_boundary_is_the_line_and_training_fixes_the_one_wrong_point():
    t = Trainer(lesson_exp("perceptron"))
    on_line = np.array([[1.0, 2.0], [-1.0, -1.0], [3.0, 5.0]])  # 1 + 3·x1 − 2·x2 = 0
    assert t.predict(on_line).ravel() == pytest.approx([0.5, 0.5, 0.5])
    assert t.predict(np.array([[0.0, 1.0]]))[0, 0] == pytest.approx(0.2689, abs=1e-4)  # class 1, wrong side
    assert t.evaluate_both()[1] == 7 / 8
    fixed_at = None
    while t.status is None:
        r = t.train_epoch()
        if fixed_at is None and t.predict(np.array([[0.0, 1.0]]))[0, 0] > 0.5:
            fixed_at = r.epoch
    assert 15 <= fixed_at <= 25  # "after about 20 epochs"
    assert (t.epoch, t.history[-1].train_accuracy) == (200, 1.0)


# --------------------------------------------------------------------------- 2. will I pass?

def test_will_i_pass_gets_the_student_at_4_5_wrong_then_right():
    from tuidl.data.datasets import pass_probability

    student = np.array([[4.0, 5.0]])
    assert pass_probability(student)[0] > 0.9  # the data says this student passes
    t = Trainer(lesson_exp("will-i-pass"))
    assert t.dataset.axis_labels == ("lectures attended", "hours on final project")
    assert t.predict(student)[0, 0] == pytest.approx(0.09, abs=0.01)  # untrained: "fail"
    t.train_epoch()
    assert t.predict(student)[0, 0] == pytest.approx(0.76, abs=0.02)  # one epoch: "pass"
    while t.status is None:
        t.train_epoch()
    assert t.predict(student)[0, 0] == pytest.approx(0.70, abs=0.03)
    assert t.history[-1].val_accuracy == pytest.approx(0.97, abs=0.015)


# --------------------------------------------------------------------------- 3. non-linearity

def test_linear_layers_fail_on_the_circle_and_tanh_and_relu_succeed_from_the_same_start():
    exp = lesson_exp("non-linearity")
    assert {layer.activation for layer in exp.model.hidden} == {"linear"}
    linear = trained(exp)
    assert losses(linear)[-1] == pytest.approx(0.68, abs=0.01)  # about ln 2 = 0.693: guessing
    assert linear.history[-1].val_accuracy == pytest.approx(0.64, abs=0.03)
    start = Trainer(exp).weights()
    for act, first_at in (("tanh", 66), ("relu", 17)):
        bent = with_layers(exp, "activation", act)
        assert [(W.tolist(), b.tolist()) for W, b in Trainer(bent).weights()] == \
               [(W.tolist(), b.tolist()) for W, b in start]  # the same initial weights
        t = trained(bent)
        reached = next(r.epoch for r in t.history if r.val_accuracy >= 0.95)
        assert abs(reached - first_at) <= 5
        assert t.history[-1].val_accuracy == 1.0


# --------------------------------------------------------------------------- 4. learning rate

def test_learning_rate_too_small_about_right_too_large():
    exp = lesson_exp("learning-rate")
    assert exp.train.lr == 0.0001
    small = trained(exp)
    assert losses(small)[0] == pytest.approx(0.48, abs=0.01) and losses(small)[-1] == pytest.approx(0.31, abs=0.01)
    assert small.history[-1].train_accuracy == pytest.approx(0.5, abs=0.02)
    right = trained(cfg.set_field(exp, "train.lr", "0.03"))
    assert losses(right)[-1] == pytest.approx(0.024, abs=0.002) and right.history[-1].train_accuracy == 1.0
    large = trained(cfg.set_field(exp, "train.lr", "1"))
    assert large.diverged and large.epoch == 4  # training stops there, saying it diverged
    first = losses(large)[:3]
    assert [round(math.log10(v)) for v in first] == [14, 24, 33]  # 6·10¹³, 10²⁴, …
    assert math.isnan(losses(large)[3])


# --------------------------------------------------------------------------- 5. optimizers

OPTIMIZER_ROWS = {"SGD": "sgd", "Adam": "adam", "RMSprop": "rmsprop", "Adagrad": "adagrad", "Adadelta": "adadelta"}


def _table(text: str) -> dict[str, list[float | None]]:
    """The lesson's table: a number per epoch column, None for a cell in words."""
    rows = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and re.fullmatch(r"[0-9]*\.[0-9]+", cells[1]):  # not the header
            rows[cells[0]] = [float(c) if re.fullmatch(r"[0-9]*\.[0-9]+", c) else None for c in cells[1:]]
    return rows


def _close(value: float, quoted: float) -> bool:
    return abs(value - quoted) <= max(0.25 * quoted, 0.0005)


def test_optimizers_race_from_one_start_to_the_losses_the_text_quotes():
    from tuidl.engine.race import Race

    exp = lesson_exp("optimizers")
    text = lessons.find("optimizers").text
    table = _table(text)
    assert set(table) == set(OPTIMIZER_ROWS) and exp.race == {"optimizer": list(OPTIMIZER_ROWS.values())}
    race = Race(exp, exp.race)
    assert all(t.network.flat_params.equal(race.trainers[0].network.flat_params) for t in race.trainers)
    assert [v_exp.train.lr for _, _, v_exp in race.variants] == [0.03, 0.03, 0.03, 0.03, 1.0]
    race.run()
    for (row, name), history in zip(OPTIMIZER_ROWS.items(), race.history):
        loss = [r.train_loss for r in history]
        for epoch, quoted in zip((10, 50, 100), table[row]):
            if quoted is not None:
                assert _close(loss[epoch - 1], quoted), (row, epoch, loss[epoch - 1])
    rmsprop = [r.train_loss for r in race.history[2][50:]]
    # the height of its jumps hangs on rounding (chaotic near the minimum): they exist and stay below ~0.5
    assert "jumps, up to ~0.3" in text and 0.05 <= max(rmsprop) <= 0.5 and min(rmsprop) < 0.005
    momentum = Race(exp, {"optimizer": ["sgd"], "momentum": [0.0, 0.9]})
    momentum.run()
    with_momentum = [r.train_loss for r in momentum.history[1]]
    assert "about 0.21 at epoch 10 and below 0.1 by epoch 20" in text
    assert _close(with_momentum[9], 0.21) and with_momentum[19] < 0.1
    later = with_momentum[30:]
    assert max(later) > 3 * min(later)  # it swings


# --------------------------------------------------------------------------- 6. mini-batches

def test_mini_batches_trade_noise_for_steps_per_epoch():
    exp = lesson_exp("mini-batches")
    runs = {bs: trained(cfg.set_field(exp, "train.batch_size", str(bs))) for bs in (1, 32, 200)}
    assert {bs: t.batches_per_epoch for bs, t in runs.items()} == {1: 200, 32: 7, 200: 1}
    ups = {bs: int((np.diff(losses(t)) > 0).sum()) for bs, t in runs.items()}
    assert ups[1] >= 40 and ups[32] <= 10 and ups[200] == 0  # jagged, nearly smooth, smooth
    at = {bs: (losses(t)[49], losses(t)[99]) for bs, t in runs.items()}
    assert at[1][0] == pytest.approx(0.11, abs=0.02)
    assert at[32] == pytest.approx((0.39, 0.10), abs=0.02)
    assert at[200][1] == pytest.approx(0.67, abs=0.01)


# --------------------------------------------------------------------------- 7. overfitting

def _best(t: Trainer) -> tuple[int, float]:
    val = [r.val_loss for r in t.history]
    i = int(np.argmin(val))
    return i + 1, val[i]


def test_overfitting_the_validation_curve_turns_up_and_dropout_helps():
    exp = lesson_exp("overfitting")
    assert cfg.split_sizes(exp.data) == (20, 20)
    plain = trained(exp)
    best_epoch, best_val = _best(plain)
    assert abs(best_epoch - 12) <= 3 and best_val == pytest.approx(0.26, abs=0.03)
    assert plain.history[-1].val_loss == pytest.approx(1.4, abs=0.2) and losses(plain)[-1] < 0.001
    dropout = trained(with_layers(exp, "dropout", "0.5"))
    d_epoch, d_val = _best(dropout)
    assert d_val == pytest.approx(0.05, abs=0.015) and abs(d_epoch - 135) <= 20
    assert dropout.history[-1].val_loss == pytest.approx(0.3, abs=0.05)


@pytest.mark.parametrize("dropout, stop, best", [("0", 32, 12), ("0.5", 87, 67)])
def test_early_stopping_stops_and_restores_the_best_epochs_weights(dropout, stop, best):
    exp = cfg.set_field(with_layers(lesson_exp("overfitting"), "dropout", dropout), "train.early_stopping", "20")
    t = Trainer(exp)
    kept = {}
    while t.status is None:
        r = t.train_epoch()
        kept[r.epoch] = [w.copy() for pair in t.weights() for w in pair]
    assert abs(t.best_epoch - best) <= 5 and t.epoch == t.best_epoch + 20
    assert abs(t.epoch - stop) <= 5 and t.epoch < exp.train.epochs
    assert t.status.startswith(f"early stopping at epoch {t.epoch}:")
    assert f"restored the weights of epoch {t.best_epoch}" in t.status
    now = [w for pair in t.weights() for w in pair]
    assert all(np.array_equal(a, b) for a, b in zip(now, kept[t.best_epoch]))  # the best epoch's weights
    assert not all(np.array_equal(a, b) for a, b in zip(now, kept[t.epoch - 1]))  # not the last ones
    val_loss, _ = t.evaluate(t.x_val, t.y_val)
    assert val_loss == pytest.approx(t.history[t.best_epoch - 1].val_loss, rel=1e-6)


# --------------------------------------------------------------------------- the engine's side

def test_the_files_weights_are_the_start_and_the_seed_draws_the_rest():
    exp = cfg.loads('[model]\nhidden = [{ units = 2, activation = "tanh", dropout = 0.5 }]\n'
                    'weights = [{ W = [[0.5, -1.0], [2.0, 0.25]], b = [0.1, -0.2] }, { W = [[1.5, -0.5]], b = [0.3] }]\n'
                    '[train]\ndtype = "float64"\ndevice = "cpu"\n')
    a, b = Trainer(exp), Trainer(cfg.set_field(exp, "train.seed", "2"))
    for t in (a, b):
        assert [(W.tolist(), bias.tolist()) for W, bias in t.weights()] == \
               [(w.W, w.b) for w in exp.model.weights]
    sa, sb = a.step(), b.step()
    assert not np.array_equal(sa.x, sb.x)  # the seed still orders the batches
    # the first forward pass is torch's with those weights and that dropout mask
    def t64(v):
        return torch.tensor(v, dtype=torch.float64)

    w = exp.model.weights
    h = torch.tanh(F.linear(t64(sa.x), t64(w[0].W), t64(w[0].b))) * t64(sa.layers[0].dropout_mask)
    z = F.linear(h, t64(w[1].W), t64(w[1].b))
    assert np.allclose(sa.layers[1].z, z.numpy(), rtol=1e-12, atol=1e-12)
    no_weights = copy.deepcopy(exp)
    no_weights.model.weights = []
    assert Trainer(no_weights).weights()[0][0].tolist() != exp.model.weights[0].W


def test_a_checkpoint_keeps_the_files_weights(tmp_path):
    from tuidl.engine.checkpoint import load_checkpoint, read_checkpoint_experiment, save_checkpoint

    exp = lesson_exp("perceptron")
    save_checkpoint(Trainer(exp), tmp_path / "start.pt")
    assert read_checkpoint_experiment(tmp_path / "start.pt") == exp
    resumed = load_checkpoint(tmp_path / "start.pt")
    assert resumed.step().layers[0].z[0, 0] == -6.0
    fresh = Trainer(read_checkpoint_experiment(tmp_path / "start.pt"))  # a new run from its experiment
    assert fresh.weights()[0][0].tolist() == [[3.0, -2.0]]


def test_without_validation_points_the_validation_numbers_are_none_not_nan():
    t = Trainer(lesson_exp("perceptron"))
    assert t.evaluate_both()[2:] == (None, None)
    while t.status is None:
        t.train_epoch()
    assert t.status == "finished 200 epochs" and not t.diverged and t.best_epoch == 0
    assert {(r.val_loss, r.val_accuracy) for r in t.history} == {(None, None)}
    assert all(math.isfinite(r.train_loss) for r in t.history)


# --------------------------------------------------------------------------- the command line

def tuidl(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tuidl", *args], capture_output=True, text=True, timeout=300)


def test_tuidl_lessons_lists_name_and_title_one_a_line():
    result = tuidl("lessons")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines] == NAMES
    for line, lesson in zip(lines, lessons.all_lessons()):
        assert re.fullmatch(rf"{re.escape(lesson.name)} *  {re.escape(lesson.title)}", line)


def test_tuidl_trace_perceptron_json_shows_the_point_with_z_minus_6():
    result = tuidl("trace", "perceptron", "--json")
    assert result.returncode == 0, result.stderr
    layer = json.loads(result.stdout)["steps"][0]["layers"][0]
    assert (layer["W"], layer["b"]) == ([[3.0, -2.0]], [1.0])
    assert layer["input"][0] == [-1.0, 2.0] and layer["z"][0] == [-6.0]
    assert layer["a"][0][0] == pytest.approx(0.0024726, abs=1e-6)


def test_an_unknown_name_that_is_no_file_lists_the_lessons():
    for args in (["trace", "no-such"], ["lesson", "no-such"], ["no-such"]):
        result = tuidl(*args)
        assert result.returncode == 2 and "Traceback" not in result.stderr
        assert "no-such" in result.stderr and ", ".join(NAMES) in result.stderr


def test_train_on_a_lesson_without_validation_points_reports_none(tmp_path):
    result = tuidl("train", "perceptron", "--json", "--epochs", "3")
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert lines[-1]["final"] and lines[-1]["val_loss"] is None and lines[-1]["train_accuracy"] == 0.875
    assert "no validation set" in tuidl("train", "perceptron", "--epochs", "3").stdout


def test_the_app_opens_a_lesson_by_name_and_a_file_of_that_name_wins(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from tuidl.cli import main

    opened = []

    class FakeApp:
        return_code = 0

        def __init__(self, exp, path=None, checkpoint=None, lesson=None):
            opened.append((exp, path, checkpoint, lesson))

        def run(self):
            pass

    monkeypatch.setitem(sys.modules, "tuidl.ui.app", types.SimpleNamespace(TuidlApp=FakeApp))
    exp, lesson = lessons.load("will-i-pass")
    for args in (["lesson", "will-i-pass"], ["will-i-pass"], ["app", "will-i-pass"]):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 0, result.output
        assert opened.pop() == (exp, None, None, lesson)  # no path: saving never writes the shipped file
    monkeypatch.chdir(tmp_path)
    (tmp_path / "will-i-pass").write_text("[train]\nlr = 0.5\n")
    assert CliRunner().invoke(main, ["will-i-pass"]).exit_code == 0
    mine = opened.pop()
    assert mine[0].train.lr == 0.5 and mine[1:] == ("will-i-pass", None, None)
