"""Saving from the app: ctrl+s writes the checkpoint `tuidl train --save` writes, a new app
opens it where it was; quitting with training not saved asks first; a save that cannot be
written says so and the app goes on. Checked against the engine's own numbers."""
from __future__ import annotations

import queue

import numpy as np
from conftest import (
    async_test,
    flat,
    screen_text,
    settle,
    small_exp,
    start,
    train_epochs,
)

from tuidl import config as cfg
from tuidl.engine import checkpoint as ck
from tuidl.engine.trainer import Trainer
from tuidl.session import commands as c
from tuidl.session.commands import SetGrid
from tuidl.session.events import Failed, Saved
from tuidl.session.worker import ProgressDelta, Worker
from tuidl.ui.app import TuidlApp
from tuidl.ui.save import PathModal, QuitModal

SIZE = (120, 40)


def same_weights(a, b) -> bool:
    return len(a) == len(b) and all(np.array_equal(Wa, Wb) and np.array_equal(ba, bb)
                                    for (Wa, ba), (Wb, bb) in zip(a, b))


async def until(pilot, app, ready, what: str, seconds: float = 30) -> None:
    for _ in range(int(seconds / 0.05)):
        if ready():
            return
        await pilot.pause(0.05)
    raise AssertionError(f"{what}; the message line says: {app.last_message!r}")


def modal_text(app) -> str:
    """The lines of the modal on top (its box's borders cut them on screen)."""
    from textual.widgets import Static

    return flat(" ".join(str(w.render()) for w in app.screen.query(Static) if w.id and not w.id.endswith("input")))


async def type_path(pilot, app, text: str) -> None:
    """Replace the path the modal offers and press enter."""
    assert isinstance(app.screen, PathModal)
    app.screen.query_one("#path-input").value = text
    await pilot.press("enter")
    await pilot.pause()


# -- the worker: Save, Saved, and whether the run has changed since --------------------
class Driven:
    """A Worker served one command at a time in this thread."""

    def __init__(self, exp, checkpoint=None):
        self.events = []
        self.commands = queue.Queue()
        self.worker = Worker(exp, None, "<test>", self.commands, self.events.append, checkpoint=checkpoint)
        self.worker.loop(cancelled=lambda: True)  # builds the first network and returns
        self.worker._publish()
        self.ids = 0

    def do(self, command):
        self.ids += 1
        self.worker._handle(self.ids, command)
        self.worker._done = self.ids
        self.worker._publish()
        return [e for e in self.events if getattr(e, "command_id", None) == self.ids]

    @property
    def unsaved(self) -> bool:
        return [e for e in self.events if isinstance(e, ProgressDelta)][-1].snapshot.unsaved


def test_the_worker_saves_and_says_when_the_run_changes_since(tmp_path):
    run = Driven(small_exp())
    assert not run.unsaved  # a new network: nothing to lose
    run.do(c.TrainEpochs(2))
    assert run.unsaved
    path = tmp_path / "run.ckpt"
    [saved] = run.do(c.Save(str(path)))
    assert isinstance(saved, Saved) and saved.epoch == 2 and saved.path == str(path)
    assert not run.unsaved
    trainer = ck.load_checkpoint(path)
    assert trainer.epoch == 2 and trainer.step_count == run.worker.trainer.step_count
    assert same_weights(trainer.weights(), run.worker.trainer.weights())
    run.do(c.SetWeight(0, 0, 0, 0.5))  # a weight set by hand
    assert run.unsaved
    run.do(c.Save(str(path)))
    assert not run.unsaved and ck.load_checkpoint(path).weights()[0][0][0, 0] == 0.5
    run.do(c.Step())  # one step of the step-through moves the run on
    assert run.unsaved
    run.do(c.Save(str(path)))
    run.do(c.Reset())  # a new network, untrained: nothing to lose
    assert not run.unsaved
    [failed] = run.do(c.Save(str(tmp_path / "no-such-folder" / "run.ckpt")))
    assert isinstance(failed, Failed) and "could not save" in failed.message and "No such file" in failed.message
    assert ck.read_checkpoint_info(path)["epoch"] == 2  # the last good save is whole


def test_a_run_opened_from_a_checkpoint_is_saved_until_it_moves_on(tmp_path):
    trainer = Trainer(small_exp())
    trainer.train_epoch()
    path = tmp_path / "run.ckpt"
    ck.save_checkpoint(trainer, path)
    run = Driven(trainer.exp, checkpoint=str(path))
    assert run.worker.trainer.epoch == 1 and not run.unsaved
    run.do(c.TrainEpochs(1))
    assert run.unsaved


