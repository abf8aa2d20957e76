"""The experiment file: loading, round trip, and one clear error per kind of mistake."""
from __future__ import annotations

import os
from dataclasses import replace

import pytest

from tuidl import config as C
from tuidl.config import ConfigError, Experiment, Layer

EXAMPLE = """
[data]
dataset = "circle"        # circle | xor | gauss | spiral | moons | pass | plane (regression)
samples = 500
noise = 0.0               # 0 … 0.5
train_fraction = 0.5
features = ["x1", "x2"]   # any of x1 x2 x1^2 x2^2 x1*x2 sin(x1) sin(x2)
seed = 1
[model]
hidden = [
  { units = 4, activation = "tanh" },
  { units = 2, activation = "tanh", dropout = 0.0 },
]
init = "torch"            # torch | xavier | he | zeros
[train]
loss = "bce"              # bce | ce | mse
optimizer = "sgd"         # sgd | adam | rmsprop | adagrad | adadelta
lr = 0.03
batch_size = 10
epochs = 200
l1 = 0.0
early_stopping = 0        # patience in epochs; 0 = off
device = "auto"           # auto | cpu | cuda | mps
seed = 1
[train.options]           # torch.optim keyword names
momentum = 0.0
weight_decay = 0.0
"""

SRC = "experiment.toml"


def test_example_loads():
    e = C.loads(EXAMPLE, SRC)
    assert e.data.dataset == "circle" and e.data.samples == 500
    assert e.model.hidden == [Layer(4, "tanh"), Layer(2, "tanh", 0.0)]
    assert e.train.lr == 0.03 and e.train.options == {"momentum": 0.0, "weight_decay": 0.0}
    # The example is the default experiment plus two explicit default options.
    assert replace(e, train=replace(e.train, options={})) == C.default_experiment()


def test_empty_document_is_the_default():
    assert C.loads("", SRC) == C.default_experiment()
    assert C.loads("[data]\n[model]\n[train]\n", SRC) == C.default_experiment()


def test_partial_sections_keep_defaults():
    e = C.loads('[train]\nlr = 1\noptimizer = "adam"\n', SRC)
    assert e.train.lr == 1.0 and isinstance(e.train.lr, float)
    assert e.data == C.DataConfig() and e.model == C.ModelConfig()


def test_perceptron_has_no_hidden_layers():
    e = C.loads("[model]\nhidden = []\n", SRC)
    assert e.model.hidden == []


@pytest.mark.parametrize("exp", [
    C.default_experiment(),
    Experiment(
        C.DataConfig(dataset="spiral", samples=777, noise=0.25, train_fraction=0.7,
                     features=["x1^2", "sin(x2)", "x1*x2"], seed=42, classes=5),
        C.ModelConfig(hidden=[Layer(8, "relu", 0.25), Layer(3, "leaky_relu")], init="he"),
        C.TrainConfig(loss="ce", optimizer="adam", lr=0.001, batch_size=32, epochs=5000,
                      l1=1e-4, early_stopping=20, device="cpu", seed=7, dtype="float64",
                      options={"betas": (0.8, 0.99), "eps": 1e-7, "amsgrad": True}),
    ),
    Experiment(C.DataConfig(dataset="plane"), C.ModelConfig(hidden=[]),
               C.TrainConfig(loss="mse", optimizer="rmsprop",
                             options={"centered": True, "alpha": 0.9, "momentum": 0.5})),
])
def test_round_trip(exp):
    C.validate(exp)
    text = C.dumps(exp)
    back = C.loads(text, SRC)
    assert back == exp
    assert C.dumps(back) == text


def test_save_and_load(tmp_path):
    exp = C.default_experiment()
    exp.train.optimizer = "adam"
    exp.train.options = {"betas": (0.5, 0.9)}
    path = tmp_path / "exp.toml"
    C.save(exp, path)
    assert C.load(path) == exp
    assert os.listdir(tmp_path) == ["exp.toml"]  # no temp file left behind
    C.save(C.default_experiment(), path)  # overwrite
    assert C.load(path) == C.default_experiment()


def test_missing_file(tmp_path):
    path = tmp_path / "nope.toml"
    with pytest.raises(ConfigError) as ei:
        C.load(path)
    assert "nope.toml" in str(ei.value)


