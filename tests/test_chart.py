import math

import pytest

from tuidl.ui.chart import chart_text, epoch_ticks, value_ticks


def test_epoch_ticks_are_whole_round_numbers_within_the_range():
    assert epoch_ticks(1, 200, 5) == [50, 100, 150, 200]
    assert epoch_ticks(1, 3, 5) == [1, 2, 3]
    assert epoch_ticks(1, 1, 5) == [1]
    ticks = epoch_ticks(7, 12345, 6)
    assert len(ticks) <= 6 and all(7 <= t <= 12345 for t in ticks)


def _plot_rows(text: str) -> list[str]:
    """The lines between the chart frame's top and bottom."""
    lines = text.splitlines()
    top = next(i for i, line in enumerate(lines) if "┌" in line)
    bottom = next(i for i, line in enumerate(lines) if "└" in line)
    return lines[top + 1:bottom]


@pytest.mark.parametrize("height", range(5, 16))
@pytest.mark.parametrize("title", ["", "loss"])
def test_each_y_label_is_the_value_of_its_own_row(height, title):
    """plotext's own ticks, on a chart of fewer rows than ticks, named a row by a value of
    another (0.448 on the middle of three rows running 0.32 to 0.49)."""
    ys = [0.315 + 0.175 * math.exp(-i / 30) for i in range(100)]
    text = chart_text([("train", list(range(1, 101)), ys, (200, 100, 50))], 40, height, title).plain
    plot_rows = _plot_rows(text)
    rows = len(plot_rows)
    labels = [(i, float(line.split("┤")[0])) for i, line in enumerate(plot_rows) if "┤" in line]
    lo, hi = min(ys), max(ys)
    step = (hi - lo) / max(1, rows - 1)
    assert labels[0] == (0, pytest.approx(hi, abs=step / 4))
    if rows > 1:
        assert labels[-1] == (rows - 1, pytest.approx(lo, abs=step / 4))
    for row, value in labels:  # the value plotext puts on that row: top hi, bottom lo, evenly between
        assert value == pytest.approx(hi - row * step, abs=step / 4), text
    assert len(labels) == min(rows, 5)


def test_value_ticks_labels_tell_neighbours_apart():
    values, labels = value_ticks(0.3214, 0.49, 3)
    assert labels == ["0.321", "0.406", "0.490"]
    values, labels = value_ticks(2.0, 2.0, 4)  # one value only: one tick
    assert labels == ["2"]
    values, labels = value_ticks(0.0, 3e12, 3)  # a diverging loss: short labels
    assert all(len(label) <= 8 for label in labels)
