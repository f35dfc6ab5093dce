"""Discounts, coupons, tax and the printed receipt."""

from collections import namedtuple

Coupon = namedtuple("Coupon", "code percent")


def apply_discount(amount, percent):
    if not 0 <= percent <= 100:
        raise ValueError(f"discount must be within 0..100 percent, got {percent}")
    return round(amount * (100 - percent) / 100, 2)


def bulk_discount(count):
    """Percent off for buying many items."""
    if count >= 100:
        return 15
    if count >= 10:
        return 5
    return 0


def total(cart, tax_rate, coupon=None):
    """Subtotal less the better of the bulk and coupon discounts, plus tax."""
    percent = bulk_discount(cart.count())
    if coupon is not None:
        percent = max(percent, coupon.percent)
    discounted = apply_discount(cart.subtotal(), percent)
    return round(discounted * (1 + tax_rate), 2)


def receipt(cart, tax_rate):
    lines = []
    for sku, qty in sorted(cart.lines.items()):
        lines.append(f"{sku:<8}{qty:>3} x {cart.catalog.price(sku):>6.2f}")
    lines.append(f"{'TOTAL':<8}{total(cart, tax_rate):>12.2f}")
    return "\n".join(lines)
