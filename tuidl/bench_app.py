"""The app's side of `tuidl bench`: the app headless, with its real training process.

    python -m tuidl.bench_app live [--seconds S] [--keys K] [--help-presses H]
    python -m tuidl.bench_app memory [--hidden 4,2] [--epochs N]

Each prints one JSON object on stdout once the app has ended (tuidl.bench runs them as
child processes and reads it). This process is the app's: it imports Textual, never torch.

What is measured (tuidl bench's help and the README say the same):

- A frame is one screen update Textual's compositor renders (`App._display`, called by
  `Screen._compositor_refresh` with the changed regions), turned into the terminal text a
  real terminal would be sent; the headless driver throws the text away.
- live: the default experiment (circle, 2→4→2→1) trains as fast as it goes. Over a window
  of S seconds (after 1 s of warm-up): epochs/s from the snapshots the app handled (their
  epochs and arrival times), frames/s, the CPU time of the app's process (all its
  threads) as a share of one core and per frame, and the terminal text of the frames in
  kB/s (what an SSH connection would carry; truecolor). Then K key presses, `3` and `1` alternating (the
  Training tab, then the Data tab), each posted to the app as the terminal driver posts a
  key, timed from posting to the first frame painted in which the tab's form is laid out
  on screen; 20–60 ms apart. Then H times `?` (timed to the first frame in which the help
  text is on screen) and `escape` (to the first frame of the main screen again). The same
  keys again with training paused (idle). With K and H both 0, the epochs and frames only.
- memory: the experiment with the given hidden layers trains until epoch N as in the app
  (space); then the peak resident memory of this process and of the training process
  (VmHWM in /proc; elsewhere ru_maxrss for this one and null for the training process).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import time

SIZE = (160, 48)
WARM_UP = 1.0
KEY_TIMEOUT = 10.0


class FrameCounter:
    """Mixed into an App (before it): counts the frames it paints and renders each to the
    text a terminal would get, which the headless driver skips. `on_frame` is called after
    each frame with the screen painted and the seconds the terminal text took."""

    frames = 0
    terminal_bytes = 0  # of the frames' terminal text, UTF-8

    def _display(self, screen, renderable) -> None:
        if renderable is None or self._batch_count:
            return super()._display(screen, renderable)
        start = time.perf_counter()
        super()._display(screen, renderable)
        if self.is_headless:
            from textual._compositor import CompositorUpdate

            if isinstance(renderable, CompositorUpdate):
                self.terminal_bytes += len(renderable.render_segments(self.console).encode())
        self.frames += 1
        self.on_frame(screen, time.perf_counter() - start)

    def on_frame(self, screen, seconds: float) -> None:
        """Called after each frame."""


def percentile(values: list[float], q: float) -> float:
    """The q-quantile (0..1) by the nearest rank: p99 of 100 presses is the largest but one."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(q * len(ordered)) - 1))]


def summary(values: list[float]) -> dict:
    """Median, p99 and max in milliseconds, and how many."""
    if not values:
        return {"n": 0, "median_ms": None, "p99_ms": None, "max_ms": None}
    return {"n": len(values), "median_ms": 1000 * statistics.median(values),
            "p99_ms": 1000 * percentile(values, 0.99), "max_ms": 1000 * max(values)}


def bench_app_class():
    from tuidl.ui.app import TuidlApp

    class BenchApp(FrameCounter, TuidlApp):
        """TuidlApp, unchanged, that notes the frames it paints and the snapshots it shows."""

        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            self.progress_log: list[tuple[float, int]] = []  # (time handled, epoch)
            self.waiting: tuple | None = None  # (shown(screen) -> bool, future) of the key being timed

        def _progress(self, snap) -> None:
            super()._progress(snap)
            self.progress_log.append((time.perf_counter(), snap.epoch))

        def on_frame(self, screen, seconds: float) -> None:
            if self.waiting is not None and screen is self.screen:
                shown, future = self.waiting
                if shown(screen) and not future.done():
                    future.set_result(time.perf_counter())

    return BenchApp


def _laid_out(widget):
    """shown(screen): the widget is in the frame's layout, on screen."""
    return lambda screen: screen is widget.screen and widget in screen._compositor.visible_widgets


def _help_shown(screen) -> bool:
    from tuidl.ui.help import HelpScreen

    return isinstance(screen, HelpScreen) and screen.query_one("#help-text") in screen._compositor.visible_widgets


async def _time_key(app, key: str, shown) -> float:
    """Post `key` as the terminal driver does and wait for the first frame that shows() it."""
    from textual import events

    future = asyncio.get_running_loop().create_future()
    app.waiting = (shown, future)
    char = {"question_mark": "?", "escape": None}.get(key, key)
    event = events.Key(key, char)
    event.set_sender(app)
    start = time.perf_counter()
    app._driver.send_message(event)
    try:
        painted = await asyncio.wait_for(future, KEY_TIMEOUT)
    finally:
        app.waiting = None
    return painted - start


