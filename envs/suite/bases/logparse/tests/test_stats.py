from logparse.parser import parse_lines
from logparse.stats import at_least, busiest_minute, count_by_level, group_messages, summarize

LINES = [
    "2024-05-01 10:00:01 INFO server started",
    "2024-05-01 10:00:07 WARNING disk at 91%",
    "2024-05-01 10:01:30 ERROR request failed",
    "2024-05-01 10:01:31 ERROR request failed again",
    "2024-05-01 10:00:59 DEBUG tick",
    "not a log line",
]


def entries():
    return parse_lines(LINES)[0]


def test_count_by_level():
    assert count_by_level(entries()) == {"DEBUG": 1, "INFO": 1, "WARNING": 1, "ERROR": 2}


def test_at_least_includes_the_level_itself():
    assert [e["message"] for e in at_least(entries(), "WARNING")] == [
        "disk at 91%", "request failed", "request failed again"]


def test_busiest_minute():
    assert busiest_minute(entries()) == ("2024-05-01 10:00", 3)
    assert busiest_minute([]) is None


def test_group_messages_starts_empty_each_call():
    first = group_messages(entries()[:1])
    second = group_messages(entries()[1:2])
    assert first == {"INFO": ["server started"]}
    assert second == {"WARNING": ["disk at 91%"]}


def test_summarize():
    assert summarize(entries(), 1) == (
        "5 entries (1 debug, 1 info, 1 warning, 2 error); 1 unparsed")
