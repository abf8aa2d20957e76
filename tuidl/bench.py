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


class MatrixProducts:
    """Every matrix product of one of `trainer`'s epochs and nothing else: per mini-batch
    [x | 1][W | b]ᵀ of each layer, and backprop's [x | 1]ᵀ δz and δz W; then x Wᵀ over
    both sets for the evaluation. Same shapes, dtype and device, into buffers made once.
    No engine built on torch's products trains an epoch faster, so the idiomatic loop's
    time over this one's is the ceiling of the ratio: what is left between the ratio and
    it is overhead."""

    def __init__(self, trainer: Trainer):
        layers = trainer.network.layers
        n, bs = trainer.x_train.shape[0], trainer.exp.train.batch_size
        self.device = trainer.device
        make = {"device": trainer.device, "dtype": trainer.dtype}

        def product(rows: int, inner: int, columns: int) -> tuple:  # (a, b, out) for a b
            return (torch.randn(rows, inner, **make), torch.randn(inner, columns, **make),
                    torch.empty(rows, columns, **make))

        self.steps = []
        for rows in [bs] * (n // bs) + ([n % bs] if n % bs else []):
            forward = [product(rows, layer.n_in + 1, layer.n_out) for layer in layers]
            backward = [product(layer.n_in + 1, rows, layer.n_out) for layer in reversed(layers)]
            backward += [product(rows, layer.n_out, layer.n_in) for layer in layers[1:]]
            self.steps.append(forward + backward)
        rows = n + trainer.x_val.shape[0]
        self.evaluation = [product(rows, layer.n_in, layer.n_out) for layer in layers]

    def train_epoch(self) -> None:
        for products in (*self.steps, self.evaluation):
            for a, b, out in products:
                torch.mm(a, b, out=out)
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)


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
        idiomatic, products = IdiomaticLoop(trainer), MatrixProducts(trainer)
        for loop in (trainer.train_epoch, idiomatic.train_epoch, products.train_epoch):  # warm-up
            _epochs_per_second(loop, 2)
        ours, theirs, alone = [], [], []
        for _ in range(repeats):
            ours.append(_epochs_per_second(trainer.train_epoch, epochs))
            theirs.append(_epochs_per_second(idiomatic.train_epoch, epochs))
            alone.append(_epochs_per_second(products.train_epoch, epochs))
        ratios = [a / b for a, b in zip(ours, theirs)]
        rows.append(
            {
                "config": name,
                "steps_per_epoch": trainer.batches_per_epoch,
                "tuidl_epochs_per_s": statistics.median(ours),
                "pytorch_epochs_per_s": statistics.median(theirs),
                "ratio": statistics.median(ratios),
                "products_epochs_per_s": statistics.median(alone),
                "ceiling": statistics.median(p / b for p, b in zip(alone, theirs)),
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
        caption="steps per epoch; epochs/s of tuidl, of the idiomatic PyTorch loop and of the epoch's "
        "matrix products alone; ratio: tuidl over PyTorch; ceiling: products alone over PyTorch, "
        "the most a ratio can be",
    )
    table.add_column("configuration")
    for column in ("steps", "tuidl", "PyTorch", "ratio", "products", "ceiling"):
        table.add_column(column, justify="right", no_wrap=True)
    for row in results["results"]:
        table.add_row(
            row["config"],
            str(row["steps_per_epoch"]),
            f"{row['tuidl_epochs_per_s']:.1f}",
            f"{row['pytorch_epochs_per_s']:.1f}",
            f"{row['ratio']:.2f}×",
            f"{row['products_epochs_per_s']:.1f}",
            f"{row['ceiling']:.2f}×",
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


# -- the app: start-up, live training and keys, memory (`--startup`, `--live`, `--memory`) --
# The app runs in child processes (tuidl.bench_startup, tuidl.bench_app): fresh interpreters
# for start-up, and an app process that never imports torch, as `tuidl` itself.

STARTUP_TARGET_S = 0.1  # tuidl's first frame ≤ the bare app's + 0.1 s
LIVE_TARGET = 0.9  # app epochs/s ≥ 90 % of the headless engine's
LIVE_ROUNDS = 3  # app windows, each between two timings of the engine alone
FRAMES_TARGET = 10.0  # frames/s while training
KEY_TARGET_MS = (50.0, 150.0)  # median, p99
HELP_TARGET_MS = 100.0  # median
MEMORY_TARGET_MB = 400.0
MEMORY_NETWORKS = {"TF Playground default, 2→4→2→1": [4, 2], "2→256×4→1": [256, 256, 256, 256]}


def _child(module: str, *args: str, timeout: float = 3600) -> dict:
    """Run `python -m module args` and read the JSON object it prints last."""
    import json
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True, timeout=timeout)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"{module} {' '.join(args)} failed (exit {done.returncode}): {done.stderr[-2000:]}")
    return json.loads(lines[-1])


