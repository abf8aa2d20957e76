"""The house rules: the engine never imports textual; config and data never import torch;
the headless commands never load Textual."""
import json
import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    "modules, forbidden",
    [
        (["tuidl.config", "tuidl.data", "tuidl.engine.facts"], ["torch", "textual"]),
        (["tuidl.engine.trainer", "tuidl.engine.trace", "tuidl.engine.checkpoint", "tuidl.bench"], ["textual"]),
        (["tuidl.explain", "tuidl.explain.render"], ["torch", "textual"]),
        (["tuidl.cli"], ["torch", "textual"]),
    ],
)
def test_imports_stay_in_their_layer(modules, forbidden):
    code = "import sys\n" + "".join(f"import {m}\n" for m in modules) + f"print([m for m in {forbidden!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# Runs commands in-process, one after another (torch is imported once), and after each says on
# stderr which Textual modules are loaded: a command that loads one shows it from then on.
RUN_COMMANDS = """
import json, sys
from tuidl.cli import main
for args in json.loads(sys.argv[1]):
    try:
        main(args)
    except SystemExit as stop:
        code = stop.code
    else:
        code = 0
    print(" ".join(args), "| exit", code, sorted(m for m in sys.modules if m == "textual" or m.startswith("textual.")),
          file=sys.stderr)
"""

HEADLESS_COMMANDS = [
    ["train", "--epochs", "1"],
    ["train", "--epochs", "1", "--json"],
    ["trace", "--steps", "1"],
    ["trace", "--steps", "1", "--json"],
    ["bench", "--epochs", "1", "--repeats", "1", "--json"],
]


def test_headless_commands_load_no_textual():
    done = subprocess.run([sys.executable, "-c", RUN_COMMANDS, json.dumps(HEADLESS_COMMANDS)], capture_output=True,
                          text=True, timeout=300)
    reports = [line for line in done.stderr.splitlines() if " | exit " in line]
    assert reports == [f"{' '.join(args)} | exit 0 []" for args in HEADLESS_COMMANDS], done.stderr[-2000:]
