import pytest

from stacks.uses import balanced, eval_postfix


@pytest.mark.parametrize("text, ok", [("", True), ("(a[b]{c})", True), ("([)]", False),
                                      ("((", False), ("())", False), ("}", False)])
def test_balanced(text, ok):
    assert balanced(text) is ok


def test_postfix():
    assert eval_postfix("3 4 + 2 *") == 14
    assert eval_postfix("10 2 8 * + 3 -") == 23
    assert eval_postfix("1 2 /") == 0.5


def test_postfix_errors():
    with pytest.raises(ValueError, match="not enough operands"):
        eval_postfix("1 +")
    with pytest.raises(ValueError, match="leaves 2 values"):
        eval_postfix("1 2")
