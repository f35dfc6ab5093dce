"""An arithmetic expression evaluator: a tokenizer and a recursive-descent parser."""
