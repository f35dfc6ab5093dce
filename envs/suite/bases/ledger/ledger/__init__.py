"""A tiny ledger: accounts kept in integer cents, transfers and interest."""

from ledger.account import Account, InsufficientFunds
from ledger.transfer import apply_interest, transfer

__all__ = ["Account", "InsufficientFunds", "apply_interest", "transfer"]
