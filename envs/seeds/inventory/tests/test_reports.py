from inventory.model import Inventory, Item
from inventory.reports import needs_reorder, stock_table, top_movers, turnover


def make():
    inv = Inventory()
    inv.register(Item("A1", "bolt", 0.1, reorder_level=50))
    inv.register(Item("B2", "nut", 0.05, reorder_level=20))
    inv.register(Item("C3", "gear", 4.5))
    inv.receive("A1", 50)
    inv.receive("B2", 100)
    inv.receive("C3", 10)
    inv.ship("B2", 30)
    inv.ship("C3", 6)
    inv.ship("B2", 10)
    inv.ship("A1", 6)
    return inv


def test_needs_reorder_includes_the_level_itself():
    inv = make()
    assert needs_reorder(inv) == ["A1"]
    inv.receive("A1", 6)
    assert needs_reorder(inv) == ["A1"]
    inv.receive("A1", 1)
    assert needs_reorder(inv) == []


def test_top_movers():
    assert top_movers(make()) == [("B2", 40), ("A1", 6), ("C3", 6)]
    assert top_movers(make(), n=1) == [("B2", 40)]


def test_stock_table():
    assert stock_table(make()) == (
        "SKU     NAME          QTY     VALUE\n"
        "A1      bolt           44      4.40\n"
        "B2      nut            60      3.00\n"
        "C3      gear            4     18.00"
    )


def test_turnover():
    inv = make()
    assert turnover(inv, "B2") == 0.67
    inv.ship("C3", 4)
    assert turnover(inv, "C3") is None
