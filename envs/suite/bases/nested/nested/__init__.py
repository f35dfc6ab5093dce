"""Recursive helpers for nested lists and dictionaries."""
