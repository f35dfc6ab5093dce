"""A warehouse inventory: items, stock movements and reorder reports."""
