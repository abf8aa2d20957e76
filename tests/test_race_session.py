"""The race's worker behind a Session: the app's race view talks to it as to the trainer."""
import math

import pytest

from tests.test_session import Events
from tuidl import config as cfg
from tuidl.engine.race import Race
from tuidl.session import Build, Failed, Notice, Pause, Reset, Run, Session, SetGrid, StepTaken, Toggle
from tuidl.session.race_worker import RaceProgress, RaceWorker, StepVariant


def race_exp(epochs: int = 6) -> cfg.Experiment:
    exp = cfg.default_experiment()
    exp.train.device, exp.train.epochs = "cpu", epochs
    exp.race = {"optimizer": ["sgd", "adam"], "lr": [0.01, 0.1]}
    return exp


def last_race(events: Events, build: int | None = None) -> RaceProgress:
    found = [e for e in events.all if isinstance(e, RaceProgress) and (build is None or e.build == build)]
    return found[-1]


@pytest.mark.parametrize("in_process", [True, False])
def test_a_race_runs_to_the_end_with_the_numbers_of_the_engine(in_process):
    events = Events()
    session = Session(race_exp(), None, "race.toml", events, in_process=in_process, worker=RaceWorker)
    session.start()
    try:
        session.send(SetGrid(8, 6))
        session.send(Run())
        done = events.wait(lambda e: isinstance(e, RaceProgress) and e.finished)
        events.wait(lambda e: isinstance(e, Notice) and "every variant has stopped" in e.message)
        assert done.names == ("sgd lr=0.01", "sgd lr=0.1", "adam lr=0.01", "adam lr=0.1")
        assert done.epoch == 6 and not done.running
        alone = Race(race_exp(), race_exp().race)
        alone.run()
        for curve, history in zip(done.curves, alone.history):
            assert [point[0] for point in curve] == list(range(1, 7))
            assert all(math.isclose(p[1], r.train_loss, rel_tol=1e-6) for p, r in zip(curve, history))
        assert all(b.shape == (6, 8) for b in done.boundaries)
        assert [row["status"] for row in done.table] == ["finished 6 epochs"] * 4
        cid = session.send(Run())
        assert "every variant has stopped" in events.answer(cid).message
    finally:
        session.stop()


def test_steps_of_one_variant_leave_the_race_where_it_is():
    events = Events()
    session = Session(race_exp(epochs=3), None, "race.toml", events, in_process=True, worker=RaceWorker)
    session.start()
    try:
        first = events.wait(lambda e: isinstance(e, RaceProgress))
        answers = [events.answer(session.send(StepVariant(2))) for _ in range(2)]
        assert [type(a) for a in answers] == [StepTaken, StepTaken]
        assert [a.record.step for a in answers] == [1, 2] and answers[0].record.optimizer == "adam"
        assert isinstance(events.answer(session.send(StepVariant(9))), Failed)
        assert last_race(events).epoch == 0 and last_race(events).step_of == {2: 2}
        session.send(Toggle())
        events.wait(lambda e: isinstance(e, RaceProgress) and e.finished)
        # a step after the race moved starts from where the variant is now
        after = events.answer(session.send(StepVariant(2)))
        assert after.record.epoch == 4 and after.record.step == 3 * 25 + 1  # 250 training points, batches of 10
        session.send(Reset())
        events.wait(lambda e: isinstance(e, RaceProgress) and e.build == first.build + 1 and e.epoch == 0)
    finally:
        session.stop()


def test_a_race_that_does_not_fit_says_why_and_a_new_build_mends_it():
    events = Events()
    exp = race_exp()
    exp.race = {"lr": [0.01, 50.0]}
    session = Session(exp, None, "race.toml", events, in_process=True, worker=RaceWorker)
    session.start()
    try:
        bad = events.wait(lambda e: isinstance(e, RaceProgress))
        assert "train.lr = 50.0" in bad.error and bad.names == ()
        assert "train.lr = 50.0" in events.answer(session.send(Run())).message
        exp.race = {"lr": [0.01, 0.5]}
        session.send(Build(exp))
        good = events.wait(lambda e: isinstance(e, RaceProgress) and e.build == bad.build + 1)
        assert good.error is None and good.names == ("lr=0.01", "lr=0.5")
        session.send(Run())
        session.send(Pause())
    finally:
        session.stop()
