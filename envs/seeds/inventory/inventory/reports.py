"""Reports over an inventory."""


def needs_reorder(inventory):
    """SKUs at or below their reorder level, sorted."""
    return sorted(sku for sku, item in inventory.items.items()
                  if inventory.stock[sku] <= item.reorder_level)


def top_movers(inventory, n=3):
    """The n SKUs shipped most, as (sku, quantity), ties by sku."""
    totals = {}
    for kind, sku, qty in inventory.log:
        if kind == "out":
            totals[sku] = totals.get(sku, 0) + qty
    ranked = sorted(totals.items(), key=lambda pair: (-pair[1], pair[0]))
    return ranked[:n]


def stock_table(inventory):
    rows = [f"{'SKU':<8}{'NAME':<12}{'QTY':>5}{'VALUE':>10}"]
    for sku in sorted(inventory.items):
        item = inventory.items[sku]
        qty = inventory.stock[sku]
        rows.append(f"{sku:<8}{item.name:<12}{qty:>5}{qty * item.unit_cost:>10.2f}")
    return "\n".join(rows)


def turnover(inventory, sku):
    """Shipped quantity per unit currently in stock; None when none is in stock."""
    in_stock = inventory.stock[sku]
    if in_stock == 0:
        return None
    return round(inventory.shipped(sku) / in_stock, 2)
