"""The side panel: the run controls and the four forms (Data, Net, Train, Device).

Attributes down, messages up: the app hands the panel an experiment (`load`), the
devices, the running state and the speed; the panel posts `Edit` requests built from
config's rules, `LayerSelected` and `SpeedChanged`. It never changes an experiment.

Keyboard: Enter in a text field applies it and Escape restores the value in use; both
hand the keyboard back to the app, so its one-key bindings (space, n, e, q…) work again.
Leaving a field any other way applies nothing. Selects, checkboxes and the device apply
on change and hand the keyboard back too; in the lists Escape does.
"""
from __future__ import annotations

from typing import Callable

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widget import Widget
from textual.widgets import (
    Button,
    Checkbox,
    Input,
    Label,
    OptionList,
    RadioButton,
    RadioSet,
    Select,
    SelectionList,
    Static,
    TabbedContent,
    TabPane,
)
from textual.widgets.option_list import Option

from tuidl import config as cfg
from tuidl.config import Experiment
from tuidl.ui.form_fields import (
    FORMS,
    GENERATOR_FIELDS,
    LAYER,
    SPEED,
    FieldInput,
    dataset_options,
    format_value,
    inputs_label,
    option_rows,
)
from tuidl.ui.held_keys import value_taken

TABS = (("data", "Data"), ("network", "Net"), ("training", "Train"), ("device", "Device"))
CONTROLS = (("b-run", "▶ run", "app.toggle_run"), ("b-epoch", "+1 ep", "app.epoch"),
            ("b-step", "step", "app.next_phase"), ("b-reset", "reset", "app.reset"))
NOT_APPLIED = "not applied: press enter in a field to apply"
MISSING = object()
# What writing values into the widgets would post back (load suppresses them).
QUIET = (Select.Changed, Checkbox.Changed, RadioSet.Changed, RadioButton.Changed,
         SelectionList.SelectedChanged, SelectionList.SelectionToggled, OptionList.OptionHighlighted)


