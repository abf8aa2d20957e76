"""Regression in the app: R² beside the loss, and its curve where accuracy would be."""
from conftest import async_test, flat, screen_text, start, train_epochs, widget

from tuidl import config as cfg
from tuidl.ui.app import TuidlApp


@async_test
async def test_plane_regression_shows_r_squared_from_the_engine():
    exp = cfg.change_dataset(cfg.default_experiment(), "plane")
    exp.train.optimizer, exp.train.lr = "adam", 0.01
    app = TuidlApp(exp, in_process=True, deterministic=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await start(app, pilot)
        await train_epochs(app, 10)
        last = app.snap.history[-1]
        assert last.train_accuracy is None and 0.5 < last.val_r2 < 1
        text = flat(screen_text(app))
        assert f"R² {last.train_r2:.3f} {last.val_r2:.3f}" in text
        chart = widget(app, "#acc-chart")
        assert chart.title.startswith("R²") and [s[2][-1] for s in chart.series] == [last.train_r2, last.val_r2]
        assert "accuracy" not in text
    small = TuidlApp(exp, in_process=True, deterministic=True)
    async with small.run_test(size=(80, 24)) as pilot:
        await start(small, pilot)
        await train_epochs(small, 3)
        last = small.snap.history[-1]
        assert f"R² {last.train_r2:.3f} / val {last.val_r2:.3f}" in flat(screen_text(small))
