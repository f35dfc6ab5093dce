"""In-memory caches: least-recently-used and time-to-live."""
