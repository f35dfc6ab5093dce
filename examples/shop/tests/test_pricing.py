from shop.cart import Cart
from shop.pricing import discount, total


def test_no_discount_below_threshold():
    cart = Cart()
    cart.add("pen", 1.0, 9)
    assert discount(cart) == 0.0


def test_discount_at_threshold():
    cart = Cart()
    cart.add("pen", 1.0, 10)
    assert discount(cart) == 1.0


def test_total_with_tax():
    cart = Cart()
    cart.add("ink", 5.0, 2)
    assert total(cart) == 12.0


def test_total_without_tax():
    cart = Cart()
    cart.add("ink", 5.0, 2)
    assert total(cart, tax_rate=0.0) == 10.0


def test_total_with_bulk_discount():
    cart = Cart()
    cart.add("pen", 2.0, 10)
    assert total(cart, tax_rate=0.0) == 18.0
