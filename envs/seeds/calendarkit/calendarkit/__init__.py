"""Roman numerals and calendar arithmetic without the datetime module."""
