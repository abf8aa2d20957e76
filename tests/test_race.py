"""Races: each variant of a race gives what a lone Trainer gives it; a diverging variant
stops alone; --vary parsing; `tuidl race` as a subprocess."""
from __future__ import annotations

import json
import re
import math
import subprocess
import sys

import numpy as np
import pytest

from tuidl import config as cfg
from tuidl.engine.race import MAX_VARIANTS, Race, RaceError, make_race, parse_vary
from tuidl.engine.trainer import Trainer

# A race's batched products (bmm) and a lone run's (mm) may add in other orders: one ulp
# apart after an epoch, which a learning rate of 1.0 grows to ~2e-9 by epoch 6 in float64.
TOLERANCE = {"float64": 1e-8, "float32": 1e-5}
KEYS = ("train_loss", "val_loss", "train_accuracy", "val_accuracy", "train_r2", "val_r2")


def lone_history(exp: cfg.Experiment) -> list:
    trainer = Trainer(exp)
    while trainer.status is None:
        trainer.train_epoch()
    return trainer


def rel(a: float | None, b: float | None) -> float:
    if a is None or b is None:
        assert a is b
        return 0.0
    if a == b or (math.isnan(a) and math.isnan(b)):
        return 0.0
    return abs(a - b) / max(abs(b), 1e-30)


def assert_as_lone(race: Race) -> None:
    """Every variant's records equal those of the lone Trainer of that variant."""
    for (name, _, exp), trainer in zip(race.variants, race.trainers):
        lone = lone_history(exp)
        tol = TOLERANCE[exp.train.dtype]
        assert len(trainer.history) == len(lone.history), name
        assert trainer.status == lone.status, name
        for ours, theirs in zip(trainer.history, lone.history):
            assert ours.epoch == theirs.epoch
            for key in KEYS:
                assert rel(getattr(ours, key), getattr(theirs, key)) <= tol, (name, ours.epoch, key)
            for a, b in zip(ours.grad_norms + ours.update_ratios, theirs.grad_norms + theirs.update_ratios):
                assert rel(a, b) <= 10 * tol, (name, ours.epoch)


def playground(dtype: str, epochs: int = 6) -> cfg.Experiment:
    exp = cfg.default_experiment()  # TF Playground: circle, 2→4→2→1 tanh, sgd, batch 10
    exp.train.device, exp.train.dtype, exp.train.epochs = "cpu", dtype, epochs
    return exp


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_lr_race_equals_lone_runs(dtype):
    race = Race(playground(dtype), {"lr": [0.003, 0.01, 0.03, 0.1, 0.3, 1.0]})
    assert [name for name, _, _ in race.variants] == ["lr=0.003", "lr=0.01", "lr=0.03", "lr=0.1", "lr=0.3", "lr=1.0"]
    assert len(race.lanes) == 1 and len(race.lanes[0].groups) == 1  # one stack, one update rule
    assert race.lanes[0].layers[0].W.shape == (6, 4, 2)
    race.run()
    assert all(s == "finished 6 epochs" for s in race.status)
    assert_as_lone(race)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_optimizer_race_equals_lone_runs(dtype):
    race = Race(playground(dtype), {"optimizer": ["sgd", "adam", "rmsprop", "adagrad", "adadelta"], "lr": [0.01]})
    assert len(race.lanes[0].groups) == 5
    assert race.lanes[0]._square is not None  # adam, rmsprop, adagrad, adadelta: v = βv + (1 − β)g² at once
    race.run()
    assert_as_lone(race)


def test_weight_decay_groups_keep_their_own_square_average():
    race = Race(playground("float64"), {"optimizer": ["adam", "rmsprop"], "weight_decay": [0.0, 0.01]})
    lane = race.lanes[0]
    assert [race.variants[v][0] for v in lane.members[:2]] == ["adam weight_decay=0.0", "rmsprop weight_decay=0.0"]
    assert [rule.fused for _, _, rule in lane.groups] == [True, True, False, False]
    race.run()
    assert_as_lone(race)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_activation_race_equals_lone_runs(dtype):
    race = Race(playground(dtype), {"activation": ["tanh", "relu", "sigmoid", "leaky_relu", "linear"]})
    assert [exp.model.hidden[1].activation for _, _, exp in race.variants] == \
        ["tanh", "relu", "sigmoid", "leaky_relu", "linear"]
    assert len(race.lanes) == 1 and len(race.lanes[0].layers[0].blocks) == 5  # one stack, g per block of rows
    race.run()
    assert_as_lone(race)


