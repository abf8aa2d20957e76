"""Saving from the app: `ctrl+s` writes a checkpoint, the palette saves the experiment's
TOML, and quitting with training that is not saved asks first.

The checkpoint is the one `tuidl train --save` writes (tuidl.engine.checkpoint, written to a
temporary file and renamed): the training process writes it, on a `Save` command, since the
weights and the optimizer's state live there and this process never imports torch. The
worker answers `Saved` or `Failed`, and says in every snapshot whether the run has changed
since (`Snapshot.unsaved`: an epoch or a step trained, the network rebuilt, a weight set by
hand). The experiment's TOML is written here (config.save, atomic too): the settings only.
"""
from __future__ import annotations

import os
from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Static

from tuidl import config as cfg
from tuidl.paths import shown_path
from tuidl.ui.inputs import OrderedInput
from tuidl.ui.modal import Modal


def full_path(text: str) -> str:
    return os.path.abspath(os.path.expanduser(text))


class PathModal(Modal):
    """One field, prefilled with a path: enter uses it, escape cancels (closes with None).

    An empty field or an existing folder is refused with the reason and the field stays
    open; an existing file other than `current` asks for a second enter before it is
    replaced. Whether the folder can be written is found out by writing."""

    DEFAULT_CSS = """
    PathModal { align: center middle; }
    PathModal > #path-box {
        width: 72; max-width: 100%; height: auto; padding: 0 1;
        border: round $accent; border-title-color: $accent; background: $panel;
    }
    PathModal #path-input { width: 100%; }
    PathModal #path-hint { color: $text-muted; }
    PathModal #path-hint.-error { color: $error; }
    """
    BINDINGS = [Binding("escape", "cancel", "cancel")]
    HINT = "enter: save · esc: cancel"

    def __init__(self, title: str, what: str, default: str, current: str | None = None) -> None:
        """title: the box's title; what: a line above the field; default: the path offered;
        current: the file this app already saves to (replaced without asking)."""
        super().__init__()
        self.title_text = title
        self.what = what
        self.default = default
        self.current = full_path(current) if current else None
        self._confirm: str | None = None  # the existing file a second enter replaces

    def compose(self) -> ComposeResult:
        with Vertical(id="path-box") as box:
            box.border_title = self.title_text
            yield Static(self.what, id="path-what")
            # its own editing keys act in the order typed (ctrl+a ctrl+k then a name, fast)
            yield OrderedInput(self.default, id="path-input", select_on_focus=False)
            yield Static(self.HINT, id="path-hint")

    def on_mount(self) -> None:
        self.set_focus(self.query_one(Input))  # now: the name may be typed right behind ctrl+s

    def _hint(self, text: str, error: bool) -> None:
        hint = self.query_one("#path-hint", Static)
        hint.update(text)
        hint.set_class(error, "-error")

    def on_input_changed(self, event: Input.Changed) -> None:
        if self._confirm is not None:
            self._confirm = None
            self._hint(self.HINT, False)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value.strip()
        if not text:
            self._hint(f"type a file name, e.g. {self.default} · esc: cancel", True)
            return
        path = full_path(text)
        if os.path.isdir(path):
            self._hint(f"{text} is a folder: add a file name, e.g. {os.path.join(text, Path(self.default).name)}", True)
            return
        if os.path.exists(path) and path != self.current and self._confirm != path:
            self._confirm = path
            self._hint(f"{text} exists: enter again to replace it · esc: cancel", True)
            return
        self.dismiss(path)

    def action_cancel(self) -> None:
        self.dismiss(None)


