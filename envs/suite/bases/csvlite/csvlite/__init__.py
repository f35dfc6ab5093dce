"""Read and write simple CSV text with a header row."""
