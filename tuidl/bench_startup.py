"""`python -m tuidl.bench_startup tuidl|bare`: one start-up of `tuidl bench --startup`.

A fresh interpreter starts the app headless, and the moment its first frame is painted it
prints `time.time()` (one JSON line on stdout) and ends at once; the parent, which noted
the time just before it started this process, takes the difference: interpreter start,
imports, composing, layout and the first frame rendered to terminal text. `tuidl` goes the
way the `tuidl` command goes (the CLI module, the default experiment, TuidlApp); `bare` is
a Textual app of a Static and a Footer. Both are subclassed only to notice the frame
(tuidl.bench_app.FrameCounter), not changed. Only the standard library is imported here
before the app's own imports, as in the real command.
"""
from __future__ import annotations

import json
import os
import sys
import time

SIZE = (160, 48)


def _first_frame_app(base: type) -> type:
    from tuidl.bench_app import FrameCounter

    class FirstFrame(FrameCounter, base):
        def on_frame(self, screen, seconds: float) -> None:
            print(json.dumps({"painted_at": time.time(), "render_s": seconds}), flush=True)
            os._exit(0)  # nothing after the first frame is measured: no clean-up either

    return FirstFrame


def bare_app():
    from textual.app import App
    from textual.widgets import Footer, Static

    class Bare(App):
        def compose(self):
            yield Static("a bare Textual app")
            yield Footer()

    return _first_frame_app(Bare)()


def tuidl_app():
    from tuidl.cli import open_file  # what `tuidl` imports before the app

    exp, _, _ = open_file(None)
    from tuidl.ui.app import TuidlApp

    return _first_frame_app(TuidlApp)(exp, path=None)


def main(argv: list[str] | None = None) -> None:
    which = (sys.argv[1:] if argv is None else argv)[0]
    app = {"tuidl": tuidl_app, "bare": bare_app}[which]()
    app.run(headless=True, size=SIZE)
    sys.exit(1)  # the app ended without painting a frame


if __name__ == "__main__":
    main()
