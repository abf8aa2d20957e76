"""The small views fed by the main screen: the top bar, the training figures, the charts.

Each is handed what it shows (an experiment, a snapshot) and draws it; none of them
reaches into the engine or the session. Only the top bar is on the first frame's path:
it imports Textual and config alone.
"""
from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING

from rich.text import Text
from textual.containers import Vertical
from textual.widgets import Static

from tuidl import config as cfg

if TYPE_CHECKING:
    from tuidl.session import Snapshot

CHART_INTERVAL = 0.5  # plotext is the costliest drawing: a few times a second is enough while training


def arch(exp: cfg.Experiment) -> str:
    """2→4→2→1: the width of every layer, inputs first."""
    sizes = cfg.layer_sizes(exp)
    return "→".join(str(s) for s in sizes)


def _finite(*values: float | None) -> bool:
    """No value is a NaN or infinite (None: a set that is not there, e.g. no validation points)."""
    return all(v is None or math.isfinite(v) for v in values)


def _num(value: float | None, spec: str) -> str:
    return "–" if value is None else format(value, spec)


class QuietStatic(Static):
    """A Static that repaints only when what it shows has changed. Snapshots come many
    times a second while training; each update of a Static asks for a layout of the whole
    screen by default, so a line of fixed height updates without one."""

    _shown: object = None

    def show_if_changed(self, content, key: object, layout: bool = False) -> None:
        if key == self._shown:
            return
        self._shown = key
        self.update(content, layout=layout)


class TopBar(QuietStatic):
    """tuidl · the device · the dataset, the network, the optimizer and the loss."""

    def show(self, exp: cfg.Experiment, device: str | None, failed: bool = False) -> None:
        from tuidl.engine.facts import OPTIMIZERS

        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(" tuidl ", style="bold reverse")
        text.append(" device: ", style="dim")
        if failed:
            text.append("engine failed to load", style="bold red")
        elif device is None:
            text.append("loading PyTorch…", style="italic yellow")
        else:
            text.append(device, style="bold cyan")
        acts = "/".join(sorted({layer.activation for layer in exp.model.hidden}))
        network = f"{arch(exp)} {acts}" if acts else arch(exp)
        t = exp.train
        text.append(f" │ {exp.data.dataset} · {network} · {OPTIMIZERS[t.optimizer].label} lr {t.lr:g} · {t.loss}")
        self.show_if_changed(text, text)  # one line: no layout


def epoch_text(snap: Snapshot) -> str:
    """Completed epochs, and the batches of the epoch under way (the step-through's)."""
    if snap.batch_in_epoch:
        return f"{snap.epoch} done · epoch {snap.epoch + 1}: {snap.batch_in_epoch}/{snap.batches_per_epoch} batches"
    return str(snap.epoch)


def state_text(snap: Snapshot | None, deterministic: bool) -> Text:
    if snap is None or snap.exp is None:
        return Text("loading PyTorch…", style="italic yellow")
    if snap.running:
        state = Text("▶ training", style="bold green")
        if not deterministic:
            state.append(f"  {snap.rate:.0f} epochs/s", style="green")
        return state
    if snap.status:
        return Text(snap.status, style="bold red" if snap.diverged else "yellow")
    return Text("‖ paused — space to run", style="dim")


