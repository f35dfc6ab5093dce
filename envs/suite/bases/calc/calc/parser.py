"""Grammar (lowest precedence first):

    expression := term (("+" | "-") term)*
    term       := power (("*" | "/") power)*
    power      := unary ("^" power)?          right associative
    unary      := "-" unary | atom
    atom       := NUMBER | "(" expression ")"
"""

from calc.lexer import tokenize


class Parser:
    def __init__(self, tokens):
        self.tokens = tokens
        self.pos = 0

    def peek(self):
        return self.tokens[self.pos] if self.pos < len(self.tokens) else (None, None)

    def take(self):
        token = self.peek()
        self.pos += 1
        return token

    def expression(self):
        value = self.term()
        while self.peek() in (("op", "+"), ("op", "-")):
            _, op = self.take()
            right = self.term()
            value = value + right if op == "+" else value - right
        return value

    def term(self):
        value = self.power()
        while self.peek() in (("op", "*"), ("op", "/")):
            _, op = self.take()
            right = self.power()
            if op == "/":
                if right == 0:
                    raise ZeroDivisionError("division by zero in expression")
                value = value / right
            else:
                value = value * right
        return value

    def power(self):
        base = self.unary()
        if self.peek() == ("op", "^"):
            self.take()
            return base ** self.power()
        return base

    def unary(self):
        if self.peek() == ("op", "-"):
            self.take()
            return -self.unary()
        return self.atom()

    def atom(self):
        kind, value = self.take()
        if kind == "num":
            return value
        if (kind, value) == ("op", "("):
            inner = self.expression()
            if self.take() != ("op", ")"):
                raise ValueError("expected ')'")
            return inner
        raise ValueError(f"unexpected token {value!r}")


def evaluate(text):
    parser = Parser(tokenize(text))
    value = parser.expression()
    if parser.pos != len(parser.tokens):
        raise ValueError(f"unexpected token {parser.peek()[1]!r} after a complete expression")
    return value


def evaluate_all(lines):
    """Each line's value, or the text 'error: ...' for a line that cannot be evaluated."""
    results = []
    for line in lines:
        try:
            results.append(evaluate(line))
        except (ValueError, ZeroDivisionError) as exc:
            results.append(f"error: {exc}")
    return results
