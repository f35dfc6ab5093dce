"""Text utilities: case conversion, wrapping, slugs and word statistics."""
