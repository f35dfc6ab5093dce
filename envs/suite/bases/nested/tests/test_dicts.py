from nested.dicts import deep_get, deep_merge

DATA = {"servers": [{"name": "alpha", "ports": [80, 443]}], "debug": False}


def test_deep_get():
    assert deep_get(DATA, "servers.0.name") == "alpha"
    assert deep_get(DATA, "servers.0.ports.1") == 443
    assert deep_get(DATA, "debug") is False


def test_deep_get_missing_paths_give_default():
    assert deep_get(DATA, "servers.5.name", "?") == "?"
    assert deep_get(DATA, "servers.x", "?") == "?"
    assert deep_get(DATA, "nothing.here") is None
    assert deep_get(DATA, "debug.deeper", 0) == 0


def test_deep_merge():
    base = {"a": 1, "b": {"x": 1, "y": 2}}
    merged = deep_merge(base, {"b": {"y": 3, "z": 4}, "c": 5})
    assert merged == {"a": 1, "b": {"x": 1, "y": 3, "z": 4}, "c": 5}
    assert base == {"a": 1, "b": {"x": 1, "y": 2}}
