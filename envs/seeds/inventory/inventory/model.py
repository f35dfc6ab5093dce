"""Items and the stock held of each."""


class StockError(ValueError):
    """A movement that would leave negative stock."""


class Item:
    def __init__(self, sku, name, unit_cost, reorder_level=0):
        if unit_cost < 0:
            raise ValueError(f"unit cost must not be negative, got {unit_cost}")
        self.sku = sku
        self.name = name
        self.unit_cost = unit_cost
        self.reorder_level = reorder_level


class Inventory:
    def __init__(self):
        self.items = {}
        self.stock = {}
        self.log = []

    def register(self, item):
        if item.sku in self.items:
            raise KeyError(f"duplicate sku {item.sku!r}")
        self.items[item.sku] = item
        self.stock[item.sku] = 0

    def receive(self, sku, qty):
        self._check(sku, qty)
        self.stock[sku] += qty
        self.log.append(("in", sku, qty))

    def ship(self, sku, qty):
        self._check(sku, qty)
        if qty > self.stock[sku]:
            raise StockError(f"cannot ship {qty} of {sku}: only {self.stock[sku]} in stock")
        self.stock[sku] -= qty
        self.log.append(("out", sku, qty))

    def _check(self, sku, qty):
        if sku not in self.items:
            raise KeyError(f"unknown sku {sku!r}")
        if qty <= 0:
            raise ValueError(f"quantity must be positive, got {qty}")

    def value(self):
        return round(sum(self.items[s].unit_cost * q for s, q in self.stock.items()), 2)

    def shipped(self, sku):
        return sum(qty for kind, s, qty in self.log if kind == "out" and s == sku)
