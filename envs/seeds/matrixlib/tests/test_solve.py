from fractions import Fraction

import pytest

from matrixlib.matrix import identity, multiply
from matrixlib.solve import determinant, inverse, solve


def test_determinant():
    assert determinant([[1, 2], [3, 4]]) == -2
    assert determinant([[0, 1], [1, 0]]) == -1
    assert determinant([[2, 0, 1], [1, 3, 2], [1, 1, 2]]) == 6
    assert determinant([[1, 2], [2, 4]]) == 0


def test_inverse():
    m = [[4, 7], [2, 6]]
    inv = inverse(m)
    assert inv == [[Fraction(3, 5), Fraction(-7, 10)], [Fraction(-1, 5), Fraction(2, 5)]]
    assert multiply(m, inv) == identity(2)


def test_inverse_needs_row_swap():
    assert inverse([[0, 1], [1, 0]]) == [[0, 1], [1, 0]]


def test_singular():
    with pytest.raises(ValueError, match="singular"):
        inverse([[1, 2], [2, 4]])


def test_solve():
    assert solve([[2, 1], [1, 3]], [3, 5]) == [Fraction(4, 5), Fraction(7, 5)]
    with pytest.raises(ValueError, match="expected 2"):
        solve([[2, 1], [1, 3]], [1, 2, 3])


def test_non_square():
    with pytest.raises(ValueError, match="square"):
        determinant([[1, 2, 3]])
