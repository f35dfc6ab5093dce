"""Determinants, inverses and linear systems by Gaussian elimination over Fractions."""

from fractions import Fraction

from matrixlib.matrix import identity, shape


def _square(m):
    rows, cols = shape(m)
    if rows != cols:
        raise ValueError(f"expected a square matrix, got {rows}x{cols}")
    return rows


def determinant(m):
    n = _square(m)
    a = [[Fraction(x) for x in row] for row in m]
    det = Fraction(1)
    for col in range(n):
        pivot = next((r for r in range(col, n) if a[r][col] != 0), None)
        if pivot is None:
            return Fraction(0)
        if pivot != col:
            a[col], a[pivot] = a[pivot], a[col]
            det = -det
        det *= a[col][col]
        for r in range(col + 1, n):
            factor = a[r][col] / a[col][col]
            for c in range(col, n):
                a[r][c] -= factor * a[col][c]
    return det


def inverse(m):
    n = _square(m)
    a = [[Fraction(x) for x in row] + [Fraction(x) for x in ident]
         for row, ident in zip(m, identity(n))]
    for col in range(n):
        pivot = next((r for r in range(col, n) if a[r][col] != 0), None)
        if pivot is None:
            raise ValueError("matrix is singular")
        a[col], a[pivot] = a[pivot], a[col]
        lead = a[col][col]
        a[col] = [x / lead for x in a[col]]
        for r in range(n):
            if r != col and a[r][col] != 0:
                factor = a[r][col]
                a[r] = [x - factor * y for x, y in zip(a[r], a[col])]
    return [row[n:] for row in a]


def solve(m, b):
    """x with m x = b, for a vector b."""
    inv = inverse(m)
    if len(b) != len(inv):
        raise ValueError(f"right-hand side has {len(b)} entries, expected {len(inv)}")
    return [sum(inv[i][j] * b[j] for j in range(len(b))) for i in range(len(inv))]
