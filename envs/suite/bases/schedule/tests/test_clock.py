import pytest

from schedule.clock import to_hhmm, to_minutes


def test_round_trip():
    assert to_minutes("09:30") == 570
    assert to_minutes("00:00") == 0
    assert to_hhmm(570) == "09:30"
    assert to_hhmm(to_minutes("23:59")) == "23:59"


def test_invalid_time():
    with pytest.raises(ValueError, match="not a time of day"):
        to_minutes("24:00")
