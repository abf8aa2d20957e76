"""The `tuidl` command: the app by default, and headless subcommands for scripts."""
from __future__ import annotations

import json
import signal
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
    """The experiment from FILE (an experiment or a checkpoint's), or the default one, with
    command-line overrides applied."""
    exp, source, _ = open_file(path, **overrides)
    return exp, source


def as_lesson(path: str | None):
    """The lesson that FILE names: a lesson's NAME that is not an existing path; else None."""
    from pathlib import Path

    from tuidl import lessons

    if not path or Path(path).exists():
        return None
    return lessons.find(path)


def is_csv(path: str) -> bool:
    """A data file given as FILE: its last column is what the default network learns."""
    return path.lower().endswith(".csv")


def open_file(path: str | None, **overrides: object) -> tuple[Experiment, str, bool]:
    """(experiment, source, FILE is a checkpoint). FILE may also be a lesson's NAME (when no
    file has that name). A file that is neither an experiment nor a checkpoint, or a bad
    one, ends the command with one line naming it and status 2; so does a missing file that
    is no lesson either (the line lists the lessons).
    `seed` cannot be overridden for a checkpoint: its weights and random state are saved."""
    from tuidl.engine.checkpoint import file_kind, not_ours_message, read_checkpoint_experiment, unreadable_message

    source = path or "<default experiment>"
    kind = file_kind(path) if path else "default"
    if kind == "folder":
        fail(f"{path}: is a folder: give an experiment file (.toml), a checkpoint or a lesson's name")
    if kind == "unreadable":
        fail(unreadable_message(path))
    if kind == "missing":
        lesson = as_lesson(path)
        if lesson is None:
            from tuidl.lessons import ORDER

            fail(f"{path}: no such file, and no lesson by that name (lessons: {', '.join(ORDER)})")
        path, source, kind = str(lesson.toml_path), f"lesson {lesson.name}", "experiment"
    if kind == "other":
        fail(not_ours_message(path))
    if kind == "checkpoint" and overrides.get("seed") is not None:
        fail(f"{path}: a checkpoint resumes its run: --seed does not apply (its weights and random state are saved in it)")
    try:
        if kind == "checkpoint":
            exp = read_checkpoint_experiment(path)
        else:
            exp = (cfg.load_csv(path) if is_csv(path) else cfg.load(path)) if path else cfg.default_experiment()
        for key, value in overrides.items():
            if value is not None:
                setattr(exp.train, key, value)
        cfg.validate(exp, source)
    except ConfigError as err:
        fail(str(err))
    return exp, source, kind == "checkpoint"


