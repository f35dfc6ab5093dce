"""Parsing INI text and looking values up with defaults and overrides."""

from conf import types


def parse_ini(text):
    """{section: {key: value}}; keys before the first section go to "DEFAULT"."""
    data = {"DEFAULT": {}}
    section = "DEFAULT"
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip()
            data.setdefault(section, {})
        elif "=" in line:
            key, value = line.split("=", 1)
            data[section][key.strip().lower()] = value.strip()
        else:
            raise ValueError(f"line {number}: expected 'key = value' or '[section]', got {raw!r}")
    return data


class Config:
    def __init__(self, data, overrides=None):
        self.data = data
        self.overrides = dict(overrides or {})

    def get(self, section, key, default=None):
        key = key.lower()
        if (section, key) in self.overrides:
            return self.overrides[(section, key)]
        if key in self.data.get(section, {}):
            return self.data[section][key]
        return self.data["DEFAULT"].get(key, default)

    def get_int(self, section, key, default=None):
        value = self.get(section, key)
        return default if value is None else types.to_int(value)

    def get_bool(self, section, key, default=False):
        value = self.get(section, key)
        return default if value is None else types.to_bool(value)

    def get_list(self, section, key):
        value = self.get(section, key)
        return [] if value is None else types.split_list(value)
