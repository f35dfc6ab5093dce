import pytest

from shop.cart import Cart
from shop.catalog import Catalog
from shop.pricing import Coupon, apply_discount, bulk_discount, receipt, total

PRICES = {"apple": 0.5, "pear": 0.75, "melon": 3.2}


def test_apply_discount():
    assert apply_discount(200, 15) == 170
    assert apply_discount(19.99, 0) == 19.99
    with pytest.raises(ValueError):
        apply_discount(10, 120)


def test_bulk_tiers():
    assert [bulk_discount(n) for n in (1, 9, 10, 99, 100)] == [0, 0, 5, 5, 15]


def test_total_with_tax():
    cart = Cart(Catalog(PRICES))
    cart.add("melon", 2)
    assert total(cart, 0.1) == 7.04


def test_ten_of_one_item_gets_bulk_discount():
    cart = Cart(Catalog(PRICES))
    cart.add("apple", 10)
    assert total(cart, 0.0) == 4.75


def test_coupon_beats_bulk():
    cart = Cart(Catalog(PRICES))
    cart.add("pear", 4)
    assert total(cart, 0.0, Coupon("SAVE20", 20)) == 2.4


def test_receipt():
    cart = Cart(Catalog(PRICES))
    cart.add("pear", 2)
    cart.add("apple", 1)
    assert receipt(cart, 0.0) == (
        "apple     1 x   0.50\n"
        "pear      2 x   0.75\n"
        "TOTAL           2.00"
    )
