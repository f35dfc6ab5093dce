import pytest

from csvlite.reader import parse, split_line


def test_split_plain():
    assert split_line("a,b,,c") == ["a", "b", "", "c"]


def test_split_quoted():
    assert split_line('x,"hello, world","say ""hi"""') == ["x", "hello, world", 'say "hi"']


def test_split_unterminated():
    with pytest.raises(ValueError, match="unterminated"):
        split_line('a,"b')


def test_parse_rows():
    text = "name,age\nana,31\n\nbo,4\n"
    assert parse(text) == [{"name": "ana", "age": "31"}, {"name": "bo", "age": "4"}]


def test_parse_reports_line_number():
    with pytest.raises(ValueError, match="line 3: expected 2 fields, got 3"):
        parse("a,b\n1,2\n1,2,3\n")


def test_parse_other_separator():
    assert parse("a;b\n1;2", sep=";") == [{"a": "1", "b": "2"}]
