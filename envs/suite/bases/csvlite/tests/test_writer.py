from csvlite.reader import parse
from csvlite.writer import column, dump, quote


def test_quote():
    assert quote("plain") == "plain"
    assert quote("a,b") == '"a,b"'
    assert quote('say "hi"') == '"say ""hi"""'
    assert quote(3) == "3"


def test_dump_empty():
    assert dump([]) == ""


def test_round_trip():
    rows = [{"name": "ana", "note": "likes, commas"}, {"name": "bo", "note": ""}]
    assert parse(dump(rows)) == rows


def test_column_conversion():
    rows = [{"n": "1"}, {"n": "22"}]
    assert column(rows, "n", int) == [1, 22]
