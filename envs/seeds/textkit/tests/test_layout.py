import pytest

from textkit.layout import center, slugify, truncate, word_counts, wrap


def test_wrap():
    assert wrap("the quick brown fox jumps", 10) == ["the quick", "brown fox", "jumps"]
    assert wrap("a bb ccc", 4) == ["a bb", "ccc"]


def test_wrap_exact_width_and_long_word():
    assert wrap("abcd efgh", 9) == ["abcd efgh"]
    assert wrap("tiny enormousword x", 5) == ["tiny", "enormousword", "x"]


def test_wrap_empty_and_bad_width():
    assert wrap("   ", 5) == []
    with pytest.raises(ValueError):
        wrap("x", 0)


def test_truncate():
    assert truncate("hello world", 20) == "hello world"
    assert truncate("hello world", 11) == "hello world"
    assert truncate("hello world", 8) == "hello..."
    assert truncate("hello world", 2) == ".."


def test_slugify():
    assert slugify("Héllo, World!") == "hello-world"
    assert slugify("  Ünïcode   & more ", sep="_") == "unicode_more"
    assert slugify("!!!") == ""


def test_word_counts():
    text = "It's the cat. The cat sat; the END"
    assert word_counts(text) == [("the", 3), ("cat", 2), ("end", 1), ("it's", 1), ("sat", 1)]
    assert word_counts(text, top=2) == [("the", 3), ("cat", 2)]


def test_center():
    assert center("ab", 6) == "  ab  "
    assert center("ab", 5, "*") == "*ab**"
    assert center("abcdef", 3) == "abcdef"
    with pytest.raises(ValueError):
        center("a", 3, "ab")
