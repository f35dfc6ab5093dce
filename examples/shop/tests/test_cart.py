import pytest

from shop.cart import Cart


def test_add_merges_same_item():
    cart = Cart()
    cart.add("pen", 1.5, 2)
    cart.add("pen", 1.5, 3)
    assert cart.count() == 5
    assert len(cart.items) == 1


def test_add_rejects_zero_quantity():
    with pytest.raises(ValueError):
        Cart().add("pen", 1.5, 0)


def test_remove():
    cart = Cart()
    cart.add("pen", 1.5)
    cart.add("ink", 4.0)
    cart.remove("pen")
    assert [item.name for item in cart.items] == ["ink"]


def test_subtotal():
    cart = Cart()
    cart.add("pen", 1.5, 2)
    cart.add("ink", 4.0)
    assert cart.subtotal() == 7.0
