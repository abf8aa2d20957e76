"""The tuidl app: build a network, train it live, step through one training step.

The first frame is a skeleton: the top bar, the titled empty panes and the footer; only
Textual, tuidl.config and the light UI modules are imported for it. Right after it is
drawn, the panes are filled (the side panel, and the views that need numpy: the diagram,
the boundary plane with its dataset, the charts, the step-through panel), then the forms,
then the session's worker starts the engine (torch, in a child process); the training
controls come alive once it has loaded. Modules off the first frame's path are imported
where they are used (`from tuidl.ui import stepthrough` in a method).
"""
from __future__ import annotations

import asyncio
import contextlib
import copy
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable

from rich.text import Text
from textual import on
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import (
    Button,
    Checkbox,
    ContentSwitcher,
    Footer,
    Input,
    OptionList,
    RadioButton,
    RadioSet,
    Select,
    SelectionList,
    Static,
    TabbedContent,
)
from textual.widgets.option_list import Option

from tuidl import config as cfg
from tuidl.config import ConfigError, Experiment, Layer
from tuidl.ui.chart import PlotextChart
from tuidl.ui.forms import FIELDS, LAYER_FIELDS, OPT_LABELS, SidePanel, format_value, option_widgets

if TYPE_CHECKING:
    from tuidl.ui.diagram import DiagramModel
    from tuidl.ui.session import Session, Snapshot

FRAME_INTERVAL = 1 / 30  # poll faster than snapshots come, so each is drawn promptly
CHART_INTERVAL = 0.5
COMPACT_WIDTH = 110
COMPACT_HEIGHT = 32
SOURCE = "refused"
# Messages that programmatic form updates must not send back to the app.
QUIET = (Select.Changed, Checkbox.Changed, RadioSet.Changed, RadioButton.Changed,
         SelectionList.SelectedChanged, SelectionList.SelectionToggled, OptionList.OptionHighlighted)


def arch(exp: Experiment) -> str:
    sizes = [len(exp.data.features), *(l.units for l in exp.model.hidden), cfg.output_units(exp)]
    return "→".join(str(s) for s in sizes)


