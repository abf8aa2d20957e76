"""The trainer: convergence, determinism, early stopping, divergence, records, resume, devices."""
import copy
from dataclasses import replace

import numpy as np
import pytest

from tuidl import config as cfg
from tuidl.engine.trainer import Trainer


def make(**train) -> cfg.Experiment:
    exp = cfg.default_experiment()
    for key, value in train.items():
        setattr(exp.train, key, value)
    return exp


def test_playground_example_reaches_95_percent():
    trainer = Trainer(cfg.load("examples/playground.toml"))
    for _ in range(200):
        trainer.train_epoch()
    assert trainer.history[-1].val_accuracy >= 0.95
    assert trainer.history[-1].train_loss < trainer.history[0].train_loss
    assert trainer.status == "finished 200 epochs"


def test_same_experiment_same_history_and_weights():
    a, b = Trainer(make()), Trainer(make())
    for _ in range(3):
        ra, rb = a.train_epoch(), b.train_epoch()
        assert (ra.train_loss, ra.val_loss) == (rb.train_loss, rb.val_loss)
    for (wa, ba), (wb, bb) in zip(a.weights(), b.weights()):
        np.testing.assert_array_equal(wa, wb)
        np.testing.assert_array_equal(ba, bb)


def test_batches_are_reshuffled_each_epoch_from_the_seed():
    trainer = Trainer(make())
    first = trainer.step().x
    for _ in range(trainer.batches_per_epoch - 1):
        trainer.step()
    second = trainer.step().x
    assert not np.array_equal(first, second)
    again = Trainer(make()).step().x
    np.testing.assert_array_equal(first, again)


def test_a_step_record_holds_every_phase():
    exp = make(l1=0.01)
    exp.model.hidden[0].dropout = 0.5
    trainer = Trainer(exp)
    before = trainer.weights()
    record = trainer.step()
    assert [layer.index for layer in record.layers] == [0, 1, 2]
    hidden, output = record.layers[0], record.layers[-1]
    np.testing.assert_array_equal(hidden.W, before[0][0])
    np.testing.assert_allclose(hidden.z, record.x @ hidden.W.T + hidden.b, rtol=1e-5, atol=1e-6)
    assert set(np.unique(hidden.dropout_mask)) <= {0.0, 2.0}
    np.testing.assert_allclose(record.layers[1].input, hidden.a * hidden.dropout_mask, rtol=1e-6)
    assert output.activation == "sigmoid"
    assert record.loss == pytest.approx(record.data_loss + record.l1_term)
    assert record.l1_term > 0
    np.testing.assert_allclose(output.W_after, output.W - 0.03 * output.grad_W, rtol=1e-5, atol=1e-7)
    assert trainer.step().step == 2


def test_dropout_only_in_training():
    exp = make()
    exp.model.hidden[0].dropout = 0.5
    trainer = Trainer(exp)
    points = trainer.dataset.points_val[:20]
    np.testing.assert_array_equal(trainer.predict(points), trainer.predict(points))
    masks = {trainer.step().layers[0].dropout_mask.tobytes() for _ in range(3)}
    assert len(masks) == 3


def test_early_stopping_restores_the_best_weights():
    exp = make(optimizer="adam", lr=0.05, early_stopping=3, epochs=500)
    exp.data.samples, exp.data.noise, exp.data.dataset = 60, 0.5, "xor"
    exp.model.hidden = [cfg.Layer(64, "relu"), cfg.Layer(64, "relu")]
    trainer = Trainer(exp)
    weights = {}
    while trainer.status is None:
        record = trainer.train_epoch()
        weights[record.epoch] = trainer.weights()
    assert trainer.status.startswith("early stopping")
    assert trainer.epoch - trainer.best_epoch == 3
    best = min(trainer.history, key=lambda r: r.val_loss)
    assert best.epoch == trainer.best_epoch
    for (w, b), (bw, bb) in zip(trainer.weights(), weights[trainer.best_epoch]):
        np.testing.assert_array_equal(w, bw)
        np.testing.assert_array_equal(b, bb)


def test_divergence_stops_with_a_message_not_a_crash():
    exp = make(loss="mse", optimizer="sgd", lr=10.0)
    exp.data.dataset = "plane"
    exp.model.hidden = [cfg.Layer(8, "relu"), cfg.Layer(8, "relu")]
    trainer = Trainer(exp)
    for _ in range(50):
        trainer.train_epoch()
        if trainer.status:
            break
    assert trainer.diverged
    assert "learning rate" in trainer.status


