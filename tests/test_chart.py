from tuidl.ui.chart import epoch_ticks


def test_epoch_ticks_are_whole_round_numbers_within_the_range():
    assert epoch_ticks(1, 200, 5) == [50, 100, 150, 200]
    assert epoch_ticks(1, 3, 5) == [1, 2, 3]
    assert epoch_ticks(1, 1, 5) == [1]
    ticks = epoch_ticks(7, 12345, 6)
    assert len(ticks) <= 6 and all(7 <= t <= 12345 for t in ticks)
