from dataclasses import dataclass, field


@dataclass
class Item:
    name: str
    unit_price: float
    quantity: int = 1

    @property
    def total(self) -> float:
        return self.unit_price * self.quantity


@dataclass
class Cart:
    items: list[Item] = field(default_factory=list)

    def add(self, name: str, unit_price: float, quantity: int = 1) -> None:
        if quantity <= 0:
            raise ValueError(f"quantity must be positive, got {quantity}")
        for item in self.items:
            if item.name == name:
                item.quantity += quantity
                return
        self.items.append(Item(name, unit_price, quantity))

    def remove(self, name: str) -> None:
        self.items = [item for item in self.items if item.name != name]

    def subtotal(self) -> float:
        return sum(item.total for item in self.items)

    def count(self) -> int:
        return sum(item.quantity for item in self.items)
