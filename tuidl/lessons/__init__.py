"""The shipped lessons: the lecture, one experiment file and one short text each.

Each lesson NAME is two files in this package: NAME.toml (an experiment, as `tuidl
FILE.toml` reads it) and NAME.md (its title on the first line, "# Title", then the text:
what to do, what to look for, which key next). ORDER is the teaching order.
No torch and no Textual: the app's process and the CLI's listing read this.
"""
from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from tuidl import config as cfg
from tuidl.config import Experiment

ORDER = (
    "perceptron",
    "will-i-pass",
    "non-linearity",
    "learning-rate",
    "optimizers",
    "mini-batches",
    "overfitting",
)


@dataclass(frozen=True)
class Lesson:
    name: str        # what `tuidl lesson NAME` takes
    title: str       # the .md's first line, without "# "
    toml_path: Path  # the experiment file (read-only: a shipped file)
    text: str        # the .md after the title: Markdown


class UnknownLesson(LookupError):
    """No lesson by that name; str() lists the lessons there are."""

    def __init__(self, name: str):
        self.name = name
        super().__init__(f"no lesson named {name!r} (lessons: {', '.join(ORDER)})")


def _folder() -> Path:
    return Path(str(resources.files(__name__)))


def _read(name: str) -> Lesson:
    folder = _folder()
    lines = (folder / f"{name}.md").read_text(encoding="utf-8").splitlines()
    title = lines[0].removeprefix("# ").strip() if lines and lines[0].startswith("# ") else name
    text = "\n".join(lines[1:] if title != name else lines).strip() + "\n"
    return Lesson(name, title, folder / f"{name}.toml", text)


def all_lessons() -> list[Lesson]:
    """Every lesson, in teaching order."""
    return [_read(name) for name in ORDER]


def find(name: str) -> Lesson | None:
    """The lesson called `name`, or None."""
    return _read(name) if name in ORDER else None


def load(name: str) -> tuple[Experiment, Lesson]:
    """(its experiment, validated; the lesson). Raises UnknownLesson for an unknown name."""
    lesson = find(name)
    if lesson is None:
        raise UnknownLesson(name)
    return cfg.load(lesson.toml_path), lesson


__all__ = ["Lesson", "ORDER", "UnknownLesson", "all_lessons", "find", "load"]