class SidePanel(Vertical):
    """Run controls on top, then the forms in tabs, then the last refusal or hint."""

    DEFAULT_CSS = """
    SidePanel { height: 100%; }
    SidePanel #controls { height: 1; }
    SidePanel #controls Button { margin: 0 1 0 0; min-width: 6; width: auto; }
    SidePanel #tabs { height: 1fr; }
    SidePanel #tabs > ContentSwitcher { height: 1fr; }
    SidePanel TabPane { padding: 0; height: 100%; }
    SidePanel .form { height: 100%; padding: 0 1 0 0; }
    SidePanel .field-row { height: 1; }
    SidePanel .field-row.-wide { height: auto; }
    SidePanel .field-label { width: 14; padding: 0 1 0 0; color: $text-muted; }
    SidePanel .field-row.-wide > .field-label { width: 100%; }
    SidePanel .field-row Input, SidePanel .field-row Select { width: 1fr; }
    SidePanel .form-head { width: 100%; color: $text-accent; text-style: bold; }  /* wraps, never cut */
    SidePanel .form-info { color: $text-muted; margin: 0 0 1 0; }
    SidePanel .button-row { height: 1; margin: 1 0; }
    SidePanel .button-row Button { margin: 0 1 0 0; width: auto; }
    SidePanel #f-features { height: auto; max-height: 9; margin: 0 0 1 0; }
    SidePanel #f-layers { height: auto; max-height: 10; }
    SidePanel #f-options { height: auto; }
    SidePanel #form-error { height: auto; max-height: 5; color: $text-error; padding: 0 1; }
    SidePanel #form-error.-hint { color: $text-warning; }
    /* the focused field stands out: compact fields have no border to light up */
    SidePanel Input:focus { background: $accent 45%; }
    SidePanel Select:focus > SelectCurrent { background: $accent 45%; }
    SidePanel Button:focus { background: $accent 45%; }
    SidePanel RadioSet:focus { background: $accent 35%; }
    """
    BINDINGS = [Binding("escape", "release_focus", "back to the app", show=False)]

    class Edit(Message):
        """A change to the experiment: the app applies `change` to a copy of its experiment,
        validates the result, and uses it or refuses it (then calls `load` either way).
        `change` raises ConfigError for text that does not parse."""

        def __init__(self, change: Callable[[Experiment], Experiment], what: str):
            super().__init__()
            self.change = change
            self.what = what  # for people: "learning rate = 0.1"

    class LayerSelected(Message):
        def __init__(self, index: int):
            super().__init__()
            self.index = index

    class SpeedChanged(Message):
        def __init__(self, epochs_per_second: float | None):
            super().__init__()
            self.epochs_per_second = epochs_per_second  # None: as fast as it goes

    def __init__(self, exp: Experiment | None = None, selected_layer: int | None = 0, **kwargs):
        super().__init__(**kwargs)
        self.exp = exp if exp is not None else cfg.default_experiment()  # the app's; read only
        self.selected_layer = self._clamp(self.exp, selected_layer)
        self.populated = False
        self._devices: tuple[dict[str, str | None], str] | None = None
        self._speed = "max"
        self._layer_prompts: list[str] = []
        self._options_for = self.exp.train.optimizer
        self._dataset_options = dataset_options(self.exp)

    # -- layout -----------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        with Horizontal(id="controls"):
            for bid, text, action in CONTROLS:
                button = Button(text, id=bid, compact=True, action=action, disabled=True)
                button.can_focus = False  # space, e, n and r do the same
                yield button
        with TabbedContent(id="tabs", initial="tab-data"):
            for tab, title in TABS:
                with TabPane(title, id=f"tab-{tab}"):
                    yield VerticalScroll(classes="form", id=f"form-{tab}", can_focus=False)
        yield Static("", id="form-error")

    async def populate(self) -> None:
        """Mount the forms' fields, one tab at a time (after the first frame has been drawn)."""
        for tab, _ in TABS:
            await self.query_one(f"#form-{tab}").mount_all(list(FORMS[tab](self.exp, self._shown_text)))
        self.populated = True
        self.load(self.exp, self.selected_layer)
        self.set_speed(self._speed)
        if self._devices is not None:
            self.set_devices(*self._devices)

    # -- attributes down ----------------------------------------------------------------
    def load(self, exp: Experiment, selected_layer: int | None) -> None:
        """Show `exp` in every field (the values in use); posts nothing back."""
        self.exp = exp
        self.selected_layer = self._clamp(exp, selected_layer)
        if not self.populated:
            return
        with self.prevent(*QUIET):
            options = self.query_one("#f-options")
            rebuilt = exp.train.optimizer != self._options_for
            if rebuilt:  # the new optimizer's option rows, made with their values
                self._options_for = exp.train.optimizer
                options.remove_children()
                options.mount_all(option_rows(exp.train))
            for field in self.query(FieldInput):
                if field.name != SPEED and not (rebuilt and options in field.ancestors):
                    value = self._in_use(field.name)
                    if value is not MISSING:
                        field.show("" if value is None else format_value(value))
            dataset = self.query_one("#f-dataset", Select)
            if dataset_options(exp) != self._dataset_options:
                self._dataset_options = dataset_options(exp)
                dataset.set_options(self._dataset_options)
            for select in self.query(Select):
                value = self._in_use(select.name)
                if value not in (None, MISSING) and select.value != value:
                    select.value = value
            for box in options.query(Checkbox) if not rebuilt else ():
                value = self._in_use(box.name)
                if value is not MISSING and box.value != value:
                    box.value = bool(value)
            features = self.query_one("#f-features", SelectionList)
            if sorted(features.selected) != sorted(exp.data.features):
                features.deselect_all()
                for f in exp.data.features:
                    features.select(f)
            drawn = exp.data.dataset in cfg.GENERATED_DATASETS  # a lesson's own points have their classes
            self.query_one("#row-classes").display = drawn and exp.data.dataset in cfg.MULTICLASS_DATASETS
            from_file = exp.data.dataset in cfg.FILE_DATASETS  # its rows, not noise, and no plane's features
            for key, _, fid in GENERATOR_FIELDS:
                self.query_one(f"#row-{fid}").display = drawn or (from_file and key != "data.noise")
            features.display = cfg.has_plane(exp.data)
            self.query_one("#features-head", Label).update(inputs_label(exp.data))
            self._show_layers()
            self._show_device_choice()
            self.query_one("#output-info", Static).update(
                f"output: {cfg.output_units(exp)} × {cfg.output_activation(exp)} "
                f"(set by the loss: {exp.train.loss})")

    def set_devices(self, devices: dict[str, str | None], in_use: str) -> None:
        """The devices torch found ({name: description, or None when not there}) and the one in use."""
        self._devices = (devices, in_use)
        if not self.populated:
            return
        with self.prevent(*QUIET):
            for d in cfg.DEVICES:
                button = self.query_one(f"#dev-{d}", RadioButton)
                desc = devices.get(d)
                button.disabled = desc is None
                if desc is None:
                    button.label = f"{d} (not available)"
                else:
                    button.label = desc if desc.startswith(d) else f"{d}: {desc}"
                button.tooltip = str(button.label)  # a long name ends in "…" on one line
            self._show_device_choice()
        self.query_one("#device-info", Static).update(Text(f"in use: {in_use or '…'}", style="bold cyan"))

    def set_running(self, running: bool, ready: bool) -> None:
        run = self.query_one("#b-run", Button)
        label = "‖ pause" if running else "▶ run"
        if str(run.label) != label:
            run.label = label
        for bid, _, _ in CONTROLS:
            self.query_one(f"#{bid}", Button).disabled = not ready

    def set_speed(self, label: str) -> None:
        """Show the training speed in use ("10 epochs/s", "max")."""
        self._speed = label
        if self.populated:
            self.query_one("#f-speed", FieldInput).show(label)

    def select_tab(self, name: str) -> None:
        """"data", "network", "training" or "device"."""
        focused = self.screen.focused
        if focused is not None and self in focused.ancestors:
            # a field of the tab going away would hand focus to its neighbour, which takes its tab back
            self.screen.set_focus(None)
        self.query_one("#tabs", TabbedContent).active = f"tab-{name}"

    def fields(self) -> list[tuple[str, str, str]]:
        """(tab title, label, widget id) of each field the forms show, in their order."""
        found = []
        if not self.populated:
            return found
        for tab, title in TABS:
            form = self.query_one(f"#form-{tab}")
            for part in form.query(".field-row, .option-check"):
                if not all(w.display for w in (part, *part.ancestors[:part.ancestors.index(form)])):
                    continue  # a row this dataset or optimizer does not have
                if isinstance(part, Checkbox):
                    found.append((title, str(part.label), part.id))
                else:
                    field = part.query_one("Input, Select")
                    found.append((title, str(part.query_one(".field-label", Label).content), field.id))
        return found

    def focus_field(self, widget_id: str) -> Widget:
        """Open the field's tab and give it the keyboard (now: the keys typed next are its).
        Returns the field, for the screen to scroll to once its tab is laid out."""
        field = self.query_one(f"#{widget_id}")
        pane = next(a for a in field.ancestors if isinstance(a, TabPane))
        self.query_one("#tabs", TabbedContent).active = pane.id
        self.screen.set_focus(field, scroll_visible=False)
        return field

    def show_error(self, text: str) -> None:
        self._say(text, hint=False)

    def clear_error(self) -> None:
        self._say("", hint=False)

    # -- showing -------------------------------------------------------------------------
    def _clear_hint(self) -> None:
        if self.query_one("#form-error").has_class("-hint"):
            self._say("", hint=False)

    def _say(self, text: str, hint: bool) -> None:
        line = self.query_one("#form-error", Static)
        line.set_class(hint, "-hint")
        line.update(text)

    @staticmethod
    def _clamp(exp: Experiment, selected: int | None) -> int | None:
        n = len(exp.model.hidden)
        if not n:
            return None
        return 0 if selected is None else max(0, min(selected, n - 1))

    def _in_use(self, name: str | None) -> object:
        """The value a field shows: None for the selected layer's fields when there is none;
        MISSING for an option of the optimizer before (its row is on the way out)."""
        key = self._key(name)
        if key is None:
            return None
        try:
            return cfg.get_field(self.exp, key)
        except KeyError:
            return MISSING

    def _shown_text(self, name: str) -> str:
        """The text a field shows for the value in use ("" where there is none)."""
        value = self._in_use(name)
        return "" if value is None or value is MISSING else format_value(value)

    def _key(self, name: str | None) -> str | None:
        """A field's dotted key; a layer's field names the selected layer (None: there is none)."""
        if name is None or name == SPEED:
            return None
        if name.startswith(LAYER):
            if self.selected_layer is None:
                return None
            return f"model.hidden[{self.selected_layer}].{name[len(LAYER):]}"
        return name

    def _show_layers(self) -> None:
        hidden, sel = self.exp.model.hidden, self.selected_layer
        layers = self.query_one("#f-layers", OptionList)
        prompts = [f"H{i + 1}  {l.units:>3} × {l.activation}" + (f" drop {l.dropout:g}" if l.dropout else "")
                   for i, l in enumerate(hidden)]
        if prompts != self._layer_prompts:
            self._layer_prompts = prompts
            layers.clear_options()
            layers.add_options([Option(p, id=f"layer-{i}") for i, p in enumerate(prompts)]
                               or [Option("(none: a perceptron)", id="layer-none", disabled=True)])
        if sel is not None and layers.highlighted != sel:
            layers.highlighted = sel
        for fid in ("#f-units", "#f-activation", "#f-dropout"):
            self.query_one(fid).disabled = sel is None
        self.query_one("#layer-head", Label).update(f"selected layer: {'none' if sel is None else f'H{sel + 1}'}")
        self.query_one("#b-delete", Button).disabled = not hidden

    def _show_device_choice(self) -> None:
        for d in cfg.DEVICES:
            button = self.query_one(f"#dev-{d}", RadioButton)
            if button.value != (d == self.exp.train.device):
                button.value = d == self.exp.train.device

    # -- messages up -------------------------------------------------------------------
    def _edit(self, key: str, text: str, what: str) -> None:
        self.post_message(self.Edit(lambda exp: cfg.set_field(exp, key, text), what))

    def _release(self, widget: Widget) -> None:
        """Hand the keyboard back to the app once `widget` (or a part of it) has applied its value.
        Queued behind the widget's own focus call (a Select refocuses itself after a choice)."""
        def release() -> None:
            focused = self.screen.focused
            if focused is not None and (focused is widget or widget in focused.ancestors):
                self.screen.set_focus(None)

        self.app.call_later(release)

    def _what(self, name: str, label: str, text: str, sep: str = " = ") -> str:
        """For people: "learning rate = 0.1", "layer H2 activation relu"."""
        layer = name.startswith(LAYER) and self.selected_layer is not None
        return f"{f'layer H{self.selected_layer + 1} ' if layer else ''}{label}{sep}{text}"

    @on(Input.Submitted)
    def _field_entered(self, event: Input.Submitted) -> None:
        field = event.input
        if not isinstance(field, FieldInput):
            return
        event.stop()
        field.submitted = True
        self.screen.set_focus(None)
        self._clear_hint()
        text = event.value.strip()  # as it was at enter (keys typed after it are not the field's)
        if text != field.in_use:
            if field.name == SPEED:
                self._speed_entered(field, text)
            elif (key := self._key(field.name)) is not None:
                self._edit(key, text, self._what(field.name, field.label, text))
        field.value_taken()  # the keys typed behind enter follow the edit up

    def _speed_entered(self, field: FieldInput, text: str) -> None:
        from tuidl.session.speed import parse_speed

        try:
            speed = parse_speed(text)
        except ValueError as err:
            field.show(field.in_use)
            self.show_error(str(err))
            return
        self.clear_error()
        self.post_message(self.SpeedChanged(speed))

    @on(Input.Blurred)
    def _field_left(self, event: Input.Blurred) -> None:
        field = event.input
        if isinstance(field, FieldInput) and field.unapplied:
            event.stop()
            field.value = field.in_use
            self._say(NOT_APPLIED, hint=True)

    def action_release_focus(self) -> None:
        self.screen.set_focus(None)
        self._clear_hint()

    @on(Select.Changed)
    def _select_changed(self, event: Select.Changed) -> None:
        event.stop()
        key = self._key(event.select.name)
        if event.value is Select.NULL or key is None:
            return
        self._release(event.select)
        if event.value != cfg.get_field(self.exp, key):
            value = str(event.value)
            self._edit(key, value, self._what(event.select.name or "", key.rsplit(".", 1)[-1], value, sep=" "))
        value_taken(event.select)

    @on(Checkbox.Changed)
    def _checkbox_changed(self, event: Checkbox.Changed) -> None:
        event.stop()
        key = event.checkbox.name
        if key is not None and event.value != cfg.get_field(self.exp, key):
            self._release(event.checkbox)
            self._edit(key, format_value(event.value), f"{key.rsplit('.', 1)[-1]} = {format_value(event.value)}")
        value_taken(event.checkbox)

    @on(RadioSet.Changed, "#f-device")
    def _device_changed(self, event: RadioSet.Changed) -> None:
        event.stop()
        device = (event.pressed.id or "dev-auto").removeprefix("dev-") if event.pressed is not None else None
        if device is not None and device != self.exp.train.device:
            self._release(event.radio_set)
            self._edit("train.device", device, f"device {device}")
        value_taken(event.radio_set)

    @on(SelectionList.SelectedChanged, "#f-features")
    def _features_changed(self, event: SelectionList.SelectedChanged) -> None:
        event.stop()
        chosen = [f for f in cfg.FEATURES if f in event.selection_list.selected]
        if chosen != list(self.exp.data.features):
            self._edit("data.features", ", ".join(chosen), f"features {', '.join(chosen) or '(none)'}")
        value_taken(event.selection_list)

    @on(OptionList.OptionHighlighted, "#f-layers")
    def _layer_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        oid = event.option.id or ""
        if not oid.startswith("layer-") or oid == "layer-none" or int(oid[6:]) == self.selected_layer:
            return
        self.load(self.exp, int(oid[6:]))
        self.post_message(self.LayerSelected(self.selected_layer))

    @on(OptionList.OptionSelected, "#f-layers")
    def _layer_chosen(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self._release(event.option_list)
