"""The house rules: the engine never imports textual; config and data never import torch;
the headless commands never load Textual."""
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


# Runs a command in-process, then says on stderr's last line which Textual modules it loaded.
RUN_COMMAND = """
import sys
from tuidl.cli import main
try:
    main(sys.argv[1:])
except SystemExit as stop:
    code = stop.code
else:
    code = 0
print("exit", code, sorted(m for m in sys.modules if m == "textual" or m.startswith("textual.")), file=sys.stderr)
"""


@pytest.mark.parametrize("args", [
    ["train", "--epochs", "1"],
    ["train", "--epochs", "1", "--json"],
    ["trace", "--steps", "1"],
    ["trace", "--steps", "1", "--json"],
    ["bench", "--epochs", "1", "--repeats", "1", "--json"],
], ids=" ".join)
def test_headless_commands_load_no_textual(args):
    done = subprocess.run([sys.executable, "-c", RUN_COMMAND, *args], capture_output=True, text=True, timeout=300)
    last = done.stderr.strip().splitlines()[-1]
    assert last == "exit 0 []", done.stderr[-2000:]
