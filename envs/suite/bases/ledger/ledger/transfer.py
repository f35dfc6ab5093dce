"""Operations over several accounts."""

from ledger.account import InsufficientFunds


def transfer(source, target, amount):
    """Move money; returns False and changes nothing when the source cannot pay."""
    try:
        source.withdraw(amount)
    except InsufficientFunds:
        return False
    target.deposit(amount)
    return True


def apply_interest(account, annual_rate, months):
    """Compound monthly; each month's interest is credited in whole cents."""
    for _ in range(months):
        interest = round(account.cents * annual_rate / 12)
        if interest > 0:
            account.cents += interest
    return account.balance
