"""The house rules: the engine never imports textual; config and data never import torch."""
import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    "modules, forbidden",
    [
        (["tuidl.config", "tuidl.data"], ["torch", "textual"]),
        (["tuidl.engine.trainer", "tuidl.engine.trace", "tuidl.engine.checkpoint", "tuidl.bench"], ["textual"]),
        (["tuidl.cli"], ["torch", "textual"]),
    ],
)
def test_imports_stay_in_their_layer(modules, forbidden):
    code = "import sys\n" + "".join(f"import {m}\n" for m in modules) + f"print([m for m in {forbidden!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