def _first_frame_seconds(which: str) -> float:
    """From just before a fresh interpreter is started to its first frame painted."""
    start = time.time()  # the child's clock is the same wall clock
    return _child("tuidl.bench_startup", which, timeout=300)["painted_at"] - start


def compile_package() -> None:
    """Write tuidl's bytecode, as `pip install` does: an editable install under
    PYTHONDONTWRITEBYTECODE would otherwise compile every module at every start (some
    0.08 s here), which no installed tuidl does. Quietly nothing where the folder is read-only."""
    import compileall
    from pathlib import Path

    compileall.compile_dir(Path(__file__).parent, quiet=2)


def startup_rows(runs: int = 7) -> dict:
    """Medians of `runs` start-ups each of tuidl and of a bare Textual app, alternating,
    after one unmeasured start-up of each (disk caches), tuidl's bytecode written first."""
    compile_package()
    for which in ("bare", "tuidl"):
        _first_frame_seconds(which)
    bare, ours = [], []
    for _ in range(runs):
        bare.append(_first_frame_seconds("bare"))
        ours.append(_first_frame_seconds("tuidl"))
    b, t = statistics.median(bare), statistics.median(ours)
    return {"runs": runs, "bare_s": b, "tuidl_s": t, "difference_s": t - b,
            "target_difference_s": STARTUP_TARGET_S, "met": t - b <= STARTUP_TARGET_S}


def _engine_rate(seconds: float) -> float:
    """Epochs/s of Trainer.train_epoch on the TF Playground default, alone, for `seconds`."""
    exp = cfg.default_experiment()
    exp.train.epochs = cfg.MAX_EPOCHS
    trainer = Trainer(exp)
    _epochs_per_second(trainer.train_epoch, 2)  # warm-up
    start, epochs = time.perf_counter(), 0
    while time.perf_counter() - start < seconds:
        trainer.train_epoch()
        epochs += 1
    return epochs / (time.perf_counter() - start)


def live_rows(seconds: float = 3.0, keys: int = 100, help_presses: int = 20, rounds: int = LIVE_ROUNDS) -> dict:
    """The app headless on the default with its training process (tuidl.bench_app live), in
    `rounds` rounds: each times the app for `seconds` between two timings of the headless
    engine in this process (their mean is the round's reference). This machine's speed moves
    from one half-minute to the next; the medians over the rounds are the figures. The first
    round's app also times the keys."""
    configure_cpu_threads()
    runs = []
    for i in range(rounds):
        before = _engine_rate(seconds)
        app = _child("tuidl.bench_app", "live", "--seconds", str(seconds), "--keys", str(keys if i == 0 else 0),
                     "--help-presses", str(help_presses if i == 0 else 0))
        after = _engine_rate(seconds)
        runs.append({"engine_before": before, "engine_after": after, "app_epochs_per_s": app["app_epochs_per_s"],
                     "frames_per_s": app["frames_per_s"], "app_cpu_share": app["app_cpu_share"],
                     "terminal_kb_per_s": app["terminal_kb_per_s"],
                     "share": app["app_epochs_per_s"] / ((before + after) / 2)})
        if i == 0:
            first = app

    def median(key: str) -> float:
        return statistics.median(r[key] for r in runs)

    share = median("share")
    result = {**first, "rounds": runs, "app_epochs_per_s": median("app_epochs_per_s"),
              "frames_per_s": median("frames_per_s"), "app_share_of_engine": share,
              "app_cpu_share": median("app_cpu_share"), "terminal_kb_per_s": median("terminal_kb_per_s"),
              "engine_epochs_per_s": statistics.median((r["engine_before"] + r["engine_after"]) / 2 for r in runs)}
    checks = {
        "epochs": share >= LIVE_TARGET,
        "frames": result["frames_per_s"] >= FRAMES_TARGET,
    }
    for when in ("training", "idle"):
        tab, opened = first[when]["tab_key"], first[when]["help_opens"]
        checks[f"{when}_key"] = tab["n"] > 0 and tab["median_ms"] <= KEY_TARGET_MS[0] and tab["p99_ms"] <= KEY_TARGET_MS[1]
        checks[f"{when}_help"] = opened["n"] > 0 and opened["median_ms"] <= HELP_TARGET_MS
    return {**result, "met": checks}