class QuitModal(Modal):
    """Training that is not saved: save (and quit), quit without saving, or cancel.

    Closes with "save", "quit" or None. `q` does nothing here, so that a double `q` never
    throws the training away."""

    DEFAULT_CSS = """
    QuitModal { align: center middle; }
    QuitModal > #quit-box {
        width: 64; max-width: 100%; height: auto; padding: 0 1;
        border: round $warning; border-title-color: $warning; background: $panel;
    }
    QuitModal #quit-buttons { height: auto; margin-top: 1; }
    QuitModal Button { margin: 0 1 0 0; width: auto; min-width: 0; }  /* the three fit in 60 columns */
    """
    BINDINGS = [
        Binding("s", "choose('save')", "save and quit"),
        Binding("d", "choose('quit')", "quit without saving"),
        Binding("escape,c", "choose('')", "cancel"),
        Binding("left", "app.focus_previous", show=False),
        Binding("right", "app.focus_next", show=False),
    ]

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def compose(self) -> ComposeResult:
        with Vertical(id="quit-box") as box:
            box.border_title = "quit?"
            yield Static(self.text, id="quit-text")
            with Horizontal(id="quit-buttons"):
                yield Button("s  save and quit", id="quit-save", variant="primary", compact=True)
                yield Button("d  quit without saving", id="quit-discard", variant="error", compact=True)
                yield Button("esc  back", id="quit-cancel", compact=True)

    def on_mount(self) -> None:
        self.set_focus(self.query_one("#quit-save", Button))

    def show_text(self, text: str) -> None:
        self.text = text
        self.query_one("#quit-text", Static).update(text)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_choose({"quit-save": "save", "quit-discard": "quit"}.get(event.button.id or "", ""))

    def action_choose(self, answer: str) -> None:
        self.dismiss(answer or None)


