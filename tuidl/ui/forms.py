"""The side panel's forms: Data, Network, Training, Device. Widgets only; the app
reads their messages and owns the experiment."""
from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
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

from tuidl import config as cfg

# Input id -> (section, field, type, label)
FIELDS: dict[str, tuple[str, str, type, str]] = {
    "f-samples": ("data", "samples", int, "samples"),
    "f-noise": ("data", "noise", float, "noise"),
    "f-train_fraction": ("data", "train_fraction", float, "train frac."),
    "f-classes": ("data", "classes", int, "classes"),
    "f-data_seed": ("data", "seed", int, "data seed"),
    "f-batch_size": ("train", "batch_size", int, "batch size"),
    "f-lr": ("train", "lr", float, "learn. rate"),
    "f-epochs": ("train", "epochs", int, "epochs"),
    "f-l1": ("train", "l1", float, "L1"),
    "f-early_stopping": ("train", "early_stopping", int, "early stop"),
    "f-seed": ("train", "seed", int, "init seed"),
}
LAYER_FIELDS = {"f-units": ("units", int, "units"), "f-dropout": ("dropout", float, "dropout")}

TABS = (("data", "Data"), ("network", "Net"), ("training", "Train"), ("device", "Device"))
LOSS_LABELS = {"bce": "binary cross-entropy", "ce": "cross-entropy", "mse": "mean squared error"}
OPT_LABELS = {"sgd": "SGD", "adam": "Adam", "rmsprop": "RMSprop", "adagrad": "Adagrad", "adadelta": "Adadelta"}


def row(label: str, widget, tip: str | None = None) -> Horizontal:
    lab = Label(label, classes="flabel")
    if tip:
        lab.tooltip = tip
    return Horizontal(lab, widget, classes="frow")


def num_input(fid: str) -> Input:
    return Input(id=fid, compact=True, select_on_focus=True)


def format_value(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, (tuple, list)):
        return ", ".join(format_value(x) for x in v)
    return str(v)


class SidePanel(Vertical):
    """Run controls on top, then the four forms in tabs."""

    def __init__(self, exp: cfg.Experiment, **kwargs):
        super().__init__(**kwargs)
        self.exp = exp

    def compose(self) -> ComposeResult:
        with Horizontal(id="controls"):
            for bid, text in (("b-run", "▶ run"), ("b-epoch", "+1 ep"), ("b-step", "step"), ("b-reset", "reset")):
                b = Button(text, id=bid, compact=True)
                b.can_focus = False
                yield b
        with TabbedContent(id="tabs", initial="tab-data"):
            for tab, title in TABS:
                with TabPane(title, id=f"tab-{tab}"):
                    yield VerticalScroll(classes="form", id=f"form-{tab}")
        yield Static("", id="form-error")

    async def populate(self) -> None:
        """Mount the forms' widgets, one tab at a time, after the first frame has been drawn."""
        for tab, _ in TABS:
            await self.query_one(f"#form-{tab}").mount_all(list(getattr(self, f"_{tab}_form")()))

    def _data_form(self):
        yield row("dataset", Select([(d, d) for d in cfg.DATASETS], id="f-dataset",
                                    value=self.exp.data.dataset, allow_blank=False, compact=True))
        for fid in ("f-classes", "f-samples", "f-noise", "f-train_fraction", "f-batch_size", "f-data_seed"):
            yield row(FIELDS[fid][3], num_input(fid))
        yield Label("input features", classes="fhead")
        yield SelectionList[str](*[(f, f, f in self.exp.data.features) for f in cfg.FEATURES],
                                 id="f-features", compact=True)

    def _network_form(self):
        yield Label("hidden layers (select one)", classes="fhead")
        yield OptionList(id="f-layers", compact=True)
        yield Horizontal(Button("+ add after", id="b-add", compact=True),
                         Button("− delete", id="b-delete", compact=True), classes="brow")
        yield Label("selected layer", classes="fhead", id="layer-head")
        yield row("units", num_input("f-units"))
        yield row("activation", Select([(a, a) for a in cfg.ACTIVATIONS], id="f-activation",
                                       value=first_activation(self.exp), allow_blank=False, compact=True))
        yield row("dropout", num_input("f-dropout"))
        yield Static("", id="output-info", classes="finfo")
        yield row("init", Select([(i, i) for i in cfg.INITS], id="f-init", value=self.exp.model.init,
                                 allow_blank=False, compact=True))

    def _training_form(self):
        yield row("loss", Select([(LOSS_LABELS[x], x) for x in cfg.LOSSES], id="f-loss",
                                 value=self.exp.train.loss, allow_blank=False, compact=True))
        yield row("optimizer", Select([(OPT_LABELS[x], x) for x in cfg.OPTIMIZERS], id="f-optimizer",
                                      value=self.exp.train.optimizer, allow_blank=False, compact=True))
        yield row("learn. rate", num_input("f-lr"))
        yield Label("optimizer options", classes="fhead")
        yield Vertical(id="f-options")
        for fid in ("f-epochs", "f-l1", "f-early_stopping", "f-seed"):
            yield row(FIELDS[fid][3], num_input(fid))
        yield row("dtype", Select([(d, d) for d in cfg.DTYPES], id="f-dtype", value=self.exp.train.dtype,
                                  allow_blank=False, compact=True))

    def _device_form(self):
        yield Static("loading PyTorch…", id="device-info", classes="finfo")
        yield RadioSet(*[RadioButton(d, id=f"dev-{d}", disabled=True, compact=True) for d in cfg.DEVICES],
                       id="f-device", compact=True)


def first_activation(exp: cfg.Experiment) -> str:
    return exp.model.hidden[0].activation if exp.model.hidden else cfg.ACTIVATIONS[0]


def option_widgets(optimizer: str, options: dict) -> list:
    """One row per optimizer option: a checkbox for flags, an input for numbers and betas."""
    rows = []
    for name, default in cfg.OPTIMIZER_DEFAULTS[optimizer].items():
        value = options.get(name, default)
        wid = f"opt-{name}"
        if isinstance(default, bool):
            rows.append(Checkbox(name, value=bool(value), id=wid, compact=True, classes="optcheck"))
        else:
            inp = num_input(wid)
            inp.value = format_value(value)
            rows.append(row(name.replace("_", " ")[:11], inp))
    return rows
