"""The gradient check's report as Rich, for `tuidl gradcheck` and the app's gradient-check
screen: one row per layer and parameter, the tolerance and the verdict. No Textual, no torch.
"""
from __future__ import annotations

from rich import box
from rich.console import Group
from rich.table import Table
from rich.text import Text

from tuidl.engine.records import GradCheckReport
from tuidl.explain.numbers import fmt

PASS_STYLE = "green"
FAIL_STYLE = "bold red"

EXPLANATION = (
    "Backprop computes every dL/dw at once, by the chain rule, layer by layer from the loss. "
    "The numeric side knows nothing of that: it nudges one weight by ±h, runs the network "
    "forward again and watches the loss change, (L(w + h) − L(w − h)) / 2h. The two agree "
    "to many digits: backprop is exact calculus, not an approximation."
)


def layer_name(report: GradCheckReport, layer: int) -> str:
    """"layer 2", or "layer 3 (output)" for the last one."""
    return f"layer {layer + 1}" + (" (output)" if layer == len(report.activations) - 1 else "")


def _error(value: float, tolerance: float) -> Text:
    return Text(f"{value:.1e}", style=PASS_STYLE if value <= tolerance else FAIL_STYLE)


def report_table(report: GradCheckReport) -> Table:
    """One row per layer and parameter; fits 80 columns for the networks tuidl builds."""
    last = len(report.activations) - 1
    counts = any(row.skipped for row in report.rows) or report.sampled
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, title="backprop against finite differences",
                  title_justify="left", title_style="bold")
    table.add_column("layer")
    table.add_column("θ")
    if counts:
        table.add_column("checked", justify="right")
    table.add_column("max error", justify="right")
    table.add_column("median", justify="right")
    table.add_column("worst")
    table.add_column("backprop", justify="right")
    table.add_column("numeric", justify="right")
    for row in report.rows:
        cells = [f"{row.layer + 1}" + (" out" if row.layer == last else ""),
                 f"{row.parameter} {'×'.join(str(n) for n in row.shape)}"]
        if counts:
            cells.append(f"{row.checked}" + (f", {row.skipped} skipped" if row.skipped else ""))
        if not row.checked:
            table.add_row(*cells, "–", "–", "–", "", "")
            continue
        worst = row.entry + (f" s{row.worst_step}" if len(report.steps) > 1 else "")
        table.add_row(*cells, _error(row.max_rel_error, report.tolerance),
                      _error(row.median_rel_error, report.tolerance), worst,
                      fmt(row.worst_engine, 6), fmt(row.worst_numeric, 6))
    return table


def verdict(report: GradCheckReport) -> Text:
    worst = report.max_rel_error
    if report.passed:
        return Text(f"✓ backprop agrees with finite differences: largest relative error {worst:.1e} "
                    f"≤ tolerance {report.tolerance:g}", style=PASS_STYLE)
    return Text(f"✗ backprop disagrees with finite differences: largest relative error {worst:.1e} "
                f"> tolerance {report.tolerance:g}", style=FAIL_STYLE)


def notes(report: GradCheckReport) -> list[str]:
    steps = report.steps
    which = f"step {steps[0]}" if len(steps) == 1 else f"steps {steps[0]}–{steps[-1]}"
    lines = [
        f"tolerance {report.tolerance:g}: relative error |backprop − numeric| / max(|backprop|, |numeric|, "
        f"{report.floor:g}), so gradients below {report.floor:g} are compared absolutely, to "
        f"{report.tolerance * report.floor:.0e}",
        f"{report.dtype} on the CPU, {which}, each at the weights before it; h = {report.h:g} "
        f"(and h/2, combined so that their h² errors cancel); loss {report.loss}"
        + (f" + L1 term (λ₁ = {report.l1:g})" if report.l1 else ""),
    ]
    if len(steps) > 1:
        lines.append("worst: the entry with the largest error, in step sN")
    if report.dropout:
        lines.append("dropout masks held fixed: those of the step checked")
    if report.skipped:
        lines.append(f"{report.skipped} entries skipped: their nudge crossed a kink (relu at z = 0, |w| at w = 0), "
                     "where a difference quotient is neither side's slope")
    if report.sampled:
        lines.append("large tensors: a fixed random subset of their entries was checked")
    return lines


def report_renderable(report: GradCheckReport, explain: bool = False) -> Group:
    """The table, the verdict and the notes (and the short explanation when `explain`)."""
    parts: list = []
    if explain:
        parts += [Text(EXPLANATION), Text("")]
    parts += [report_table(report), verdict(report)]
    parts += [Text("• " + line, style="dim") for line in notes(report)]
    return Group(*parts)
