"""The app's side of drawing points by hand: each edit the plane asks for becomes the
experiment's own data (dataset "points") and is handed to the training process, which
trains on it from the next epoch with the same weights (session SetPoints).

The set as drawn is kept here too, because it can be what no experiment holds: no training
points at all. Such a set, and one that cannot train yet (a class with a single point),
is shown on the plane while training waits with the reason in the message line.
"""
from __future__ import annotations

import copy
import dataclasses
from typing import TYPE_CHECKING

from tuidl import config as cfg

if TYPE_CHECKING:  # imported where used: not before the first frame
    from tuidl import hand_points as hp

MAX_UNDO = 200


class PointsActions:
    """Mixed into the app (uses its exp, dataset, session, snap, main, say, _engine_ready)."""

    _drawn: hp.HandPoints | None = None  # the set as drawn ...
    _drawn_for: cfg.DataConfig | None = None  # ... while app.exp.data is this
    _undo: list[hp.HandPoints] | None = None
    _wanted_batch: int | None = None  # the batch size before it shrank to fewer points
    _shrunk_to: int | None = None

    def _drawn_points(self) -> hp.HandPoints | None:
        """The set drawn, while it belongs to the experiment in use (else None)."""
        if self._drawn is not None and self._drawn_for == self.exp.data:
            return self._drawn
        return None

    def points_hold(self) -> bool:
        """Whether training waits for points (said in the message line): space, e and n ask first."""
        from tuidl import hand_points as hp

        drawn = self._drawn_points()
        problem = hp.training_problem(drawn) if drawn is not None else None
        if problem:
            self.say(problem, error=True)
        return problem is not None

    def on_points_drawing_edit(self, message) -> None:
        from tuidl import hand_points as hp

        if self.dataset is None or not self._engine_ready():
            return
        current = self._drawn_points()
        if current is None:  # the first edit: the points of the set in use
            current = hp.from_dataset(self.dataset, self.exp.data.classes)
            self._undo, self._wanted_batch, self._shrunk_to = [], self.exp.train.batch_size, None
        try:
            if message.kind == "add":
                new = hp.add(current, message.at, message.label)
                what = f"added ({new.x[-1][0]:.3g}, {new.x[-1][1]:.3g}), {hp.label_name(current, message.label)}"
            elif message.kind == "remove":
                new, what = hp.remove_nearest(current, message.at)
                what = f"removed the {what}"
            elif message.kind == "clear":
                if not current.count:
                    raise hp.EditRefused("no points to clear")
                new, what = hp.clear(current), f"cleared {current.count} points (u undoes it)"
            elif self._undo:
                new, what = self._undo.pop(), "undone"
            else:
                raise hp.EditRefused("nothing to undo")
        except hp.EditRefused as err:
            self.say(str(err), error=True)
            return
        if self._use_points(new, what) and message.kind != "undo":
            self._undo = (self._undo + [current])[-MAX_UNDO:]

    def _use_points(self, new: hp.HandPoints, what: str) -> bool:
        """Make `new` the experiment's data and train on it; False (and why) when refused."""
        from tuidl import hand_points as hp
        from tuidl.session.commands import Pause, SetPoints

        dataset = None
        if new.x:  # an experiment holds a set with training points; without, the last one stays
            if self.exp.train.batch_size != self._shrunk_to:
                self._wanted_batch = self.exp.train.batch_size  # set in the Train tab since
            with_batch = copy.deepcopy(self.exp)
            with_batch.train.batch_size = self._wanted_batch
            exp = hp.to_experiment(with_batch, new, tuple(self.dataset.axis_labels))
            try:
                cfg.validate(exp, "points")
                from tuidl.data import make_dataset

                dataset = make_dataset(exp.data)
            except (cfg.ConfigError, ValueError) as err:
                self.say(f"{what.split(',')[0]}: refused: {err}", error=True)
                return False
            self._shrunk_to = exp.train.batch_size if exp.train.batch_size < self._wanted_batch else None
            self.exp, self.dataset = exp, dataset
            self.session.send(SetPoints(copy.deepcopy(exp), dataset))
        problem = hp.training_problem(new)
        if problem and self.snap is not None and self.snap.running:
            self.session.send(Pause())
        self._drawn, self._drawn_for = new, copy.deepcopy(self.exp.data)
        self._forget_step()  # a step shown was on other points
        self.main.show_points(self.exp, dataset if dataset is not None else _no_points(self.dataset))
        counts = f"{len(new.x)} training, {len(new.x_val)} validation points"
        self.say(f"{what} · {counts}" + (f" · {problem}" if problem else " · training goes on with the same weights"))
        return True


def _no_points(dataset):
    """`dataset` without a single point (what the plane shows of an empty set)."""
    import numpy as np

    empty_y = dataset.y_train[:0]
    return dataclasses.replace(dataset, points_train=np.empty((0, 2)), points_val=np.empty((0, 2)),
                               x_train=dataset.x_train[:0], x_val=dataset.x_val[:0], y_train=empty_y, y_val=empty_y)
