"""Products and their unit prices."""


class UnknownProduct(KeyError):
    """A SKU that is not in the catalog."""


class Catalog:
    def __init__(self, prices):
        self.prices = dict(prices)

    def price(self, sku):
        try:
            return self.prices[sku]
        except KeyError:
            raise UnknownProduct(sku) from None

    def __contains__(self, sku):
        return sku in self.prices
