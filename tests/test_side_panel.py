"""The side panel alone, in a small host app: fields show the experiment, edits go up as
messages built from config's rules, and the keyboard goes back to the app after a field."""
from __future__ import annotations

import copy

import pytest
from conftest import async_test, screen_text, send_burst
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.color import Color
from textual.containers import Vertical
from textual.widgets import Button, Checkbox, Input, OptionList, RadioSet, Select, SelectionList, Static, Tabs

from tuidl import config as cfg
from tuidl.config import ConfigError, Layer
from tuidl.ui.side_panel import NOT_APPLIED, SidePanel

APP_KEYS = ("3", "n", "e", "space", "q")


class Host(App):
    """Applies the panel's edits as the real app does, and records what reaches it."""

    CSS = "Screen { layout: horizontal; } #side-pane { width: 36; height: 100%; }"
    BINDINGS = [Binding(k, f"key('{k}')") for k in APP_KEYS]

    def __init__(self, exp: cfg.Experiment | None = None, width: int = 36):
        super().__init__()
        self.exp = exp or cfg.default_experiment()
        self.width = width
        self.keys: list[str] = []
        self.actions: list[str] = []
        self.edits: list[SidePanel.Edit] = []
        self.layers: list[int] = []
        self.speeds: list[float | None] = []
        self.refused: list[str] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="side-pane"):
            yield SidePanel(self.exp, id="side")
        yield Static("the views")

    async def on_mount(self) -> None:
        self.query_one("#side-pane").styles.width = self.width
        await self.panel.populate()
        self.panel.load(self.exp, 0)

    @property
    def panel(self) -> SidePanel:
        return self.query_one(SidePanel)

    def action_key(self, key: str) -> None:
        self.keys.append(key)

    def action_toggle_run(self) -> None:
        self.actions.append("toggle_run")

    def action_epoch(self) -> None:
        self.actions.append("epoch")

    def action_add_layer(self) -> None:
        self.actions.append("add_layer")

    def action_delete_layer(self) -> None:
        self.actions.append("delete_layer")

    def on_side_panel_edit(self, message: SidePanel.Edit) -> None:
        self.edits.append(message)
        try:
            new = message.change(copy.deepcopy(self.exp))
            cfg.validate(new, "refused")
        except ConfigError as err:
            self.refused.append(str(err))
            self.panel.show_error(str(err))
        else:
            self.exp = new
        self.panel.load(self.exp, self.panel.selected_layer)

    def on_side_panel_layer_selected(self, message: SidePanel.LayerSelected) -> None:
        self.layers.append(message.index)

    def on_side_panel_speed_changed(self, message: SidePanel.SpeedChanged) -> None:
        self.speeds.append(message.epochs_per_second)


async def started(app: Host, pilot, tab: str = "data"):
    await pilot.pause()
    app.panel.select_tab(tab)
    await pilot.pause()
    return app.panel


async def type_into(pilot, app: Host, selector: str, text: str) -> Input:
    """Focus a field and type as a person does (the text on focus is selected: typing replaces it)."""
    field = app.query_one(selector, Input)
    field.focus()
    await pilot.pause()
    await pilot.press(*text)
    return field


def error_line(app: Host) -> str:
    return str(app.query_one("#form-error", Static).render())


@async_test
async def test_load_fills_every_field_and_posts_nothing():
    exp = cfg.default_experiment()
    exp.data.dataset, exp.data.classes, exp.train.loss = "spiral", 3, "ce"
    exp.data.features = ["x1", "x2", "sin(x1)"]
    exp.model.hidden = [Layer(6, "relu", 0.25), Layer(3, "sigmoid")]
    exp.train = cfg.change_optimizer(exp, "adam").train
    exp.train.options = {"betas": (0.8, 0.99)}
    exp.train.lr, exp.train.device = 0.005, "cpu"
    app = Host()
    async with app.run_test(size=(120, 40)) as pilot:
        panel = await started(app, pilot)
        panel.set_devices({"auto": "cpu", "cpu": "CPU (4 threads)", "cuda": None, "mps": None}, "cpu")
        panel.load(exp, 1)
        await pilot.pause()
        q = app.query_one
        assert q("#f-dataset", Select).value == "spiral" and q("#f-classes", Input).value == "3"
        assert q("#row-classes").display
        assert sorted(q("#f-features", SelectionList).selected) == sorted(exp.data.features)
        assert q("#f-units", Input).value == "3" and q("#f-activation", Select).value == "sigmoid"
        assert q("#f-dropout", Input).value == "0"
        assert q("#f-layers", OptionList).highlighted == 1 and panel.selected_layer == 1
        assert q("#f-loss", Select).value == "ce" and q("#f-optimizer", Select).value == "adam"
        assert q("#f-lr", Input).value == "0.005"
        await pilot.pause()  # the new optimizer's option rows are mounted
        assert q("#opt-betas", Input).value == "0.8, 0.99" and q("#opt-eps", Input).value == "1e-08"
        assert q("#opt-amsgrad", Checkbox).value is False
        assert q("#dev-cpu").value and not q("#dev-auto").value and q("#dev-cuda").disabled
        assert "3 × softmax" in str(q("#output-info", Static).render())
        assert app.edits == [] and app.layers == []


