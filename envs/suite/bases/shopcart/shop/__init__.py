"""A shopping cart with a catalog, quantity discounts, coupons and tax."""
