"""`tuidl bench --startup/--live/--memory` run and give well-formed numbers (tiny sizes; no
timing is asserted), and the app-side changes made for speed behave as before."""
from __future__ import annotations

import asyncio
import math

import pytest
from conftest import async_test

from tuidl import bench, bench_app


def _number(value) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value) and value >= 0


def test_startup_gives_both_first_frames():
    row = bench.startup_rows(runs=1)
    assert all(_number(row[k]) for k in ("bare_s", "tuidl_s"))
    assert row["difference_s"] == pytest.approx(row["tuidl_s"] - row["bare_s"])
    assert isinstance(row["met"], bool)


def test_live_measures_epochs_frames_and_keys():
    result = asyncio.run(bench_app.live(seconds=0.5, presses=4, help_presses=1))
    assert result["app_epochs_per_s"] > 0 and result["frames_per_s"] > 0
    for when in ("training", "idle"):
        assert result[when]["tab_key"]["n"] == 4 and result[when]["help_opens"]["n"] == 1
        assert all(_number(result[when][k]["median_ms"]) for k in ("tab_key", "help_opens", "help_closes"))
    assert result["training"]["still_running"]


def test_live_without_keys_measures_epochs_and_frames_only():
    result = asyncio.run(bench_app.live(seconds=0.5, presses=0, help_presses=0))
    assert result["app_epochs_per_s"] > 0 and result["frames_per_s"] > 0
    assert 0 < result["app_cpu_share"] < 4  # of one core: the app's threads, never a machine's worth
    assert result["app_cpu_ms_per_frame"] == pytest.approx(1000 * result["app_cpu_share"] / result["frames_per_s"])
    assert result["terminal_kb_per_s"] > 1  # a frame of a training run is never empty
    assert "training" not in result and "idle" not in result


def test_live_rows_compare_with_the_engine(monkeypatch):
    fake = {"app_epochs_per_s": 90.0, "frames_per_s": 12.0, "app_cpu_share": 0.2, "terminal_kb_per_s": 150.0,
            **{w: {"tab_key": bench_app.summary([0.01, 0.02]), "help_opens": bench_app.summary([0.05]),
                   "help_closes": bench_app.summary([0.03])} for w in ("training", "idle")}}
    children = []
    monkeypatch.setattr(bench, "_child", lambda *args, **kw: children.append(args) or fake)
    engine = iter([100.0, 100.0, 50.0, 50.0, 110.0, 90.0])  # the machine slowed down in round 2
    monkeypatch.setattr(bench, "_engine_rate", lambda seconds: next(engine))
    row = bench.live_rows(seconds=0.1)
    assert [r["share"] for r in row["rounds"]] == pytest.approx([0.9, 1.8, 0.9])
    assert row["app_share_of_engine"] == pytest.approx(0.9)  # the median of the rounds
    assert row["engine_epochs_per_s"] == pytest.approx(100.0)
    assert [c[c.index("--keys") + 1] for c in children] == ["100", "0", "0"]  # the keys timed once
    assert row["met"] == {"epochs": True, "frames": True, "training_key": True, "training_help": True,
                          "idle_key": True, "idle_help": True}


def test_the_live_table_shows_each_figure(monkeypatch, capsys):
    fake = {"terminal": "160×48", "window_s": 3.0, "app_epochs_per_s": 90.0, "frames_per_s": 12.0,
            "app_cpu_share": 0.24, "terminal_kb_per_s": 150.0,
            **{w: {"tab_key": bench_app.summary([0.01, 0.02]), "help_opens": bench_app.summary([0.05]),
                   "help_closes": bench_app.summary([0.03])} for w in ("training", "idle")}}
    monkeypatch.setattr(bench, "_child", lambda *args, **kw: fake)
    monkeypatch.setattr(bench, "_engine_rate", lambda seconds: 100.0)
    monkeypatch.setenv("COLUMNS", "200")
    bench.print_app_tables({"live": bench.live_rows(seconds=0.1)})
    out = capsys.readouterr().out
    assert "90 %" in out and "12.0" in out and "24 %; 20.0 ms" in out and "150 kB/s" in out and "15 ms / 20 ms" in out


def test_memory_reads_both_processes():
    result = asyncio.run(bench_app.memory([4, 2], epochs=3))
    assert result["epochs"] == 3
    assert _number(result["app_peak_mb"]) and result["app_peak_mb"] > 0
    assert result["training_peak_mb"] is None or result["training_peak_mb"] > 0


def test_percentiles():
    values = [i / 1000 for i in range(1, 101)]
    stats = bench_app.summary(values)
    assert stats["n"] == 100 and stats["median_ms"] == pytest.approx(50.5) and stats["p99_ms"] == pytest.approx(99)
    assert bench_app.summary([])["median_ms"] is None


def test_a_static_repaints_only_on_a_change():
    from tuidl.ui.views import QuietStatic

    class Counting(QuietStatic):
        updates = 0

        def update(self, content="", *, layout=True):
            self.updates += 1

    static = Counting()
    static.show_if_changed("a", "a")
    static.show_if_changed("a", "a")
    static.show_if_changed("b", "b")
    assert static.updates == 2


@async_test
async def test_help_opens_and_closes_again_and_again():
    from tuidl.ui.app import TuidlApp
    from tuidl.ui.help import HelpScreen
    from tuidl.ui.headless import wait_ready

    app = TuidlApp(in_process=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_ready(app)
        for _ in range(3):
            await pilot.press("question_mark")
            assert isinstance(app.screen, HelpScreen)
            await pilot.press("escape")
            assert app.screen is app.main
        await pilot.press("question_mark", "escape", "escape")  # a double escape closes it once
        assert app.screen is app.main


@async_test
async def test_snapshots_after_a_key_are_drawn_once_it_has_been_answered():
    from tuidl.ui.app import TuidlApp
    from tuidl.ui.headless import wait_ready
    from tuidl.ui.views import Stats

    app = TuidlApp(in_process=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_ready(app)
        await pilot.press("space")
        await pilot.press("3")  # the key goes first; the snapshots that follow it wait a moment
        await pilot.pause(0.5)
        await pilot.press("space")
        await pilot.pause(0.5)
        shown = app.query_one(Stats)._shown[0]  # the epoch it shows
        assert shown == str(app.snap.epoch) and app.snap.epoch > 0