@pytest.mark.parametrize("size", [(120, 40), (60, 20)])
@async_test
async def test_the_fields_listed_for_the_palette_are_those_shown_and_each_opens_its_tab(size):
    exp = cfg.default_experiment()
    app = Host(exp)
    async with app.run_test(size=size) as pilot:
        panel = await started(app, pilot)
        listed = panel.fields()
        labels = [(tab, label) for tab, label, _ in listed]
        assert ("Data", "noise") in labels and ("Train", "momentum") in labels and ("Train", "nesterov") in labels
        assert ("Data", "classes") not in labels  # circle has two: the row is hidden
        assert [tab for tab, _ in labels] == sorted((tab for tab, _ in labels), key=["Data", "Net", "Train"].index)
        adam = copy.deepcopy(exp)
        adam.train = cfg.change_optimizer(adam, "adam").train
        panel.load(adam, 0)
        await pilot.pause()
        labels = [label for tab, label, _ in panel.fields() if tab == "Train"]
        assert "betas" in labels and "amsgrad" in labels and "momentum" not in labels
        for tab, label, widget_id in panel.fields():
            panel.focus_field(widget_id)
            await pilot.pause()
            field = app.query_one(f"#{widget_id}")
            assert app.focused is field, label
            assert field.region.height > 0 and app.screen.region.contains_region(field.region), label  # in view
            panel.screen.set_focus(None)


@async_test
async def test_enter_applies_the_field_and_gives_the_keyboard_back():
    app = Host()
    async with app.run_test(size=(120, 40)) as pilot:
        await started(app, pilot, "network")
        app.panel.load(app.exp, 1)
        field = await type_into(pilot, app, "#f-units", "8")
        await pilot.press("enter")
        await pilot.pause()
        assert len(app.edits) == 1 and app.edits[0].what == "layer H2 units = 8"
        changed = app.edits[0].change(cfg.default_experiment())
        assert changed.model.hidden == [Layer(4, "tanh"), Layer(8, "tanh")]
        assert app.screen.focused is None
        # The trap: the app's keys after an edit went into the field (units became 83).
        await pilot.press(*APP_KEYS)
        await pilot.pause()
        assert app.keys == list(APP_KEYS)
        assert field.value == "8" and app.exp.model.hidden[1].units == 8 and len(app.edits) == 1


@async_test
async def test_escape_restores_the_value_in_use():
    app = Host()
    async with app.run_test(size=(120, 40)) as pilot:
        await started(app, pilot, "training")
        field = await type_into(pilot, app, "#f-lr", "0.5")
        assert field.value == "0.5"
        await pilot.press("escape")
        await pilot.pause()
        assert field.value == "0.03" and app.screen.focused is None and app.edits == []
        await pilot.press("space")
        assert app.keys == ["space"]


@async_test
async def test_leaving_a_field_applies_nothing_and_says_so():
    app = Host()
    async with app.run_test(size=(120, 40)) as pilot:
        await started(app, pilot, "training")
        field = await type_into(pilot, app, "#f-lr", "0.5")
        await pilot.press("tab")  # focus moves on: the typed text is not applied
        await pilot.pause()
        assert app.screen.focused is not field
        assert field.value == "0.03" and app.edits == [] and app.exp.train.lr == 0.03
        assert error_line(app) == NOT_APPLIED
        await type_into(pilot, app, "#f-epochs", "300")  # the same field's Enter still applies
        await pilot.press("enter")
        await pilot.pause()
        assert app.exp.train.epochs == 300 and field.value == "0.03"


