import pytest

from schedule.calendar import Calendar, Meeting, book_all


def test_back_to_back_meetings_do_not_overlap():
    cal = Calendar()
    cal.book(Meeting("standup", "09:00", "09:15"))
    cal.book(Meeting("review", "09:15", "10:00"))
    assert [m.title for m in cal.meetings] == ["standup", "review"]


def test_overlap_refused():
    cal = Calendar()
    cal.book(Meeting("a", "10:00", "11:00"))
    with pytest.raises(ValueError, match="'b' overlaps 'a'"):
        cal.book(Meeting("b", "10:30", "10:45"))


def test_meeting_must_end_after_start():
    with pytest.raises(ValueError, match="not after its start"):
        Meeting("x", "10:00", "10:00")


def test_free_slots():
    cal = Calendar()
    cal.book(Meeting("lunch", "12:00", "13:00"))
    cal.book(Meeting("standup", "09:00", "09:20"))
    cal.book(Meeting("sync", "16:45", "17:00"))
    assert cal.free_slots() == [("09:20", "12:00"), ("13:00", "16:45")]
    assert cal.busy_minutes() == 95


def test_book_all_returns_fresh_list_each_call():
    meetings = [Meeting("a", "10:00", "11:00"), Meeting("b", "10:30", "11:30")]
    assert book_all(Calendar(), meetings) == ["b"]
    assert book_all(Calendar(), meetings) == ["b"]
