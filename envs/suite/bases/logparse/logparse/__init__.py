"""Parse application log lines and summarize them."""