@async_test
async def test_text_that_does_not_parse_is_refused_with_a_clear_message():
    app = Host()
    async with app.run_test(size=(120, 40)) as pilot:
        await started(app, pilot, "training")
        await type_into(pilot, app, "#f-lr", "abc")
        await pilot.press("enter")
        await pilot.pause()
        assert len(app.edits) == 1
        with pytest.raises(ConfigError, match=r"^refused: train.lr = 'abc': must be a number$"):
            app.edits[0].change(cfg.default_experiment())
        assert error_line(app) == "refused: train.lr = 'abc': must be a number"
        assert app.query_one("#f-lr", Input).value == "0.03"  # the value in use again
        await type_into(pilot, app, "#f-lr", "-1")  # parses; validation refuses the range
        await pilot.press("enter")
        await pilot.pause()
        assert "train.lr = -1.0: must be a number > 0" in app.refused[-1]
        assert app.exp == cfg.default_experiment()
        app.panel.clear_error()
        assert error_line(app) == ""


@async_test
async def test_choices_apply_on_change_through_configs_rules():
    app = Host()
    async with app.run_test(size=(120, 40)) as pilot:
        await started(app, pilot, "data")
        select = app.query_one("#f-dataset", Select)
        select.focus()
        await pilot.press("enter")  # open the list, move to "plane" (the last), choose it
        await pilot.pause()
        await pilot.press("end", "enter")
        await pilot.pause()
        await pilot.pause()
        assert app.edits[-1].what == "dataset plane"
        assert app.exp.data.dataset == "plane" and app.exp.train.loss == "mse"  # change_dataset's rule
        assert app.screen.focused is None  # the keyboard is the app's again
        assert not app.query_one("#row-classes").display  # no "classes 2" for a regression set
        assert "1 × linear" in str(app.query_one("#output-info", Static).render())

        app.query_one("#f-features", SelectionList).select("x1*x2")
        await pilot.pause()
        assert app.exp.data.features == ["x1", "x2", "x1*x2"]

        app.panel.select_tab("training")
        app.query_one("#f-optimizer", Select).value = "adadelta"
        await pilot.pause()
        assert app.exp.train.optimizer == "adadelta" and app.exp.train.lr == 1.0  # change_optimizer's rule
        app.query_one("#f-optimizer", Select).value = "sgd"
        await pilot.pause()
        await pilot.pause()
        box = app.query_one("#opt-nesterov", Checkbox)
        box.focus()
        await pilot.press("space")
        await pilot.pause()
        assert app.edits[-1].change(app.exp).train.options == {"nesterov": True}
        assert "nesterov = true: needs momentum > 0" in app.refused[-1]  # validate's rule, shown
        assert box.value is False and app.screen.focused is None


@async_test
async def test_device_choice_posts_an_edit():
    app = Host()
    async with app.run_test(size=(120, 40)) as pilot:
        panel = await started(app, pilot, "device")
        panel.set_devices({"auto": "cpu", "cpu": "CPU", "cuda": None, "mps": None}, "CPU")
        await pilot.pause()
        assert "in use: CPU" in str(app.query_one("#device-info", Static).render())
        assert app.query_one("#dev-auto").value and app.edits == []
        app.query_one("#dev-cpu").value = True
        await pilot.pause()
        assert app.exp.train.device == "cpu" and app.edits[-1].what == "device cpu"


@async_test
async def test_highlighting_a_layer_selects_it():
    app = Host()
    async with app.run_test(size=(120, 40)) as pilot:
        await started(app, pilot, "network")
        app.panel.load(app.exp, 0)  # as the app does after each message
        layers = app.query_one("#f-layers", OptionList)
        layers.focus()
        await pilot.press("down")
        await pilot.pause()
        assert app.layers == [1] and app.panel.selected_layer == 1
        assert app.query_one("#f-units", Input).value == "2"
        assert "H2" in str(app.query_one("#layer-head").render())
        await pilot.press("escape")
        assert app.screen.focused is None and app.edits == []


@async_test
async def test_speed_field():
    app = Host()
    async with app.run_test(size=(120, 40)) as pilot:
        panel = await started(app, pilot, "training")
        assert app.query_one("#f-speed", Input).value == "max"
        await type_into(pilot, app, "#f-speed", "10")
        await pilot.press("enter")
        await pilot.pause()
        panel.set_speed("10 epochs/s")  # the app answers with the speed in use
        await type_into(pilot, app, "#f-speed", "max")
        await pilot.press("enter")
        await type_into(pilot, app, "#f-speed", "0.5")
        await pilot.press("enter")
        await pilot.pause()
        assert app.speeds == [10.0, None]
        assert "at least 1 epoch per second" in error_line(app)
        assert app.query_one("#f-speed", Input).value == "10 epochs/s" and app.edits == []