def test_activation_and_optimizer_race_on_the_spiral_with_dropout():
    exp = cfg.change_dataset(playground("float64", epochs=4), "spiral")
    exp.train.loss, exp.data.classes = "ce", 3
    exp.model.hidden[1].dropout = 0.3
    race = Race(exp, {"optimizer": ["sgd", "rmsprop"], "activation": ["tanh", "relu"]})
    race.run()
    assert_as_lone(race)


def test_options_batch_size_dropout_ce_race_equals_lone_runs():
    """Options and batch sizes varied, on the spiral with cross-entropy, dropout and L1."""
    exp = cfg.change_dataset(playground("float64", epochs=4), "spiral")
    exp.train.loss, exp.data.classes, exp.train.l1 = "ce", 3, 1e-3
    exp.model.hidden[0].dropout = 0.2
    race = Race(exp, {"batch_size": [5, 10], "momentum": [0.0, 0.9]})
    assert sorted(len(lane.members) for lane in race.lanes) == [2, 2]
    race.run()
    assert_as_lone(race)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_dropout_race_equals_lone_runs(dtype):
    """Every hidden layer's dropout varied, 0 among them: one draw of the masks per layer
    serves every variant, each compared with its own rate."""
    exp = cfg.change_dataset(playground(dtype, epochs=4), "spiral")
    exp.train.loss, exp.data.classes = "ce", 3
    race = Race(exp, {"dropout": [0.0, 0.2, 0.5]})
    assert [layer.dropout for layer in race.variants[2][2].model.hidden] == [0.5, 0.5]
    race.run()
    assert_as_lone(race)
    assert len({race.history[v][-1].train_loss for v in range(3)}) == 3


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_l1_and_init_race_equals_lone_runs(dtype):
    race = Race(playground(dtype, epochs=4), {"init": ["torch", "xavier"], "l1": [0.0, 0.01]})
    first = [t.network.flat_params for t in race.trainers]
    assert first[0].equal(first[1]) and first[2].equal(first[3]) and not first[0].equal(first[2])
    race.run()
    assert_as_lone(race)


def test_early_stopping_stops_one_variant_and_restores_its_best_weights():
    exp = playground("float64", epochs=40)
    exp.train.early_stopping = 3
    race = Race(exp, {"lr": [0.01, 0.03], "momentum": [0.0, 0.9]})
    race.run()
    assert race.status[3].startswith("early stopping at epoch 26")
    assert [len(h) for h in race.history] == [40, 40, 40, 26]
    assert_as_lone(race)
    lone = lone_history(race.variants[3][2])
    ours, theirs = race.trainers[3].network.flat_params, lone.network.flat_params
    assert ((ours - theirs).abs().max() / theirs.abs().max()).item() <= 1e-9  # the best epoch's weights


def test_all_variants_start_from_the_same_weights():
    race = Race(playground("float64"), {"optimizer": ["sgd", "adam"], "lr": [0.01, 0.1]})
    first = race.trainers[0].network.flat_params
    assert all(t.network.flat_params.equal(first) for t in race.trainers)


