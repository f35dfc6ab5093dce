from logparse.parser import parse_line, parse_lines

LINES = [
    "2024-05-01 10:00:01 INFO server started\n",
    "2024-05-01 10:00:07 WARNING disk at 91%\n",
    "garbage line\n",
    "2024-05-01 10:01:00 TRACE too chatty\n",
    "2024-05-01 10:01:30 ERROR request failed: timeout\n",
]


def test_parse_line():
    assert parse_line(LINES[0]) == {"date": "2024-05-01", "time": "10:00:01", "level": "INFO",
                                    "message": "server started"}


def test_other_formats_are_none():
    assert parse_line(LINES[2]) is None
    assert parse_line(LINES[3]) is None


def test_parse_lines_counts_bad():
    entries, bad = parse_lines(LINES)
    assert [e["level"] for e in entries] == ["INFO", "WARNING", "ERROR"]
    assert bad == 2
