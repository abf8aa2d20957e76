"""The experiment as data: dataclasses, TOML load/save, validation and the edit rules.

No torch and no textual here: the app's first frame and the CLI's error path import this
package alone. The rest of tuidl uses the names re-exported below (``cfg.load``,
``cfg.Experiment``); the modules say where each lives.
"""
from __future__ import annotations

from .derived import (
    default_experiment,
    has_plane,
    input_names,
    is_regression,
    layer_sizes,
    n_train,
    optimizer_options,
    output_activation,
    output_units,
    split_sizes,
    task,
)
from .dotted_keys import get_field, set_field
from .errors import ConfigError
from .rules import (
    change_dataset,
    change_optimizer,
    choosable_datasets,
    default_loss,
    delete_layer,
    fill_file_data,
    insert_layer,
    keep_fitting_weights,
)
from .schema import (
    ACTIVATIONS,
    CSV_TASKS,
    DATASETS,
    DEFAULT_LR,
    DEVICES,
    DIGITS_CLASSES,
    DIGITS_SAMPLES,
    DIGITS_SIDE,
    DTYPES,
    FEATURES,
    FILE_DATASETS,
    GENERATED_DATASETS,
    INITS,
    INLINE_KEYS,
    LOSSES,
    MAX_CSV_CLASSES,
    MAX_EPOCHS,
    MAX_HIDDEN_LAYERS,
    MAX_RACE_VARIANTS,
    MAX_UNITS,
    MULTICLASS_DATASETS,
    OPTIMIZER_DEFAULTS,
    OPTIMIZERS,
    RACE_KEYS,
    RACE_OPTION_KEYS,
    REGRESSION_DATASETS,
    DataConfig,
    Experiment,
    Layer,
    LayerWeights,
    ModelConfig,
    TrainConfig,
)
from .toml_io import dumps, from_dict, load, load_csv, loads, save, to_dict
from .validation import race_problem, validate

__all__ = [
    # schema
    "ACTIVATIONS", "CSV_TASKS", "DATASETS", "DEFAULT_LR", "DEVICES", "DIGITS_CLASSES",
    "DIGITS_SAMPLES", "DIGITS_SIDE", "DTYPES", "FEATURES", "FILE_DATASETS",
    "GENERATED_DATASETS", "INITS", "INLINE_KEYS", "LOSSES", "MAX_CSV_CLASSES", "MAX_EPOCHS",
    "MAX_HIDDEN_LAYERS", "MAX_RACE_VARIANTS", "MAX_UNITS", "MULTICLASS_DATASETS",
    "OPTIMIZER_DEFAULTS", "OPTIMIZERS", "RACE_KEYS", "RACE_OPTION_KEYS", "REGRESSION_DATASETS",
    "DataConfig", "Experiment", "Layer", "LayerWeights", "ModelConfig", "TrainConfig",
    # derived
    "default_experiment", "has_plane", "input_names", "is_regression", "layer_sizes",
    "n_train", "optimizer_options", "output_activation", "output_units", "split_sizes", "task",
    # errors, validation
    "ConfigError", "race_problem", "validate",
    # toml_io
    "dumps", "from_dict", "load", "loads", "save", "to_dict",
    # rules
    "change_dataset", "change_optimizer", "choosable_datasets", "default_loss", "delete_layer", "fill_file_data",
    "insert_layer", "keep_fitting_weights",
    # dotted_keys
    "get_field", "set_field",
]
