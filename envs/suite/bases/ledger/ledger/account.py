"""Bank accounts that keep their balance in integer cents."""

from ledger.money import format_cents, to_cents


class InsufficientFunds(ValueError):
    """A withdrawal larger than the balance."""


class Account:
    def __init__(self, owner, balance=0.0):
        self.owner = owner
        self.cents = to_cents(balance)
        self.history = []

    @property
    def balance(self):
        return self.cents / 100

    def deposit(self, amount):
        cents = to_cents(amount)
        if cents <= 0:
            raise ValueError(f"deposit must be positive, got {amount}")
        self.cents += cents
        self.history.append(("deposit", cents))
        return self.balance

    def withdraw(self, amount):
        cents = to_cents(amount)
        if cents <= 0:
            raise ValueError(f"withdrawal must be positive, got {amount}")
        if cents > self.cents:
            raise InsufficientFunds(
                f"{self.owner} has {format_cents(self.cents)}, needs {format_cents(cents)}"
            )
        self.cents -= cents
        self.history.append(("withdraw", cents))
        return self.balance

    def statement(self):
        lines = [f"Statement for {self.owner}"]
        for kind, cents in self.history:
            sign = "+" if kind == "deposit" else "-"
            lines.append(f"{kind:<10}{sign}{format_cents(cents)}")
        lines.append(f"{'balance':<10} {format_cents(self.cents)}")
        return "\n".join(lines)