def test_regression_has_no_accuracy_and_learns():
    exp = make(loss="mse", optimizer="adam", lr=0.01, epochs=30)
    exp.data.dataset = "plane"
    trainer = Trainer(exp)
    first = trainer.train_epoch()
    for _ in range(29):
        last = trainer.train_epoch()
    assert first.val_accuracy is None and last.val_accuracy is None
    assert last.val_loss < first.val_loss / 2


def test_multiclass_cross_entropy_learns():
    exp = make(loss="ce", optimizer="adam", lr=0.02)
    exp.data.dataset, exp.data.classes = "gauss", 3
    exp.model.hidden = [cfg.Layer(8, "relu")]
    trainer = Trainer(exp)
    for _ in range(30):
        trainer.train_epoch()
    assert trainer.history[-1].val_accuracy > 0.8
    grid = trainer.boundary(7, 5)
    assert grid.shape == (5, 7) and grid.min() >= 0 and grid.max() < 3


def _stopped_mid_epoch(exp: cfg.Experiment) -> Trainer:
    trainer = Trainer(copy.deepcopy(exp))
    for _ in range(3):
        trainer.train_epoch()
    for _ in range(4):
        trainer.step()
    return trainer


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_state_dict_resumes_exactly(tmp_path, dtype):
    """Weights, optimizer state, history, batch order, cursor and both RNGs (dropout on):
    the resumed trainer goes on with the numbers of the unbroken one."""
    import torch

    exp = make(optimizer="adam", lr=0.01, dtype=dtype)
    exp.model.hidden[0].dropout = 0.2
    straight = _stopped_mid_epoch(exp)
    first = _stopped_mid_epoch(exp)
    torch.save(first.state_dict(), tmp_path / "state.pt")
    del first
    resumed = Trainer(copy.deepcopy(exp))
    resumed.load_state_dict(torch.load(tmp_path / "state.pt", weights_only=True))
    assert (resumed.epoch, resumed.step_count, resumed.batch_in_epoch) == (3, straight.step_count, 4)
    for _ in range(2):
        straight.train_epoch()
        resumed.train_epoch()
    np.testing.assert_array_equal(resumed.step().layers[0].dropout_mask, straight.step().layers[0].dropout_mask)
    assert resumed.history == [replace(r, seconds=s.seconds) for r, s in zip(straight.history, resumed.history)]
    for (w, b), (sw, sb) in zip(resumed.weights(), straight.weights()):
        np.testing.assert_array_equal(w, sw)
        np.testing.assert_array_equal(b, sb)


def test_state_dict_keeps_early_stopping_going():
    exp = make(optimizer="adam", lr=0.05, early_stopping=3, epochs=500)
    exp.data.samples, exp.data.noise, exp.data.dataset = 60, 0.5, "xor"
    exp.model.hidden = [cfg.Layer(32, "relu")]
    straight, first = Trainer(copy.deepcopy(exp)), Trainer(copy.deepcopy(exp))
    while straight.status is None:
        straight.train_epoch()
    for _ in range(straight.best_epoch + 1):  # past the best epoch: the best weights are saved aside
        first.train_epoch()
    resumed = Trainer(copy.deepcopy(exp))
    resumed.load_state_dict(first.state_dict())
    while resumed.status is None:
        resumed.train_epoch()
    assert resumed.status == straight.status and resumed.best_epoch == straight.best_epoch
    for (w, b), (sw, sb) in zip(resumed.weights(), straight.weights()):
        np.testing.assert_array_equal(w, sw)
        np.testing.assert_array_equal(b, sb)


def test_set_epochs_lets_a_finished_run_go_on_and_never_lets_the_epoch_pass_the_status():
    trainer = Trainer(make(epochs=2))
    trainer.train_epoch()
    trainer.train_epoch()
    assert trainer.finished and trainer.status == "finished 2 epochs"
    trainer.set_epochs(4)
    assert trainer.status is None and trainer.exp.train.epochs == 4
    trainer.train_epoch()
    trainer.set_epochs(2)  # below the current epoch: finished where it is
    assert trainer.status == "finished 3 epochs" and trainer.epoch == 3


def test_a_step_on_diverged_weights_records_nan_instead_of_raising():
    exp = make(optimizer="adam")
    exp.model.hidden[0].dropout = 0.3
    trainer = Trainer(exp)
    trainer.network.params()[0].fill_(float("inf"))
    trainer.train_epoch()
    assert trainer.diverged
    records = [trainer.step() for _ in range(trainer.batches_per_epoch + 1)]
    assert all(np.isnan(r.loss) for r in records)
    assert np.isnan(records[-1].layers[-1].W_after).any()
    assert trainer.diverged and trainer.epoch == 2


