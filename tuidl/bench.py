"""`tuidl bench`: this engine against the idiomatic PyTorch loop on the same model and data.

Both loops do the same work per epoch: shuffle, one optimizer step per mini-batch, then
the loss and accuracy of the training and validation sets. Runs alternate between the
two loops so that machine noise hits both alike; the median of the runs is reported.
"""
from __future__ import annotations

import statistics
import time

import torch
from torch import nn

from tuidl import config as cfg
from tuidl.engine.devices import configure_cpu_threads, describe
from tuidl.engine.trainer import Trainer

CONFIGS = {
    "playground 2→4→2→1 tanh, batch 10": ([4, 2], "tanh", 10),
    "2→8×4→1 tanh, batch 10": ([8, 8, 8, 8], "tanh", 10),
    "2→128×3→1 relu, batch 32": ([128, 128, 128], "relu", 32),
    "digits 64→128→64→10 relu, batch 64": ([128, 64], "relu", 64, "digits"),
}


def experiment(hidden: list[int], activation: str, batch_size: int, device: str,
               dataset: str = "circle") -> cfg.Experiment:
    exp = cfg.change_dataset(cfg.default_experiment(), dataset)  # digits: all 1,797 images, ce
    exp.model.hidden = [cfg.Layer(units, activation) for units in hidden]
    exp.train.batch_size = batch_size
    exp.train.device = device
    return exp


class IdiomaticLoop:
    """What a PyTorch tutorial writes: nn.Sequential, autograd, torch.optim, torch's loss."""

    def __init__(self, trainer: Trainer):
        exp, layers = trainer.exp, []
        sizes = [trainer.x_train.shape[1], *(h.units for h in exp.model.hidden), cfg.output_units(exp)]
        acts = {"tanh": nn.Tanh, "relu": nn.ReLU}
        for i in range(len(sizes) - 1):
            layers.append(nn.Linear(sizes[i], sizes[i + 1]))
            if i < len(sizes) - 2:
                layers.append(acts[exp.model.hidden[i].activation]())
        self.model = nn.Sequential(*layers).to(trainer.device, trainer.dtype)
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=exp.train.lr)
        self.classes = exp.train.loss == "ce"  # else bce
        self.criterion = nn.CrossEntropyLoss() if self.classes else nn.BCEWithLogitsLoss()
        self.trainer, self.batch_size = trainer, exp.train.batch_size
        self.generator = torch.Generator().manual_seed(exp.train.seed)

    def train_epoch(self) -> None:
        t = self.trainer
        order = torch.randperm(t.x_train.shape[0], generator=self.generator).to(t.device)
        x, y = t.x_train[order], t.y_train[order]
        self.model.train()
        for xb, yb in zip(x.split(self.batch_size), y.split(self.batch_size)):
            self.optimizer.zero_grad()
            loss = self.criterion(self.model(xb), yb)
            loss.backward()
            self.optimizer.step()
        self.model.eval()
        with torch.no_grad():
            for xs, ys in ((t.x_train, t.y_train), (t.x_val, t.y_val)):
                logits = self.model(xs)
                float(self.criterion(logits, ys))
                hits = (logits.argmax(dim=1) == ys) if self.classes else ((logits >= 0) == (ys >= 0.5))
                float(hits.double().mean())


def _epochs_per_second(train_epoch, epochs: int) -> float:
    start = time.perf_counter()
    for _ in range(epochs):
        train_epoch()
    return epochs / (time.perf_counter() - start)