def test_a_diverging_variant_stops_alone():
    exp = playground("float64", epochs=8)
    exp.model.hidden = [cfg.Layer(8, "relu"), cfg.Layer(8, "relu")]
    exp.train.loss = "mse"
    race = Race(exp, {"lr": [0.03, 10.0, 0.1]})
    seen = []
    while not race.finished:
        seen.append(race.train_epoch())
        if race.status[1] is not None and race.status[0] is None:
            assert race.lanes[0].members == [0, 2]  # it left its lane; the others go on stacked
    assert race.status[0] == race.status[2] == "finished 8 epochs"
    assert race.status[1].startswith("diverged at epoch ")
    diverged_at = len(race.history[1])
    assert diverged_at < 8 and not math.isfinite(race.history[1][-1].train_loss)
    assert all(records[1] is None for records in seen[diverged_at:])  # stopped: no more records
    assert all(records[0] is not None and records[2] is not None for records in seen)
    assert race.train_epoch() == [None, None, None]
    table = race.table()
    assert [row["status"] for row in table] == race.status
    assert table[1]["epochs"] == diverged_at and math.isfinite(table[1]["best_train_loss"])
    assert_as_lone(race)  # the same status (with the replayed explanation) as alone


def test_parse_vary():
    assert parse_vary(["optimizer=sgd,adam", "lr=0.01, 0.1"]) == {"optimizer": ["sgd", "adam"], "lr": ["0.01", "0.1"]}
    assert parse_vary(["options.momentum=0,0.9"]) == {"momentum": ["0", "0.9"]}
    for bad, words in [
        ([], "nothing to race"),
        (["lr"], "expected KEY=V1,V2"),
        (["=1"], "expected KEY=V1,V2"),
        (["speed=1,2"], "^--vary 'speed=1,2': race: unknown key 'speed'"),  # --vary said once
        (["lr=0.1,,0.2"], "empty value"),
        (["lr=0.1,0.1"], "appears twice"),
        (["lr=1", "lr=2"], "varied twice"),
        (["lr=1,2,3", "batch_size=1,2,3"], f"9 variants: a race has at most {MAX_VARIANTS}"),
    ]:
        with pytest.raises(RaceError, match=words):
            parse_vary(bad)


def test_bad_values_name_the_field():
    exp = playground("float64")
    with pytest.raises(RaceError, match="train.lr = 'fast'"):
        make_race(exp, {"lr": ["fast"]})
    with pytest.raises(RaceError, match="train.lr = 20.0"):
        make_race(exp, {"lr": ["20"]})
    with pytest.raises(RaceError, match="optimizer = 'sgdx'"):
        make_race(exp, {"optimizer": ["sgdx"]})
    with pytest.raises(RaceError, match=r'model.hidden\[0\].activation = "softmax"'):
        make_race(exp, {"activation": ["tanh", "softmax"]})
    with pytest.raises(RaceError, match=r"model.hidden\[0\].dropout = 1.0"):
        make_race(exp, {"dropout": ["0.5", "1"]})
    with pytest.raises(RaceError, match='model.init = "glorot"'):
        make_race(exp, {"init": ["glorot"]})


def test_betas_race_and_bench_rows():
    race = make_race(playground("float64", epochs=3), parse_vary(["optimizer=adam", "betas=0.9/0.999,0.5/0.9"]))
    assert [exp.train.options["betas"] for _, _, exp in race.variants] == [(0.9, 0.999), (0.5, 0.9)]
    race.run()
    assert_as_lone(race)
    from tuidl.bench import race_rows

    rows = race_rows(epochs=1, repeats=1)
    assert [(row["race"], row["variants"]) for row in rows] == [("6 learning rates", 6), ("the 5 optimizers", 5)]
    assert all(row["race_over_one_run"] > 0 and row["lone_runs_over_race"] > 0 for row in rows)