@async_test
async def test_controls_and_layer_buttons_run_the_apps_actions():
    app = Host()
    async with app.run_test(size=(120, 40)) as pilot:
        panel = await started(app, pilot, "network")
        assert app.query_one("#b-run", Button).disabled  # until the engine is ready
        panel.set_running(running=True, ready=True)
        await pilot.pause()
        assert str(app.query_one("#b-run", Button).label) == "‖ pause"
        for bid in ("#b-run", "#b-epoch", "#b-add", "#b-delete"):
            await pilot.click(bid)
            await pilot.pause()
        assert app.actions == ["toggle_run", "epoch", "add_layer", "delete_layer"]
        perceptron = cfg.default_experiment()
        perceptron.model.hidden = []
        panel.load(perceptron, None)
        await pilot.pause()
        assert app.query_one("#b-delete", Button).disabled and app.query_one("#f-units", Input).disabled


FOCUSABLE = (Input, Select, Button, Checkbox, SelectionList, OptionList, RadioSet, Tabs)


@pytest.mark.parametrize("width", [36, 31])
@async_test
async def test_every_tab_stop_is_a_field_and_shows_its_focus(width):
    exp = cfg.change_optimizer(cfg.default_experiment(), "sgd")
    app = Host(exp, width=width)
    async with app.run_test(size=(120, 40)) as pilot:
        panel = await started(app, pilot)
        panel.set_devices({"auto": "cpu", "cpu": "CPU", "cuda": None, "mps": None}, "CPU")
        seen = {}
        for tab in ("data", "network", "training", "device"):
            panel.select_tab(tab)
            app.screen.set_focus(None)
            await pilot.pause()
            for _ in range(40):
                await pilot.press("tab")
                await pilot.pause()
                focused = app.screen.focused
                assert isinstance(focused, FOCUSABLE), f"{tab}: an invisible tab stop: {focused!r}"
                key = focused.id or repr(focused)
                if key in seen.get(tab, {}):
                    break
                seen.setdefault(tab, {})[key] = focused
            else:
                raise AssertionError(f"{tab}: the tab stops never came round")
        assert {"f-dataset", "f-samples", "f-features"} <= set(seen["data"])
        assert {"f-layers", "f-units", "f-activation", "b-add"} <= set(seen["network"])
        assert {"f-loss", "f-lr", "opt-momentum", "opt-nesterov", "f-speed"} <= set(seen["training"])
        assert "f-device" in seen["device"]
        assert not set(seen["data"]) & {"f-units", "f-lr"}  # only the active tab's fields
        # Each kind of field looks different when focused (compact fields have no border to light up).
        for tab, fid in (("data", "f-samples"), ("data", "f-dataset"), ("data", "f-features"),
                         ("network", "f-layers"), ("network", "b-add"), ("training", "opt-nesterov"),
                         ("device", "f-device")):
            panel.select_tab(tab)
            await pilot.pause()
            widget = app.query_one(f"#{fid}")
            widget.focus()
            await pilot.pause()
            focused = _backgrounds(app, widget)
            app.screen.set_focus(None)
            await pilot.pause()
            blurred = _backgrounds(app, widget)
            change = max(_distance(a, b) for a, b in zip(focused, blurred))
            assert change > 60, f"{fid}: focus barely visible ({change:.0f})"


def _backgrounds(app: App, widget) -> list[Color]:
    """The background colour of each cell the widget shows."""
    target = widget.query_one("SelectCurrent") if isinstance(widget, Select) else widget
    region = target.region
    strips = app.screen._compositor.render_strips()
    colours = []
    for y in range(region.y, region.bottom):
        x = 0
        for seg in strips[y]:
            for _ in seg.text:
                if region.x <= x < region.right:
                    bg = seg.style.bgcolor if seg.style else None
                    colours.append(Color.from_rich_color(bg) if bg else Color(0, 0, 0))
                x += 1
    return colours


def _distance(a: Color, b: Color) -> float:
    return ((a.r - b.r) ** 2 + (a.g - b.g) ** 2 + (a.b - b.b) ** 2) ** 0.5


@pytest.mark.parametrize("width", [36, 31])
@async_test
async def test_labels_and_choices_read_whole(width):
    """At 120 columns (36) and in the compact layout (31): no label or choice is cut."""
    app = Host(width=width)
    async with app.run_test(size=(120, 40)) as pilot:
        panel = await started(app, pilot, "training")
        text = screen_text(app)
        for label in ("learning rate", "weight decay", "binary cross-entropy", "early stop", "nesterov"):
            assert label in text
        panel.load(cfg.change_optimizer(app.exp, "adagrad"), 0)
        await pilot.pause()
        text = screen_text(app)
        assert "initial accumulator value" in text and "lr decay" in text
        panel.load(cfg.change_optimizer(app.exp, "adam"), 0)
        await pilot.pause()
        assert "0.9, 0.999" in screen_text(app)
        panel.select_tab("network")
        panel.load(cfg.set_field(app.exp, "model.hidden[0].activation", "leaky_relu"), 0)
        await pilot.pause()
        assert "leaky ReLU" in screen_text(app)