def run_bench(device: str = "cpu", epochs: int = 30, repeats: int = 5) -> dict:
    configure_cpu_threads()
    rows = []
    for name, (hidden, activation, batch_size, *dataset) in CONFIGS.items():
        trainer = Trainer(experiment(hidden, activation, batch_size, device, *dataset))
        idiomatic = IdiomaticLoop(trainer)
        for loop in (trainer.train_epoch, idiomatic.train_epoch):  # warm-up
            _epochs_per_second(loop, 2)
        ours, theirs = [], []
        for _ in range(repeats):
            ours.append(_epochs_per_second(trainer.train_epoch, epochs))
            theirs.append(_epochs_per_second(idiomatic.train_epoch, epochs))
        ratios = [a / b for a, b in zip(ours, theirs)]
        rows.append(
            {
                "config": name,
                "steps_per_epoch": trainer.batches_per_epoch,
                "tuidl_epochs_per_s": statistics.median(ours),
                "pytorch_epochs_per_s": statistics.median(theirs),
                "ratio": statistics.median(ratios),
            }
        )
    return {
        "device": describe(trainer.device),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "epochs_per_run": epochs,
        "repeats": repeats,
        "results": rows,
        "races": race_rows(device, epochs, repeats),
    }


RACES = {  # name: the settings varied, on the TF Playground default
    "6 learning rates": {"lr": [0.003, 0.01, 0.03, 0.1, 0.3, 1.0]},
    "the 5 optimizers": {"optimizer": ["sgd", "adam", "rmsprop", "adagrad", "adadelta"]},
}


def _seconds(train_epoch, epochs: int) -> float:
    start = time.perf_counter()
    for _ in range(epochs):
        train_epoch()
    return time.perf_counter() - start


def race_rows(device: str = "cpu", epochs: int = 30, repeats: int = 5) -> list[dict]:
    """A race (tuidl.engine.race) against its variants trained one after the other, and
    against one lone run of the TF Playground default: the medians of `repeats` runs of
    `epochs` epochs, alternating. "race / one run" is the cost of the race in lone runs."""
    from tuidl.engine.race import Race

    rows = []
    for name, vary in RACES.items():
        exp = experiment([4, 2], "tanh", 10, device)
        exp.train.epochs = cfg.MAX_EPOCHS  # none stops while timed
        race = Race(exp, vary)
        lone = [Trainer(variant) for _, _, variant in race.variants]
        one = Trainer(exp)
        for loop in (race.train_epoch, one.train_epoch, *(t.train_epoch for t in lone)):  # warm-up
            _seconds(loop, 2)
        raced, alone, ones = [], [], []
        for _ in range(repeats):
            raced.append(_seconds(race.train_epoch, epochs))
            alone.append(sum(_seconds(t.train_epoch, epochs) for t in lone))
            ones.append(_seconds(one.train_epoch, epochs))
        rows.append({
            "race": name,
            "variants": len(race.variants),
            "race_epochs_per_s": epochs / statistics.median(raced),
            "one_run_epochs_per_s": epochs / statistics.median(ones),
            "race_over_one_run": statistics.median(r / o for r, o in zip(raced, ones)),
            "lone_runs_over_race": statistics.median(a / r for a, r in zip(alone, raced)),
        })
    return rows


def print_table(results: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(
        title=f"tuidl bench on {results['device']}, torch {results['torch']}, "
        f"median of {results['repeats']} runs × {results['epochs_per_run']} epochs",
    )
    table.add_column("configuration")
    table.add_column("steps/epoch", justify="right")
    table.add_column("tuidl epochs/s", justify="right")
    table.add_column("idiomatic PyTorch epochs/s", justify="right")
    table.add_column("ratio", justify="right")
    for row in results["results"]:
        table.add_row(
            row["config"],
            str(row["steps_per_epoch"]),
            f"{row['tuidl_epochs_per_s']:.1f}",
            f"{row['pytorch_epochs_per_s']:.1f}",
            f"{row['ratio']:.2f}×",
        )
    Console().print(table)
    if results.get("races"):
        races = Table(title="tuidl race on the TF Playground default: the variants' epochs together")
        for column in ("race of", "race epochs/s", "one run epochs/s", "race / one run", "lone runs / race"):
            races.add_column(column, justify="left" if column == "race of" else "right", no_wrap=column == "race of")
        for row in results["races"]:
            races.add_row(row["race"], f"{row['race_epochs_per_s']:.1f}",
                          f"{row['one_run_epochs_per_s']:.1f}", f"{row['race_over_one_run']:.2f}×",
                          f"{row['lone_runs_over_race']:.2f}×")
        Console().print(races)
