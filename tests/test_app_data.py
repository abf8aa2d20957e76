"""The app on data without a plane: digits and a CSV of three columns. In place of the
decision boundary: the confusion matrix, the accuracy per class and (digits) a grid of
validation digits; their numbers are checked against the engine's."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from conftest import async_test, flat, screen_text, settle, start, train_epochs, widget

from tuidl import config as cfg
from tuidl.ui.app import TuidlApp

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def digits_exp() -> cfg.Experiment:
    return cfg.loads('[data]\ndataset = "digits"\nsamples = 400\n[model]\nhidden = [{ units = 16, activation = "relu" }]\n'
                     '[train]\noptimizer = "adam"\nlr = 0.01\nbatch_size = 32\n')


def engine_confusion(exp: cfg.Experiment, epochs: int) -> np.ndarray:
    """The same run trained by the engine alone, and its validation confusion matrix."""
    from tuidl.engine.confusion import validation_classes
    from tuidl.engine.trainer import Trainer

    trainer = Trainer(exp)
    for _ in range(epochs):
        trainer.train_epoch()
    return validation_classes(trainer)[1]


def check_confusion(app, exp: cfg.Experiment, epochs: int) -> np.ndarray:
    from tuidl.ui.confusion import ConfusionView, per_class

    shown = widget(app, ConfusionView).confusion
    assert shown is not None and shown.sum() == app.dataset.n_val
    assert np.array_equal(shown, engine_confusion(exp, epochs))
    # the diagonal is the validation accuracy the engine recorded for the epoch
    assert np.trace(shown) / shown.sum() == app.snap.history[-1].val_accuracy
    text = flat(screen_text(app))
    for name, (n, hit, acc) in zip(app.dataset.class_names, per_class(shown)):
        assert f"{name} {n} {hit} {acc:.1%}" in text
    return shown


@async_test
async def test_digits_show_the_confusion_matrix_and_the_digits_instead_of_the_plane():
    from tuidl.ui.digits_grid import DigitsGrid
    from tuidl.ui.plane import BoundaryPlane

    exp = digits_exp()
    app = TuidlApp(exp, deterministic=True, in_process=True)
    async with app.run_test(size=(150, 48)) as pilot:
        await start(app, pilot)
        await train_epochs(app, 1)
        await pilot.pause()
        assert not widget(app, BoundaryPlane).display and widget(app, "#classes").display
        assert "confusion matrix" in screen_text(app) and "network 64→16→10" in screen_text(app)
        assert "… " in screen_text(app) and " more" in screen_text(app)  # 64 inputs collapse in the diagram
        check_confusion(app, exp, 1)
        grid = widget(app, DigitsGrid)
        per_row, rows = grid.shown_count()
        assert grid.display and per_row * rows >= 4
        # the pane scrolls to the digits (under the matrix and the table, as with the keyboard)
        widget(app, "#classes").focus()
        await pilot.press("end")
        await pilot.pause()
        # each label drawn is the snapshot's prediction against the dataset's label
        text = screen_text(app)
        for i in range(min(per_row, len(app.dataset.y_val))):
            p, t = int(app.snap.val_predicted[i]), int(app.dataset.y_val[i])
            assert (f"{p} ✓" if p == t else f"{p}≠{t}") in text


@async_test
async def test_a_csv_of_three_columns_trains_and_names_its_classes():
    exp = cfg.load(EXAMPLES / "fruit.toml")
    app = TuidlApp(exp, str(EXAMPLES / "fruit.toml"), deterministic=True, in_process=True)
    async with app.run_test(size=(150, 48)) as pilot:
        await start(app, pilot)
        await train_epochs(app, 2)
        await pilot.pause()
        shown = check_confusion(app, exp, 2)
        assert shown.shape == (3, 3) and app.dataset.class_names == ["apple", "lemon", "orange"]
        assert not widget(app, "#digits-grid").display
        assert "Dataset: csv" in [c.title for c in app.get_system_commands(app.screen)]  # its own file
        head = widget(app, "#features-head").region  # the heading wraps in the panel, whole
        lines = screen_text(app).splitlines()[head.y:head.bottom]
        assert flat(" ".join(line[head.x:head.right] for line in lines)) == \
            "inputs: 3 columns (weight_g, diameter_cm, sweetness); the target: fruit"


@async_test
async def test_choosing_digits_in_the_app_and_back_to_the_plane():
    from tuidl.ui.plane import BoundaryPlane

    app = TuidlApp(cfg.default_experiment(), deterministic=True, in_process=True)
    async with app.run_test(size=(150, 48)) as pilot:
        await start(app, pilot)
        assert ("digits", "digits") in widget(app, "#f-dataset")._options
        app.action_choose("dataset", "digits")
        await settle(app)
        assert app.exp.data.dataset == "digits" and app.snap.exp.data.dataset == "digits"
        assert not widget(app, BoundaryPlane).display
        await train_epochs(app, 1)
        assert app.snap.confusion.sum() == app.dataset.n_val == widget(app, "#confusion").confusion.sum()
        app.action_choose("dataset", "circle")
        await settle(app)
        assert widget(app, BoundaryPlane).display and not widget(app, "#classes").display
        assert app.snap.confusion is None and app.snap.boundary is not None
