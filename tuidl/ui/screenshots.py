"""Write SVG screenshots of the app into screenshots/ (for the README).

    python -m tuidl.ui.screenshots [OUTDIR]

Headless (no terminal needed, fine with CI=true), seeded and deterministic.
"""
from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from tuidl import config as cfg
from tuidl import lessons
from tuidl.config import Layer
from tuidl.ui import headless

SIZE = (120, 40)


def spiral_exp(optimizer: str = "adam") -> cfg.Experiment:
    exp = cfg.default_experiment()
    exp.data.dataset = "spiral"
    exp.model.hidden = [Layer(8, "relu"), Layer(8, "relu")]
    exp.train.optimizer = optimizer
    exp.train.lr = 0.01
    return exp


async def _shot(outdir: Path, name: str, exp: cfg.Experiment, script, size=SIZE, lesson=None) -> Path:
    from tuidl.ui.app import TuidlApp

    app = TuidlApp(exp, lesson=lesson, deterministic=True)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        await headless.wait_ready(app)
        await pilot.pause()
        await script(app, pilot)
        await pilot.pause(0.3)
        path = outdir / f"{name}.svg"
        path.write_text(app.export_screenshot(title=f"tuidl · {name}"), encoding="utf-8")
    return path


async def _nothing(app, pilot) -> None:
    pass


async def _trained(app, pilot) -> None:
    await headless.train_epochs(app, 200)


def _phase(n: int, epochs: int = 100):
    async def script(app, pilot) -> None:
        if epochs:
            await headless.train_epochs(app, epochs)
        await pilot.press("n")
        await headless.settle(app)
        for _ in range(n):
            await pilot.press("n")
        await pilot.pause()

    return script


async def _builder(app, pilot) -> None:
    await pilot.press("2")
    app.select_layer(1)
    await pilot.pause()


async def _help(app, pilot) -> None:
    await pilot.press("question_mark")


def _epochs(n: int):
    async def script(app, pilot) -> None:
        await headless.train_epochs(app, n)

    return script


async def _race_to_the_end(app, pilot) -> None:
    await headless.race_until(app, lambda p: p.names)
    await pilot.press("space")
    await headless.race_until(app, lambda p: p.finished)


# Each lesson at the moment its text is about.
LESSON_SHOTS = {
    "perceptron": _phase(0, epochs=0),  # z = −6 at x = (−1, 2)
    "will-i-pass": _nothing,  # the untrained network: the student at (4, 5) on the orange side
    "non-linearity": _epochs(200),  # linear layers: a straight boundary
    "learning-rate": _epochs(100),  # too small: barely moved
    "optimizers": _race_to_the_end,  # the five optimizers raced 100 epochs
    "mini-batches": _epochs(100),
    "overfitting": _epochs(100),  # the validation curve turned up
}


async def make_all(outdir: Path) -> list[Path]:
    outdir.mkdir(parents=True, exist_ok=True)
    shots = [
        ("opening", cfg.default_experiment(), _nothing, SIZE),
        ("trained-spiral", spiral_exp(), _trained, SIZE),
        ("step-forward", spiral_exp(), _phase(1), SIZE),
        ("step-loss", spiral_exp(), _phase(3), SIZE),
        ("step-backward", spiral_exp(), _phase(5), SIZE),
        ("step-update-adam", spiral_exp(), _phase(7), SIZE),
        ("builder", spiral_exp(), _builder, SIZE),
        ("help", cfg.default_experiment(), _help, SIZE),
        ("small-terminal", cfg.default_experiment(), _trained, (80, 24)),
        ("regression-plane", cfg.change_dataset(cfg.default_experiment(), "plane"), _epochs(30), SIZE),
    ]
    digits = Path("examples/digits.toml")
    if digits.exists():  # run from the project's folder: the digits example, confusion matrix and grid
        shots.append(("digits", cfg.load(digits), _epochs(10), SIZE))
    paths = []
    for name, exp, script, size in shots:
        paths.append(await _shot(outdir, name, exp, script, size))
    for name, script in LESSON_SHOTS.items():
        exp, lesson = lessons.load(name)
        paths.append(await _shot(outdir, f"lesson-{name}", exp, script, SIZE, lesson))
    return paths


def main(argv: list[str] | None = None) -> None:
    headless.pin_vector_kernels()
    args = sys.argv[1:] if argv is None else argv
    outdir = Path(args[0]) if args else Path("screenshots")
    for path in asyncio.run(make_all(outdir)):
        print(path)


if __name__ == "__main__":
    main()
