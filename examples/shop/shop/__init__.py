"""A small shopping-cart library with one bug, for trying `agent fix`."""