def _err(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as ei:
        C.loads(text, SRC)
    err = ei.value
    assert str(err).startswith(SRC + ":")
    assert err.source == SRC
    return err


@pytest.mark.parametrize("text, key, value_text", [
    # unknown keys at every level
    ("[data]\nnosie = 0.1\n", "data.nosie", "0.1"),
    ("[datta]\nsamples = 100\n", "datta", "samples"),
    ("[model]\nhidden = [{ units = 4, actvation = \"relu\" }]\n", "model.hidden[0].actvation", '"relu"'),
    ("[train]\nlearning_rate = 0.1\n", "train.learning_rate", "0.1"),
    ("[train.options]\nbetas = [0.9, 0.99]\n", "train.options.betas", "0.9"),  # sgd has no betas
    ('[train]\noptimizer = "adam"\n[train.options]\nmomentum = 0.9\n', "train.options.momentum", "0.9"),
    # wrong types
    ('[data]\nsamples = "500"\n', "data.samples", '"500"'),
    ("[data]\nsamples = 500.0\n", "data.samples", "500.0"),
    ("[data]\nseed = true\n", "data.seed", "true"),
    ('[train]\nlr = "fast"\n', "train.lr", '"fast"'),
    ("[train]\nepochs = true\n", "train.epochs", "true"),
    ('[data]\nfeatures = "x1"\n', "data.features", '"x1"'),
    ("[model]\nhidden = [{ units = 4.5 }]\n", "model.hidden[0].units", "4.5"),
    ("[model]\nhidden = 4\n", "model.hidden", "4"),
    ("[model]\nhidden = [4, 2]\n", "model.hidden[0]", "4"),
    ("[model]\nhidden = [{ activation = \"relu\" }]\n", "model.hidden[0].units", "missing"),
    ("data = 5\n", "data", "5"),
    ('[train]\noptimizer = "adam"\n[train.options]\nbetas = [0.9]\n', "train.options.betas", "[0.9]"),
    ('[train]\noptimizer = "adam"\n[train.options]\namsgrad = 1\n', "train.options.amsgrad", "1"),
    # out of range
    ("[data]\nsamples = 10\n", "data.samples", "10"),
    ("[data]\nsamples = 5001\n", "data.samples", "5001"),
    ("[data]\nnoise = 0.6\n", "data.noise", "0.6"),
    ("[data]\nnoise = nan\n", "data.noise", "nan"),
    ("[data]\ntrain_fraction = 0.95\n", "data.train_fraction", "0.95"),
    ("[data]\nfeatures = []\n", "data.features", "[]"),
    ('[data]\nfeatures = ["x1", "x1"]\n', "data.features[1]", '"x1"'),
    ("[data]\nseed = -1\n", "data.seed", "-1"),
    ('[data]\ndataset = "gauss"\nclasses = 9\n', "data.classes", "9"),
    ("[data]\nclasses = 3\n", "data.classes", "3"),  # circle is 2-class only
    ("[model]\nhidden = [{ units = 0 }]\n", "model.hidden[0].units", "0"),
    ("[model]\nhidden = [{ units = 4 }, { units = 257 }]\n", "model.hidden[1].units", "257"),
    ("[model]\nhidden = [{ units = 4, dropout = 1.0 }]\n", "model.hidden[0].dropout", "1.0"),
    ("[model]\nhidden = [" + "{ units = 2 }, " * 9 + "]\n", "model.hidden", "units"),
    ("[train]\nlr = -1.0\n", "train.lr", "-1.0"),
    ("[train]\nlr = 0\n", "train.lr", "0"),
    ("[train]\nlr = 11\n", "train.lr", "11"),
    ("[train]\nlr = inf\n", "train.lr", "inf"),
    ("[train]\nbatch_size = 0\n", "train.batch_size", "0"),
    ("[train]\nbatch_size = 251\n", "train.batch_size", "251"),  # 500 * 0.5 = 250 training points
    ("[train]\nepochs = 0\n", "train.epochs", "0"),
    ("[train]\nepochs = 100001\n", "train.epochs", "100001"),
    ("[train]\nl1 = -0.1\n", "train.l1", "-0.1"),
    ("[train]\nearly_stopping = -1\n", "train.early_stopping", "-1"),
    ("[train]\nseed = -3\n", "train.seed", "-3"),
    ("[train.options]\nmomentum = -0.9\n", "train.options.momentum", "-0.9"),
    ("[train.options]\ndampening = -1\n", "train.options.dampening", "-1"),
    ("[train.options]\nweight_decay = -1e-4\n", "train.options.weight_decay", "-0.0001"),
    ("[train.options]\nnesterov = true\n", "train.options.nesterov", "true"),
    ("[train.options]\nnesterov = true\nmomentum = 0.9\ndampening = 0.1\n", "train.options.nesterov", "dampening"),
    ('[train]\noptimizer = "adam"\n[train.options]\nbetas = [0.9, 1.0]\n', "train.options.betas", "1.0"),
    ('[train]\noptimizer = "adam"\n[train.options]\neps = -1e-8\n', "train.options.eps", "-1e-08"),
    ('[train]\noptimizer = "rmsprop"\n[train.options]\nalpha = -0.5\n', "train.options.alpha", "-0.5"),
    ('[train]\noptimizer = "adadelta"\n[train.options]\nrho = 1.5\n', "train.options.rho", "1.5"),
    ('[train]\noptimizer = "adagrad"\n[train.options]\nlr_decay = -1\n', "train.options.lr_decay", "-1"),
    ('[train]\noptimizer = "adagrad"\n[train.options]\ninitial_accumulator_value = -1\n',
     "train.options.initial_accumulator_value", "-1"),
    # unknown names
    ('[data]\ndataset = "circel"\n', "data.dataset", '"circel"'),
    ('[data]\nfeatures = ["x1", "x3"]\n', "data.features[1]", '"x3"'),
    ('[model]\nhidden = [{ units = 4, activation = "softmax" }]\n', "model.hidden[0].activation", '"softmax"'),
    ('[model]\ninit = "glorot"\n', "model.init", '"glorot"'),
    ('[train]\nloss = "hinge"\n', "train.loss", '"hinge"'),
    ('[train]\noptimizer = "lbfgs"\n', "train.optimizer", '"lbfgs"'),
    ('[train]\ndevice = "tpu"\n', "train.device", '"tpu"'),
    ('[train]\ndtype = "float16"\n', "train.dtype", '"float16"'),
    # loss that does not fit the data
    ('[data]\ndataset = "plane"\n', "train.loss", '"bce"'),
    ('[data]\ndataset = "plane"\n[train]\nloss = "ce"\n', "train.loss", '"ce"'),
    ('[data]\ndataset = "spiral"\nclasses = 3\n', "train.loss", '"bce"'),
])
def test_errors_name_file_key_and_value(text, key, value_text):
    err = _err(text)
    msg = str(err)
    assert key in msg, msg
    assert value_text in msg, msg
    assert err.key == key
    assert err.allowed


def test_error_message_format():
    err = _err("[train]\nlr = -1.0\n")
    assert str(err) == "experiment.toml: train.lr = -1.0: must be a number > 0 and <= 10"
    assert (err.source, err.key, err.value) == (SRC, "train.lr", -1.0)
    err = _err("[data]\nnosie = 0.1\n")
    assert str(err).startswith("experiment.toml: unknown key data.nosie")
    assert "allowed: dataset, samples, noise" in str(err)
    err = _err('[train]\noptimizer = "adam"\n[train.options]\nmomentum = 0.9\n')
    assert "betas, eps, weight_decay, amsgrad" in str(err)


def test_bad_toml_names_file_and_line():
    err = _err("[data]\nsamples = 500\nnoise = = 0.1\n")
    assert err.line == 3
    assert "line 3" in str(err) and "invalid TOML" in str(err)
    assert err.key is None


def test_allowed_combinations():
    C.loads('[data]\ndataset = "plane"\n[train]\nloss = "mse"\n', SRC)
    C.loads('[train]\nloss = "mse"\n', SRC)  # mse on 2 classes: target 0/1
    C.loads('[train]\nloss = "ce"\n', SRC)  # ce on 2 classes
    C.loads('[data]\ndataset = "gauss"\nclasses = 8\n[train]\nloss = "ce"\n', SRC)
    C.loads("[train]\nlr = 10\nbatch_size = 250\n", SRC)
    C.loads("[train.options]\nnesterov = true\nmomentum = 0.9\n", SRC)
    C.loads("[model]\nhidden = [" + "{ units = 256 }, " * 8 + "]\n", SRC)


def test_validate_experiments_built_in_code():
    exp = C.default_experiment()
    C.validate(exp)
    exp.model.hidden.append(Layer(0))
    with pytest.raises(ConfigError) as ei:
        C.validate(exp, "edited")
    assert str(ei.value).startswith("edited: model.hidden[2].units = 0:")
    exp = C.default_experiment()
    exp.train.batch_size = True  # bool is not an int
    with pytest.raises(ConfigError, match="train.batch_size"):
        C.validate(exp)
    exp = C.default_experiment()
    exp.data.features = ("x1", "x2")  # a tuple is fine in code
    C.validate(exp)
    exp.model.hidden = [{"units": 4}]
    with pytest.raises(ConfigError, match=r"model.hidden\[0\]"):
        C.validate(exp)


def test_optimizer_options_merge_defaults():
    t = C.TrainConfig(optimizer="adam", options={"betas": [0.8, 0.9]})
    opts = C.optimizer_options(t)
    assert opts == {"betas": (0.8, 0.9), "eps": 1e-8, "weight_decay": 0.0, "amsgrad": False}
    assert isinstance(opts["betas"], tuple)
    assert C.optimizer_options(C.TrainConfig()) == C.OPTIMIZER_DEFAULTS["sgd"]
    t = C.TrainConfig(optimizer="sgd", options={"momentum": 0.9})
    assert C.optimizer_options(t)["momentum"] == 0.9
    assert C.OPTIMIZER_DEFAULTS["sgd"]["momentum"] == 0.0  # defaults not mutated
    e = C.loads('[train]\noptimizer = "adam"\n[train.options]\nbetas = [0.5, 0.75]\n', SRC)
    assert e.train.options["betas"] == (0.5, 0.75)


def test_task_and_output_units():
    e = C.default_experiment()
    assert C.task(e) == "binary" and C.output_units(e) == 1
    e = C.loads('[data]\ndataset = "spiral"\nclasses = 4\n[train]\nloss = "ce"\n', SRC)
    assert C.task(e) == "multiclass" and C.output_units(e) == 4
    e = C.loads('[train]\nloss = "ce"\n', SRC)
    assert C.output_units(e) == 2
    e = C.loads('[data]\ndataset = "plane"\n[train]\nloss = "mse"\n', SRC)
    assert C.task(e) == "regression" and C.output_units(e) == 1


def test_error_is_picklable():
    import pickle
    err = _err("[train]\nlr = -1.0\n")
    back = pickle.loads(pickle.dumps(err))
    assert str(back) == str(err) and back.key == "train.lr"


# --------------------------------------------------------------------------- experiment rules

def _frozen(exp: Experiment) -> str:
    return C.dumps(exp)


def test_change_dataset_regression_takes_mse_and_leaving_it_gives_bce_back():
    e = C.default_experiment()
    before = _frozen(e)
    plane = C.change_dataset(e, "plane")
    assert _frozen(e) == before  # the argument is left alone
    assert plane.data.dataset == "plane" and plane.train.loss == "mse"
    C.validate(plane)
    back = C.change_dataset(plane, "circle")
    assert back.train.loss == "bce"
    C.validate(back)
    # mse chosen on purpose for a classification set stays
    e.train.loss = "mse"
    assert C.change_dataset(e, "xor").train.loss == "mse"


def test_change_dataset_resets_classes_where_only_two_can_be_drawn():
    e = C.loads('[data]\ndataset = "spiral"\nclasses = 4\n[train]\nloss = "ce"\n', SRC)
    assert C.change_dataset(e, "gauss").data.classes == 4  # gauss draws several classes too
    xor = C.change_dataset(e, "xor")
    assert xor.data.classes == 2 and xor.train.loss == "ce"
    C.validate(xor)
    assert C.change_dataset(e, "plane").data.classes == 2
    assert e.data.classes == 4 and e.data.dataset == "spiral"


def test_change_optimizer_resets_options_and_scales_adadelta_lr():
    e = C.default_experiment()
    e.train.options = {"momentum": 0.9}
    e.train.lr = 0.05
    same = C.change_optimizer(e, "sgd")
    assert same == e and same is not e and same.train.options is not e.train.options
    adam = C.change_optimizer(e, "adam")
    assert adam.train.optimizer == "adam" and adam.train.options == {} and adam.train.lr == 0.05
    assert C.optimizer_options(adam.train) == C.OPTIMIZER_DEFAULTS["adam"]
    ada = C.change_optimizer(adam, "adadelta")
    assert ada.train.lr == C.DEFAULT_LR["adadelta"] == 1.0
    leave = C.change_optimizer(ada, "rmsprop")
    assert leave.train.lr == C.DEFAULT_LR["rmsprop"]
    assert e.train.options == {"momentum": 0.9} and e.train.optimizer == "sgd"
    for name in C.OPTIMIZERS:
        C.validate(C.change_optimizer(e, name))


def test_insert_layer_copies_the_template_after_it():
    e = C.default_experiment()
    e.model.hidden = [Layer(5, "relu", 0.3), Layer(2, "tanh")]
    new, at = C.insert_layer(e, 0)
    assert at == 1
    assert new.model.hidden == [Layer(5, "relu", 0.3), Layer(5, "relu", 0.0), Layer(2, "tanh")]
    assert len(e.model.hidden) == 2
    new, at = C.insert_layer(e, 1)
    assert at == 2 and new.model.hidden[2] == Layer(2, "tanh", 0.0)
    new, at = C.insert_layer(e, None)
    assert at == 2 and new.model.hidden[2] == Layer(4, "relu")
    perceptron = C.default_experiment()
    perceptron.model.hidden = []
    new, at = C.insert_layer(perceptron, None)
    assert at == 0 and new.model.hidden == [Layer(4, "relu")]
    with pytest.raises(ConfigError, match=r"model.hidden\[7\]: no such layer"):
        C.insert_layer(e, 7)


def test_delete_layer_says_which_layer_to_select_next():
    e = C.default_experiment()
    e.model.hidden = [Layer(1), Layer(2), Layer(3)]
    new, sel = C.delete_layer(e, 1)
    assert [l.units for l in new.model.hidden] == [1, 3] and sel == 1
    new, sel = C.delete_layer(e, 2)
    assert [l.units for l in new.model.hidden] == [1, 2] and sel == 1
    one = C.default_experiment()
    one.model.hidden = [Layer(4)]
    new, sel = C.delete_layer(one, 0)
    assert new.model.hidden == [] and sel is None
    C.validate(new)  # the perceptron
    assert len(e.model.hidden) == 3
    with pytest.raises(ConfigError, match="no such layer"):
        C.delete_layer(new, 0)


@pytest.mark.parametrize("key, text, get, expected", [
    ("train.lr", " 0.1 ", lambda e: e.train.lr, 0.1),
    ("data.samples", "300", lambda e: e.data.samples, 300),
    ("data.noise", "0.2", lambda e: e.data.noise, 0.2),
    ("train.epochs", "50", lambda e: e.train.epochs, 50),
    ("model.hidden[1].units", "8", lambda e: e.model.hidden[1].units, 8),
    ("model.hidden[0].dropout", "0.25", lambda e: e.model.hidden[0].dropout, 0.25),
    ("model.hidden[0].activation", "relu", lambda e: e.model.hidden[0].activation, "relu"),
    ("model.init", "he", lambda e: e.model.init, "he"),
    ("data.features", "x1, x2, x1*x2", lambda e: e.data.features, ["x1", "x2", "x1*x2"]),
    ("train.options.momentum", "0.9", lambda e: e.train.options, {"momentum": 0.9}),
    ("train.options.nesterov", "true", lambda e: e.train.options, {"nesterov": True}),
    ("train.options.nesterov", "False", lambda e: e.train.options, {"nesterov": False}),
])
def test_set_field_parses_text_into_the_fields_type(key, text, get, expected):
    e = C.default_experiment()
    before = _frozen(e)
    new = C.set_field(e, key, text)
    value = get(new)
    assert value == expected and type(value) is type(expected)
    assert _frozen(e) == before


def test_set_field_betas_is_a_pair_of_floats():
    e = C.change_optimizer(C.default_experiment(), "adam")
    new = C.set_field(e, "train.options.betas", "0.8, 0.99")
    assert new.train.options == {"betas": (0.8, 0.99)}
    C.validate(new)
    one = C.set_field(e, "train.options.betas", "0.8")  # parses; validation refuses one number
    with pytest.raises(ConfigError, match="must be two numbers"):
        C.validate(one)


def test_set_field_dataset_and_optimizer_follow_their_rules():
    e = C.default_experiment()
    assert C.set_field(e, "data.dataset", "plane").train.loss == "mse"
    assert C.set_field(C.set_field(e, "train.optimizer", "adadelta"), "train.optimizer", "sgd").train.lr == 1e-3


@pytest.mark.parametrize("key, text, message", [
    ("train.lr", "abc", "refused: train.lr = 'abc': must be a number"),
    ("data.samples", "8.5", "refused: data.samples = '8.5': must be a whole number"),
    ("model.hidden[0].units", "", "refused: model.hidden[0].units = '': must be a whole number"),
    ("train.options.nesterov", "maybe", "refused: train.options.nesterov = 'maybe': must be true or false"),
    ("train.options.betas", "0.9, x", "refused: train.options.betas = '0.9, x': must be numbers separated by commas"),
    ("train.options.betas", "0.9", None),  # not sgd's option
    ("model.hidden[5].units", "3", "refused: model.hidden[5]: no such layer (the network has 2 hidden layers)"),
    ("train.speed", "3", "refused: unknown key train.speed"),
    ("lr", "3", "refused: lr: not a field of the experiment"),
])
def test_set_field_refuses_text_that_does_not_parse(key, text, message):
    e = C.default_experiment()
    if key == "train.options.betas" and message is not None:
        e = C.change_optimizer(e, "adam")
    with pytest.raises(ConfigError) as info:
        C.set_field(e, key, text)
    if message is None:
        assert "unknown key train.options.betas" in str(info.value) and "momentum" in str(info.value)
    else:
        assert str(info.value).startswith(message)
    assert info.value.key is not None


def test_set_field_leaves_the_range_to_validate():
    bad = C.set_field(C.default_experiment(), "train.lr", "-1")
    with pytest.raises(ConfigError, match=r"train.lr = -1.0: must be a number > 0"):
        C.validate(bad, "refused")


def test_output_activation_follows_the_loss():
    from tuidl.engine import losses  # the engine's loss classes apply it

    e = C.default_experiment()
    for name in C.LOSSES:
        e.train.loss = name
        assert C.output_activation(e) == losses.LOSSES[name].facts.output_activation
    assert {n: C.output_activation(C.set_field(e, "train.loss", n)) for n in ("bce", "ce", "mse")} == {
        "bce": "sigmoid", "ce": "softmax", "mse": "linear"}


def test_get_field_reads_what_set_field_writes():
    e = C.change_optimizer(C.default_experiment(), "adam")
    assert C.get_field(e, "train.options.eps") == 1e-8  # an option not set: its default
    assert C.get_field(e, "model.hidden[1].activation") == "tanh"
    for key, text, value in (("train.lr", "0.5", 0.5), ("data.classes", "3", 3),
                             ("model.hidden[0].units", "7", 7), ("train.options.betas", "0.5, 0.6", (0.5, 0.6)),
                             ("train.options.amsgrad", "yes", True), ("data.dataset", "xor", "xor")):
        assert C.get_field(C.set_field(e, key, text), key) == value
    with pytest.raises(KeyError):
        C.get_field(e, "train.speed.x")


# --------------------------------------------------------------------------- inline weights and points

PERCEPTRON = """
[data]
dataset = "points"
x = [[-1, 2], [1, 1], [2, -1]]
y = [0, 1, 1]
[model]
hidden = []
weights = [{ W = [[3, -2]], b = [1] }]
[train]
batch_size = 3
"""

TWO_LAYERS = """
[model]
hidden = [{ units = 3, activation = "relu" }]
weights = [
  { W = [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], b = [0.1, 0.2, 0.3] },
  { W = [[0.5, -0.5, 0.25]], b = [-1.0] },
]
"""


def test_weights_and_points_load_as_floats_and_round_trip():
    e = C.loads(PERCEPTRON, SRC)
    assert e.model.weights == [C.LayerWeights(W=[[3.0, -2.0]], b=[1.0])]
    assert all(isinstance(v, float) for v in e.model.weights[0].W[0] + e.model.weights[0].b)
    assert e.data.x == [[-1.0, 2.0], [1.0, 1.0], [2.0, -1.0]] and isinstance(e.data.x[0][0], float)
    assert e.data.y == [0, 1, 1] and all(isinstance(v, int) for v in e.data.y)  # labels stay integers
    for exp in (e, C.loads(TWO_LAYERS, SRC)):
        text = C.dumps(exp)
        back = C.loads(text, SRC)
        assert back == exp and C.dumps(back) == text


def test_points_with_validation_set_and_axis_labels_round_trip(tmp_path):
    e = C.loads(PERCEPTRON, SRC)
    e.data.x_val, e.data.y_val = [[0.5, 0.5]], [1]
    e.data.axis_labels = ["lectures attended", "hours on the final project"]
    e.train.early_stopping = 5  # allowed: there is a validation set
    C.validate(e)
    C.save(e, tmp_path / "p.toml")
    assert C.load(tmp_path / "p.toml") == e


def test_a_file_without_inline_data_writes_no_inline_keys():
    text = C.dumps(C.default_experiment())
    for key in ("x =", "y =", "x_val", "y_val", "axis_labels", "weights"):
        assert key not in text


@pytest.mark.parametrize("text, key, words", [
    # weights: count, shapes (naming the layer and both shapes), types, keys
    ("[model]\nhidden = []\nweights = [{ W = [[3.0, -2.0]], b = [1.0] }, { W = [[1.0]], b = [0.0] }]\n",
     "model.weights", ["2 entries", "this network has 1"]),
    ("[model]\nhidden = []\nweights = [{ W = [[3.0, -2.0, 1.0]], b = [1.0] }]\n",
     "model.weights[0].W", ["shape (1, 3)", "the output layer", "needs (1, 2)", "2 input features (x1, x2)"]),
    ("[model]\nhidden = [{ units = 3 }]\nweights = [{ W = [[1.0, 2.0]], b = [0.0] }, { W = [[1.0, 1.0, 1.0]], b = [0.0] }]\n",
     "model.weights[0].W", ["shape (1, 2)", "model.hidden[0]", "needs (3, 2)", "out = 3 units"]),
    ("[model]\nhidden = [{ units = 3 }]\nweights = [{ W = [[1.0, 2.0], [1.0, 2.0], [1.0, 2.0]], b = [0.0, 0.0, 0.0] }, { W = [[1.0, 1.0]], b = [0.0] }]\n",
     "model.weights[1].W", ["shape (1, 2)", "the output layer", "needs (1, 3)", "the 3 units of model.hidden[0]"]),
    ('[model]\nhidden = []\nweights = [{ W = [[1.0, 2.0], [3.0, 4.0]], b = [0.0, 0.0] }]\n[train]\nloss = "ce"\n'
     '[data]\ndataset = "gauss"\nclasses = 3\n', "model.weights[0].W", ["needs (3, 2)", '3 output units for loss "ce"']),
    ("[model]\nhidden = []\nweights = [{ W = [[1.0, 2.0], [3.0]], b = [0.0] }]\n", "model.weights[0].W",
     ["rows of finite numbers"]),
    ("[model]\nhidden = []\nweights = [{ W = [[1.0, nan]], b = [0.0] }]\n", "model.weights[0].W", ["finite"]),
    ("[model]\nhidden = []\nweights = [{ W = [[1.0, 2.0]], b = [0.0, 1.0] }]\n", "model.weights[0].b",
     ["2 numbers", "1 unit"]),
    ('[model]\nhidden = []\nweights = [{ W = [[1.0, 2.0]], b = ["0"] }]\n', "model.weights[0].b", ["finite numbers"]),
    ("[model]\nhidden = []\nweights = [{ W = [[1.0, 2.0]] }]\n", "model.weights[0].b", ["missing"]),
    ("[model]\nhidden = []\nweights = [{ W = [[1.0, 2.0]], b = [0.0], c = 1 }]\n", "model.weights[0].c", ["W, b"]),
    ("[model]\nweights = 3\n", "model.weights", ["one per dense layer"]),
    ("[model]\nweights = [3]\n", "model.weights[0]", ["W = [[...]]"]),
    # points: empty, ragged, counts, labels, loss, validation set, axis labels, batch
    ('[data]\ndataset = "points"\n', "data.x", ['dataset "points"']),
    ('[data]\ndataset = "points"\nx = [[1.0, 2.0], [3.0]]\ny = [0, 1]\n', "data.x[1]", ["two finite numbers"]),
    ('[data]\ndataset = "points"\nx = [[1.0, 2.0, 3.0]]\ny = [0]\n', "data.x[0]", ["two finite numbers"]),
    ('[data]\ndataset = "points"\nx = [[1.0, inf]]\ny = [0]\n', "data.x[0]", ["finite"]),
    ('[data]\ndataset = "points"\nx = [[1.0, 2.0], [3.0, 4.0]]\ny = [0]\n', "data.y", ["1 value", "2 points"]),
    ('[data]\ndataset = "points"\nx = [[1.0, 2.0]]\ny = [0]\nx_val = [[1.0, 1.0]]\n', "data.y_val",
     ["0 values", "1 point"]),
    ('[data]\ndataset = "points"\nx = [[1.0, 2.0]]\ny = ["yes"]\n', "data.y[0]", ["finite number"]),
    ('[data]\ndataset = "points"\nx = [[1.0, 2.0], [0.0, 0.0]]\ny = [1, 2]\n', "data.y[1]", ["class from 0 to 1"]),
    ('[data]\ndataset = "points"\nx = [[1.0, 2.0], [0.0, 0.0]]\ny = [1, -1]\n', "data.y[1]", ["class from 0 to 1"]),
    ('[data]\ndataset = "points"\nx = [[1.0, 2.0], [0.0, 0.0]]\ny = [1, 0.5]\n[train]\nbatch_size = 2\n',
     "data.y[1]", ["decimal point", 'loss "bce"', "integers"]),
    ('[data]\ndataset = "points"\nx = [[1.0, 2.0]]\ny = [1]\nx_val = [[0.0, 0.0]]\ny_val = [0.0]\n[train]\nbatch_size = 1\n',
     "data.y_val[0]", ["decimal point"]),
    ('[data]\ndataset = "points"\nx = [[1.0, 2.0], [0.0, 0.0]]\ny = [1, 0]\n', "train.batch_size", ["from 1 to 2"]),
    ('[data]\ndataset = "points"\nx = [[1.0, 2.0]]\ny = [1]\n[train]\nbatch_size = 1\nearly_stopping = 10\n',
     "train.early_stopping", ["validation points"]),
    ('[data]\naxis_labels = ["only one"]\n', "data.axis_labels", ["two names"]),
    ('[data]\naxis_labels = ["a", ""]\n', "data.axis_labels[1]", ["1 to 40 characters"]),
])
def test_inline_errors_name_the_key_and_the_rule(text, key, words):
    err = _err(text)
    assert err.key == key, str(err)
    for word in words:
        assert word in str(err), str(err)


def test_points_with_decimal_values_are_a_regression_set():
    e = C.loads('[data]\ndataset = "points"\nx = [[0.0, 0.0], [1.0, 1.0]]\ny = [0.25, 1.0]\n'
                '[train]\nloss = "mse"\nbatch_size = 2\n', SRC)
    assert C.task(e) == "regression" and C.is_regression(e.data)
    ints = C.loads('[data]\ndataset = "points"\nx = [[0.0, 0.0], [1.0, 1.0]]\ny = [0, 1]\n[train]\nbatch_size = 2\n', SRC)
    assert C.task(ints) == "binary" and C.split_sizes(ints.data) == (2, 0)
    # choosing the points from another dataset takes mse for values, and back again
    circle = C.change_dataset(e, "circle")
    assert circle.train.loss == "bce" and C.change_dataset(circle, "points").train.loss == "mse"


def test_points_can_have_more_classes():
    e = C.loads('[data]\ndataset = "points"\nclasses = 3\nx = [[0.0, 0.0], [1.0, 1.0], [2.0, 0.0]]\n'
                'y = [0, 1, 2]\n[train]\nloss = "ce"\nbatch_size = 3\n', SRC)
    assert C.task(e) == "multiclass" and C.output_units(e) == 3


def test_weights_stay_while_they_fit_the_network_and_go_when_they_do_not():
    e = C.loads(TWO_LAYERS, SRC)
    assert C.set_field(e, "model.hidden[0].activation", "tanh").model.weights == e.model.weights
    assert C.set_field(e, "train.lr", "0.1").model.weights == e.model.weights
    assert C.set_field(e, "model.hidden[0].units", "4").model.weights == []
    assert C.insert_layer(e, 0)[0].model.weights == []
    assert C.delete_layer(e, 0)[0].model.weights == []
    assert C.change_dataset(e, "gauss").model.weights == e.model.weights  # still 2 inputs, 1 output
    assert C.set_field(e, "train.loss", "ce").model.weights == []  # 2 outputs now
    assert e.model.weights  # the rules leave their argument alone


def test_inline_keys_are_not_form_fields():
    for key in ("data.x", "data.y", "data.axis_labels", "model.weights"):
        with pytest.raises(ConfigError, match="unknown key"):
            C.set_field(C.default_experiment(), key, "[[1, 2]]")


def test_min_delta_is_a_number_not_below_zero():
    exp = C.loads("[train]\nearly_stopping = 5\nmin_delta = 0.001\n")
    assert exp.train.min_delta == 0.001
    assert C.loads(C.dumps(exp)) == exp
    with pytest.raises(C.ConfigError, match=r"train.min_delta = -1.0: must be a number >= 0"):
        C.loads("[train]\nmin_delta = -1\n")
    assert C.set_field(exp, "train.min_delta", "0.01").train.min_delta == 0.01
