"""The `tuidl` command: the app by default, and headless subcommands for scripts."""
from __future__ import annotations

import json
import sys
from dataclasses import asdict

import click

from tuidl import config as cfg
from tuidl.config import ConfigError, Experiment


class AppByDefault(click.Group):
    """`tuidl` and `tuidl FILE.toml` open the app; known words run subcommands."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or (args[0] not in self.commands and args[0] not in ("--help", "-h", "--version")):
            args = ["app", *args]
        return super().parse_args(ctx, args)


def fail(message: str) -> None:
    click.echo(f"tuidl: error: {message}", err=True)
    sys.exit(2)


def load_experiment(path: str | None, **overrides: object) -> tuple[Experiment, str]:
    """The experiment from FILE (or the default one), with command-line overrides applied."""
    source = path or "<default experiment>"
    try:
        exp = cfg.load(path) if path else cfg.default_experiment()
        for key, value in overrides.items():
            if value is not None:
                setattr(exp.train, key, value)
        cfg.validate(exp, source)
    except ConfigError as err:
        fail(str(err))
    return exp, source


def make_trainer(exp: Experiment, source: str):
    from tuidl.engine.trainer import Trainer

    try:
        return Trainer(exp, source=source)
    except ConfigError as err:
        fail(str(err))


@click.group(cls=AppByDefault, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="tuidl")
def main() -> None:
    """tuidl: build a neural network, train it and step through backprop, in the terminal.

    \b
    tuidl                 open the app with the default experiment
    tuidl FILE.toml       open the app with an experiment file
    tuidl train FILE      train headless (progress bar, or --json lines)
    tuidl trace FILE      record training steps phase by phase (--json)
    tuidl bench           this engine against an idiomatic PyTorch loop
    """


@main.command()
@click.argument("file", required=False, type=click.Path(dir_okay=False))
def app(file: str | None) -> None:
    """Open the app (FILE: an experiment .toml; default: the TF Playground network)."""
    exp, source = load_experiment(file)
    from tuidl.ui.app import TuidlApp

    TuidlApp(exp, path=file).run()


@main.command()
@click.argument("file", required=False, type=click.Path(dir_okay=False))
@click.option("--epochs", type=click.IntRange(1, 100_000), help="Override train.epochs.")
@click.option("--device", type=click.Choice(cfg.DEVICES), help="Override train.device.")
@click.option("--seed", type=click.IntRange(0), help="Override train.seed (initial weights, batch order, dropout).")
@click.option("--dtype", type=click.Choice(cfg.DTYPES), help="Override train.dtype.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per epoch, then a summary with \"final\": true.")
@click.option("--save", type=click.Path(dir_okay=False), help="Write the trained experiment (config, weights, optimizer state, history).")
def train(file, epochs, device, seed, dtype, as_json, save) -> None:
    """Train the experiment in FILE (default: the TF Playground network) headless."""
    exp, source = load_experiment(file, epochs=epochs, device=device, seed=seed, dtype=dtype)
    trainer = make_trainer(exp, source)
    if as_json:
        for _ in range(exp.train.epochs):
            record = trainer.train_epoch()
            click.echo(json.dumps(asdict(record)))
            if trainer.status and not trainer.status.startswith("finished"):
                break
    else:
        _train_with_progress(trainer)
    summary = _summary(trainer)
    if save:
        from tuidl.engine.checkpoint import save_checkpoint

        save_checkpoint(trainer, save)
        summary["saved"] = save
    if as_json:
        click.echo(json.dumps(summary))
    else:
        click.echo(_summary_text(summary))
    if trainer.diverged:
        sys.exit(1)


def _train_with_progress(trainer) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    exp = trainer.exp
    columns = [TextColumn("epoch"), MofNCompleteColumn(), BarColumn(), TextColumn("{task.fields[losses]}"), TimeRemainingColumn()]
    with Progress(*columns, transient=False) as progress:
        task = progress.add_task("train", total=exp.train.epochs, losses="")
        for _ in range(exp.train.epochs):
            r = trainer.train_epoch()
            losses = f"loss {r.train_loss:.4f} val {r.val_loss:.4f}"
            if r.val_accuracy is not None:
                losses += f" acc {r.train_accuracy:.3f} val {r.val_accuracy:.3f}"
            progress.update(task, advance=1, losses=losses)
            if trainer.status and not trainer.status.startswith("finished"):
                break


def _summary(trainer) -> dict:
    last = trainer.history[-1]
    return {
        "final": True,
        "epochs": trainer.epoch,
        "train_loss": last.train_loss,
        "val_loss": last.val_loss,
        "train_accuracy": last.train_accuracy,
        "val_accuracy": last.val_accuracy,
        "best_epoch": trainer.best_epoch,
        "status": trainer.status,
        "device": trainer.device_label,
        "seconds": sum(r.seconds for r in trainer.history),
    }


def _summary_text(s: dict) -> str:
    text = f"{s['status']} on {s['device']} in {s['seconds']:.2f} s: train loss {s['train_loss']:.4g}, val loss {s['val_loss']:.4g}"
    if s["val_accuracy"] is not None:
        text += f", train accuracy {s['train_accuracy']:.3f}, val accuracy {s['val_accuracy']:.3f}"
    if "saved" in s:
        text += f"\nsaved to {s['saved']}"
    return text


@main.command()
@click.argument("file", required=False, type=click.Path(dir_okay=False))
@click.option("--steps", type=click.IntRange(1, 10_000), default=1, show_default=True, help="Training steps to record.")
@click.option("--seed", type=click.IntRange(0), help="Override train.seed.")
@click.option("--device", type=click.Choice(cfg.DEVICES), help="Override train.device.")
@click.option("--dtype", type=click.Choice(cfg.DTYPES), help="Override train.dtype.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document (the default is readable text).")
def trace(file, steps, seed, device, dtype, as_json) -> None:
    """Record STEPS training steps from the initial weights, phase by phase."""
    exp, source = load_experiment(file, seed=seed, device=device, dtype=dtype)
    from tuidl.engine.trace import record_steps, trace_document

    try:
        trainer, records = record_steps(exp, steps, source=source)
    except ConfigError as err:
        fail(str(err))
    if as_json:
        click.echo(json.dumps(trace_document(trainer, records)))
    else:
        _print_phases(trainer, records)


def _print_phases(trainer, records) -> None:
    """The same phase texts as the app's step-through panel, one after another."""
    from rich.console import Console

    from tuidl.ui.stepthrough import phases, render_phase

    console = Console()
    console.print(f"{trainer.device_label}, {trainer.exp.train.dtype}")
    for record in records:
        for phase in phases(record):
            console.print()
            console.print(render_phase(record, phase, keys_hint=False))


@main.command()
@click.option("--device", type=click.Choice(("cpu", "cuda", "mps")), default="cpu", show_default=True)
@click.option("--epochs", type=click.IntRange(1), default=30, show_default=True, help="Epochs timed per run.")
@click.option("--repeats", type=click.IntRange(1), default=5, show_default=True, help="Runs per loop; the median is reported.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable results.")
def bench(device, epochs, repeats, as_json) -> None:
    """Epochs/s of this engine against an idiomatic PyTorch loop, same model and data."""
    from tuidl.bench import print_table, run_bench

    try:
        results = run_bench(device=device, epochs=epochs, repeats=repeats)
    except ConfigError as err:
        fail(str(err))
    if as_json:
        click.echo(json.dumps(results))
    else:
        print_table(results)


if __name__ == "__main__":
    main()