def memory_rows(epochs: int = 2000) -> list[dict]:
    """Peak resident memory of the app's process and of its training process, each network
    trained in the app (headless) until `epochs`."""
    rows = []
    for name, hidden in MEMORY_NETWORKS.items():
        row = _child("tuidl.bench_app", "memory", "--hidden", ",".join(map(str, hidden)), "--epochs", str(epochs))
        peaks = [p for p in (row["app_peak_mb"], row["training_peak_mb"]) if p is not None]
        rows.append({**row, "network": name, "target_mb": MEMORY_TARGET_MB,
                     "met": all(p <= MEMORY_TARGET_MB for p in peaks)})
    return rows


def _met(ok: bool) -> str:
    return "[green]yes[/]" if ok else "[red]no[/]"


def _ms(stats: dict, key: str) -> str:
    return "–" if stats[key] is None else f"{stats[key]:.0f} ms"


def print_app_tables(results: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if "startup" in results:
        s = results["startup"]
        table = Table(title=f"start-up: process start → first frame (headless), median of {s['runs']} fresh processes")
        for column in ("app", "first frame", "target", "met"):
            table.add_column(column, justify="left" if column == "app" else "right")
        table.add_row("bare Textual app (Static + Footer)", f"{s['bare_s']:.3f} s", "", "")
        table.add_row("tuidl", f"{s['tuidl_s']:.3f} s", f"≤ bare + {s['target_difference_s']} s", "")
        table.add_row("tuidl − bare", f"{s['difference_s']:+.3f} s", f"≤ {s['target_difference_s']} s", _met(s["met"]))
        console.print(table)
    if "live" in results:
        live = results["live"]
        met = live["met"]
        table = Table(title=f"live: the app headless ({live['terminal']}) training the default with its training "
                      f"process: medians of {len(live['rounds'])} rounds of {live['window_s']:.1f} s, each between "
                      "two timings of the engine alone")
        for column in ("measure", "figure", "target", "met"):
            table.add_column(column, justify="left" if column == "measure" else "right")
        table.add_row("epochs/s in the app (display live)", f"{live['app_epochs_per_s']:.1f}", "", "")
        table.add_row("epochs/s of the engine alone", f"{live['engine_epochs_per_s']:.1f}", "", "")
        rounds = ", ".join(f"{100 * r['share']:.0f}" for r in live["rounds"])
        table.add_row(f"app / engine (median of {rounds} %)", f"{100 * live['app_share_of_engine']:.0f} %",
                      f"≥ {100 * LIVE_TARGET:.0f} %", _met(met["epochs"]))
        table.add_row("frames/s drawn while training", f"{live['frames_per_s']:.1f}", f"≥ {FRAMES_TARGET:.0f}",
                      _met(met["frames"]))
        cpu = live["app_cpu_share"]
        table.add_row("the app's own CPU while training (of one core; a frame)",
                      f"{100 * cpu:.0f} %; {1000 * cpu / live['frames_per_s']:.1f} ms", "", "")
        table.add_row("terminal text sent while training (truecolor)", f"{live['terminal_kb_per_s']:.0f} kB/s", "", "")
        for when in ("training", "idle"):
            tab, opened, closed = (live[when][k] for k in ("tab_key", "help_opens", "help_closes"))
            table.add_row(f"key → tab shown, {when} (median / p99 of {tab['n']})",
                          f"{_ms(tab, 'median_ms')} / {_ms(tab, 'p99_ms')}",
                          f"≤ {KEY_TARGET_MS[0]:.0f} / {KEY_TARGET_MS[1]:.0f} ms", _met(met[f"{when}_key"]))
            table.add_row(f"? → help shown, {when} (median / max of {opened['n']})",
                          f"{_ms(opened, 'median_ms')} / {_ms(opened, 'max_ms')}",
                          f"≤ {HELP_TARGET_MS:.0f} ms", _met(met[f"{when}_help"]))
            table.add_row(f"escape → help closed, {when} (median / max)",
                          f"{_ms(closed, 'median_ms')} / {_ms(closed, 'max_ms')}", "", "")
        console.print(table)
    if "memory" in results:
        table = Table(title="memory: peak resident memory after training in the app (headless)")
        for column in ("network", "epochs", "app process", "training process", "target", "met"):
            table.add_column(column, justify="left" if column == "network" else "right")
        for row in results["memory"]:
            trainer = "–" if row["training_peak_mb"] is None else f"{row['training_peak_mb']:.0f} MB"
            table.add_row(row["network"], str(row["epochs"]), f"{row['app_peak_mb']:.0f} MB", trainer,
                          f"≤ {row['target_mb']:.0f} MB each", _met(row["met"]))
        console.print(table)
