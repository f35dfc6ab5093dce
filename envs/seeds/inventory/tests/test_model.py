import pytest

from inventory.model import Inventory, Item, StockError


def make():
    inv = Inventory()
    inv.register(Item("A1", "bolt", 0.1, reorder_level=50))
    inv.register(Item("B2", "nut", 0.05, reorder_level=20))
    inv.register(Item("C3", "gear", 4.5))
    return inv


def test_receive_and_ship():
    inv = make()
    inv.receive("A1", 100)
    inv.ship("A1", 30)
    assert inv.stock["A1"] == 70
    assert inv.log == [("in", "A1", 100), ("out", "A1", 30)]


def test_ship_everything():
    inv = make()
    inv.receive("C3", 4)
    inv.ship("C3", 4)
    assert inv.stock["C3"] == 0


def test_overship_refused():
    inv = make()
    inv.receive("B2", 5)
    with pytest.raises(StockError, match="only 5 in stock"):
        inv.ship("B2", 6)
    assert inv.stock["B2"] == 5


def test_bad_movements():
    inv = make()
    with pytest.raises(KeyError):
        inv.receive("ZZ", 1)
    with pytest.raises(ValueError):
        inv.receive("A1", 0)


def test_duplicate_and_negative_cost():
    inv = make()
    with pytest.raises(KeyError, match="duplicate"):
        inv.register(Item("A1", "other", 1))
    with pytest.raises(ValueError):
        Item("X", "bad", -1)


def test_value_and_shipped():
    inv = make()
    inv.receive("A1", 10)
    inv.receive("C3", 2)
    inv.ship("C3", 1)
    inv.ship("C3", 1)
    inv.receive("C3", 3)
    assert inv.value() == 14.5
    assert inv.shipped("C3") == 2
    assert inv.shipped("A1") == 0
