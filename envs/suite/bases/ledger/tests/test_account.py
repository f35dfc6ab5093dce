import pytest

from ledger import Account, InsufficientFunds
from ledger.money import format_cents


def test_deposit_and_withdraw():
    acct = Account("ana", 10)
    assert acct.deposit(5.25) == 15.25
    assert acct.withdraw(0.25) == 15.0


def test_withdraw_entire_balance():
    acct = Account("ana", 20)
    assert acct.withdraw(20) == 0


def test_overdraw_raises():
    acct = Account("ana", 5)
    with pytest.raises(InsufficientFunds, match=r"ana has \$5.00, needs \$6.00"):
        acct.withdraw(6)
    assert acct.balance == 5


def test_non_positive_amounts_rejected():
    acct = Account("ana")
    with pytest.raises(ValueError):
        acct.deposit(0)
    with pytest.raises(ValueError):
        acct.withdraw(-3)


def test_cents_are_rounded_not_truncated():
    assert Account("bo", 0.29).balance == 0.29
    assert Account("bo", 1.15).cents == 115


def test_format_cents():
    assert format_cents(1234567) == "$12,345.67"
    assert format_cents(5) == "$0.05"
    assert format_cents(-250) == "-$2.50"


def test_statement():
    acct = Account("cy")
    acct.deposit(12)
    acct.withdraw(2.5)
    assert acct.statement() == (
        "Statement for cy\n"
        "deposit   +$12.00\n"
        "withdraw  -$2.50\n"
        "balance    $9.50"
    )
