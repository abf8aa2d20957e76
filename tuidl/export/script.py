"""The exported script: a standalone PyTorch program that trains the experiment as tuidl does.

Sections, each written for this one experiment: the settings, the data (data_code), the
network as an nn.Sequential (Dropout drawing its masks from a seeded generator, as the
engine does), tuidl's initial weights, the loss, the torch.optim optimizer with the same
options, and the training loop (tuidl's batch order, its per-epoch evaluation without
dropout and without the L1 term, early stopping). No torch here: this writes text.
"""
from __future__ import annotations

import textwrap

from tuidl import config as cfg
from tuidl.config import Experiment
from tuidl.engine.facts import LEAKY_SLOPE

from .data_code import data_code

# The hidden activations as torch.nn modules; the output layer's is in the loss.
ACTIVATION_MODULES = {
    "relu": "nn.ReLU()", "tanh": "nn.Tanh()", "sigmoid": "nn.Sigmoid()",
    "leaky_relu": f"nn.LeakyReLU({LEAKY_SLOPE})", "linear": "nn.Identity()",
}
LOSS_MODULES = {"bce": "nn.BCEWithLogitsLoss()", "ce": "nn.CrossEntropyLoss()", "mse": "nn.MSELoss()"}
# The output activation, applied to the network's output (the Sequential ends with the
# last Linear: logits for bce and ce, which their torch losses take as they are).
OUTPUT = {
    "bce": "torch.sigmoid(z)  # P(class 1)",
    "ce": "torch.softmax(z, dim=1)  # P(each class)",
    "mse": "z  # the predicted value",
}
OPTIMIZER_CLASSES = {"sgd": "SGD", "adam": "Adam", "rmsprop": "RMSprop", "adagrad": "Adagrad",
                     "adadelta": "Adadelta"}


def modules(exp: Experiment) -> list[tuple]:
    """The nn.Sequential's modules in order: ("linear", n_in, n_out), ("act", name) and
    ("dropout", p) where a hidden layer has dropout. The weights' keys follow from it."""
    sizes = cfg.layer_sizes(exp)
    out: list[tuple] = []
    for i, layer in enumerate(exp.model.hidden):
        out.append(("linear", sizes[i], sizes[i + 1]))
        out.append(("act", layer.activation))
        if layer.dropout > 0:
            out.append(("dropout", layer.dropout))
    out.append(("linear", sizes[-2], sizes[-1]))
    return out


def linear_indices(exp: Experiment) -> list[int]:
    """The index in the nn.Sequential of each dense layer (tuidl's layer i)."""
    return [k for k, m in enumerate(modules(exp)) if m[0] == "linear"]


def _arch(exp: Experiment) -> str:
    return "→".join(str(s) for s in cfg.layer_sizes(exp))


def script_text(exp: Experiment, dataset=None, *, title: str, name: str = "model.py",
                weights: tuple[str, str] | None = None) -> str:
    """The whole script, to be saved as `name`. `title`: where the experiment came from (a
    file, a lesson); `weights`: (file name, what its weights are) of the weights file
    written beside it, if any."""
    data, tables = data_code(exp, dataset)
    parts = [_header(exp, title, name, weights), _settings(exp), data, _network(exp), _initial_weights(exp),
             _training(exp), _main(), tables, 'if __name__ == "__main__":\n    main()']
    return "\n\n\n".join(p.strip("\n") for p in parts if p) + "\n"


