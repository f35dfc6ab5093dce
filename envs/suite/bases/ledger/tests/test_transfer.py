import pytest

from ledger import Account, apply_interest, transfer


def test_transfer_moves_money():
    a, b = Account("a", 50), Account("b", 1)
    assert transfer(a, b, 20) is True
    assert (a.balance, b.balance) == (30, 21)


def test_transfer_without_funds_changes_nothing():
    a, b = Account("a", 5), Account("b", 0)
    assert transfer(a, b, 10) is False
    assert (a.balance, b.balance) == (5, 0)


def test_transfer_of_negative_amount_is_an_error():
    a, b = Account("a", 5), Account("b", 0)
    with pytest.raises(ValueError):
        transfer(a, b, -1)


def test_interest_one_year():
    acct = Account("a", 1000)
    assert apply_interest(acct, 0.12, 12) == 1126.84


def test_interest_small_balance_and_zero_months():
    acct = Account("a", 0.03)
    assert apply_interest(acct, 0.12, 0) == 0.03
    assert apply_interest(acct, 0.12, 3) == 0.03
