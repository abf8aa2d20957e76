"""The side panel's fields: a text field that applies on Enter only, form rows, and the
four forms (Data, Net, Train, Device) built from config's names and the engine's facts.

Every field carries the experiment's dotted key as its `name` ("train.lr",
"model.hidden[].units" for the selected layer), so one handler in the side panel turns
any field's value into an edit through config.set_field.
"""
from __future__ import annotations

from typing import Callable

from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widget import Widget
from textual.widgets import (
    Button,
    Checkbox,
    Input,
    Label,
    RadioButton,
    RadioSet,
    Select,
    Static,
)

from tuidl import config as cfg
from tuidl.engine import facts
from tuidl.ui.held_keys import KeysWaitForTheValue
from tuidl.ui.inputs import HandsBackInput
from tuidl.ui.lists import Choice, Options, Selections

LAYER = "model.hidden[]."  # a key of the selected layer: "model.hidden[].units"
SPEED = "speed"  # the speed field is no part of the experiment
LABEL_WIDTH = 13  # "learning rate", "weight decay": whole labels at the narrowest side panel
# shown(key): the text of the value in use for a field's key. The forms are built with their
# values: a field given its first value once mounted is styled all over again (~3 ms each).
Shown = Callable[[str], str]


def format_value(v: object) -> str:
    """A value as a field shows it (and as set_field reads it back)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, (tuple, list)):
        return ", ".join(format_value(x) for x in v)
    return str(v)


class FieldInput(HandsBackInput):
    """A text field for one value of the experiment.

    Enter applies the text (the panel posts an edit) and Escape restores the value in use;
    both hand the keyboard back to the app. Leaving the field otherwise applies nothing.
    """

    BINDINGS = [Binding("escape", "restore", "restore the value in use", show=False)]

    def __init__(self, key: str, label: str, value: str = "", **kwargs):
        super().__init__(value, name=key, compact=True, select_on_focus=True, **kwargs)
        self.label = label
        self.in_use = value  # the text of the value the experiment holds
        self.submitted = False  # Enter was pressed since the field took focus

    def show(self, text: str) -> None:
        """Show the value in use (written by the panel's load; posts nothing). Text being
        typed stays: Enter applies it, Escape or leaving the field brings this value back."""
        typing = self.has_focus and self.unapplied
        self.in_use = text
        self.submitted = False
        if self.value != text and not typing:
            self.value = text

    @property
    def unapplied(self) -> bool:
        return not self.submitted and self.value.strip() != self.in_use

    def on_focus(self) -> None:  # (HandsBackInput's on_focus runs too: Textual calls each class's)
        self.submitted = False

    def action_restore(self) -> None:
        self.value = self.in_use
        self.hand_back()


class OptionCheckbox(KeysWaitForTheValue, Checkbox):
    """A flag of the optimizer: the keys typed behind the space or enter that flips it wait
    until the panel has used it (held_keys.py)."""

    HOLD_AFTER = ("enter", "space")


class DeviceChoice(KeysWaitForTheValue, RadioSet):
    """The devices: the keys typed behind the space or enter that picks one wait until the
    panel has used it (held_keys.py)."""

    HOLD_AFTER = ("enter", "space")


def row(label: str, widget: Widget, row_id: str | None = None) -> Horizontal:
    """A label and its field on one line."""
    return Horizontal(Label(label, classes="field-label"), widget, classes="field-row", id=row_id)


def wide_row(label: str, widget: Widget, row_id: str | None = None) -> Vertical:
    """A label on its own line above a full-width field (long labels or long values)."""
    return Vertical(Label(label, classes="field-label"), widget, classes="field-row -wide", id=row_id)


def field_row(key: str, label: str, fid: str | None = None, row_id: str | None = None,
              value: str = "") -> Widget:
    """A text field's row: labels longer than the label column go on their own line."""
    make = row if len(label) <= LABEL_WIDTH else wide_row
    return make(label, FieldInput(key, label, value, id=fid), row_id)


def option_rows(train: cfg.TrainConfig) -> list[Widget]:
    """One row per option of the optimizer in use: a checkbox for flags, a field for numbers."""
    rows: list[Widget] = []
    for name, value in cfg.optimizer_options(train).items():
        key, label = f"train.options.{name}", name.replace("_", " ")
        if isinstance(value, bool):
            rows.append(OptionCheckbox(label, value=value, name=key, id=f"opt-{name}", compact=True,
                                 classes="option-check"))
        else:
            rows.append(field_row(key, label, fid=f"opt-{name}", value=format_value(value)))
    return rows


def choice(key: str, options: list[tuple[str, str]], value: str, fid: str) -> Select:
    return Choice(options, value=value, name=key, id=fid, allow_blank=False, compact=True)


# What a generated dataset is drawn with: a lesson's own points (dataset "points") have none of it.
GENERATOR_FIELDS = (("data.samples", "samples", "f-samples"), ("data.noise", "noise", "f-noise"),
                    ("data.train_fraction", "train frac.", "f-train_fraction"), ("data.seed", "data seed", "f-data_seed"))


def dataset_options(e: cfg.Experiment) -> list[tuple[str, str]]:
    return [(d, d) for d in cfg.choosable_datasets(e)]


def inputs_label(data: cfg.DataConfig) -> str:
    """The heading over the inputs: the features to pick on a plane, else what the file gives."""
    if cfg.has_plane(data):
        return "input features"
    if data.dataset == "digits":
        return f"inputs: {cfg.DIGITS_SIDE}×{cfg.DIGITS_SIDE} = {cfg.DIGITS_SIDE ** 2} pixels"
    names = ", ".join(data.columns)
    return (f"inputs: {len(data.columns)} columns ({names if len(names) <= 40 else names[:39] + '…'}); "
            f"the target: {data.target}")


def data_form(e: cfg.Experiment, shown: Shown):
    """The Data tab: the dataset, its size and noise, the batch, the input features."""
    yield row("dataset", choice("data.dataset", dataset_options(e), e.data.dataset, "f-dataset"))
    yield field_row("data.classes", "classes", "f-classes", row_id="row-classes", value=shown("data.classes"))
    for key, label, fid in GENERATOR_FIELDS:
        yield field_row(key, label, fid, row_id=f"row-{fid}", value=shown(key))
    yield field_row("train.batch_size", "batch size", "f-batch_size", value=shown("train.batch_size"))
    yield Label("input features", classes="form-head", id="features-head")
    yield Selections(*[(f, f, f in e.data.features) for f in cfg.FEATURES], name="data.features",
                             id="f-features", compact=True)


def network_form(e: cfg.Experiment, shown: Shown):
    """The Net tab: the hidden layers, the selected layer's fields, the output, the init."""
    yield Label("hidden layers (select one)", classes="form-head")
    yield Options(id="f-layers", compact=True)
    yield Horizontal(Button("+ add after", id="b-add", compact=True, action="app.add_layer"),
                     Button("− delete", id="b-delete", compact=True, action="app.delete_layer"),
                     classes="button-row")
    yield Label("selected layer", classes="form-head", id="layer-head")
    yield field_row(LAYER + "units", "units", "f-units", value=shown(LAYER + "units"))
    acts = [(facts.ACTIVATIONS[a].label, a) for a in cfg.ACTIVATIONS]
    first = e.model.hidden[0].activation if e.model.hidden else cfg.ACTIVATIONS[0]
    yield row("activation", choice(LAYER + "activation", acts, first, "f-activation"))
    yield field_row(LAYER + "dropout", "dropout", "f-dropout", value=shown(LAYER + "dropout"))
    yield Static("", id="output-info", classes="form-info")
    yield row("init", choice("model.init", [(i, i) for i in cfg.INITS], e.model.init, "f-init"))


def training_form(e: cfg.Experiment, shown: Shown):
    """The Train tab: the loss, the optimizer and its options, the epochs, the speed."""
    t = e.train
    yield wide_row("loss", choice("train.loss", [(facts.LOSSES[x].label, x) for x in cfg.LOSSES], t.loss,
                                  "f-loss"))
    yield row("optimizer", choice("train.optimizer", [(facts.OPTIMIZERS[x].label, x) for x in cfg.OPTIMIZERS],
                                  t.optimizer, "f-optimizer"))
    yield field_row("train.lr", "learning rate", "f-lr", value=shown("train.lr"))
    yield Label("optimizer options", classes="form-head")
    yield Vertical(*option_rows(t), id="f-options")
    for key, label, fid in (("train.epochs", "epochs", "f-epochs"), ("train.l1", "L1", "f-l1"),
                            ("train.early_stopping", "early stop", "f-early_stopping"),
                            ("train.min_delta", "min. delta", "f-min_delta"),
                            ("train.seed", "init seed", "f-seed")):
        yield field_row(key, label, fid, value=shown(key))
    yield row("dtype", choice("train.dtype", [(d, d) for d in cfg.DTYPES], t.dtype, "f-dtype"))
    speed = field_row(SPEED, "speed", "f-speed")
    speed.tooltip = "epochs per second (1 and up), or max; the + and - keys step it"
    yield speed


def device_form(e: cfg.Experiment, shown: Shown):
    """The Device tab: filled in by set_devices once torch has looked."""
    yield Static("loading PyTorch…", id="device-info", classes="form-info")
    yield DeviceChoice(*[RadioButton(d, id=f"dev-{d}", disabled=True, compact=True) for d in cfg.DEVICES],
                   id="f-device", name="train.device", compact=True)


FORMS = {"data": data_form, "network": network_form, "training": training_form, "device": device_form}
