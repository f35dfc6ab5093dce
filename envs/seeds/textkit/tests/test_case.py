import pytest

from textkit.case import camel_case, kebab_case, snake_case, title_case, words


def test_words_split_on_case_and_separators():
    assert words("parseHTTPResponse_code") == ["parse", "http", "response", "code"]
    assert words("already_snake") == ["already", "snake"]
    assert words("") == []


@pytest.mark.parametrize("source", ["user id", "UserId", "user_id", "user-id", "USER_ID"])
def test_conversions(source):
    assert snake_case(source) == "user_id"
    assert camel_case(source) == "userId"
    assert kebab_case(source) == "user-id"


def test_camel_case_of_nothing():
    assert camel_case("__") == ""


def test_title_case():
    assert title_case("the lord of the rings") == "The Lord of the Rings"
    assert title_case("what it is in") == "What It Is In"
    assert title_case("a") == "A"