class SaveActions:
    """Mixed into the app (before App): ctrl+s, save as, save the TOML, export to PyTorch, and
    a quit that asks first when training would be lost. Uses the app's exp, path, checkpoint,
    lesson, session, snap, load_error, say, _send and _engine_ready."""

    save_path: str | None = None  # where ctrl+s writes (the checkpoint opened, or the last saved to)
    _save_id: int | None = None  # the Save command on its way
    _quit_after_save = False
    _quit_pending: int | None = None  # the question is up before the snapshot that shows this command done

    # -- where --------------------------------------------------------------------------
    def save_target(self) -> str | None:
        return self.save_path or self.checkpoint

    def _default_path(self, suffix: str) -> str:
        """`<stem><suffix>` beside the file the app opened, else in the current folder."""
        if self.lesson is not None:
            return f"{self.lesson.name}{suffix}"
        if self.path:
            return str(Path(self.path).with_suffix(suffix))
        return f"{self.exp.data.dataset}{suffix}"

    def _modal_open(self) -> bool:
        return any(isinstance(screen, (PathModal, QuitModal)) for screen in self.screen_stack)

    # -- the checkpoint -----------------------------------------------------------------
    def action_save(self) -> None:
        """ctrl+s: the checkpoint opened or saved to last; else ask where."""
        if self._modal_open() or not self._engine_ready():
            return
        target = self.save_target()
        if target:
            self._send_save(target)
        else:
            self.action_save_as()

    def action_save_as(self, then_quit: bool = False) -> None:
        if self._modal_open() or not self._engine_ready():
            return
        default = self.save_target() or self._default_path(".ckpt")
        modal = PathModal("save the run", "A checkpoint: the experiment, the weights, the optimizer's state and "
                          "the history. `tuidl FILE` opens it where it is now.", shown_path(full_path(default)),
                          current=self.save_target())
        self.push_screen(modal, lambda path: self._send_save(path, then_quit) if path else None)

    def _send_save(self, path: str, then_quit: bool = False) -> None:
        from tuidl.session.commands import Save

        if not self._engine_ready():
            return
        self._quit_after_save = then_quit
        self._save_id = self.session.send(Save(full_path(path)))
        self.say(f"saving to {shown_path(full_path(path))}…")

    def _saved(self, event) -> None:
        self.save_path = event.path
        name = shown_path(event.path)
        self.say(f"saved epoch {event.epoch} to {name} (`tuidl {name}` opens it here)")
        if event.command_id == self._save_id:
            self._save_id = None
            if self._quit_after_save:
                self.exit()

    def _save_failed(self) -> None:
        """The engine's Failed says why (shown by the engine's events); the app stays."""
        self._save_id = None
        self._quit_after_save = False

    # -- PyTorch -------------------------------------------------------------------------
    def action_export_pytorch(self) -> None:
        """<stem>.py and <stem>.pt where a save would go (never over the file opened); the
        training process writes them (the weights live there) and says where."""
        from tuidl.export import default_paths
        from tuidl.session.commands import Export

        code, weights = default_paths(self._default_path(""), self.path)
        title = Path(self.path).name if self.path else f"lesson {self.lesson.name}" if self.lesson else "the app's experiment"
        if self._send(Export(code, weights, title), leave_step=False) is not None:
            self.say(f"exporting to PyTorch: {code} and {weights}…")

    # -- the experiment's TOML ----------------------------------------------------------
    def action_save_toml(self) -> None:
        if self._modal_open():
            return
        current = self.path if self.path and not self.checkpoint else None
        default = current or self._default_path(".toml")
        modal = PathModal("save the experiment", "The experiment's settings as TOML (no trained weights: "
                          "ctrl+s saves those in a checkpoint).", shown_path(full_path(default)), current=current)
        self.push_screen(modal, self._write_toml)

    def _write_toml(self, path: str | None) -> None:
        if not path:
            return
        try:
            cfg.save(self.exp, path)
        except OSError as err:
            self.say(f"could not save {shown_path(path)}: {err.strerror or err}; nothing was written", error=True)
            return
        self.say(f"experiment saved to {shown_path(path)} (settings only; ctrl+s saves the weights and training)")

    # -- quitting -----------------------------------------------------------------------
    async def action_quit(self) -> None:
        """Quit, asking first when training since the last save would be lost."""
        if self._modal_open():
            return
        if self._save_id is not None:  # a save on its way: quit once it is written
            self._quit_after_save = True
            self.say("quitting once the save is written…")
            return
        if self.session is None or self.load_error or self.snap is None:
            self.exit()
            return
        snap = self.snap
        if self.session.last_id > snap.done:
            # commands sent (e, n, …) are not shown yet: ask at once, so that the keys typed next
            # answer the question; the snapshot that shows them says whether it was needed
            self._quit_pending = self.session.last_id
        elif not (snap.unsaved or snap.running):
            self.exit()
            return
        self.push_screen(QuitModal(self._quit_text()), self._quit_answer)

    def _quit_text(self) -> str:
        target = self.save_target()
        where = f"s saves it to {shown_path(target)}" if target else "s asks where to save it"
        return (f"The run at epoch {self.snap.epoch} has changed since it was last saved. {where} and quits; "
                "d quits without saving; esc goes back.")

    def _quit_caught_up(self) -> None:
        """The snapshot the question waited for: quit if nothing would be lost after all."""
        self._quit_pending = None
        if not isinstance(self.screen, QuitModal) or self.screen._dismissing:
            return  # answered already
        if self.snap.unsaved or self.snap.running:
            self.screen.show_text(self._quit_text())
        else:
            self.exit()

    def _quit_answer(self, answer: str | None) -> None:
        self._quit_pending = None
        if answer == "quit":
            self.exit()
        elif answer == "save":
            target = self.save_target()
            if target:
                self._send_save(target, then_quit=True)
            else:
                self.action_save_as(then_quit=True)
        else:
            self.say("not quitting")

    # -- the engine's answers -----------------------------------------------------------
    def on_engine_event(self, message) -> None:  # by name, beside EngineEvents.on_engine_event
        from tuidl.session import events as ev

        event = message.event
        if isinstance(event, ev.Saved):
            self._saved(event)
        elif isinstance(event, ev.Failed) and event.command_id == self._save_id:
            self._save_failed()
        elif isinstance(event, ev.Progress) and self._quit_pending is not None \
                and event.snapshot.done >= self._quit_pending:
            self.call_later(self._quit_caught_up)  # after EngineEvents has taken the snapshot