def tuidl(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tuidl", *args], capture_output=True, text=True, timeout=300, check=False)


def test_cli_json():
    result = tuidl("race", "examples/playground.toml", "--vary", "lr=0.01,0.1", "--epochs", "3", "--json")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    epochs, final = lines[:-1], lines[-1]
    assert [(o["variant"], o["epoch"]) for o in epochs] == [
        ("lr=0.01", 1), ("lr=0.1", 1), ("lr=0.01", 2), ("lr=0.1", 2), ("lr=0.01", 3), ("lr=0.1", 3)]
    for o in epochs:
        assert {"variant", "settings", "epoch", "train_loss", "val_loss", "train_accuracy", "val_accuracy",
                "seconds"} <= set(o)
    assert epochs[0]["settings"] == {"lr": "0.01"}
    assert final["final"] is True and [v["variant"] for v in final["variants"]] == ["lr=0.01", "lr=0.1"]
    assert all(v["status"] == "finished 3 epochs" and v["epochs"] == 3 for v in final["variants"])
    assert final["variants"][1]["train_loss"] == epochs[-1]["train_loss"]
    # the lone run of that variant (`tuidl train`) gives the same losses
    exp = cfg.load("examples/playground.toml")
    exp.train.lr, exp.train.epochs = 0.1, 3
    lone = lone_history(exp).history
    assert [rel(o["train_loss"], r.train_loss) <= 1e-5 for o, r in zip(epochs[1::2], lone)] == [True] * 3


def test_cli_table():
    result = tuidl("race", "examples/playground.toml", "--vary", "optimizer=sgd,adam", "--epochs", "2")
    assert result.returncode == 0, result.stderr
    rows = [line.split() for line in result.stdout.splitlines()]
    assert [row[0] for row in rows if row and row[-1] == "finished"] == ["sgd", "adam"]


@pytest.mark.parametrize("args, words", [
    (["--vary", "speed=1"], "unknown key 'speed'"),
    (["--vary", "lr=fast"], "train.lr = 'fast'"),
    (["--vary", "lr=1,2,3", "--vary", "batch_size=1,2,3"], "9 variants"),
    ([], "nothing to race"),
])
def test_cli_errors(args, words):
    result = tuidl("race", "examples/playground.toml", *args, "--epochs", "2")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith("tuidl: error: ") and words in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_race_section_in_the_file(tmp_path):
    exp = cfg.load("examples/playground.toml")
    exp.race = {"optimizer": ["sgd", "adam"], "dropout": [0.0, 0.1]}
    path = tmp_path / "race.toml"
    cfg.save(exp, path)
    assert cfg.load(path).race == exp.race  # the section survives a save
    result = tuidl("race", str(path), "--epochs", "2", "--json")
    assert result.returncode == 0, result.stderr
    final = json.loads(result.stdout.splitlines()[-1])
    assert [v["variant"] for v in final["variants"]] == [
        "sgd dropout=0.0", "sgd dropout=0.1", "adam dropout=0.0", "adam dropout=0.1"]
    assert all(v["status"] == "finished 2 epochs" for v in final["variants"])


@pytest.mark.parametrize("section, words", [
    ('[race]\nspeed = [1, 2]', "race: unknown key 'speed'"),
    ('[race]\nlr = 0.1', "race.lr must be a list of values"),
    ('[race]\nlr = [0.1, 0.1]', "race.lr: a value appears twice"),
    ('[race]\nlr = [1, 2, 3]\nbatch_size = [1, 2, 3]', "9 variants"),
    ('race = 3', "must be a table"),
])
def test_a_bad_race_section_is_one_line(tmp_path, section, words):
    path = tmp_path / "bad.toml"
    path.write_text(section + "\n")
    with pytest.raises(cfg.ConfigError, match=re.escape(words)):
        cfg.load(path)
    result = tuidl("race", str(path))
    assert result.returncode == 2 and words in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_a_lone_copy_steps_as_the_variant_alone_would():
    """The race view's step-through of one variant: the copy's next step is the step the
    variant's lone run takes after the same epochs, and the race does not move."""
    exp = playground("float64", epochs=5)
    exp.model.hidden[0].dropout = 0.2
    race = Race(exp, {"optimizer": ["sgd", "adam"], "lr": [0.01, 0.1]})
    race.train_epoch()
    race.train_epoch()
    before = race.trainers[3].network.flat_params.clone()
    copy_ = race.lone_copy(3)
    ours = [copy_.step() for _ in range(3)]
    lone = Trainer(race.variants[3][2])
    lone.train_epoch()
    lone.train_epoch()
    theirs = [lone.step() for _ in range(3)]
    for a, b in zip(ours, theirs):
        assert (a.step, a.epoch) == (b.step, b.epoch) and np.array_equal(a.x, b.x)
        assert rel(a.loss, b.loss) <= 1e-9
    assert race.trainers[3].network.flat_params.equal(before)
    race.run()
    assert_as_lone(race)
