"""One training step explained, phase by phase, without Textual: the phases and the
step-through's place in them (phases), each phase as Rich (render), and the numbers as
they are written (numbers). Used by the app's step-through panel and by `tuidl trace`."""
from tuidl.explain.numbers import fmt, fmt_plain, num, sub, summary, sup, vec
from tuidl.explain.phases import Phase, StepCursor, batch_size, phases, units
from tuidl.explain.render import phase_text, plain_text, render_phase, step_text

__all__ = ["Phase", "StepCursor", "batch_size", "fmt", "fmt_plain", "num", "phase_text", "phases",
           "plain_text", "render_phase", "step_text", "sub", "summary", "sup", "units", "vec"]
