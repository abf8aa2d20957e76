"""The training session, without Textual and without torch at import: the app sends typed
commands (commands.py) and receives events (events.py) from a worker that owns the Trainer
in a child process (worker.py, host.py). speed.py holds the training speeds a learner picks."""
from tuidl.session.commands import (Build, Command, Pause, Quit, Reset, Run, SetEpochs, SetGrid, SetSpeed,
                                    Step, Toggle, TrainEpochs)
from tuidl.session.events import EngineFailed, EngineLoaded, Event, Failed, Notice, Progress, Snapshot, StepTaken
from tuidl.session.host import Session
from tuidl.session.speed import SPEEDS, faster, parse_speed, slower, speed_label
from tuidl.session.commands import SetPlaneView, SetWeight  # hands on the network

__all__ = [
    "Build", "Command", "Pause", "Quit", "Reset", "Run", "SetEpochs", "SetGrid", "SetSpeed", "Step", "Toggle",
    "TrainEpochs", "EngineFailed", "EngineLoaded", "Event", "Failed", "Notice", "Progress", "Snapshot",
    "StepTaken", "Session", "SPEEDS", "faster", "parse_speed", "slower", "speed_label",
]
__all__ += ["SetPlaneView", "SetWeight"]
from tuidl.session.commands import GradCheck  # the gradient check and divergence explained
from tuidl.session.events import DivergenceFound, GradCheckDone

__all__ += ["GradCheck", "DivergenceFound", "GradCheckDone"]
from tuidl.session.commands import Save  # saving from the app
from tuidl.session.events import Saved

__all__ += ["Save", "Saved"]
from tuidl.session.commands import SetPoints  # points drawn by hand

__all__ += ["SetPoints"]
