"""The main screen: the side panel, the network, the plane, the training figures and the
step-through, fed by the app (attributes down) and posting what the learner asks for
(messages up).

The first frame is the skeleton composed here: titled empty panes and the footer, with
Textual and config alone imported. `fill` mounts what goes in them right after it (the
views need numpy). The screen remembers what it was last handed (the experiment, the
selected layer, the snapshot) only to redraw the views that depend on several of them.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import ContentSwitcher, Static

from tuidl import config as cfg
from tuidl.ui.footer import KeysFooter
from tuidl.ui.views import FiguresLine, Stats, TopBar, arch

if TYPE_CHECKING:
    from tuidl.session import Snapshot

TABS = {"data": "Data", "network": "Network", "training": "Training", "device": "Device"}
COMPACT_WIDTH = 110
COMPACT_HEIGHT = 32
MESSAGE_SECONDS = 12  # a message older than this says nothing about the screen any more


def _title(pane, title: str) -> None:
    """Set a pane's border title if it changed: setting one repaints the whole pane."""
    if pane.border_title != title:
        pane.border_title = title


class MainScreen(Screen):
    # The step-through's keys: PgUp/PgDn/Home/End scroll it whenever it is shown (nothing is focused there).
    BINDINGS = [
        Binding("p", "prev_phase", "prev phase", show=False),
        Binding("escape", "close_step", "charts", show=False),
        Binding("left_square_bracket", "example(-1)", "prev example", show=False),
        Binding("right_square_bracket", "example(1)", "next example", show=False),
        Binding("up", "neuron(-1)", "prev neuron", show=False),
        Binding("down", "neuron(1)", "next neuron", show=False),
        *(Binding(str(i), f"tab('{tab}')", name, show=False) for i, (tab, name) in enumerate(TABS.items(), 1)),
        Binding("w", "focus_diagram", "edit weights"),
        Binding("d", "draw_points", "draw points", show=False),
        Binding("g", "toggle_gradients", "gradients", show=False),
        Binding("pageup", "scroll_step(-1)", "page up", show=False),
        Binding("pagedown", "scroll_step(1)", "page down", show=False),
        Binding("home", "scroll_step_to(0)", "top", show=False),
        Binding("end", "scroll_step_to(1)", "bottom", show=False),
    ]

    class GridWanted(Message):
        """The plane's heatmap needs the boundary at another resolution."""

        def __init__(self, size: tuple[int, int]) -> None:
            super().__init__()
            self.size = size

    def __init__(self, exp: cfg.Experiment, deterministic: bool = False, lesson=None) -> None:
        super().__init__(id="main")
        self.exp = exp
        self.lesson = lesson
        self.deterministic = deterministic
        self.selected: int | None = None
        self.snap: Snapshot | None = None
        self.device: str | None = None
        self.stepping = False
        self.filled = False  # the views are mounted
        self.forms_ready = False  # and the forms in the side panel
        self._grid_asked: tuple[int, int] | None = None
        self.edited: dict = {}  # {(layer, row, col or None): value} set by hand, marked until training moves it
        self._message_timer = None

    # -- layout --------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield TopBar("", id="topbar")
        with Horizontal(id="body"):
            yield Vertical(id="side-pane")
            with Horizontal(id="views"):
                with Vertical(id="centre"):
                    yield Vertical(id="diagram-pane")
                    yield Vertical(id="plane-pane")
                yield Vertical(id="right")
        yield FiguresLine("", id="figures")
        yield Static("", id="message")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one("#diagram-pane").border_title = f"network {arch(self.exp)}"
        self.query_one("#plane-pane").border_title = "decision boundary · ● train ○ validation"
        self.query_one("#right").border_title = "training"
        self.query_one(TopBar).show(self.exp, None)
        self._apply_size(self.size.width, self.size.height)

    async def fill(self, dataset) -> None:
        """Mount the panes' contents (after the first frame), then the forms."""
        from tuidl.ui.diagram import NetworkDiagram
        from tuidl.ui.gradients import GradientChart
        from tuidl.ui.plane import BoundaryPlane
        from tuidl.ui.side_panel import SidePanel
        from tuidl.ui.stepthrough import StepThroughPanel
        from tuidl.ui.views import Charts

        side = SidePanel(self.exp, id="side")
        await self.query_one("#side-pane").mount(side)
        if self.focused is None:  # the screen's auto-focus ran before the side panel was there
            self.focus_next()
        await self.query_one("#diagram-pane").mount(NetworkDiagram(id="diagram"))
        await self.query_one("#plane-pane").mount(BoundaryPlane(id="plane"))
        from tuidl.ui.class_views import ClassViews

        await self.query_one("#plane-pane").mount(ClassViews(id="classes"))
        await self.query_one("#right").mount_all([
            Stats("", id="stats"),
            ContentSwitcher(Charts(id="charts"),
                            Vertical(GradientChart("grad_norms"), GradientChart("update_ratios"), id="gradients"),
                            StepThroughPanel(id="stepthrough"), id="right-switch", initial="charts"),
        ])
        self._use_dataset(dataset)
        if self.lesson is not None:
            await self._mount_lesson(self.lesson)
        self.filled = True
        self._redraw()
        await side.populate()
        side.load(self.exp, self.selected)
        self.forms_ready = True

    @property
    def side(self):
        from tuidl.ui.side_panel import SidePanel

        return self.query_one(SidePanel)

    def on_resize(self, event) -> None:
        self._apply_size(event.size.width, event.size.height)

    def on_boundary_plane_resized(self, message) -> None:
        message.stop()
        self._check_grid()

    def _apply_size(self, width: int, height: int) -> None:
        compact = width < COMPACT_WIDTH or height < COMPACT_HEIGHT
        if self.has_class("-compact") != compact:  # restyling every widget is costly: only on a change
            self.set_class(compact, "-compact")

    # -- attributes down -----------------------------------------------------------------
    def show_experiment(self, exp: cfg.Experiment, selected: int | None, dataset=None) -> None:
        """A new experiment (and its dataset when the data changed)."""
        self.exp, self.selected = exp, selected
        if not self.filled:
            self.query_one(TopBar).show(exp, self.device)
            return
        if dataset is not None:
            self._use_dataset(dataset)
        self.side.load(exp, selected)
        self._redraw()

    def show_points(self, exp: cfg.Experiment, dataset) -> None:
        """Points drawn by hand: the same network on another set of the same plane."""
        from tuidl.ui.plane import BoundaryPlane

        self.exp = exp
        if self.filled:
            self.query_one(BoundaryPlane).set_dataset(dataset, keep_boundary=True)
            self.side.load(exp, self.selected)
            self._redraw()

    def show_selected(self, selected: int | None) -> None:
        self.selected = selected
        if self.filled:
            self.side.load(self.exp, selected)
            self._redraw_diagram()

    def show_engine(self, device: str | None, devices: dict | None = None, failed: bool = False) -> None:
        self.device = device
        self.query_one(TopBar).show(self.exp, device, failed)
        if self.filled and devices is not None:
            self.side.set_devices(devices, device or "")

    def show_snapshot(self, snap: Snapshot) -> None:
        self.snap = snap
        if not self.filled:
            return
        from tuidl.ui.plane import BoundaryPlane

        self.device = snap.device_label if not self.deterministic else snap.device_label.split(" ")[0]
        self.query_one(TopBar).show(self.exp, self.device)
        self.query_one(Stats).show(snap, self.deterministic)
        self.query_one(FiguresLine).show(snap)
        self._show_charts()
        plane = self.query_one(BoundaryPlane)
        if snap.boundary is not None and snap.exp is not None and snap.exp.data == self.exp.data:
            from tuidl.ui.plane_neuron import neuron_view

            plane.set_boundary(snap.boundary, neuron_view(snap.exp, snap.plane_view))
            _title(self.query_one("#plane-pane"), plane.title)  # a neuron's view names itself
        if not plane.display and snap.exp is not None and snap.exp.data == self.exp.data:
            from tuidl.ui.class_views import ClassViews

            self.query_one(ClassViews).show(snap)
        if not self.stepping:
            self._redraw_diagram()
        self.side.set_running(snap.running, ready=snap.exp is not None)
        self._check_grid()

    def show_lesson(self, lesson) -> None:
        from tuidl.ui.lesson_panel import LessonPanel

        self.lesson = lesson
        panels = self.query(LessonPanel)
        if panels:
            panels.first().show(lesson)
            self._into_view(panels.first(), top=True)
        else:
            self.run_worker(self._mount_lesson(lesson))

    async def _mount_lesson(self, lesson) -> None:
        from tuidl.ui.lesson_panel import LessonPanel

        panel = LessonPanel(id="lesson")
        await self.query_one("#right").mount(panel, before=0)
        panel.show(lesson)
        self._into_view(panel, top=True)  # its first lines say what to do

    def _into_view(self, widget, top: bool = False, tries: int = 25) -> None:
        """Scroll the views to `widget` once laid out: on a compact screen they stack and
        scroll, and what a key just showed may be below the fold (elsewhere: no-op). A
        tab opened from the palette is laid out only once the palette has gone: until the
        widget has a place, look again every 20 ms (half a second at most)."""
        def scroll() -> None:
            if widget.region.area or tries <= 1:
                widget.scroll_visible(top=top, animate=False)
            else:
                self.set_timer(0.02, lambda: self._into_view(widget, top, tries - 1))

        self.call_after_refresh(scroll)

    def _show_charts(self) -> None:
        """Draw the charts in view: loss and accuracy, or the gradients' norms."""
        from tuidl.ui.gradients import GradientChart
        from tuidl.ui.views import Charts

        if self.snap is None:
            return
        if self.query_one("#right-switch", ContentSwitcher).current == "gradients":
            for chart in self.query(GradientChart):
                chart.show(self.snap)
        else:
            self.query_one(Charts).show(self.snap)

    def action_toggle_gradients(self) -> None:
        """Loss and accuracy ↔ each layer's ‖dL/dW‖ and ‖ΔW‖/‖W‖ per epoch (vanishing, exploding)."""
        if not self.filled:
            return
        self.leave_step()
        switch = self.query_one("#right-switch", ContentSwitcher)
        switch.current = "charts" if switch.current == "gradients" else "gradients"
        right = self.query_one("#right")
        right.border_title = "gradients" if switch.current == "gradients" else "training"
        self._show_charts()
        self._into_view(right)

    def show_message(self, text: str, error: bool = False) -> None:
        self.query_one("#message", Static).update(Text(text, style="bold red" if error else "green"))
        if self._message_timer is not None:
            self._message_timer.stop()
        self._message_timer = self.set_timer(MESSAGE_SECONDS, lambda: self.query_one("#message", Static).update(""))

    def _redraw(self) -> None:
        from tuidl.ui.plane import BoundaryPlane

        self.query_one(TopBar).show(self.exp, self.device)
        self.query_one(Stats).show(self.snap, self.deterministic)
        plane = self.query_one(BoundaryPlane)
        if plane.display:
            _title(self.query_one("#plane-pane"), plane.title)
        else:
            from tuidl.ui.class_views import ClassViews

            _title(self.query_one("#plane-pane"), self.query_one(ClassViews).title)
        self._redraw_diagram()

    def _use_dataset(self, dataset) -> None:
        """Points of a plane go on the plane; other data gets the confusion matrix (and digits)."""
        from tuidl.ui.class_views import ClassViews
        from tuidl.ui.plane import BoundaryPlane

        on_plane = dataset is None or dataset.has_plane
        plane, classes = self.query_one(BoundaryPlane), self.query_one(ClassViews)
        plane.display, classes.display = on_plane, not on_plane
        plane.set_dataset(dataset if on_plane else None)
        classes.set_dataset(None if on_plane else dataset)

    def _redraw_diagram(self) -> None:
        from tuidl.ui.diagram import NetworkDiagram
        from tuidl.ui.diagram_models import network_model, step_model
        from tuidl.ui.stepthrough import StepThroughPanel

        cursor = self.query_one(StepThroughPanel).cursor
        pane = self.query_one("#diagram-pane")
        if self.stepping and cursor is not None:
            model = step_model(self.exp, cursor)
            _title(pane, "network · step-through")
        else:
            weights = self.snap.weights if self.snap is not None else None
            viewed = self.snap.plane_view if self.snap is not None else None
            model = network_model(self.exp, weights, self.selected, edited=self.edited, viewed=viewed)
            _title(pane, f"network {arch(self.exp)}")
        self.query_one(NetworkDiagram).set_model(model)

    def _check_grid(self) -> None:
        from tuidl.ui.plane import BoundaryPlane

        if not self.filled or self.snap is None or self.snap.exp is None:
            return
        grid = self.query_one(BoundaryPlane).grid_size
        if grid != self.snap.boundary_size and grid != self._grid_asked:
            self._grid_asked = grid
            self.post_message(self.GridWanted(grid))

    # -- the step-through ----------------------------------------------------------------
    @property
    def step_panel(self):
        from tuidl.ui.stepthrough import StepThroughPanel

        return self.query_one(StepThroughPanel)

    def enter_step(self) -> None:
        if self.stepping or not self.filled:
            return
        self.stepping = True
        self.query_one("#right-switch", ContentSwitcher).current = "stepthrough"
        right = self.query_one("#right")
        right.border_title = "step-through"
        right.add_class("-step")
        self.add_class("-stepping")
        self.set_focus(None)  # the app's keys (n, p, [, ], ↑, ↓) drive the step-through
        self._into_view(right)
        if self.step_panel.cursor is None:
            self.step_panel.clear("taking one training step…")

    def leave_step(self, clear: bool = False) -> None:
        if clear and self.filled:
            self.step_panel.clear()
        if not self.stepping:
            return
        self.stepping = False
        self.query_one("#right-switch", ContentSwitcher).current = "charts"
        right = self.query_one("#right")
        right.border_title = "training"
        right.remove_class("-step")
        self.remove_class("-stepping")
        self._redraw_diagram()

    def on_step_through_panel_phase_shown(self) -> None:
        if self.stepping:
            self._redraw_diagram()

    def action_prev_phase(self) -> None:
        if self.stepping:
            self.step_panel.prev_phase()

    def action_example(self, delta: int) -> None:
        if self.stepping:
            self.step_panel.move_example(delta)

    def action_neuron(self, delta: int) -> None:
        if self.stepping:
            self.step_panel.move_neuron(delta)

    def action_close_step(self) -> None:
        self.leave_step()

    def action_draw_points(self) -> None:
        """The plane's drawing mode: a cursor, c the class, enter adds, delete removes (plane_points.py)."""
        from tuidl.ui.plane import BoundaryPlane

        if not self.filled:
            return
        plane = self.query_one(BoundaryPlane)
        if not plane.display or plane.dataset is None:
            self.show_message("drawing points needs a plane: this data's inputs are not two coordinates", error=True)
            return
        self.leave_step()  # on a small screen the step-through hides the plane
        plane.enter_drawing()

    def on_points_drawing_mode_changed(self) -> None:
        self._redraw()  # the pane's title says the mode, its class and its keys

    def action_focus_diagram(self) -> None:
        """The diagram's cursor: move over layers, neurons and links, edit a weight, view a neuron."""
        if self.filled:
            self.set_focus(self.query_one("#diagram"))  # now, not once the keys typed behind w are handled

    def action_tab(self, tab: str) -> None:
        if self.forms_ready:
            self.side.select_tab(tab)

    def fields(self) -> list[tuple[str, str, str]]:
        """(tab title, label, widget id) of each field the forms show."""
        return self.side.fields() if self.forms_ready else []

    def focus_field(self, widget_id: str) -> None:
        if not self.forms_ready:
            return
        self._into_view(self.side.focus_field(widget_id))

    def _paged(self):
        """What PgUp, PgDn, Home and End scroll: the step-through's phase while stepping,
        else an open lesson's text (brought into view: on a compact screen it may be off)."""
        if self.stepping:
            return self.step_panel
        lessons = self.query("#lesson")
        if not lessons:
            return None
        self._into_view(lessons.first())
        return lessons.first()

    def action_scroll_step(self, pages: int) -> None:
        if (text := self._paged()) is not None:
            text.scroll_page(pages)

    def action_scroll_step_to(self, end: int) -> None:
        if (text := self._paged()) is not None:
            (text.scroll_to_end if end else text.scroll_to_start)()