def _header(exp: Experiment, title: str, name: str, weights: tuple[str, str] | None) -> str:
    t = exp.train
    dropout = " (and the same dropout masks)" if any(layer.dropout > 0 for layer in exp.model.hidden) else ""
    pt, note = weights if weights else ("weights.pt", "")
    about = textwrap.fill(
        f"A {_arch(exp)} network, {t.loss} loss, {OPTIMIZER_CLASSES[t.optimizer]}. "
        "Plain PyTorch and numpy; tuidl is not needed. It makes tuidl's data the same way, starts from "
        f"tuidl's initial weights and trains on the same mini-batches in the same order{dropout}, printing "
        "each epoch's training and validation loss: tuidl's numbers, to float32 rounding (it runs on the CPU).",
        88)
    if weights:
        note = "\n" + textwrap.fill(f"{pt}, written beside this script by tuidl, holds {note}.", 88) + "\n"
    return f'''"""{title}, exported from tuidl.

{about}

    python {name} [--epochs N] [--save trained.pt]
        trains, printing each epoch's losses, and saves the weights it ends with
    python {name} --load {pt}
        prints the losses of those weights
{note}
The network is an nn.Sequential whose output is the last Linear layer's; `predict` turns
it into what tuidl shows (a probability, or the value for regression):

    x_train, y_train, x_val, y_val = make_data()
    model = make_model()
    model.load_state_dict(torch.load("{pt}"))
    predict(model, torch.as_tensor(x_val, dtype=DTYPE))
"""
import argparse
{"import copy" + chr(10) if t.early_stopping else ""}import math

import numpy as np
import torch
from torch import nn'''


def _settings(exp: Experiment) -> str:
    t = exp.train
    lines = [
        "# -- the settings -----------------------------------------------------------------",
        f"SEED = {t.seed}  # the initial weights, the batch order and the dropout masks",
        f"DTYPE = torch.{t.dtype}",
        f"PRINT_DIGITS = {9 if t.dtype == 'float32' else 17}  # enough to read a printed {t.dtype} back exactly",
        f"EPOCHS = {t.epochs}",
        f"BATCH_SIZE = {t.batch_size}",
        f"LR = {t.lr!r}",
    ]
    if t.l1:
        lines.append(f"L1 = {t.l1!r}  # adds L1·Σ|W| over the weights (not the biases) to each batch's loss")
    if t.early_stopping:
        lines.append(f"PATIENCE = {t.early_stopping}  # early stopping: epochs without a better validation loss")
        lines.append(f"MIN_DELTA = {t.min_delta!r}  # better means lower than the best by more than this")
    return "\n".join(lines)


def _network(exp: Experiment) -> str:
    has_dropout = any(m[0] == "dropout" for m in modules(exp))
    rows = []
    for m in modules(exp):
        if m[0] == "linear":
            rows.append(f"        nn.Linear({m[1]}, {m[2]}),")
        elif m[0] == "act":
            rows.append(f"        {ACTIVATION_MODULES[m[1]]},")
        else:
            rows.append(f"        Dropout({m[1]!r}, dropout_rng),")
    output = {"bce": "one logit (the loss applies the sigmoid)",
              "ce": "one logit per class (the loss applies the softmax)",
              "mse": "the predicted value"}[exp.train.loss]
    dropout_class = '''
class Dropout(nn.Module):
    """nn.Dropout with its masks drawn from `generator`, as tuidl draws them: a unit is kept
    when its uniform draw is >= p, and the kept ones are scaled by 1/(1 - p)."""

    def __init__(self, p, generator):
        super().__init__()
        self.p, self.generator = p, generator

    def forward(self, a):
        if not self.training:
            return a
        draw = torch.rand(a.shape, generator=self.generator, dtype=a.dtype)
        mask = (draw >= self.p).to(a.dtype) / torch.tensor(1.0 - self.p, dtype=a.dtype)
        return a * mask

''' if has_dropout else ""
    signature = "make_model(dropout_rng=None)" if has_dropout else "make_model()"
    seeded = ("    # the dropout masks come from their own generator, seeded with SEED\n"
              "    dropout_rng = dropout_rng or torch.Generator().manual_seed(SEED)\n") if has_dropout else ""
    return f'''# -- the network ------------------------------------------------------------------
{dropout_class}
def {signature}:
    """{_arch(exp)}; the output is {output}."""
{seeded}    return nn.Sequential(
{chr(10).join(rows)}
    ).to(DTYPE)


def output(z):
    """The output activation: what tuidl shows, from the network's output z."""
    return {OUTPUT[exp.train.loss]}


def predict(model, x):
    """tuidl's prediction for inputs x (no dropout)."""
    model.eval()
    with torch.no_grad():
        return output(model(x))'''


