"""Bracket matching and postfix evaluation."""

from stacks.containers import Empty, Stack

PAIRS = {")": "(", "]": "[", "}": "{"}


def balanced(text):
    """Whether every bracket in text is closed in the right order."""
    stack = Stack()
    for ch in text:
        if ch in "([{":
            stack.push(ch)
        elif ch in PAIRS:
            if not stack or stack.pop() != PAIRS[ch]:
                return False
    return len(stack) == 0


def eval_postfix(expression):
    """'3 4 + 2 *' -> 14; raises ValueError for a malformed expression."""
    stack = Stack()
    for token in expression.split():
        if token in ("+", "-", "*", "/"):
            try:
                right, left = stack.pop(), stack.pop()
            except Empty:
                raise ValueError(f"not enough operands for {token!r}") from None
            if token == "+":
                stack.push(left + right)
            elif token == "-":
                stack.push(left - right)
            elif token == "*":
                stack.push(left * right)
            else:
                stack.push(left / right)
        else:
            stack.push(float(token))
    if len(stack) != 1:
        raise ValueError(f"expression leaves {len(stack)} values, expected 1")
    return stack.pop()
