"""Meetings on a one-day calendar: booking, conflicts and free time."""