class Stats(QuietStatic):
    """The epoch, train and validation loss and accuracy, and the run's state."""

    def show(self, snap: Snapshot | None, deterministic: bool) -> None:
        from tuidl.ui.colors import BLUE, ORANGE, hex_color

        rows: list[tuple[str, str | Text, str | Text]] = [
            ("", Text("train", style=f"bold {hex_color(BLUE)}"), Text("valid.", style=f"bold {hex_color(ORANGE)}"))]
        last = snap.history[-1] if snap is not None and snap.history else None
        if last is None:
            rows.append(("loss", "–", "–"))
        else:
            rows.append(("loss", _num(last.train_loss, ".4f"), _num(last.val_loss, ".4f")))
            # an accuracy next to a loss that is not a number would say nothing true
            if last.train_accuracy is not None and _finite(last.train_loss, last.val_loss):
                rows.append(("accuracy", _num(last.train_accuracy, ".3f"), _num(last.val_accuracy, ".3f")))
            elif last.train_r2 is not None:  # regression: the share of the targets' variance explained
                rows.append(("R²", _num(last.train_r2, ".3f"), _num(last.val_r2, ".3f")))
        epoch = epoch_text(snap) if snap is not None else "0"
        state = state_text(snap, deterministic)
        # Plain lines in columns, not a rich Table: this is drawn with every snapshot while
        # training, and a Table took 4 ms of each frame to lay out.
        widths = [max(len(str(row[c])) for row in rows) for c in range(3)]
        text = Text.assemble(("epoch ", "dim"), (epoch, "bold"), "\n")
        for label, train, valid in rows:
            text.append(label.ljust(widths[0]), style="dim")
            for cell, width in ((train, widths[1]), (valid, widths[2])):
                text.append(" " * (1 + width - len(str(cell))))
                text.append(cell)  # (a Text keeps its own style)
            text.append("\n")
        text.append_text(state)
        # a layout only when the height changes (a row more or less)
        self.show_if_changed(text, (epoch, rows[1:], state), layout=len(rows) != getattr(self, "_rows", None))
        self._rows = len(rows)


class FiguresLine(QuietStatic):
    """One line of figures for terminals too small for the charts (shown by the stylesheet)."""

    def show(self, snap: Snapshot | None) -> None:
        if snap is None or snap.exp is None:
            self.show_if_changed("", "")
            return
        text = Text(f"epoch {snap.epoch}", style="bold")
        last = snap.history[-1] if snap.history else None
        if last is not None:
            text.append(f" · loss {_num(last.train_loss, '.4f')} / val {_num(last.val_loss, '.4f')}")
            if last.train_accuracy is not None and _finite(last.train_loss, last.val_loss):
                text.append(f" · acc {_num(last.train_accuracy, '.3f')} / val {_num(last.val_accuracy, '.3f')}")
            elif last.train_r2 is not None:
                text.append(f" · R² {_num(last.train_r2, '.3f')} / val {_num(last.val_r2, '.3f')}")
        text.append(" · ")
        text.append_text(state_text(snap, deterministic=True))
        self.show_if_changed(text, text)  # one line: no layout


class Charts(Vertical):
    """Loss and accuracy per epoch, train and validation (plotext)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._key: tuple | None = None
        self._drawn_at = 0.0

    def compose(self):
        from tuidl.ui.chart import PlotextChart

        yield PlotextChart("loss", id="loss-chart")
        yield PlotextChart("accuracy", id="acc-chart")

    def show(self, snap: Snapshot) -> None:
        from tuidl.ui.chart import PlotextChart
        from tuidl.ui.colors import BLUE, ORANGE

        history = snap.history
        key = (snap.build, len(history), history[-1].epoch if history else 0)
        if key == self._key:
            return
        now = time.monotonic()
        if snap.running and now - self._drawn_at < CHART_INTERVAL:
            return
        self._key, self._drawn_at = key, now
        xs = [r.epoch for r in history]
        self.query_one("#loss-chart", PlotextChart).set_series(
            [("train", xs, [r.train_loss for r in history], BLUE), ("validation", xs, [r.val_loss for r in history], ORANGE)])
        acc = self.query_one("#acc-chart", PlotextChart)
        if history and history[-1].train_accuracy is None:  # regression: R² in the accuracy's place
            acc.title = "R² (1 − MSE/Var(y))"
            acc.empty_text = "no R² yet"
            acc.set_series([("train", xs, [r.train_r2 for r in history], BLUE),
                            ("validation", xs, [r.val_r2 for r in history], ORANGE)])
        else:
            acc.title = "accuracy"
            acc.set_series([("train", xs, [r.train_accuracy for r in history], BLUE),
                            ("validation", xs, [r.val_accuracy for r in history], ORANGE)])