# -- the app -----------------------------------------------------------------------------
@async_test
async def test_ctrl_s_saves_and_a_new_app_opens_the_run_where_it_was(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    exp = small_exp()
    app = TuidlApp(exp, deterministic=True, in_process=True)
    async with app.run_test(size=SIZE) as pilot:
        await start(app, pilot)
        await train_epochs(app, 3)
        assert app.snap.unsaved
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, PathModal)  # no file yet: it asks where, offering <dataset>.ckpt here
        assert app.screen.query_one("#path-input").value == "circle.ckpt"
        await pilot.press("enter")
        await settle(app)
        path = tmp_path / "circle.ckpt"
        assert app.save_path == str(path) and not app.snap.unsaved
        assert "saved epoch 3 to circle.ckpt" in app.last_message
        assert "saved epoch 3 to circle.ckpt" in flat(screen_text(app))
        shown_weights, shown_history = app.snap.weights, [r.train_loss for r in app.snap.history]
        await train_epochs(app, 1)
        assert app.snap.unsaved  # training moved on
        await pilot.press("ctrl+s")  # the second time: to the same file, without asking
        await settle(app)
        assert not isinstance(app.screen, PathModal) and "saved epoch 4" in app.last_message
        await pilot.press("r")
        await settle(app)
        assert not app.snap.unsaved  # re-initialised: nothing trained to lose
    # the engine's numbers, in this process: an unbroken run of the same experiment
    reference = Trainer(exp)
    history = [reference.train_epoch().train_loss for _ in range(3)]
    assert history == shown_history and same_weights(reference.weights(), shown_weights)
    reference.train_epoch()
    saved = ck.load_checkpoint(path)
    assert saved.epoch == 4 and same_weights(saved.weights(), reference.weights())
    assert [r.train_loss for r in saved.history] == [r.train_loss for r in reference.history]

    opened = TuidlApp(ck.read_checkpoint_experiment(path), path=str(path), checkpoint=str(path),
                      deterministic=True, in_process=True)
    async with opened.run_test(size=SIZE) as pilot:
        await start(opened, pilot)
        assert opened.snap.epoch == 4 and same_weights(opened.snap.weights, reference.weights())
        assert not opened.snap.unsaved
        await train_epochs(opened, 1)
        assert opened.snap.history[-1].train_loss == reference.train_epoch().train_loss  # goes on unbroken
        await pilot.press("ctrl+s")  # opened from a checkpoint: saved back into it
        await settle(opened)
        assert not isinstance(opened.screen, PathModal) and ck.read_checkpoint_info(path)["epoch"] == 5


