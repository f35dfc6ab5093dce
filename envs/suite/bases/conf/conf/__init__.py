"""INI-style configuration with typed getters and overrides."""
