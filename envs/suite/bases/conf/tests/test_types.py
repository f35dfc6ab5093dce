import pytest

from conf.types import split_list, to_bool, to_int, to_size


def test_to_bool():
    assert [to_bool(t) for t in ("Yes", " on", "0", "FALSE")] == [True, True, False, False]
    with pytest.raises(ValueError, match="not a boolean"):
        to_bool("maybe")


def test_to_int():
    assert to_int(" 42 ") == 42
    assert to_int("0x10") == 16
    with pytest.raises(ValueError, match="not an integer: 'ten'"):
        to_int("ten")


def test_split_list():
    assert split_list("a, b,,c ") == ["a", "b", "c"]


def test_to_size():
    assert to_size("512") == 512
    assert to_size("10kb") == 10240
    assert to_size("1.5 MB") == 1572864
