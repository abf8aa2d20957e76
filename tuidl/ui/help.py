"""The help screen (`?`): every key, and what each step-through phase means."""
from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from rich.markdown import Markdown
from textual.widgets import Static

from tuidl.ui.modal import Modal

HELP_TEXT = """\
# tuidl — keys

| key | what it does |
|---|---|
| `space` | run / pause training (it runs in a process of its own) |
| `+` / `-` | train faster / slower (1 epoch per second up to as fast as it goes) |
| `e` | train one epoch |
| `n` | step-through: the next phase of one training step |
| `p` | step-through: the previous phase |
| `[` `]` | step-through: previous / next example of the batch |
| `↑` `↓` | step-through: previous / next neuron |
| `PgUp` `PgDn` `Home` `End` | step-through: scroll the phase's text; outside it, an open lesson's |
| `escape` | leave the step-through view (back to the charts) |
| `r` | reset: re-initialise the weights (epoch 0) |
| `a` / `x` | add a layer after the selected one / delete the selected layer |
| `w` | the diagram's cursor: `←→` layers, `↑↓` neurons, `[` `]` a neuron's weights and bias, `enter` edits one, `v` shows a hidden neuron's activation on the plane, `escape` back |
| `d` | draw points on the plane: `←↑↓→` move the cursor, `c` the class to add (regression: the value, −1 … 1), `enter` adds a point there, `delete`/`backspace` removes the nearest, `C` clears all, `u` undoes, `escape` done. A click adds, a right-click or shift-click removes. Training goes on with the same weights |
| `1`–`4` | the Data / Network / Training / Device tab |
| `g` | the gradients view: each layer's ‖dL/dW‖ and ‖ΔW‖/‖W‖ per epoch, log scale (vanishing or exploding gradients); `g` again for the loss |
| `G` | gradient check: backpropagation's gradients against finite differences, per layer |
| `l` | lessons: the lecture, one lesson at a time (its text shows beside the views) |
| `ctrl+p` | command palette: every action by name, and every field of the forms ("field early stop", enter, then the value and enter) |
| `ctrl+s` | save the run as a checkpoint (weights, optimizer state, history): to the checkpoint opened, else it asks where; `tuidl FILE` reopens it. The palette also has "Save the run as…" and "Save the experiment as TOML…" |
| `?` | this help |
| `q` | quit (training not saved since it last changed asks first: `s` save and quit, `d` quit without saving, `escape` cancel) |

Edit a value in the forms on the left and press `enter`: the value is checked, and if it
is allowed the network is rebuilt and **re-initialised** (the screen says so); only the
number of epochs keeps the weights. A value that is not allowed is refused with a message
and never applied. `enter` and `escape` hand the keys back to the app (`escape` and
leaving the field without `enter` keep the value in use).
Click a column of the diagram (or a row of the layer list) to select a layer.

# The screen

* **Diagram** — input features on the left, the output on the right. Each dot is a
  neuron, each line a weight: **blue** positive, **orange** negative, brighter = larger
  |w|. A neuron's colour is its bias. Columns too tall to draw say "… N more".
* **Decision boundary** — the network's output over the input plane: blue where it says
  class 1, orange where it says class 0 (more classes: one colour each), paler where it
  is unsure. `●` training points, `○` validation points. `d` draws points of your own:
  the first edit makes the experiment's data the points shown (dataset "points"), and
  "Save the experiment as TOML…" keeps them.
* **Curves** — loss and accuracy per epoch, training (blue) and validation (orange).
  Validation loss rising while training loss falls is overfitting.

# Step-through: one training step, phase by phase

Each press of `n` shows one phase of one step on one mini-batch:

1. **Forward, layer 1 … L** — each layer computes z = W·a_prev + b, then a = g(z)
   (dropout, if any, zeroes some a and scales the rest). The selected neuron's sum is
   written out with its numbers first, the whole matrices after it. The diagram
   highlights the layer.
2. **Loss** — the output ŷ is compared with the targets y: binary cross-entropy,
   cross-entropy or mean squared error, averaged over the batch (plus the L1 term).
3. **Backward, layer L … 1** — backpropagation by the chain rule: dL/dz = dL/da · g′(z),
   dL/dW = dL/dz · a_prevᵀ, dL/db = Σ dL/dz, and dL/da_prev = Wᵀ · dL/dz for the layer
   before. The diagram colours the layer's links by its gradient dL/dW.
4. **Update** — the optimizer moves every weight against its gradient: SGD
   θ ← θ − γ·g (with momentum a running buffer), Adam with its moment estimates m̂ and v̂,
   RMSprop, Adagrad, Adadelta with their running averages. The diagram shows the new
   weights.

Every number is the engine's own record of that step; the interface computes none.

*Press `escape` or `?` to close.*
"""


class HelpScreen(Modal):
    BINDINGS = [
        Binding("escape", "dismiss", "close"),
        Binding("question_mark", "dismiss", "close"),
        Binding("q", "dismiss", "close", show=False),
    ]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 92; max-width: 100%; height: 90%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    """

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-scroll"):
            yield Static(Markdown(HELP_TEXT), id="help-text")

    def action_dismiss(self, result=None) -> None:  # type: ignore[override]
        self.dismiss(None)

    def on_screen_resume(self) -> None:
        self._dismissing = False  # the app keeps this screen: each time it is shown it closes once