class TuidlApp(App):
    CSS_PATH = str(Path(__file__).with_name("app.tcss"))  # absolute: subclasses elsewhere work too
    TITLE = "tuidl"
    BINDINGS = [
        Binding("space", "toggle_run", "run/pause"),
        Binding("e", "epoch", "epoch"),
        Binding("n", "next_phase", "next phase"),
        Binding("p", "prev_phase", "prev phase", show=False),
        Binding("r", "reset", "reset"),
        Binding("a", "add_layer", "add layer", show=False),
        Binding("x", "delete_layer", "delete layer", show=False),
        Binding("escape", "close_step", "charts", show=False),
        Binding("left_square_bracket", "example(-1)", "prev example", show=False),
        Binding("right_square_bracket", "example(1)", "next example", show=False),
        Binding("up", "neuron(-1)", "prev neuron", show=False),
        Binding("down", "neuron(1)", "next neuron", show=False),
        Binding("1", "tab('tab-data')", "Data", show=False),
        Binding("2", "tab('tab-network')", "Network", show=False),
        Binding("3", "tab('tab-training')", "Training", show=False),
        Binding("4", "tab('tab-device')", "Device", show=False),
        Binding("question_mark", "help", "help"),
        Binding("q", "quit", "quit"),
    ]

    def __init__(self, exp: Experiment | None = None, path: str | None = None, *, deterministic: bool = False,
                 in_process: bool = False):
        """in_process: train in a thread of this process instead of a child process (tests)."""
        super().__init__()
        self.exp = copy.deepcopy(exp) if exp is not None else cfg.default_experiment()
        self.path = path
        self.deterministic = deterministic
        self.in_process = in_process
        # Made right after the first frame (_fill_panes): they need numpy.
        self.dataset = None
        self.session: Session | None = None
        self.snap: Snapshot | None = None
        self.selected_layer: int | None = 0 if self.exp.model.hidden else None
        self.step_record = None
        self.phase_index = 0
        self.example = 0
        self.neuron = 0
        self.step_mode = False
        self._awaiting_step: int | None = None
        self._seen_version = -1
        self._seen_step = -1
        self._seen_error = 0
        self._seen_notice = 0
        self._last_build_cmd = 0
        self._devices_shown = False
        self._refresh_requested: tuple[int, int] | None = None
        self._chart_key = None
        self._chart_time = 0.0
        self._weights_build = -1
        self.last_message = ""
        self.forms_ready = False

    # -- layout ----------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        """The first frame: empty titled panes; _fill_panes mounts what goes in them right after."""
        yield Static("", id="topbar")
        with Horizontal(id="body"):
            yield Vertical(id="side-pane")
            with Horizontal(id="views"):
                with Vertical(id="centre"):
                    yield Vertical(id="diagram-pane")
                    yield Vertical(id="plane-pane")
                yield Vertical(id="right")
        yield Static("", id="message")
        yield Footer()

    def q(self, selector, expect_type=None):
        """query_one on the main screen (also while the help or the palette is on top)."""
        base = getattr(self, "_main_screen", None) or self.screen
        return base.query_one(selector, expect_type) if expect_type else base.query_one(selector)

    def on_mount(self) -> None:
        self._main_screen = self.screen
        self.q("#diagram-pane").border_title = f"network {arch(self.exp)}"
        self.q("#plane-pane").border_title = "decision boundary · ● train ○ validation"
        self.q("#right").border_title = "training"
        self._apply_size(self.size.width, self.size.height)
        self.update_topbar()
        # The first frame is drawn now; the views, the forms, then the engine (torch) come right after.
        self.call_after_refresh(self._after_first_frame)

    async def _fill_panes(self) -> None:
        """The dataset, the session and the panes' contents (after the first frame)."""
        from tuidl.data import make_dataset
        from tuidl.ui.diagram import NetworkDiagram
        from tuidl.ui.plane import BoundaryPlane
        from tuidl.ui.session import Session, Snapshot
        from tuidl.ui.stepthrough import StepThroughPanel

        self.dataset = make_dataset(self.exp.data)
        # The session's first multiprocessing queue starts multiprocessing's resource tracker, which
        # is handed sys.stderr's file descriptor: Textual's capture of stderr has none, the real one has.
        with contextlib.redirect_stderr(sys.__stderr__):
            self.session = Session(self.exp, self.dataset, source=self.path or "<experiment>",
                                   in_process=self.in_process)
        self.snap = Snapshot()
        await self.q("#side-pane").mount(SidePanel(self.exp, id="side"))
        if self._main_screen.focused is None:  # the screen's auto-focus ran before the side panel's tabs were there
            self._main_screen.focus_next()
        await self.q("#diagram-pane").mount(NetworkDiagram(id="diagram"))
        await self.q("#plane-pane").mount(BoundaryPlane(id="plane"))
        await self.q("#right").mount_all([
            Static("", id="stats"),
            ContentSwitcher(
                Vertical(PlotextChart("loss", id="loss-chart"), PlotextChart("accuracy", id="acc-chart"), id="charts"),
                Vertical(Static("", id="step-header"), StepThroughPanel(id="stepthrough"), id="step"),
                id="right-switch", initial="charts"),
        ])
        self.q("#plane").set_dataset(self.dataset)
        self.update_static_views()
        self.set_interval(FRAME_INTERVAL, self.poll)

    async def _after_first_frame(self) -> None:
        try:
            await self._fill_panes()
            await self.q(SidePanel).populate()
        except Exception:  # noqa: BLE001 - the app was closed before the forms were mounted
            if not self.is_running or self._exit_renderables or self.return_code is not None:
                return
            raise
        if not self.is_running or self.return_code is not None:
            return  # the user quit before the forms were up
        self.forms_ready = True
        self.sync_forms()
        self.update_controls()
        self._start_worker()

    def _start_worker(self) -> None:
        self.run_worker(self._worker_body, thread=True, exclusive=True, name="trainer", group="trainer")

    def _worker_body(self) -> None:
        from textual.worker import get_current_worker

        worker = get_current_worker()
        self.session.loop(lambda: worker.is_cancelled)

    def on_unmount(self) -> None:
        if self.session is not None:
            self.session.stop()

    def on_resize(self, event) -> None:
        self._apply_size(event.size.width, event.size.height)

    def _apply_size(self, width: int, height: int) -> None:
        compact = width < COMPACT_WIDTH or height < COMPACT_HEIGHT
        screen = getattr(self, "_main_screen", None) or self.screen
        if screen.has_class("-compact") != compact:  # restyling every widget is costly: only on a change
            screen.set_class(compact, "-compact")

    # -- polling the worker's snapshot (the UI's frame) ------------------------------
    def poll(self) -> None:
        if not self.is_running or getattr(self, "_main_screen", None) is None or not self._main_screen.is_attached:
            return
        plane = self.q("#plane")
        grid = plane.grid_size
        self.session.grid = grid
        snap = self.session.snapshot
        if snap.version == self._seen_version:
            if (snap.loaded and snap.exp is not None and not snap.running and snap.boundary_size != grid
                    and self._refresh_requested != grid):
                self._refresh_requested = grid
                self.session.send("refresh")
            return
        self._seen_version = snap.version
        self.snap = snap
        if snap.load_error:
            self.set_message(snap.load_error, error=True)
        if snap.loaded and not self._devices_shown and snap.devices and self.forms_ready:
            self._devices_shown = True
            self.sync_devices()
        if snap.error_version != self._seen_error:
            self._seen_error = snap.error_version
            if snap.error:
                self.set_message(snap.error, error=True)
                self.notify(snap.error, severity="error", timeout=6)
            if snap.exp is not None and snap.done >= self._last_build_cmd and snap.exp != self.exp:
                # The engine refused the change (e.g. a device that is not there): keep its experiment.
                from tuidl.data import make_dataset

                self.exp = copy.deepcopy(snap.exp)
                self.dataset = make_dataset(self.exp.data)
                plane.set_dataset(self.dataset)
                self.sync_forms()
        if snap.notice_version != self._seen_notice:
            self._seen_notice = snap.notice_version
            if snap.notice:
                self.set_message(snap.notice)
                self.notify(snap.notice, timeout=4)
        if snap.step_version != self._seen_step:
            self._seen_step = snap.step_version
            if snap.step_record is None:
                self.step_record = None
                self.q("#stepthrough").clear()
            elif self._awaiting_step is not None:
                self._awaiting_step = None
                self.step_record = snap.step_record
                self.phase_index = 0
                self.show_phase()
        if snap.boundary is not None and snap.exp is not None and snap.exp.data == self.exp.data:
            plane.set_boundary(snap.boundary)
        self.update_dynamic_views()

    # -- views -------------------------------------------------------------------------
    def set_message(self, text: str, error: bool = False) -> None:
        self.last_message = text
        msg = self.q("#message", Static)
        msg.update(Text(text, style="bold red" if error else "green"))

    def update_static_views(self) -> None:
        self.update_topbar()
        self.update_diagram()
        self.update_stats()

    def update_dynamic_views(self) -> None:
        self.update_topbar()
        if not self.step_mode or self.step_record is None:
            self.update_diagram()
        self.update_stats()
        self.update_charts()
        self.update_controls()

    def update_topbar(self) -> None:
        e, s = self.exp, self.snap
        acts = sorted({l.activation for l in e.model.hidden})
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(" tuidl ", style="bold reverse")
        text.append(" device: ", style="dim")
        if s is not None and s.load_error:
            text.append("engine failed to load", style="bold red")
        elif s is None or not s.loaded or s.exp is None:
            text.append("loading PyTorch…", style="italic yellow")
        else:
            # deterministic (snapshots): the device's name without machine details
            text.append(s.device_label.split(" ")[0] if self.deterministic else s.device_label, style="bold cyan")
        text.append(f" │ {e.data.dataset} · {arch(e)} {'/'.join(acts)} · {OPT_LABELS[e.train.optimizer]} "
                    f"lr {e.train.lr:g} · {e.train.loss}")
        self.q("#topbar", Static).update(text)

    def diagram_model(self) -> DiagramModel:
        from tuidl.ui.diagram import DiagramModel

        e = self.exp
        layers = [(l.units, l.activation, l.dropout) for l in e.model.hidden]
        out_act = {"bce": "sigmoid", "ce": "softmax", "mse": "linear"}[e.train.loss]
        layers.append((cfg.output_units(e), out_act, 0.0))
        out_label = {"bce": "σ", "ce": "softmax", "mse": "ŷ"}[e.train.loss]
        weights = None
        s = self.snap
        if s.weights is not None and s.exp is not None and s.exp.model == e.model and s.exp.data.features == e.data.features \
                and cfg.output_units(s.exp) == cfg.output_units(e):
            weights = s.weights
        return DiagramModel(inputs=list(e.data.features), layers=layers, output_label=out_label,
                            weights=weights, selected=self.selected_layer)

    def update_diagram(self) -> None:
        diagram, pane = self.q("#diagram"), self.q("#diagram-pane")
        if self.step_mode and self.step_record is not None:
            diagram.set_model(self.step_diagram_model())
            pane.border_title = "network · step-through"
        else:
            diagram.set_model(self.diagram_model())
            pane.border_title = f"network {arch(self.exp)}"

    def update_stats(self) -> None:
        from rich.table import Table

        from tuidl.ui.colors import BLUE, ORANGE

        s = self.snap
        table = Table.grid(padding=(0, 1))
        table.add_column(style="dim")
        table.add_column(justify="right")
        table.add_column(justify="right")
        last = s.history[-1] if s.history else None
        epoch_txt = f"{s.epoch}"
        if s.batch_in_epoch:
            epoch_txt += f" (+{s.batch_in_epoch}/{s.batches_per_epoch} batches)"
        table.add_row("epoch", Text(epoch_txt, style="bold"), "")
        table.add_row("", Text("train", style=f"bold {_hex(BLUE)}"), Text("valid.", style=f"bold {_hex(ORANGE)}"))
        if last is not None:
            table.add_row("loss", f"{last.train_loss:.4f}", f"{last.val_loss:.4f}")
            if last.train_accuracy is not None:
                table.add_row("accuracy", f"{last.train_accuracy:.3f}", f"{last.val_accuracy:.3f}")
        else:
            table.add_row("loss", "–", "–")
        if not s.loaded or s.exp is None:
            state = Text("loading PyTorch…", style="italic yellow")
        elif s.running:
            state = Text("▶ training", style="bold green")
            if not self.deterministic:
                state.append(f"  {s.rate:.0f} epochs/s", style="green")
        elif s.status:
            state = Text(s.status, style="bold red" if s.status.startswith("diverged") else "yellow")
        else:
            state = Text("‖ paused — space to run", style="dim")
        box = Table.grid()
        box.add_row(table)
        box.add_row(state)
        self.q("#stats", Static).update(box)

    def update_charts(self) -> None:
        from tuidl.ui.colors import BLUE, ORANGE

        s = self.snap
        key = (s.build, len(s.history), s.history[-1].epoch if s.history else 0)
        if key == self._chart_key:
            return
        now = time.monotonic()
        if s.running and now - self._chart_time < CHART_INTERVAL:
            return  # plotext is the costliest drawing: a few times a second is enough while training
        self._chart_time = now
        self._chart_key = key
        h = s.history
        xs = [r.epoch for r in h]
        self.q("#loss-chart", PlotextChart).set_series(
            [("train", xs, [r.train_loss for r in h], BLUE), ("validation", xs, [r.val_loss for r in h], ORANGE)])
        acc = self.q("#acc-chart", PlotextChart)
        if h and h[-1].train_accuracy is None:
            acc.empty_text = "regression: no accuracy"
            acc.set_series([])
        else:
            acc.set_series([("train", xs, [r.train_accuracy for r in h], BLUE),
                            ("validation", xs, [r.val_accuracy for r in h], ORANGE)])

    def update_controls(self) -> None:
        if not self.forms_ready:
            return
        run = self.q("#b-run", Button)
        label = "‖ pause" if self.snap.running else "▶ run"
        if str(run.label) != label:
            run.label = label
        ready = self.snap.loaded and self.snap.exp is not None
        for bid in ("#b-run", "#b-epoch", "#b-step", "#b-reset"):
            self.q(bid, Button).disabled = not ready

    # -- forms <-> experiment ----------------------------------------------------------
    def sync_forms(self) -> None:
        """Write the experiment's values into every form field."""
        if not self.forms_ready:
            return
        with self.prevent(*QUIET):
            e = self.exp
            for fid, (section, name, _, _) in FIELDS.items():
                self.q(f"#{fid}", Input).value = format_value(getattr(getattr(e, section), name))
            self._set_select("#f-dataset", e.data.dataset)
            self._set_select("#f-loss", e.train.loss)
            self._set_select("#f-optimizer", e.train.optimizer)
            self._set_select("#f-init", e.model.init)
            self._set_select("#f-dtype", e.train.dtype)
            feats = self.q("#f-features", SelectionList)
            if sorted(feats.selected) != sorted(e.data.features):
                feats.deselect_all()
                for f in e.data.features:
                    feats.select(f)
            self.sync_layers()
            self.sync_options()
            if self._devices_shown:
                self.sync_devices()

    def _set_select(self, sel: str, value: str) -> None:
        w = self.q(sel, Select)
        if w.value != value:
            w.value = value

    def sync_layers(self) -> None:
        e = self.exp
        hidden = e.model.hidden
        if self.selected_layer is not None and self.selected_layer >= len(hidden):
            self.selected_layer = len(hidden) - 1 if hidden else None
        if self.selected_layer is None and hidden:
            self.selected_layer = 0
        ol = self.q("#f-layers", OptionList)
        ol.clear_options()
        for i, l in enumerate(hidden):
            drop = f" drop {l.dropout:g}" if l.dropout else ""
            ol.add_option(Option(f"H{i + 1}  {l.units:>3} × {l.activation}{drop}", id=f"layer-{i}"))
        if not hidden:
            ol.add_option(Option("(none: a perceptron)", id="layer-none", disabled=True))
        if self.selected_layer is not None:
            ol.highlighted = self.selected_layer
        sel = self.selected_layer
        head = self.q("#layer-head")
        units = self.q("#f-units", Input)
        drop = self.q("#f-dropout", Input)
        act = self.q("#f-activation", Select)
        for w in (units, drop, act):
            w.disabled = sel is None
        if sel is not None:
            layer = hidden[sel]
            head.update(f"selected layer: H{sel + 1}")
            units.value = str(layer.units)
            drop.value = format_value(layer.dropout)
            if act.value != layer.activation:
                act.value = layer.activation
        else:
            head.update("selected layer: none")
        out_act = {"bce": "sigmoid", "ce": "softmax", "mse": "linear"}[e.train.loss]
        self.q("#output-info", Static).update(
            f"output: {cfg.output_units(e)} × {out_act} (set by the loss: {e.train.loss})")
        self.q("#b-delete", Button).disabled = not hidden

    def sync_options(self) -> None:
        box = self.q("#f-options")
        t = self.exp.train
        current = getattr(box, "_for", None)
        if current == t.optimizer:
            for name, default in cfg.OPTIMIZER_DEFAULTS[t.optimizer].items():
                value = t.options.get(name, default)
                w = box.query_one(f"#opt-{name}")
                if isinstance(w, Checkbox):
                    if w.value != bool(value):
                        w.value = bool(value)
                else:
                    w.value = format_value(value)
            return
        box._for = t.optimizer  # type: ignore[attr-defined]
        box.remove_children()
        box.mount_all(option_widgets(t.optimizer, t.options))

    def sync_devices(self) -> None:
        devices = self.snap.devices
        info = self.q("#device-info", Static)
        lines = []
        for d in cfg.DEVICES:
            rb = self.q(f"#dev-{d}", RadioButton)
            desc = devices.get(d)
            rb.disabled = desc is None
            rb.label = f"{d}: {desc}" if desc else f"{d} (not available)"
            if (self.exp.train.device == d) != rb.value:
                rb.value = self.exp.train.device == d
        in_use = self.snap.device_label or "…"
        lines.append(f"in use: {in_use}")
        info.update(Text("\n".join(lines), style="bold cyan"))

    def apply(self, mutate: Callable[[Experiment], None], what: str) -> bool:
        """Copy the experiment, change it, validate; apply it (re-initialising) or refuse it."""
        if self.session is None:
            return False  # a key pressed before the views were mounted
        new = copy.deepcopy(self.exp)
        try:
            mutate(new)
            cfg.validate(new, SOURCE)
        except (ConfigError, ValueError) as err:
            self.refuse(str(err))
            return False
        if new == self.exp:
            return False
        old = self.exp
        self.exp = new
        self.q("#form-error", Static).update("")
        only_epochs = copy.deepcopy(old)
        only_epochs.train.epochs = new.train.epochs
        if only_epochs == new:
            self.session.send("epochs", new.train.epochs)
        else:
            if new.data != old.data:
                from tuidl.data import make_dataset

                try:
                    self.dataset = make_dataset(new.data)
                except Exception as err:  # noqa: BLE001
                    self.exp = old
                    self.refuse(f"{what}: {err}")
                    return False
                self.q("#plane").set_dataset(self.dataset)
            self._last_build_cmd = self.session.send(
                "build", copy.deepcopy(new), self.dataset, f"{what}: network re-initialised ({arch(new)}, epoch 0)")
            self.set_message(f"{what}: network re-initialised ({arch(new)}, epoch 0)")
            self.end_step(clear=True)
        self.sync_forms()
        self.update_static_views()
        return True

    def refuse(self, message: str) -> None:
        self.q("#form-error", Static).update(Text(message, style="bold red"))
        self.set_message(message, error=True)
        self.notify(message, title="value refused", severity="error", timeout=6)
        self.sync_forms()

    def _parse(self, text: str, kind: type, label: str):
        text = text.strip()
        try:
            return kind(text)
        except ValueError:
            what = "a whole number" if kind is int else "a number"
            raise ValueError(f"{SOURCE}: {label} = {text!r}: must be {what}") from None

    # -- form events ------------------------------------------------------------------
    @on(Input.Submitted)
    @on(Input.Blurred)
    def input_done(self, event) -> None:
        inp = event.input if hasattr(event, "input") else event.control
        fid = inp.id or ""
        value = inp.value
        if fid in FIELDS:
            section, name, kind, label = FIELDS[fid]

            def mutate(e: Experiment) -> None:
                setattr(getattr(e, section), name, self._parse(value, kind, f"{section}.{name}"))

            self.apply(mutate, f"{label} = {value.strip()}")
        elif fid in LAYER_FIELDS and self.selected_layer is not None:
            name, kind, label = LAYER_FIELDS[fid]
            i = self.selected_layer

            def mutate(e: Experiment) -> None:
                setattr(e.model.hidden[i], name, self._parse(value, kind, f"model.hidden[{i}].{name}"))

            self.apply(mutate, f"layer H{i + 1} {label} = {value.strip()}")
        elif fid.startswith("opt-"):
            name = fid[4:]

            def mutate(e: Experiment) -> None:
                default = cfg.OPTIMIZER_DEFAULTS[e.train.optimizer][name]
                if isinstance(default, tuple):
                    parts = [p for p in value.replace("(", "").replace(")", "").split(",") if p.strip()]
                    e.train.options[name] = tuple(self._parse(p, float, f"train.options.{name}") for p in parts)
                else:
                    e.train.options[name] = self._parse(value, float, f"train.options.{name}")

            self.apply(mutate, f"{name} = {value.strip()}")

    @on(Select.Changed)
    def select_changed(self, event: Select.Changed) -> None:
        if event.value is Select.NULL:
            return
        v = event.value
        sid = event.select.id
        if sid == "f-dataset":
            def mutate(e):
                e.data.dataset = v
                if v not in cfg.MULTICLASS_DATASETS:
                    e.data.classes = 2
                if v in cfg.REGRESSION_DATASETS and e.train.loss != "mse":
                    e.train.loss = "mse"
                elif v not in cfg.REGRESSION_DATASETS and e.train.loss == "mse" and self.exp.data.dataset in cfg.REGRESSION_DATASETS:
                    e.train.loss = "bce"
            self.apply(mutate, f"dataset {v}")
        elif sid == "f-loss":
            self.apply(lambda e: setattr(e.train, "loss", v), f"loss {v}")
        elif sid == "f-optimizer":
            if v == self.exp.train.optimizer:
                return  # the same optimizer again: keep its options
            def mutate(e):
                old = e.train.optimizer
                e.train.optimizer = v
                e.train.options = {}
                if v == "adadelta" or old == "adadelta":  # lr 1.0 is Adadelta's scale, not the others'
                    e.train.lr = cfg.DEFAULT_LR[v]
            self.apply(mutate, f"optimizer {OPT_LABELS[v]}")
        elif sid == "f-init":
            self.apply(lambda e: setattr(e.model, "init", v), f"init {v}")
        elif sid == "f-dtype":
            self.apply(lambda e: setattr(e.train, "dtype", v), f"dtype {v}")
        elif sid == "f-activation" and self.selected_layer is not None:
            i = self.selected_layer
            if self.exp.model.hidden[i].activation == v:
                return
            self.apply(lambda e: setattr(e.model.hidden[i], "activation", v), f"layer H{i + 1} activation {v}")

    @on(SelectionList.SelectedChanged, "#f-features")
    def features_changed(self, event) -> None:
        chosen = [f for f in cfg.FEATURES if f in event.selection_list.selected]
        if chosen == self.exp.data.features:
            return
        if not chosen:
            self.refuse(f"{SOURCE}: data.features = []: choose at least one input feature")
            return
        self.apply(lambda e: setattr(e.data, "features", chosen), f"features {', '.join(chosen)}")

    @on(Checkbox.Changed)
    def checkbox_changed(self, event: Checkbox.Changed) -> None:
        cid = event.checkbox.id or ""
        if cid.startswith("opt-"):
            name = cid[4:]
            self.apply(lambda e: e.train.options.__setitem__(name, bool(event.value)), f"{name} = {event.value}")

    @on(RadioSet.Changed, "#f-device")
    def device_changed(self, event: RadioSet.Changed) -> None:
        if event.pressed is None:
            return
        d = (event.pressed.id or "dev-auto")[4:]
        if d != self.exp.train.device:
            self.apply(lambda e: setattr(e.train, "device", d), f"device {d}")

    @on(OptionList.OptionHighlighted, "#f-layers")
    def layer_highlighted(self, event) -> None:
        oid = event.option.id or ""
        if oid.startswith("layer-") and oid != "layer-none":
            self.select_layer(int(oid[6:]))

    def on_network_diagram_layer_clicked(self, event) -> None:
        if event.layer < len(self.exp.model.hidden):
            self.select_layer(event.layer)
            self.q("#tabs", TabbedContent).active = "tab-network"

    def select_layer(self, i: int) -> None:
        if i == self.selected_layer:
            return
        self.selected_layer = i
        if self.forms_ready:
            with self.prevent(*QUIET):
                self.sync_layers()
        self.update_diagram()

    @on(Button.Pressed)
    def button_pressed(self, event: Button.Pressed) -> None:
        actions = {
            "b-run": self.action_toggle_run,
            "b-epoch": self.action_epoch,
            "b-step": self.action_next_phase,
            "b-reset": self.action_reset,
            "b-add": self.action_add_layer,
            "b-delete": self.action_delete_layer,
        }
        fn = actions.get(event.button.id or "")
        if fn:
            fn()

    # -- actions ----------------------------------------------------------------------
    def _engine_ready(self) -> bool:
        if self.snap is not None and self.snap.load_error:
            self.notify(self.snap.load_error, severity="error")
            return False
        if self.session is None or not self.session.snapshot.loaded:
            self.notify("loading PyTorch… training starts when the engine has loaded", timeout=3)
            return False
        return True

    def action_toggle_run(self) -> None:
        if self._engine_ready():
            self.end_step()
            self.session.send("toggle")

    def action_run(self) -> None:
        if self._engine_ready():
            self.end_step()
            self.session.send("run")

    def action_pause(self) -> None:
        if self.session is not None:
            self.session.send("pause")

    def action_epoch(self) -> None:
        if self._engine_ready():
            self.end_step()
            self.session.send("epoch", 1)

    def action_reset(self) -> None:
        if self._engine_ready():
            self.end_step(clear=True)
            self.session.send("reset")

    def action_next_phase(self) -> None:
        from tuidl.ui import stepthrough

        if not self._engine_ready():
            return
        if self.snap.running:
            self.session.send("pause")
        self.enter_step_view()
        if self._awaiting_step is not None:
            return
        if self.step_record is None or self.phase_index >= len(stepthrough.phases(self.step_record)) - 1:
            self._awaiting_step = self.session.send("step")
            return
        self.phase_index += 1
        self.show_phase()

    def action_prev_phase(self) -> None:
        if self.step_record is not None and self.phase_index > 0:
            self.enter_step_view()
            self.phase_index -= 1
            self.show_phase()

    def action_example(self, delta: int) -> None:
        from tuidl.ui import stepthrough

        if self.step_mode and self.step_record is not None:
            self.example = max(0, min(self.example + delta, stepthrough.batch_size(self.step_record) - 1))
            self.show_phase()

    def action_neuron(self, delta: int) -> None:
        from tuidl.ui import stepthrough

        if self.step_mode and self.step_record is not None:
            phase = stepthrough.phases(self.step_record)[self.phase_index]
            self.neuron = max(0, min(self.neuron + delta, stepthrough.units(self.step_record, phase) - 1))
            self.show_phase()

    def action_close_step(self) -> None:
        self.end_step()

    def action_add_layer(self) -> None:
        hidden = self.exp.model.hidden
        at = (self.selected_layer + 1) if self.selected_layer is not None else len(hidden)
        template = hidden[self.selected_layer] if self.selected_layer is not None else Layer(4, "relu")

        def mutate(e: Experiment) -> None:
            e.model.hidden.insert(at, Layer(template.units, template.activation, 0.0))

        if self.apply(mutate, f"added layer H{at + 1}"):
            self.select_layer(at)
            self.sync_forms()

    def action_delete_layer(self) -> None:
        if self.selected_layer is None or not self.exp.model.hidden:
            self.refuse("no hidden layer to delete")
            return
        i = self.selected_layer

        def mutate(e: Experiment) -> None:
            del e.model.hidden[i]

        if self.apply(mutate, f"deleted layer H{i + 1}"):
            self.selected_layer = min(i, len(self.exp.model.hidden) - 1) if self.exp.model.hidden else None
            self.sync_forms()
            self.update_diagram()

    def action_tab(self, tab: str) -> None:
        if self.forms_ready:
            self.q("#tabs", TabbedContent).active = tab

    def action_help(self) -> None:
        from tuidl.ui.help import HelpScreen  # Markdown is imported on first use, off the first frame

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_set(self, section: str, name: str, value: str) -> None:
        """Used by the command palette: set a named choice."""
        labels = {"loss": "loss", "optimizer": "optimizer", "dataset": "dataset", "device": "device"}
        if section == "data" and name == "dataset":
            self._set_select("#f-dataset", value)
        elif name in ("loss", "optimizer"):
            self._set_select(f"#f-{name}", value)
        elif name == "device":
            self.apply(lambda e: setattr(e.train, "device", value), f"device {value}")
        else:
            self.apply(lambda e: setattr(getattr(e, section), name, value), f"{labels.get(name, name)} {value}")

    # -- step-through ------------------------------------------------------------------
    def enter_step_view(self) -> None:
        if not self.step_mode:
            self.step_mode = True
            self.q("#right-switch", ContentSwitcher).current = "step"
            self.q("#right").border_title = "step-through"
            self.q("#right").add_class("-step")
            self.screen.add_class("-stepping")
            self.call_after_refresh(lambda: self.q("#step").scroll_visible(animate=False))
            self.set_focus(None)
            if self.step_record is None:
                self.q("#stepthrough").clear("taking one training step…")

    def end_step(self, clear: bool = False) -> None:
        if clear:
            self.step_record = None
            self.phase_index = 0
            self._awaiting_step = None
        if self.step_mode:
            self.step_mode = False
            self.q("#right-switch", ContentSwitcher).current = "charts"
            self.q("#right").border_title = "training"
            self.q("#right").remove_class("-step")
            self.screen.remove_class("-stepping")
            self.update_diagram()

    def show_phase(self) -> None:
        from tuidl.ui import stepthrough

        record = self.step_record
        if record is None:
            return
        plist = stepthrough.phases(record)
        self.phase_index = max(0, min(self.phase_index, len(plist) - 1))
        phase = plist[self.phase_index]
        self.example = max(0, min(self.example, stepthrough.batch_size(record) - 1))
        self.neuron = max(0, min(self.neuron, stepthrough.units(record, phase) - 1))
        panel = self.q("#stepthrough")
        panel.show(record, self.phase_index, example=self.example, neuron=self.neuron)
        header = Text()
        header.append(f" phase {self.phase_index + 1}/{len(plist)} ", style="bold reverse")
        header.append(" n next · p back · esc charts", style="dim")
        self.q("#step-header", Static).update(header)
        self.update_diagram()

    def step_diagram_model(self) -> DiagramModel:
        from tuidl.ui import stepthrough

        record = self.step_record
        plist = stepthrough.phases(record)
        phase = plist[self.phase_index]
        model = self.diagram_model()
        model.weights = [(l.W, l.b) for l in record.layers]
        k = self.example
        L = len(record.layers)
        if phase.kind == "forward":
            l = phase.layer
            model.highlight = l
            model.node_values = {l: record.layers[l].input[k], l + 1: record.layers[l].a[k]}
            model.caption = f"forward: layer {l + 1} computes a = g(W·x + b)"
        elif phase.kind == "loss":
            model.highlight_output = True
            model.node_values = {L: record.layers[-1].a[k]}
            model.caption = f"loss = {record.loss:.4g}"
        elif phase.kind == "backward":
            l = phase.layer
            model.highlight = l
            model.link_values = {l: record.layers[l].grad_W}
            model.node_values = {l + 1: record.layers[l].grad_z[k]}
            model.caption = f"backward: links = dL/dW of layer {l + 1}"
        else:
            model.weights = [(l.W_after, l.b_after) for l in record.layers]
            model.caption = "update: the weights after the step"
        return model

    # -- command palette ----------------------------------------------------------------
    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand("Run / pause training", "Train epochs in the background (space)", self.action_toggle_run)
        yield SystemCommand("Train one epoch", "One pass over the training data (e)", self.action_epoch)
        yield SystemCommand("Step-through: next phase", "Forward, loss, backward, update (n)", self.action_next_phase)
        yield SystemCommand("Step-through: previous phase", "Back one phase (p)", self.action_prev_phase)
        yield SystemCommand("Step-through: close", "Back to the charts (escape)", self.action_close_step)
        yield SystemCommand("Reset weights", "Re-initialise the network, epoch 0 (r)", self.action_reset)
        yield SystemCommand("Add a layer", "Add a hidden layer after the selected one (a)", self.action_add_layer)
        yield SystemCommand("Delete the selected layer", "Remove the selected hidden layer (x)", self.action_delete_layer)
        yield SystemCommand("Help: keys and phases", "Every key and what each phase means (?)", self.action_help)
        for tab, name in (("tab-data", "Data"), ("tab-network", "Network"), ("tab-training", "Training"),
                          ("tab-device", "Device")):
            yield SystemCommand(f"Show the {name} tab", f"Open the {name} form", lambda t=tab: self.action_tab(t))
        for d in cfg.DATASETS:
            yield SystemCommand(f"Dataset: {d}", "Use this dataset (re-initialises)", lambda d=d: self.action_set("data", "dataset", d))
        for x in cfg.LOSSES:
            yield SystemCommand(f"Loss: {x}", "Use this loss (re-initialises)", lambda x=x: self.action_set("train", "loss", x))
        for x in cfg.OPTIMIZERS:
            yield SystemCommand(f"Optimizer: {OPT_LABELS[x]}", "Use this optimizer (re-initialises)",
                                lambda x=x: self.action_set("train", "optimizer", x))
        for x in cfg.DEVICES:
            yield SystemCommand(f"Device: {x}", "Train on this device (re-initialises)", lambda x=x: self.action_set("train", "device", x))

    # -- test hooks ----------------------------------------------------------------------
    async def wait_ready(self, timeout: float = 120.0) -> None:
        """Wait until the engine has loaded and the first trainer is built (tests)."""
        end = time.monotonic() + timeout
        while not (self.forms_ready and self.session.snapshot.loaded and self.session.snapshot.exp is not None):
            error = self.session.snapshot.load_error if self.session is not None else None
            if error or time.monotonic() > end:
                raise RuntimeError(error or "engine did not load")
            await asyncio.sleep(0.02)
        self.poll()

    async def wait_done(self, cid: int, timeout: float = 120.0) -> None:
        end = time.monotonic() + timeout
        while self.session.snapshot.done < cid:
            if time.monotonic() > end:
                raise TimeoutError(f"command {cid} not done")
            await asyncio.sleep(0.02)
        self.poll()

    async def settle(self) -> None:
        """Let pending messages run, wait until every command sent so far is processed (tests)."""
        from textual.pilot import Pilot

        await Pilot(self).pause()  # every widget has handled its messages (and sent its commands)
        await self.wait_done(self.session._ids)

    async def train_epochs(self, n: int) -> None:
        """Train exactly n epochs on the worker and wait for them (deterministic; tests)."""
        await self.wait_done(self.session.send("epoch", n))

    def run(self, *args, **kwargs):  # type: ignore[override]
        if os.environ.get("CI", "").lower() in ("true", "1") and "headless" not in kwargs:
            # Nothing waits for a terminal in CI: draw headless, then leave.
            kwargs["headless"] = True
            self.set_timer_on_mount = True
        return super().run(*args, **kwargs)

    def on_ready(self) -> None:
        if getattr(self, "set_timer_on_mount", False):
            self.set_timer(0.5, self.exit)


def _hex(rgb) -> str:
    return "#%02x%02x%02x" % rgb


def main(argv: list[str] | None = None) -> None:
    """`python -m tuidl.ui [FILE.toml]`: the app without the CLI."""
    args = sys.argv[1:] if argv is None else argv
    exp = cfg.load(args[0]) if args else cfg.default_experiment()
    TuidlApp(exp, path=args[0] if args else None).run()
