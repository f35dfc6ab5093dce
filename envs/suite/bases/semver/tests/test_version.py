import pytest

from semver import Version, max_satisfying, satisfies


def test_parse_and_str():
    assert str(Version.parse(" 1.2.3 ")) == "1.2.3"
    assert str(Version.parse("1.0.0-rc.1")) == "1.0.0-rc.1"


def test_parse_rejects_garbage():
    with pytest.raises(ValueError, match="not a semantic version"):
        Version.parse("1.2")


def test_ordering():
    order = ["1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0", "1.0.1",
             "1.10.0", "2.0.0"]
    assert sorted(order[::-1], key=Version.parse) == order


def test_bump():
    v = Version.parse("1.4.7")
    assert str(v.bump("major")) == "2.0.0"
    assert str(v.bump("minor")) == "1.5.0"
    assert str(v.bump("patch")) == "1.4.8"


def test_caret_and_tilde():
    v = Version.parse
    assert satisfies(v("1.2.3"), "^1.2.3")
    assert satisfies(v("1.9.0"), "^1.2.3")
    assert not satisfies(v("2.0.0"), "^1.2.3")
    assert satisfies(v("1.2.9"), "~1.2.3")
    assert not satisfies(v("1.3.0"), "~1.2.3")


def test_comparison_ranges():
    v = Version.parse("1.5.0")
    assert satisfies(v, ">=1.5.0") and satisfies(v, "<2.0.0") and not satisfies(v, ">1.5.0")


def test_max_satisfying():
    versions = ["1.2.0", "1.10.1", "1.9.9", "2.0.0"]
    assert max_satisfying(versions, "^1.0.0") == "1.10.1"
    assert max_satisfying(versions, ">3.0.0") is None
