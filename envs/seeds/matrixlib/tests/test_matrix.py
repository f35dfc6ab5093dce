import pytest

from matrixlib.matrix import add, identity, multiply, power, scale, shape, trace, transpose

A = [[1, 2], [3, 4]]


def test_shape():
    assert shape([[1, 2, 3]]) == (1, 3)
    with pytest.raises(ValueError, match="row 1 has 1 entries, expected 2"):
        shape([[1, 2], [3]])
    with pytest.raises(ValueError):
        shape([])


def test_identity_and_transpose():
    assert identity(2) == [[1, 0], [0, 1]]
    assert transpose([[1, 2, 3], [4, 5, 6]]) == [[1, 4], [2, 5], [3, 6]]


def test_add_and_scale():
    assert add(A, identity(2)) == [[2, 2], [3, 5]]
    assert scale(A, -1) == [[-1, -2], [-3, -4]]
    with pytest.raises(ValueError, match="cannot add"):
        add(A, [[1, 2, 3]])


def test_multiply():
    assert multiply(A, [[5], [6]]) == [[17], [39]]
    assert multiply([[1, 2, 3]], [[1], [0], [2]]) == [[7]]
    with pytest.raises(ValueError, match="cannot multiply 2x2 by 1x3"):
        multiply(A, [[1, 2, 3]])


def test_power():
    fib = [[1, 1], [1, 0]]
    assert power(fib, 10)[0][1] == 55
    assert power(A, 0) == identity(2)
    assert power(A, 1) == A
    assert power(A, 3) == multiply(A, multiply(A, A))


def test_power_errors():
    with pytest.raises(ValueError):
        power([[1, 2]], 2)
    with pytest.raises(ValueError):
        power(A, -1)


def test_trace():
    assert trace(A) == 5
    assert trace([[1, 2, 3], [4, 5, 6]]) == 6