def make_trainer(exp: Experiment, source: str, checkpoint: str | None = None):
    """A new trainer, or with `checkpoint` one that goes on where the checkpoint stopped."""
    try:
        if checkpoint:
            from tuidl.engine.checkpoint import load_checkpoint

            return load_checkpoint(checkpoint, exp)
        from tuidl.engine.trainer import Trainer

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
    tuidl CHECKPOINT      open the app on a checkpoint, where it stopped
    tuidl DATA.csv        open the app on a CSV: its last column is the target
    tuidl lessons         list the lessons (the lecture, step by step)
    tuidl lesson NAME     open the app on a lesson; FILE may be a lesson's NAME anywhere
    tuidl train FILE      train headless (progress bar, or --json lines)
    tuidl trace FILE      record training steps phase by phase (--json)
    tuidl gradcheck FILE  backprop's gradients against finite differences
    tuidl race FILE       variants (--vary lr=0.01,0.1) trained side by side
    tuidl export FILE     a standalone PyTorch script (--code) and weights (--weights)
    tuidl bench           this engine against an idiomatic PyTorch loop
    tuidl serve [FILE]    the app in a web browser (textual-serve), on 127.0.0.1:8000
    """


@main.command()
@click.argument("file", required=False, type=click.Path())  # a folder is said in one line by open_file
def app(file: str | None) -> None:
    """Open the app (FILE: an experiment .toml, or a checkpoint written by `tuidl train
    --save`, opened where it stopped; default: the TF Playground network)."""
    exp, source, is_checkpoint = open_file(file)
    from tuidl.ui.app import TuidlApp

    lesson = as_lesson(file)
    if lesson is not None:  # a lesson's NAME: its text beside the views
        run_app(TuidlApp(exp, path=None, lesson=lesson))
    run_app(TuidlApp(exp, path=file, checkpoint=file if is_checkpoint else None))


def run_app(app) -> None:
    """Run the app; a crash (Textual prints its traceback) ends the command with status 1."""
    app.run()
    sys.exit(app.return_code or 0)


@main.command("lessons")
def list_lessons() -> None:
    """List the lessons, in teaching order: NAME and title, one a line."""
    from tuidl.lessons import all_lessons

    shipped = all_lessons()
    width = max(len(lesson.name) for lesson in shipped)
    for lesson in shipped:
        click.echo(f"{lesson.name:<{width}}  {lesson.title}")


@main.command("lesson")
@click.argument("name")
def open_lesson(name: str) -> None:
    """Open the app on lesson NAME (see `tuidl lessons`), its text beside the views.

    Every command that takes FILE takes a lesson's NAME too: `tuidl trace perceptron`.
    """
    from tuidl import lessons

    try:
        exp, lesson = lessons.load(name)
    except lessons.UnknownLesson as err:
        fail(str(err))
    except ConfigError as err:
        fail(str(err))
    from tuidl.ui.app import TuidlApp

    run_app(TuidlApp(exp, path=None, lesson=lesson))


@main.command()
@click.argument("file", required=False, type=click.Path())  # a folder is said in one line by open_file
@click.option("--epochs", type=click.IntRange(1, 100_000),
              help="Override train.epochs: the epoch to train until (for a checkpoint too: the total, not a count to add).")
@click.option("--device", type=click.Choice(cfg.DEVICES), help="Override train.device.")
@click.option("--seed", type=click.IntRange(0), help="Override train.seed (initial weights, batch order, dropout); not for a checkpoint.")
@click.option("--dtype", type=click.Choice(cfg.DTYPES), help="Override train.dtype.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per epoch trained, then a summary with \"final\": true.")
@click.option("--save", type=click.Path(), help="Write a checkpoint (experiment, weights, optimizer state, history, random state): `tuidl train CHECKPOINT` goes on from it, `tuidl CHECKPOINT` opens it in the app.")
def train(file, epochs, device, seed, dtype, as_json, save) -> None:
    """Train the experiment in FILE (default: the TF Playground network) headless.

    FILE may be a checkpoint written by --save: training goes on exactly where it stopped
    (weights, optimizer state, batch order, random state), until epoch --epochs (default:
    the checkpoint's train.epochs). Epochs 31-60 of a 30-epoch checkpoint resumed with
    --epochs 60 have the losses of an unbroken 60-epoch run.
    """
    with StopOnSignals() as stop:  # from here on ctrl+c (SIGINT) and SIGTERM stop training, never a traceback
        _train(file, epochs, device, seed, dtype, as_json, save, stop)
    if stop.requested:
        sys.exit(128 + stop.signum)  # the shell's status for a signal: 130 for ctrl+c, 143 for SIGTERM


def _train(file, epochs, device, seed, dtype, as_json, save, stop: StopOnSignals) -> None:
    exp, source, is_checkpoint = open_file(file, device=device, seed=seed, dtype=dtype)
    if save:
        check_save_path(save)
    if epochs is not None:
        exp.train.epochs = epochs
    trainer = make_trainer(exp, source, checkpoint=file if is_checkpoint else None)
    resumed_from = trainer.epoch if is_checkpoint else None
    if is_checkpoint and trainer.status is not None:
        if trainer.finished:
            fail(f"{file}: already trained {trainer.epoch} epochs: pass --epochs with a larger total to go on")
        fail(f"{file}: {trainer.status}: nothing to go on with")
    try:
        if as_json:
            while trainer.status is None and not stop.requested:
                record = trainer.train_epoch(stop=stop.asked)
                if record is not None:
                    click.echo(json.dumps(asdict(record)))
        else:
            _train_with_progress(trainer, stop)
    except (RuntimeError, MemoryError) as err:  # torch's: out of memory on the device, …
        fail_training(trainer, err)
    summary = _summary(trainer)
    summary["resumed_from"] = resumed_from
    summary["interrupted"] = stop.requested
    if stop.requested and trainer.status is None:
        summary["status"] = _interrupted(trainer, stop)
    if save:
        from tuidl.engine.checkpoint import save_checkpoint

        try:
            save_checkpoint(trainer, save)
        except OSError as err:
            fail(f"{save}: cannot write the checkpoint: {err}")
        summary["saved"] = save
    if as_json:
        click.echo(json.dumps(summary))
    else:
        click.echo(_summary_text(summary))
    if trainer.diverged:
        sys.exit(1)


def _interrupted(trainer, stop: StopOnSignals) -> str:
    """Where a signal stopped the run: after an epoch, or after a batch within one."""
    by = "" if stop.signum == signal.SIGINT else f" by {signal.Signals(stop.signum).name}"
    if trainer.batch_in_epoch:
        return (f"interrupted{by} after batch {trainer.batch_in_epoch} of {trainer.batches_per_epoch} "
                f"of epoch {trainer.epoch + 1}")
    return f"interrupted{by} at epoch {trainer.epoch}"


def fail_training(trainer, err: Exception) -> None:
    """Training broke (torch raised): one line, status 1; out of memory says what to make smaller."""
    from tuidl.engine.faults import is_out_of_memory, out_of_memory_message

    where = f"epoch {trainer.epoch + 1}"
    if is_out_of_memory(err):
        click.echo(f"tuidl: error: {out_of_memory_message(trainer.device_label, where)} (--device cpu)", err=True)
    else:
        click.echo(f"tuidl: error: training stopped in {where}: {type(err).__name__}: {err}".splitlines()[0], err=True)
    sys.exit(1)


def check_save_path(save: str) -> None:
    """--save PATH, checked before training: a checkpoint replaces only a checkpoint (never an
    experiment file or anything else), in a folder that is there."""
    import os

    from tuidl.engine.checkpoint import file_kind

    kind = file_kind(save)
    if kind == "folder":
        fail(f"{save}: is a folder: --save takes a file name, e.g. {os.path.join(save, 'run.ckpt')}")
    if kind not in ("missing", "checkpoint"):
        what = "an experiment file" if kind == "experiment" else "not a tuidl checkpoint"
        fail(f"{save}: exists and is {what}: --save replaces only a checkpoint; give another file name")
    folder = os.path.dirname(os.path.abspath(save))
    if not os.path.isdir(folder):
        fail(f"{save}: no folder {os.path.dirname(save) or folder} to save the checkpoint in")


class StopOnSignals:
    """ctrl+c (SIGINT) or SIGTERM ends training after the mini-batch under way, so that what
    was trained is summed up and saved (--save); a second one aborts at once (a save under
    way leaves the previous checkpoint whole)."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __enter__(self) -> StopOnSignals:
        self.requested = False
        self.signum = 0
        self._previous = {sig: signal.signal(sig, self._stop) for sig in self.SIGNALS}
        return self

    def asked(self) -> bool:
        return self.requested

    def _stop(self, signum, frame) -> None:
        if self.requested:
            click.echo("tuidl: aborted", err=True)
            sys.exit(128 + signum)
        self.requested, self.signum = True, signum
        click.echo("tuidl: stopping after this batch (ctrl+c again to abort)", err=True)

    def __exit__(self, *exc) -> None:
        for sig, previous in self._previous.items():
            signal.signal(sig, previous)


def _train_with_progress(trainer, stop: StopOnSignals) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    exp = trainer.exp
    columns = [TextColumn("epoch"), MofNCompleteColumn(), BarColumn(), TextColumn("{task.fields[losses]}"), TimeRemainingColumn()]
    with Progress(*columns, transient=False) as progress:
        task = progress.add_task("train", total=exp.train.epochs, completed=trainer.epoch, losses="")
        while trainer.status is None and not stop.requested:
            r = trainer.train_epoch(stop=stop.asked)
            if r is None:  # stopped within the epoch
                break
            losses = f"loss {r.train_loss:.4f}" + ("" if r.val_loss is None else f" val {r.val_loss:.4f}")
            if r.val_accuracy is not None:
                losses += f" acc {r.train_accuracy:.3f} val {r.val_accuracy:.3f}"
            progress.update(task, completed=trainer.epoch, losses=losses)


def _summary(trainer) -> dict:
    """The run as it ends: the last epoch's figures, or, stopped within an epoch (a signal),
    those of the weights it stopped with, which --save writes."""
    if trainer.history and not trainer.batch_in_epoch:
        last = trainer.history[-1]
        figures = (last.train_loss, last.val_loss, last.train_accuracy, last.val_accuracy, last.train_r2, last.val_r2)
    else:
        train_loss, train_accuracy, val_loss, val_accuracy = trainer.evaluate_both()
        figures = (train_loss, val_loss, train_accuracy, val_accuracy, *trainer.fit_of(train_loss, val_loss))
    return {
        "final": True,
        "epochs": trainer.epoch,
        "steps": trainer.step_count,
        "batch_in_epoch": trainer.batch_in_epoch,
        **dict(zip(("train_loss", "val_loss", "train_accuracy", "val_accuracy", "train_r2", "val_r2"), figures)),
        "best_epoch": trainer.best_epoch,
        "status": trainer.status,
        "device": trainer.device_label,
        "seconds": sum(r.seconds for r in trainer.history),
        "divergence": trainer.divergence.to_dict() if trainer.divergence is not None else None,
    }


def _summary_text(s: dict) -> str:
    text = f"{s['status']} on {s['device']} in {s['seconds']:.2f} s: train loss {s['train_loss']:.4g}"
    text += " (no validation set)" if s["val_loss"] is None else f", val loss {s['val_loss']:.4g}"
    if s["train_accuracy"] is not None:
        text += f", train accuracy {s['train_accuracy']:.3f}"
    if s["val_accuracy"] is not None:
        text += f", val accuracy {s['val_accuracy']:.3f}"
    for key, name in (("train_r2", "train R²"), ("val_r2", "val R²")):
        if s.get(key) is not None:
            text += f", {name} {s[key]:.3f}"
    if s.get("resumed_from") is not None:
        text += f"\nresumed at epoch {s['resumed_from']}"
    if "saved" in s:
        text += f"\nsaved to {s['saved']}"
    return text


@main.command()
@click.argument("file", required=False, type=click.Path())  # a folder is said in one line by open_file
@click.option("--steps", type=click.IntRange(1, 10_000), default=1, show_default=True, help="Training steps to record.")
@click.option("--seed", type=click.IntRange(0), help="Override train.seed.")
@click.option("--device", type=click.Choice(cfg.DEVICES), help="Override train.device.")
@click.option("--dtype", type=click.Choice(cfg.DTYPES), help="Override train.dtype.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document (the default is readable text).")
def trace(file, steps, seed, device, dtype, as_json) -> None:
    """Record STEPS training steps from the initial weights, phase by phase.

    FILE may be a checkpoint written by `tuidl train --save`: the steps then go on from its
    weights, optimizer state and batch order (the steps the app takes on that checkpoint).
    """
    exp, source, is_checkpoint = open_file(file, seed=seed, device=device, dtype=dtype)
    from tuidl.engine.trace import record_steps, trace_document

    if is_checkpoint:
        trainer = make_trainer(exp, source, checkpoint=file)
        records = [trainer.step() for _ in range(steps)]
    else:
        try:
            trainer, records = record_steps(exp, steps, source=source)
        except ConfigError as err:
            fail(str(err))
    if as_json:
        click.echo(json.dumps(trace_document(trainer, records)))
    else:
        _print_phases(trainer, records)


def _print_phases(trainer, records) -> None:
    """The same phase texts as the app's step-through panel, one after another, as plain text."""
    import shutil

    from tuidl.explain import step_text

    width = shutil.get_terminal_size((100, 24)).columns
    click.echo(f"{trainer.device_label}, {trainer.exp.train.dtype}")
    for record in records:
        click.echo("\n" + step_text(record, width))


@main.command()
@click.argument("file", required=False, type=click.Path())  # a folder is said in one line by open_file
@click.option("--steps", type=click.IntRange(1, 100), default=1, show_default=True,
              help="Training steps to check, each at the weights before it.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON document.")
def gradcheck(file, steps, as_json) -> None:
    """Check backprop's gradients against central finite differences, in float64.

    For every weight and bias, (L(w + h) − L(w − h)) / 2h of the step's loss (dropout masks
    held fixed) is set against the gradient the engine's backward pass computed; per layer
    and parameter, the largest and median relative error and the worst entry. Exit status
    1 when an error exceeds the tolerance printed, 0 when all agree. FILE may be a
    checkpoint: the check then starts at its weights.
    """
    exp, source, is_checkpoint = open_file(file)
    from tuidl.engine.gradcheck import gradient_check

    trainer = make_trainer(exp, source, checkpoint=file) if is_checkpoint else None
    try:
        report = gradient_check(exp, steps=steps, source=source, trainer=trainer)
    except ConfigError as err:
        fail(str(err))
    except ValueError as err:
        fail(f"{source}: {err}")
    if as_json:
        click.echo(json.dumps(report.to_dict()))
    else:
        from rich.console import Console

        from tuidl.explain.gradcheck import report_renderable

        Console().print(report_renderable(report))
    sys.exit(0 if report.passed else 1)


@main.command()
@click.argument("file", required=False, type=click.Path())  # a folder is said in one line by open_file
@click.option("--vary", "vary", multiple=True, metavar="KEY=V1,V2",
              help="A setting and its values (optimizer, lr, batch_size, activation, dropout, l1, init or an optimizer "
                   "option such as momentum); repeat it: the variants are the product of the lists, at most 8. "
                   "Without it, the file's [race] section.")
@click.option("--epochs", type=click.IntRange(1, 100_000), help="Override train.epochs.")
@click.option("--device", type=click.Choice(cfg.DEVICES), help="Override train.device.")
@click.option("--dtype", type=click.Choice(cfg.DTYPES), help="Override train.dtype.")
@click.option("--json", "as_json", is_flag=True,
              help="One JSON object per epoch per variant (\"variant\", \"settings\" and the keys of `tuidl train --json`), "
                   "then the table with \"final\": true.")
def race(file, vary, epochs, device, dtype, as_json) -> None:
    """Race variants of the experiment in FILE, trained side by side from the same start.

    \b
    tuidl race FILE --vary optimizer=sgd,adam,rmsprop --vary lr=0.01,0.1

    or, in FILE, a [race] section with the same keys: optimizer = ["sgd", "adam"].
    Every variant starts from the same initial weights and sees the same batches in the
    same order; they train together, in the same tensor ops, and each gives the losses
    `tuidl train` gives that variant alone. A variant that diverges stops alone. Exit
    status 1 when every variant diverged.
    """
    exp, source, is_checkpoint = open_file(file, device=device, dtype=dtype)
    if is_checkpoint:
        fail(f"{file}: a race starts from the initial weights: give an experiment file, not a checkpoint")
    if epochs is not None:
        exp.train.epochs = epochs
    from tuidl.engine.race import RaceError, make_race, parse_vary

    if not vary and not exp.race:
        fail(f"{source}: nothing to race: give --vary KEY=V1,V2 or a [race] section in the file")
    try:
        the_race = make_race(exp, parse_vary(list(vary)) if vary else exp.race, source)
    except RaceError as err:
        fail(str(err))
    if as_json:
        def show(records) -> None:
            for (name, settings, _), record in zip(the_race.variants, records):
                if record is not None:
                    click.echo(json.dumps({"variant": name, "settings": settings, **asdict(record)}))

        the_race.run(on_epoch=show)
        click.echo(json.dumps({"final": True, "device": the_race.device_label, "epochs": the_race.epoch,
                               "seconds": the_race.seconds, "variants": the_race.table()}))
    else:
        _race_with_progress(the_race)
        from rich.console import Console

        console = Console()
        if not console.is_terminal:  # piped: the whole table, not cut to 80 columns
            console = Console(width=200)
        console.print(_race_table(the_race))
    if all(t.diverged for t in the_race.trainers):
        sys.exit(1)


def _race_with_progress(the_race) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    total = max(v_exp.train.epochs for _, _, v_exp in the_race.variants)
    columns = [TextColumn("epoch"), MofNCompleteColumn(), BarColumn(), TextColumn("{task.fields[running]}"),
               TimeRemainingColumn()]
    with Progress(*columns, transient=True) as progress:
        task = progress.add_task("race", total=total, running="")
        while not the_race.finished:
            the_race.train_epoch()
            running = sum(s is None for s in the_race.status)
            progress.update(task, completed=the_race.epoch, running=f"{running} of {len(the_race.variants)} running")


def _race_table(the_race):
    import re

    from rich import box
    from rich.table import Table

    def num(v, fmt=".4f"):
        return "–" if v is None else format(v, fmt)

    def short(status):  # "diverged at epoch 5, step 118: ..." -> "diverged e5"
        if status is None:
            return "running"
        m = re.search(r"at epoch (\d+)", status)
        if status.startswith("diverged"):
            return f"diverged e{m.group(1)}" if m else "diverged"
        if status.startswith("early stopping"):
            return f"early stop e{m.group(1)}" if m else "early stop"
        return "finished" if status.startswith("finished") else status.split(":")[0]

    table = Table(title=f"race of {len(the_race.variants)} on {the_race.device_label}, {the_race.seconds:.2f} s",
                  box=box.SIMPLE_HEAD, padding=(0, 1))
    table.add_column("variant", no_wrap=True)
    for column in ("epochs", "loss", "best", "val loss", "best", "val acc", "best"):
        table.add_column(column, justify="right", no_wrap=True)
    table.add_column("status", no_wrap=True)
    for row in the_race.table():
        table.add_row(row["variant"], str(row["epochs"]), num(row["train_loss"]), num(row["best_train_loss"]),
                      num(row["val_loss"]), num(row["best_val_loss"]), num(row["val_accuracy"], ".3f"),
                      num(row["best_val_accuracy"], ".3f"), short(row["status"]))
    return table


@main.command("export")
@click.argument("file", required=False, type=click.Path())  # a folder is said in one line by open_file
@click.option("--code", "code_path", type=click.Path(dir_okay=False),
              help="Write the PyTorch script here (e.g. model.py). Default: FILE's name with .py.")
@click.option("--weights", "weights_path", type=click.Path(dir_okay=False),
              help="Write the network's weights here (e.g. model.pt): a state_dict for the script's nn.Sequential. "
                   "Default, without --code: FILE's name with .pt.")
def export_command(file, code_path, weights_path) -> None:
    """Export FILE to a standalone PyTorch script that does not import tuidl.

    \b
    tuidl export spiral.toml                  spiral.py and spiral.pt beside it
    tuidl export spiral.toml --code model.py
    tuidl train spiral.toml --save run.ckpt && tuidl export run.ckpt --code model.py --weights model.pt

    Without --code and --weights, both go where the app's export puts them: beside FILE
    with its name (a lesson's or the default dataset's name in the current folder), never
    over FILE itself.

    The script makes the same data (the dataset's numpy generator, or the file's points),
    builds the network as an nn.Sequential, starts from tuidl's initial weights and trains
    with the same loss, torch.optim optimizer and options, on the same batches in the same
    order (and the same dropout masks), printing each epoch's losses: tuidl's, to float32
    rounding. The weights: from a checkpoint, the weights it trained; from an experiment
    file or a lesson, the initial weights (epoch 0) that the script starts from; to export
    trained weights, train with --save first and export the checkpoint.
    """
    from pathlib import Path

    exp, source, is_checkpoint = open_file(file, device="cpu")
    if code_path is None:
        from tuidl.export import default_paths

        lesson = source.removeprefix("lesson ") if source.startswith("lesson ") else None
        stem = lesson or (str(Path(file).with_suffix("")) if file else exp.data.dataset)
        code_path, default_weights = default_paths(stem, file if lesson is None else None)
        weights_path = weights_path or default_weights
    for out in (code_path, weights_path):
        if out is not None and file is not None and Path(out).resolve() == Path(file).resolve():
            fail(f"{out}: is FILE itself: write the export to another file")
    if weights_path is not None and Path(weights_path).resolve() == Path(code_path).resolve():
        fail(f"{code_path}: --code and --weights name the same file")
    trainer = make_trainer(exp, source, checkpoint=file if is_checkpoint else None)
    from tuidl.export import export, weights_description

    title = source if source.startswith("lesson ") else Path(file).name if file else "the default experiment"
    try:
        export(trainer, code_path, weights_path, title=title)
    except OSError as err:
        fail(f"{err.filename or code_path}: cannot write the export: {err.strerror or err}")
    click.echo(f"wrote {code_path}: the PyTorch script (python {code_path} trains it)")
    if weights_path is not None:
        click.echo(f"wrote {weights_path}: {weights_description(trainer)}")


@main.command()
@click.option("--device", type=click.Choice(("cpu", "cuda", "mps")), default="cpu", show_default=True)
@click.option("--epochs", type=click.IntRange(1), default=30, show_default=True, help="Epochs timed per run.")
@click.option("--repeats", type=click.IntRange(1), default=5, show_default=True, help="Runs per loop; the median is reported.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable results.")
@click.option("--startup", is_flag=True, help="The app's start-up against a bare Textual app.")
@click.option("--live", is_flag=True, help="The app training live: epochs/s, frames/s, key-to-screen latency.")
@click.option("--memory", is_flag=True, help="Peak memory of the app and its training process.")
@click.option("--all", "run_all", is_flag=True, help="The engine and races, then --startup, --live and --memory.")
@click.option("--runs", type=click.IntRange(1), default=7, show_default=True, help="--startup: start-ups of each app.")
@click.option("--keys", type=click.IntRange(2), default=100, show_default=True,
              help="--live: tab key presses timed, training and idle each.")
@click.option("--memory-epochs", type=click.IntRange(1), default=2000, show_default=True,
              help="--memory: epochs trained before the peak is read.")
def bench(device, epochs, repeats, as_json, startup, live, memory, run_all, runs, keys, memory_epochs) -> None:
    """Epochs/s of this engine against an idiomatic PyTorch loop, same model and data, and
    races against one run (without a flag, or with --all).

    The app (each a flag, all with --all; every figure beside its target):

    --startup: a fresh `python -m tuidl.bench_startup tuidl|bare` process, from just
    before it starts to its first frame painted (headless, rendered to terminal text),
    for tuidl and for a bare Textual app (a Static and a Footer), alternating; medians.
    tuidl's bytecode is written first, as `pip install` does.

    --live: the app headless (160×48) on the default experiment with its real training
    process, as fast as it goes: epochs/s the app shows over 3 s against the engine's
    Trainer.train_epoch loop alone in this process (before and after), the frames the
    app painted per second, the app process's CPU time (of one core; per frame) and the
    terminal text of its frames (kB/s, what SSH would carry); medians of three such
    rounds. A frame is one screen
    update of Textual's compositor (App._display) rendered to terminal text. Then (in the
    first round) key presses posted as the terminal driver posts them, `3`/`1`
    alternating (the Training, then the Data tab), each timed to the first frame in
    which that tab's form is on screen (median and p99), and 20 times `?` to the first
    frame showing the help text; training, then paused (idle).

    --memory: the app headless trains the default, then 2→256×4→1, until epoch
    --memory-epochs; the peak resident memory of the app's process and of its
    training process (/proc VmHWM, Linux; elsewhere ru_maxrss for the app alone).
    """
    from tuidl.bench import live_rows, memory_rows, print_app_tables, print_table, run_bench, startup_rows

    engine = run_all or not (startup or live or memory)
    results: dict = {}
    try:
        if engine:
            results = run_bench(device=device, epochs=epochs, repeats=repeats)
            if not as_json:
                print_table(results)
        if startup or run_all:
            results["startup"] = startup_rows(runs)
        if live or run_all:
            results["live"] = live_rows(keys=keys)
        if memory or run_all:
            results["memory"] = memory_rows(memory_epochs)
    except ConfigError as err:
        fail(str(err))
    if as_json:
        click.echo(json.dumps(results))
    else:
        print_app_tables(results)


@main.command()
@click.argument("file", required=False, type=click.Path())  # a folder is said in one line by open_file
@click.option("--host", default="127.0.0.1", show_default=True,
              help="The address to listen on: loopback, this machine only, unless told otherwise (0.0.0.0: every address).")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True, help="The port to listen on.")
@click.option("--public-url", help="The address browsers use to reach it, when not http://HOST:PORT (a proxy, a host name).")
def serve(file, host, port, public_url) -> None:
    """Serve the app in a web browser (textual-serve): open the URL it prints.

    Each browser that opens the page gets an app of its own, running on this machine, on
    FILE (an experiment, a checkpoint or a lesson's NAME; default: the TF Playground
    network). It listens on 127.0.0.1 (this machine only) unless --host says otherwise.
    ctrl+c stops it.
    """
    import os

    from tuidl.serve import ServeError
    from tuidl.serve import serve as serve_app

    if file is not None:
        open_file(file)  # a bad FILE is said here, not in every browser
        if os.path.exists(file):
            file = os.path.abspath(file)
    try:
        serve_app(host, port, file, public_url)
    except ServeError as err:
        fail(str(err))


if __name__ == "__main__":
    main()
