import pytest

from gradebook.roster import Roster


def test_rosters_do_not_share_students():
    first = Roster("math")
    first.enroll("ana")
    second = Roster("art")
    assert second.students == []


def test_roster_copies_the_given_list():
    names = ["ana"]
    roster = Roster("math", names)
    roster.enroll("bo")
    assert names == ["ana"]


def test_record_requires_enrollment_and_range():
    roster = Roster("math", ["ana"])
    with pytest.raises(KeyError):
        roster.record("zed", 50)
    with pytest.raises(ValueError):
        roster.record("ana", 101)


def test_report():
    roster = Roster("math", ["bo", "ana", "cy"])
    roster.record("ana", 90)
    roster.record("ana", 85)
    roster.record("bo", 60)
    assert roster.report() == "math\n  ana: 87.5 (B)\n  bo: 60.0 (D)\n  cy: no scores"