@async_test
async def test_loading_optimizer_after_optimizer_shows_the_last_ones_options():
    app = Host()
    async with app.run_test(size=(120, 40)) as pilot:
        panel = await started(app, pilot, "training")
        exp = app.exp
        for name in ("adam", "rmsprop", "adagrad"):  # in one go, as the app may: rows come and go
            exp = cfg.change_optimizer(exp, name)
            panel.load(exp, 0)
        panel.load(exp, 1)
        await pilot.pause()
        ids = {w.id for w in app.query("#f-options Input, #f-options Checkbox")}
        assert ids == {f"opt-{n}" for n in cfg.OPTIMIZER_DEFAULTS["adagrad"]}
        assert app.query_one("#opt-eps", Input).value == "1e-10" and app.edits == []


@async_test
async def test_page_keys_before_a_list_is_laid_out_move_nothing():
    """Found by random keys in a real terminal: PgUp reached a choice's drop-down just opened,
    before it had laid out its lines (KeyError ended the app). Every list of the forms."""
    app = Host(cfg.default_experiment())
    async with app.run_test(size=(120, 40)) as pilot:
        panel = await started(app, pilot)
        dataset = panel.query_one("#f-dataset", Select)
        dataset.expanded = True
        lists = [dataset.query_one(OptionList),  # its drop-down, opened this moment
                 *(w for w in panel.query(OptionList) if not w.region)]  # lists of tabs not shown yet
        assert "f-layers" in {w.id for w in lists}
        for options in lists:
            assert not options._index_to_line  # not laid out
            options._move_page(-1)
            options._move_page(1)
        await pilot.pause()
        dataset.expanded = False
        await pilot.press("pagedown")
        await pilot.pause()
        assert app.is_running and dataset.value == "circle"


@async_test
async def test_editing_keys_typed_fast_apply_in_the_order_typed():
    """Found in a real terminal: keys bound in the field (home, ctrl+k, backspace) bubble to
    the app before they act, and letters typed right behind them went in first ("C-a C-k 500"
    left the field empty). Textual issue 6605."""
    app = Host()
    async with app.run_test(size=(120, 40)) as pilot:
        await started(app, pilot, "training")
        field = await type_into(pilot, app, "#f-lr", "12")
        send_burst(app, "home", "9", "ctrl+k", "5", "backspace", "backspace", "7")
        await pilot.pause(0.2)
        assert field.value == "7"


def _tab_stops(form) -> list:
    """The form's fields in the order it reads, top to bottom: those shown (a field of another
    dataset is not), not those inside a field (a drop-down's list)."""
    def inside(w):
        return [a for a in w.ancestors if a is not form and form in a.ancestors]

    return [w for w in form.query("*") if w.focusable and w.display and all(a.display for a in inside(w))
            and not any(a.focusable for a in inside(w))]


@pytest.mark.parametrize("size", [(60, 20), (120, 40)])
@async_test
async def test_tab_goes_down_each_form_in_order_and_the_focused_field_is_in_view(size):
    """The focus moves down the form as it reads, top to bottom (Textual orders tab stops by
    where their containers are laid out), and the form scrolls to keep the focused field in
    sight where it is taller than the panel."""
    exp = cfg.change_optimizer(cfg.default_experiment(), "sgd")
    app = Host(exp)
    async with app.run_test(size=size) as pilot:
        panel = await started(app, pilot)
        panel.set_devices({"auto": "cpu", "cpu": "CPU", "cuda": None, "mps": None}, "CPU")
        for tab in ("data", "network", "training", "device"):
            panel.select_tab(tab)
            app.screen.set_focus(None)
            await pilot.pause()
            form = app.query_one(f"#form-{tab}")
            in_reading_order = _tab_stops(form)
            order = []
            for _ in range(len(in_reading_order) + 1):  # the tab bar first, then the form
                await pilot.press("tab")
                await pilot.pause()
                focused = app.screen.focused
                if form in focused.ancestors:
                    order.append(focused)
                    assert form.region.contains_region(focused.region), f"{tab}: {focused.id} out of sight"
            assert [w.id for w in order] == [w.id for w in in_reading_order], tab
