"""Paired tests of two policies on the same tasks: did B resolve more than A by more than chance?

Both tests look only at the discordant outcomes (one policy resolved the task, the other did not),
so the tasks that both or neither resolve, the bulk of them, carry no weight either way.

- ``mcnemar_exact``: over pairs of outcomes (one per task, or per (seed, task) when seeds are
  pooled), the exact McNemar test: under "A and B are as good", each of the n = b + c discordant
  pairs goes B's way with probability 1/2, so the count b is Binomial(n, 1/2) (McNemar 1947, in
  its exact binomial form; Fagerland et al. 2013 recommend it for small n).
- ``sign_test``: over seeds, the number whose resolve count went up against those where it went
  down, under the same Binomial(n, 1/2) null; ties are left out. With 3 seeds its smallest two-sided
  p is 2/8 = 0.25, so over a few seeds only the pooled McNemar test can reach p < 0.05.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import comb


def binomial_two_sided(k: int, n: int) -> float:
    """Two-sided p of k successes in n fair coin flips: twice the smaller tail, at most 1."""
    if not 0 <= k <= n:
        raise ValueError(f"need 0 <= k <= n, got k={k}, n={n}")
    if n == 0:
        return 1.0
    tail = sum(comb(n, i) for i in range(min(k, n - k) + 1)) / 2 ** n
    return min(1.0, 2 * tail)


@dataclass(frozen=True)
class Paired:
    """The outcome of a paired test of B against A."""

    b_only: int
    """Pairs (or seeds) where B did better than A."""
    a_only: int
    """Pairs (or seeds) where A did better than B."""
    p_value: float
    """Two-sided exact p."""

    def to_json(self) -> dict[str, float]:
        return {"b_only": self.b_only, "a_only": self.a_only, "p": round(self.p_value, 5)}


def mcnemar_exact(a: list[bool], b: list[bool]) -> Paired:
    """Exact McNemar test of B against A on paired outcomes (resolved or not, same tasks)."""
    if len(a) != len(b):
        raise ValueError(f"paired outcomes need the same tasks: {len(a)} against {len(b)}")
    b_only = sum(y and not x for x, y in zip(a, b))
    a_only = sum(x and not y for x, y in zip(a, b))
    return Paired(b_only, a_only, binomial_two_sided(b_only, b_only + a_only))


def sign_test(a: list[float], b: list[float]) -> Paired:
    """Sign test of B against A on paired figures (one per seed); ties are dropped."""
    if len(a) != len(b):
        raise ValueError(f"paired figures need the same seeds: {len(a)} against {len(b)}")
    up = sum(y > x for x, y in zip(a, b))
    down = sum(y < x for x, y in zip(a, b))
    return Paired(up, down, binomial_two_sided(up, up + down))