def _initial_weights(exp: Experiment) -> str:
    head = '''def init_weights(model):
    """tuidl's initial weights, in place.'''
    linears = "[m for m in model if isinstance(m, nn.Linear)]"
    if exp.model.weights:
        table = ",\n".join(f"    ({layer.W!r},\n     {layer.b!r})" for layer in exp.model.weights)
        return f'''# -- the initial weights ----------------------------------------------------------
# The experiment's own initial weights, (W, b) per Linear layer, W as (out, in).
INITIAL_WEIGHTS = [
{table},
]


{head}"""
    with torch.no_grad():
        for linear, (W, b) in zip({linears}, INITIAL_WEIGHTS):
            linear.weight.copy_(torch.tensor(W, dtype=torch.float64))
            linear.bias.copy_(torch.tensor(b, dtype=torch.float64))'''
    draw = {
        "torch": ("nn.Linear's default, U(−1/√in, 1/√in) for W and b",
                  "bound = 1 / math.sqrt(n_in)\n"
                  "            W.uniform_(-bound, bound, generator=rng)\n"
                  "            b.uniform_(-bound, bound, generator=rng)"),
        "xavier": ("Xavier: W ~ U(−√(6/(in + out)), √(6/(in + out))), b = 0",
                   "bound = math.sqrt(6.0 / (n_in + n_out))\n"
                   "            W.uniform_(-bound, bound, generator=rng)"),
        "he": ("He (Kaiming normal): W ~ N(0, 2/in), b = 0",
               "W.normal_(0.0, math.sqrt(2.0 / n_in), generator=rng)"),
    }
    if exp.model.init == "zeros":
        return f'''# -- the initial weights ----------------------------------------------------------
{head} Init "zeros": every W and b is 0."""
    with torch.no_grad():
        for linear in {linears}:
            linear.weight.zero_()
            linear.bias.zero_()'''
    what, code = draw[exp.model.init]
    doc = textwrap.fill(
        f'Init "{exp.model.init}": {what}, drawn in float64 on the CPU from one generator seeded with '
        "SEED, layer by layer, W before b (nn.Linear's own draw, from torch's global generator, is "
        "replaced).", 84, subsequent_indent="    ")
    return f'''# -- the initial weights ----------------------------------------------------------
{head}

    {doc}"""
    rng = torch.Generator().manual_seed(SEED)
    with torch.no_grad():
        for linear in {linears}:
            n_out, n_in = linear.weight.shape
            W = torch.zeros(n_out, n_in, dtype=torch.float64)
            b = torch.zeros(n_out, dtype=torch.float64)
            {code}
            linear.weight.copy_(W)
            linear.bias.copy_(b)'''


def _optimizer(exp: Experiment) -> str:
    options = cfg.optimizer_options(exp.train)
    args = "".join(f"        {k}={v!r},\n" for k, v in options.items())
    name = OPTIMIZER_CLASSES[exp.train.optimizer]
    return f"torch.optim.{name}(\n        model.parameters(),\n        lr=LR,\n{args}    )"


def _targets(exp: Experiment) -> str:
    if exp.train.loss == "ce":
        return "torch.as_tensor(y, dtype=torch.long)  # class indices"
    return "torch.as_tensor(y, dtype=DTYPE).reshape(-1, 1)  # targets as one column"


def _evaluation(exp: Experiment) -> str:
    """The body of evaluate() after the empty-set check: the loss, and the accuracy of a
    classifier (its output through the output activation, as tuidl counts hits)."""
    if cfg.task(exp) == "regression":
        return """    model.eval()
    with torch.no_grad():
        loss = loss_fn(model(x), y).item()
    model.train()
    return loss, None  # regression: no accuracy"""
    hits = "a.argmax(dim=1) == y" if exp.train.loss == "ce" else "(a >= 0.5) == (y >= 0.5)"
    return f"""    model.eval()
    with torch.no_grad():
        z = model(x)
        loss, a = loss_fn(z, y).item(), output(z)
    model.train()
    return loss, ({hits}).double().mean().item()"""