async def _keys(app, presses: int, help_presses: int, rng: random.Random) -> dict:
    main = app.main
    forms = {"3": main.query_one("#form-training"), "1": main.query_one("#form-data")}
    tabs, opened, closed = [], [], []
    for i in range(presses):
        key = "3" if i % 2 == 0 else "1"
        tabs.append(await _time_key(app, key, _laid_out(forms[key])))
        await asyncio.sleep(rng.uniform(0.02, 0.06))
    for _ in range(help_presses):
        opened.append(await _time_key(app, "question_mark", _help_shown))
        await asyncio.sleep(rng.uniform(0.02, 0.06))
        closed.append(await _time_key(app, "escape", lambda screen: screen is main))
        await asyncio.sleep(rng.uniform(0.02, 0.06))
    return {"tab_key": summary(tabs), "help_opens": summary(opened), "help_closes": summary(closed)}


async def _until(predicate, timeout: float = 120.0) -> None:
    end = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > end:
            raise TimeoutError("the app did not get there")
        await asyncio.sleep(0.01)


async def live(seconds: float = 5.0, presses: int = 100, help_presses: int = 20, seed: int = 0) -> dict:
    from tuidl import config as cfg
    from tuidl.ui.headless import wait_ready

    exp = cfg.default_experiment()
    exp.train.epochs = cfg.MAX_EPOCHS  # nothing stops while timed
    app = bench_app_class()(exp)
    rng = random.Random(seed)
    async with app.run_test(headless=True, size=SIZE) as pilot:
        await wait_ready(app)
        await pilot.press("space")
        await _until(lambda: app.snap.running)
        await asyncio.sleep(WARM_UP)
        start, cpu0, frames0, log0 = time.perf_counter(), time.process_time(), app.frames, len(app.progress_log)
        bytes0 = app.terminal_bytes
        await asyncio.sleep(seconds)
        window, frames = time.perf_counter() - start, app.frames - frames0
        sent = app.terminal_bytes - bytes0
        cpu = time.process_time() - cpu0
        log = app.progress_log[log0:]
        (t0, e0), (t1, e1) = log[0], log[-1]
        keys = {}
        if presses or help_presses:
            keys["training"] = await _keys(app, presses, help_presses, rng)
            keys["training"]["still_running"] = bool(app.snap.running)
            await pilot.press("space")
            await _until(lambda: not app.snap.running)
            await asyncio.sleep(0.3)
            keys["idle"] = await _keys(app, presses, help_presses, rng)
        app.exit()
    return {
        "experiment": "circle 2→4→2→1 tanh, batch 10",
        "terminal": f"{SIZE[0]}×{SIZE[1]}",
        "window_s": window,
        "app_epochs_per_s": (e1 - e0) / (t1 - t0) if t1 > t0 else 0.0,
        "frames_per_s": frames / window,
        "snapshots_per_s": len(log) / window,
        "app_cpu_share": cpu / window,
        "app_cpu_ms_per_frame": 1000 * cpu / frames if frames else None,
        "terminal_kb_per_s": sent / 1000 / window,
        **keys,
    }


def _peak_rss_mb() -> float:
    """This process's peak: VmHWM where Linux has it, since ru_maxrss keeps the parent's
    resident size across fork and exec (a child of `tuidl bench --all`, whose process holds
    torch and the engine's runs, read 334 MB where the app alone peaks at 222 MB)."""
    own = _process_peak_mb(os.getpid())
    if own is not None:
        return own
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10  # bytes on macOS, KiB elsewhere


def _process_peak_mb(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 2**10
    except OSError:
        return None
    return None


async def memory(hidden: list[int], epochs: int = 2000) -> dict:
    from tuidl import config as cfg
    from tuidl.ui.headless import wait_ready

    exp = cfg.default_experiment()
    exp.model.hidden = [cfg.Layer(units, exp.model.hidden[0].activation) for units in hidden]
    exp.train.epochs = epochs
    app = bench_app_class()(exp)
    async with app.run_test(headless=True, size=SIZE) as pilot:
        await wait_ready(app)
        await pilot.press("space")
        await _until(lambda: app.snap.epoch >= epochs and not app.snap.running, timeout=3600)
        await pilot.pause()
        trainer_peak = _process_peak_mb(app.session._process.pid)
        app_peak = _peak_rss_mb()
        reached = app.snap.epoch
        app.exit()
    return {"network": f"2→{'→'.join(map(str, hidden))}→1", "epochs": reached,
            "app_peak_mb": app_peak, "training_peak_mb": trainer_peak}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tuidl.bench_app")
    parser.add_argument("mode", choices=("live", "memory"))
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--keys", type=int, default=100)
    parser.add_argument("--help-presses", type=int, default=20)
    parser.add_argument("--hidden", default="4,2")
    parser.add_argument("--epochs", type=int, default=2000)
    args = parser.parse_args(argv)
    if args.mode == "live":
        result = asyncio.run(live(args.seconds, args.keys, args.help_presses))
    else:
        result = asyncio.run(memory([int(u) for u in args.hidden.split(",")], args.epochs))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
