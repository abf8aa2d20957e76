"""The phases of one training step, and the step-through's place in them.

A step is shown in 2L + 2 phases: forward through layers 1..L, the loss, backward
through layers L..1, and the optimizer's update. `StepCursor` is the one home of where
the step-through is (record, phase, example of the batch, neuron) and of its clamping.
"""
from __future__ import annotations

from dataclasses import dataclass

from tuidl.engine.facts import LOSSES, OPTIMIZERS
from tuidl.engine.records import StepRecord
from tuidl.explain.numbers import as_array, scalar


@dataclass(frozen=True)
class Phase:
    kind: str  # "forward" | "loss" | "backward" | "update"
    layer: int | None  # index into record.layers; None for the loss and the update
    title: str


def clamp(value: int, n: int) -> int:
    """value within 0 .. n − 1 (0 when n is 0)."""
    return max(0, min(int(value), n - 1))


def layer_role(record: StepRecord, layer: int) -> str:
    return "output" if layer == len(record.layers) - 1 else "hidden"


def step_number(record: StepRecord) -> int:
    """t of the update rule: the optimizer's step count (the record's step when absent)."""
    for layer in record.layers:
        t = scalar((layer.optimizer_state or {}).get("W", {}).get("step"))
        if t is not None:
            return int(t)
    return int(record.step)


def _label(table: dict, name: str) -> str:
    facts = table.get(name)
    return facts.label if facts is not None else name


def phases(record: StepRecord) -> list[Phase]:
    """forward 1..L, the loss, backward L..1, the update: 2L + 2 phases."""
    L = len(record.layers)

    def title(direction: str, l: int) -> str:
        return f"{direction} · layer {l + 1} of {L} ({layer_role(record, l)}, {record.layers[l].activation})"

    return ([Phase("forward", l, title("Forward", l)) for l in range(L)]
            + [Phase("loss", None, f"Loss ({_label(LOSSES, record.loss_name)})")]
            + [Phase("backward", l, title("Backward", l)) for l in reversed(range(L))]
            + [Phase("update", None, f"Update ({_label(OPTIMIZERS, record.optimizer)}, step {step_number(record)})")])


def batch_size(record: StepRecord) -> int:
    return int(as_array(record.x).shape[0])


def units(record: StepRecord, phase: Phase) -> int:
    """How many neurons there are to choose from in this phase."""
    if phase.layer is not None:
        return int(as_array(record.layers[phase.layer].z).shape[-1])
    if phase.kind == "loss":
        return int(as_array(record.layers[-1].z).shape[-1])
    return max(int(as_array(layer.z).shape[-1]) for layer in record.layers)


class StepCursor:
    """A record, the phase shown, the example of the batch and the neuron selected.

    Every value is kept in range here: the example within the batch, the neuron within
    the phase's layer (the choice is kept while a phase with fewer neurons shows less)."""

    def __init__(self, record: StepRecord, phase_index: int = 0, example: int = 0, neuron: int = 0) -> None:
        self.record = record
        self.phases = phases(record)
        self._phase = clamp(phase_index, len(self.phases))
        self._example = clamp(example, batch_size(record))
        self._neuron = clamp(neuron, max(units(record, p) for p in self.phases))

    def __repr__(self) -> str:
        return (f"StepCursor(step {self.record.step}, phase {self.phase_index + 1}/{self.phase_count}, "
                f"example {self.example}, neuron {self.neuron})")

    @property
    def phase_index(self) -> int:
        return self._phase

    @property
    def phase(self) -> Phase:
        return self.phases[self._phase]

    @property
    def phase_count(self) -> int:
        return len(self.phases)

    @property
    def at_last_phase(self) -> bool:
        return self._phase == len(self.phases) - 1

    @property
    def example(self) -> int:
        return self._example

    @property
    def neuron(self) -> int:
        """The selected neuron, within this phase's layer."""
        return clamp(self._neuron, units(self.record, self.phase))

    def next(self) -> bool:
        """To the next phase; False when this is the last one (the caller takes a new step)."""
        if self.at_last_phase:
            return False
        self._phase += 1
        return True

    def prev(self) -> bool:
        """To the previous phase; False at the first one."""
        if self._phase == 0:
            return False
        self._phase -= 1
        return True

    def move_example(self, delta: int) -> bool:
        """Another example of the batch; False when already at the end it moves towards."""
        old, self._example = self._example, clamp(self._example + delta, batch_size(self.record))
        return self._example != old

    def move_neuron(self, delta: int) -> bool:
        """Another neuron of this phase's layer; False when already at the end."""
        old = self.neuron
        self._neuron = clamp(old + delta, units(self.record, self.phase))
        return self._neuron != old

    def with_record(self, record: StepRecord) -> StepCursor:
        """A new step: its first phase, with this example and neuron (kept in range)."""
        return StepCursor(record, 0, self._example, self._neuron)