def _training(exp: Experiment) -> str:
    t = exp.train
    l1 = " + l1_penalty(model)" if t.l1 else ""
    l1_function = '''def l1_penalty(model):
    """L1·Σ|W| over the weights of every Linear layer (not the biases)."""
    return L1 * sum(m.weight.abs().sum() for m in model if isinstance(m, nn.Linear))


''' if t.l1 else ""
    early = '''
        if val_loss < best_val - MIN_DELTA:  # a better validation loss: remember these weights
            best_val, best_epoch, best_state = val_loss, epoch, copy.deepcopy(model.state_dict())
        elif epoch - best_epoch >= PATIENCE:
            model.load_state_dict(best_state)
            print(f"early stopping at epoch {epoch}: restored the weights of epoch {best_epoch}")
            break''' if t.early_stopping else ""
    best = "    best_val, best_epoch, best_state = math.inf, 0, None\n" if t.early_stopping else ""
    return f'''# -- the loss, the optimizer and the training loop ----------------------------------
loss_fn = {LOSS_MODULES[t.loss]}


def make_optimizer(model):
    return {_optimizer(exp)}


{l1_function}def to_tensors(x, y):
    x = torch.as_tensor(x, dtype=DTYPE)
    return x, {_targets(exp)}


def evaluate(model, x, y):
    """(loss, accuracy) over a whole set, without dropout and without the L1 term: tuidl's
    per-epoch numbers. (None, None) for an empty set."""
    if len(x) == 0:
        return None, None
{_evaluation(exp)}


def report(label, train, val):
    text = f"{{label}}: train loss {{train[0]:.{{PRINT_DIGITS}}g}}"
    text += "" if val[0] is None else f", val loss {{val[0]:.{{PRINT_DIGITS}}g}}"
    if train[1] is not None:
        text += f", train accuracy {{train[1]:.4f}}"
        text += "" if val[1] is None else f", val accuracy {{val[1]:.4f}}"
    print(text)


def train(model, x_train, y_train, x_val, y_val, epochs=EPOCHS):
    """Mini-batches in a new random order each epoch, then the epoch's losses."""
    optimizer = make_optimizer(model)
    order_rng = torch.Generator().manual_seed(SEED)  # each epoch's batch order, as tuidl draws it
{best}    model.train()
    for epoch in range(1, epochs + 1):
        order = torch.randperm(len(x_train), generator=order_rng)
        for batch in order.split(BATCH_SIZE):
            loss = loss_fn(model(x_train[batch]), y_train[batch]){l1}
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        train_result, val_result = evaluate(model, x_train, y_train), evaluate(model, x_val, y_val)
        report(f"epoch {{epoch}}", train_result, val_result)
        train_loss, val_loss = train_result[0], val_result[0]
        if not math.isfinite(train_loss) or (val_loss is not None and not math.isfinite(val_loss)):
            print(f"diverged at epoch {{epoch}}: the loss is no longer a number (lower LR)")
            break{early}'''


def _main() -> str:
    return '''def main():
    parser = argparse.ArgumentParser(description="Train the network exported from tuidl.")
    parser.add_argument("--epochs", type=int, default=EPOCHS, help="epochs to train")
    parser.add_argument("--save", help="write the trained weights here (a state_dict)")
    parser.add_argument("--load", help="print the losses of these weights instead of training")
    args = parser.parse_args()
    x_train, y_train, x_val, y_val = make_data()
    x_train, y_train = to_tensors(x_train, y_train)
    x_val, y_val = to_tensors(x_val, y_val)
    model = make_model()
    init_weights(model)
    if args.load:
        model.load_state_dict(torch.load(args.load, weights_only=True))
        report(args.load, evaluate(model, x_train, y_train), evaluate(model, x_val, y_val))
        return
    train(model, x_train, y_train, x_val, y_val, args.epochs)
    if args.save:
        torch.save(model.state_dict(), args.save)'''
