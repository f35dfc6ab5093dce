from shop.cart import Cart

BULK_THRESHOLD = 10
BULK_DISCOUNT = 0.10


def discount(cart: Cart) -> float:
    """10% off the subtotal for carts of at least BULK_THRESHOLD items."""
    if cart.count() > BULK_THRESHOLD:
        return round(cart.subtotal() * BULK_DISCOUNT, 2)
    return 0.0


def total(cart: Cart, tax_rate: float = 0.2) -> float:
    net = cart.subtotal() - discount(cart)
    return round(net * (1 + tax_rate), 2)