def test_the_cpu_is_described_with_the_thread_count_training_uses(monkeypatch):
    import torch

    from tuidl.engine.devices import available_devices, cpu_threads, describe

    before = torch.get_num_threads()
    try:
        monkeypatch.delenv("TUIDL_THREADS", raising=False)
        torch.set_num_threads(3)  # what torch uses before any trainer is built does not matter
        label = available_devices()["cpu"]
        assert label.endswith(", 1 thread)") and label == describe(torch.device("cpu"))
        assert Trainer(make(device="cpu")).device_label == label and torch.get_num_threads() == 1
        monkeypatch.setenv("TUIDL_THREADS", "2")
        assert cpu_threads() == 2 and available_devices()["cpu"].endswith(", 2 threads)")
        assert Trainer(make(device="cpu")).device_label.endswith(", 2 threads)") and torch.get_num_threads() == 2
        monkeypatch.setenv("TUIDL_THREADS", "many")
        assert cpu_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_unavailable_device_is_a_config_error():
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(cfg.ConfigError, match="train.device"):
        Trainer(make(device="cuda"))


@pytest.mark.parametrize("loss, dataset", [("bce", "circle"), ("ce", "spiral"), ("mse", "plane"), ("mse", "xor")])
def test_the_epochs_evaluation_equals_evaluating_each_set(loss, dataset):
    exp = make(loss=loss, dtype="float64")
    exp.data.dataset = dataset
    if loss == "ce":
        exp.data.classes = 3
    trainer = Trainer(exp)
    trainer.train_epoch()
    train_loss, train_acc, val_loss, val_acc = trainer.evaluate_both()
    expected_train = trainer.evaluate(trainer.x_train, trainer.y_train)
    expected_val = trainer.evaluate(trainer.x_val, trainer.y_val)
    assert train_loss == pytest.approx(expected_train[0], rel=1e-12)
    assert val_loss == pytest.approx(expected_val[0], rel=1e-12)
    assert (train_acc, val_acc) == (expected_train[1], expected_val[1])


def test_early_stopping_with_min_delta_fires_while_the_loss_creeps_down():
    """A validation loss that falls by tiny amounts every epoch never stops early without
    min_delta; with it, tiny gains do not count (as Keras and Lightning)."""
    from tuidl import lessons

    exp, _ = lessons.load("learning-rate")  # lr 0.0001: the loss creeps down every epoch
    exp.train.device, exp.train.epochs, exp.train.early_stopping = "cpu", 60, 5
    creeping = Trainer(exp)
    while creeping.status is None:
        creeping.train_epoch()
    val = [r.val_loss for r in creeping.history]
    assert all(b < a for a, b in zip(val, val[1:])) and creeping.status == "finished 60 epochs"
    exp.train.min_delta = 0.01  # more than the loss gains in a few epochs
    strict = Trainer(exp)
    while strict.status is None:
        strict.train_epoch()
    assert strict.status.startswith("early stopping") and strict.epoch < 60
    assert strict.epoch - strict.best_epoch == 5
    assert val[strict.best_epoch - 1] == strict.history[strict.best_epoch - 1].val_loss  # the same run until then


@pytest.mark.parametrize("dataset", ["plane", "points"])
def test_r_squared_is_one_minus_the_residuals_over_the_variance(dataset):
    """Each epoch's R², from the loss, equals 1 − Σ(ŷ − y)²/Σ(y − ȳ)² of the predictions."""
    exp = cfg.change_dataset(cfg.default_experiment(), "plane")
    exp.train.device, exp.train.dtype, exp.train.lr = "cpu", "float64", 0.01
    if dataset == "points":  # values to fit on inline points
        rng = np.random.default_rng(3)
        pts = rng.uniform(-2, 2, (40, 2))
        exp.data.dataset, exp.data.x, exp.data.y = "points", pts.tolist(), (pts[:, 0] * 1.5 + 0.25).tolist()
        exp.data.x_val, exp.data.y_val = pts[:10].tolist(), (pts[:10, 0] * 1.5 + 0.5).tolist()
    trainer = Trainer(exp)
    for _ in range(5):
        record = trainer.train_epoch()
    ds = trainer.dataset
    for points, y, r2 in ((ds.points_train, ds.y_train, record.train_r2), (ds.points_val, ds.y_val, record.val_r2)):
        predicted = trainer.predict(points).reshape(-1)
        y = np.asarray(y, dtype=np.float64).reshape(-1)
        expected = 1 - np.sum((predicted - y) ** 2) / np.sum((y - y.mean()) ** 2)
        assert r2 == pytest.approx(expected, rel=1e-9, abs=1e-12)
    assert [r.train_r2 for r in trainer.history] != [None] * 5 and record.train_r2 > trainer.history[0].train_r2


def test_classification_has_no_r_squared():
    trainer = Trainer(make())
    record = trainer.train_epoch()
    assert record.train_r2 is None and record.val_r2 is None
