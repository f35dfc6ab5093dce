"""Meetings and a calendar that refuses double bookings."""

from schedule.clock import to_hhmm, to_minutes


class Meeting:
    def __init__(self, title, start, end, attendees=()):
        self.title = title
        self.start = to_minutes(start)
        self.end = to_minutes(end)
        if self.end <= self.start:
            raise ValueError(f"{title!r} ends at {end}, not after its start {start}")
        self.attendees = list(attendees)

    def overlaps(self, other):
        return self.start < other.end and other.start < self.end

    def duration(self):
        return self.end - self.start


class Calendar:
    def __init__(self):
        self.meetings = []

    def book(self, meeting):
        for existing in self.meetings:
            if existing.overlaps(meeting):
                raise ValueError(f"{meeting.title!r} overlaps {existing.title!r}")
        self.meetings.append(meeting)
        self.meetings.sort(key=lambda m: m.start)

    def free_slots(self, day_start="09:00", day_end="17:00", min_length=30):
        """(start, end) gaps of at least min_length minutes between meetings."""
        cursor = to_minutes(day_start)
        slots = []
        for meeting in self.meetings:
            if meeting.start - cursor >= min_length:
                slots.append((to_hhmm(cursor), to_hhmm(meeting.start)))
            cursor = max(cursor, meeting.end)
        end = to_minutes(day_end)
        if end - cursor >= min_length:
            slots.append((to_hhmm(cursor), to_hhmm(end)))
        return slots

    def busy_minutes(self):
        return sum(m.duration() for m in self.meetings)


def book_all(calendar, meetings, skipped=None):
    """Book what fits; returns the titles that did not (appended to skipped when given)."""
    if skipped is None:
        skipped = []
    for meeting in meetings:
        try:
            calendar.book(meeting)
        except ValueError:
            skipped.append(meeting.title)
    return skipped
