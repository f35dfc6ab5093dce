import pytest

from shop.cart import Cart
from shop.catalog import Catalog, UnknownProduct

PRICES = {"apple": 0.5, "pear": 0.75, "melon": 3.2}


def test_add_and_count():
    cart = Cart(Catalog(PRICES))
    cart.add("apple", 3)
    cart.add("melon")
    cart.add("apple")
    assert cart.lines == {"apple": 4, "melon": 1}
    assert cart.count() == 5
    assert cart.subtotal() == 5.2


def test_unknown_product_and_bad_quantity():
    cart = Cart(Catalog(PRICES))
    with pytest.raises(UnknownProduct):
        cart.add("kiwi")
    with pytest.raises(ValueError):
        cart.add("apple", 0)


def test_remove_some_and_all():
    cart = Cart(Catalog(PRICES))
    cart.add("pear", 3)
    cart.remove("pear")
    assert cart.lines == {"pear": 2}
    cart.remove("pear", 5)
    assert cart.lines == {}
    assert cart.count() == 0
