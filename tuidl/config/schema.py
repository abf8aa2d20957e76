"""What an experiment file may hold: the allowed names and limits, and the dataclasses.

Plain data, so that every other part of tuidl.config (and the app's first frame) can
build on it without torch or textual.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields

from tuidl.engine import facts

# "points": the file's own points (data.x, data.y), for a lesson's handful of examples.
# "csv": the columns of a CSV file (data.path, data.target); "digits": the 8×8 handwritten
# digits shipped inside tuidl (tuidl/data/digits.csv.gz).
DATASETS = ("circle", "xor", "gauss", "spiral", "moons", "pass", "plane", "points", "csv", "digits")
# Datasets read from a file: their rows, inputs and classes are the file's.
FILE_DATASETS = ("csv", "digits")
# The datasets drawn from a generator, which need nothing but their name.
GENERATED_DATASETS = tuple(d for d in DATASETS if d not in ("points", *FILE_DATASETS))
REGRESSION_DATASETS = ("plane",)
# Datasets that can have more than two classes (data.classes > 2).
MULTICLASS_DATASETS = ("gauss", "spiral", "points")
# Keys of the file's own data and weights: written only when given, never set from a form.
INLINE_KEYS = ("x", "y", "x_val", "y_val", "axis_labels", "extent", "weights",
               "path", "target", "columns", "task", "class_names", "mean", "std")
CSV_TASKS = ("classification", "regression")
MAX_CSV_CLASSES = 20  # a target with more distinct whole numbers is taken for values to fit
DIGITS_SAMPLES = 1797  # images in tuidl/data/digits.csv.gz
DIGITS_CLASSES = 10
DIGITS_SIDE = 8  # each image is 8 × 8 pixels
FEATURES = ("x1", "x2", "x1^2", "x2^2", "x1*x2", "sin(x1)", "sin(x2)")
ACTIVATIONS = facts.HIDDEN_ACTIVATIONS
INITS = ("torch", "xavier", "he", "zeros")
LOSSES = tuple(facts.LOSSES)
OPTIMIZERS = tuple(facts.OPTIMIZERS)
DEVICES = ("auto", "cpu", "cuda", "mps")
DTYPES = ("float32", "float64")

# torch.optim's own keyword names and defaults (lr lives in [train] itself).
OPTIMIZER_DEFAULTS: dict[str, dict[str, object]] = {
    "sgd": {"momentum": 0.0, "dampening": 0.0, "nesterov": False, "weight_decay": 0.0},
    "adam": {"betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0, "amsgrad": False},
    "rmsprop": {"alpha": 0.99, "eps": 1e-8, "momentum": 0.0, "centered": False, "weight_decay": 0.0},
    "adagrad": {"lr_decay": 0.0, "initial_accumulator_value": 0.0, "eps": 1e-10, "weight_decay": 0.0},
    "adadelta": {"rho": 0.9, "eps": 1e-6, "weight_decay": 0.0},
}
MAX_HIDDEN_LAYERS = 8
MAX_UNITS = 256
MAX_EPOCHS = 100_000
MAX_RACE_VARIANTS = 8
# What a race may vary ([race] in a file, `tuidl race --vary`, the app's race view); activation
# and dropout are every hidden layer's. An optimizer option (momentum, betas, ...) too.
RACE_KEYS = ("optimizer", "lr", "batch_size", "activation", "dropout", "l1", "init")
RACE_OPTION_KEYS = tuple(sorted({k for opts in OPTIMIZER_DEFAULTS.values() for k in opts}))
DEFAULT_LR = {"sgd": 1e-3, "adam": 1e-3, "rmsprop": 1e-2, "adagrad": 1e-2, "adadelta": 1.0}


@dataclass
class Layer:
    units: int
    activation: str = "tanh"
    dropout: float = 0.0


@dataclass
class DataConfig:
    dataset: str = "circle"
    samples: int = 500
    noise: float = 0.0
    train_fraction: float = 0.5
    features: list[str] = field(default_factory=lambda: ["x1", "x2"])
    seed: int = 1
    classes: int = 2
    # dataset = "points": the training points [[x1, x2], ...], one y each (integers: class
    # labels; numbers with a decimal point: values to fit), and optional validation points.
    x: list[list[float]] = field(default_factory=list)
    y: list[int | float] = field(default_factory=list)
    x_val: list[list[float]] = field(default_factory=list)
    y_val: list[int | float] = field(default_factory=list)
    axis_labels: list[str] = field(default_factory=list)  # the plane's two axis names ([] = the dataset's)
    # [xmin, xmax, ymin, ymax] of the points' plane ([] = their bounding box with a margin):
    # points drawn by hand keep the plane they were drawn on
    extent: list[float] = field(default_factory=list)
    # dataset = "csv": the file (relative to the experiment file; absolute once loaded), the
    # target column, the input columns ([] = all but the target) and the task ("" = inferred:
    # text or a few whole numbers are classes, other numbers values to fit). Loading fills in
    # columns, task, class_names (the target's values in class-index order) and the inputs'
    # standardisation (mean and std of the training rows); saved with the experiment, so that
    # a reopened experiment or a checkpoint standardises the same way.
    path: str = ""
    target: str = ""
    columns: list[str] = field(default_factory=list)
    task: str = ""
    class_names: list[str] = field(default_factory=list)
    mean: list[float] = field(default_factory=list)
    std: list[float] = field(default_factory=list)


@dataclass
class LayerWeights:
    """Initial weights of one dense layer: W is (out, in) as in nn.Linear, b is (out,)."""
    W: list[list[float]]
    b: list[float]


@dataclass
class ModelConfig:
    hidden: list[Layer] = field(default_factory=lambda: [Layer(4, "tanh"), Layer(2, "tanh")])
    init: str = "torch"
    # Initial weights, one entry per dense layer including the output layer ([] = drawn by init
    # from train.seed). The seed still draws the batch order and the dropout masks.
    weights: list[LayerWeights] = field(default_factory=list)


@dataclass
class TrainConfig:
    loss: str = "bce"
    optimizer: str = "sgd"
    lr: float = 0.03
    batch_size: int = 10
    epochs: int = 200
    l1: float = 0.0
    early_stopping: int = 0
    min_delta: float = 0.0  # early stopping: a validation loss must fall by more than this to count
    device: str = "auto"
    seed: int = 1
    dtype: str = "float32"
    options: dict[str, object] = field(default_factory=dict)


@dataclass
class Experiment:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    # [race]: setting -> its values, e.g. {"optimizer": ["sgd", "adam"]} (see tuidl.race_plan)
    race: dict[str, list] = field(default_factory=dict)


# The keys of each section and of a hidden layer, as the dataclasses name them.
_SECTION_KEYS = {
    "data": tuple(f.name for f in fields(DataConfig)),
    "model": tuple(f.name for f in fields(ModelConfig)),
    "train": tuple(f.name for f in fields(TrainConfig)),
}
_LAYER_KEYS = tuple(f.name for f in fields(Layer))
