"""Matrix construction and arithmetic."""


def shape(m):
    if not m or not m[0]:
        raise ValueError("a matrix needs at least one row and one column")
    width = len(m[0])
    for i, row in enumerate(m):
        if len(row) != width:
            raise ValueError(f"row {i} has {len(row)} entries, expected {width}")
    return len(m), width


def identity(n):
    return [[1 if i == j else 0 for j in range(n)] for i in range(n)]


def transpose(m):
    rows, cols = shape(m)
    return [[m[i][j] for i in range(rows)] for j in range(cols)]


def add(a, b):
    if shape(a) != shape(b):
        raise ValueError(f"cannot add {shape(a)} and {shape(b)} matrices")
    return [[x + y for x, y in zip(row_a, row_b)] for row_a, row_b in zip(a, b)]


def scale(m, k):
    return [[k * x for x in row] for row in m]


def multiply(a, b):
    rows_a, cols_a = shape(a)
    rows_b, cols_b = shape(b)
    if cols_a != rows_b:
        raise ValueError(f"cannot multiply {rows_a}x{cols_a} by {rows_b}x{cols_b}")
    return [[sum(a[i][k] * b[k][j] for k in range(cols_a)) for j in range(cols_b)]
            for i in range(rows_a)]


def power(m, n):
    """m to the n-th power by repeated squaring (n >= 0)."""
    rows, cols = shape(m)
    if rows != cols:
        raise ValueError("only square matrices have powers")
    if n < 0:
        raise ValueError(f"power must not be negative, got {n}")
    result = identity(rows)
    base = m
    while n > 0:
        if n % 2 == 1:
            result = multiply(result, base)
        base = multiply(base, base)
        n //= 2
    return result


def trace(m):
    rows, cols = shape(m)
    return sum(m[i][i] for i in range(min(rows, cols)))
