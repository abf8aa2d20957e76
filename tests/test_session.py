"""The training session: typed commands in, events out, in a thread and in the real child process."""
import copy
import math
import subprocess
import sys
import threading
import time

import pytest

from tuidl import config as cfg
from tuidl.session import (
    SPEEDS, Build, EngineFailed, EngineLoaded, Failed, Notice, Pause, Progress, Reset, Run, Session, SetEpochs,
    SetGrid, SetSpeed, Step, StepTaken, Toggle, TrainEpochs, faster, parse_speed, slower, speed_label,
)

WAIT = 60  # seconds: generous, for a loaded machine; nothing here should take more than a few


class Events:
    """Collects what the session delivers (from its thread) and waits for events."""

    def __init__(self):
        self.all = []
        self._changed = threading.Condition()

    def __call__(self, event) -> None:
        with self._changed:
            self.all.append(event)
            self._changed.notify_all()

    def wait(self, predicate, timeout: float = WAIT):
        """The first event (oldest first) that satisfies predicate, waiting for it."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for event in self.all:
                    if predicate(event):
                        return event
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no such event; got {[type(e).__name__ for e in self.all][-20:]}")
                self._changed.wait(left)

    def of(self, kind, command_id=None) -> list:
        with self._changed:
            return [e for e in self.all if isinstance(e, kind)
                    and (command_id is None or e.command_id == command_id)]

    def answer(self, cid: int):
        """The Failed or StepTaken that answers command `cid`."""
        return self.wait(lambda e: isinstance(e, (Failed, StepTaken)) and e.command_id == cid)

    def snapshot_after(self, cid: int):
        """The first snapshot that shows command `cid` fully processed."""
        return self.wait(lambda e: isinstance(e, Progress) and e.snapshot.done >= cid).snapshot

    def progress(self) -> list:
        return [e.snapshot for e in self.of(Progress)]


def experiment(**train) -> cfg.Experiment:
    exp = cfg.default_experiment()
    for key, value in train.items():
        setattr(exp.train, key, value)
    return exp


@pytest.fixture
def session_of():
    """session_of(exp, **kwargs) -> (session, events), started; stopped after the test."""
    sessions = []

    def make(exp, in_process=True, **kwargs):
        events = Events()
        session = Session(exp, None, "<test>", events, in_process=in_process, **kwargs)
        sessions.append(session)
        session.start()
        events.wait(lambda e: isinstance(e, Progress))
        return session, events

    yield make
    for session in sessions:
        session.stop()


def trained(exp, epochs: int):
    from tuidl.engine.trainer import Trainer

    trainer = Trainer(copy.deepcopy(exp))
    for _ in range(epochs):
        trainer.train_epoch()
    return trainer


def test_the_session_package_imports_neither_torch_nor_textual():
    code = "import sys, tuidl.session\nprint([m for m in ('torch', 'textual') if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_loads_then_trains_and_the_history_accumulates_across_progress_events(session_of):
    exp = experiment()
    session, events = session_of(exp)
    loaded = events.of(EngineLoaded)
    assert len(loaded) == 1 and loaded[0].devices["cpu"] and loaded[0].device_label
    first = events.progress()[0]
    assert (first.build, first.epoch, first.history, first.exp) == (1, 0, (), exp)
    a = session.send(TrainEpochs(3))
    b = session.send(TrainEpochs(2))
    assert b == a + 1 and session.last_id == b
    snap = events.snapshot_after(b)
    assert session.done >= b and snap.done == b
    assert snap.epoch == 5 and [r.epoch for r in snap.history] == [1, 2, 3, 4, 5]
    direct = trained(exp, 5)
    assert [r.val_loss for r in snap.history] == [r.val_loss for r in direct.history]
    assert snap.steps == direct.step_count and snap.batches_per_epoch == direct.batches_per_epoch
    assert not events.of(Failed)


def test_a_step_is_answered_with_its_record_and_counted(session_of):
    session, events = session_of(experiment())
    cid = session.send(Step())
    taken = events.answer(cid)
    assert isinstance(taken, StepTaken) and taken.record.step == 1 and taken.record.epoch == 1
    snap = events.snapshot_after(cid)
    assert (snap.steps, snap.batch_in_epoch, snap.epoch) == (1, 1, 0)
    cid = session.send(Step())
    assert events.answer(cid).record.step == 2


def test_grid_sets_the_boundary_resolution(session_of):
    session, events = session_of(experiment())
    snap = events.snapshot_after(session.send(SetGrid(7, 5)))
    assert snap.boundary.shape == (5, 7) and snap.boundary_size == (7, 5)
    assert len(snap.weights) == 3


def test_a_finished_run_refuses_to_train_on_until_epochs_are_raised(session_of):
    session, events = session_of(experiment(epochs=4))
    done = events.snapshot_after(session.send(TrainEpochs(10)))
    assert done.epoch == 4 and done.status == "finished 4 epochs"
    assert any("finished 4 epochs" in n.message for n in events.of(Notice))
    for command in (TrainEpochs(1), Run(), Step(), Toggle()):
        cid = session.send(command)
        failed = events.answer(cid)
        assert isinstance(failed, Failed) and failed.exp is None
        assert failed.message == "finished 4 epochs: raise epochs in the Train tab to go on, or press r to reset"
        assert events.snapshot_after(cid).epoch == 4
    events.snapshot_after(session.send(SetEpochs(6)))
    assert "epochs set to 6" in events.of(Notice)[-1].message
    cid = session.send(Run())
    snap = events.wait(lambda e: isinstance(e, Progress) and e.snapshot.status is not None and e.snapshot.done >= cid).snapshot
    assert (snap.epoch, snap.status, snap.running, snap.exp.train.epochs) == (6, "finished 6 epochs", False, 6)
    assert [r.epoch for r in snap.history] == [1, 2, 3, 4, 5, 6]


def test_lowering_epochs_below_the_current_one_finishes_the_run_there(session_of):
    session, events = session_of(experiment())
    events.snapshot_after(session.send(TrainEpochs(5)))
    snap = events.snapshot_after(session.send(SetEpochs(3)))
    assert (snap.epoch, snap.status) == (5, "finished 5 epochs")
    assert isinstance(events.answer(session.send(TrainEpochs(1))), Failed)


def test_reset_and_build_start_a_new_history(session_of):
    session, events = session_of(experiment())
    events.snapshot_after(session.send(TrainEpochs(2)))
    snap = events.snapshot_after(session.send(Reset()))
    assert (snap.build, snap.epoch, snap.history, snap.steps) == (2, 0, (), 0)
    assert "weights reset" in events.of(Notice)[-1].message
    snap = events.snapshot_after(session.send(TrainEpochs(1)))
    assert [r.epoch for r in snap.history] == [1]
    new = experiment(lr=0.1)
    new.model.hidden = [cfg.Layer(3, "relu")]
    snap = events.snapshot_after(session.send(Build(new, None, "a new network")))
    assert (snap.build, snap.exp, snap.epoch) == (3, new, 0)
    assert snap.weights[0][0].shape == (3, 2)
    assert events.of(Notice)[-1].message == "a new network"


def test_a_refused_build_says_why_and_which_experiment_is_kept(session_of):
    session, events = session_of(experiment())
    bad = experiment()
    bad.model.hidden[0].units = 0
    cid = session.send(Build(bad, None, "never said"))
    failed = events.answer(cid)
    assert isinstance(failed, Failed) and "units" in failed.message
    assert failed.exp == experiment()
    snap = events.snapshot_after(cid)
    assert snap.build == 1 and snap.exp == experiment()
    assert not any(n.message == "never said" for n in events.of(Notice))


def test_an_error_in_a_command_is_answered_with_its_id(session_of):
    session, events = session_of(experiment())
    for command in (SetSpeed(-1.0), SetEpochs(0)):
        cid = session.send(command)
        failed = events.answer(cid)
        assert isinstance(failed, Failed) and failed.command_id == cid
    assert events.snapshot_after(session.send(TrainEpochs(1))).epoch == 1


def test_after_divergence_a_step_shows_nan_and_training_is_refused(session_of):
    exp = experiment(loss="mse", optimizer="sgd", lr=10.0)
    exp.data.dataset = "plane"
    exp.model.hidden = [cfg.Layer(8, "relu"), cfg.Layer(8, "relu")]
    session, events = session_of(exp)
    cid = session.send(Run())
    snap = events.wait(lambda e: isinstance(e, Progress) and e.snapshot.diverged and e.snapshot.done >= cid).snapshot
    assert not snap.running and snap.status.startswith("diverged")
    assert any(n.message.startswith("diverged") for n in events.of(Notice))
    for command in (TrainEpochs(1), Run()):
        failed = events.answer(session.send(command))
        assert isinstance(failed, Failed) and "press r to reset" in failed.message
    cid = session.send(Step())
    taken = events.answer(cid)
    assert isinstance(taken, StepTaken)
    assert math.isnan(taken.record.loss)
    assert any(math.isnan(v) for v in taken.record.layers[-1].W_after.ravel())
    assert "diverged" in events.of(Notice)[-1].message and "press r" in events.of(Notice)[-1].message
    snap = events.snapshot_after(session.send(Reset()))
    assert not snap.diverged and snap.epoch == 0


def test_toggle_runs_and_pauses(session_of):
    session, events = session_of(experiment(epochs=100_000))
    assert events.snapshot_after(session.send(Toggle())).running
    snap = events.snapshot_after(session.send(Toggle()))
    assert not snap.running and snap.rate == 0
    epoch = snap.epoch
    time.sleep(0.3)
    assert events.progress()[-1].epoch == epoch  # paused stays paused


def test_running_fast_publishes_about_15_snapshots_a_second(session_of):
    session, events = session_of(experiment(epochs=100_000))
    start = events.snapshot_after(session.send(Run()))
    time.sleep(1.0)
    end = events.snapshot_after(session.send(Pause()))
    shown = [s for s in events.progress() if start.done <= s.done and s.running]
    assert end.epoch - start.epoch > len(shown)  # more epochs than snapshots: they are not all sent
    assert 3 <= len(shown) <= 25


def test_the_speed_limit_holds_and_each_epoch_is_shown(session_of):
    session, events = session_of(experiment(epochs=100_000))
    assert events.snapshot_after(session.send(SetSpeed(5))).speed == 5
    start = events.snapshot_after(session.send(Run())).epoch
    time.sleep(1.0)
    snap = events.snapshot_after(session.send(Pause()))
    trained = snap.epoch - start
    assert 2 <= trained <= 7
    shown = sorted({s.epoch for s in events.progress()})
    assert shown == list(range(shown[0], shown[-1] + 1))  # no epoch skipped on screen
    assert any(2 <= s.rate <= 8 for s in events.progress() if s.running)
    snap = events.snapshot_after(session.send(SetSpeed(None)))
    assert snap.speed is None


def test_commands_are_served_promptly_between_slow_epochs(session_of):
    session, events = session_of(experiment(epochs=100_000))
    events.snapshot_after(session.send(SetSpeed(1)))
    events.snapshot_after(session.send(Run()))
    time.sleep(0.1)
    sent = time.monotonic()
    snap = events.snapshot_after(session.send(SetGrid(9, 4)))
    assert time.monotonic() - sent < 0.6  # not held until the next epoch, a second away
    assert snap.boundary.shape == (4, 9) and snap.running


def test_a_checkpoint_opens_where_it_stopped(tmp_path, session_of):
    from tuidl.engine.checkpoint import read_checkpoint_experiment, save_checkpoint

    exp = experiment(optimizer="adam", lr=0.01)
    exp.model.hidden[0].dropout = 0.2
    saved = trained(exp, 6)
    for _ in range(3):
        saved.step()
    save_checkpoint(saved, tmp_path / "run.pt")
    session, events = session_of(read_checkpoint_experiment(tmp_path / "run.pt"), checkpoint=str(tmp_path / "run.pt"))
    first = events.progress()[0]
    assert (first.epoch, first.steps, first.batch_in_epoch) == (6, saved.step_count, 3)
    assert [r.val_loss for r in first.history] == [r.val_loss for r in saved.history]
    snap = events.snapshot_after(session.send(TrainEpochs(2)))
    saved.train_epoch()
    saved.train_epoch()
    assert [r.val_loss for r in snap.history] == [r.val_loss for r in saved.history]
    assert not events.of(Failed)


def test_a_checkpoint_that_cannot_be_read_starts_fresh_and_says_so(tmp_path, session_of):
    broken = tmp_path / "broken.pt"
    broken.write_bytes(b"not a zip")
    session, events = session_of(experiment(), checkpoint=str(broken))
    failed = events.of(Failed)
    assert len(failed) == 1 and failed[0].command_id == 0 and "broken.pt" in failed[0].message
    assert [type(e) for e in events.all[:3]] == [EngineLoaded, Failed, Progress]
    assert events.progress()[0].epoch == 0


def test_the_child_process_trains_steps_and_ends_with_stop(tmp_path):
    from tuidl.engine.checkpoint import save_checkpoint

    exp = experiment()
    saved = trained(exp, 2)
    save_checkpoint(saved, tmp_path / "run.pt")
    events = Events()
    session = Session(exp, None, "<test>", events, checkpoint=str(tmp_path / "run.pt"))
    session.start()
    try:
        assert events.wait(lambda e: isinstance(e, Progress)).snapshot.epoch == 2
        assert events.of(EngineLoaded)
        a = session.send(TrainEpochs(2))
        b = session.send(Step())
        assert events.answer(b).record.step == saved.step_count + 2 * saved.batches_per_epoch + 1
        snap = events.snapshot_after(b)
        saved.train_epoch()
        saved.train_epoch()
        assert a < b and [r.val_loss for r in snap.history] == [r.val_loss for r in saved.history]
    finally:
        session.stop()
    assert not session._process.is_alive()
    assert not events.of(EngineFailed)


def test_a_lost_child_process_is_reported_not_waited_for():
    events = Events()
    session = Session(experiment(), None, "<test>", events)
    session.start()
    try:
        events.wait(lambda e: isinstance(e, Progress))
        session._process.kill()
        failed = events.wait(lambda e: isinstance(e, EngineFailed))
        assert "ended unexpectedly" in failed.message
    finally:
        session.stop()


def test_the_speed_ladder():
    assert SPEEDS[0] == 1 and SPEEDS[-1] is None
    assert [faster(s) for s in SPEEDS] == [*SPEEDS[1:], None]
    assert [slower(s) for s in SPEEDS] == [1, *SPEEDS[:-1]]
    assert (faster(3), slower(3), slower(1000)) == (5, 2, 200)
    assert [speed_label(s) for s in (1, 5, 2.5, None)] == ["1 epoch/s", "5 epochs/s", "2.5 epochs/s", "max"]
    assert [parse_speed(t) for t in ("max", "", " 20 ", "2.5 epochs/s")] == [None, None, 20.0, 2.5]
    for bad in ("0.5", "fast", "nan", "-3", "inf"):
        with pytest.raises(ValueError, match="speed"):
            parse_speed(bad)


def test_a_first_network_that_cannot_be_built_is_reported_and_a_build_recovers(session_of):
    bad = experiment()
    bad.model.hidden[0].units = 0
    session, events = session_of(bad)
    assert [type(e) for e in events.all[:3]] == [EngineLoaded, Failed, Progress]
    assert "units" in events.all[1].message and events.all[1].exp is None
    assert events.all[2].snapshot.exp is None
    failed = events.answer(session.send(Step()))
    assert isinstance(failed, Failed) and "no network" in failed.message
    snap = events.snapshot_after(session.send(Build(experiment(), None, None)))
    assert snap.exp == experiment() and snap.build == 1
