"""The experiment as data: dataclasses, TOML load/save and validation.

No torch and no textual here: the app's first frame and the CLI's error path import
this module alone.
"""
from __future__ import annotations

from dataclasses import dataclass, field

DATASETS = ("circle", "xor", "gauss", "spiral", "moons", "pass", "plane")
REGRESSION_DATASETS = ("plane",)
# Datasets that can be drawn with more than two classes (data.classes > 2).
MULTICLASS_DATASETS = ("gauss", "spiral")
FEATURES = ("x1", "x2", "x1^2", "x2^2", "x1*x2", "sin(x1)", "sin(x2)")
ACTIVATIONS = ("relu", "tanh", "sigmoid", "leaky_relu", "linear")
INITS = ("torch", "xavier", "he", "zeros")
LOSSES = ("bce", "ce", "mse")
OPTIMIZERS = ("sgd", "adam", "rmsprop", "adagrad", "adadelta")
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


@dataclass
class ModelConfig:
    hidden: list[Layer] = field(default_factory=lambda: [Layer(4, "tanh"), Layer(2, "tanh")])
    init: str = "torch"


@dataclass
class TrainConfig:
    loss: str = "bce"
    optimizer: str = "sgd"
    lr: float = 0.03
    batch_size: int = 10
    epochs: int = 200
    l1: float = 0.0
    early_stopping: int = 0
    device: str = "auto"
    seed: int = 1
    dtype: str = "float32"
    options: dict[str, object] = field(default_factory=dict)


@dataclass
class Experiment:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