@async_test
async def test_quit_with_unsaved_training_asks_and_each_answer_does_what_it_says(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = TuidlApp(small_exp(), deterministic=True, in_process=True)
    async with app.run_test(size=SIZE) as pilot:
        await start(app, pilot)
        await train_epochs(app, 2)
        await pilot.press("q")
        await pilot.pause()
        assert isinstance(app.screen, QuitModal)
        assert "epoch 2 has changed since it was last saved" in modal_text(app)
        assert "save and quit" in flat(screen_text(app))  # drawn
        await pilot.press("q")  # a second q does not throw the training away
        await pilot.pause()
        assert isinstance(app.screen, QuitModal) and app.is_running
        await pilot.press("escape")  # cancel
        await pilot.pause()
        assert not isinstance(app.screen, QuitModal) and app.is_running and app.return_code is None
        await pilot.press("e")  # the app goes on
        await settle(app)
        assert app.snap.epoch == 3
        await pilot.press("q", "s")  # save: no file yet, so where?
        await pilot.pause()
        assert isinstance(app.screen, PathModal)
        await type_path(pilot, app, "kept.ckpt")
        await until(pilot, app, lambda: not app.is_running, "save and quit did not quit")
    assert ck.read_checkpoint_info(tmp_path / "kept.ckpt")["epoch"] == 3

    app = TuidlApp(small_exp(), deterministic=True, in_process=True)
    async with app.run_test(size=SIZE) as pilot:
        await start(app, pilot)
        await train_epochs(app, 1)
        await pilot.press("ctrl+q")  # Textual's own quit key asks too
        await pilot.pause()
        assert isinstance(app.screen, QuitModal)
        await pilot.press("d")  # quit without saving
        await until(pilot, app, lambda: not app.is_running, "d did not quit")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept.ckpt"]  # nothing written

    path = tmp_path / "kept.ckpt"
    app = TuidlApp(ck.read_checkpoint_experiment(path), path=str(path), checkpoint=str(path),
                   deterministic=True, in_process=True)
    async with app.run_test(size=SIZE) as pilot:
        await start(app, pilot)
        await train_epochs(app, 2)
        await pilot.press("q")
        await pilot.pause()
        await until(pilot, app, lambda: isinstance(app.screen, QuitModal), "q did not ask")
        await pilot.pause()
        assert "s saves it to kept.ckpt" in modal_text(app)
        await pilot.press("enter")  # the focused button: save (into the checkpoint opened) and quit
        await until(pilot, app, lambda: not app.is_running, "save and quit did not quit")
    assert ck.read_checkpoint_info(path)["epoch"] == 5


@async_test
async def test_quit_does_not_ask_when_nothing_would_be_lost(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = TuidlApp(small_exp(), deterministic=True, in_process=True)
    async with app.run_test(size=SIZE) as pilot:
        await start(app, pilot)
        await train_epochs(app, 1)
        await pilot.press("ctrl+s")
        await pilot.pause()
        await pilot.press("enter")
        await settle(app)
        await pilot.press("q")  # saved since it last changed
        await until(pilot, app, lambda: not app.is_running, "q did not quit a saved run")
    app = TuidlApp(small_exp(), deterministic=True, in_process=True)
    async with app.run_test(size=SIZE) as pilot:
        await start(app, pilot)
        app.session.send(SetGrid(30, 20))  # a command that changes nothing, perhaps not shown yet when q arrives
        await pilot.press("q")
        await until(pilot, app, lambda: not app.is_running, "q did not quit an untouched run")
    app = TuidlApp(small_exp(), deterministic=True, in_process=True)
    async with app.run_test(size=SIZE) as pilot:
        await start(app, pilot)
        await pilot.press("e", "q")  # fast: the question is up at once, so that the next key answers it
        assert isinstance(app.screen, QuitModal)
        await settle(app)
        assert app.snap.epoch == 1 and isinstance(app.screen, QuitModal)  # the epoch trained: still asks
        assert "at epoch 1 has changed" in modal_text(app)
        await pilot.press("d")
        await until(pilot, app, lambda: not app.is_running, "d did not quit")


@async_test
async def test_a_save_that_cannot_be_written_says_so_and_the_app_goes_on(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = TuidlApp(small_exp(), deterministic=True, in_process=True)
    async with app.run_test(size=SIZE) as pilot:
        await start(app, pilot)
        await train_epochs(app, 1)
        await pilot.press("ctrl+s")
        await pilot.pause()
        await type_path(pilot, app, str(tmp_path))  # a folder: refused in the field, which stays open
        assert isinstance(app.screen, PathModal) and "is a folder" in modal_text(app)
        await type_path(pilot, app, "no-such-folder/run.ckpt")
        await settle(app)
        assert not isinstance(app.screen, PathModal)
        assert "could not save" in app.last_message and "No such file or directory" in app.last_message
        assert app.is_running and app.snap.unsaved and app.save_path is None
        await pilot.press("q", "s")  # save and quit, to the same bad place: it stays, and says why
        await pilot.pause()
        await type_path(pilot, app, "no-such-folder/run.ckpt")
        await settle(app)
        assert app.is_running and "could not save" in app.last_message
        await train_epochs(app, 1)  # and trains on
        assert app.snap.epoch == 2
        (tmp_path / "taken.ckpt").write_text("someone's file")
        await pilot.press("ctrl+s")
        await pilot.pause()
        await type_path(pilot, app, "taken.ckpt")  # an existing file: a second enter replaces it
        assert isinstance(app.screen, PathModal) and "exists: enter again to replace it" in modal_text(app)
        await pilot.press("escape")
        await pilot.pause()
        assert (tmp_path / "taken.ckpt").read_text() == "someone's file"


@async_test
async def test_the_experiment_saves_as_toml_from_the_palette(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    exp = small_exp()
    exp.train.lr = 0.1
    app = TuidlApp(exp, deterministic=True, in_process=True)
    async with app.run_test(size=SIZE) as pilot:
        await start(app, pilot)
        titles = {cmd.title: cmd for cmd in app.get_system_commands(app.screen)}
        assert {"Save the run", "Save the run as…", "Save the experiment as TOML…"} <= set(titles)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"experiment as TOML")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await until(pilot, app, lambda: isinstance(app.screen, PathModal), "the palette did not open the save")
        assert app.screen.query_one("#path-input").value == "circle.toml"
        await pilot.press("enter")
        await pilot.pause()
        assert "experiment saved to circle.toml" in app.last_message
    assert cfg.load(tmp_path / "circle.toml") == app.exp


@async_test
async def test_an_escape_that_reaches_the_save_question_under_another_screen_leaves_it_open(tmp_path, monkeypatch):
    """Found by random keys in a real terminal under load: escape reached the save field, and
    before it got to the question's cancel, ctrl+p had opened the palette on top. Textual's
    dismiss pops the top screen: the palette went instead, and the question, marked closed,
    never closed again (the app could not quit)."""
    from tuidl.ui.palette import Palette

    monkeypatch.chdir(tmp_path)
    app = TuidlApp(small_exp(), deterministic=True, in_process=True)
    async with app.run_test(size=SIZE) as pilot:
        await start(app, pilot)
        await train_epochs(app, 1)
        await pilot.press("ctrl+s")
        await pilot.pause()
        question = app.screen
        assert isinstance(question, PathModal)
        await pilot.press("ctrl+p")
        await pilot.pause()
        assert isinstance(app.screen, Palette)
        question.action_cancel()  # the late escape
        await pilot.pause()
        assert isinstance(app.screen, Palette)  # not popped by the question's cancel
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is question
        await pilot.press("escape")  # the question still closes
        await pilot.pause()
        assert app.screen is app.main and app.is_running
