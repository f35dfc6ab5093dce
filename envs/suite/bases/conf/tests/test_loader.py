import pytest

from conf.loader import Config, parse_ini

TEXT = """\
timeout = 30   # seconds
debug = no

[server]
Host = example.org
port = 0x1F90
url = http://example.org/?a=b

[ client ]
retries = 3
tags = red, green
"""


def test_sections_and_keys():
    data = parse_ini(TEXT)
    assert sorted(data) == ["DEFAULT", "client", "server"]
    assert data["server"]["host"] == "example.org"
    assert data["DEFAULT"]["timeout"] == "30"


def test_values_may_contain_equals():
    assert parse_ini(TEXT)["server"]["url"] == "http://example.org/?a=b"


def test_bad_line():
    with pytest.raises(ValueError, match="line 2: expected"):
        parse_ini("[a]\njust words\n")


def test_typed_getters_fall_back_to_default_section():
    config = Config(parse_ini(TEXT))
    assert config.get_int("server", "port") == 8080
    assert config.get_int("server", "timeout") == 30
    assert config.get_bool("client", "debug") is False
    assert config.get_list("client", "tags") == ["red", "green"]


def test_missing_values_give_defaults():
    config = Config(parse_ini(TEXT))
    assert config.get_int("client", "workers", 4) == 4
    assert config.get_list("client", "nothing") == []
    assert config.get("nowhere", "x", "dflt") == "dflt"


def test_overrides_win():
    config = Config(parse_ini(TEXT), overrides={("server", "host"): "localhost"})
    assert config.get("server", "HOST") == "localhost"
