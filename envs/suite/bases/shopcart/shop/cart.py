"""What a customer is about to buy."""


class Cart:
    def __init__(self, catalog):
        self.catalog = catalog
        self.lines = {}

    def add(self, sku, qty=1):
        if qty <= 0:
            raise ValueError(f"quantity must be positive, got {qty}")
        self.catalog.price(sku)  # unknown products fail here, not at checkout
        self.lines[sku] = self.lines.get(sku, 0) + qty

    def remove(self, sku, qty=1):
        have = self.lines.get(sku, 0)
        if qty >= have:
            self.lines.pop(sku, None)
        else:
            self.lines[sku] = have - qty

    def count(self):
        """Number of items, counting quantities."""
        return sum(self.lines.values())

    def subtotal(self):
        return round(sum(self.catalog.price(s) * q for s, q in self.lines.items()), 2)
