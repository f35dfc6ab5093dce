"""Small graph algorithms over adjacency dictionaries."""
